"""Where the feedback job lands rows, and the ledger that makes landing once per window certain.

A window is one clock hour of label arrivals. Its rows land at one key,
``raw/feedback/<endpoint>/yyyy/mm/dd/hh.csv`` (the hour the labels arrived),
written only if absent (``PutObject`` with ``If-None-Match: *``: S3 answers 412
when the key exists, https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html),
so two runs of one window never write twice. The ledger
(``feedback/<endpoint>/ledger.json`` in the monitoring bucket) records each
window of the look-back: done, and the transaction ids it landed; each window's
full entry (counts, label files, the landed object's S3 version id) is written
beside it under ``windows/yyyy/mm/dd/hh.json``. A window in the ledger is done;
a run that died between the object and the ledger finds the object (412) and
takes the ids from it. Later windows skip the ids the look-back before them
landed, so a label that arrives again an hour or a week later never lands its
row twice.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from ml import schema
from ml.errors import MlopsError
from pipelines.definitions.monitoring import RAW_FEEDBACK

HOUR = timedelta(hours=1)
WINDOWS = "windows/"
LEDGER_FILE = "ledger.json"
CONFLICT_RETRIES = 3


def hour_path(hour: datetime) -> str:
    return f"{hour:%Y/%m/%d/%H}"


def raw_key(endpoint: str, hour: datetime) -> str:
    """Where the rows of the labels that arrived in ``hour`` land."""
    return f"{RAW_FEEDBACK}{endpoint}/{hour_path(hour)}.csv"


def entry_key(ledger_prefix: str, hour: datetime) -> str:
    """The window's full entry (counts, files, the landed object): an audit record."""
    return f"{ledger_prefix}{WINDOWS}{hour_path(hour)}.json"


def _missing(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


def read_entry(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
    except ClientError as error:
        if _missing(error):
            return None
        raise


def write_entry(s3: Any, bucket: str, key: str, entry: dict[str, Any]) -> None:
    body = json.dumps(entry, indent=2, sort_keys=True, default=str).encode()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


class Ledger:
    """The windows of the look-back, in one object read once per run and saved once at its end.

    ``feedback/<endpoint>/ledger.json`` maps each window hour to its status and the
    transaction ids it landed; hours older than the look-back are pruned on save.
    The save is conditional (``If-Match`` on the ETag read, ``If-None-Match: *`` for
    the first one): a run that raced another re-reads, merges and saves again.
    """

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self._s3, self._bucket, self._prefix = s3, bucket, prefix
        self._key = f"{prefix}{LEDGER_FILE}"
        self._windows: dict[str, dict[str, Any]] = {}
        self._etag: str | None = None
        self._new: dict[str, dict[str, Any]] = {}

    def load(self) -> None:
        self._windows, self._etag = self._read()

    def _read(self) -> tuple[dict[str, dict[str, Any]], str | None]:
        from botocore.exceptions import ClientError

        try:
            found = self._s3.get_object(Bucket=self._bucket, Key=self._key)
        except ClientError as error:
            if _missing(error):
                return {}, None
            raise
        return dict(json.loads(found["Body"].read()).get("windows", {})), found.get("ETag")

    def done(self, hour: datetime) -> bool:
        return hour.isoformat() in self._windows

    def landed_ids(self, first: datetime, last: datetime) -> set[int]:
        """The transaction ids landed by the windows from ``first`` up to ``last``."""
        return {
            int(i)
            for hour, window in self._windows.items()
            if first <= datetime.fromisoformat(hour) < last
            for i in window.get("ids", [])
        }

    def record(self, hour: datetime, entry: dict[str, Any]) -> None:
        """Keep the window's result; an entry that read labels is written beside it for audit."""
        window = {"status": entry["status"], "ids": [int(i) for i in entry.get("ids", [])]}
        self._windows[hour.isoformat()] = self._new[hour.isoformat()] = window
        if entry.get("label_files"):
            write_entry(self._s3, self._bucket, entry_key(self._prefix, hour), entry)

    def save(self, keep_since: datetime) -> None:
        """Write the ledger pruned to the hours since ``keep_since``; merge if another run wrote."""
        from botocore.exceptions import ClientError

        for _ in range(CONFLICT_RETRIES):
            windows = {
                h: w for h, w in self._windows.items() if datetime.fromisoformat(h) >= keep_since
            }
            body = json.dumps({"windows": windows}, sort_keys=True).encode()
            condition = {"IfMatch": self._etag} if self._etag else {"IfNoneMatch": "*"}
            try:
                self._s3.put_object(
                    Bucket=self._bucket,
                    Key=self._key,
                    Body=body,
                    ContentType="application/json",
                    **condition,
                )
                return
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code not in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                    raise
            theirs, self._etag = self._read()
            self._windows = {**theirs, **self._new}
        raise MlopsError(f"s3://{self._bucket}/{self._key}: kept changing while saving; run again")


def csv_bytes(rows: pd.DataFrame) -> bytes:
    """The rows as a CSV drop, written as ``ml.io.write_table`` writes one (ISO times, UTC)."""
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False, date_format="%Y-%m-%dT%H:%M:%S%z")
    return buffer.getvalue().encode()


def put_once(s3: Any, bucket: str, key: str, body: bytes) -> tuple[bool, str | None]:
    """Write ``body`` at ``key`` unless the key exists; (written, version id of what is there).

    S3 answers 412 when the key exists, and 409 to the loser of two concurrent
    conditional writes, which retries and then gets the 412.
    """
    from botocore.exceptions import ClientError

    for _ in range(CONFLICT_RETRIES):
        try:
            put = s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType="text/csv", IfNoneMatch="*"
            )
            return True, put.get("VersionId")
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ConditionalRequestConflict":
                continue
            if code not in ("PreconditionFailed", "412"):
                raise
            break
    return False, s3.head_object(Bucket=bucket, Key=key).get("VersionId")


def ids_in(s3: Any, bucket: str, key: str) -> list[int]:
    """The transaction ids of a landed drop (to rebuild a lost ledger entry)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    frame = pd.read_csv(io.BytesIO(body), usecols=[schema.ID_COLUMN])
    return sorted(int(i) for i in frame[schema.ID_COLUMN])
