# batch-review as a Docker container action. The runner mounts the workspace at /github/workspace and
# passes the inputs as INPUT_* variables; `batch-review action` maps them onto the CLI.

# The base image by digest, so every build starts from the same bytes; the tag says what the digest is.
# python:3.11.16-slim-bookworm: the OCI image index (all platforms) as docker-library/repo-info recorded it.
# Dependabot (.github/dependabot.yml, docker) proposes newer digests and 3.11 patch releases as pull requests.
FROM python:3.11.16-slim-bookworm@sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f

# git: submit diffs the checked-out repository. Debian security updates replace old package versions,
# so an exact version pin would break the build whenever git is patched; the base image pins the suite.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /github/workspace

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1

# The o200k_base encoding, so submit counts request tokens exactly (tokenizer.py) instead of estimating:
# fetched at build time and checked against its pinned sha256 (the one tiktoken itself expects; another
# file fails the build), stored under the name tiktoken looks for (the sha1 of its URL). Nothing is
# downloaded when the action runs. Python rather than ADD --checksum, which needs BuildKit: a runner may
# build this file with the classic builder.
RUN python -c "import hashlib, os, sys, urllib.request; \
url = 'https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken'; \
data = urllib.request.urlopen(url, timeout=120).read(); \
digest = hashlib.sha256(data).hexdigest(); \
sys.exit('o200k_base.tiktoken: sha256 ' + digest) if digest != '446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d' else None; \
os.makedirs('/opt/tiktoken'); \
open('/opt/tiktoken/' + hashlib.sha1(url.encode()).hexdigest(), 'wb').write(data)"
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
# The image is the command line: `docker run IMAGE submit --dry-run`. The action passes its one argument,
# `action` (action.yml's args), so a workflow step runs `batch-review action`, once.
ENTRYPOINT ["batch-review"]
CMD ["--help"]
