"""A writer process killed with SIGKILL mid-run loses no acknowledged viewing event (SQLite, WAL, synchronous FULL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from m3u_strm.db.engine import build_engine
from m3u_strm.db.models import User
from tests.sessions.conftest import stored

CHILD = Path(__file__).with_name("writer_child.py")


def test_sigkill_mid_run_loses_no_acknowledged_event(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    engine = build_engine(url)
    with Session(engine) as session, session.begin():
        user = User(username="viewer", password_hash="-")
        session.add(user)
        session.flush()
        user_id = user.id
    child = subprocess.Popen(
        [sys.executable, str(CHILD), url, str(user_id)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert child.stdout is not None
    acknowledged: list[tuple[str, str]] = []
    deadline = time.monotonic() + 120
    while len(acknowledged) < 2000 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        kind, key = line.split()
        acknowledged.append((kind, key))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    acknowledged += [tuple(line.split()) for line in child.stdout.read().splitlines() if line.strip()]  # type: ignore[misc]
    assert len(acknowledged) >= 2000, "the writer did not get going"

    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    rows = stored(engine)
    engine.dispose()
    for kind, key in acknowledged:
        assert key in rows, f"acknowledged {kind} of {key} is not stored"
        row = rows[key]
        if kind == "end":
            assert row.ended_at is not None and row.bytes_sent == 3
        elif kind == "progress":
            assert row.bytes_sent >= 1
