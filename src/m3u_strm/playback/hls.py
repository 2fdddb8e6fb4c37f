"""HLS through the gateway: playlists rewritten so every URI comes back here, as a sealed, short-lived link.

* :func:`rewrite_playlist` replaces each URI of a playlist — variant and media playlists, segments, keys, init
  sections (``EXT-X-MAP``), alternative renditions (``EXT-X-MEDIA``) — with a gateway link. Relative URIs are
  resolved against the playlist's own (final, after redirects) URL first. Everything else is kept as it was.
* :class:`LinkSealer` makes those links: the upstream URL and what the gateway needs to fetch it (user, content,
  stream, provider, headers, segment duration) are encrypted and authenticated with AES-GCM under a key derived
  from the server's secret key, with an expiry. A viewer sees an opaque token, never the provider URL or its
  credentials; a token that was altered, made with another key or expired is refused. The playback token stays in
  the link's path, so rotating it cuts a running HLS play at its next request.
* Each link ends with the extension players expect (``.m3u8`` for playlists, the segment's own or ``.ts``), since
  some players (FFmpeg's HLS demuxer among them) check it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from m3u_strm.errors import NotFoundError

__all__ = ["HlsLink", "LinkKind", "LinkSealer", "rewrite_playlist"]

LinkKind = Literal["playlist", "segment", "key"]
_URI_ATTRIBUTE = re.compile(r'URI="([^"]*)"')
_PLAYLIST_TAGS = ("#EXT-X-MEDIA:", "#EXT-X-I-FRAME-STREAM-INF:")
_KEY_TAGS = ("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:")
_SEGMENT_TAGS = ("#EXT-X-MAP:", "#EXT-X-PART:", "#EXT-X-PRELOAD-HINT:")
_EXTENSIONS = frozenset({".ts", ".aac", ".ac3", ".mp4", ".m4s", ".m4a", ".m4v", ".mp3", ".vtt", ".webvtt", ".cmfv"})


@dataclass(frozen=True, slots=True)
class HlsLink:
    """What one gateway link stands for. ``url`` is a secret."""

    url: str
    kind: LinkKind
    user_id: int
    play_kind: str
    content_id: int
    provider_id: int
    stream_id: int | None
    max_connections: int | None
    user_agent: str | None = None
    referrer: str | None = None
    duration_s: float = 0.0
    title: str = ""
    url_hash: str = ""


class LinkSealer:
    """Seals :class:`HlsLink` values into URL-safe tokens and opens them again; see the module rules."""

    def __init__(self, secret: str, lifetime_seconds: int) -> None:
        key = hashlib.sha256(f"m3u-strm hls links:{secret}".encode()).digest()
        self._aead, self._lifetime = AESGCM(key), lifetime_seconds

    def seal(self, link: HlsLink, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self._lifetime)
        body = json.dumps([expires, asdict(link)], separators=(",", ":")).encode()
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, body, None)
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode() + _extension(link)

    def open(self, token: str, *, now: float | None = None) -> HlsLink:
        stem = token.rsplit(".", 1)[0] if "." in token[-8:] else token
        try:
            raw = base64.urlsafe_b64decode(stem + "=" * (-len(stem) % 4))
            body = self._aead.decrypt(raw[:12], raw[12:], None)
            expires, fields = json.loads(body)
            link = HlsLink(**fields)
        except (ValueError, TypeError, InvalidTag) as exc:
            raise NotFoundError("This playback link is not valid.", hint="Reload the playlist.") from exc
        if expires < (time.time() if now is None else now):
            raise NotFoundError("This playback link has expired.", hint="Reload the playlist.")
        return link


def _extension(link: HlsLink) -> str:
    if link.kind == "playlist":
        return ".m3u8"
    if link.kind == "key":
        return ".key"
    path = urlsplit(link.url).path.lower()
    dot = path.rfind(".")
    extension = path[dot:] if dot > path.rfind("/") else ""
    return extension if extension in _EXTENSIONS else ".ts"


def rewrite_playlist(text: str, base_url: str, link_for: Callable[[str, LinkKind, float], str]) -> str:
    """``text`` with every URI replaced by ``link_for(absolute url, kind, segment duration)``."""
    lines = text.splitlines()
    is_master = any(line.startswith("#EXT-X-STREAM-INF") for line in lines)
    out: list[str] = []
    duration, next_is_playlist = 0.0, False
    for raw in lines:
        line = raw.strip()
        if not line:
            out.append(raw)
            continue
        if line.startswith("#"):
            if line.startswith("#EXTINF:"):
                duration = _extinf_duration(line)
            elif line.startswith("#EXT-X-STREAM-INF"):
                next_is_playlist = True
            out.append(_rewrite_attributes(line, base_url, link_for))
            continue
        kind: LinkKind = "playlist" if next_is_playlist or is_master else "segment"
        out.append(link_for(urljoin(base_url, line), kind, duration if kind == "segment" else 0.0))
        duration, next_is_playlist = 0.0, False
    return "\n".join(out) + "\n"


def _rewrite_attributes(line: str, base_url: str, link_for: Callable[[str, LinkKind, float], str]) -> str:
    kind: LinkKind
    if line.startswith(_PLAYLIST_TAGS):
        kind = "playlist"
    elif line.startswith(_KEY_TAGS):
        kind = "key"
    elif line.startswith(_SEGMENT_TAGS):
        kind = "segment"
    else:
        return line

    def replace(match: re.Match[str]) -> str:
        uri = match.group(1)
        if kind == "key" and not uri.lower().startswith(("http://", "https://", "/")) and ":" in uri.split("/")[0]:
            return match.group(0)  # skd:// and data: keys are for the player's DRM, not a fetch
        return f'URI="{link_for(urljoin(base_url, uri), kind, 0.0)}"'

    return _URI_ATTRIBUTE.sub(replace, line)


def _extinf_duration(line: str) -> float:
    value = line[len("#EXTINF:") :].split(",", 1)[0].strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 0.0
