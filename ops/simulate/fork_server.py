"""A pre-imported interpreter that forks one child process per job step.

Run as a script (``python fork_server.py MODULE... [--botocore SERVICE,...]
[--compile DIR,... --pycache DIR]``, never imported by the project's code paths),
it imports the third-party modules named on its command line (never the
project's own: a step must run the code as it is on disk), reads botocore's
models of the named services (``warm_botocore``), compiles the step code's
folders into a bytecode cache as the image's build does (``compile_code``),
moves all it holds out of the garbage collector's reach (``gc.freeze``: a
child's collections then walk only the child's own objects), and then answers
one request per line on its stdin: ``{"argv", "env", "cwd", "stdout",
"stderr"}``. For each it forks; the child takes the step's environment
(replaced whole), working directory, ``sys.argv`` and ``sys.path`` as ``python3
-m <module>`` would set them (and the locale coercion of PEP 538 that
interpreter start-up applies), sends its stdout and stderr to the two files,
runs the module as ``__main__`` and exits with its code. The server answers
``{"returncode": N}``.

Standard library only, so that starting it imports nothing of the project.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any


def _coerce_locale(target: str | None) -> None:
    """PEP 538, as interpreter start-up applies it: a C locale is coerced to ``target``."""
    env = os.environ
    legacy = (env.get("LC_CTYPE") or env.get("LANG") or "C") in ("C", "POSIX")
    if target and legacy and not env.get("LC_ALL") and env.get("PYTHONCOERCECLOCALE") != "0":
        env["LC_CTYPE"] = target


def _child(
    request: dict[str, Any], base_path: list[str], protocol: tuple[int, int], locale: str | None
) -> int:
    """In the forked child: become the step's process and run it; returns its exit code."""
    for fd in protocol:
        os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    out = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.environ.clear()
    os.environ.update(request["env"])
    _coerce_locale(locale)
    os.chdir(request["cwd"])
    sys.dont_write_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    python_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [str(Path.cwd()), *python_path, *base_path]
    argv = request["argv"]
    try:
        if len(argv) < 3 or argv[1] != "-m":
            raise SystemExit(f"the warm start runs 'python3 -m MODULE ...' steps, not {argv[1:2]}")
        sys.argv = ["-m", *argv[3:]]
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        code = _exit_code(done.code)
    except BaseException:  # the step's crash is its exit status, as in a container
        traceback.print_exc()
        code = 1
    return code


def _exit_code(value: object) -> int:
    """``SystemExit.code`` as the interpreter turns it into an exit status."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)
    return 1


def _finish_child(code: int) -> None:
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def warm_botocore(services: list[str]) -> None:
    """boto3's default session, with the service models of ``services`` already read.

    The session's loader is filled by creating one client of each service from a
    separate session that shares it (explicit test credentials and region, so
    nothing of the environment is resolved); the default session itself has
    resolved nothing, so a child reads its region, credentials, endpoint and
    config files from its own environment, and only skips parsing the models'
    JSON files again.
    """
    import boto3
    import botocore.session
    from botocore.loaders import create_loader

    loader = create_loader()
    filler = botocore.session.Session()
    filler.register_component("data_loader", loader)
    for service in services:
        filler.create_client(
            service,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",  # noqa: S106 - placeholders: no request is made
        )
    default = botocore.session.Session()
    default.register_component("data_loader", loader)
    boto3.setup_default_session(botocore_session=default)


def compile_code(folders: list[str], cache: str) -> None:
    """Compile the step code into ``cache``, as the image's ``python3 -m compileall`` does.

    ``sys.pycache_prefix`` (inherited by each child) puts the bytecode outside the
    source tree; a source changed after this is compiled again on import, as
    without a cache, so a step still runs the code as it is on disk.
    """
    import compileall

    sys.pycache_prefix = cache
    for folder in folders:
        compileall.compile_dir(folder, quiet=2)


def serve(
    preload: list[str], botocore_services: list[str], compiled: tuple[list[str], str] | None = None
) -> None:
    """Import ``preload``, then fork one child per request line until stdin closes."""
    # Started with the image's environment, which sets no locale: an LC_CTYPE now is
    # the one start-up coerced the C locale to, and each child's start-up would too.
    locale = os.environ.get("LC_CTYPE")
    requests, replies = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)  # a stray print of an import must not corrupt the protocol
    script_dir = str(Path(__file__).resolve().parent)
    own_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    base_path = [p for p in sys.path[1:] if p not in own_path and p != script_dir]
    for name in preload:
        importlib.import_module(name)
    if botocore_services:
        warm_botocore(botocore_services)
    if compiled is not None:
        compile_code(*compiled)
    # What is imported stays out of every child's garbage collections: a collection
    # would walk (and so copy, page by page) the whole inherited heap in each step.
    # https://docs.python.org/3/library/gc.html#gc.freeze
    gc.freeze()
    reader = os.fdopen(requests, "r", encoding="utf-8")
    writer = os.fdopen(replies, "w", encoding="utf-8")
    writer.write(json.dumps({"ready": sorted(preload)}) + "\n")
    writer.flush()
    for line in reader:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _finish_child(_child(request, base_path, (requests, replies), locale))
        _, status = os.waitpid(pid, 0)
        writer.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        writer.flush()


def _options(argv: list[str]) -> tuple[list[str], list[str], tuple[list[str], str] | None]:
    """``MODULE... [--botocore S,...] [--compile DIR,... --pycache DIR]`` as its three parts."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("modules", nargs="*")
    parser.add_argument("--botocore", default="")
    parser.add_argument("--compile", default="")
    parser.add_argument("--pycache", default="")
    options = parser.parse_args(argv)
    folders = [f for f in options.compile.split(",") if f]
    compiled = (folders, options.pycache) if folders and options.pycache else None
    return options.modules, [s for s in options.botocore.split(",") if s], compiled


if __name__ == "__main__":
    serve(*_options(sys.argv[1:]))
