"""The ``mlops`` command line: one app, one sub-module per area.

Each command is a thin layer over a library function. Heavy imports (pulumi,
sagemaker, scikit-learn) happen inside the commands, so ``mlops --help`` is fast.
"""

from __future__ import annotations

import gc
import sys

import typer

from ops.commands import register_all

app = typer.Typer(
    name="mlops",
    help="AWS MLOps platform: synthesise and scan stacks, run the ML steps and pipelines offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
register_all(app)


def main() -> None:
    """Console-script entry: user errors become one line on stderr and exit 1."""
    from ml.errors import MlopsError

    try:
        result = app(standalone_mode=False)
    except MlopsError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except SystemExit:
        raise
    except typer.TyperException as error:  # usage errors: the parser's message, then exit 1
        show = getattr(error, "show", None)
        if show is None:
            raise
        show()
        sys.exit(1)
    # Skip the final garbage collection of the provider SDKs' object graph at exit
    # (about a second after a synth); the process is ending anyway.
    gc.freeze()
    if isinstance(result, int) and result:  # typer.Exit(n) comes back as n without standalone mode
        sys.exit(result)


if __name__ == "__main__":
    main()
