"""Cross-provider stream matching: which streams of several providers are one channel (:func:`match_streams`).

The rules, in the order they link streams:

1. **Never across a signature.** Every link, of any kind, joins streams with the same (region, variant, number)
   from :func:`~m3u_strm.catalog.normalize.normalize_name`: "Sportsnet West" ≠ "Sportsnet East", "BBC One" ≠
   "BBC One +1", "Sky Sports 1" ≠ "Sky Sports 2", "ESPN" ≠ "ESPN 2" — even when providers reuse one EPG id for the
   +1 feed.
2. **EPG id.** Streams with the same :func:`~m3u_strm.catalog.normalize.normalize_tvg_id` are one channel. A
   provider that gives one id to three or more differently named channels (of one signature) is using it as a
   group label: its streams with that id are linked by name only.
3. **Same name.** Streams whose keys are equal once spaces are dropped ("Talk TV" = "TalkTV") are one channel,
   country by country: "US: Fox" and "UK: Fox" stay apart. A stream without a country joins its key's group when
   the key has exactly one country; with two or more it keeps to a group of its own. A stream's country is the one
   in its name, else the one its EPG id ends in ("cnn.us"); language prefixes (EN) name no country, and a name
   with a region ("CNN International", "BBC News North America") has none: it is one feed wherever it is listed.
4. **Fuzzy.** :func:`~m3u_strm.catalog.fuzzy.fuzzy_pairs` compares distinct keys inside blocks (see there) and
   accepts a pair at ``threshold`` or above (rapidfuzz ``fuzz.ratio``, 0..100) whose words align. Pairs join
   best score first; a join that would put two countries in one group is refused, and a country-less key whose
   close matches span two countries joins none of them.

Each stream's :class:`StreamLink` says how it joined: "single" for the group's anchor (its lowest stream id) or a
stream alone; else "tvg_id" when another member shares its EPG id, "name" when one shares its key, "fuzzy" with the
best score to a member. The result depends only on the set of candidates, not on their order.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from m3u_strm.catalog.fuzzy import FuzzyPair, KeyNode, Signature, fuzzy_pairs
from m3u_strm.catalog.normalize import NormalizedName, normalize_name, normalize_tvg_id
from m3u_strm.catalog.vocabulary import LANGUAGE_ONLY, country_of
from m3u_strm.errors import InputError

__all__ = ["MergeCandidate", "MergeGroup", "MergeMethod", "MergeResult", "StreamLink", "match_streams"]

MergeMethod = Literal["tvg_id", "name", "fuzzy", "single"]
_Unit = tuple[Signature, str, str | None]  # signature, compact key, country bucket
_MAX_NAMES_PER_TVG_ID = 2


@dataclass(frozen=True, slots=True)
class MergeCandidate:
    stream_id: int
    provider_id: int
    name: str
    tvg_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamLink:
    stream_id: int
    group_key: str  # "sky sports 1|UK": representative key and the group's countries (see MergeGroup.key)
    method: MergeMethod
    confidence: float  # 0..100
    reason: str  # "tvg-id bbcone.uk", "same name 'sky sports 1'", "fuzzy 91 with 'sky sports 1' (block: sky|1)"


@dataclass(frozen=True, slots=True)
class MergeGroup:
    # "<representative key>|<countries, sorted>": "sky sports 1|UK", "fox|", "cnn|UK,US". It stays the same while the
    # representative and the countries do, so a caller can find last run's channel by it. Two groups that would
    # share one get "#<hash of their stream ids>" appended.
    key: str
    name: NormalizedName  # the most common display among the members (mixed case before ALL CAPS, then A-Z)
    stream_ids: tuple[int, ...]  # sorted


@dataclass(frozen=True, slots=True)
class MergeResult:
    links: dict[int, StreamLink]
    groups: list[MergeGroup]  # sorted by key


@dataclass(frozen=True, slots=True)
class _Entry:
    candidate: MergeCandidate
    name: NormalizedName
    tvg: str | None
    country: str | None
    signature: Signature
    compact: str


class _Groups:
    """Union-find over entry indexes that knows each group's countries."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.parent = list(range(len(entries)))
        self.countries = [frozenset({entry.country}) if entry.country else frozenset() for entry in entries]

    def find(self, index: int) -> int:
        while self.parent[index] != index:
            self.parent[index] = self.parent[self.parent[index]]
            index = self.parent[index]
        return index

    def union(self, first: int, second: int, *, check_countries: bool = False) -> bool:
        """Join two groups; with ``check_countries``, refuse when one group's countries do not contain the other's."""
        a, b = self.find(first), self.find(second)
        if a == b:
            return True
        left, right = self.countries[a], self.countries[b]
        if check_countries and not (left <= right or right <= left):
            return False
        a, b = min(a, b), max(a, b)
        self.parent[b] = a
        self.countries[a] = left | right
        return True


