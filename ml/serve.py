"""HTTP server with SageMaker's container contract: ``GET /ping``, ``POST /invocations``.

The same app serves a bring-your-own-container endpoint and a Kubernetes
deployment. It is a thin shell over ``ml.inference``: each request runs
``invoke``, which answers exactly as SageMaker's handler chain
(``input_fn`` -> ``predict_fn`` -> ``output_fn``) does. Request errors become
4xx JSON ``{"error": ...}``; a 500 means a bug. ``serve`` runs the app in
gunicorn worker processes (``ml.serve_workers``), one per CPU by default.
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ml.errors import MlopsError
from ml.inference import (
    MAX_BODY_BYTES,
    LoadedModel,
    PayloadTooLargeError,
    RequestError,
    invoke,
    model_fn,
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
            headers = request.headers
            answer, kind = invoke(model, body, headers.get("content-type"), headers.get("accept"))
            return Response(answer, media_type=kind)
        except RequestError as error:
            return JSONResponse({"error": str(error)}, status_code=error.status)
        except ClientDisconnect:
            return Response(status_code=499)  # nobody reads it: the client is gone

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


def serve(options: ServeOptions) -> None:
    """Load the model once, then serve it from worker processes until stopped."""
    import gc
    import os

    from ml.serve_workers import ModelServer, server_settings
    from ml.threads import WAIT_POLICY, thread_environment

    settings = server_settings(options)
    # Before the model loads scikit-learn's OpenMP runtime, which reads them once;
    # each worker also sets its pools after the fork (ml.serve_workers). Waiting
    # threads sleep unless told otherwise: spinning ones took 0.6 s of CPU per
    # 100-row request on a loaded machine.
    os.environ.update(thread_environment(settings.threads))
    for name, value in WAIT_POLICY.items():
        os.environ.setdefault(name, value)
    app = create_app(model_fn(options.model_dir))
    # Loaded once and shared with the forked workers: keep it out of the garbage
    # collector's passes, which would touch (and so copy) every page of it.
    gc.collect()
    gc.freeze()
    ModelServer(app, settings).run()


def main(argv: list[str] | None = None) -> int:
    """Container entry: ``serve`` as SageMaker passes it, paths and port overridable."""
    parser = container_parser(ServeOptions, "Serve the model over HTTP (SageMaker contract).")
    parser.add_argument("command", nargs="?", choices=["serve"], help="accepted for SageMaker")
    options = parse(ServeOptions, argv, parser=parser)
    try:
        serve(options)
    except MlopsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
