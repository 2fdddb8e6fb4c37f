"""What media servers and IPTV apps read: the playlist, the guide and the HDHomeRun tuner, each behind a playback
token (FAULTS 30: no output answers without one), plus the admin's ``.strm`` generation."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from m3u_strm.accounts.tokens import playback_token, resolve_playback_token
from m3u_strm.accounts.users import get_user
from m3u_strm.api.deps import AdminUser, EngineDep, SessionDep, SettingsDep
from m3u_strm.api.schemas import ProcessM3URequest, StrmGenerate
from m3u_strm.config import Settings
from m3u_strm.errors import AuthenticationError, InputError, NotFoundError
from m3u_strm.outputs import catalogue, hdhomerun
from m3u_strm.outputs.guide import iter_guide
from m3u_strm.outputs.links import PlayLinks, base_url_of
from m3u_strm.outputs.playlist import render_playlist
from m3u_strm.outputs.process import ProcessOptions, process_playlist
from m3u_strm.outputs.strm_tree import StrmRequest, generate_strm

router = APIRouter(tags=["outputs"])

Token = Annotated[str | None, Query(max_length=128, description="Your playback token")]


def _links(session: Session, token: str | None, request: Request, settings: Settings) -> PlayLinks:
    if not token:
        raise AuthenticationError("This output needs your playback token.", hint="Add ?token=<playback token>.")
    resolve_playback_token(session, token)  # 401 for unknown or revoked tokens, before any byte is sent
    return PlayLinks(base_url_of(settings, str(request.base_url)), token, settings.output_direct_urls)


def _streamed(engine: Engine, produce: Callable[[Session], Iterable[Any]]) -> Iterator[Any]:
    """Run ``produce`` in a session of its own that lives as long as the response streams."""
    with Session(engine) as session:
        yield from produce(session)


@router.get("/output/m3u", response_class=StreamingResponse)
def read_playlist(
    request: Request,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    token: Token = None,
    category: Annotated[str | None, Query(max_length=255)] = None,
    quality: Literal["best", "all"] = "best",
) -> StreamingResponse:
    """The merged playlist: one entry per channel (``quality=best``) or every stream ranked (``quality=all``)."""
    links = _links(session, token, request, settings)
    epg_url = f"{links.base_url.rstrip('/')}/output/epg.xml?token={token}"

    def produce(own: Session) -> Iterator[str]:
        channels = catalogue.playlist_channels(own, links, category=category, every_stream=quality == "all")
        return render_playlist(channels, epg_url=epg_url)

    headers = {"Content-Disposition": 'inline; filename="m3u-strm.m3u"'}
    return StreamingResponse(_streamed(engine, produce), media_type="audio/x-mpegurl", headers=headers)


def _guide_bytes(engine: Engine) -> Iterator[bytes]:
    def produce(own: Session) -> Iterator[bytes]:
        channels, targets = catalogue.guide_channels(own)
        return iter_guide(channels, catalogue.guide_programmes(own, targets))

    return _streamed(engine, produce)


def _gzipped(chunks: Iterable[bytes]) -> Iterator[bytes]:
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    for chunk in chunks:
        if packed := packer.compress(chunk):
            yield packed
    yield packer.flush()


@router.get("/output/epg.xml", response_class=StreamingResponse)
def read_guide(
    request: Request, session: SessionDep, engine: EngineDep, settings: SettingsDep, token: Token = None
) -> StreamingResponse:
    """XMLTV for the merged channels, from the providers' guides."""
    _links(session, token, request, settings)
    return StreamingResponse(_guide_bytes(engine), media_type="application/xml")


@router.get("/output/epg.xml.gz", response_class=StreamingResponse)
def read_guide_gz(
    request: Request, session: SessionDep, engine: EngineDep, settings: SettingsDep, token: Token = None
) -> StreamingResponse:
    _links(session, token, request, settings)
    return StreamingResponse(_gzipped(_guide_bytes(engine)), media_type="application/gzip")


def _device(settings: Settings, request: Request, base_path: str) -> hdhomerun.TunerDevice:
    digest = hashlib.sha256(f"hdhr:{request.app.state.signing_key}".encode()).digest()
    return hdhomerun.TunerDevice(
        device_id=hdhomerun.device_id_from(digest), friendly_name="M3U-STRM-Processor",
        base_url=base_url_of(settings, str(request.base_url)) + base_path, tuner_count=settings.hdhr_tuner_count,
    )  # fmt: skip


