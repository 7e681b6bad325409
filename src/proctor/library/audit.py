"""The leak audit: every byte a candidate receives, scanned for hidden material.

Needles are read from ``graders/`` and ``reference_solutions/`` only to compare against,
never to copy: whole hidden files (by hash), hidden seeds, hidden check names and
docstrings, helper names, distinctive lines of reference solutions.  ``bundle.build``
runs :func:`audit` on what it wrote and refuses a bundle that contains any.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from proctor.library.spec import Library, SpecError

HIDDEN_TREES = ("graders", "reference_solutions")
MIN_LINE = 24        # shorter lines are too common to call a leak
MIN_DOC_LINE = 16

@dataclass
class Needles:
    """Byte patterns that must never appear in anything a candidate receives."""

    digests: dict[str, str] = field(default_factory=dict)      # sha256 -> hidden file
    seeds: dict[str, str] = field(default_factory=dict)        # seed text -> seed file
    check_ids: dict[str, str] = field(default_factory=dict)    # hidden check name -> file
    helpers: dict[str, str] = field(default_factory=dict)      # other def names -> file
    lines: dict[str, str] = field(default_factory=dict)        # distinctive text -> file


def _text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


def _public_text(library: Library) -> str:
    """All text of the public tree: what is here is public by the author's choice."""
    base = library.root / "exercises"
    return "\n".join(t for p in sorted(base.rglob("*"))
                     if p.is_file() and (t := _text(p)) is not None)


def _public_digests(library: Library) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (library.root / "exercises").rglob("*") if p.is_file()}


def _docstrings(tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                out += [s.strip() for s in doc.splitlines()]
    return out


def hidden_needles(library: Library) -> Needles:
    """Everything hidden, as patterns: read from graders/ and reference_solutions/ only
    to compare against, never to copy."""
    n = Needles()
    public = _public_text(library)
    budgets = set()
    for ex_id in library.ids():  # an exercise that does not load has no public budgets
        try:
            budgets.update(library.get(ex_id).spec.budgets)
        except SpecError:
            pass
    public_digests = _public_digests(library)
    for tree_name in HIDDEN_TREES:
        tree = library.root / tree_name
        if not tree.is_dir():
            continue
        for p in sorted(tree.rglob("*")):
            if not p.is_file() or "__pycache__" in p.parts:
                continue
            rel = str(p.relative_to(library.root))
            data = p.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if data.strip() and digest not in public_digests:
                n.digests[digest] = rel
            text = _text(p)
            if text is None:
                continue
            if p.name == "seed.txt" and text.strip():
                n.seeds[text.strip()] = rel
            for line in text.splitlines():
                s = line.strip()
                if len(s) >= MIN_LINE and s not in public and re.search(r"\w{3}", s):
                    n.lines[s] = rel
            if p.suffix != ".py":
                continue
            try:
                mod = ast.parse(text)
            except SyntaxError:
                continue
            for s in _docstrings(mod):
                if len(s) >= MIN_DOC_LINE and s not in public:
                    n.lines[s] = rel
            if tree_name == "graders":
                for node in mod.body:
                    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        continue
                    if any(_is_check_decorator(d) for d in node.decorator_list):
                        # a budget may share its latency check's name: budgets are public
                        if node.name not in budgets:
                            n.check_ids[node.name] = rel
                    elif not re.search(rf"\b{re.escape(node.name)}\s*\(", public):
                        n.helpers[node.name] = rel  # matched as a call or def: name(
    return n


def _is_check_decorator(d: ast.expr) -> bool:
    f = d.func if isinstance(d, ast.Call) else d
    return (isinstance(f, ast.Name) and f.id == "check") or (
        isinstance(f, ast.Attribute) and f.attr == "check")


def _views(path: Path, data: bytes) -> list[str]:
    """Texts to search: the raw bytes, and for a notebook the decoded cell sources."""
    views = [data.decode("utf-8", "replace")]
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(data)
            parts = []
            for c in nb.get("cells", []):
                src = c.get("source", "")
                parts.append("".join(src) if isinstance(src, list) else str(src))
                for o in c.get("outputs", []):
                    t = o.get("text", "")
                    parts.append("".join(t) if isinstance(t, list) else str(t))
            views.append("\n".join(parts))
        except (ValueError, AttributeError):
            pass
    return views


def audit(root: Path, library: Library, needles: Needles | None = None,
          lines: bool = True) -> list[str]:
    """Every place under ``root`` where hidden material appears ("path: what")."""
    n = needles or hidden_needles(library)
    ids = re.compile(r"\b(" + "|".join(map(re.escape, n.check_ids)) + r")\b") \
        if n.check_ids else None
    helpers = re.compile(r"\b(" + "|".join(map(re.escape, n.helpers)) + r")\s*\(") \
        if n.helpers else None
    seeds = re.compile(r"(?<![0-9])(" + "|".join(map(re.escape, n.seeds)) + r")(?![0-9])") \
        if n.seeds else None
    found = []
    root = Path(root)
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            found.append(f"{p.relative_to(root)}: is a symlink")
            continue
        if not p.is_file():
            continue
        rel = p.relative_to(root)
        data = p.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in n.digests:
            found.append(f"{rel}: is a copy of {n.digests[digest]}")
        binary = b"\0" in data[:8192]
        for view in _views(p, data):
            if seeds and (m := seeds.search(view)) and (not binary or len(m.group(1)) >= 6):
                found.append(f"{rel}: contains the hidden seed of {n.seeds[m.group(1)]}")
            if binary:
                continue
            if ids and (m := ids.search(view)):
                found.append(f"{rel}: names hidden check {m.group(1)!r} "
                             f"({n.check_ids[m.group(1)]})")
            if helpers and (m := helpers.search(view)):
                found.append(f"{rel}: calls hidden helper {m.group(1)!r} "
                             f"({n.helpers[m.group(1)]})")
            if lines:
                for s, src in n.lines.items():
                    if s in view:
                        found.append(f"{rel}: contains a line of {src}: {s[:60]!r}")
    return sorted(set(found))
