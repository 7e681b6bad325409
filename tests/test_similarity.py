"""Similarity flags, proven on a corpus: the demo samples (scripts/make_samples.py).

``planted_copy`` is ``strong``'s code for four exercises with identifiers renamed,
functions reordered, docstrings and comments dropped and the layout rewritten: each of
those pairs must be flagged. ``independent`` (box_ops and seg_masks written apart from
the references), ``flawed`` and ``slow`` are independent work: no pair of them may be
flagged, with each other or with ``strong``. Starter and prompt code are excluded.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import nbformat
import pytest

from proctor.library.spec import Library
from proctor.review.similarity import FLAG_SHARE, compare, flagged, segments, similar_pairs
from proctor.review.sources import candidate_code, given_code

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
CODE_EXERCISES = ["box_ops", "connected_components", "seg_masks", "vit_attention",
                  "tracking", "geometry"]
COPIED = {"box_ops", "connected_components", "seg_masks", "vit_attention"}

pytest.importorskip("copydetect")


@pytest.fixture(scope="module")
def library() -> Library:
    return Library(ROOT)


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, str]]:
    """exercise -> sample name -> the code of its notebook."""
    out: dict[str, dict[str, str]] = {}
    for sample in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        for ex_id, code in candidate_code(sample, CODE_EXERCISES).items():
            out.setdefault(ex_id, {})[sample.name] = code
    return out


@pytest.fixture(scope="module")
def pairs(corpus, library):
    return {ex: compare(ex, codes, given_code(library.get(ex))) for ex, codes in corpus.items()}


def test_the_planted_copy_is_flagged_in_each_exercise_it_copied(pairs):
    for ex in COPIED:
        hits = {(p.a, p.b): p for p in flagged(pairs[ex])}
        assert ("planted_copy", "strong") in hits, (ex, [(p.a, p.b, p.share) for p in pairs[ex]])
        p = hits[("planted_copy", "strong")]
        assert min(p.share_a, p.share_b) >= 0.7  # most of both sides, not a shared idiom
        assert p.regions_a and p.regions_b


def test_independent_work_is_not_flagged(pairs):
    flags = {(ex, p.a, p.b) for ex in pairs for p in flagged(pairs[ex])}
    assert flags == {(ex, "planted_copy", "strong") for ex in COPIED}
    # the negatives the issue names: independently written correct solutions
    for ex in ("box_ops", "seg_masks"):
        p = next(p for p in pairs[ex] if {p.a, p.b} == {"independent", "strong"})
        assert p.share < FLAG_SHARE, (ex, p.share)


def test_the_copy_really_is_disguised(corpus):
    """The planted copy shares no line with the original beyond imports and the
    interface, and its functions come in another order: a plain diff would miss it."""
    for ex in COPIED:
        copy, original = corpus[ex]["planted_copy"], corpus[ex]["strong"]
        shared = {ln.strip() for ln in copy.splitlines()} & {ln.strip() for ln in
                                                            original.splitlines()}
        shared = {ln for ln in shared if ln and not ln.startswith(("import", "from", "def ",
                                                                  "# ──", "return", "check("))}
        assert len(shared) <= 6, (ex, shared)
        order = [n.name for n in ast.parse(_code_only(copy)).body
                 if isinstance(n, ast.FunctionDef)]
        original_order = [n.name for n in ast.parse(_code_only(original)).body
                          if isinstance(n, ast.FunctionDef)]
        assert order != original_order


def _code_only(code: str) -> str:
    """The starter cell of a sample notebook's code (cells are headed by a comment)."""
    cells = code.split("# ── cell ")
    return max(cells, key=len).split("\n", 1)[1]


def test_the_starter_code_is_excluded(library):
    """Two submissions that leave the starter as given and write little of their own
    share the whole starter: that must not count, and would without the exclusion."""
    ex = library.get("box_ops")
    a = ex.starter + "\n\ndef helper_a(x):\n    return sorted(x)[::-1]\n"
    b = ex.starter + "\n\ndef helper_b(values, k):\n    return [v * k for v in values if v]\n"
    codes = {"a": a, "b": b}
    assert not flagged(compare("box_ops", codes, given_code(ex)))
    assert flagged(compare("box_ops", codes, []))  # the starter alone would flag them


def test_similar_pairs_needs_two_submissions_and_reads_hostile_code_as_text():
    assert similar_pairs({"ex": {"only": "x = 1\n"}}, {}) == []
    hostile = "def f():\n    return '<script>alert(1)</script>' * 3\n" * 20
    (p,) = compare("ex", {"a": hostile, "b": hostile + "\n# more\n"}, [])
    text = "".join(t for t, _ in segments(hostile, p.regions_a))
    assert text == hostile and any(hit for _, hit in segments(hostile, p.regions_a))


def test_the_samples_are_what_make_samples_writes():
    """The planted copy is regenerated by the script's own disguise()."""
    spec = importlib.util.spec_from_file_location("make_samples",
                                                  ROOT / "scripts" / "make_samples.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ref = (ROOT / "reference_solutions" / "box_ops" / "accepted" / "reference.py").read_text()
    copy = mod.disguise(ref, {"box_iou", "nms", "batched_nms"})
    nb = nbformat.read(SAMPLES / "planted_copy" / "notebooks" / "box_ops.ipynb", as_version=4)
    assert copy.rstrip() in [c.source for c in nb.cells if c.cell_type == "code"]
    namespace: dict = {}
    exec(compile(copy, "copy.py", "exec"), namespace)  # still works: same behaviour
    import numpy as np

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], float)
    scores = np.array([0.9, 0.8, 0.7])
    assert namespace["nms"](boxes, scores, 0.5).tolist() == [0, 2]
    assert "_as_boxes" not in namespace and "_the_as_boxes" in namespace  # renamed
