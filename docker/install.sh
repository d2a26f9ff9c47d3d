#!/bin/sh
# Installs batch-review and its pinned dependencies into the current Python environment.
# The Dockerfile runs this; the test suite runs it too in a fresh virtual environment, so a broken
# install step fails CI even where no Docker engine is available.
#   usage: sh docker/install.sh [SOURCE_DIR]   (default: the current directory)
set -eu
src=${1:-.}
python -m pip install --no-cache-dir --disable-pip-version-check --require-hashes -r "$src/requirements.lock"
# --no-deps: everything it needs is already installed from the lock; --no-build-isolation: builds with the
# pinned setuptools above instead of fetching an unpinned one.
python -m pip install --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation "$src"
batch-review --version
