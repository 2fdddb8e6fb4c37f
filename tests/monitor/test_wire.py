"""The checker's HTTP/1.1 transport against real loopback servers: bodies, broken answers, TLS, IPv6, redirects."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from m3u_strm.monitor.health import CheckTarget, HealthResult, check_stream
from m3u_strm.monitor.signatures import SNIFF_BYTES
from m3u_strm.monitor.wire import (
    MAX_HEADER_BYTES,
    BadResponseError,
    ConnectionLostError,
    HeadersTooLargeError,
    WireClient,
    WireError,
    WireResponse,
)
from tests.monitor.health_server import (
    CHUNKED_BODY,
    SHORT_BODY,
    TS_BODY,
    ScriptedServer,
    http_answer,
)

TS_ANSWER = http_answer(TS_BODY, headers=b"Content-Type: video/mp2t\r\n")
#: Headers that never end: more than the bound arrives before any blank line.
ENDLESS_HEADERS = b"HTTP/1.1 200 OK\r\n" + b"X-More: b\r\n" * 4000
#: A complete answer whose headers alone are larger than the bound.
LONG_HEADERS = http_answer(TS_BODY, headers=b"X-Padding: " + b"a" * (MAX_HEADER_BYTES + 100) + b"\r\n")


async def check(url: str, client: WireClient | None = None, **target: str) -> HealthResult:
    return await check_stream(client or WireClient(), CheckTarget(1, 1, url, **target), timeout=5)


async def fetch(url: str, client: WireClient | None = None, *, referer: str | None = None) -> WireResponse:
    deadline = asyncio.get_running_loop().time() + 5
    return await (client or WireClient()).get(url, user_agent="wire-test/1", referer=referer, deadline=deadline)


async def read_all(response: WireResponse) -> bytes:
    body = bytearray()
    with response:
        while chunk := await response.read_chunk():
            body += chunk
    return bytes(body)


# --- bodies --------------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_chunked_body_arrives_without_its_chunk_framing(base: str) -> None:
    response = await fetch(base + "/chunked.ts")
    assert response.header(b"transfer-encoding") == "chunked"
    assert await read_all(response) == CHUNKED_BODY


@pytest.mark.anyio
async def test_content_length_body_shorter_than_the_sniff_is_read_to_its_end(base: str) -> None:
    assert len(SHORT_BODY) < SNIFF_BYTES
    response = await fetch(base + "/short.ts")
    assert (response.header(b"content-length"), await read_all(response)) == (str(len(SHORT_BODY)), SHORT_BODY)
    result = await check(base + "/short.ts")
    assert (result.outcome, result.bytes_read) == ("alive", len(SHORT_BODY))


@pytest.mark.anyio
async def test_relative_redirect_path_is_resolved_against_the_answering_url(base: str) -> None:
    result = await check(base + "/hop/here")
    assert (result.outcome, result.status_code) == ("alive", 200), result.detail


# --- what goes out -------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_carries_host_agent_accept_referer_and_close() -> None:
    with ScriptedServer(TS_ANSWER) as server:
        await read_all(await fetch(server.url("/live/a b.ts?token=1"), referer="http://portal.example/"))
    line, *fields = server.requests[0].decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (f.partition(": ") for f in fields if f)}
    assert line == "GET /live/a%20b.ts?token=1 HTTP/1.1"
    assert headers == {
        "host": f"127.0.0.1:{server.port}",
        "user-agent": "wire-test/1",
        "accept": "*/*",
        "connection": "close",
        "referer": "http://portal.example/",
    }


@pytest.mark.anyio
async def test_credentials_in_the_url_go_as_basic_auth_and_not_in_the_request_line() -> None:
    with ScriptedServer(TS_ANSWER) as server:
        await read_all(await fetch(server.url("/live/1.ts").replace("://", "://alice:s%40cret@")))
    head = server.requests[0].decode("latin-1")
    assert "Authorization: Basic YWxpY2U6c0BjcmV0\r\n" in head  # base64 of alice:s@cret
    assert head.startswith("GET /live/1.ts HTTP/1.1\r\n") and "alice" not in head.split("\r\n")[0]


@pytest.mark.anyio
async def test_a_header_value_h11_refuses_is_bad_header_and_nothing_is_sent() -> None:
    with ScriptedServer(TS_ANSWER) as server:
        result = await check(server.url("/live/1.ts"), referrer="http://x/\r\nX-Injected: 1")
    assert (result.outcome, result.error_kind, server.requests) == ("dead", "bad_header", [])


@pytest.mark.anyio
async def test_ipv6_literal_hosts_connect_and_keep_brackets_in_host() -> None:
    try:
        server = ScriptedServer(TS_ANSWER, host="::1").__enter__()
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here ({exc})")
    try:
        result = await check(server.url("/live/1.ts"))
    finally:
        server.__exit__()
    assert result.outcome == "alive"
    assert f"Host: [::1]:{server.port}\r\n" in server.requests[0].decode("latin-1")


BAD_URLS = ["http://a..b/1.ts", "http://[::1/1.ts", "http://host:99999/1.ts", "http:///1.ts"]


@pytest.mark.anyio
@pytest.mark.parametrize("url", BAD_URLS, ids=["empty-label", "open-bracket", "port-range", "no-host"])
async def test_urls_that_name_no_reachable_host_are_dead_bad_url(url: str) -> None:
    result = await check(url)
    assert (result.outcome, result.error_kind) == ("dead", "bad_url")


# --- broken answers ------------------------------------------------------------------------------------------------

BROKEN = [
    ("closed-before-headers", b"", ConnectionLostError, "reset"),
    ("cut-mid-headers", b"HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\n", ConnectionLostError, "reset"),
    ("endless-headers", ENDLESS_HEADERS, HeadersTooLargeError, "headers_too_large"),
    ("long-headers", LONG_HEADERS, HeadersTooLargeError, "headers_too_large"),
    ("not-http", b"SSH-2.0-OpenSSH_9.2\r\n\r\n", BadResponseError, "bad_response"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("answer", "error", "kind"), [row[1:] for row in BROKEN], ids=[row[0] for row in BROKEN])
async def test_broken_answers_raise_their_own_error_kind(answer: bytes, error: type[WireError], kind: str) -> None:
    with ScriptedServer(answer) as server:
        with pytest.raises(error) as raised:
            await fetch(server.url("/live/1.ts"))
        result = await check(server.url("/live/1.ts"))
    assert raised.value.kind == kind
    assert (result.outcome, result.error_kind, result.status_code) == ("dead", kind, None)


@pytest.mark.anyio
async def test_body_cut_short_of_its_length_is_a_reset_once_read_past_what_came() -> None:
    answer = http_answer(TS_BODY)[: -len(TS_BODY) + 400]  # the headers promise 12 KB; 400 bytes come
    with ScriptedServer(answer) as server:
        response = await fetch(server.url("/live/1.ts"))
        with pytest.raises(ConnectionLostError), response:
            while await response.read_chunk():
                pass


@pytest.mark.anyio
async def test_a_chunk_size_that_is_not_hex_is_a_bad_response() -> None:
    with ScriptedServer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + TS_BODY) as server:
        result = await check(server.url("/live/1.ts"))
    assert (result.outcome, result.error_kind, result.status_code) == ("dead", "bad_response", 200)


@pytest.mark.anyio
async def test_headers_up_to_the_bound_are_accepted() -> None:
    padding = b"X-Padding: " + b"a" * (MAX_HEADER_BYTES - 200) + b"\r\n"
    with ScriptedServer(http_answer(TS_BODY, headers=padding)) as server:
        assert await read_all(await fetch(server.url("/live/1.ts"))) == TS_BODY


@pytest.mark.anyio
async def test_a_smaller_header_bound_is_the_client_s_own() -> None:
    with ScriptedServer(TS_ANSWER) as server:
        result = await check(server.url("/live/1.ts"), WireClient(max_header_bytes=16))
    assert (result.outcome, result.error_kind) == ("dead", "headers_too_large")


@pytest.mark.anyio
async def test_informational_answers_are_skipped() -> None:
    with ScriptedServer(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + TS_ANSWER) as server:
        response = await fetch(server.url("/live/1.ts"))
        assert (response.status_code, await read_all(response)) == (200, TS_BODY)


# --- TLS -----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``localhost`` and 127.0.0.1, made by the openssl command line."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command here to make a self-signed certificate (and no cryptography package)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_server(certificate: tuple[Path, Path]) -> ScriptedServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return ScriptedServer(TS_ANSWER, tls=context)


@pytest.mark.anyio
async def test_https_with_a_trusted_certificate_sends_sni_and_reads_media(certificate: tuple[Path, Path]) -> None:
    trusting = WireClient(ssl_context=ssl.create_default_context(cafile=str(certificate[0])))
    with tls_server(certificate) as server:
        result = await check(server.url("/live/1.ts", scheme="https", host="localhost"), trusting)
    assert (result.outcome, result.status_code) == ("alive", 200), result.detail
    assert server.server_names == ["localhost"]


@pytest.mark.anyio
async def test_https_with_an_untrusted_certificate_is_dead_tls(certificate: tuple[Path, Path]) -> None:
    with tls_server(certificate) as server:
        result = await check(server.url("/live/1.ts", scheme="https"))
    assert (result.outcome, result.error_kind) == ("dead", "tls")
    assert result.detail is not None and "CERTIFICATE_VERIFY_FAILED" in result.detail
