"""Is this the start of a media stream? Container signatures read from a body's first bytes (pure, no I/O).

The health checker reads only the first few KB of a stream, so the verdict rests on these rules:

* **MPEG-TS**: the sync byte ``0x47`` every 188 bytes. A short garbage prefix (under one packet) is allowed, as
  some servers send a stray byte or an HTTP-ish preamble first. Three packets in a row are required when the body
  is that long, because ``0x47`` is the letter ``G`` and two aligned ``G`` in an HTML page are not rare; a body
  that ends sooner needs two packets at offset 0.
* **Signatures at offset 0**: ISO BMFF / MP4 (a box type ``ftyp``, ``styp``, ``moof``, ``moov`` or ``sidx`` at
  byte 4; fMP4 HLS segments start with ``styp``/``moof``), Matroska/WebM (EBML ``1A 45 DF A3``), FLV (``FLV\\x01``),
  ADTS AAC (``FF F1`` / ``FF F9``, and their CRC forms ``FF F0`` / ``FF F8``), MP3 (``ID3`` tag or an MPEG audio
  frame sync such as ``FF FB``; HLS segments with timed metadata also start with ``ID3``) and MPEG-PS
  (``00 00 01 BA``).
* Anything else (HTML "buy a plan" pages, JSON errors, text) is not media.

>>> sniff_container(bytes([0x47] + [0] * 187) * 3)
'mpegts'
>>> sniff_container(b"<!DOCTYPE html><html>") is None
True
"""

from __future__ import annotations

TS_PACKET = 188
TS_SYNC = 0x47
#: Bytes the checker reads before it judges: three TS packets plus a garbage prefix of up to one packet.
SNIFF_BYTES = 4 * TS_PACKET
_TS_PACKETS_WANTED = 3
_MP4_BOXES = (b"ftyp", b"styp", b"moof", b"moov", b"sidx")
_PREFIXES = (
    (b"\x1a\x45\xdf\xa3", "matroska"),
    (b"FLV\x01", "flv"),
    (b"ID3", "mp3"),
    (b"\x00\x00\x01\xba", "mpeg-ps"),
)


def sniff_container(head: bytes) -> str | None:
    """The container the first bytes of a body belong to (``"mpegts"``, ``"mp4"`` ...), or ``None``."""
    if _is_mpegts(head):
        return "mpegts"
    if len(head) >= 8 and head[4:8] in _MP4_BOXES:
        return "mp4"
    for prefix, name in _PREFIXES:
        if head.startswith(prefix):
            return name
    return _mpeg_audio(head)


def _is_mpegts(head: bytes) -> bool:
    if len(head) < (_TS_PACKETS_WANTED - 1) * TS_PACKET + 1:
        return len(head) > TS_PACKET and head[0] == TS_SYNC and head[TS_PACKET] == TS_SYNC
    last_start = min(TS_PACKET, len(head) - (_TS_PACKETS_WANTED - 1) * TS_PACKET)
    return any(
        all(head[offset + n * TS_PACKET] == TS_SYNC for n in range(_TS_PACKETS_WANTED)) for offset in range(last_start)
    )


def _mpeg_audio(head: bytes) -> str | None:
    """ADTS AAC (layer bits 00) or MPEG audio layer I-III (an 11-bit frame sync, layer bits not 00)."""
    if len(head) < 2 or head[0] != 0xFF:
        return None
    second = head[1]
    if second & 0xF6 == 0xF0:
        return "adts"
    if second & 0xE0 == 0xE0 and (second >> 1) & 0x03 != 0:
        return "mp3"
    return None


def is_hls_playlist(head: bytes) -> bool:
    """An HLS playlist starts with ``#EXTM3U`` and carries ``#EXT-X-`` tags (a plain channel list has none)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"#EXTM3U") and b"#EXT-X-" in text


def describe_body(head: bytes, content_type: str | None) -> str:
    """A short human description of a body that is not media, for the check's detail text (redact it)."""
    if not head:
        return "the body is empty"
    snippet = head[:40].decode("utf-8", errors="replace")
    printable = "".join(ch if ch.isprintable() else " " for ch in snippet).strip()
    kind = content_type or "no Content-Type"
    return f"the body is not media ({kind}, starts {printable!r})"
