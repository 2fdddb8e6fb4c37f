"""Write a ``.strm`` tree atomically and incrementally (FAULTS rows 17, 18 and 19).

A ``.strm`` file is one line holding a URL; Jellyfin, Emby and Plex read a tree of them as a library. Rules that
:func:`write_tree` implements:

* **Atomic.** Each file is written to a hidden temp file in its own directory (``.m3u-strm-<random>.tmp``), made
  durable, then renamed over the target with ``os.replace``. After a ``kill -9`` at any moment every ``.strm`` file
  is either the old or the new one, never truncated or empty.
* **Durable in batches.** Calling ``fsync`` on each file costs ~0.3 ms on this kind of disk (a journal commit each),
  ~15 s for 50,000 files. Instead the temp files of a batch (500) are written, then one ``syncfs(2)`` flushes the
  file system holding the root, then the batch is renamed; a final ``syncfs`` makes the renames, new directories
  and removals durable, in place of one ``fsync`` per directory. Trade-off: ``syncfs`` also flushes other programs'
  dirty data on that file system, so a busy disk makes each batch slower (never less safe). Where ``syncfs`` is
  missing (not glibc/Linux) ``os.sync()`` is used. ``syncfs`` also reports write-back errors (ENOSPC after delayed
  allocation, EIO) before anything is renamed.
* **Incremental.** An existing file whose bytes already equal the new content is left alone (its mtime does not
  change). The check reads the file (no trust in size or mtime), so a file edited by hand is rewritten.
* **Collisions.** Two items with the same path, compared case-folded (SMB and macOS volumes are case-insensitive):
  the first keeps the name, later ones get " (2)", " (3)" before ``.strm``, in input order.
* **Manifest** (:mod:`~m3u_strm.outputs.strm_manifest`): per scope ("movies", "series", "live", ...), the paths
  this product wrote. Before the first temp file of a run, the scope's entry becomes old + planned paths with
  ``in_progress: true``, so files from a killed run stay owned and its temp files are swept by the next run of
  that scope. At the end it lists what is on disk: produced (written or unchanged) paths plus, after a failure,
  the old paths not yet removed.
* **Clean.** With ``clean=True``, after every write succeeded, files the scope's manifest lists but this run did
  not produce are removed, then their directories if that left them empty (up to, never including, the root).
  Never a path missing from the manifest (a user's own files survive, ``.strm`` or not), never a path another
  scope also lists, never a symlink or a non-file. A user's file at exactly a path this run produces is taken
  over. A corrupt manifest is set aside and treated as empty, with a warning: nothing is deleted on a guess.
* **Safety.** Every path goes through :class:`~m3u_strm.outputs.paths.RootGuard` (``resolve_under`` that remembers
  the directories it checked: no ``..``, nothing outside the root, no symlink below it); files are opened with
  ``O_NOFOLLOW``. A path that fails those checks, or that the
  file system refuses for that path alone (a file where a directory should be, a name too long), is recorded in
  ``TreeReport.errors`` and the run goes on.
* **Disk failures** (ENOSPC, EROFS, EACCES, EDQUOT, EFBIG, EIO ...) stop the run with ``OutputWriteError``
  naming the root and the cause; the batch's temp files are removed, files already in place stay intact (a batch
  is only renamed after all of it was written and flushed) and the manifest is still rewritten to match the disk.
* **One writer per root** at a time: runs wait for an exclusive ``flock`` on the root's lock file.

Use::

    files = [StrmFile(movie_relpath("Heat", 1995), "http://gateway/play/TOKEN/movie/7")]
    report = write_tree(Path("/srv/strm"), files, scope="movies")   # report.created == 1; a rerun: unchanged == 1
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from m3u_strm.errors import OutputWriteError, UnsafePathError
from m3u_strm.outputs.paths import MAX_COMPONENT_BYTES, MIN_COMPONENT_BYTES, STRM_SUFFIX, RootGuard, safe_component
from m3u_strm.outputs.strm_manifest import Manifest, load_manifest, locked, save_manifest
from m3u_strm.privacy.redaction import redact

TEMP_PREFIX = ".m3u-strm-"
TEMP_SUFFIX = ".tmp"
BATCH_FILES = 500
PROGRESS_EVERY = 500

# Refusals that concern one path only; any other OSError means the disk or the root said no, and stops the run.
_PER_FILE_ERRNOS = frozenset(
    {errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL, errno.EILSEQ}
)
_TRAILING_TAGS = re.compile(r"(?:\s\([^()]{1,20}\))+$")
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class StrmFile:
    """One file of the tree: where it goes (made by the ``paths`` builders) and the URL it holds."""

    relpath: PurePosixPath
    content: str


@dataclass
class TreeReport:
    """What one :func:`write_tree` run did. ``errors`` and ``warnings`` are redacted and never hold a URL."""

    root: Path
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    renamed_collisions: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Job:
    relpath: PurePosixPath
    target: Path
    data: bytes
    existing: bytes | None  # the first len(data) + 1 bytes on disk, None when there is no file


@dataclass
class _Run:
    """What the phases of one run completed, for the manifest that is written even when a phase fails."""

    unchanged: list[str] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)  # asked for, but refused for that path alone
    done: list[str] = field(default_factory=list)
    dealt_with: set[str] = field(default_factory=set)  # orphans removed or given up on
    temps_left: bool = False

    def owned(self, old: set[str]) -> set[str]:
        return set(self.unchanged) | set(self.done) | (old - self.dealt_with)


class _Ticker:
    """Calls ``progress`` every ``PROGRESS_EVERY`` files and once at the end."""

    def __init__(self, progress: Callable[[int], None] | None) -> None:
        self.progress, self.count, self.reported = progress, 0, 0

    def advance(self) -> None:
        self.count += 1
        if self.progress is not None and self.count - self.reported >= PROGRESS_EVERY:
            self.reported = self.count
            self.progress(self.count)

    def finish(self) -> None:
        if self.progress is not None and (self.reported != self.count or self.count == 0):
            self.progress(self.count)


def write_tree(
    root: Path,
    files: Iterable[StrmFile],
    *,
    scope: str,
    clean: bool = True,
    progress: Callable[[int], None] | None = None,
) -> TreeReport:
    """Make the ``scope`` part of the tree under ``root`` hold exactly ``files``; the rules are in the module docs.

    ``progress(n)`` gets the number of files handled so far, every ~500 files and once at the end.
    Raises :class:`OutputWriteError` when the disk refuses (full, read-only, no permission).
    """
    if not scope.strip():
        raise ValueError("scope must name the part of the tree being written, e.g. 'movies'")
    try:
        root.mkdir(parents=True, exist_ok=True)
        guard = RootGuard(root)
        report, ticker = TreeReport(root=guard.root), _Ticker(progress)
        with _directory_fd(guard.root) as root_fd, locked(guard.root):
            _write_locked(guard, root_fd, files, scope=scope, clean=clean, report=report, ticker=ticker)
    except OSError as exc:
        raise _write_error(root, exc) from exc
    ticker.finish()
    return report


def _write_locked(
    guard: RootGuard, root_fd: int, files: Iterable[StrmFile], *, scope: str, clean: bool, report: TreeReport,
    ticker: _Ticker,
) -> None:  # fmt: skip
    """The run itself, under the root's lock; the manifest is rewritten to match the disk however it ends."""
    manifest, warning = load_manifest(guard.root)
    report.warnings.extend([warning] if warning else [])
    old, run, completed = manifest.files(scope), _Run(), False
    try:
        # The root always (a manifest temp file of a run killed mid-save); the scope's directories after a kill.
        _sweep_temp_files(guard, old if scope in manifest.in_progress else set(), report)
        jobs = _plan(guard, files, run, report, ticker)
        if jobs:
            planned = old | {str(job.relpath) for job in jobs}
            save_manifest(guard.root, manifest.with_scope(scope, planned, in_progress=True))
        _write_jobs(guard, root_fd, jobs, run, report, ticker)
        if clean:
            wanted = set(run.unchanged) | run.failed | {str(job.relpath) for job in jobs}
            _remove_orphans(guard, old - wanted, manifest.others(scope), run, report)
        if jobs or report.removed:
            _sync_filesystem(root_fd)
        completed = True
    finally:
        final = manifest.with_scope(scope, run.owned(old), in_progress=run.temps_left)
        _save_final_manifest(guard.root, final, quiet=not completed)


