# syntax=docker/dockerfile:1
# The candidate's container for one interview plan: JupyterLab, CPU PyTorch, proctor's
# candidate commands (check, submit), the session clock and that plan's bundle. Nothing
# hidden can get in: the build context is filtered by candidate.Dockerfile.dockerignore
# (pyproject.toml, README.md, src/, docker/*.sh and out/bundles/ only) and each bundle is
# built from exercises/ alone, audited for leaks by `proctor bundle`.
#
#   proctor bundle out/bundles/screen --plan screen
#   docker build -f docker/candidate.Dockerfile --build-arg PLAN=screen \
#       -t proctor-candidate:screen .
#
# See docker/README.md for the run line (port 8888, token, work volume) and
# docs/interviews.md for running a whole stage.
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.14.1
ARG TORCHVISION_VERSION=0.29.1
ARG JUPYTERLAB_VERSION=4.6.6
ARG CANDIDATE_UID=1000
# The interview plan (interviews/<PLAN>.toml) whose bundle, out/bundles/<PLAN>, the image holds.
ARG PLAN=full

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1

# CPU-only PyTorch first, from its own index, so that the ml extra below finds it installed.
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" \
        "torch==${TORCH_VERSION}" "torchvision==${TORCHVISION_VERSION}"

# proctor itself (check, submit, the notebook helpers) and JupyterLab.
COPY pyproject.toml README.md LICENSE /tmp/proctor-src/
COPY src /tmp/proctor-src/src
RUN pip install --no-cache-dir "/tmp/proctor-src[ml]" "jupyterlab==${JUPYTERLAB_VERSION}" \
    && rm -rf /tmp/proctor-src

# No "get notified about official Jupyter news?" pop-up and no update checks: the
# candidate has an exercise to do, and the container has no reason to call out.
COPY docker/jupyter-overrides.json /usr/local/share/jupyter/lab/settings/overrides.json

# The pristine bundle (read-only, owned by root); the entrypoint copies it into the work
# volume on first start and never overwrites the candidate's files afterwards. The build
# fails unless the bundle's manifest names the plan asked for (a stale or renamed folder).
COPY out/bundles/${PLAN} /opt/proctor/bundle
RUN python -c "import glob; from proctor.library.notebooks import stamp_kernel; stamp_kernel(glob.glob('/opt/proctor/bundle/notebooks/*.ipynb'))"
COPY docker/candidate-entrypoint.sh /usr/local/bin/proctor-candidate
RUN python -m proctor.candidate.session expect-plan "${PLAN}" --work /opt/proctor/bundle \
    && chmod 0755 /usr/local/bin/proctor-candidate \
    && groupadd --gid "${CANDIDATE_UID}" candidate \
    && useradd --create-home --uid "${CANDIDATE_UID}" --gid "${CANDIDATE_UID}" --shell /bin/bash candidate \
    && mkdir -p /home/candidate/work \
    && chown candidate:candidate /home/candidate/work

USER ${CANDIDATE_UID}
WORKDIR /home/candidate/work
LABEL org.opencontainers.image.title="proctor-candidate" \
      proctor.plan="${PLAN}"
ENV PROCTOR_BUNDLE_SRC=/opt/proctor/bundle \
    PROCTOR_WORK=/home/candidate/work \
    PROCTOR_BUNDLE=/home/candidate/work \
    PROCTOR_ROOT=/home/candidate/work \
    SHELL=/bin/bash
VOLUME ["/home/candidate/work"]
EXPOSE 8888
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8888/api', timeout=4)"]
ENTRYPOINT ["proctor-candidate"]
CMD ["lab"]
