"""The committed store of built artifacts: used while current, rebuilt and reported when
its script changes, refreshed by ``--store-builds``."""

from pathlib import Path

from test_calibrate import _artifact_exercise

from proctor import calibrate as cal
from proctor.calibrate import builds


def test_a_stored_build_is_used_while_its_digest_is_current(tmp_path: Path) -> None:
    ex, sols = _artifact_exercise(tmp_path)
    found = {s.name: s for s in cal.discover(ex)}
    cache = tmp_path / "cache"
    built = {p.name: p for p in (cal.build_artifact(ex, s, cache) for s in found.values())}
    assert all(p.parent == cache / "toy_art" for p in built.values())

    changes = builds.store(ex, built)
    assert len(changes) == 2 and all(c.startswith("stored toy_art/builds/") for c in changes)
    (sols / builds.STORE / next(iter(built)) / "model.txt").write_text("from the store")
    ref = cal.build_artifact(ex, found["accepted/reference"], tmp_path / "empty_cache")
    assert ref.parent == sols / builds.STORE
    assert builds.stale(ex, set(built)) == []

    # the script changes (and with it its mutant's): both are rebuilt and reported stale
    script = sols / "accepted" / "reference" / "build.py"
    script.write_text(script.read_text() + "# retrained\n")
    found = {s.name: s for s in cal.discover(ex)}
    ref = cal.build_artifact(ex, found["accepted/reference"], cache)
    assert ref.parent == cache / "toy_art" and (ref / "model.txt").read_text() == "value = 1"
    now = {ref.name, cal.build_artifact(ex, found["rejected/two"], cache).name}
    assert not now & set(built)
    assert builds.stale(ex, now) == [f"toy_art/builds/{n}" for n in sorted(built)]
    changes = builds.store(ex, {n: cache / "toy_art" / n for n in now})
    assert sum(c.startswith("removed stale") for c in changes) == 2
    assert sorted(p.name for p in (sols / builds.STORE).iterdir()) == sorted(now)
