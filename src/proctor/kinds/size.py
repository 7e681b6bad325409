"""size: bytes on disk, parameter or non-zero counts read from the artifact; the check reads
them and returns the Outcome. A size budget in bytes also limits each submitted artifact
file, which ``proctor submit`` warns about before the candidate hands it in."""

from __future__ import annotations

from proctor.kinds.base import Kind


class Size(Kind):
    name = "size"
    limits_files = True
    labels = {
        "bytes": ("size", "bytes"),
        "files": ("files", ""),
    }
