"""What a candidate's notebook imports: ``check()``, ``is_grading()``, ``artifact_dir()``.

``check()`` runs the public checks in the candidate's own kernel (no sandbox: it is
their machine); ``proctor check`` does the same from a shell (``candidate.cli``).
"""

from proctor.candidate.api import artifact_dir, bundle_dir, check, is_grading

__all__ = ["check", "is_grading", "artifact_dir", "bundle_dir"]
