"""Scores grouped the way a hiring panel talks about a role: per track (algorithms, ML
fundamentals, CV modelling, edge deployment) and per extra skill an exercise declares
(``skills = ["3D geometry"]`` in its exercise.toml), plus the colour of a share."""

from __future__ import annotations

from typing import Any

#: A track's name on the pages: the skill of the role it evidences.
TRACK_NAMES = {"algorithms": "Algorithms", "ml": "ML fundamentals", "cv": "CV modelling",
               "edge": "Edge deployment", "": "Other"}
TRACK_ORDER = ["algorithms", "ml", "cv", "edge", ""]

#: Background colours for a share of points, light to dark blue through a light grey and
#: orange for low shares (a diverging scale that reads in colour-blind vision); every one
#: keeps >= 4.5:1 contrast with the dark text drawn on it.
SHARE_COLOURS = [(0.2, "#f4a582"), (0.4, "#fbd3bd"), (0.6, "#f2f2f2"), (0.8, "#cfe3f0"),
                 (0.999, "#9fc8e3"), (1.01, "#6fa9d3")]
TEXT = "#111111"


def share_colour(share: float | None) -> str:
    if share is None:
        return "#ffffff"
    for upper, colour in SHARE_COLOURS:
        if share < upper:
            return colour
    return SHARE_COLOURS[-1][1]


def share(score: float, max_score: float) -> float | None:
    return score / max_score if max_score else None


def track_name(track: str) -> str:
    return TRACK_NAMES.get(track, track.replace("_", " ").capitalize())


def profile(exercises: list[Any]) -> list[dict[str, Any]]:
    """One row per track, then one per extra skill: points, share, colour and the
    exercises counted (each with its status), in a fixed order."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def add(key: tuple[str, str], name: str, e: Any) -> None:
        row = rows.setdefault(key, {"key": key[1], "name": name, "is_track": key[0] == "t",
                                    "score": 0.0, "max_score": 0.0, "exercises": []})
        row["score"] += e.score
        row["max_score"] += e.max_score
        row["exercises"].append({"id": e.id, "title": e.title, "status": e.status})

    for e in exercises:
        track = getattr(e, "track", "") or ""
        add(("t", track), track_name(track), e)
        for skill in getattr(e, "skills", []) or []:
            add(("s", skill), str(skill), e)
    order = sorted(rows, key=lambda k: (k[0] != "t", TRACK_ORDER.index(k[1])
                                        if k[0] == "t" and k[1] in TRACK_ORDER else 99, k[1]))
    out = []
    for key in order:
        row = rows[key]
        row["score"] = round(row["score"], 4)
        row["share"] = share(row["score"], row["max_score"])
        row["colour"] = share_colour(row["share"])
        row["percent"] = round(100 * row["share"]) if row["share"] is not None else 0
        row["score_text"], row["max_text"] = f"{row['score']:g}", f"{row['max_score']:g}"
        out.append(row)
    return out
