"""A process that plays viewers through a SessionWriter until it is killed, for the SIGKILL durability test.

    python writer_child.py DATABASE_URL USER_ID [--viewers N]

Each viewer thread opens a session, sends progress and ends it, over and over; after each event's future resolved
(the event is acknowledged) it prints ``<kind> <key>`` (``start``, ``progress`` or ``end``), one flushed line.
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from datetime import timedelta

from m3u_strm.config import Settings
from m3u_strm.db.engine import build_engine
from m3u_strm.db.types import utcnow
from m3u_strm.playback.sessions import SessionEnd, SessionEvent, SessionProgress, SessionStart, SessionWriter

_print_lock = threading.Lock()


def acknowledged(kind: str, key: str) -> None:
    with _print_lock:
        sys.stdout.write(f"{kind} {key}\n")
        sys.stdout.flush()


def viewer(writer: SessionWriter, user_id: int) -> None:
    while True:
        key = uuid.uuid4().hex
        begin = utcnow() - timedelta(minutes=30)
        events: list[tuple[str, SessionEvent]] = [("start", SessionStart(key, user_id, "channel", 1, begin, "proxy"))]
        events += [("progress", SessionProgress(key, begin + timedelta(minutes=m), bytes_sent=m)) for m in (1, 2)]
        events.append(("end", SessionEnd(key, begin + timedelta(minutes=3), bytes_sent=3)))
        for kind, event in events:
            writer.submit(event).result()
            acknowledged(kind, key)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("user_id", type=int)
    parser.add_argument("--viewers", type=int, default=8)
    args = parser.parse_args()
    engine = build_engine(args.url)
    writer = SessionWriter(engine, Settings(database_url=args.url))
    writer.start()
    threads = [threading.Thread(target=viewer, args=(writer, args.user_id), daemon=True) for _ in range(args.viewers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
