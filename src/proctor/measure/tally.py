"""The blocks of one latency measurement, and the ratios they give once the boundary's
cost (measured in the reference's worker) is taken off both sides (docs/measurement.md,
"The boundary")."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from proctor.measure.blocks import Block
from proctor.measure.stats import corrected


@dataclass
class Tally:
    """The measured blocks so far (what a check stopped at the ceiling reports too).

    ``boundary`` holds the boundary's cost per full-size block, measured in the reference's
    worker (shared by a second attempt); its median is taken off both sides of every
    block's ratio (``stats.corrected``)."""

    k: int = 1
    cands: list[float] = field(default_factory=list)
    refs: list[float] = field(default_factory=list)
    wall_ratios: list[float] = field(default_factory=list)
    boundary: list[float] = field(default_factory=list)

    def add(self, b: Block) -> None:
        self.cands.append(b.cand)
        self.refs.append(b.ref)
        self.wall_ratios.append(b.cand_wall / max(b.ref_wall, 1e-9))
        if b.boundary > 0:
            self.boundary.append(b.boundary)

    def keep(self, n: int) -> None:
        """Forget the blocks after the first ``n`` (the boundary's samples stay)."""
        del self.cands[n:], self.refs[n:], self.wall_ratios[n:]

    @property
    def cost(self) -> float:
        """The boundary's estimated CPU seconds per block (0 when not measured)."""
        return statistics.median(self.boundary) if self.boundary else 0.0

    @property
    def ratios(self) -> list[float]:
        cost = self.cost
        return [corrected(c, r, cost) for c, r in zip(self.cands, self.refs, strict=True)]

    @property
    def raw_ratios(self) -> list[float]:
        return [c / r for c, r in zip(self.cands, self.refs, strict=True)]
