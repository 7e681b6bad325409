"""Hidden checks for connected_components, against the reference, smallest case first."""

import numpy as np

from proctor.checks import check
from proctor.testing import as_array, assert_equal, smallest_failure
from proctor.worker_client import CandidateError


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


def same_partition(ctx, mask, conn):
    got, n = ctx.candidate.label(mask, conn)
    want, wn = ctx.reference.label(mask, conn)
    got = as_array(got, "labels", "iu", want.shape)
    assert isinstance(n, int) and n == wn, f"connectivity={conn}: expected {wn} components, got {n}"
    assert_equal(canonical(got), canonical(want), f"components (connectivity={conn})")


def exact(ctx, mask, conn):
    got, n = ctx.candidate.label(mask, conn)
    want, _ = ctx.reference.label(mask, conn)
    got = as_array(got, "labels", "iu", want.shape)
    assert got.dtype == np.int32, f"labels must be int32, got {got.dtype}"
    assert_equal(got, want, f"labels (connectivity={conn})")


@check(points=3)
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
    """1xW, Hx1, empty, full and single-pixel masks; uint8 and bool input."""
    rng = ctx.rng()
    cases = [
        ("1x1 empty", (np.zeros((1, 1), bool), 8)),
        ("1x1 full", (np.ones((1, 1), np.uint8), 8)),
        ("1xW", (random_mask(rng, 1, 50, 0.5), 8)),
        ("Hx1", (random_mask(rng, 50, 1, 0.5).astype(np.uint8), 4)),
        ("empty 30x20", (np.zeros((30, 20), np.uint8), 8)),
        ("full 20x20", (np.ones((20, 20), bool), 4)),
    ]
    smallest_failure(cases, lambda a: exact(ctx, *a))


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


@check(points=1)
def label_bad_input(ctx):
    """Invalid connectivity or dimensionality raises ValueError."""
    for args, what in [((np.ones((3, 3)), 0), "connectivity=0"),
                       ((np.ones((3, 3)), 6), "connectivity=6"),
                       ((np.ones(5), 8), "a 1-D mask"),
                       ((np.ones((2, 3, 4)), 4), "a 3-D mask")]:
        try:
            ctx.candidate.label(*args)
        except CandidateError as exc:
            assert exc.is_a("ValueError"), f"{what}: expected ValueError, got {exc.type_name}"
        else:
            raise AssertionError(f"{what}: expected ValueError, nothing was raised")


def _same(got, want):
    labels, n = got
    assert n == want[1], f"expected {want[1]} components, got {n}"
    assert_equal(as_array(labels, "labels", "iu"), want[0], "labels")


@check(points=3, kind="latency", budget="label_latency")
def label_latency(ctx):
    """label on fresh random 1024x1024 masks (density 0.5), relative to the reference."""
    return ctx.latency("label", lambda rng: (random_mask(rng, 1024, 1024, 0.5), 8),
                       budget="label_latency", compare=_same)