# --- plan: names, checks, comparison -------------------------------------------------------------------------------


def _plan(guard: RootGuard, files: Iterable[StrmFile], run: _Run, report: TreeReport, ticker: _Ticker) -> list[_Job]:
    """Name every item (collisions), check its path and compare with the disk; returns the files to write."""
    names = _NameBook()
    jobs: list[_Job] = []
    for item in files:
        relpath = names.claim(item.relpath, report)
        job = _inspect(guard, relpath, item.content, report)
        if job is not None and job.existing != job.data:
            jobs.append(job)
            continue
        if job is None:
            run.failed.add(str(relpath))
        else:
            report.unchanged += 1
            run.unchanged.append(str(relpath))
        ticker.advance()
    return jobs


class _NameBook:
    """Hands out relpaths in input order; a case-folded duplicate gets the next free " (n)" suffix."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._next: dict[str, int] = {}

    def claim(self, relpath: PurePosixPath, report: TreeReport) -> PurePosixPath:
        key = str(relpath).casefold()
        if key not in self._taken or not relpath.name:  # no name: not a file path, refused by the guard later
            self._taken.add(key)
            return relpath
        number = self._next.get(key, 2)
        while True:
            candidate = _numbered(relpath, number)
            number += 1
            if (candidate_key := str(candidate).casefold()) not in self._taken:
                self._taken.add(candidate_key)
                self._next[key] = number
                report.renamed_collisions += 1
                return candidate


def _numbered(relpath: PurePosixPath, number: int) -> PurePosixPath:
    """``A (1999).strm`` -> ``A (1999) (2).strm``; when the name is at the length limit the title is cut, not the
    trailing " (1999)" or " (HD)" tags nor the extension."""
    name = relpath.name
    suffix = STRM_SUFFIX if name.endswith(STRM_SUFFIX) and len(name) > len(STRM_SUFFIX) else ""
    stem = name[: len(name) - len(suffix)]
    tags = match.group() if (match := _TRAILING_TAGS.search(stem)) else ""
    tail = f"{tags} ({number}){suffix}"
    room = max(MIN_COMPONENT_BYTES, MAX_COMPONENT_BYTES - len(tail.encode()))
    return relpath.with_name(safe_component(stem[: len(stem) - len(tags)], max_bytes=room) + tail)


def _inspect(guard: RootGuard, relpath: PurePosixPath, content: str, report: TreeReport) -> _Job | None:
    """The job for one file, or None (recorded in ``report.errors``) when this path alone cannot be written."""
    try:
        data = _strm_bytes(content)
        target = guard.resolve(relpath, check_last=False)
        return _Job(relpath, target, data, _read_existing(relpath, target, len(data)))
    except (UnsafePathError, ValueError) as exc:
        report.errors.append(redact(f"{relpath}: {exc}"))
    except OSError as exc:
        if exc.errno not in _PER_FILE_ERRNOS:
            raise
        report.errors.append(redact(f"{relpath}: {exc.strerror}"))
    return None


def _strm_bytes(content: str) -> bytes:
    line = content.strip()
    if not line or any(char in line for char in "\r\n\0"):
        raise ValueError("the URL is empty or not a single line; the file was not written")
    return (line + "\n").encode()


def _read_existing(relpath: PurePosixPath, target: Path, size: int) -> bytes | None:
    """Up to ``size + 1`` bytes of the file at ``target`` (enough to tell equal from different), None if absent."""
    try:
        fd = os.open(target, _READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(
                f"{relpath} is a symlink under {target.parent}; symlinks are never followed."
            ) from exc
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "something that is not a file is in the way", str(target))
        return os.read(fd, size + 1)
    finally:
        os.close(fd)


# --- write: batches of temp files, one flush, renames ----------------------------------------------------------------


def _write_jobs(
    guard: RootGuard, root_fd: int, jobs: list[_Job], run: _Run, report: TreeReport, ticker: _Ticker
) -> None:
    """Write ``jobs`` in batches: all temp files, one file-system flush, then the renames."""
    for start in range(0, len(jobs), BATCH_FILES):
        staged: deque[tuple[_Job, Path]] = deque()
        try:
            for job in jobs[start : start + BATCH_FILES]:
                temp = _stage(guard, job, report)
                if temp is None:
                    run.failed.add(str(job.relpath))
                    ticker.advance()
                else:
                    staged.append((job, temp))
            _sync_filesystem(root_fd)
            while staged:
                _install(*staged[0], run, report)
                staged.popleft()
                ticker.advance()
        finally:
            for _, temp in staged:
                _discard(temp, run)


def _stage(guard: RootGuard, job: _Job, report: TreeReport) -> Path | None:
    """The job's content in a fresh temp file beside its target, or None when this path alone is refused."""
    try:
        guard.ensure_parent(job.relpath)
        return _write_temp(job.target.parent, job.data)
    except UnsafePathError as exc:
        report.errors.append(str(exc))
    except OSError as exc:
        if exc.errno not in _PER_FILE_ERRNOS:
            raise
        report.errors.append(redact(f"{job.relpath}: {exc.strerror}"))
    return None


