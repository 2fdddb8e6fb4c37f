"""The one redaction function: credentials vanish from any text, whatever their shape."""

from __future__ import annotations

import logging

import pytest

from m3u_strm.errors import ProviderHTTPError
from m3u_strm.log import RedactingFormatter
from m3u_strm.privacy.redaction import redact, register_secret


@pytest.mark.parametrize(
    ("text", "secrets"),
    [
        ("http://panel.example:8080/live/alice/s3cretpw/1234.ts", ["alice", "s3cretpw"]),
        ("http://panel.example/movie/alice/s3cretpw/99.mkv", ["alice", "s3cretpw"]),
        ("http://panel.example/series/alice/s3cretpw/7.mp4", ["alice", "s3cretpw"]),
        ("http://panel.example:80/alice/s3cretpw/1234", ["alice", "s3cretpw"]),
        ("http://p.example/get.php?username=alice&password=s3cretpw&type=m3u_plus", ["alice", "s3cretpw"]),
        ("http://p.example/player_api.php?username=alice&password=s3cretpw", ["alice", "s3cretpw"]),
        ("https://alice:s3cretpw@p.example/list.m3u", ["alice", "s3cretpw"]),
        ("https://cdn.example/live.m3u8?token=abcdef123456&x=1", ["abcdef123456"]),
        ("https://cdn.example/live.m3u8?api_key=abcdef123456", ["abcdef123456"]),
        ("#KODIPROP:inputstream.adaptive.license_key=0123abcd:4567ef", ["0123abcd:4567ef"]),
        ("Authorization: Bearer mss_abcdefghijklmnop", ["mss_abcdefghijklmnop"]),
        ("GET /play/Zk3l9xQpTokenValue/live/12 HTTP/1.1", ["Zk3l9xQpTokenValue"]),
        ('{"password": "s3cretpw", "user": "x"}', ["s3cretpw"]),
    ],
    ids=[
        "xtream-live", "xtream-movie", "xtream-series", "xtream-short", "get-php", "player-api", "userinfo",
        "token-param", "api-key-param", "kodiprop-license", "bearer", "playback-token", "json-password",
    ],
)  # fmt: skip
def test_credentials_are_masked(text: str, secrets: list[str]) -> None:
    out = redact(text)
    for secret in secrets:
        assert secret not in out
    assert "***" in out


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret("hunter2hunter2")
    assert redact("login failed for password hunter2hunter2 at host") == "login failed for password *** at host"


def test_plain_text_is_left_alone() -> None:
    text = "Sync of provider 'Demo' finished: 300 streams, 12 movies in 1.2 s"
    assert redact(text) == text


def test_errors_redact_their_message() -> None:
    error = ProviderHTTPError("GET http://h:8080/live/bob/pw12345/1.ts answered 502", status_code=502)
    assert "pw12345" not in str(error)
    assert "bob" not in repr(error)


def test_log_formatter_redacts_messages_and_tracebacks() -> None:
    formatter = RedactingFormatter("%(message)s")
    try:
        raise ValueError("boom at http://h/get.php?username=bob&password=pw12345")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "fetching %s", ("http://u:pw12345@h/x",), sys.exc_info()
        )
    out = formatter.format(record)
    assert "pw12345" not in out
    assert "ValueError" in out
