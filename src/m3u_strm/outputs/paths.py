"""Names from IPTV providers turned into paths that are safe in a ``.strm`` tree (FAULTS rows 17 and 18).

Provider titles are hostile: ``../../etc/passwd``, ``CON``, ``a:b``, NUL bytes, 300-byte names. The tree is read by
Jellyfin, Emby and Plex, often over an SMB share from Windows, so every component must be valid on Linux, macOS and
Windows at once. Rules of :func:`safe_component`, in order:

1. NFC normalisation (macOS and Linux would otherwise see two spellings of "é" as two names).
2. Control characters go: tab, CR, LF, VT and FF become a space, every other C0/C1 control (NUL included), lone
   surrogates, zero-width space, BOM and the bidi marks/overrides/isolates (RTL spoofing: ``\u202e``) are removed.
   Arabic, Hebrew and emoji text stays as it is.
3. Reserved characters: ``": "`` becomes ``" - "`` (``"2001: A Space Odyssey"`` -> ``"2001 - A Space Odyssey"``),
   any other ``: / \\ |`` becomes ``"-"``; ``* ? " < >`` become a space. Runs of white space collapse to one space.
4. Leading and trailing spaces and dots are stripped: Windows drops trailing ones, and a leading dot would hide the
   item from the media server and clash with this package's own hidden files (temp files, manifest). ``"."``,
   ``".."`` and names with nothing left become ``fallback``.
5. Truncation to ``max_bytes`` of UTF-8 (default 240: ext4 allows 255, and the " (2)" collision suffix needs room)
   without splitting a character. A short extension (a dot and 1-10 ASCII letters or digits, e.g. ``.strm``) is kept
   and the stem is cut instead.
6. Windows reserved device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, their superscript forms, CONIN$, CONOUT$),
   compared case-insensitively on the part before the first dot, get ``"_"`` after that part:
   ``"aux.txt"`` -> ``"aux_.txt"``, ``"CON"`` -> ``"CON_"``.

The result is never empty and ``safe_component(safe_component(x)) == safe_component(x)``.

The builders (:func:`movie_relpath`, :func:`episode_relpath`, :func:`live_relpath`) give the layout the three media
servers all recognise; each free-text part is cleaned and cut on its own so that a long title never cuts off the
year or the ``.strm`` extension. The total path length is not limited, only each component.

:func:`resolve_under` is the one door from a relative path to the disk: it refuses absolute paths, ``..``, and any
existing symlink below the root. The root itself may be a symlink (a user pointing the output at a NAS mount):
it is resolved once and everything is checked below the real root.

>>> safe_component("../../etc/passwd")
'-..-etc-passwd'
>>> str(movie_relpath("The Matrix", 1999))
'Movies/The Matrix (1999)/The Matrix (1999).strm'
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from pathlib import Path, PurePosixPath

from m3u_strm.errors import UnsafePathError

MAX_COMPONENT_BYTES = 240
MIN_COMPONENT_BYTES = 16
STRM_SUFFIX = ".strm"
MOVIES_DIR = "Movies"
SERIES_DIR = "TV Shows"
LIVE_DIR = "Live"
NO_CATEGORY = "Uncategorised"

_SPACE_CONTROLS = re.compile(r"[\t\n\r\x0b\x0c]")
_DROPPED = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_COLON_SPACE = re.compile(r"\s*:\s+")
_SEPARATORS = re.compile(r"[:/\\|]")
_BLANKED = re.compile(r'[*?"<>]')
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}$")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [
        f"{device}{n}"
        for device in ("COM", "LPT")
        for n in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³")
    ]
)

_DASHES = r"\-\u2013\u2014"  # hyphen, en dash, em dash, escaped for a regex character class
_YEAR_AT_END = re.compile(
    rf"^(?P<title>.*?)[\s{_DASHES}:,.]*(?:\((?P<p>\d{{4}})\)|\[(?P<b>\d{{4}})\]|\s[{_DASHES}]\s*(?P<d>\d{{4}}))\s*$"
)
_FIRST_YEAR, _LAST_YEAR = 1888, 2100
_EPISODE_CODE = re.compile(r"(?i)^s\d{1,4}\s*e\d{1,4}(?![0-9])")
_TITLE_SEPARATORS = " -\u2013\u2014:._|"


def safe_component(name: str, *, fallback: str = "_", max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One path component that is safe on Linux, macOS and Windows; the rules are in the module docstring.

    >>> safe_component("aux.txt"), safe_component("Film: Part 2?"), safe_component("..")
    ('aux_.txt', 'Film - Part 2', '_')
    """
    if max_bytes < MIN_COMPONENT_BYTES:
        raise ValueError(f"max_bytes must be at least {MIN_COMPONENT_BYTES}, got {max_bytes}")
    cleaned = _clean(name) or _clean(fallback) or "_"
    return _truncate(_unreserve(_truncate(cleaned, max_bytes)), max_bytes)


