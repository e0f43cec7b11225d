#!/usr/bin/env bash
# Install everything wrpn-dse needs on a fresh Debian machine with Python 3.11 (run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --upgrade pip
python3 -m pip install --quiet -e ".[dev]"
