"""The server's processes: gunicorn starts N workers, each running the app on uvicorn.

What SageMaker's framework containers do (gunicorn, ``SAGEMAKER_MODEL_SERVER_WORKERS``
workers, one per CPU by default, ``SAGEMAKER_MODEL_SERVER_TIMEOUT``;
https://github.com/aws/sagemaker-containers/blob/master/src/sagemaker_containers/_env.py),
with uvicorn's asyncio worker instead of gevent. The model is loaded once in the
gunicorn master and shared with the workers it forks, and each worker sets its
OpenMP threads to its share of the CPUs (``ml.threads``) before it serves.
``uvicorn --workers`` is not used: it answered in about 44 ms per request here,
gunicorn with uvicorn's worker class in 1.3 ms.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication

from ml.errors import MlopsError
from ml.serve_protocol import protocol_with_deadline
from ml.step_options import ServeOptions
from ml.threads import container_cpus, limit_threads, threads_per_worker

with warnings.catch_warnings():
    # uvicorn points to the separate uvicorn-worker package for this class; the
    # image installs uvicorn alone, whose worker is the same code.
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker

KEEP_ALIVE_SECONDS = 5  # uvicorn's default; gunicorn's 2 s would reconnect more often
WORKER_CLASS = f"{__name__}.ModelWorker"


@dataclass(frozen=True)
class ServerSettings:
    """Where and how the server runs, all values resolved."""

    host: str
    port: int
    workers: int
    threads: int
    timeout: int
    read_timeout: float


def server_settings(options: ServeOptions) -> ServerSettings:
    """The options with workers and threads decided: one worker per CPU, CPUs shared out."""
    for name in ("workers", "threads", "timeout", "read_timeout"):
        value = getattr(options, name)
        if value is not None and value <= 0:
            flag = "--" + name.replace("_", "-")
            raise MlopsError(f"{flag} must be positive, got {value}")
    cpus = container_cpus()
    workers = options.workers or cpus
    return ServerSettings(
        host=options.host,
        port=options.port,
        workers=workers,
        threads=options.threads or threads_per_worker(workers, cpus),
        timeout=options.timeout,
        read_timeout=options.read_timeout,
    )


class ModelWorker(UvicornWorker):
    """uvicorn's gunicorn worker: asyncio, h11 with a read deadline, no extra headers or logs."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "asyncio",
        "http": "h11",
        "lifespan": "off",
        "access_log": False,
        "server_header": False,
        "date_header": False,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings: ServerSettings = self.app.settings
        self.config.http = protocol_with_deadline(settings.read_timeout)


class ModelServer(BaseApplication):
    """gunicorn's application: its settings, and the app built once in the master."""

    def __init__(self, app: Any, settings: ServerSettings) -> None:
        self.asgi_app = app
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        threads = self.settings.threads
        values: dict[str, Any] = {
            "bind": [f"{self.settings.host}:{self.settings.port}"],
            "workers": self.settings.workers,
            "worker_class": WORKER_CLASS,
            "preload_app": True,
            # A listening socket per worker (SO_REUSEPORT): the kernel spreads new
            # connections evenly. On one shared socket the first worker to wake
            # accepts a whole burst of connections and the other workers idle.
            "reuse_port": True,
            "timeout": self.settings.timeout,
            "keepalive": KEEP_ALIVE_SECONDS,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "mlops-serve",
            # No control socket: it would be written under $HOME, read-only in Kubernetes.
            "control_socket_disable": True,
            "post_fork": lambda _server, _worker: limit_threads(threads),
        }
        for key, value in values.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.asgi_app
