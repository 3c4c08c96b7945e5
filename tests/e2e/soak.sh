#!/bin/bash
# Soak: assistantd + its worker under `assistant bench` load for N seconds,
# sampling the resident memory (VmRSS) of both every few seconds.
#
#   tests/e2e/soak.sh [--build DIR] [--seconds N] [--clients N] [--interval S]
#                     [--warmup S] [--stored] [--state DIR] [--rate R] [--direct]
#                     [--bench-warmup S]
#
# Prints every sample, then per process the first sample after the warm-up,
# the last, the maximum and last/first; exits 1 if a process's last or max
# sample is more than 10 % above its first (memory not flat), or if the bench
# saw errors. Not a CI test: run it once and report (docs/gateway.md).
# --rate R: the clients together offer R chats/s (paced; default: closed
# loop, each client as fast as it can). --direct: afterwards, the same load
# straight at the worker's socket (the bench's e2e_minus_direct figures).
# The bench's JSON is STATE.bench.json, one line per chat in STATE.samples.
# --bench-warmup S (default 2): the bench's first S seconds of load are left
# out of its latency figures (--warmup is the memory samples' warm-up).
# Works with an ASan build too (--build build-asan): LeakSanitizer reports
# land in STATE.log / the worker's stderr at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$ROOT/build
SECONDS_TOTAL=600
CLIENTS=64
INTERVAL=5
WARMUP=30
STORED=""
STATE=""
RATE=0
DIRECT=""
BENCH_WARMUP=2
while [ $# -gt 0 ]; do
  case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --seconds) SECONDS_TOTAL=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --interval) INTERVAL=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --stored) STORED=--stored; shift ;;
    --rate) RATE=$2; shift 2 ;;
    --direct) DIRECT=1; shift ;;
    --bench-warmup) BENCH_WARMUP=$2; shift 2 ;;
    --state) STATE=$2; shift 2 ;;
    -h|--help) sed -n 2,21p "$0"; exit 0 ;;
    *) echo "soak.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$STATE" ] || STATE=$(mktemp -d /tmp/assistant-soak-XXXXXX)/state
mkdir -p "$(dirname "$STATE")"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/appliance/assistantd" --state-dir "$STATE" --listen "127.0.0.1:$PORT" \
  --policy "$ROOT/tests/e2e/data/bench-policy.yaml" > "$STATE.log" 2>&1 &
DAEMON=$!
cleanup() { kill "$DAEMON" 2> /dev/null || true; wait "$DAEMON" 2> /dev/null || true; }
trap cleanup EXIT
for _ in $(seq 300); do
  grep -q '"msg":"listening"' "$STATE.log" 2> /dev/null && break
  kill -0 "$DAEMON" 2> /dev/null || { cat "$STATE.log" >&2; exit 2; }
  sleep 0.2
done
WORKER=$(pgrep -P "$DAEMON" | head -1)
[ -n "$WORKER" ] || { echo "soak.sh: no worker process" >&2; exit 2; }

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0; }

echo "soak: ${SECONDS_TOTAL}s, $CLIENTS clients, sample every ${INTERVAL}s, warm-up ${WARMUP}s," \
     "assistantd $DAEMON, worker $WORKER, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD/appliance/assistant" --server "127.0.0.1:$PORT" --state-dir "$STATE" --json bench \
  --clients "$CLIENTS" --seconds "$SECONDS_TOTAL" --max-tokens 16 --rate "$RATE" --warmup "$BENCH_WARMUP" --samples "$STATE.samples" $STORED \
  ${DIRECT:+--worker-socket "$STATE/run/worker-local.sock"} > "$STATE.bench.json" &
BENCH=$!
SAMPLES=$STATE.rss
: > "$SAMPLES"
START=$(date +%s)
while kill -0 "$BENCH" 2> /dev/null; do
  sleep "$INTERVAL"
  T=$(( $(date +%s) - START ))
  D=$(rss "$DAEMON"); W=$(rss "$WORKER")
  echo "$T $D $W" >> "$SAMPLES"
  printf 't=%4ds assistantd %7d kB  worker %7d kB  load %s\n' "$T" "$D" "$W" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
BENCH_RC=0
wait "$BENCH" || BENCH_RC=$?

python3 - "$SAMPLES" "$WARMUP" "$STATE.bench.json" "$BENCH_RC" << 'EOF'
import json, sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
warm = int(sys.argv[2])
rows = [r for r in rows if r[0] >= warm and r[1] > 0] or rows
ok = True
for i, name in ((1, "assistantd"), (2, "assistant-worker")):
    first, last, peak = rows[0][i], rows[-1][i], max(r[i] for r in rows)
    ratio, peak_ratio = last / first, peak / first
    flat = ratio <= 1.10 and peak_ratio <= 1.10
    ok &= flat
    print(f"{name:17s} first {first/1024:8.1f} MB (t={rows[0][0]}s)  last {last/1024:8.1f} MB "
          f"(t={rows[-1][0]}s)  max {peak/1024:8.1f} MB  last/first {ratio:.3f}  "
          f"max/first {peak_ratio:.3f}  {'flat' if flat else 'GROWS'}")
try:
    b = json.load(open(sys.argv[3]))
    g = b["gateway"]
    print(f"bench: {g['requests']} requests, {g['errors']} errors, {g['requests_per_second']:.0f}/s, "
          f"load {b['loadavg_before']} -> {b['loadavg_after']}")
    ok &= g["errors"] == 0
except Exception as e:  # the bench failed before printing
    print(f"bench: no report ({e}); exit status {sys.argv[4]}")
    ok = False
sys.exit(0 if ok else 1)
EOF