def _tuner_answer(document: str, session: Session, token: str, request: Request, settings: Settings,
                  base_path: str) -> Response:  # fmt: skip
    links = _links(session, token, request, settings)
    device = _device(settings, request, base_path)
    if document == "discover.json":
        return JSONResponse(hdhomerun.discover_json(device))
    if document == "lineup_status.json":
        return JSONResponse(hdhomerun.lineup_status_json())
    if document == "lineup.json":
        return JSONResponse(hdhomerun.lineup_json(catalogue.lineup_entries(session, links)))
    if document == "device.xml":
        return Response(hdhomerun.device_xml(device), media_type="application/xml")
    raise NotFoundError(f"The tuner has no {document!r}.")


def _tune(session: Session, token: str, number: str, request: Request, settings: Settings) -> RedirectResponse:
    links = _links(session, token, request, settings)
    channel = catalogue.channel_by_number(session, number)
    if channel is None:
        raise NotFoundError(f"No channel has the tuner number {number}.", hint="See lineup.json.")
    return RedirectResponse(links.live(channel.id), status_code=302)


TUNER_DOCUMENTS = ("discover.json", "lineup.json", "lineup_status.json", "device.xml")


@router.get("/hdhr/{token}/{document}", include_in_schema=True)
def read_tuner_document(token: str, document: str, request: Request, session: SessionDep,
                        settings: SettingsDep) -> Response:  # fmt: skip
    """The emulated HDHomeRun: point Plex, Jellyfin or Emby at ``<base>/hdhr/<playback token>``."""
    return _tuner_answer(document, session, token, request, settings, f"/hdhr/{token}")


@router.post("/hdhr/{token}/lineup.post", include_in_schema=False)
def scan_tuner(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    _links(session, token, request, settings)
    return Response(status_code=200)  # channel scans are instant: the lineup is always current


@router.get("/hdhr/{token}/auto/v{number}")
def tune_channel(token: str, number: str, request: Request, session: SessionDep,
                 settings: SettingsDep) -> RedirectResponse:  # fmt: skip
    return _tune(session, token, number, request, settings)


def _default_tuner_token(session: Session, settings: Settings) -> str:
    if not settings.hdhr_user:
        raise NotFoundError(
            "The token-less HDHomeRun paths are off.",
            hint="Use <base>/hdhr/<your playback token>/, or set M3U_STRM_HDHR_USER to serve them as that user.",
        )
    return playback_token(session, get_user(session, settings.hdhr_user)).token


def _root_document(document: str) -> Callable[..., Response]:
    def read(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
        return _tuner_answer(document, session, _default_tuner_token(session, settings), request, settings, "")

    read.__name__ = f"read_root_{document.replace('.', '_')}"
    return read


for _document in TUNER_DOCUMENTS:
    router.add_api_route(f"/{_document}", _root_document(_document), methods=["GET"], include_in_schema=False)


@router.get("/auto/v{number}", include_in_schema=False)
def tune_root_channel(number: str, request: Request, session: SessionDep, settings: SettingsDep) -> RedirectResponse:
    return _tune(session, _default_tuner_token(session, settings), number, request, settings)


@router.post("/api/vod/generate-strm")
def create_strm_tree(body: StrmGenerate, user: AdminUser, request: Request, session: SessionDep,
                     settings: SettingsDep) -> dict[str, object]:  # fmt: skip
    """Write the `.strm` tree (movies, series, optionally live) under the `strm_dir` setting, with your token."""
    links = PlayLinks(base_url_of(settings, str(request.base_url)), playback_token(session, user).token,
                      settings.output_direct_urls)  # fmt: skip
    genre = settings.strm_genre_folders if body.genre_folders is None else body.genre_folders
    strm = StrmRequest(settings.resolved_strm_dir.resolve(), body.movies, body.series, body.live, genre, body.clean)
    return generate_strm(session, links, strm).to_dict()


@router.post("/api/process-m3u/")
async def process_m3u(body: ProcessM3URequest, _: AdminUser, settings: SettingsDep) -> dict[str, Any]:
    """The one-shot processor: write `.strm` files for a playlist without storing a provider."""
    output_dir = Path(body.output_dir)
    if not output_dir.is_absolute():
        raise InputError("output_dir must be an absolute path on the server.", hint="e.g. /srv/media/iptv")
    options = ProcessOptions(body.merge, body.prefer, body.by_category, body.fuzzy_threshold, body.clean)
    report = await process_playlist(body.source, output_dir, options, settings)
    return report.to_dict()
