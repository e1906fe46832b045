"""A closed-loop HTTP load generator: N keep-alive connections, each sending the next request
as soon as the last one is answered, for a fixed time. Run in its own process.

``python benchmarks/load_client.py PORT BODY_FILE CONTENT_TYPE CONNECTIONS SECONDS``
prints one JSON line: requests, errors (non-200 answers, resets, 10 s timeouts),
requests per second, p50 and p99 latency in ms. Raw asyncio streams with the
request bytes built once, so the client costs far less CPU than the servers.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

TIMEOUT = 10.0  # a request not answered within this counts as an error (a timeout)


async def one_connection(
    port: int, request: bytes, stop: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                writer.write(request)
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
                status, length, close = parse_head(head)
                await asyncio.wait_for(reader.readexactly(length), TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                errors[0] += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors[0] += 1
            if close:  # a server that does not keep connections alive
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server closes, from a response head."""
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    return status, int(headers.get("content-length", "0")), headers.get("connection") == "close"


async def run(port: int, body: bytes, content_type: str, connections: int, seconds: float) -> dict:
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: {content_type}\r\nAccept: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors = [0]
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(
        *(one_connection(port, request, stop, latencies, errors) for _ in range(connections))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rate": len(latencies) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1e3,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
    }


def main() -> None:
    port, body_file, content_type, connections, seconds = sys.argv[1:6]
    body = Path(body_file).read_bytes()
    result = asyncio.run(run(int(port), body, content_type, int(connections), float(seconds)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
