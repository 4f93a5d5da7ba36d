# drewburr's image: `drewburr serve` as a non-root user, dependencies from requirements.lock (hashes
# checked), no compiler, no pip or setuptools and no lab dependencies in the final stage. The locks are
# made for CPython 3.11 on x86_64 Linux (`make lock`); keep the base's Python in step with them.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
# the build backend (setuptools) from its own lock, in a venv of its own that stays in this stage
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements-build.lock
# the runtime venv, copied whole into the final stage
RUN python -m venv /opt/drewburr \
    && /opt/drewburr/bin/pip install --no-cache-dir --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot bot
COPY commands commands
COPY infra infra
COPY alert_handlers alert_handlers
COPY lab lab
# the project as a wheel built offline by the locked backend, installed without resolving anything;
# then the runtime venv drops its own installers
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && /opt/drewburr/bin/pip install --no-cache-dir --no-deps /tmp/wheels/drewburr-*.whl \
    && /opt/drewburr/bin/pip uninstall --yes pip setuptools

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="drewburr" \
      org.opencontainers.image.description="Slack ChatOps bot for a Proxmox VE + Ceph + K3s homelab" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 drewburr \
    && useradd --system --uid 10001 --gid drewburr --home-dir /var/lib/drewburr --create-home drewburr
COPY --from=build /opt/drewburr /opt/drewburr
ENV PATH=/opt/drewburr/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DREWBURR_CONFIG=/etc/drewburr/drewburr.yaml
USER 10001:10001
WORKDIR /var/lib/drewburr
EXPOSE 8080
# /healthz answers while the process is alive; the port is server.port (8080 in deploy/kubernetes)
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('DREWBURR_SERVER__PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["drewburr"]
CMD ["serve"]
