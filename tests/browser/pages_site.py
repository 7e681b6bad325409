"""For the browser tests: a gradebook built from hand-made reports (no grading, so it
takes a second), and a headless Chromium to read it with.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it), driven by
playwright's Python package through ``executable_path``: nothing is downloaded. Without
either, these tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from proctor.report import CheckResult, ExerciseResult, Report, points_for
from proctor.review.sources import candidate_code

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("PROCTOR_SCREENSHOTS", ROOT / "out" / "screenshots"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
#: a hostile submission name: markup that would run if it were not escaped
HOSTILE = "<img src=x onerror=window.__pwned=1>"
XSS = "<script>window.__pwned=2</script>"

LATENCY_OK = {"ratio": 1.02, "interval": [0.99, 1.07], "confidence": 0.99,
              "drift_allowance": 0.02, "blocks": 8, "calls_per_block": 1, "seconds": 1.77,
              "clock": "cpu:cgroup", "reference_ms_per_call": 22.4,
              "candidate_ms_per_call": 22.98}
LATENCY_SLOW = {**LATENCY_OK, "ratio": 19.4, "interval": [18.1, 20.6],
                "candidate_ms_per_call": 434.6, "early": "far"}
BUDGET = {"kind": "latency", "max": 3.0, "unit": "x reference"}


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _check(cid: str, status: str, pts: float, kind: str = "correctness", **kw) -> CheckResult:
    return CheckResult(cid, kind, status, points_for(status, pts), pts, True, **kw)


def _box_ops(level: int, source: str = "", message: str = "") -> ExerciseResult:
    """box_ops at a level of skill 0..4: better candidates pass more checks."""
    checks = [
        _check("iou_basic", "pass" if level >= 1 else "fail", 2, message=message or
               "box_iou: got 0.5, expected 0.25"),
        _check("nms_ties", "pass" if level >= 3 else "fail", 2,
               message="smallest failing input (N=3 tied scores): (array(...),\n ...)\n"
                       "nms: got [2 1], expected [2 0]"),
        _check("nms_latency", "pass" if level >= 2 else "fail", 3, "latency",
               message="nms is 19.4x the reference", budget=BUDGET,
               measured=LATENCY_OK if level >= 2 else LATENCY_SLOW,
               calibration={"accepted": [0.9, 1.3], "rejected": [8.0, 30.0],
                            "unit": "x reference", "recorded": "2030-03-17T17:46:40+00:00",
                            "cpu": "AMD EPYC 7B13"}),
        _check("batched_latency", "inconclusive" if level == 2 else
               "pass" if level > 2 else "fail", 3, "latency", budget=BUDGET,
               measured={**LATENCY_OK, "ratio": 3.02, "interval": [2.7, 3.3]}
               if level == 2 else LATENCY_OK, message="straddles the budget"),
        _check("types", "pass", 1, message="int64 indices"),
    ]
    return ExerciseResult("box_ops", "Box operations: IoU and NMS", "graded",
                          round(sum(c.points for c in checks), 4), 11.0, checks,
                          track="algorithms", source=source)


def _geometry(ok: bool) -> ExerciseResult:
    checks = [_check("tri_exact", "pass", 2, "accuracy",
                     measured={"normal": 6.87e-15, "poor": 5.05e-14},
                     budget={"kind": "accuracy", "max": 1e-6, "unit": "max error / scene scale"}),
              _check("homography_accuracy", "pass" if ok else "fail", 2, "accuracy",
                     message="reprojected 0.37 px", measured={"accuracy_px": 0.37 if ok else 0.9,
                                                               "recall": 0.77},
                     budget={"kind": "accuracy", "max": 0.5, "unit": "px"})]
    return ExerciseResult("geometry", "Two-view geometry", "graded",
                          sum(c.points for c in checks), 4.0, checks, track="cv",
                          skills=["3D geometry"])


def _quantize(status: str) -> ExerciseResult:
    checks = [_check("model_size", "pass", 2, "size",
                     measured={"bytes": 150306, "baseline_bytes": 545130, "ratio": 0.2757},
                     budget={"kind": "size", "max": 0.4, "unit": "x fp32 bytes"}),
              _check("latency", status, 4, "latency", message="logits is 5.04x the reference",
                     measured={**LATENCY_OK, "ratio": 5.04, "interval": [4.85, 5.2]}
                     if status == "fail" else LATENCY_OK,
                     budget={"kind": "latency", "max": 0.9, "unit": "x reference"}),
              _check("accuracy_drop", "pass", 2, "accuracy",
                     measured={"drop_points": 0.1, "drop_interval_95": [-0.18, 0.38]},
                     budget={"kind": "accuracy", "max": 1.0, "unit": "points below fp32"})]
    return ExerciseResult("quantize_int8", "Post-training int8 quantization", "graded",
                          sum(c.points for c in checks), 8.0, checks, track="edge")


def _missing(ex_id: str, title: str, track: str, points: float) -> ExerciseResult:
    return ExerciseResult(ex_id, title, "missing", 0.0, points,
                          message=f"no notebooks/{ex_id}.ipynb", track=track)


def reports() -> list[tuple[str, Report]]:
    code = {name: candidate_code(ROOT / "samples" / name, ["box_ops"]).get("box_ops", "")
            for name in ("strong", "planted_copy", "independent", "slow")}
    env = {"proctor": "0.1.0", "sandbox": {"available": True, "summary": "bwrap, cgroup v2"},
           "unsafe_no_sandbox": False, "grading_seconds": 93.2}

    def rep(name, exercises, problems=(), plan=True, **extra_env):
        """Graded as the screen plan (box_ops weighted to 20 points), but for ``plan=False``:
        the gradebook then says its reports come from different plans."""
        box = next(e for e in exercises if e.id == "box_ops")
        section = {"name": "screen", "title": "Technical screen: coding and ML fundamentals",
                   "stage": "screen", "minutes": 60, "points": 20.0,
                   "exercises": [{"id": "box_ops", "points": 20.0, "minutes": 25,
                                  "weight": round(20 / 11, 6)}],
                   "score": round(box.score * 20 / 11, 4), "max_score": 20.0,
                   "graded": [{"id": "box_ops", "weight": round(20 / 11, 6),
                               "score": round(box.score * 20 / 11, 4), "max_score": 20.0}],
                   "warnings": [], "notes": [], "ignored": []} if plan else None
        return name, Report({"name": name, "sha256": "ab" * 32}, exercises,
                            {**env, **extra_env}, list(problems), section)

    return [
        rep("strong", [_box_ops(4, code["strong"]), _geometry(True), _quantize("pass")]),
        rep("planted_copy", [_box_ops(4, code["planted_copy"]),
                             _missing("geometry", "Two-view geometry", "cv", 4.0),
                             _missing("quantize_int8", "Post-training int8 quantization",
                                      "edge", 8.0)]),
        rep("independent", [_box_ops(3, code["independent"]), _geometry(True),
                            _quantize("fail")]),
        rep("slow", [_box_ops(2, code["slow"]), _geometry(False), _quantize("error")]),
        rep("flawed", [_box_ops(1), _geometry(False), _quantize("timeout")]),
        rep(HOSTILE, [_box_ops(0, source=f"x = '{XSS}'\n", message=XSS), _geometry(False),
                      _missing("quantize_int8", "Post-training int8 quantization", "edge",
                               8.0)],
            problems=[f"notebooks/{XSS}.ipynb: symlinks are not accepted; ignored"],
            plan=False),
    ]
