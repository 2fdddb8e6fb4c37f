"""The CLI reference (docs/cli.md), generated from the Typer app so it cannot drift from the code."""

from __future__ import annotations

from typing import Any

import typer

from m3u_strm.cli.app import app


def _param_line(param: Any) -> str:
    if param.param_type_name == "argument":
        return f"- `{param.name.upper()}` (argument): {getattr(param, 'help', None) or ''}".rstrip(": ")
    names = ", ".join(f"`{name}`" for name in param.opts)
    shown = "" if param.is_flag or param.default is None else f" (default: `{param.default}`)"
    return f"- {names}: {param.help or ''}{shown}"


def _walk(command: Any, path: list[str], out: list[str]) -> None:
    commands = getattr(command, "commands", None)
    if commands is not None:
        for name in sorted(commands):
            _walk(commands[name], [*path, name], out)
        return
    out += [f"## `{' '.join(path)}`", "", (command.help or "").strip().split("\n\n")[0]]
    params = [p for p in command.params if p.name != "help"]
    if params:
        out.append("")
        out.extend(_param_line(p) for p in params)
    out.append("")


def cli_markdown() -> str:
    out = [
        "# Command line reference",
        "",
        "Generated from the Typer app by `make docs`; a test fails when this file is out of date.",
        "",
    ]
    _walk(typer.main.get_command(app), ["m3u-strm"], out)
    return "\n".join(out).rstrip() + "\n"