def _clean(name: str) -> str:
    text = unicodedata.normalize("NFC", _DROPPED.sub("", _SPACE_CONTROLS.sub(" ", name)))
    text = _BLANKED.sub(" ", _SEPARATORS.sub("-", _COLON_SPACE.sub(" - ", text)))
    return " ".join(text.split()).strip(" .")


def _truncate(name: str, max_bytes: int) -> str:
    """Cut to ``max_bytes`` of UTF-8 at a character boundary, keeping a short extension."""
    if len(name.encode()) <= max_bytes:
        return name
    match = _EXTENSION.search(name)
    stem, extension = (name[: match.start()], match.group()) if match and match.start() > 0 else (name, "")
    room = max_bytes - len(extension)
    stem = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
    return (stem or "_") + extension


def _unreserve(name: str) -> str:
    stem, dot, rest = name.partition(".")
    if stem.rstrip(" ").upper() in _RESERVED:
        return f"{stem}_{dot}{rest}"
    return name


def split_title_year(title: str) -> tuple[str, int | None]:
    """Split a trailing year written as ``(1999)``, ``[1999]`` or `` - 1999`` off a title.

    A bare trailing number is left alone: it is part of the title in "Blade Runner 2049", "Wonder Woman 1984" and
    "Space: 1999". Language prefixes ("EN - ") are not touched. Years outside 1888-2100 are not years.

    >>> split_title_year("The Matrix (1999)"), split_title_year("1917 (2019)")
    (('The Matrix', 1999), ('1917', 2019))
    >>> split_title_year("2001: A Space Odyssey")
    ('2001: A Space Odyssey', None)
    """
    stripped = title.strip()
    match = _YEAR_AT_END.match(stripped)
    if not match or not match.group("title").strip():
        return stripped, None
    year = int(match.group("p") or match.group("b") or match.group("d"))
    if not _FIRST_YEAR <= year <= _LAST_YEAR:
        return stripped, None
    return match.group("title").strip(), year


def _named(base: str, tail: str = "", *, fallback: str) -> str:
    """``base`` cleaned and cut so that ``tail`` (" (1999).strm") always fits whole, then the whole checked again."""
    room = max(MIN_COMPONENT_BYTES, MAX_COMPONENT_BYTES - len(tail.encode()))
    return safe_component(safe_component(base, fallback=fallback, max_bytes=room) + tail, fallback=fallback)


def _titled(title: str, year: int | None) -> tuple[str, int | None]:
    """A title with any year it carries split off; an explicit ``year`` wins over the one in the title."""
    bare, found = split_title_year(title)
    return bare, year if year is not None else found


def _year_tail(year: int | None) -> str:
    return f" ({year})" if year is not None else ""


def _genre_parts(genre: str | None) -> tuple[str, ...]:
    return (safe_component(genre),) if genre and _clean(genre) else ()


def movie_relpath(title: str, year: int | None, *, genre: str | None = None) -> PurePosixPath:
    """``Movies/[<Genre>/]<Title> (<Year>)/<Title> (<Year>).strm``; no `` (<Year>)`` when the year is unknown.

    A year already in ``title`` ("Heat (1995)") is not repeated.
    """
    bare, year = _titled(title, year)
    folder = _named(bare, _year_tail(year), fallback="Untitled")
    file = _named(bare, _year_tail(year) + STRM_SUFFIX, fallback="Untitled")
    return PurePosixPath(MOVIES_DIR, *_genre_parts(genre), folder, file)


