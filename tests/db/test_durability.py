"""FAULTS row 21: a process killed with SIGKILL mid-write leaves an intact SQLite file with every acknowledged write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from m3u_strm.db.engine import build_engine
from m3u_strm.db.models import AuditLog

WRITER = """
import sys
from sqlalchemy.orm import Session
from m3u_strm.db.engine import build_engine
from m3u_strm.privacy.audit import record_audit
engine = build_engine(sys.argv[1])
n = 0
while True:
    n += 1
    with Session(engine) as session, session.begin():
        record_audit(session, "durability.write", target_id=n, details={"n": n, "pad": "x" * 2000})
    print(n, flush=True)  # acknowledged only after the commit returned
"""


def test_sigkill_during_writes_loses_no_acknowledged_write(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "durable.db"
    path.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{path}"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    acknowledged: list[int] = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line))
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    assert len(acknowledged) >= 200, "the writer did not get going"
    engine = build_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with Session(engine) as session:
        stored = {
            int(t) for t in session.scalars(select(AuditLog.target_id).where(AuditLog.action == "durability.write"))
        }
    engine.dispose()
    assert set(acknowledged) <= stored