def match_streams(
    candidates: Iterable[MergeCandidate],
    *,
    threshold: float = 85.0,
    names: dict[str, NormalizedName] | None = None,
) -> MergeResult:
    """Group the streams of several providers into channels; see the module docstring for the rules.

    ``names`` is a cache of normalised names the caller shares (the merge normalises each name once for both
    matching and quality); it is filled with every name matched.

    >>> streams = [MergeCandidate(1, 1, "UK: Sky Sports 1 HD"), MergeCandidate(2, 2, "|UK| SKY SPORTS 1 FHD")]
    >>> result = match_streams(streams)
    >>> [(link.method, link.reason) for link in result.links.values()]
    [('single', 'anchor of 2 streams'), ('name', "same name 'sky sports 1'")]
    """
    entries = _entries(candidates, {} if names is None else names)
    groups = _Groups(entries)
    reliable_tvg = _link_tvg_ids(entries, groups)
    units, unit_of = _link_names(entries, groups)
    fuzzy_by_unit = _link_fuzzy(entries, units, groups, threshold)
    return _result(entries, groups, _LinkEvidence(reliable_tvg, unit_of, fuzzy_by_unit))


def _entries(candidates: Iterable[MergeCandidate], names: dict[str, NormalizedName]) -> list[_Entry]:
    """Normalise every candidate once (a name shared by many streams is normalised once), sorted by stream id."""
    ordered = sorted(candidates, key=lambda candidate: candidate.stream_id)
    seen: set[int] = set()
    entries = []
    for candidate in ordered:
        if candidate.stream_id in seen:
            raise InputError(f"Stream id {candidate.stream_id} appears twice among the candidates to match.")
        seen.add(candidate.stream_id)
        if candidate.name not in names:
            names[candidate.name] = normalize_name(candidate.name)
        name = names[candidate.name]
        tvg = normalize_tvg_id(candidate.tvg_id)
        entries.append(
            _Entry(
                candidate=candidate,
                name=name,
                tvg=tvg,
                country=_country(name, tvg),
                signature=(name.region, name.variant, name.number),
                compact=_compact(name.key),
            )
        )
    return entries


def _country(name: NormalizedName, tvg: str | None) -> str | None:
    """The country of the name; else the one the EPG id ends in ("bbcone.uk" -> "UK"); language prefixes are none,
    and so is the country of a name with a region: "BBC News North America" is one feed wherever it is listed."""
    if name.region:
        return None
    if name.country and name.country not in LANGUAGE_ONLY:
        return name.country
    suffix = tvg.rsplit(".", 1)[-1] if tvg and "." in tvg else ""
    return country_of(suffix) if len(suffix) == 2 else None


def _compact(key: str) -> str:
    """The key without spaces, except between two numbers ("5 24" must not read "524")."""
    words = key.split()
    pieces = [words[0]] if words else []
    for previous, word in itertools.pairwise(words):
        pieces.append(" " + word if previous[-1].isdigit() and word[0].isdigit() else word)
    return "".join(pieces)


def _link_tvg_ids(entries: list[_Entry], groups: _Groups) -> list[str | None]:
    """Join entries with one EPG id and signature; returns each entry's EPG id where it was trusted."""
    names_per_label: dict[tuple[int, Signature, str], set[str]] = defaultdict(set)
    for entry in entries:
        if entry.tvg:
            names_per_label[(entry.candidate.provider_id, entry.signature, entry.tvg)].add(entry.compact)
    reliable: list[str | None] = []
    first_of: dict[tuple[Signature, str], int] = {}
    for index, entry in enumerate(entries):
        label = (entry.candidate.provider_id, entry.signature, entry.tvg or "")
        trusted = entry.tvg if entry.tvg and len(names_per_label[label]) <= _MAX_NAMES_PER_TVG_ID else None
        reliable.append(trusted)
        if trusted:
            groups.union(first_of.setdefault((entry.signature, trusted), index), index)
    return reliable


