#!/usr/bin/env bash
# Install everything wrpn-dse needs on a fresh Debian machine with Python 3.11 (run as root).
#   Debian: dataset-fashion-mnist (the default real data set), chromium (browser tests, static
#   figure export with kaleido).  PyPI: the project with its dev extra.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1; then
    missing=""
    [ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || missing="$missing dataset-fashion-mnist"
    [ -x /usr/bin/chromium ] || missing="$missing chromium"
    if [ -n "$missing" ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
fi
python3 -m pip install --quiet --upgrade pip
python3 -m pip install --quiet -e ".[dev]"
