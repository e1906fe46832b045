"""uvicorn's h11 protocol with a deadline for reading each request.

uvicorn closes a keep-alive connection that stays idle between requests, but
it waits for ever on a connection that sends a request's head or body slowly,
so a few hundred stalled clients hold the server's connections open (a
"slowloris"). Here a connection has ``read_timeout`` seconds from when it
opens, or from the first byte of its next request, to deliver the whole
request, head and body; a slower one is answered 408 in the server's error
shape and closed. The deadline stops once the request is read: the model's
own time does not count.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

READ_TIMEOUT_SECONDS = 10.0
# The client states in which h11 waits for bytes of a request: its head, then its body.
_READING = (h11.IDLE, h11.SEND_BODY)


def timeout_response(seconds: float) -> bytes:
    """The 408 answer to a request that did not arrive in time (JSON, then the close)."""
    body = json.dumps(
        {"error": f"request not received within {seconds:g} s; send its head and body at once"}
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class DeadlineH11Protocol(H11Protocol):
    """A request must arrive whole within ``read_timeout`` seconds of its start."""

    read_timeout: float = READ_TIMEOUT_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in _READING:
            self._arm_read_deadline()  # a request is on its way: from its first byte on
        else:
            self._cancel_read_deadline()  # read whole (or the connection is done)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state in _READING and self.conn.trailing_data[0]:
            self._arm_read_deadline()  # a pipelined request is already arriving

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_deadline()
        super().connection_lost(exc)

    def _arm_read_deadline(self) -> None:
        if self._read_deadline is None:
            self._read_deadline = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _cancel_read_deadline(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        """Answer 408 and close; a handler waiting for the body sees the client gone."""
        self._read_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # its receive() says disconnect, its send() is dropped
            self.cycle.message_event.set()
        self.transport.write(timeout_response(self.read_timeout))
        self.transport.close()


def protocol_with_deadline(seconds: float) -> type[DeadlineH11Protocol]:
    """The protocol class with its deadline set (uvicorn instantiates the class itself)."""
    if seconds <= 0:
        raise ValueError(f"the read timeout must be positive, got {seconds}")
    return type("DeadlineH11Protocol", (DeadlineH11Protocol,), {"read_timeout": seconds})
