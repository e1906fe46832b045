"""Post-deploy smoke test: one known request, the response's shape, and a latency budget.

CD runs it after ``pulumi up`` moves an endpoint to a new model, against the
SageMaker endpoint (``sagemaker-runtime`` ``InvokeEndpoint``) or, for the
Kubernetes and bring-your-own-container targets, over HTTP (``GET /ping``,
``POST /invocations``). A failure is one line naming the target and what was
wrong; the exit code is 1.

    python -m ops.release.smoke --endpoint mlops-prod-endpoint
    python -m ops.release.smoke --url https://fraud.example.internal
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from ml.errors import MlopsError

JSON = "application/json"
DEFAULT_BUDGET_MS = 2000.0
DEFAULT_TIMEOUT_S = 10.0
# Two transactions every model of this project can score: an everyday purchase and
# an online jewelry order far from home on a new device at night.
KNOWN_INSTANCES: tuple[dict[str, Any], ...] = (
    {
        "amount": 42.5,
        "avg_amount_30d": 55.0,
        "account_age_days": 1200,
        "txn_count_24h": 2,
        "distance_from_home_km": 3.2,
        "is_new_device": 0,
        "hour": 14,
        "merchant_category": "grocery",
        "channel": "pos",
        "country": "US",
    },
    {
        "amount": 2450.0,
        "avg_amount_30d": 60.0,
        "account_age_days": 12,
        "txn_count_24h": 9,
        "distance_from_home_km": 4100.0,
        "is_new_device": 1,
        "hour": 3,
        "merchant_category": "jewelry",
        "channel": "online",
        "country": "NG",
    },
)


class SmokeTestError(MlopsError):
    """The deployed model did not answer the known request correctly or in time."""


@dataclass(frozen=True)
class SmokeResult:
    """What the endpoint answered, and how long it took."""

    target: str
    latency_ms: float
    predictions: list[dict[str, Any]]

    def summary(self) -> str:
        scores = ", ".join(f"{p['score']:.3f}" for p in self.predictions)
        return f"{self.target}: ok in {self.latency_ms:.0f} ms (scores {scores})"


def known_payload() -> bytes:
    return json.dumps({"instances": list(KNOWN_INSTANCES)}).encode("utf-8")


def check_predictions(target: str, body: bytes, expected: int) -> list[dict[str, Any]]:
    """``{"predictions": [{"score": 0..1, "is_fraud": bool}, ...]}`` with one per instance."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SmokeTestError(f"{target}: response is not JSON: {body[:80]!r}") from None
    predictions = document.get("predictions") if isinstance(document, dict) else None
    if not isinstance(predictions, list) or len(predictions) != expected:
        raise SmokeTestError(
            f'{target}: expected {{"predictions": [...]}} with {expected} items, got {body[:80]!r}'
        )
    for number, item in enumerate(predictions, 1):
        score = item.get("score") if isinstance(item, dict) else None
        flag = item.get("is_fraud") if isinstance(item, dict) else None
        valid_score = (
            isinstance(score, int | float) and not isinstance(score, bool) and 0.0 <= score <= 1.0
        )
        if not valid_score or not isinstance(flag, bool):
            raise SmokeTestError(
                f"{target}: prediction {number} must be a score in [0, 1] and a boolean "
                f"is_fraud, got {item!r}"
            )
    return predictions


def _within_budget(target: str, latency_ms: float, budget_ms: float) -> None:
    if latency_ms > budget_ms:
        raise SmokeTestError(
            f"{target}: answered in {latency_ms:.0f} ms, over the {budget_ms:.0f} ms budget"
        )


def smoke_endpoint(
    endpoint_name: str,
    *,
    client: Any = None,
    region: str | None = None,
    budget_ms: float = DEFAULT_BUDGET_MS,
) -> SmokeResult:
    """Invoke a SageMaker endpoint with the known request and check the answer."""
    from botocore.exceptions import BotoCoreError, ClientError

    if client is None:
        import boto3

        client = boto3.client("sagemaker-runtime", region_name=region)
    target = f"endpoint {endpoint_name}"
    started = time.perf_counter()
    try:
        response = client.invoke_endpoint(
            EndpointName=endpoint_name, ContentType=JSON, Accept=JSON, Body=known_payload()
        )
        body = response["Body"].read()
    except ClientError as error:
        details = error.response.get("Error", {})
        raise SmokeTestError(
            f"{target}: invoke failed: {details.get('Code', 'error')}: {details.get('Message', '')}"
        ) from None
    except BotoCoreError as error:
        raise SmokeTestError(f"{target}: invoke failed: {error}") from None
    latency_ms = (time.perf_counter() - started) * 1000
    predictions = check_predictions(target, body, len(KNOWN_INSTANCES))
    _within_budget(target, latency_ms, budget_ms)
    return SmokeResult(target, latency_ms, predictions)


def _http(url: str, timeout: float, data: bytes | None = None) -> tuple[int, bytes]:
    """GET (or POST ``data`` as JSON) and return status and body; the caller checked the scheme."""
    method = "GET" if data is None else "POST"
    headers = {} if data is None else {"Content-Type": JSON, "Accept": JSON}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def smoke_http(
    base_url: str,
    *,
    budget_ms: float = DEFAULT_BUDGET_MS,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> SmokeResult:
    """Check ``GET /ping`` then ``POST /invocations`` of a server with SageMaker's contract."""
    base = base_url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise SmokeTestError(f"{base_url}: give an http:// or https:// URL")
    target = base
    try:
        status, _ = _http(f"{base}/ping", timeout)
        if status != 200:
            raise SmokeTestError(f"{target}: GET /ping answered {status}, expected 200")
        started = time.perf_counter()
        status, body = _http(f"{base}/invocations", timeout, data=known_payload())
        latency_ms = (time.perf_counter() - started) * 1000
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise SmokeTestError(f"{target}: cannot reach the server: {reason}") from None
    if status != 200:
        text = body[:120].decode("utf-8", "replace")
        raise SmokeTestError(f"{target}: POST /invocations answered {status}: {text}")
    predictions = check_predictions(target, body, len(KNOWN_INSTANCES))
    _within_budget(target, latency_ms, budget_ms)
    return SmokeResult(target, latency_ms, predictions)


def main(argv: list[str] | None = None) -> int:
    """Command line: smoke-test one endpoint or URL; print one line; exit 0 or 1."""
    parser = argparse.ArgumentParser(description="Smoke-test a deployed model.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--endpoint", help="SageMaker endpoint name")
    where.add_argument("--url", help="base URL of a server with /ping and /invocations")
    parser.add_argument("--region", help="AWS region of the endpoint")
    parser.add_argument(
        "--budget-ms",
        type=float,
        default=DEFAULT_BUDGET_MS,
        help="slowest acceptable answer, in milliseconds",
    )
    args = parser.parse_args(argv)
    try:
        if args.endpoint:
            result = smoke_endpoint(args.endpoint, region=args.region, budget_ms=args.budget_ms)
        else:
            result = smoke_http(args.url, budget_ms=args.budget_ms)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
