"""``m3u-strm user ...`` and ``m3u-strm token ...``: accounts and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from m3u_strm.accounts import tokens
from m3u_strm.accounts.users import create_user, get_user
from m3u_strm.cli.common import cli_errors, console, db_session, read_secret_stdin
from m3u_strm.db.models import User
from m3u_strm.privacy.audit import record_audit

user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


@user_app.command("create")
@cli_errors
def create_user_command(
    name: Annotated[str, typer.Argument(help="Username")],
    admin: Annotated[bool, typer.Option("--admin", help="Give the user the admin role")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Create a user (viewer unless --admin). The password is prompted for, or read with --password-stdin."""
    if password_stdin:
        password = read_secret_stdin("password")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with db_session() as session:
        user = create_user(session, name, password, role="admin" if admin else "viewer")
        record_audit(session, "user.create", target_type="user", target_id=user.id, details={"role": user.role})
        console.print(f"Created {user.role} [bold]{user.username}[/].")


@user_app.command("list")
@cli_errors
def list_users() -> None:
    """List users."""
    with db_session() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
    table = Table("id", "username", "role", "active", "last login")
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        table.add_row(str(u.id), u.username, u.role, "yes" if u.is_active else "no", last)
    console.print(table)


@token_app.command("create")
@cli_errors
def create_token_command(
    user: Annotated[str, typer.Argument(help="Username the token acts as")],
    name: Annotated[str, typer.Option(help="A label for the token")] = "cli",
) -> None:
    """Create a personal API token. It is printed once; only its hash is stored."""
    with db_session() as session:
        account = get_user(session, user)
        issued = tokens.issue_token(session, account, kind=tokens.PERSONAL, name=name)
        record_audit(session, "token.create", actor_user_id=account.id, target_type="api_token",
                     target_id=issued.record.id, details={"name": name})  # fmt: skip
    console.print("Token (shown once, store it now):")
    print(issued.token)  # plain stdout, so `TOKEN=$(m3u-strm token create alice | tail -1)` works