def episode_relpath(
    series: str, year: int | None, season: int, episode: int, title: str | None, *, genre: str | None = None
) -> PurePosixPath:
    """``TV Shows/[<Genre>/]<Series> (<Year>)/Season <NN>/<Series> S<NN>E<NN> - <Episode title>.strm``.

    Numbers are zero-padded to two digits (wider past 99; negatives count as 0). The `` - <title>`` part is left out
    when the title is empty or only repeats the series name and the episode code, as Xtream titles often do
    ("Lost - S01E02").

    >>> str(episode_relpath("Lost", 2004, 1, 2, "Lost - S01E02 - Pilot (2)"))
    'TV Shows/Lost (2004)/Season 01/Lost S01E02 - Pilot (2).strm'
    """
    bare, year = _titled(series, year)
    season, episode = max(0, season), max(0, episode)
    code = f"S{season:02d}E{episode:02d}"
    show = _named(bare, _year_tail(year), fallback="Untitled Series")
    series_name = safe_component(bare, fallback="Untitled Series", max_bytes=MAX_COMPONENT_BYTES // 2)
    episode_title = _episode_title(bare, title)
    tail = f" - {episode_title}" if episode_title else ""
    file = _named(f"{series_name} {code}{tail}", STRM_SUFFIX, fallback=code)
    return PurePosixPath(SERIES_DIR, *_genre_parts(genre), show, f"Season {season:02d}", file)


def _episode_title(series: str, title: str | None) -> str:
    """The episode title without a leading series name and SxxEyy code; "" when nothing else is left."""
    text = (title or "").strip()
    if series.strip():
        text = re.sub(rf"(?i)^{re.escape(series.strip())}(?=\W|$)", "", text)
    text = _EPISODE_CODE.sub("", text.lstrip(_TITLE_SEPARATORS))
    return _clean(text.lstrip(_TITLE_SEPARATORS))


def live_relpath(category: str | None, channel: str, *, suffix: str | None = None) -> PurePosixPath:
    """``Live/<Category>/<Channel>[ (<suffix>)].strm``; a missing or blank category is "Uncategorised".

    >>> str(live_relpath("UK | News", "BBC News", suffix="HD"))
    'Live/UK - News/BBC News (HD).strm'
    """
    folder = safe_component(category or "", fallback=NO_CATEGORY)
    tag = f" ({safe_component(suffix, max_bytes=MIN_COMPONENT_BYTES * 2)})" if suffix and _clean(suffix) else ""
    return PurePosixPath(LIVE_DIR, folder, _named(channel, tag + STRM_SUFFIX, fallback="Unnamed Channel"))


def resolve_under(root: Path, relpath: PurePosixPath) -> Path:
    """The absolute path of ``relpath`` under ``root``; :class:`UnsafePathError` if it could lead anywhere else.

    Refused: an absolute ``relpath``, a ``..`` part, a part holding a backslash or NUL, a result outside the root
    (``os.path.commonpath`` on the normalised path) and any existing component below the root that is a symlink
    (each one is ``lstat``-ed). Components that do not exist yet are fine. The root itself may be a symlink.
    An existing component that is a plain file raises :class:`NotADirectoryError`: the path is not unsafe, it just
    cannot be written.
    """
    return RootGuard(root).resolve(relpath)


class RootGuard:
    """:func:`resolve_under` for many paths under one root: each directory is ``lstat``-ed once per guard.

    Checks and later use are separate system calls, so a process that can write inside the root could swap a
    directory for a symlink in between; anyone with that access can write the files directly anyway. Writers
    additionally open files with ``O_NOFOLLOW``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._real_dirs: set[str] = {str(self.root)}

    def resolve(self, relpath: PurePosixPath, *, check_last: bool = True) -> Path:
        """:func:`resolve_under` with the memory of this guard; ``check_last=False`` leaves the last component to
        the caller (a writer that opens it with ``O_NOFOLLOW`` anyway)."""
        target = self.checked_path(relpath)
        self._refuse_symlinks(relpath, target, check_last=check_last)
        return target

    def checked_path(self, relpath: PurePosixPath) -> Path:
        """The absolute path after the pure checks (shape, ``..``, commonpath); no file system access."""
        parts = relpath.parts
        if relpath.is_absolute() or not parts or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
            raise UnsafePathError(f"The output path {str(relpath)!r} is not a plain relative path under {self.root}.")
        root = str(self.root)
        target = os.path.normpath(os.path.join(root, *parts))
        if target == root or os.path.commonpath([root, target]) != root:
            raise UnsafePathError(f"The output path {str(relpath)!r} would leave the output root {self.root}.")
        return Path(target)

    def ensure_parent(self, relpath: PurePosixPath) -> list[Path]:
        """Create the missing directories of ``relpath`` without following symlinks; returns the ones created."""
        created: list[Path] = []
        current = self.root
        for part in relpath.parts[:-1]:
            current = current / part
            if str(current) in self._real_dirs:
                continue
            try:
                os.mkdir(current)
                created.append(current)
            except FileExistsError:
                self._require_real_dir(relpath, current)
            self._real_dirs.add(str(current))
        return created

    def _refuse_symlinks(self, relpath: PurePosixPath, target: Path, *, check_last: bool) -> None:
        current = self.root
        for part in relpath.parts[:-1]:
            current = current / part
            if str(current) in self._real_dirs:
                continue
            try:
                self._require_real_dir(relpath, current)
            except FileNotFoundError:
                return  # nothing deeper exists either
            self._real_dirs.add(str(current))
        if check_last:
            try:
                mode = os.lstat(target).st_mode
            except FileNotFoundError:
                return
            if stat.S_ISLNK(mode):
                raise UnsafePathError(f"The output path {str(relpath)!r} under {self.root} is a symlink.")

    def _require_real_dir(self, relpath: PurePosixPath, directory: Path) -> None:
        mode = os.lstat(directory).st_mode
        if stat.S_ISLNK(mode):
            raise UnsafePathError(
                f"The output path {str(relpath)!r} passes through a symlink ({directory}) under {self.root}.",
                hint="Symlinks inside the output root are never followed; remove the link or choose another root.",
            )
        if not stat.S_ISDIR(mode):
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(directory))
