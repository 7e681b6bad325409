#!/usr/bin/env bash
# Entrypoint of the grader image (docker/grader.Dockerfile).
#
#   proctor-grader [grade-all] [GRADE OPTIONS...]   grade every submission (a .zip or a
#                                                   directory) in $PROCTOR_SUBMISSIONS into
#                                                   $PROCTOR_REPORTS (default)
#   proctor-grader PROCTOR-COMMAND [ARGS...]        any proctor command, e.g. `list`,
#                                                   `calibrate`, `grade /submissions/x.zip --out /reports`
#
# Exit status is proctor's: 0 when grading completed (whatever the scores), 2 when no
# sandbox is available (run the container as docker/README.md says) or nothing to grade.
set -euo pipefail

subs="${PROCTOR_SUBMISSIONS:-/submissions}"
reports="${PROCTOR_REPORTS:-/reports}"

die() { echo "proctor-grader: $*" >&2; exit 2; }

if [ "$#" -eq 0 ] || [ "$1" = "grade-all" ] || [ "${1#-}" != "$1" ]; then
    [ "$#" -gt 0 ] && [ "$1" = "grade-all" ] && shift
    [ -d "$subs" ] || die "no $subs: mount the submissions with -v DIR:$subs:ro"
    items=()
    for p in "$subs"/*; do
        if [ -d "$p" ] || [ "${p%.zip}" != "$p" ]; then
            items+=("$p")
        fi
    done
    [ "${#items[@]}" -gt 0 ] || die "nothing to grade in $subs (expected .zip files or directories)"
    mkdir -p "$reports" 2>/dev/null || true
    [ -w "$reports" ] || die "$reports is not writable by uid $(id -u): mount a writable dir there"
    echo "proctor-grader: grading ${#items[@]} submission(s) from $subs into $reports"
    exec proctor grade "${items[@]}" --out "$reports" "$@"
fi
exec proctor "$@"
