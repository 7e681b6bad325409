"""Regenerate samples/: candidate-shaped submissions for the demo, built from the
starter notebooks with a reference solution pasted into the starter cell.

A pick names a solution as ``proctor calibrate`` does (``accepted/reference``,
``rejected/tie_order``); a mutant (``mutates`` in its ``expect.toml``) contributes the
source calibration builds for it. A solution folder's saved files (``artifacts/<id>/``,
or another solution's through ``weights_from``) are copied to the sample's
``artifacts/<id>/``, as a candidate would submit them. For an
artifact exercise (the edge track) the pick's ``build.py`` makes the model, through
calibration's content-addressed cache (``.cache/calibrate``), and the notebook shows
the build script where the candidate's code would be.

A pick may also be ``code:<candidate>/<exercise>`` (hand-written code under
scripts/sample_code/, written independently of the reference solutions, so that
similarity review has honest negatives) or ``copy:<sample>`` (the planted copy: that
sample's code with identifiers renamed, functions reordered, docstrings and comments
dropped and the layout rewritten, as a candidate hiding a copy would).

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import ast
import builtins
import shutil
import sys
from pathlib import Path

import nbformat

from proctor.calibrate import Solution, build_artifact, discover, source_for
from proctor.library import notebooks as nbgen
from proctor.library.spec import Library

SAMPLES = {
    # a strong candidate: accepted solutions everywhere
    "strong": {
        "box_ops": "accepted/reference",
        "connected_components": "accepted/reference",
        "detection": "accepted/reference",
        "tracking": "accepted/reference",
        "geometry": "accepted/reference",
        "onnx_export": "accepted/reference",
        "quantize_int8": "accepted/reference",
        "prune": "accepted/reference",
        "vit_attention": "accepted/reference",
        "seg_masks": "accepted/reference",
    },
    # a flawed one: a tie-order bug, a slow labeller, a slow tracker, an int8 model that
    # is slower than fp32, attention in Python loops, run-length codes built pixel by
    # pixel; detection, geometry and the other edge exercises not attempted
    "flawed": {
        "box_ops": "code:flawed/box_ops",
        "connected_components": "rejected/python_union_find",
        "tracking": "rejected/python_loops",
        "quantize_int8": "rejected/dynamic_quantization",
        "vit_attention": "rejected/python_loops",
        "seg_masks": "rejected/pixel_loop_rle",
    },
    # the planted copy: strong's code for four exercises, renamed, reordered and
    # reformatted; the similarity review must flag each pair with "strong"
    "planted_copy": {
        "box_ops": "copy:strong",
        "connected_components": "copy:strong",
        "vit_attention": "copy:strong",
        "seg_masks": "copy:strong",
    },
    # correct solutions written independently of the references: never flagged
    "independent": {
        "box_ops": "code:independent/box_ops",
        "seg_masks": "code:independent/seg_masks",
        "connected_components": "rejected/recursive_flood",
    },
    # plain Python loops: correct, but over the latency budgets
    "slow": {
        "box_ops": "code:slow/box_ops",
        "seg_masks": "code:slow/seg_masks",
    },
    # the edge track only: an accepted export with external data, a pruned model that
    # was not fine-tuned, float16 instead of int8
    "edge_only": {
        "onnx_export": "accepted/dynamo_external_data",
        "prune": "rejected/no_fine_tuning",
        "quantize_int8": "rejected/fp16",
    },
}

SAMPLE_CODE = Path(__file__).resolve().parent / "sample_code"


CACHE = Path(".cache") / "calibrate"  # calibration's build cache, under the library root


def notebook_with(library: Library, exercise_id: str, code: str) -> str:
    ex = library.get(exercise_id)
    nb = nbformat.reads(nbgen.render(ex), as_version=4)
    starter = next(c for c in nb.cells if c.cell_type == "code" and c.source == ex.starter.rstrip())
    starter.source = code.rstrip()
    return nbformat.writes(nb) + "\n"


def pick(library: Library, exercise_id: str, name: str) -> Solution:
    sols = discover(library.get(exercise_id))
    found = [s for s in sols if s.name == name]
    if not found:
        raise SystemExit(f"{exercise_id}: no solution {name!r} (have {[s.name for s in sols]})")
    return found[0]


def solution_files(library: Library, exercise_id: str, name: str) -> tuple[str, Path | None]:
    """The solution's code (a mutant's built source) and the folder of its saved files
    (None if it has none), as calibration grades them."""
    ex = library.get(exercise_id)
    src = source_for(ex, pick(library, exercise_id, name), library.root / CACHE)
    (code,) = src.cells  # a .py solution is one cell
    return code, src.artifact_dir


def built_model(library: Library, exercise_id: str, name: str) -> tuple[str, Path]:
    """An artifact solution's build script and the folder it built (cached)."""
    ex = library.get(exercise_id)
    sol = pick(library, exercise_id, name)
    built = build_artifact(ex, sol, library.root / CACHE)
    return (sol.path / "build.py").read_text(), built