def _link_names(entries: list[_Entry], groups: _Groups) -> tuple[dict[_Unit, list[int]], list[_Unit]]:
    """Join entries with one compact key, country by country; returns each (key, country) unit's entries and each
    entry's unit."""
    countries: dict[tuple[Signature, str], set[str]] = defaultdict(set)
    for entry in entries:
        if entry.country:
            countries[(entry.signature, entry.compact)].add(entry.country)
    units: dict[_Unit, list[int]] = {}
    unit_of: list[_Unit] = []
    for index, entry in enumerate(entries):
        known = countries[(entry.signature, entry.compact)]
        unit = (entry.signature, entry.compact, next(iter(known)) if len(known) == 1 else entry.country)
        units.setdefault(unit, []).append(index)
        unit_of.append(unit)
    for members in units.values():
        for index in members[1:]:
            groups.union(members[0], index)
    return units, unit_of


def _link_fuzzy(
    entries: list[_Entry], units: dict[_Unit, list[int]], groups: _Groups, threshold: float
) -> dict[_Unit, list[tuple[FuzzyPair, _Unit]]]:
    """Join units whose keys are close, best first, never two countries in a group; returns each unit's edges."""
    pairs = fuzzy_pairs(_key_nodes(entries, units), threshold=threshold)
    buckets: dict[tuple[Signature, str], set[str | None]] = defaultdict(set)
    for signature, compact, bucket in units:
        buckets[(signature, compact)].add(bucket)
    near = _countries_near_countryless_keys(pairs, buckets)
    edges = [
        (pair, first, second)
        for pair in pairs
        for first, second in _unit_pairs(
            (pair.signature, pair.left.compact), (pair.signature, pair.right.compact), buckets, near
        )
    ]
    edges.sort(key=lambda edge: (-edge[0].score, _unit_order(edge[1]), _unit_order(edge[2])))
    accepted: dict[_Unit, list[tuple[FuzzyPair, _Unit]]] = defaultdict(list)
    for pair, first, second in edges:
        if groups.union(units[first][0], units[second][0], check_countries=True):
            accepted[first].append((pair, second))
            accepted[second].append((pair, first))
    return accepted


def _key_nodes(entries: list[_Entry], units: dict[_Unit, list[int]]) -> list[KeyNode]:
    """One node per (signature, compact key), named by its alphabetically first key."""
    keys: dict[tuple[Signature, str], str] = {}
    for (signature, compact, _bucket), members in units.items():
        for index in members:
            key = entries[index].name.key
            current = keys.get((signature, compact))
            keys[(signature, compact)] = key if current is None or key < current else current
    return [KeyNode(signature, compact, key) for (signature, compact), key in keys.items()]


def _countries_near_countryless_keys(
    pairs: list[FuzzyPair], buckets: dict[tuple[Signature, str], set[str | None]]
) -> dict[tuple[Signature, str], set[str]]:
    """For each key no stream of which has a country: the countries of the keys it is close to."""
    near: dict[tuple[Signature, str], set[str]] = defaultdict(set)
    for pair in pairs:
        left, right = (pair.signature, pair.left.compact), (pair.signature, pair.right.compact)
        for lonely, other in ((left, right), (right, left)):
            if buckets[lonely] == {None}:
                near[lonely].update(bucket for bucket in buckets[other] if bucket)
    return near


def _unit_pairs(
    left: tuple[Signature, str],
    right: tuple[Signature, str],
    buckets: dict[tuple[Signature, str], set[str | None]],
    near: dict[tuple[Signature, str], set[str]],
) -> list[tuple[_Unit, _Unit]]:
    """The (key, country) units a close pair of keys may join: the same country on both sides; two keys without
    any country; a key without any country and the one country all its close keys share."""
    left_buckets, right_buckets = buckets[left], buckets[right]
    pairs: list[tuple[str | None, str | None]] = [
        (country, country) for country in sorted(bucket for bucket in left_buckets & right_buckets if bucket)
    ]
    if left_buckets == right_buckets == {None}:
        pairs.append((None, None))
    elif left_buckets == {None} and len(near[left]) == 1 and near[left] <= right_buckets:
        pairs.append((None, next(iter(near[left]))))
    elif right_buckets == {None} and len(near[right]) == 1 and near[right] <= left_buckets:
        pairs.append((next(iter(near[right])), None))
    return [((*left, a), (*right, b)) for a, b in pairs]


