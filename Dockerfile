# batch-review as a Docker container action. The runner mounts the workspace at /github/workspace and
# passes the inputs as INPUT_* variables; `batch-review action` maps them onto the CLI.
FROM python:3.11.11-slim-bookworm

# git: submit diffs the checked-out repository. Debian security updates replace old package versions,
# so an exact version pin would break the build whenever git is patched; the base image tag pins the suite.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /github/workspace

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /opt/batch-review
COPY requirements.lock pyproject.toml README.md ./
COPY src ./src
COPY docker/install.sh ./docker/install.sh
RUN sh docker/install.sh /opt/batch-review

# Docker actions run as root: the runner's workspace and file-command files under /github belong to the
# runner's user and a non-root container user could not write GITHUB_OUTPUT or the state directory.
WORKDIR /github/workspace
ENTRYPOINT ["batch-review", "action"]
