#!/usr/bin/env bash
# GPU run script (issue 5): on a machine with an NVIDIA GPU, in one run of under 8 minutes on an
# H200 with 16 cores:
#   1. builds inference/ alone with nvcc (no gRPC, Qt, SQLCipher; GoogleTest optional);
#   2. runs the host-side tests (if GoogleTest is there) and cuda-backend-check: every op against
#      the CPU backend at stated tolerances, device sampling against its reference, greedy ids of
#      stories260K one sequence at a time and batched through the engine (graphs on and off);
#   3. writes Llama-3-8B-shaped synthetic models (gguf-synth preset llama3-8b, Q8_0 and BF16) and
#      runs `assistant-model bench --backend cuda`: copy bandwidth, bf16 cuBLAS peak, prefill and
#      decode tok/s at 1, 8, 32, 64, 128 sequences, the fractions of the bandwidth bound and of
#      the bf16 peak, then the acceptance run (64 sequences, 512-token prompts, 256 tokens);
#   4. prints where the GPU time goes (ASSISTANT_CUDA_PROFILE=1) for a 2,048-token prefill and 32
#      decode steps;
#   5. checks that --tensor-parallel 2 on a one-GPU machine fails with the GPU-count message.
# Results go to $OUT/gpu-results.txt (or ./gpu-results.txt), line by line as they come. Every
# stage has its own timeout, cut to what is left of TOTAL_S (470 s), so the run ends within 8
# minutes even when a stage is slow; a stage that hit its limit shows exit status 124.
#
# Environment: OUT, BUILD_DIR (build-gpu), MODELS_DIR (/tmp/gpu-models), N_LAYER (32: the full
# 8B; fewer layers shorten the synth and bench stages), SKIP_BENCH=1 (stages 1-2 only),
# CUDA_ARCH (90), TOTAL_S (470), PREBUILT (a folder with the three programs built elsewhere,
# used for any that did not build here), SKIP_BUILD=1 (use PREBUILT only).
set -uo pipefail
cd "$(dirname "$0")/../.."
out_dir=${OUT:-.}
mkdir -p "$out_dir"
out=$out_dir/gpu-results.txt
build=${BUILD_DIR:-build-gpu}
models=${MODELS_DIR:-/tmp/gpu-models}
n_layer=${N_LAYER:-32}
arch=${CUDA_ARCH:-90}
t0=$(date +%s)
total=${TOTAL_S:-470}  # the whole run stays under 8 minutes: no stage outlives this budget
stage() { echo; echo "== [$(( $(date +%s) - t0 )) s] $*"; }
# Seconds a stage may take: its own limit, or what is left of the total if that is less.
budget() {
  local left=$(( total - ($(date +%s) - t0) ))
  [ "$left" -lt 1 ] && left=1
  [ "$1" -lt "$left" ] && echo "$1" || echo "$left"
}

