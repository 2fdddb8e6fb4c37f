"""Close-but-not-equal channel keys, found without comparing every pair: :func:`fuzzy_pairs`.

* **Blocks.** Keys are compared only with keys of the same signature (region, variant, number) that share a block:
  the first four letters of one of their two rarest words (rarest among the keys of that signature; numbers and
  timeshifts are not words here). "sky sports premier league" and "sky sport premier league" share "prem" and
  "leag"; 20,000 channels make blocks of tens, not one block of 20,000.
* **Score.** rapidfuzz ``fuzz.ratio`` of the two keys without the fillers "the", "tv", "channel" and
  "television" (0..100): "Fox News Channel" and "Fox News" score 100. A pair needs ``threshold`` or more.
* **Words must align.** After the words both keys share are set aside (and the fillers), each word left on one
  side must pair with a look-alike on the other: same first letter, five or more letters, no digits,
  ``fuzz.ratio`` >= 80 ("sport"/"sports", "premier"/"premiere"). So "CBS News" and "CBC News" (88 by ratio),
  "ESPN" and "ESPNU", or "Sky Sports Golf" and "Sky Sports Gold" stay apart, and a word one key has and the other
  lacks ("CNN International") keeps them apart too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from m3u_strm.errors import InputError

__all__ = ["FuzzyPair", "KeyNode", "fuzzy_pairs", "words_align"]

Signature = tuple[str | None, str | None, str | None]  # region, variant, number
_PREFIX_LENGTH = 4
_BLOCKS_PER_KEY = 2
_WORD_SIMILARITY = 80.0
_MIN_LOOKALIKE_LENGTH = 5
_FILLERS = frozenset({"the", "tv", "channel", "television"})


@dataclass(frozen=True, slots=True)
class KeyNode:
    signature: Signature
    compact: str  # the key without spaces: identifies the node within its signature
    key: str


@dataclass(frozen=True, slots=True)
class FuzzyPair:
    left: KeyNode
    right: KeyNode
    score: float
    block: str  # "spor|1": the shared block and the signature's non-empty parts

    @property
    def signature(self) -> Signature:
        return self.left.signature


def fuzzy_pairs(nodes: Sequence[KeyNode], *, threshold: float) -> list[FuzzyPair]:
    """Every pair of nodes that share a block, score ``threshold`` or more and whose words align; sorted."""
    if not 0.0 <= threshold <= 100.0:
        raise InputError(f"The fuzzy threshold must lie between 0 and 100, not {threshold}.")
    by_signature: dict[Signature, list[KeyNode]] = defaultdict(list)
    for node in nodes:
        by_signature[node.signature].append(node)
    pairs: list[FuzzyPair] = []
    for signature in sorted(by_signature, key=lambda parts: tuple(part or "" for part in parts)):
        pairs.extend(_pairs_in_signature(sorted(by_signature[signature], key=lambda n: n.compact), threshold))
    return pairs


def _pairs_in_signature(nodes: list[KeyNode], threshold: float) -> list[FuzzyPair]:
    seen: set[tuple[int, int]] = set()
    pairs = []
    cores = [_core(node.key) for node in nodes]
    for prefix, members in sorted(_blocks(nodes).items()):
        keys = [cores[index] for index in members]
        for position, index in enumerate(members[:-1]):
            matches = process.extract(
                keys[position], keys[position + 1 :], scorer=fuzz.ratio, score_cutoff=threshold, limit=None
            )
            for _choice, score, offset in matches:
                other = members[position + 1 + offset]
                if (index, other) in seen or not words_align(nodes[index].key, nodes[other].key):
                    continue
                seen.add((index, other))
                block = "|".join([prefix, *(part for part in nodes[index].signature if part)])
                pairs.append(FuzzyPair(nodes[index], nodes[other], float(score), block))
    return pairs


def _blocks(nodes: list[KeyNode]) -> dict[str, list[int]]:
    """Block prefix -> indexes of the nodes (ascending) that have it among their two rarest word prefixes."""
    prefixes = [sorted({word[:_PREFIX_LENGTH] for word in _block_words(node.key)}) for node in nodes]
    frequency = Counter(prefix for node_prefixes in prefixes for prefix in node_prefixes)
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, node_prefixes in enumerate(prefixes):
        for prefix in sorted(node_prefixes, key=lambda p: (frequency[p], p))[:_BLOCKS_PER_KEY]:
            blocks[prefix].append(index)
    return blocks


def _block_words(key: str) -> list[str]:
    return [word for word in _core(key).split() if not word.isdigit() and not word.startswith("+")]


def _core(key: str) -> str:
    """The key without filler words, unless nothing but numbers would be left ("channel 4" stays)."""
    words = [word for word in key.split() if word not in _FILLERS]
    return " ".join(words) if any(not word.isdigit() for word in words) else key


def words_align(first: str, second: str) -> bool:
    """Whether the words two keys do not share pair up as look-alikes (see the module docstring).

    >>> words_align("sky sport premier league", "sky sports premier league"), words_align("cbs news", "cbc news")
    (True, False)
    """
    left = Counter(first.split())
    right = Counter(second.split())
    only_left = sorted(word for word in (left - right).elements() if word not in _FILLERS)
    only_right = sorted(word for word in (right - left).elements() if word not in _FILLERS)
    if len(only_left) != len(only_right):
        return False
    for word in only_left:
        partner = next((other for other in only_right if _look_alike(word, other)), None)
        if partner is None:
            return False
        only_right.remove(partner)
    return True


def _look_alike(first: str, second: str) -> bool:
    return (
        min(len(first), len(second)) >= _MIN_LOOKALIKE_LENGTH
        and first[0] == second[0]
        and not any(char.isdigit() for char in first + second)
        and fuzz.ratio(first, second) >= _WORD_SIMILARITY
    )
