"""``proctor submit``: pack a bundle's notebooks and artifacts into one zip.

The zip holds ``notebooks/<id>.ipynb``, ``artifacts/<id>/...`` and a
``manifest.json`` of sizes and sha256, which is exactly what ``proctor grade``
accepts.  Missing exercises and oversized artifacts are warned about, not fatal.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

from proctor.spec import Library

ARTIFACT_WARN_BYTES = 50 << 20


def pack(bundle: Path, out: Path, library: Library | None) -> int:
    files: list[Path] = []
    for sub in ("notebooks", "artifacts"):
        base = bundle / sub
        if base.is_dir():
            files += sorted(p for p in base.rglob("*") if p.is_file() or p.is_symlink())
    warnings = []
    kept = []
    for p in files:
        rel = p.relative_to(bundle)
        if p.is_symlink():
            warnings.append(f"{rel}: symlink skipped (copy the file instead)")
        elif any(part.startswith(".") for part in rel.parts) or "__pycache__" in rel.parts:
            continue
        else:
            kept.append(p)
    if library is not None:
        for ex in library.all():
            nb = bundle / "notebooks" / f"{ex.id}.ipynb"
            if not nb.is_file():
                warnings.append(f"{ex.id}: notebooks/{ex.id}.ipynb is missing")
            for a in ex.spec.artifacts:
                if not (bundle / "artifacts" / ex.id / a).is_file():
                    warnings.append(f"{ex.id}: artifacts/{ex.id}/{a} is missing")
    manifest = []
    for p in kept:
        data = p.read_bytes()
        rel = p.relative_to(bundle).as_posix()
        if rel.startswith("artifacts/") and len(data) > ARTIFACT_WARN_BYTES:
            warnings.append(f"{rel}: {len(data) / 1e6:.1f} MB is large; check the size budget")
        manifest.append({"path": rel, "bytes": len(data),
                         "sha256": hashlib.sha256(data).hexdigest()})
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in kept:
            zf.write(p, p.relative_to(bundle).as_posix())
        zf.writestr("manifest.json", json.dumps({"files": manifest}, indent=2) + "\n")
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"wrote {out} ({len(kept)} files)")
    return 0
