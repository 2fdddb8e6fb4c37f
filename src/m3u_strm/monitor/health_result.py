"""The values a health check works on: :class:`CheckTarget` in, :class:`HealthResult` out (no I/O here).

Outcomes: ``alive``; ``dead`` (an HTTP error, refused, reset, DNS/TLS failure, not media); ``timeout``;
``rate_limited`` (429, with ``Retry-After``); ``auth_failed`` (401/403: the provider's account is suspect, not the
stream); ``unsupported`` (a scheme no checker applies to). ``rate_limited`` and ``unsupported`` say nothing about
the stream, so they are never counted as a failure (or a success): :attr:`HealthResult.is_counted` is derived from
the outcome, so no caller can count them by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["alive", "dead", "timeout", "rate_limited", "auth_failed", "unsupported"]

#: Outcomes that say nothing about the stream itself: never a failure, never a success.
UNCOUNTED: frozenset[str] = frozenset({"rate_limited", "unsupported"})


@dataclass(frozen=True, slots=True)
class HealthResult:
    """The verdict of one check. ``response_ms`` is the time until the first media bytes were in hand (the
    sniffed first KB, of the first segment for HLS) or until the failure;
    ``error_kind`` is a short stable token (``not_media``, ``http_404``, ``refused``, ``reset``, ``dns``, ``tls``,
    ``too_many_redirects`` ...); ``detail`` is human text, already redacted."""

    outcome: Outcome
    status_code: int | None
    response_ms: int | None
    bytes_read: int
    error_kind: str | None
    detail: str | None
    retry_after_s: float | None = None

    @property
    def is_counted(self) -> bool:
        """False for ``rate_limited`` and ``unsupported``."""
        return self.outcome not in UNCOUNTED


@dataclass(frozen=True, slots=True)
class CheckTarget:
    """One stream to check, with the headers its provider expects."""

    stream_id: int
    provider_id: int
    url: str
    user_agent: str | None = None
    referrer: str | None = None
