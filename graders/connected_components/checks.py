"""Hidden checks for connected_components, against the reference, smallest case first."""

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import as_array, assert_equal, smallest_failure


def random_mask(rng, h, w, density):
    return rng.random((h, w)) < density


def spiral(n):
    """A one-pixel-wide square spiral with one-pixel gaps: one very long, thin component."""
    m = np.zeros((n, n), dtype=bool)
    lengths, k = [n - 1] * 3, n - 3
    while k > 0:
        lengths += [k, k]
        k -= 2
    r = c = 0
    m[0, 0] = True
    for i, steps in enumerate(lengths):
        dr, dc = [(0, 1), (1, 0), (0, -1), (-1, 0)][i % 4]
        rr, cc = r + dr * np.arange(1, steps + 1), c + dc * np.arange(1, steps + 1)
        m[rr, cc] = True
        r, c = int(rr[-1]), int(cc[-1])
    return m


def canonical(labels):
    """Relabel by first appearance in row-major order: compares partitions, not numbers."""
    flat = labels.ravel()
    fg = flat > 0
    _, first, inv = np.unique(flat[fg], return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(1, first.size + 1)
    out = np.zeros(flat.size, dtype=np.int64)
    out[fg] = rank[inv]
    return out.reshape(labels.shape)


def _count(n, want, conn):
    """n compared by value: its type (a Python int) is the public label_count_type's."""
    ok = isinstance(n, (int, np.integer)) and int(n) == want
    assert ok, f"connectivity={conn}: expected {want} components, got {n!r}"


def _labels(got, want):
    """Labels of any integer dtype, cast to int64: int32 is the public label_dtype's."""
    return as_array(got, "labels", "iu", want.shape).astype(np.int64)


def same_partition(ctx, mask, conn):
    got, n = ctx.candidate.label(mask, conn)
    want, wn = ctx.reference.label(mask, conn)
    got = _labels(got, want)
    _count(n, wn, conn)
    assert_equal(canonical(got), canonical(want), f"components (connectivity={conn})")


def exact(ctx, mask, conn):
    got, n = ctx.candidate.label(mask, conn)
    want, wn = ctx.reference.label(mask, conn)
    _count(n, wn, conn)
    assert_equal(_labels(got, want), want.astype(np.int64), f"labels (connectivity={conn})")


@check(points=2)
def label_random(ctx):
    """Components of random masks of several densities and shapes (as partitions)."""
    rng = ctx.rng()
    cases = [(f"{h}x{w} density {d} conn {c}", (random_mask(rng, h, w, d), c))
             for h, w in [(3, 3), (8, 5), (20, 30), (64, 64)]
             for d in (0.2, 0.5, 0.7) for c in (4, 8)]
    smallest_failure(cases, lambda a: same_partition(ctx, *a))


@check(points=2)
def label_connectivity(ctx):
    """Diagonal-only contacts join components with 8-connectivity, not with 4."""
    diag = np.eye(6, dtype=bool)
    anti = np.fliplr(np.eye(5, dtype=bool))
    zig = np.zeros((4, 8), dtype=bool)
    zig[[0, 1, 0, 1, 0, 1, 0, 1], np.arange(8)] = True
    cases = [(f"{name} conn {c}", (m, c)) for name, m in
             [("diagonal", diag), ("anti-diagonal", anti), ("zigzag", zig)] for c in (4, 8)]
    smallest_failure(cases, lambda a: same_partition(ctx, *a))


@check(points=2)
def label_order(ctx):
    """Labels are numbered in row-major order of each component's first pixel."""
    rng = ctx.rng()
    u = np.zeros((5, 7), dtype=bool)
    u[1:5, 1] = u[4, 1:6] = u[0:5, 5] = True  # first pixel of U is at its right arm's top
    cases = [("U shape", (u, 8))] + [
        (f"{h}x{w} density {d}", (random_mask(rng, h, w, d), 8))
        for h, w in [(6, 6), (30, 40), (80, 60)] for d in (0.3, 0.6)]
    smallest_failure(cases, lambda a: exact(ctx, *a))


@check(points=2)
def label_edge_shapes(ctx):
    """Degenerate shapes (bool masks): zero rows or columns, 1x1, 1xW, Hx1, empty and full."""
    rng = ctx.rng()
    cases = [
        ("0x5", (np.zeros((0, 5), bool), 8)),
        ("4x0", (np.zeros((4, 0), bool), 4)),
        ("1x1 empty", (np.zeros((1, 1), bool), 8)),
        ("1x1 full", (np.ones((1, 1), bool), 8)),
        ("1xW", (random_mask(rng, 1, 50, 0.5), 8)),
        ("Hx1", (random_mask(rng, 50, 1, 0.5), 4)),
        ("empty 30x20", (np.zeros((30, 20), bool), 8)),
        ("full 20x20", (np.ones((20, 20), bool), 4)),
    ]
    smallest_failure(cases, lambda a: exact(ctx, *a))


def same_as_bool(ctx, mask, conn):
    """label(mask) equals label(mask != 0), both the candidate's: this judges the
    foreground rule alone (numbering and connectivity are other checks')."""
    got, n = ctx.candidate.label(mask, conn)
    want, wn = ctx.candidate.label(mask != 0, conn)
    want = as_array(want, "label(mask != 0)", "iu", mask.shape)
    _count(n, int(wn), conn)
    assert_equal(_labels(got, want), want.astype(np.int64),
                 f"labels of a {mask.dtype} mask vs labels of mask != 0 (connectivity={conn})")


@check(points=1)
def label_truthy(ctx):
    """Non-boolean masks: a pixel is foreground when its value is truthy (non-zero), so
    negative values and fractions count too (uint8 0/1/255, int8 with -1, float with -2.5
    and 0.25): label(mask) must equal label(mask != 0)."""
    rng = ctx.rng()
    base = random_mask(rng, 12, 15, 0.5)
    signs = rng.choice(np.array([-1, 1], np.int8), base.shape)
    cases = [
        ("uint8 0/1 1x1", (np.ones((1, 1), np.uint8), 8)),
        ("uint8 0/1/255 12x15", (base.astype(np.uint8) * rng.choice([1, 255], base.shape)
                                 .astype(np.uint8), 4)),
        ("int8 with -1 12x15", (base.astype(np.int8) * signs, 8)),
        ("float with -2.5 and 0.25 12x15", (base * rng.choice([-2.5, 0.25, 3.0], base.shape), 4)),
    ]
    smallest_failure(cases, lambda a: same_as_bool(ctx, *a))


@check(points=2)
def label_checkerboard(ctx):
    """A checkerboard is one component with 8-connectivity and H*W/2 with 4."""
    board = (np.indices((16, 16)).sum(0) % 2 == 0)
    cases = [("16x16 checkerboard conn 8", (board, 8)),
             ("16x16 checkerboard conn 4", (board, 4))]
    smallest_failure(cases, lambda a: exact(ctx, *a))


@check(points=2)
def label_spiral(ctx):
    """A long, thin spiral (one component of ~half a million pixels) and a full large mask."""
    cases = [("spiral 1001x1001", (spiral(1001), 8)),
             ("full 512x512", (np.ones((512, 512), bool), 4))]
    smallest_failure(cases, lambda a: exact(ctx, *a))


def _same(got, want):
    """Timed outputs: the reference's labels and count by value (dtype and type are the
    public checks' business, not the latency check's)."""
    labels, n = got
    assert isinstance(n, (int, np.integer)) and int(n) == int(want[1]), (
        f"expected {want[1]} components, got {n!r}")
    assert_equal(as_array(labels, "labels", "iu").astype(np.int64),
                 np.asarray(want[0], dtype=np.int64), "labels")


@check(points=2, kind="latency", budget="label_latency")
def label_latency(ctx):
    """label on fresh random 1024x1024 masks (density 0.5), relative to the reference."""
    return ctx.latency("label", lambda rng: (random_mask(rng, 1024, 1024, 0.5), 8),
                       budget="label_latency", compare=_same)
