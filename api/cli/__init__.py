"""The ``attract`` command line: one Typer app, its commands in one module per group
(``data``: demo and imports; ``graph``: chains and gaps; ``models``: train, promote, leads,
score, tax; ``service``: keys and serve). Every command that works for a park takes the same
``--park`` option (``ParkOption``)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from data.reference import default_parks
from data.settings import get_settings

app = typer.Typer(
    help="Shibei Attract: investment-attraction leads, chain gaps and models.", no_args_is_help=True
)
import_app = typer.Typer(help="Import outside data into contract tables.", no_args_is_help=True)
app.add_typer(import_app, name="import")
# wide tables when piped (a file, CI log), the terminal's width otherwise
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 220)
err_console = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` to stderr; the caller raises the returned exit (code 2)."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code=2)


def data_folder(data: Path | None) -> Path:
    """The universe folder given, else the demo's."""
    return data if data is not None else get_settings().demo_dir


def _known_park(park: str | None) -> str | None:
    parks = default_parks()
    if park is not None and park not in parks:
        raise fail(f"--park: unknown park {park!r}; choose one of {', '.join(parks)}")
    return park


# the one --park option of every command that works for a park
_PARK = typer.Option(
    "--park", help="Park id: a profile in data/parks (shibei, nantong).", callback=_known_park
)
ParkOption = Annotated[str, _PARK]
MaybeParkOption = Annotated[str | None, _PARK]

# the command groups register themselves on ``app``
for _group in ("data", "graph", "models", "plan", "contact", "service", "space", "links"):
    importlib.import_module(f"api.cli.{_group}")
