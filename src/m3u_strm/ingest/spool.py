"""A disk spool of catalogue rows between the fetch phase and the database phase of a sync.

The fetch phase streams a provider's answer through the parser and writes rows here as JSON lines; nothing touches
the database until the whole answer has arrived. Memory stays flat however large the provider's catalogue is.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, get_args

from m3u_strm.ingest.rows import Kind, Row

KINDS: tuple[Kind, ...] = get_args(Kind)


class RowSpool:
    """Append-only JSON-lines files, one per catalogue kind, in a private temporary directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="m3u-strm-sync-", dir=directory)
        self.path = Path(self._tmp.name)
        self._files: dict[Kind, IO[str]] = {}
        self.counts: Counter[str] = Counter()

    def _file(self, kind: Kind) -> IO[str]:
        handle = self._files.get(kind)
        if handle is None:
            handle = (self.path / f"{kind}.jsonl").open("w+", encoding="utf-8")
            self._files[kind] = handle
        return handle

    def add(self, kind: Kind, row: Row) -> None:
        self._file(kind).write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        self.counts[kind] += 1

    def rows(self, kind: Kind) -> Iterator[Row]:
        handle = self._files.get(kind)
        if handle is None:
            return
        handle.flush()
        handle.seek(0)
        for line in handle:
            yield json.loads(line)
        handle.seek(0, 2)

    def batches(self, kind: Kind, size: int = 5000) -> Iterator[list[Row]]:
        batch: list[Row] = []
        for row in self.rows(kind):
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._tmp.cleanup()

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.close()

    def temp_file(self, name: str) -> Path:
        """A path inside the spool's directory for a raw download (a guide, say); removed with the spool."""
        return self.path / name

    def open_binary(self, name: str) -> IO[bytes]:
        return (self.path / name).open("wb")

    def __repr__(self) -> str:
        return f"RowSpool({dict(self.counts)!r})"


def summary(spool: RowSpool) -> dict[str, Any]:
    return {kind: spool.counts.get(kind, 0) for kind in KINDS}
