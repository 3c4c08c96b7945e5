# Sourced by the end-to-end shell tests: starts the appliance on stories260K.
#   start_appliance ASSISTANTD WORKER SOURCE_DIR STATE [assistantd options...]
# Runs assistantd in the background on an ephemeral loopback port with its
# log in STATE/assistantd.log, waits until it listens, and sets `daemon` (its
# pid) and `port`; exits the test with FAIL if it does not start.
start_appliance() {
  local assistantd=$1 worker=$2 src=$3 state=$4
  shift 4
  "$assistantd" --state-dir "$state" --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 "$@" \
    --worker "$worker" --model "stories260K=$src/models/stories260K.gguf" 2>"$state/assistantd.log" &
  daemon=$!
  port=""
  for _ in $(seq 1 300); do
    port=$(grep -o '"msg":"listening".*"port":[0-9]*' "$state/assistantd.log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && return 0
    kill -0 "$daemon" 2>/dev/null || { cat "$state/assistantd.log"; echo "FAIL: assistantd exited"; exit 1; }
    sleep 0.1
  done
  echo "FAIL: assistantd did not start"
  exit 1
}