def _write_temp(directory: Path, data: bytes) -> Path:
    temp = directory / f"{TEMP_PREFIX}{os.urandom(8).hex()}{TEMP_SUFFIX}"
    fd = os.open(temp, _TEMP_FLAGS, 0o666)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def _install(job: _Job, temp: Path, run: _Run, report: TreeReport) -> None:
    try:
        os.replace(temp, job.target)
    except OSError as exc:
        if exc.errno not in _PER_FILE_ERRNOS:
            raise
        _discard(temp, run)
        run.failed.add(str(job.relpath))
        report.errors.append(redact(f"{job.relpath}: {exc.strerror}"))
        return
    if job.existing is None:
        report.created += 1
    else:
        report.updated += 1
    run.done.append(str(job.relpath))


def _discard(temp: Path, run: _Run) -> None:
    try:
        os.unlink(temp)
    except FileNotFoundError:
        pass
    except OSError:
        run.temps_left = True  # the next run of this scope sweeps it


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return function


_SYNCFS = _load_syncfs()


def _sync_filesystem(fd: int) -> None:
    """Flush the file system holding ``fd`` (``syncfs``), raising the write-back error it reports."""
    if _SYNCFS is None:
        os.sync()
        return
    if _SYNCFS(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


# --- clean: orphans, emptied directories, temp files of killed runs ------------------------------------------------


def _remove_orphans(guard: RootGuard, orphans: set[str], others: set[str], run: _Run, report: TreeReport) -> None:
    """Remove the scope's files this run did not produce; a path another scope lists is only disowned."""
    emptied: set[PurePosixPath] = set()
    for name in sorted(orphans):
        if name not in others and _remove_file(guard, PurePosixPath(name), report):
            report.removed += 1
            emptied.add(PurePosixPath(name).parent)
        run.dealt_with.add(name)
    _remove_empty_dirs(guard, emptied)


def _remove_file(guard: RootGuard, relpath: PurePosixPath, report: TreeReport) -> bool:
    try:
        target = guard.resolve(relpath)
        if not stat.S_ISREG(os.lstat(target).st_mode):
            report.errors.append(redact(f"{relpath}: not a regular file any more; left in place"))
            return False
        os.unlink(target)
    except FileNotFoundError:
        return False
    except UnsafePathError as exc:
        report.errors.append(str(exc))
        return False
    except OSError as exc:
        if exc.errno not in _PER_FILE_ERRNOS:
            raise
        report.errors.append(redact(f"{relpath}: {exc.strerror}"))
        return False
    return True


def _remove_empty_dirs(guard: RootGuard, directories: set[PurePosixPath]) -> None:
    """rmdir each directory and its parents while they are empty; the root is never removed."""
    for directory in sorted(directories, key=lambda path: len(path.parts), reverse=True):
        current = directory
        while current.parts:
            try:
                os.rmdir(guard.checked_path(current))
            except (OSError, UnsafePathError):
                break  # not empty (a user's file, a media server's .nfo), already gone, or not a directory
            current = current.parent


def _sweep_temp_files(guard: RootGuard, owned: set[str], report: TreeReport) -> None:
    """Remove this package's temp files from the root and the directories of ``owned`` paths."""
    directories = {str(PurePosixPath(name).parent) for name in owned} | {"."}
    removed = 0
    for directory in sorted(directories):
        with contextlib.suppress(OSError, UnsafePathError):
            path = guard.root if directory == "." else guard.resolve(PurePosixPath(directory))
            with os.scandir(path) as entries:
                for entry in entries:
                    if _is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
                        os.unlink(entry.path)
                        removed += 1
    if removed:
        report.warnings.append(f"Removed {removed} temp file(s) left by an interrupted run.")


def _is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


# --- manifest, root, lock ------------------------------------------------------------------------------------------


def _save_final_manifest(root: Path, manifest: Manifest, *, quiet: bool) -> None:
    """Write the manifest unless it is unchanged. When a failure is already on its way (``quiet``) a failure here
    is dropped: the planned manifest written before the first batch stays, a superset of what is on disk."""
    if manifest.to_json() == manifest.source:
        return
    try:
        save_manifest(root, manifest)
    except OSError as exc:
        if not quiet:
            raise _write_error(root, exc) from exc


def _write_error(root: Path, exc: OSError) -> OutputWriteError:
    cause = exc.strerror or str(exc)
    name = errno.errorcode.get(exc.errno or 0, "")
    where = f" at {exc.filename}" if exc.filename else ""
    return OutputWriteError(
        f"Writing the .strm tree under {root} failed: {cause}{f' ({name})' if name else ''}{where}.",
        hint="Files already in place were kept. Free disk space or make the folder writable, then run again.",
    )


@contextlib.contextmanager
def _directory_fd(directory: Path) -> Iterator[int]:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)
