"""Pure parts of the gateway: playlist rewriting, sealed links, the connection ledger, TS packet alignment."""

from __future__ import annotations

import threading

import pytest

from m3u_strm.errors import NotFoundError
from m3u_strm.playback.connections import ConnectionLedger
from m3u_strm.playback.hls import HlsLink, LinkKind, LinkSealer, rewrite_playlist

MASTER = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",URI="audio/en.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1280000,RESOLUTION=1280x720,AUDIO="aac"
720p/index.m3u8?token=s3cret
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,URI="iframes.m3u8"
https://cdn.example/1080p.m3u8
"""

MEDIA = """#EXTM3U
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k1",IV=0x1
#EXT-X-MAP:URI="init.mp4"
#EXTINF:6.006,
seg100.m4s
#EXT-X-DISCONTINUITY
#EXTINF:5.5,title
/abs/seg101.ts?x=1
#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://drm-id"
"""


def collect(text: str, base: str) -> tuple[str, list[tuple[str, LinkKind, float]]]:
    seen: list[tuple[str, LinkKind, float]] = []

    def link_for(url: str, kind: LinkKind, duration: float) -> str:
        seen.append((url, kind, duration))
        return f"/gw/{len(seen)}"

    return rewrite_playlist(text, base, link_for), seen


def test_a_master_playlist_sends_every_rendition_through_the_gateway() -> None:
    text, seen = collect(MASTER, "http://p.example/live/u/pw/1/master.m3u8")
    assert seen == [
        ("http://p.example/live/u/pw/1/audio/en.m3u8", "playlist", 0.0),
        ("http://p.example/live/u/pw/1/720p/index.m3u8?token=s3cret", "playlist", 0.0),
        ("http://p.example/live/u/pw/1/iframes.m3u8", "playlist", 0.0),
        ("https://cdn.example/1080p.m3u8", "playlist", 0.0),
    ]
    assert "s3cret" not in text and "p.example" not in text and "cdn.example" not in text
    assert '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",URI="/gw/1"' in text
    assert '#EXT-X-STREAM-INF:BANDWIDTH=1280000,RESOLUTION=1280x720,AUDIO="aac"\n/gw/2' in text


def test_a_media_playlist_keeps_its_tags_and_carries_segment_durations() -> None:
    text, seen = collect(MEDIA, "http://p.example/hls/1/index.m3u8")
    assert seen == [
        ("https://keys.example/k1", "key", 0.0),
        ("http://p.example/hls/1/init.mp4", "segment", 0.0),
        ("http://p.example/hls/1/seg100.m4s", "segment", 6.006),
        ("http://p.example/abs/seg101.ts?x=1", "segment", 5.5),
    ]
    lines = text.splitlines()
    assert lines[:3] == ["#EXTM3U", "#EXT-X-TARGETDURATION:6", "#EXT-X-MEDIA-SEQUENCE:100"]
    assert "#EXT-X-DISCONTINUITY" in lines and 'URI="skd://drm-id"' in text  # DRM key ids are not fetched


def link(url: str = "http://p.example/live/user/pass/1.ts", kind: LinkKind = "segment") -> HlsLink:
    return HlsLink(url, kind, 7, "live", 3, 1, 11, 2, "UA", None, 6.0, "News", "ab" * 32)


def test_sealed_links_hide_the_url_and_open_back_to_the_same_link() -> None:
    sealer = LinkSealer("server secret", 60)
    token = sealer.seal(link())
    assert "user" not in token and "pass" not in token and "p.example" not in token
    assert token.endswith(".ts") and sealer.seal(link(kind="playlist")).endswith(".m3u8")
    assert sealer.open(token) == link()
    assert sealer.seal(link()) != token  # a fresh nonce every time


@pytest.mark.parametrize("change", ["tamper", "other_key", "expired", "garbage"])
def test_altered_foreign_or_expired_links_are_refused(change: str) -> None:
    sealer = LinkSealer("server secret", 60)
    token = sealer.seal(link(), now=1_000_000 if change == "expired" else None)
    if change == "tamper":
        token = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    elif change == "other_key":
        sealer = LinkSealer("another secret", 60)
    elif change == "garbage":
        token = "not-a-link.ts"
    with pytest.raises(NotFoundError):
        sealer.open(token)


def test_the_ledger_never_hands_out_more_than_the_limit_across_threads() -> None:
    ledger = ConnectionLedger()
    granted: list[object] = []
    lock = threading.Lock()

    def grab() -> None:
        for _ in range(200):
            lease = ledger.try_acquire(1, 3, "viewer")
            if lease is not None:
                with lock:
                    granted.append(lease)
                    assert ledger.in_use(1) <= 3

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 3 and ledger.try_acquire(1, 3, "check") is None
    assert ledger.try_acquire(2, None, "viewer") is not None  # no limit: counted, never refused
    lease = granted[0]
    lease.release()  # type: ignore[attr-defined]
    lease.release()  # type: ignore[attr-defined]  # twice: released once
    assert ledger.in_use(1) == 2 and ledger.snapshot() == {1: {"viewer": 2}, 2: {"viewer": 1}}
