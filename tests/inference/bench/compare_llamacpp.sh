#!/usr/bin/env bash
# Side-by-side CPU speed of our engine and llama.cpp (node-llama-cpp@3.21.1's prebuilt CPU
# binaries) on the same synthetic TinyLlama-shaped GGUF files, same thread count.
#
#   tests/inference/bench/compare_llamacpp.sh [--threads 2] [--prompt 512] [--decode 32]
#                                             [--batch 8] [--types "q8_0 q4_0"]
# Environment: BUILD_DIR (default build; must contain engine-bench and gguf-synth), PEER_DIR
# (default /tmp/peer, where `npm i -E node-llama-cpp@3.21.1` was run), MODEL_DIR (default /tmp;
# the models are written there by `gguf-synth` when missing, about 1.8 GB for both types).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
threads=2 prompt=512 decode=32 batch=8 types="q8_0 q4_0"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --prompt) prompt="$2"; shift 2 ;;
    --decode) decode="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --types) types="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
build="${BUILD_DIR:-$root/build}"
peer="${PEER_DIR:-/tmp/peer}"
models="${MODEL_DIR:-/tmp}"
bench="$(find "$build" -name engine-bench -type f -perm -u+x | head -1)"
synth="$(find "$build" -name gguf-synth -type f -perm -u+x | head -1)"
if [[ -z "$bench" || -z "$synth" ]]; then
  echo "engine-bench/gguf-synth not found under $build:" \
       "cmake --build $build --target engine-bench gguf-synth" >&2
  exit 1
fi
if [[ ! -d "$peer/node_modules/node-llama-cpp" ]]; then
  echo "llama.cpp peer missing: mkdir -p $peer && cd $peer && npm i -E node-llama-cpp@3.21.1" >&2
  exit 1
fi
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); threads $threads;" \
     "prompt $prompt; decode $decode; batch $batch"
for t in $types; do
  model="$models/tinyllama-synth-$t.gguf"
  if [[ ! -f "$model" ]]; then
    echo "writing $model"
    "$synth" --preset tinyllama-1.1b --type "${t^^}" --out "$model" \
      --vocab "$root/tests/data/vocab/ggml-vocab-llama-spm.gguf"
  fi
  echo "=== TinyLlama-1.1B shapes, $t ($(du -m "$model" | cut -f1) MiB) ==="
  ours="$("$bench" run --model "$model" --threads "$threads" --prompt "$prompt" \
          --decode "$decode" --batch "$batch")"
  theirs="$(PEER_DIR="$peer" node "$here/llamacpp_bench.mjs" --model "$model" \
            --threads "$threads" --prompt "$prompt" --decode "$decode" --batch "$batch")"
  echo "--- ours";      echo "$ours" | grep -v '^{'
  echo "--- llama.cpp"; echo "$theirs" | grep -v '^{'
  python3 - "$(echo "$ours" | grep '^{')" "$(echo "$theirs" | grep '^{')" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def r(k):
    return a[k] / b[k] if b.get(k) else float("nan")
def per(x, k1, k2):
    return x[k1] / x[k2] if x.get(k2) else float("nan")
base = a["file_mib"] + a["kv_mib"]
print(f"ratio ours/llama.cpp: prefill {r('prefill_tps'):.2f}x  decode {r('decode_tps'):.2f}x  "
      f"batched decode {r('batch_decode_tps'):.2f}x")
print(f"x{a['batch']} total / x1: ours {per(a, 'batch_decode_tps', 'decode_tps'):.2f}x  "
      f"llama.cpp {per(b, 'batch_decode_tps', 'decode_tps'):.2f}x")
print(f"peak rss / (file + kv used {base:.1f} MiB): ours {a['peak_rss_mib'] / base:.3f}  "
      f"llama.cpp {b['peak_rss_mib'] / base:.3f} (its process includes Node.js)")
PY
done
