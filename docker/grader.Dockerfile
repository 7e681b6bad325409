# syntax=docker/dockerfile:1
# The grader's container: the full harness (engine, exercises, hidden graders, reference
# solutions) with bubblewrap for the per-worker sandbox. Meant to run with
# --network none, submissions mounted read-only at /submissions and reports written to
# /reports (see docker/README.md for the exact run line).
#
#   docker build -f docker/grader.Dockerfile -t proctor-grader .
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG GRADER_UID=1000

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

# bubblewrap is the sandbox. Not version-pinned: it tracks the base image's Debian
# release and its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" \
        "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"

COPY pyproject.toml README.md LICENSE /tmp/proctor-src/
COPY src /tmp/proctor-src/src
RUN pip install --no-cache-dir "/tmp/proctor-src[ml]" && rm -rf /tmp/proctor-src

# The library: public exercises plus the hidden graders and reference solutions, and the
# interview plans (`grade --plan`). Owned by root and read-only for the grading user.
COPY exercises /opt/proctor/exercises
COPY graders /opt/proctor/graders
COPY reference_solutions /opt/proctor/reference_solutions
COPY interviews /opt/proctor/interviews
COPY docker/grader-entrypoint.sh /usr/local/bin/proctor-grader
RUN chmod 0755 /usr/local/bin/proctor-grader \
    && groupadd --gid "${GRADER_UID}" grader \
    && useradd --create-home --uid "${GRADER_UID}" --gid "${GRADER_UID}" --shell /bin/bash grader \
    && mkdir -p /submissions /reports \
    && chown grader:grader /reports

USER ${GRADER_UID}
WORKDIR /opt/proctor
ENV PROCTOR_ROOT=/opt/proctor \
    PROCTOR_SUBMISSIONS=/submissions \
    PROCTOR_REPORTS=/reports
ENTRYPOINT ["proctor-grader"]
CMD ["grade-all"]
