#!/usr/bin/env bash
# Re-resolve the locks from pyproject.toml to the newest releases its ranges allow, for Python 3.11 to 3.13
# on any platform (one universal file each); needs uv (`pip install uv`). See docs/locking.md.
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile --quiet --universal --python-version 3.11 pyproject.toml --extra test -o requirements/test.lock "$@"
# The image's lock takes the tested versions: -c keeps every pin it shares with test.lock the same.
uv pip compile --quiet --universal --python-version 3.11 pyproject.toml --extra hub -c requirements/test.lock \
    -o requirements/hub.lock
