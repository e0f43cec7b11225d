#!/usr/bin/env bash
# The one prepared script for a session lent a GPU (issue 10): epoch timings against the targets,
# then the gpu preset's training, everything under $OUT (the device tool brings $OUT back).
#   DATA=fashion-mnist-gz-folder OUT=/some/dir bash benchmarks/gpu_session.sh
# Needs only torch, numpy, pandas (no dash/plotly): the report is made afterwards on an ordinary
# machine by rerunning `python -m experiments.reproduce --preset gpu --out DIR` (nothing retrains).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:?set DATA to a folder holding the four Fashion-MNIST .gz files}
OUT=${OUT:-runs/gpu}
export PYTHONPATH=$PWD OMP_WAIT_POLICY=PASSIVE
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
# ~2 minutes: 3 epochs each of ResNet-20 and ResNet-56, fp32 and w2a8, one process.
timeout 240 python benchmarks/bench_train.py --device cuda --data-dir "$DATA" --epochs 3 \
    2>&1 | tee "$OUT/bench_train.txt" || echo "bench_train ended with status $?" >> "$OUT/bench_train.txt"
# The preset: 40 runs, 12 at a time; resumable, so a second call finishes what a first began.
timeout 420 python -m experiments.reproduce --preset gpu --device cuda --data-dir "$DATA" \
    --out "$OUT/repro" --train-only 2>&1 | tee "$OUT/reproduce.log"
