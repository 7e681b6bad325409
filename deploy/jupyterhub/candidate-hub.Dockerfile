# syntax=docker/dockerfile:1
# The candidate image for JupyterHub (deploy/jupyterhub/values.yaml): docker/candidate.Dockerfile
# plus jupyterhub-singleuser, which KubeSpawner runs through the image's entrypoint (it seeds
# the work volume from the bundle first). Build the candidate image first:
#
#   docker build -f docker/candidate.Dockerfile -t proctor-candidate:0.1.0 .
#   docker build -f deploy/jupyterhub/candidate-hub.Dockerfile -t proctor-candidate-hub:0.1.0 .
ARG CANDIDATE_IMAGE=proctor-candidate:0.1.0
FROM ${CANDIDATE_IMAGE}

# The Hub's major version (chart 4.4: JupyterHub 5.5): the single-user server talks its API.
ARG JUPYTERHUB_VERSION=5.5.0

USER 0
RUN pip install --no-cache-dir "jupyterhub==${JUPYTERHUB_VERSION}"
USER 1000
