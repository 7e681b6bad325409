"""The exercise library on disk: specs, generated notebooks, candidate bundles, scaffolds.

``Library`` finds and validates ``exercises/<id>/exercise.toml``; ``notebooks``
generates starter notebooks; ``bundle`` builds the candidate bundle and audits it for
leaks; ``scaffold`` creates a new exercise (``proctor new``).
"""

from proctor.library.spec import (
    TRACKS,
    Budget,
    Exercise,
    ExerciseDir,
    Library,
    SpecError,
    load_spec,
)

__all__ = [
    "Library", "ExerciseDir", "Exercise", "Budget", "SpecError", "load_spec", "TRACKS",
]
