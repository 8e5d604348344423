"""``attract db …``, ``attract users …``, ``attract keys …`` and ``attract serve``: the service."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli import MaybeParkOption, app, console, err_console, fail
from data.reference import default_parks
from data.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

keys_app = typer.Typer(help="API keys of the service (each acts as a user).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
users_app = typer.Typer(help="People who sign in to the pages and own leads.", no_args_is_help=True)
app.add_typer(users_app, name="users")
db_app = typer.Typer(help="The service database: schema, backup, restore.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _ready_engine() -> Engine:
    """The service database's engine, at the newest schema (a new, empty one is created through
    the migrations; an old one is an error naming `attract db upgrade`)."""
    from api.crm.migrate import open_database

    try:
        return open_database(get_settings().database)
    except RuntimeError as exc:
        raise fail(str(exc)) from exc


def _sessions() -> sessionmaker[Session]:
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(_ready_engine(), expire_on_commit=False)


def _new_password(password: str | None) -> tuple[str, bool]:
    """The password given, else a generated one (then it is printed once)."""
    import secrets

    return (password, False) if password else (secrets.token_urlsafe(12), True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the service database to this version's schema (records are kept)."""
    from api.crm.migrate import upgrade
    from api.crm.tables import make_engine

    settings = get_settings()
    try:
        before, after = upgrade(make_engine(settings.database))
    except RuntimeError as exc:
        raise fail(str(exc)) from exc
    said = "already at" if before == after else f"upgraded from {before or 'nothing'} to"
    console.print(f"service database {said} revision {after}", highlight=False)


@db_app.command("current")
def db_current() -> None:
    """Where the service database stands against this version's migrations."""
    from api.crm.migrate import schema_state
    from api.crm.tables import make_engine

    state = schema_state(make_engine(get_settings().database))
    console.print(
        f"revision {state.current or '-'} (newest {state.head}): {state.message}", highlight=False
    )
    if state.kind != "ready":
        raise typer.Exit(code=1)


@db_app.command("backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="New file to write (never overwritten).")],
) -> None:
    """A consistent copy of the live database (SQLite online backup; pg_dump for PostgreSQL)."""
    from api.crm.migrate import backup

    try:
        size = backup(get_settings().database, target)
    except (FileExistsError, ValueError, RuntimeError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"backed up to {target} ({size:,} bytes)", highlight=False)


@db_app.command("restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="A file written by `attract db backup`.")],
    replace: Annotated[
        bool, typer.Option(help="Overwrite a database that holds service tables (stop the server).")
    ] = False,
) -> None:
    """Restore a backup into the service database (``ATTRACT_DATABASE_URL`` or the default)."""
    from api.crm.migrate import restore

    settings = get_settings()
    try:
        restore(source, settings.database, replace=replace)
    except (FileExistsError, FileNotFoundError, ValueError, RuntimeError) as exc:
        raise fail(str(exc)) from exc
    console.print(f"restored {source} into {settings.database}", highlight=False)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Lower-case login name.")],
    role: Annotated[str, typer.Option(help="officer, lead (team lead), analyst or admin.")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="ATTRACT_NEW_PASSWORD",
            help="The password (≥ 10 characters); generated and printed once when left out.",
        ),
    ] = None,
    display_name: Annotated[str, typer.Option(help="The name the pages show.")] = "",
    exist_ok: Annotated[
        bool, typer.Option(help="Do nothing (and print nothing secret) if the user exists.")
    ] = False,
) -> None:
    """Create a user; a generated password is printed once, alone, on the last line."""
    from api.crm.people import create_user, list_users

    sessions = _sessions()
    if exist_ok and any(u["username"] == username for u in list_users(sessions)):
        err_console.print(f"user {username!r} exists; left as it is", highlight=False)
        return
    chosen, generated = _new_password(password)
    try:
        create_user(
            sessions, username=username, role=role, password=chosen, display_name=display_name
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    err_console.print(f"created {role} {username!r}", highlight=False)
    if generated:
        err_console.print("password (store it now: it is not shown again):", highlight=False)
        typer.echo(chosen)


@users_app.command("list")
def users_list() -> None:
    """Every user with role and status."""
    from rich.table import Table

    from api.crm.people import list_users

    table = Table(title="users")
    for col in ("username", "name", "role", "status", "signs in"):
        table.add_column(col)
    for u in list_users(_sessions()):
        status = "disabled" if u["disabled"] else ("locked" if u["locked_until"] else "active")
        table.add_row(
            str(u["username"]),
            str(u["display_name"]),
            str(u["role"]),
            status,
            "yes" if u["can_sign_in"] else "no (keys only)",
        )
    console.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: sessions and keys stop working."""
    _update(username, disabled=True)


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user again."""
    _update(username, disabled=False)


@users_app.command("reset-password")
def users_reset_password(
    username: str,
    password: Annotated[
        str | None, typer.Option(envvar="ATTRACT_NEW_PASSWORD", help="Generated when left out.")
    ] = None,
) -> None:
    """Set a new password (lifts a lock-out); a generated one is printed once."""
    chosen, generated = _new_password(password)
    _update(username, password=chosen)
    if generated:
        typer.echo(chosen)


def _update(username: str, **change: object) -> None:
    from api.crm.people import update_user

    try:
        update_user(_sessions(), username, **change)  # type: ignore[arg-type]
    except (LookupError, ValueError) as exc:
        raise fail(str(exc)) from exc
    err_console.print(f"updated {username!r}", highlight=False)


@keys_app.command("create")
def keys_create(
    user: Annotated[str | None, typer.Option(help="The user the key acts as.")] = None,
    role: Annotated[
        str | None, typer.Option(help="Without --user: a scripts user of this role.")
    ] = None,
    label: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
) -> None:
    """Create an API key acting as a user (or a role's scripts user); it is printed once, alone,
    on the last line, and stored only hashed."""
    from api.crm.tables import create_key

    try:
        key = create_key(_sessions(), username=user, role=role, label=label)
    except (LookupError, ValueError) as exc:
        raise fail(str(exc).replace("user:", "--user:").replace("role:", "--role:")) from exc
    err_console.print(
        f"created a key for {user or f'scripts-{role}'} (store it now: it is not shown again)",
        highlight=False,
    )
    typer.echo(key)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    park: MaybeParkOption = None,  # default: ATTRACT_PARK, else shibei
    data: Annotated[Path | None, typer.Option(help="Universe folder (default: the demo).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes; they map one snapshot of the state (home/snapshots) and "
            "follow each other's reloads.",
        ),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log a line per request (uvicorn's access log); off behind a proxy that logs "
            "them.",
        ),
    ] = True,
) -> None:
    """Serve the API (docs at /docs); it answers at once and /api/v1/ready says when it is loaded.
    It refuses to start on a database with an old schema and says which command to run."""
    import os

    import uvicorn

    from api.crm.migrate import schema_state
    from api.crm.tables import make_engine

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
    database = schema_state(make_engine(settings.database))
    if database.kind in {"old", "newer"}:
        raise fail(f"service database: {database.message}")
    err_console.print(
        f"serving {settings.park} from {settings.universe_dir} on http://{host}:{port} "
        f"(docs http://{host}:{port}/docs)",
        highlight=False,
    )
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
    )
