"""Pairs of submissions whose candidate-written code is suspiciously similar.

Fingerprinting is copydetect's (winnowing over k-grams of code that pygments has
tokenised with names, strings and comments abstracted away): renaming identifiers,
reformatting and reordering functions leave the fingerprints in place. The code every
candidate was given (starter and prompt code) is boilerplate: its fingerprints are
removed before comparing, so sharing it is never similarity.

A flag is evidence for a human to read side by side, never a score change.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from typing import Any

#: copydetect's noise threshold: matches shorter than this many filtered characters are
#: ignored (its default; a line such as ``np.maximum(a[:, None, 0], b[None, :, 0])``)
NOISE = 25
#: a pair is flagged when this share of either side's fingerprinted code matches ...
FLAG_SHARE = 0.5
#: ... and the matching code is at least this long (filtered characters)
MIN_OVERLAP = 120
NOTE = ("A similarity flag is evidence for a human to read, never a score change: "
        "compare the code side by side before drawing any conclusion.")


@dataclass
class Pair:
    """Two submissions' code for one exercise, and where it matches."""

    exercise: str
    a: str
    b: str
    share_a: float  # share of a's fingerprinted code found in b
    share_b: float
    overlap: int  # matching filtered characters (a's side)
    regions_a: list[tuple[int, int]] = field(default_factory=list)  # char ranges of a's code
    regions_b: list[tuple[int, int]] = field(default_factory=list)

    @property
    def share(self) -> float:
        return max(self.share_a, self.share_b)


def _fingerprint(code: str, boilerplate: Any) -> Any:
    from copydetect import CodeFingerprint  # heavy (matplotlib): only when reviewing

    return CodeFingerprint("code.py", NOISE, 1, boilerplate=boilerplate, language="python",
                           fp=io.StringIO(code))


def boilerplate_hashes(given: list[str]) -> list[int]:
    """Fingerprints of the code every candidate received (all k-grams, not winnowed)."""
    hashes: set[int] = set()
    for text in given:
        hashes |= set(_fingerprint(text, None).hashes)
    return sorted(hashes)


def compare(exercise: str, codes: dict[str, str], given: list[str]) -> list[Pair]:
    """Every pair of ``codes`` (name -> code of one exercise), most similar first."""
    from copydetect import compare_files

    boiler = boilerplate_hashes(given)
    prints = {}
    for name, code in codes.items():
        fp = _fingerprint(code, boiler)
        if fp.token_coverage > 0:
            prints[name] = fp
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        overlap, (sa, sb), (sl_a, sl_b) = compare_files(prints[a], prints[b])
        pairs.append(Pair(exercise, a, b, float(sa), float(sb), int(overlap),
                          _regions(sl_a), _regions(sl_b)))
    pairs.sort(key=lambda p: (-p.share, p.a, p.b))
    return pairs


def flagged(pairs: list[Pair]) -> list[Pair]:
    return [p for p in pairs if p.share >= FLAG_SHARE and p.overlap >= MIN_OVERLAP]


def similar_pairs(codes_by_exercise: dict[str, dict[str, str]],
                  given_by_exercise: dict[str, list[str]]) -> list[Pair]:
    """The flagged pairs of every exercise (exercise id -> name -> code)."""
    out: list[Pair] = []
    for ex_id, codes in codes_by_exercise.items():
        if len(codes) >= 2:
            out += flagged(compare(ex_id, codes, given_by_exercise.get(ex_id, [])))
    return out


def segments(code: str, regions: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``code`` cut into (text, matches) runs, for highlighting the matching regions."""
    out: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(regions):
        start, end = max(start, at), min(end, len(code))
        if end <= start:
            continue
        if start > at:
            out.append((code[at:start], False))
        out.append((code[start:end], True))
        at = end
    if at < len(code):
        out.append((code[at:], False))
    return out


def _regions(slices: Any) -> list[tuple[int, int]]:
    if len(slices) != 2 or len(slices[0]) == 0:
        return []
    return [(int(s), int(e)) for s, e in zip(slices[0], slices[1], strict=True)]
