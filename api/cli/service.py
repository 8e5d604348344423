"""``attract keys …`` and ``attract serve``: the API service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from data.reference import default_parks
from data.settings import get_settings

if TYPE_CHECKING:
    pass

from api.cli import MaybeParkOption, app, err_console, fail

keys_app = typer.Typer(help="API keys of the service.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="officer (read, outreach) or analyst (everything).")],
    label: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
) -> None:
    """Create an API key; it is printed once, alone, on the last line, and stored only hashed."""
    from sqlalchemy.orm import sessionmaker

    from api.db import ROLES, create_key, ensure_schema, make_engine

    if role not in ROLES:
        raise fail(f"--role: must be one of {', '.join(ROLES)} (got {role!r})")
    settings = get_settings()
    engine = make_engine(settings.database)
    status = ensure_schema(engine)
    if status != "ready":
        raise fail(f"database {status}")
    key = create_key(sessionmaker(engine), role=role, label=label)
    err_console.print(
        f"created a {role} key (store it now: it is not shown again)", highlight=False
    )
    typer.echo(key)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    park: MaybeParkOption = None,  # default: ATTRACT_PARK, else shibei
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API (docs at /docs); it answers at once and /api/v1/ready says when it is loaded."""
    import os

    import uvicorn

    if park is not None:
        os.environ["ATTRACT_PARK"] = park
    if data is not None:
        os.environ["ATTRACT_DATA_DIR"] = str(data.resolve())
    # a tracking server that does not answer must not hold the load for minutes (MLflow's own
    # default backs off seven times): /ready says why and /admin/reload tries again
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    get_settings.cache_clear()
    settings = get_settings()
    if settings.park not in default_parks():
        raise fail(
            f"--park: unknown park {settings.park!r}; choose one of {', '.join(default_parks())}"
        )
    err_console.print(
        f"serving {settings.park} from {settings.universe_dir} on http://{host}:{port} "
        f"(docs http://{host}:{port}/docs)",
        highlight=False,
    )
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info"
    )
