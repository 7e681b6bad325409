"""Reviewing submissions side by side, for the interviewer: similar code (evidence for a
human, never a score change) and item analysis (how each check behaves across the
submissions graded together).

Reads reports and submissions as data; never imports grading, never changes a score.
"""

from proctor.review.items import MIN_SUBMISSIONS, ExerciseItems, Item, analyse
from proctor.review.similarity import NOTE, Pair, compare, flagged, segments, similar_pairs
from proctor.review.sources import annotate, candidate_code, given_code

__all__ = [
    "analyse", "Item", "ExerciseItems", "MIN_SUBMISSIONS",
    "similar_pairs", "compare", "flagged", "segments", "Pair", "NOTE",
    "annotate", "candidate_code", "given_code",
]