{
  stage "GPU"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv,noheader 2>&1
  echo "nproc $(nproc), $(nvcc --version 2>/dev/null | tail -1)"

  # cuBLAS and NCCL are opened at run time: find them where the CUDA toolkit or a Python wheel
  # put them when the loader does not know them.
  for lib in libcublas.so.13 libnccl.so.2; do
    ldconfig -p 2>/dev/null | grep -q "$lib" && continue
    found=$(find /usr/local /opt /usr/lib -name "$lib*" -not -path '*/proc/*' 2>/dev/null | head -1)
    [ -n "$found" ] && export LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "$lib: ${found:-known to the loader}"
  done

  if [ "${SKIP_BUILD:-0}" != 1 ]; then
  stage "configure and build inference/ (sm_${arch})"
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  cmake -S inference -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" -DASSISTANT_WERROR=OFF 2>&1 | grep -E "CUDA|Error|GoogleTest"
  targets=(cuda-backend-check assistant-model gguf-synth)
  # The GoogleTest tests exist when the configure found GoogleTest.
  [ -d "$build/tests/inference" ] && targets+=(cuda_host_test cuda_sampling_test cuda_tp_test)
  timeout "$(budget 240)" cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" 2>&1 | grep -E "error|warning|Linking" | tail -15
  fi
  # PREBUILT (a folder of binaries built elsewhere for sm_90) stands in for any that did not build.
  bin() {
    local b
    b=$(find "$build" -name "$1" -type f -perm -u+x 2>/dev/null | head -1)
    [ -z "$b" ] && [ -n "${PREBUILT:-}" ] && [ -x "$PREBUILT/$1" ] && b=$PREBUILT/$1
    echo "$b"
  }
  for t in cuda-backend-check assistant-model gguf-synth; do echo "$t: $(bin "$t")"; done
  export ASSISTANT_SOURCE_DIR=$PWD

  stage "host-side tests"
  for t in cuda_host_test cuda_sampling_test cuda_tp_test; do
    b=$(bin "$t")
    if [ -n "$b" ]; then echo "$t: $(timeout "$(budget 60)" "$b" 2>&1 | tail -1)"; else echo "$t: not built (no GoogleTest)"; fi
  done

  stage "cuda-backend-check (ops, sampling, greedy ids, graphs)"
  timeout "$(budget 150)" stdbuf -oL "$(bin cuda-backend-check)"
  echo "cuda-backend-check exit status $?"

  if [ "${SKIP_BENCH:-0}" != 1 ]; then
    am=$(bin assistant-model)
    synth=$(bin gguf-synth)
    mkdir -p "$models"
    stage "synthetic Llama-3-8B shapes (${n_layer} layers), Q8_0 and BF16, written in parallel"
    for ty in Q8_0 BF16; do
      [ -s "$models/llama3-8b-$n_layer-$ty.gguf" ] ||
        timeout "$(budget 150)" "$synth" --out "$models/llama3-8b-$n_layer-$ty.gguf" --preset llama3-8b \
          --type "$ty" --n-layer "$n_layer" --seed 1 &
    done
    wait
    ls -la "$models"

    stage "bench Q8_0: 1, 8, 32, 64, 128 sequences, 512-token prompts, 64 tokens"
    timeout "$(budget 120)" stdbuf -oL "$am" bench --model "$models/llama3-8b-$n_layer-Q8_0.gguf" --backend cuda \
      --prompt-len 512 --gen 64 --concurrency 1,8,32,64,128
    echo "exit status $?"

    stage "bench BF16: 1 and 64 sequences"
    timeout "$(budget 75)" stdbuf -oL "$am" bench --model "$models/llama3-8b-$n_layer-BF16.gguf" --backend cuda \
      --prompt-len 512 --gen 64 --concurrency 1,64
    echo "exit status $?"

    stage "prefill of one 2,048-token prompt (one step): BF16 and Q8_0"
    for ty in BF16 Q8_0; do
      timeout "$(budget 45)" stdbuf -oL "$am" bench --model "$models/llama3-8b-$n_layer-$ty.gguf" --backend cuda \
        --prompt-len 2048 --gen 4 --concurrency 1
      echo "exit status $?"
    done

    stage "acceptance: Q8_0, 64 sequences, 512-token prompts, 256 tokens each (vs batch 1 above)"
    timeout "$(budget 75)" stdbuf -oL "$am" bench --model "$models/llama3-8b-$n_layer-Q8_0.gguf" --backend cuda \
      --prompt-len 512 --gen 256 --concurrency 64
    echo "exit status $?"

    stage "where the GPU time goes (ASSISTANT_CUDA_PROFILE=1: GPU time per op, graphs off)"
    for ty in Q8_0 BF16; do
      ASSISTANT_CUDA_PROFILE=1 timeout "$(budget 40)" "$am" bench --model "$models/llama3-8b-$n_layer-$ty.gguf" \
        --backend cuda --prompt-len 2048 --gen 32 --concurrency 1 2>&1 | grep -v '^{'
    done
  fi

  stage "tensor parallelism on this machine"
  am=$(bin assistant-model)
  timeout "$(budget 30)" "$am" bench --model models/stories260K.gguf --backend cuda --tensor-parallel 2 \
    --concurrency 1 --prompt-len 8 --gen 2
  echo "exit status $? (expected 1 with one GPU: the GPU-count message)"

  stage "done"
} 2>&1 | tee "$out"
