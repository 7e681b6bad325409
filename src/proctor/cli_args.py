"""Command-line argument helpers: usage errors said before anything runs (exit 2)."""

from __future__ import annotations

import argparse
import sys

from proctor.library.spec import Library


def _usage_error(message: str) -> int:
    """A mistake on the command line: said before anything runs, exit status 2."""
    print(f"proctor: {message}", file=sys.stderr)
    return 2


def _unknown_exercises(lib: Library, ids: list[str] | None, flag: str) -> str | None:
    """The message naming an unknown exercise id and the valid ones, or None."""
    known = lib.ids()
    bad = [i for i in ids or [] if i not in known]
    if not bad:
        return None
    return (f"{flag}: unknown exercise {', '.join(repr(b) for b in bad)}; "
            f"valid: {', '.join(known)}")


def _shard(text: str) -> tuple[int, int]:
    from proctor.grading.many import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
