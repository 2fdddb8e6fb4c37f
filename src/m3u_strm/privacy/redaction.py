"""The one redaction function: everything that leaves the process as text passes through :func:`redact`.

Two layers:

* **patterns** that catch secrets by their shape wherever they appear: credentials in URLs (``user:pass@``),
  Xtream Codes paths (``/live/USER/PASS/123.ts``, ``/movie/...``, ``/series/...``), secret-looking query
  parameters (``password=``, ``token=``, ``api_key=`` ...), ``Authorization`` headers and ``#KODIPROP`` license keys;
* **known secrets** registered at run time (:func:`register_secret`): provider passwords and usernames are
  registered as soon as a provider is loaded, so they are masked even where no pattern would spot them.

>>> redact("http://host:8080/live/alice/s3cret/42.ts")
'http://host:8080/live/***/***/42.ts'
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"

# Names of query parameters whose values are secrets (the names themselves are not).
_SECRET_PARAMS = "|".join(
    ["password", "passwd", "pass", "pwd", "username", "user", "token", "access_token", "refresh_token", "api_key",
     "apikey", "key", "auth", "signature", "sig", "secret", "session", "sessionid", "license_key", "license", "hash",
     "jwt"]
)  # fmt: skip
_QUERY_PARAM = re.compile(rf"(?i)([?&;](?:{_SECRET_PARAMS})=)([^&#\s\"'<>]+)")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:\"'<>]+)(?::([^/@\s\"'<>]*))?@")
_XTREAM_PATH = re.compile(
    r"(?i)(/(?:live|movie|series|timeshift|hls|hlsr)/)([^/\s?#\"'<>]+)/([^/\s?#\"'<>]+)(/)"
    r"(?=[^\s\"'<>]*\d)"
)
_XTREAM_SHORT = re.compile(
    r"(?i)(://[^/\s\"'<>]+/)(?!live/|movie/|series/|play/|api/)([^/\s?#\"'<>]+)/([^/\s?#\"'<>]+)/(\d+)(\.\w+)?(?=[\s\"'<>?#]|$)"
)
_PLAY_TOKEN = re.compile(r"(/play/)([^/\s?#\"'<>]+)")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization\s*[:=]\s*(?:bearer|basic|token)?\s*)([^\s,;\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer\s+)([A-Za-z0-9._~+/=-]{8,})")
_KODIPROP_KEY = re.compile(r"(?i)(license_key\s*=\s*)(\S+)")
_KEYED_VALUE = re.compile(r"(?i)([\"']?(?:password|passwd|secret|api_key|token)[\"']?\s*[:=]\s*[\"']?)([^\s,\"'}&]+)")

_known_lock = threading.Lock()
_known: set[str] = set()
_known_pattern: re.Pattern[str] | None = None

#: Secrets shorter than this are not registered: masking "a" or "tv" everywhere would shred every message.
MIN_SECRET_LENGTH = 4


def register_secret(*values: str | None) -> None:
    """Remember values (provider passwords, usernames, tokens) to mask wherever they appear from now on."""
    global _known_pattern
    fresh = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH and v not in _known}
    if not fresh:
        return
    with _known_lock:
        _known.update(fresh)
        ordered = sorted(_known, key=len, reverse=True)
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def forget_secrets() -> None:
    """Drop every registered secret (tests use this to start clean)."""
    global _known_pattern
    with _known_lock:
        _known.clear()
        _known_pattern = None


def _mask_userinfo(match: re.Match[str]) -> str:
    if match.group(3) is None:
        return f"{match.group(1)}{MASK}@"
    return f"{match.group(1)}{MASK}:{MASK}@"


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with every credential it holds replaced by ``***``."""
    if not text:
        return text
    out = _USERINFO.sub(_mask_userinfo, text)
    out = _XTREAM_PATH.sub(lambda m: f"{m.group(1)}{MASK}/{MASK}{m.group(4)}", out)
    out = _XTREAM_SHORT.sub(lambda m: f"{m.group(1)}{MASK}/{MASK}/{m.group(4)}{m.group(5) or ''}", out)
    out = _PLAY_TOKEN.sub(lambda m: m.group(1) + MASK, out)
    out = _QUERY_PARAM.sub(lambda m: m.group(1) + MASK, out)
    out = _AUTH_HEADER.sub(lambda m: m.group(1) + MASK, out)
    out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    out = _KODIPROP_KEY.sub(lambda m: m.group(1) + MASK, out)
    out = _KEYED_VALUE.sub(lambda m: m.group(1) + MASK, out)
    pattern = _known_pattern
    if pattern is not None:
        out = pattern.sub(MASK, out)
    for secret in extra_secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            out = out.replace(secret, MASK)
    return out


def mask(value: str | None) -> str | None:
    """Mask a whole secret value for display: ``None`` stays ``None``, anything else becomes ``***``."""
    return None if value is None else MASK
