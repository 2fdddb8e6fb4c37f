"""The merge service on a real database: three providers' spellings become one channel, ids stay stable, a re-merge
writes nothing, and an admin's merges, splits, rules and disables survive re-syncs."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from m3u_strm.catalog import overrides
from m3u_strm.catalog.merge import merge_catalogue
from m3u_strm.catalog.overrides import Actor
from m3u_strm.config import Settings
from m3u_strm.db.models import AuditLog, Channel, Stream
from m3u_strm.errors import ConflictError, InputError, NotFoundError
from m3u_strm.ingest.sync import sync_provider
from tests.catalogue_helpers import Line, add_provider, channel_of, channels_state, sync, write_playlist

A = [
    Line("UK: Sky Sports 1 HD", "http://a.example/live/u/p/1.ts", "skysports1.uk", "UK Sports"),
    Line("UK: BBC One HD", "http://a.example/live/u/p/2.ts", "bbcone.uk", "UK General"),
    Line("UK: BBC One +1", "http://a.example/live/u/p/3.ts", "", "UK General"),
    Line("CA: Sportsnet West", "http://a.example/live/u/p/4.ts", "", "CA Sports"),
    Line("UK: Sky Sports 2 HD", "http://a.example/live/u/p/5.ts", "", "UK Sports"),
]
B = [
    Line("|UK| SKY SPORTS 1 FHD", "http://b.example/live/x/y/10.ts", "", "SPORTS"),
    Line("|UK| BBC ONE SD", "http://b.example/live/x/y/11.ts", "BBCOne.uk@SD", "ENTERTAINMENT"),
    Line("|CA| SPORTSNET EAST", "http://b.example/live/x/y/12.ts", "", "SPORTS"),
]
C = [
    Line("Sky Sports 1 (Backup)", "http://c.example/s/20.m3u8", "", "Sport"),
    Line("Sportsnet West HD", "http://c.example/s/21.m3u8", "", "Sport"),
]


@pytest.fixture
def three(engine: Engine, settings: Settings, tmp_path: Path) -> dict[str, Path]:
    paths = {name: write_playlist(tmp_path / f"{name}.m3u", lines) for name, lines in (("a", A), ("b", B), ("c", C))}
    for priority, name in enumerate(("c", "b", "a")):
        add_provider(engine, name, paths[name], priority=priority)
        sync(engine, settings, name)
    return paths


def test_three_spellings_become_one_channel(engine: Engine, three: dict[str, Path]) -> None:
    where = channel_of(engine)
    assert where["UK: Sky Sports 1 HD"] == where["|UK| SKY SPORTS 1 FHD"] == where["Sky Sports 1 (Backup)"]
    assert where["UK: BBC One HD"] == where["|UK| BBC ONE SD"]
    assert where["CA: Sportsnet West"] == where["Sportsnet West HD"]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("UK: BBC One HD", "UK: BBC One +1"),
        ("CA: Sportsnet West", "|CA| SPORTSNET EAST"),
        ("UK: Sky Sports 1 HD", "UK: Sky Sports 2 HD"),
    ],
    ids=["timeshift", "region", "number"],
)
def test_variants_regions_and_numbers_stay_apart(engine: Engine, three: dict[str, Path], one: str, other: str) -> None:
    where = channel_of(engine)
    assert where[one] != where[other]


def test_streams_are_ranked_by_quality_then_provider_priority(engine: Engine, three: dict[str, Path]) -> None:
    with Session(engine) as session:
        channel = session.scalars(select(Stream.channel_id).where(Stream.name == "Sky Sports 1 (Backup)")).one()
        ranked = session.scalars(select(Stream).where(Stream.channel_id == channel).order_by(Stream.rank)).all()
        assert [s.rank for s in ranked] == [1, 2, 3]
        assert ranked[0].name == "|UK| SKY SPORTS 1 FHD"  # FHD (1080p) beats HD (720p)
        assert ranked[0].resolution == "1080p" and ranked[0].quality_score == 700
        by_name = {s.name: s for s in ranked}
        assert by_name["UK: Sky Sports 1 HD"].merge_method in {"tvg_id", "name", "fuzzy", "single"}
        assert all(s.merge_reason for s in ranked)


def test_each_link_records_method_confidence_and_reason(engine: Engine, three: dict[str, Path]) -> None:
    with Session(engine) as session:
        streams = session.scalars(select(Stream)).all()
    assert all(s.merge_method and s.merge_confidence is not None and s.merge_reason for s in streams)
    assert all(0 <= (s.merge_confidence or 0) <= 100 for s in streams)


def test_merge_again_writes_nothing(engine: Engine, three: dict[str, Path], settings: Settings) -> None:
    before = channels_state(engine)
    with Session(engine) as session, session.begin():
        report = merge_catalogue(session)
    assert (report.channels_created, report.streams_updated, report.channels_updated) == (0, 0, 0)
    assert channels_state(engine) == before


def test_resync_of_unchanged_providers_keeps_every_id(engine: Engine, three: dict[str, Path],
                                                      settings: Settings) -> None:  # fmt: skip
    before = channels_state(engine)
    for name in ("a", "b", "c"):
        sync(engine, settings, name)
    assert channels_state(engine) == before


def test_channel_ids_survive_a_provider_reordering_its_playlist(
    engine: Engine, three: dict[str, Path], settings: Settings
) -> None:
    before = channel_of(engine)
    write_playlist(three["b"], [*list(reversed(B)), Line("|UK| ITV 1 HD", "http://b.example/live/x/y/13.ts")])
    sync(engine, settings, "b")
    after = channel_of(engine)
    assert {name: after[name] for name in before} == before
    assert after["|UK| ITV 1 HD"] not in before.values()


def _channel(engine: Engine, stream_name: str) -> int:
    channel = channel_of(engine)[stream_name]
    assert channel is not None
    return channel


def test_manual_merge_survives_resync(engine: Engine, three: dict[str, Path], settings: Settings) -> None:
    west, east = _channel(engine, "CA: Sportsnet West"), _channel(engine, "|CA| SPORTSNET EAST")
    with Session(engine) as session, session.begin():
        overrides.merge_channels(session, east, west, actor=Actor(), threshold=85)
    for name in ("a", "b", "c"):
        sync(engine, settings, name)
    where = channel_of(engine)
    assert where["|CA| SPORTSNET EAST"] == where["CA: Sportsnet West"] == west
    with Session(engine) as session:
        assert session.get_one(Channel, east).merged_into_id == west
        assert session.scalar(select(AuditLog.action).where(AuditLog.action == "channel.merge")) is not None


def test_new_stream_of_a_merged_away_channel_lands_in_the_target(
    engine: Engine, three: dict[str, Path], settings: Settings
) -> None:
    west, east = _channel(engine, "CA: Sportsnet West"), _channel(engine, "|CA| SPORTSNET EAST")
    with Session(engine) as session, session.begin():
        overrides.merge_channels(session, east, west, actor=Actor(), threshold=85)
    write_playlist(three["c"], [*C, Line("Sportsnet East", "http://c.example/s/22.m3u8")])
    sync(engine, settings, "c")
    assert channel_of(engine)["Sportsnet East"] == west


def test_split_survives_resync(engine: Engine, three: dict[str, Path], settings: Settings) -> None:
    sky = _channel(engine, "UK: Sky Sports 1 HD")
    with Session(engine) as session, session.begin():
        backup = session.scalars(select(Stream.id).where(Stream.name == "Sky Sports 1 (Backup)")).one()
        new = overrides.split_streams(session, sky, [backup], actor=Actor(), threshold=85)
        new_id = new.id
    for name in ("a", "b", "c"):
        sync(engine, settings, name)
    where = channel_of(engine)
    assert where["Sky Sports 1 (Backup)"] == new_id
    assert where["UK: Sky Sports 1 HD"] == where["|UK| SKY SPORTS 1 FHD"] == sky


def test_split_refuses_streams_of_another_channel(engine: Engine, three: dict[str, Path]) -> None:
    sky = _channel(engine, "UK: Sky Sports 1 HD")
    with Session(engine) as session, session.begin():
        stranger = session.scalars(select(Stream.id).where(Stream.name == "UK: BBC One HD")).one()
        with pytest.raises(InputError, match="not live streams of channel"):
            overrides.split_streams(session, sky, [stranger], actor=Actor(), threshold=85)


def test_merge_rule_moves_matching_streams_and_survives_resync(
    engine: Engine, three: dict[str, Path], settings: Settings
) -> None:
    bbc = _channel(engine, "UK: BBC One HD")
    with Session(engine) as session, session.begin():
        overrides.create_rule(session, "*bbc one +1*", bbc, actor=Actor(), threshold=85)
    sync(engine, settings, "a")
    assert channel_of(engine)["UK: BBC One +1"] == bbc
    with Session(engine) as session:
        stream = session.scalars(select(Stream).where(Stream.name == "UK: BBC One +1")).one()
        assert stream.merge_method == "rule" and "*bbc one +1*" in (stream.merge_reason or "")


def test_deleting_a_rule_returns_streams_to_automatic_matching(
    engine: Engine, three: dict[str, Path], settings: Settings
) -> None:
    bbc = _channel(engine, "UK: BBC One HD")
    with Session(engine) as session, session.begin():
        rule = overrides.create_rule(session, "UK: BBC One [+]1", bbc, actor=Actor(), threshold=85)
        rule_id = rule.id
    assert channel_of(engine)["UK: BBC One +1"] == bbc
    with Session(engine) as session, session.begin():
        overrides.delete_rule(session, rule_id, actor=Actor(), threshold=85)
    assert channel_of(engine)["UK: BBC One +1"] != bbc


@pytest.mark.parametrize(
    ("pattern", "kind", "field", "message"),
    [
        ("(unclosed", "regex", "name", "not a valid regular expression"),
        ("x", "sql", "name", "Unknown rule kind"),
        ("x", "glob", "url", "Unknown rule field"),
        ("   ", "glob", "name", "1 to 255 characters"),
    ],
    ids=["bad-regex", "bad-kind", "bad-field", "blank"],
)
def test_bad_rules_are_refused_with_a_reason(
    engine: Engine, three: dict[str, Path], pattern: str, kind: str, field: str, message: str
) -> None:
    bbc = _channel(engine, "UK: BBC One HD")
    with Session(engine) as session, session.begin(), pytest.raises(InputError, match=message):
        overrides.create_rule(session, pattern, bbc, kind=kind, field=field, actor=Actor(), threshold=85)


def test_disabled_channel_stays_disabled_after_resync(engine: Engine, three: dict[str, Path],
                                                      settings: Settings) -> None:  # fmt: skip
    bbc = _channel(engine, "UK: BBC One HD")
    with Session(engine) as session, session.begin():
        overrides.set_channel_enabled(session, bbc, False, actor=Actor())
    for name in ("a", "b"):
        sync(engine, settings, name)
    with Session(engine) as session:
        assert session.get_one(Channel, bbc).enabled is False
    assert channel_of(engine)["UK: BBC One HD"] == bbc


def test_merging_unknown_channels_is_a_clear_error(engine: Engine, three: dict[str, Path]) -> None:
    bbc = _channel(engine, "UK: BBC One HD")
    with Session(engine) as session, session.begin():
        with pytest.raises(NotFoundError, match="no channel 999999"):
            overrides.merge_channels(session, bbc, 999999, actor=Actor(), threshold=85)
        with pytest.raises(InputError, match="already channel"):
            overrides.merge_channels(session, bbc, bbc, actor=Actor(), threshold=85)


def test_channel_takes_guide_id_logo_and_category_from_its_streams(engine: Engine, three: dict[str, Path]) -> None:
    with Session(engine) as session:
        bbc = session.get_one(Channel, _channel(engine, "UK: BBC One HD"))
        assert bbc.epg_id in {"bbcone.uk", "BBCOne.uk@SD"}
        assert bbc.category in {"UK General", "ENTERTAINMENT"}
        assert bbc.name.lower() == "bbc one"


def test_streams_left_without_a_channel_are_merged_by_the_next_sync(
    engine: Engine, three: dict[str, Path], settings: Settings
) -> None:
    """A merge that failed (or a database from before merging) leaves streams without channels; an unchanged
    re-sync notices and merges them."""
    before = channel_of(engine)
    with Session(engine) as session, session.begin():
        session.execute(update(Stream).values(channel_id=None, merge_method=None, rank=None))
    sync(engine, settings, "a")
    assert channel_of(engine) == before


def test_sync_without_merge_leaves_new_streams_out_of_every_channel(
    engine: Engine, three: dict[str, Path], settings: Settings
) -> None:
    write_playlist(three["c"], [*C, Line("Brand New Channel", "http://c.example/s/99.m3u8")])

    async def run() -> None:
        await sync_provider(engine, "c", settings=settings, merge=False)

    anyio.run(run)
    assert channel_of(engine)["Brand New Channel"] is None


def test_reset_undoes_a_manual_merge(engine: Engine, three: dict[str, Path], settings: Settings) -> None:
    west, east = _channel(engine, "CA: Sportsnet West"), _channel(engine, "|CA| SPORTSNET EAST")
    with Session(engine) as session, session.begin():
        overrides.merge_channels(session, east, west, actor=Actor(), threshold=85)
    with Session(engine) as session, session.begin():
        overrides.reset_channel(session, west, actor=Actor(), threshold=85)
    sync(engine, settings, "b")
    where = channel_of(engine)
    assert where["|CA| SPORTSNET EAST"] == east and where["CA: Sportsnet West"] == west
    with Session(engine) as session:
        assert session.get_one(Channel, east).merged_into_id is None
        assert not any(session.scalars(select(Stream.merge_pinned)))


def test_reset_of_a_split_returns_the_streams(engine: Engine, three: dict[str, Path]) -> None:
    sky = _channel(engine, "UK: Sky Sports 1 HD")
    with Session(engine) as session, session.begin():
        backup = session.scalars(select(Stream.id).where(Stream.name == "Sky Sports 1 (Backup)")).one()
        new_id = overrides.split_streams(session, sky, [backup], actor=Actor(), threshold=85).id
    with Session(engine) as session, session.begin():
        overrides.reset_channel(session, new_id, actor=Actor(), threshold=85)
    assert channel_of(engine)["Sky Sports 1 (Backup)"] == sky


def test_an_admins_name_survives_resync_until_reset(engine: Engine, three: dict[str, Path],
                                                     settings: Settings) -> None:  # fmt: skip
    bbc = _channel(engine, "UK: BBC One HD")
    with Session(engine) as session, session.begin():
        overrides.rename_channel(session, bbc, "  BBC One   London ", actor=Actor())
    for name in ("a", "b"):
        sync(engine, settings, name)
    with Session(engine) as session:
        assert session.get_one(Channel, bbc).name == "BBC One London"
    with Session(engine) as session, session.begin():
        overrides.reset_channel(session, bbc, actor=Actor(), threshold=85)
    with Session(engine) as session:
        assert session.get_one(Channel, bbc).name.lower() == "bbc one"


def test_channel_numbers_are_never_shared(engine: Engine, three: dict[str, Path]) -> None:
    bbc, sky = _channel(engine, "UK: BBC One HD"), _channel(engine, "UK: Sky Sports 1 HD")
    with Session(engine) as session, session.begin():
        overrides.renumber_channel(session, bbc, 101, actor=Actor())
    with Session(engine) as session, session.begin(), pytest.raises(ConflictError, match="number 101 already"):
        overrides.renumber_channel(session, sky, 101, actor=Actor())
    with Session(engine) as session:
        assert session.get_one(Channel, bbc).number == 101


def test_a_failed_merge_keeps_the_sync_and_the_next_sync_merges(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: the merge itself cannot be made to fail from outside, so it is replaced by one that does."""

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    add_provider(engine, "a", write_playlist(tmp_path / "a.m3u", A))
    monkeypatch.setattr("m3u_strm.ingest.sync.merge_catalogue", broken)
    row = sync(engine, settings, "a")
    assert any("Channels not merged yet" in w and "disk on fire" in w for w in row.warnings)
    assert set(channel_of(engine).values()) == {None}
    monkeypatch.undo()
    sync(engine, settings, "a")
    assert None not in channel_of(engine).values()
