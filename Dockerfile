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

# The o200k_base encoding, so submit counts request tokens exactly (tokenizer.py) instead of estimating:
# fetched at build time and checked against its pinned sha256 (the one tiktoken itself expects), stored
# under the name tiktoken looks for (the sha1 of its URL). Nothing is downloaded when the action runs.
ADD --checksum=sha256:446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d \
    https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken \
    /opt/tiktoken/fb374d419588a4632f3f557e76b4b70aebbca790
# a folder name, not a secret: hadolint takes any variable named *TOKEN* for one
# hadolint ignore=DL3064
ENV TIKTOKEN_CACHE_DIR=/opt/tiktoken

WORKDIR /opt/batch-review
COPY requirements.lock pyproject.toml README.md ./
COPY src ./src
COPY docker/install.sh ./docker/install.sh
RUN sh docker/install.sh /opt/batch-review

# Docker actions run as root: the runner's workspace and file-command files under /github belong to the
# runner's user and a non-root container user could not write GITHUB_OUTPUT or the state directory.
WORKDIR /github/workspace
ENTRYPOINT ["batch-review", "action"]
