"""Post-deploy smoke test against the real inference server and a stubbed SageMaker runtime.

The HTTP path runs ``ml.serve``'s app, with a small model trained here, under
uvicorn on 127.0.0.1. The SageMaker path uses botocore's Stubber: moto cannot
run a model behind ``invoke_endpoint``.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
import uvicorn
from botocore.response import StreamingBody
from botocore.stub import Stubber
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops.release.smoke import (
    KNOWN_INSTANCES,
    SmokeTestError,
    check_predictions,
    known_payload,
    main,
    smoke_endpoint,
    smoke_http,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_server(app: Starlette) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ml.data import generate
    from ml.inference import model_fn
    from ml.io import write_table
    from ml.serve import create_app
    from ml.train import TrainParams, run_training

    root = tmp_path_factory.mktemp("smoke")
    write_table(generate(4000, seed=11), root / "train.parquet")
    run_training(root / "train.parquet", None, root / "model", TrainParams(max_iter=20, seed=3))
    yield from run_server(create_app(model_fn(root / "model")))


def fake_app(ping_status: int = 200, answer: object = None, status: int = 200) -> Starlette:
    async def ping(_: object) -> Response:
        return Response(status_code=ping_status)

    async def invocations(_: object) -> Response:
        return JSONResponse(answer, status_code=status)

    return Starlette(
        routes=[Route("/ping", ping), Route("/invocations", invocations, methods=["POST"])]
    )


@pytest.fixture
def serve_fake() -> Iterator[object]:
    servers: list[Iterator[str]] = []

    def start(**kwargs: object) -> str:
        server = run_server(fake_app(**kwargs))  # type: ignore[arg-type]
        servers.append(server)
        return next(server)

    yield start
    for server in servers:
        next(server, None)


def test_the_inference_server_passes_the_smoke_test(model_server: str) -> None:
    result = smoke_http(model_server)
    assert len(result.predictions) == len(KNOWN_INSTANCES)
    assert all(0 <= p["score"] <= 1 for p in result.predictions)
    assert result.latency_ms > 0
    assert result.summary().startswith(f"{model_server}: ok in ")


def test_a_slow_answer_fails_the_latency_budget(model_server: str) -> None:
    with pytest.raises(SmokeTestError, match=r"over the 0 ms budget"):
        smoke_http(model_server, budget_ms=0.0001)


def test_an_unhealthy_ping_fails(serve_fake) -> None:
    url = serve_fake(ping_status=503)
    with pytest.raises(SmokeTestError, match="GET /ping answered 503"):
        smoke_http(url)


def test_a_server_error_is_reported_with_its_body(serve_fake) -> None:
    url = serve_fake(answer={"error": "model not loaded"}, status=500)
    with pytest.raises(SmokeTestError, match=r"POST /invocations answered 500: .*model not loaded"):
        smoke_http(url)


@pytest.mark.parametrize(
    "answer",
    [
        {"predictions": []},
        {"predictions": [{"score": 0.2, "is_fraud": False}, {"score": 1.7, "is_fraud": True}]},
        {"predictions": [{"score": 0.2, "is_fraud": 0}, {"score": 0.9, "is_fraud": True}]},
        [0.1, 0.9],
    ],
)
def test_a_wrong_response_shape_fails(serve_fake, answer: object) -> None:
    with pytest.raises(SmokeTestError, match="prediction"):
        smoke_http(serve_fake(answer=answer))


def test_an_unreachable_server_is_one_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SmokeTestError, match="cannot reach the server"):
        smoke_http(url, timeout=2)


def test_a_url_without_a_scheme_is_refused() -> None:
    with pytest.raises(SmokeTestError, match="http:// or https://"):
        smoke_http("fraud.example.internal")


def test_non_json_is_reported() -> None:
    with pytest.raises(SmokeTestError, match="not JSON"):
        check_predictions("t", b"0.1,0\n", 1)


def runtime_client() -> tuple[object, Stubber]:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    return client, Stubber(client)


def expected_call() -> dict[str, object]:
    return {
        "EndpointName": "mlops-prod-endpoint",
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": known_payload(),
    }


def body(document: object) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_the_endpoint_is_invoked_with_the_known_request() -> None:
    client, stubber = runtime_client()
    answer = {
        "predictions": [{"score": 0.01, "is_fraud": False}, {"score": 0.97, "is_fraud": True}]
    }
    stubber.add_response(
        "invoke_endpoint",
        {"Body": body(answer), "ContentType": "application/json"},
        expected_call(),
    )
    with stubber:
        result = smoke_endpoint("mlops-prod-endpoint", client=client)
    stubber.assert_no_pending_responses()
    assert result.target == "endpoint mlops-prod-endpoint"
    assert [p["is_fraud"] for p in result.predictions] == [False, True]


def test_an_endpoint_model_error_is_one_line() -> None:
    client, stubber = runtime_client()
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received server error (500) from primary",
        http_status_code=424,
        expected_params=expected_call(),
    )
    with stubber, pytest.raises(SmokeTestError) as raised:
        smoke_endpoint("mlops-prod-endpoint", client=client)
    message = str(raised.value)
    assert message == (
        "endpoint mlops-prod-endpoint: invoke failed: ModelError: "
        "Received server error (500) from primary"
    )


def test_command_line_exits_1_with_one_line_on_failure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--url", f"http://127.0.0.1:{free_port()}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_command_line_exits_0_and_summarises(
    model_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--url", model_server]) == 0
    assert "ok in" in capsys.readouterr().out


def test_known_instances_are_complete_records() -> None:
    from ml.schema import FEATURE_COLUMNS

    for instance in KNOWN_INSTANCES:
        assert tuple(instance) == FEATURE_COLUMNS
