# The one image of the deployment: the Dagster webserver, the daemon and every run worker run it.
#
#   webserver:   dagster-webserver -h 0.0.0.0 -p 3000 -w workspace.yaml
#   daemon:      dagster-daemon run -w workspace.yaml
#   run worker:  dagster api execute_run ...   (started by the EcsRunLauncher, one Fargate task per run)
#
# DAGSTER_HOME is /opt/dagster/home, holding deploy/aws/dagster.yaml (PostgreSQL storage, S3 compute logs,
# EcsRunLauncher); its DAGSTER_PG_* / DAGSTER_* variables come from the ECS task definitions (infra/modules/ecs).
# .ci/image_smoke.sh runs the same install and entry commands in a fresh virtualenv, since CI cannot build images.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ecommerce_pipeline ./ecommerce_pipeline
# The project and its dependencies (psycopg2-binary, pyarrow, duckdb: all wheels) into a venv copied whole
# into the runtime stage, so no compiler or pip cache reaches it.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir .

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster --no-create-home dagster \
    && mkdir -p /tmp/dagster && chown 10001:10001 /tmp/dagster
# The ECS tasks mount a volume here (their root filesystem is read-only); ECS fills it from this path of the
# image, so /tmp keeps its mode and /tmp/dagster (step logs, artifacts: deploy/aws/dagster.yaml) its owner.
VOLUME ["/tmp"]
COPY --from=build /opt/venv /opt/venv
COPY deploy/aws/dagster.yaml /opt/dagster/home/dagster.yaml
COPY workspace.yaml /opt/dagster/app/workspace.yaml
ENV PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/home \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /opt/dagster/app
USER 10001:10001
EXPOSE 3000
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
