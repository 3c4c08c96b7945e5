#!/usr/bin/env bash
# No egress, proven: runs assistantd and its worker inside a fresh network
# namespace that has only loopback, answers a chat through `assistant chat`,
# and checks that no socket of either process is connected anywhere but
# loopback (TCP) or a Unix socket. Needs root (unshare -n); CI runs as root.
#   netns_test.sh ASSISTANTD ASSISTANT WORKER SOURCE_DIR
set -euo pipefail
source "$(dirname "$0")/appliance_lib.sh"
if [ "${1:-}" != "--inside" ]; then
  exec unshare -n -- bash "$0" --inside "$@"
fi
shift
assistantd=$1 assistant=$2 worker=$3 src=$4
ip link set lo up
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
[ "$links" = "lo " ] || { echo "FAIL: namespace has interfaces other than lo: $links"; exit 1; }

state=$(mktemp -d /tmp/assistant-netns-XXXXXX)
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true; rm -rf "$state"' EXIT
cp "$src/policy/config/default-policy.yaml" "$state/policy.yaml" 2>/dev/null || true
start_appliance "$assistantd" "$worker" "$src" "$state"
cli=("$assistant" --server "127.0.0.1:$port" --state-dir "$state")
answer=$("${cli[@]}" chat --max-tokens 24 "Once upon a time" 2>"$state/chat.err")
[ -n "$answer" ] || { cat "$state/chat.err"; echo "FAIL: empty answer"; exit 1; }
# A second chat kept open while the sockets are inspected.
"${cli[@]}" chat --max-tokens 200 "The little dog" >/dev/null 2>&1 &
chat=$!

worker_pid=$(pgrep -P $daemon -f assistant-worker || true)
[ -n "$worker_pid" ] || { echo "FAIL: no worker child of assistantd"; exit 1; }
bad=0
for pid in $daemon $worker_pid; do
  # Every socket of the process, by inode.
  inodes=$(ls -l /proc/$pid/fd 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | grep -o '[0-9]*' | sort -u)
  for ino in $inodes; do
    if grep -q " $ino " /proc/net/unix 2>/dev/null; then continue; fi
    line=$(awk -v i="$ino" '$10 == i' /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null | head -1)
    if [ -z "$line" ]; then
      # netlink or other local-only families have no remote end
      continue
    fi
    remote=$(echo "$line" | awk '{print $3}')
    addr=${remote%:*}
    case "$addr" in
      0100007F|00000000|00000000000000000000000001000000|00000000000000000000000000000000|0000000000000000FFFF00000100007F) ;;
      *) echo "FAIL: pid $pid socket $ino connected to $remote"; bad=1 ;;
    esac
  done
done
wait $chat || true
ss -tanp > "$state/ss.txt" 2>/dev/null || true
if awk 'NR > 1 {print $5}' "$state/ss.txt" | grep -vE '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]|0\.0\.0\.0|\*|\[::\]):' | grep -q .; then
  echo "FAIL: a TCP socket with a non-loopback peer:"; cat "$state/ss.txt"; bad=1
fi
[ $bad = 0 ] || exit 1
echo "PASS: chat answered inside a loopback-only namespace; sockets of assistantd ($daemon) and worker ($worker_pid) touch only loopback and Unix sockets"