#: how the planted copy renames what it renames (the rest gets a "the_" prefix)
SYNONYMS = {"boxes": "bxs", "order": "ranking", "keep": "kept", "inter": "overlap",
            "union": "joint", "w": "width", "h": "height", "mask": "m", "labels": "lab",
            "parent": "roots", "counts": "runs", "scores": "conf"}


def disguise(code: str, keep: set[str]) -> str:
    """What a candidate hiding a copy does: rename every identifier that is not part of
    the interface (``keep``, its parameters, imports, builtins), drop docstrings and
    comments, reverse the order of the top-level definitions and re-lay the code out
    (``ast.unparse``). Behaviour is unchanged."""
    tree = ast.parse(code)
    fixed = set(keep) | set(dir(builtins)) | {"self", "cls"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            fixed |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.FunctionDef) and node.name in keep:
            fixed |= {a.arg for a in node.args.args + node.args.kwonlyargs}

    def rename(name: str) -> str:
        if name in fixed or name.startswith("__"):
            return name
        lead = "_" if name.startswith("_") else ""
        base = name.lstrip("_")
        return lead + SYNONYMS.get(base, f"the_{base}")

    class Renamer(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            node.id = rename(node.id)
            return node

        def visit_arg(self, node: ast.arg) -> ast.arg:
            node.arg = rename(node.arg)
            return node

        def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
            node.name = rename(node.name)
            if node.body and _is_docstring(node.body[0]):
                node.body = node.body[1:] or [ast.Pass()]
            self.generic_visit(node)
            return node

    tree = Renamer().visit(tree)
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    rest = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))
            and not _is_docstring(n)]
    tree.body = imports + rest[::-1]
    return ast.unparse(tree) + "\n"


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def main() -> int:
    library = Library.find(Path(__file__).resolve().parents[1])
    out = library.root / "samples"
    written: dict[tuple[str, str], str] = {}
    for name, picks in SAMPLES.items():
        dest = out / name
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "notebooks").mkdir(parents=True)
        for ex_id, sol_name in picks.items():
            ex = library.get(ex_id)
            artifacts = None
            if sol_name.startswith("copy:"):
                code = disguise(written[(sol_name[5:], ex_id)], set(ex.spec.interface))
            elif sol_name.startswith("code:"):
                code = (SAMPLE_CODE / f"{sol_name[5:]}.py").read_text()
            elif ex.spec.kind == "artifact":
                code, artifacts = built_model(library, ex_id, sol_name)
            else:
                code, artifacts = solution_files(library, ex_id, sol_name)
            written[(name, ex_id)] = code
            (dest / "notebooks" / f"{ex_id}.ipynb").write_text(notebook_with(library, ex_id, code))
            if artifacts is not None:
                shutil.copytree(artifacts, dest / "artifacts" / ex_id,
                                ignore=shutil.ignore_patterns(".complete"))
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
