"""A disk spool of catalogue rows between the fetch phase and the database phase of a sync.

The fetch phase streams a provider's answer through the parser and adds rows here; nothing touches the database
until the whole answer has arrived. Rows are kept as staging tuples (see :func:`rows.staging_values`) and written
to disk in pickled batches, so memory stays flat however large the provider's catalogue is.
"""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any, get_args

from m3u_strm.ingest.rows import Kind, Row, staging_values

KINDS: tuple[Kind, ...] = get_args(Kind)
BATCH_ROWS = 2000

StagedRow = tuple[Any, ...]


class RowSpool:
    """Per catalogue kind: a file of pickled batches of staging tuples, in a private temporary directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="m3u-strm-sync-", dir=directory)
        self.path = Path(self._tmp.name)
        self._files: dict[Kind, IO[bytes]] = {}
        self._pending: dict[Kind, list[StagedRow]] = {}
        self.counts: Counter[str] = Counter()
        self._fingerprint = hashlib.blake2b(digest_size=16)

    def add(self, kind: Kind, row: Row) -> None:
        pending = self._pending.setdefault(kind, [])
        pending.append(staging_values(kind, row))
        self.counts[kind] += 1
        if len(pending) >= BATCH_ROWS:
            self._flush(kind)

    def _flush(self, kind: Kind) -> None:
        pending = self._pending.get(kind)
        if not pending:
            return
        handle = self._files.get(kind)
        if handle is None:
            handle = self._files[kind] = (self.path / f"{kind}.pickle").open("w+b")
        data = pickle.dumps(pending, protocol=pickle.HIGHEST_PROTOCOL)
        self._fingerprint.update(kind.encode() + len(data).to_bytes(8, "big"))
        self._fingerprint.update(data)
        handle.seek(0, 2)
        handle.write(data)
        self._pending[kind] = []

    def batches(self, kind: Kind) -> Iterator[list[StagedRow]]:
        """Every batch of ``kind`` in the order added (the spool stays readable again afterwards)."""
        self._flush(kind)
        handle = self._files.get(kind)
        if handle is None:
            return
        handle.flush()
        handle.seek(0)
        while True:
            try:
                batch: list[StagedRow] = pickle.load(handle)  # noqa: S301 - our own file, written above
            except EOFError:
                return
            yield batch

    def fingerprint(self) -> str:
        """A digest of every row added so far: equal spools hold equal snapshots."""
        for kind in KINDS:
            self._flush(kind)
        return self._fingerprint.hexdigest()

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def temp_file(self, name: str) -> Path:
        """A path inside the spool's directory for a raw download (a guide, say); removed with the spool."""
        return self.path / name

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._tmp.cleanup()

    def __enter__(self) -> RowSpool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
