#!/usr/bin/env bash
# Entrypoint of the candidate image (docker/candidate.Dockerfile).
#
#   proctor-candidate [lab [JUPYTER ARGS...]]   seed the work dir, then run JupyterLab (default)
#   proctor-candidate COMMAND [ARGS...]         seed the work dir, then run COMMAND there
#                                               (e.g. `proctor check notebooks/`, `proctor submit`)
#
# The work dir is a mounted volume: the bundle is copied into it file by file, and a file
# that already exists there is never overwritten, so restarting the container (or a newer
# image) never loses the candidate's work.
#
# The session clock (proctor.candidate.session) lives in that volume too: the first start
# of JupyterLab records the session's start and deadline (the plan's time box) in
# .proctor/session.json, and no restart resets it; a watcher keeps TIME_LEFT.md current and
# at the deadline saves submissions/deadline-snapshot.zip (`proctor submit`, once, read-only).
# A COMMAND start does not start the clock, but takes a snapshot that is overdue (the
# container was stopped at the deadline).
#
# Environment: PROCTOR_BUNDLE_SRC (pristine bundle, default /opt/proctor/bundle),
# PROCTOR_WORK (work dir, default /home/candidate/work), JUPYTER_TOKEN (generated and
# printed when unset), JUPYTER_PORT (default 8888), PROCTOR_MINUTES (the time box, at the
# first start only; default: the plan's), PROCTOR_TICK_SECONDS (how often the watcher wakes,
# default 20), PROCTOR_CLOCK_FILE (tests only: a file holding the clock's epoch seconds).
set -euo pipefail

bundle="${PROCTOR_BUNDLE_SRC:-/opt/proctor/bundle}"
work="${PROCTOR_WORK:-/home/candidate/work}"
port="${JUPYTER_PORT:-8888}"

die() { echo "proctor-candidate: $*" >&2; exit 2; }

if [ ! -f "$bundle/README.md" ] || [ ! -d "$bundle/notebooks" ]; then
    die "no bundle at $bundle"
fi
mkdir -p "$work" 2>/dev/null || true
if [ ! -d "$work" ] || [ ! -w "$work" ]; then
    die "$work is not writable by uid $(id -u); mount a volume there that this user may \
write (see docker/README.md)"
fi

# Copy what is missing; keep everything that is there.
copied=0
while IFS= read -r -d '' rel; do
    rel="${rel#./}"
    if [ -d "$bundle/$rel" ]; then
        mkdir -p "$work/$rel"
    elif [ ! -e "$work/$rel" ] && [ ! -L "$work/$rel" ]; then
        cp -p "$bundle/$rel" "$work/$rel"
        copied=$((copied + 1))
    fi
done < <(cd "$bundle" && find . -mindepth 1 -print0 | sort -z)
if [ "$copied" -gt 0 ]; then
    echo "proctor-candidate: copied $copied bundle file(s) into $work"
fi

cd "$work"
export PROCTOR_BUNDLE="${PROCTOR_BUNDLE:-$work}"
export PROCTOR_WORK="$work"

if [ "$#" -eq 0 ] || [ "$1" = "lab" ]; then
    [ "$#" -gt 0 ] && shift
    python -m proctor.candidate.session start
    # The watcher is a child of this shell, which becomes JupyterLab (exec below); it stops
    # when the snapshot is taken or when its parent is gone. Its output goes to the volume.
    python -m proctor.candidate.session watch --parent "$$" \
        </dev/null >>"$work/.proctor/watch.log" 2>&1 &
    if [ -z "${JUPYTER_TOKEN:-}" ]; then
        JUPYTER_TOKEN="$(python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        echo "proctor-candidate: JUPYTER_TOKEN was not set; generated one"
    fi
    export JUPYTER_TOKEN
    echo "proctor-candidate: open http://127.0.0.1:${port}/lab?token=${JUPYTER_TOKEN}"
    echo "proctor-candidate: your work is saved in $work (a volume): README.md explains the rest"
    exec jupyter lab --ip=0.0.0.0 --port="$port" --no-browser \
        --ServerApp.root_dir="$work" "$@"
fi
python -m proctor.candidate.session tick >/dev/null
exec "$@"
