"""The one error tree of M3U-STRM-Processor.

Every error a user can cause or meet says what happened and what to do next. Library errors are translated at
the boundary (``raise ProviderUnreachableError(...) from exc``) so callers only ever catch these::

    M3UStrmError                      base: message (already redacted) + optional hint, HTTP status for the API
    ├── ConfigError                   settings that cannot work (bad database URL, unwritable data directory)
    ├── InputError                    the request or command itself is wrong (422)
    │   ├── NotFoundError             no such provider / user / token (404)
    │   └── ConflictError             the thing exists or is busy (409)
    │       └── SyncAlreadyRunningError
    ├── AuthError
    │   ├── AuthenticationError       missing or wrong credentials / token (401)
    │   ├── PermissionDeniedError     authenticated, but not allowed (403)
    │   └── LoginRateLimitedError     too many failed logins (429, retry_after)
    ├── IngestError                   a source was fetched but cannot be used as a catalogue
    │   ├── NotAPlaylistError         HTML page, JSON error or empty body instead of M3U
    │   ├── NotXmltvError             a document that is not an XMLTV guide
    │   ├── UnsafeDocumentError       XML entity expansion, external entities
    │   ├── LimitExceededError        bytes / line length / entries over the configured cap
    │   └── EmptyCatalogueError       the provider answered with no channels and no VOD
    └── ProviderError                 talking to a provider failed
        ├── ProviderUnreachableError  refused, reset, DNS, timeout
        ├── ProviderHTTPError         an HTTP error status (5xx, 404 ...)
        ├── ProviderRateLimitedError  429, with the time to retry at
        ├── ProviderAuthError         credentials rejected, account expired or disabled
        └── ProviderResponseError     the answer is not what the API promises (bad JSON)
    OutputError                       writing an output (.strm tree, playlist file) failed
    ├── UnsafePathError               a name would leave the output root (traversal, symlink)
    └── OutputWriteError              the disk said no: full, read-only, permission denied
    NoPlayableStreamError             the content exists but has no active stream right now (503)

Messages pass through :func:`m3u_strm.privacy.redaction.redact` when the error is built, so a provider password or
a credential-bearing URL never reaches a log line, an API response or the CLI through an exception.
"""

from __future__ import annotations

from datetime import datetime

from m3u_strm.privacy.redaction import redact


class M3UStrmError(Exception):
    """Base of every error this package raises on purpose."""

    http_status = 500
    code = "internal_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(message)
        self.hint = redact(hint) if hint else None
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class ConfigError(M3UStrmError):
    code = "config_error"


class InputError(M3UStrmError):
    http_status = 422
    code = "invalid_input"


class NotFoundError(InputError):
    http_status = 404
    code = "not_found"


class ConflictError(InputError):
    http_status = 409
    code = "conflict"


class SyncAlreadyRunningError(ConflictError):
    code = "sync_already_running"

    def __init__(self, provider_name: str) -> None:
        super().__init__(
            f"A sync of provider {provider_name!r} is already running.",
            hint="Wait for it to finish; its result appears in the provider's sync history.",
        )


class AuthError(M3UStrmError):
    http_status = 401
    code = "auth_error"


class AuthenticationError(AuthError):
    code = "not_authenticated"


class PermissionDeniedError(AuthError):
    http_status = 403
    code = "forbidden"


class LoginRateLimitedError(AuthError):
    http_status = 429
    code = "rate_limited"

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = retry_after_seconds
        super().__init__(
            "Too many failed logins from this address or for this user.",
            hint=f"Try again in {retry_after_seconds} seconds.",
        )


class IngestError(M3UStrmError):
    http_status = 422
    code = "ingest_error"


class NotAPlaylistError(IngestError):
    code = "not_a_playlist"


class NotXmltvError(IngestError):
    code = "not_xmltv"


class UnsafeDocumentError(IngestError):
    code = "unsafe_document"


class LimitExceededError(IngestError):
    code = "limit_exceeded"


class EmptyCatalogueError(IngestError):
    code = "empty_catalogue"


class ProviderError(M3UStrmError):
    http_status = 502
    code = "provider_error"

    def __init__(self, message: str, *, hint: str | None = None, status_code: int | None = None) -> None:
        self.status_code = status_code
        super().__init__(message, hint=hint)


class ProviderUnreachableError(ProviderError):
    code = "provider_unreachable"


class ProviderHTTPError(ProviderError):
    code = "provider_http_error"


class ProviderRateLimitedError(ProviderError):
    code = "provider_rate_limited"

    def __init__(self, message: str, *, retry_at: datetime | None = None) -> None:
        self.retry_at = retry_at
        hint = f"Retry at {retry_at.isoformat(timespec='seconds')}." if retry_at else "Retry later."
        super().__init__(message, hint=hint, status_code=429)


class ProviderAuthError(ProviderError):
    code = "provider_auth_failed"


class ProviderResponseError(ProviderError):
    code = "provider_bad_response"


class OutputError(M3UStrmError):
    code = "output_error"


class UnsafePathError(OutputError):
    http_status = 422
    code = "unsafe_path"


class OutputWriteError(OutputError):
    code = "output_write_failed"


class NoPlayableStreamError(M3UStrmError):
    http_status = 503
    code = "no_playable_stream"