def _unit_order(unit: _Unit) -> tuple[str, ...]:
    (region, variant, number), compact, bucket = unit
    return (region or "", variant or "", number or "", compact, bucket or "")


@dataclass(frozen=True, slots=True)
class _LinkEvidence:
    reliable_tvg: list[str | None]  # per entry: its EPG id where it was trusted
    unit_of: list[_Unit]  # per entry: its (key, country) unit
    fuzzy_by_unit: dict[_Unit, list[tuple[FuzzyPair, _Unit]]]  # accepted fuzzy edges of each unit


def _result(entries: list[_Entry], groups: _Groups, evidence: _LinkEvidence) -> MergeResult:
    members_of: dict[int, list[int]] = defaultdict(list)
    for index in range(len(entries)):
        members_of[groups.find(index)].append(index)
    named = []
    for members in members_of.values():
        representative = _representative([entries[index].name for index in members])
        countries = sorted({country for index in members if (country := entries[index].country)})
        named.append((f"{representative.key}|{','.join(countries)}", representative, members))
    taken = Counter(key for key, _representative_name, _members in named)
    links: dict[int, StreamLink] = {}
    merge_groups = []
    for readable_key, representative, members in named:
        stream_ids = tuple(entries[index].candidate.stream_id for index in members)
        key = readable_key if taken[readable_key] == 1 else f"{readable_key}#{_digest(stream_ids)}"
        merge_groups.append(MergeGroup(key=key, name=representative, stream_ids=stream_ids))
        shared = _Shared(
            tvg_ids=Counter(tvg for index in members if (tvg := evidence.reliable_tvg[index])),
            compacts=Counter(entries[index].compact for index in members),
        )
        for position, index in enumerate(members):
            link = _link(entries[index], evidence, shared, index) if position else _anchor_link(len(members))
            links[stream_ids[position]] = StreamLink(stream_ids[position], key, *link)
    merge_groups.sort(key=lambda group: group.key)
    return MergeResult(links=dict(sorted(links.items())), groups=merge_groups)


def _digest(stream_ids: tuple[int, ...]) -> str:
    return hashlib.blake2b(",".join(map(str, stream_ids)).encode(), digest_size=5).hexdigest()


_Link = tuple[MergeMethod, float, str]  # method, confidence, reason


def _anchor_link(size: int) -> _Link:
    return "single", 100.0, (f"anchor of {size} streams" if size > 1 else "no other stream matched")


@dataclass(frozen=True, slots=True)
class _Shared:
    """How often each trusted EPG id and each compact key occurs in one group."""

    tvg_ids: Counter[str]
    compacts: Counter[str]


def _link(entry: _Entry, evidence: _LinkEvidence, shared: _Shared, index: int) -> _Link:
    """How a member other than the anchor joined its group: by EPG id, by name, else by its best fuzzy edge."""
    tvg = evidence.reliable_tvg[index]
    if tvg and shared.tvg_ids[tvg] > 1:
        return "tvg_id", 100.0, f"tvg-id {tvg}"
    if shared.compacts[entry.compact] > 1:
        return "name", 100.0, f"same name '{entry.name.key}'"
    edges = evidence.fuzzy_by_unit.get(evidence.unit_of[index], [])
    if not edges:  # cannot happen: a unit joins a group by an id, a name or a fuzzy edge of its own
        return "name", 100.0, f"same group as '{entry.name.key}'"
    pair = max(edges, key=lambda edge: (edge[0].score, edge[1][1]))[0]
    other_key = pair.right.key if pair.left.compact == entry.compact else pair.left.key
    return "fuzzy", round(pair.score, 1), f"fuzzy {pair.score:.0f} with '{other_key}' (block: {pair.block})"


def _representative(names: list[NormalizedName]) -> NormalizedName:
    """The most common display; ties go to mixed case over ALL CAPS, then to the alphabetically first."""
    counts = Counter(name.display for name in names)
    display = min(counts, key=lambda text: (-counts[text], text.isupper(), text))
    return min((name for name in names if name.display == display), key=lambda name: name.original)
