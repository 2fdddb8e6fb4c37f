"""Just enough of an HLS playlist for a health check: is it a master or a media playlist, and which URI comes next.

Rules (RFC 8216, read leniently as providers write it):

* a **master** playlist has ``#EXT-X-STREAM-INF`` tags; the URI on the first non-comment line after the first
  such tag is the first variant (the checker follows it, not the best one: any variant proves the stream is up);
* a **media** playlist has ``#EXTINF`` tags; the URI after the first one is the first media segment;
* ``#EXT-X-KEY`` with a ``METHOD`` other than ``NONE`` before that segment marks it encrypted (its bytes cannot be
  sniffed; the checker then only asks for a non-text body);
* relative URIs resolve against the playlist's own URL (after redirects).

>>> parse_playlist("#EXTM3U\\n#EXT-X-STREAM-INF:BANDWIDTH=1\\nlow/index.m3u8\\n", "http://h/live/master.m3u8")
HlsPlaylist(kind='master', next_uri='http://h/live/low/index.m3u8', encrypted=False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

PlaylistKind = Literal["master", "media", "empty"]


@dataclass(frozen=True, slots=True)
class HlsPlaylist:
    """What a check needs from a playlist: its kind and the absolute URI to fetch next (``None`` when empty)."""

    kind: PlaylistKind
    next_uri: str | None
    encrypted: bool = False


def parse_playlist(text: str, base_url: str) -> HlsPlaylist:
    """Find the first variant (master) or first segment (media) of a playlist; see the module rules."""
    pending: PlaylistKind | None = None
    encrypted = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-STREAM-INF"):
            pending = "master"
        elif line.startswith("#EXTINF"):
            pending = pending or "media"
        elif line.startswith("#EXT-X-KEY"):
            encrypted = "METHOD=NONE" not in line.upper()
        elif not line.startswith("#") and pending is not None:
            return HlsPlaylist(pending, urljoin(base_url, line), encrypted and pending == "media")
    return HlsPlaylist("empty", None)
