"""The manifest of a ``.strm`` tree: which files this product wrote, per scope, so that it removes only its own.

``<root>/.m3u-strm-manifest.json``::

    {"format": 1, "written_by": "m3u-strm-processor",
     "scopes": {"movies": {"in_progress": false, "files": ["Movies/Heat (1995)/Heat (1995).strm", ...]}, ...}}

Rules:

* Paths are relative POSIX paths as :mod:`m3u_strm.outputs.paths` builds them; they are checked again by the
  writer before anything is removed, so a hand-edited manifest cannot point outside the root.
* ``in_progress`` is true from the moment a run plans to write until it ends; a scope left ``in_progress`` by a
  killed run tells the next run to sweep its temp files.
* The file is replaced atomically (temp file, fsync, rename, fsync of the root directory); its temp file's name
  (``.m3u-strm-manifest.json.<random>.tmp``) is one the writer's temp-file sweep recognises.
* A manifest that cannot be read or parsed is moved aside to ``.m3u-strm-manifest.corrupt.json`` and treated as
  empty, with a warning: nothing is ever deleted on a guess.
* Runs on one root are serialised with an exclusive ``flock`` on ``.m3u-strm-manifest.lock``, so that two scopes
  written at once do not lose each other's entries.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from m3u_strm.privacy.redaction import redact

MANIFEST_NAME = ".m3u-strm-manifest.json"
CORRUPT_MANIFEST_NAME = ".m3u-strm-manifest.corrupt.json"
LOCK_NAME = ".m3u-strm-manifest.lock"
MANIFEST_FORMAT = 1


@dataclass
class Manifest:
    """Owned relpaths per scope; ``source`` is the text it was read from, to skip rewriting an unchanged one."""

    scopes: dict[str, set[str]] = field(default_factory=dict)
    in_progress: set[str] = field(default_factory=set)
    source: bytes = b""

    def files(self, scope: str) -> set[str]:
        return set(self.scopes.get(scope, ()))

    def others(self, scope: str) -> set[str]:
        """Every path some other scope owns: never removed on behalf of ``scope``."""
        return {path for name, paths in self.scopes.items() if name != scope for path in paths}

    def with_scope(self, scope: str, files: set[str], *, in_progress: bool) -> Manifest:
        flags = (self.in_progress | {scope}) if in_progress else (self.in_progress - {scope})
        return Manifest({**self.scopes, scope: files}, flags, self.source)

    def to_json(self) -> bytes:
        scopes = {
            name: {"in_progress": name in self.in_progress, "files": sorted(paths)}
            for name, paths in sorted(self.scopes.items())
        }
        document = {"format": MANIFEST_FORMAT, "written_by": "m3u-strm-processor", "scopes": scopes}
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode()


def load_manifest(root: Path) -> tuple[Manifest, str | None]:
    """The manifest under ``root`` (empty when there is none) and a warning when it could not be used."""
    path = root / MANIFEST_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            source = handle.read()
    except FileNotFoundError:
        return Manifest(), None
    except OSError as exc:
        return _set_aside(root, exc.strerror or str(exc))
    try:
        return parse_manifest(source), None
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        return _set_aside(root, f"{type(exc).__name__}: {exc}")


def parse_manifest(source: bytes) -> Manifest:
    """Parse and validate a manifest; any deviation from the format raises ``ValueError`` (or a sibling)."""
    document = json.loads(source)
    if document.get("format") != MANIFEST_FORMAT or not isinstance(document.get("scopes"), dict):
        raise ValueError("not a manifest of this format")
    manifest = Manifest(source=source)
    for scope, entry in document["scopes"].items():
        files = entry["files"]
        if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
            raise ValueError(f"scope {scope!r} has no list of file names")
        manifest.scopes[scope] = set(files)
        if entry.get("in_progress") is True:
            manifest.in_progress.add(scope)
    return manifest


def _set_aside(root: Path, reason: str) -> tuple[Manifest, str]:
    with contextlib.suppress(OSError):
        os.replace(root / MANIFEST_NAME, root / CORRUPT_MANIFEST_NAME)
    warning = (
        f"The manifest {root / MANIFEST_NAME} could not be read ({reason}); it was kept as {CORRUPT_MANIFEST_NAME}. "
        "Nothing was cleaned up this run; files listed only there are no longer removed automatically."
    )
    return Manifest(), redact(warning)


def save_manifest(root: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: temp file, write, fsync, rename, fsync of the root; ``OSError`` on failure."""
    data = manifest.to_json()
    temp = root / f"{MANIFEST_NAME}.{os.urandom(6).hex()}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, root / MANIFEST_NAME)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    manifest.source = data


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the root's lock file for the ``with`` block (waiting for another run)."""
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
