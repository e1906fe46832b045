"""HTTP server with SageMaker's container contract: ``GET /ping``, ``POST /invocations``.

The same app serves a bring-your-own-container endpoint and a Kubernetes
deployment. It is a thin shell over ``ml.inference``: the handlers SageMaker's
framework containers call are the ones this server calls, so both paths give
the same answer. Request errors become 4xx JSON ``{"error": ...}``; a 500 means
a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml.errors import MlopsError
from ml.inference import (
    JSON,
    MAX_BODY_BYTES,
    LoadedModel,
    PayloadTooLargeError,
    RequestError,
    input_fn,
    media_type,
    model_fn,
    output_fn,
    predict_fn,
    response_type,
)
from ml.options import container_parser, parse
from ml.step_options import ServeOptions

DEFAULT_PORT = ServeOptions.port


def create_app(model: LoadedModel, max_body_bytes: int = MAX_BODY_BYTES) -> Starlette:
    """The ASGI app around one loaded model."""

    async def ping(_: Request) -> Response:
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body_bytes)
            content_type = request.headers.get("content-type")
            kind = response_type(
                request.headers.get("accept"), default=media_type(content_type) or JSON
            )
            prediction = predict_fn(input_fn(body, content_type), model)
            return Response(output_fn(prediction, kind), media_type=kind)
        except RequestError as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ]
    )


async def _read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing early (by header) or while streaming once over limit."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError("Content-Length must be a whole number")
        if int(declared) > limit:
            raise PayloadTooLargeError(f"body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def serve(model_dir: Path, host: str = ServeOptions.host, port: int = DEFAULT_PORT) -> None:
    """Load the model and serve it until interrupted."""
    import gc

    import uvicorn

    app = create_app(model_fn(model_dir))
    # Everything loaded so far lives as long as the process: keep it out of the
    # garbage collector's full passes, so those stay short under load.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        date_header=False,
    )


def main(argv: list[str] | None = None) -> int:
    """Container entry: ``serve`` as SageMaker passes it, paths and port overridable."""
    parser = container_parser(ServeOptions, "Serve the model over HTTP (SageMaker contract).")
    parser.add_argument("command", nargs="?", choices=["serve"], help="accepted for SageMaker")
    options = parse(ServeOptions, argv, parser=parser)
    try:
        serve(options.model_dir, options.host, options.port)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
