#!/usr/bin/env bash
# The project's test command (README): the whole suite on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=PASSIVE
exec python3 -m pytest -q "$@"
