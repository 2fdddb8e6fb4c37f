"""A process that writes a ``.strm`` tree, for the tests that kill it or starve it (FAULTS rows 18 and 19).

    python strm_child.py ROOT COUNT VERSION [--kill-at-rename N] [--max-file-bytes N] [--big-item I]

Prints the progress counts as they come (one per line, flushed) and ``done`` at the end.
``--kill-at-rename N`` sends itself SIGKILL just before the N-th ``os.replace`` onto a ``.strm`` file: a kill -9 at a
known moment. ``--max-file-bytes`` sets RLIMIT_FSIZE so that writing past it fails with EFBIG, the way a full disk
fails with ENOSPC; the ``OutputWriteError`` message is printed and the exit status is 3.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from m3u_strm.errors import OutputWriteError
from m3u_strm.outputs.paths import episode_relpath, movie_relpath
from m3u_strm.outputs.strm_files import StrmFile, write_tree

SECRET = "pw-s3cret-child"


def url_for(index: int, version: int, *, big: bool = False) -> str:
    padding = f"&pad={'x' * 200_000}" if big else ""  # past the --max-file-bytes of the tests, not the manifest
    return f"http://gateway.test/play/tok/{index}?v={version}&password={SECRET}{padding}"


def relpath_for(index: int) -> PurePosixPath:
    if index % 3 == 2:
        return episode_relpath(f"Show {index // 60}", 2010, 1 + index % 4, index % 50, f"Part {index}")
    return movie_relpath(f"Film {index}: The Return", 1950 + index % 70)


def tree_items(count: int, version: int, *, big_item: int | None = None) -> list[StrmFile]:
    return [StrmFile(relpath_for(i), url_for(i, version, big=i == big_item)) for i in range(count)]


def _kill_at_rename(n: int) -> None:
    real_replace: Callable[..., Any] = os.replace
    calls = 0

    def replace(source: Any, target: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += str(target).endswith(".strm")  # the manifest is replaced too; count the tree's files only
        if calls >= n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(source, target, **kwargs)

    os.replace = replace


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("version", type=int)
    parser.add_argument("--kill-at-rename", type=int)
    parser.add_argument("--max-file-bytes", type=int)
    parser.add_argument("--big-item", type=int)
    args = parser.parse_args()
    if args.kill_at_rename:
        _kill_at_rename(args.kill_at_rename)
    if args.max_file_bytes:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.max_file_bytes, args.max_file_bytes))
    items = tree_items(args.count, args.version, big_item=args.big_item)
    try:
        write_tree(args.root, items, scope="vod", progress=lambda n: print(n, flush=True))
    except OutputWriteError as exc:
        print(f"OutputWriteError: {exc}", flush=True)
        return 3
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
