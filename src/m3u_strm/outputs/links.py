"""Where an output sends a player: the gateway URL with the user's playback token, or — only when the admin opted
in to direct URLs — the provider's own URL.

>>> PlayLinks("http://tv.local:8000/", "tok").live(7)
'http://tv.local:8000/play/tok/live/7'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from m3u_strm.accounts.tokens import playback_token
from m3u_strm.accounts.users import get_user
from m3u_strm.config import Settings
from m3u_strm.db.models import User

__all__ = ["DIRECT_URL_WARNING", "PlayLinks", "base_url_of", "links_for_user"]

log = logging.getLogger(__name__)

DIRECT_URL_WARNING = (
    "Direct URLs are on: outputs carry the providers' own URLs, often with the account's username and password "
    "in them, and plays bypass the gateway (no viewing history, no failover, no revocation)."
)


@dataclass(frozen=True, slots=True)
class PlayLinks:
    base_url: str
    token: str
    direct: bool = False  # outputs use the provider URL the caller has at hand instead

    def _url(self, kind: str, item_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/play/{self.token}/{kind}/{item_id}"

    def live(self, channel_id: int) -> str:
        return self._url("live", channel_id)

    def stream(self, stream_id: int) -> str:
        return self._url("stream", stream_id)

    def movie(self, movie_id: int) -> str:
        return self._url("movie", movie_id)

    def episode(self, episode_id: int) -> str:
        return self._url("episode", episode_id)

    def pick(self, gateway_url: str, provider_url: str | None) -> str:
        return provider_url if self.direct and provider_url else gateway_url


def base_url_of(settings: Settings, fallback: str | None = None) -> str:
    """The public base URL: the setting, else the request's own base URL, else host and port."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    if fallback:
        return fallback.rstrip("/")
    host = "127.0.0.1" if settings.host in {"0.0.0.0", "::"} else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


def links_for_user(
    session: Session, user: User | str, settings: Settings, *, base_url: str | None = None, direct: bool | None = None
) -> PlayLinks:
    """Links carrying ``user``'s playback token; ``direct`` defaults to the ``output_direct_urls`` setting."""
    if isinstance(user, str):
        user = get_user(session, user)
    direct = settings.output_direct_urls if direct is None else direct
    if direct:
        log.warning(DIRECT_URL_WARNING)
    return PlayLinks(base_url_of(settings, base_url), playback_token(session, user).token, direct)
