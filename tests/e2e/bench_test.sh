#!/usr/bin/env bash
# `assistant bench` against a real appliance (assistantd + worker + stories260K
# over mTLS on loopback): a short paced run with a warm-up, per-chat samples
# and the direct-to-worker comparison. Checks that it reports what the docs
# say (chats, no errors, the gateway's per-chat breakdown, one sample line per
# chat); the figures themselves are not judged here (docs/gateway.md).
#   bench_test.sh ASSISTANTD ASSISTANT WORKER SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/appliance_lib.sh"
assistantd=$1 assistant=$2 worker=$3 src=$4
state=$(mktemp -d /tmp/assistant-bench-XXXXXX)
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true; rm -rf "$state"' EXIT
start_appliance "$assistantd" "$worker" "$src" "$state" --policy "$src/tests/e2e/data/bench-policy.yaml"
socket=$(ls "$state"/run/worker-*.sock | head -1)
out=$("$assistant" --server "127.0.0.1:$port" --state-dir "$state" --json bench --clients 4 \
  --seconds 2 --warmup 0.5 --rate 40 --max-tokens 4 --samples "$state/samples" \
  --worker-socket "$socket") || { echo "$out"; echo "FAIL: bench exited non-zero"; exit 1; }
echo "$out"
field() { echo "$out" | grep -o "\"$1\":[^,}]*" | head -1 | cut -d: -f2; }
for f in requests_per_second errors gateway_added_ms_p50 gateway_added_ms_p99 offered_rate \
         warmup_seconds e2e_minus_direct_ms_p99; do
  [ -n "$(field "$f")" ] || { echo "FAIL: no $f in the report"; exit 1; }
done
[ "$(field errors)" = "0" ] || { echo "FAIL: errors"; exit 1; }
# The gateway's section is last in the report; its request count and the samples.
gw=${out##*\"gateway\":}
requests=$(echo "$gw" | grep -o '"requests":[0-9]*' | head -1 | cut -d: -f2)
[ "${requests:-0}" -gt 0 ] || { echo "FAIL: no chats measured"; exit 1; }
for k in late_starts warmup_requests added_ms request_append_ms outcome_append_ms worker_ms; do
  echo "$gw" | grep -q "\"$k\"" || { echo "FAIL: no $k in the gateway section"; exit 1; }
done
warm=$(echo "$gw" | grep -o '"warmup_requests":[0-9]*' | head -1 | cut -d: -f2)
[ "${warm:-0}" -gt 0 ] || { echo "FAIL: the warm-up measured nothing to leave out"; exit 1; }
lines=$(wc -l < "$state/samples")
[ "$lines" = "$requests" ] || { echo "FAIL: $lines sample lines for $requests chats"; exit 1; }
grep -q 'added_us=' "$state/samples" || { echo "FAIL: samples lack the gateway breakdown"; exit 1; }
# Paced at 40 chats/s for 2 s: about 80 chats (a loaded CI machine may fall behind).
[ "$requests" -ge 20 ] && [ "$requests" -le 90 ] || { echo "FAIL: $requests chats at 40/s for 2 s"; exit 1; }
echo "PASS: $requests chats measured, $warm in the warm-up"
