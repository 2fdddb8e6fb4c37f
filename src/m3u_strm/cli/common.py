"""What every command shares: the console, the database, reading secrets from stdin, and error output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.config import get_settings
from m3u_strm.db.engine import get_engine
from m3u_strm.db.migrate import current_revision, upgrade
from m3u_strm.errors import InputError, M3UStrmError
from m3u_strm.ingest.providers import load_provider_secrets
from m3u_strm.log import configure_logging
from m3u_strm.privacy.redaction import redact

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
P = ParamSpec("P")
R = TypeVar("R")
_HEAD: str | None = None


def _head_revision() -> str:
    global _HEAD
    if _HEAD is None:
        from alembic.script import ScriptDirectory

        from m3u_strm.db.migrate import alembic_config

        _HEAD = ScriptDirectory.from_config(alembic_config(get_engine())).get_current_head() or ""
    return _HEAD


def ready_engine() -> Engine:
    """The configured database, migrated to the current schema, with provider secrets registered."""
    settings = get_settings()
    configure_logging(settings.log_level)
    engine = get_engine(settings)
    if current_revision(engine) != _head_revision():
        upgrade(engine)
    with Session(engine) as session:
        load_provider_secrets(session)
    return engine


@contextmanager
def db_session() -> Iterator[Session]:
    with Session(ready_engine(), expire_on_commit=False) as session, session.begin():
        yield session


def read_secret_stdin(what: str) -> str:
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise InputError(f"No {what} on standard input.", hint=f"Pipe the {what} in, e.g. `echo ... | m3u-strm ...`.")
    return value


def cli_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn product errors into a clear message on stderr and exit code 1 (2 for bad input)."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except M3UStrmError as exc:
            err_console.print(f"[bold red]Error:[/] {exc.message}", markup=True, soft_wrap=True)
            if exc.hint:
                err_console.print(f"  {exc.hint}", soft_wrap=True)
            raise typer.Exit(2 if isinstance(exc, InputError) else 1) from None

    return wrapper


def _default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def print_json(data: object) -> None:
    console.print_json(redact(json.dumps(data, default=_default, ensure_ascii=False)))
