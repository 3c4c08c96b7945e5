#!/usr/bin/env bash
# GPU run script: builds inference/ alone with nvcc (no gRPC, Qt or SQLCipher
# needed) and runs the CUDA checks against the CPU backend, writing the results
# to $OUT/gpu-results.txt (or ./gpu-results.txt). Meant for a machine with an
# NVIDIA GPU; finishes well within 8 minutes on an H200.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-.}/gpu-results.txt
build=${BUILD_DIR:-build-gpu}
{
  echo "== $(date -u) $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1)"
  cmake -S inference -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DASSISTANT_WERROR=OFF 2>&1 | grep -E "CUDA|Error"
  cmake --build "$build" -j "$(nproc)" --target cuda-backend-check cuda_host_test 2>&1 | tail -3
  echo "== host tests"
  "$build"/tests/inference/cuda_host_test 2>&1 | tail -3
  echo "== op-by-op and greedy checks"
  timeout 300 "$build"/tests/inference/cuda-backend-check
  echo "exit status $?"
} 2>&1 | tee "$out"
