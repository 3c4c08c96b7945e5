#!/usr/bin/env bash
# Upgrade test of the Debian packages (issue 10, section 4).
#
#   tests/packaging/upgrade_test.sh BUILD_DIR
#
# Builds the packages twice from BUILD_DIR (versions 0.1.0 and 0.1.1), then, in
# a throwaway root, installs 0.1.0, starts the appliance the way its systemd
# unit does (same ExecStart, user, credentials and state directory), writes
# data, upgrades to 0.1.1 over it, restarts, verifies that every key,
# certificate, record and conversation survived; rolls back to 0.1.0 and
# verifies again; then checks remove (keeps data) and purge (removes it).
#
# The throwaway root is an overlay whose lower layer is the host's own root
# filesystem, read-only, and whose upper layer is a tmpfs, inside private
# mount and network namespaces: dpkg, adduser and the daemon run in a chroot
# that sees a Debian 12 system with the runtime libraries installed, and every
# write (dpkg database, /etc/passwd, /var/lib/assistant) lands in the tmpfs,
# which vanishes with the namespace. The host installation is never touched
# and nothing is downloaded. Needs root (CI runs as root); exits 77 (skipped)
# otherwise.
set -euo pipefail

if [ "${1:-}" = "--inner" ]; then
  inner=1; shift
else
  inner=0
fi
build_dir=$(cd "${1:?usage: upgrade_test.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

say() { echo "upgrade_test: $*"; }
fail() { echo "upgrade_test: FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  say "SKIPPED: needs root for namespaces, overlay and chroot (CI runs as root)"
  exit 77
fi

# ---------------------------------------------------------------- outer part
if [ "$inner" = 0 ]; then
  work=$(mktemp -d /tmp/assistant-upgrade-test.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  for v in 0.1.0 0.1.1; do
    say "building packages $v"
    mkdir -p "$work/$v"
    # Fast compression: the payload is the same, the test time is not.
    cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/$v" \
      -D CPACK_PACKAGE_VERSION="$v" -D CPACK_DEBIAN_COMPRESSION_TYPE=gzip \
      > "$work/$v/cpack.log" 2>&1 || { cat "$work/$v/cpack.log"; fail "cpack $v"; }
    ls "$work/$v"/assistant-appliance_"$v"-*.deb >/dev/null || fail "no appliance package $v"
  done
  say "entering private mount and network namespaces"
  # Not exec: the EXIT trap removes $work once the namespaces (and with them
  # every mount of the throwaway root) are gone.
  rc=0
  unshare --mount --net --fork --kill-child bash "$0" --inner "$build_dir" "$work" || rc=$?
  exit "$rc"
fi

# ---------------------------------------------------------------- inner part
work=$2
ip link set lo up
mount --make-rprivate /
R=$work/root
mkdir -p "$work/layer" "$R"
mount -t tmpfs -o size=4g tmpfs "$work/layer"
mkdir -p "$work/layer/upper" "$work/layer/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/layer/upper,workdir=$work/layer/work" "$R" ||
  fail "cannot mount an overlay root (needs CAP_SYS_ADMIN)"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=0755 tmpfs "$R/run"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mkdir -p "$R/tmp/debs"
cp "$work"/0.1.0/*.deb "$work"/0.1.1/*.deb "$R/tmp/debs/"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

# Anything already on the host that could mask a fault fails the test instead.
if in_root dpkg-query -W assistant-appliance >/dev/null 2>&1; then
  fail "the host has assistant-appliance installed; the test needs a root without it"
fi

deb() { echo "/tmp/debs/$1_$2-1_$(dpkg --print-architecture).deb"; }
install_version() {
  local v=$1
  say "dpkg -i assistant-appliance $v, assistant-desktop $v"
  in_root dpkg -i "$(deb assistant-appliance "$v")" "$(deb assistant-desktop "$v")" \
    > "$work/dpkg-$v.log" 2>&1 || { cat "$work/dpkg-$v.log"; fail "installing $v"; }
  [ "$(in_root dpkg-query -W -f='${Version}' assistant-appliance)" = "$v-1" ] ||
    fail "assistant-appliance $v-1 not installed"
}

mode_owner() { in_root stat -c '%a %U:%G' "$1"; }
expect_mode() {
  local got; got=$(mode_owner "$1") || fail "$1 missing"
  [ "$got" = "$2" ] || fail "$1: expected $2, got $got"
}

# Hashes of everything that must never change once created: keys, TLS,
# signing public key.
key_fingerprint() {
  in_root sh -c 'sha256sum /etc/credstore.encrypted/assistant.master-key \
    /etc/credstore.encrypted/assistant.audit-signing-key /var/lib/assistant/audit-signing.pub \
    /var/lib/assistant/tls/*'
}

# Starts assistant-worker as assistant-worker.service would: its ExecStart
# (worker.json), its user, its runtime directory. Waits for its socket.
worker_pid=""
start_worker() {
  [ -x "$R/usr/bin/assistant-worker" ] || { say "NOTE: no assistant-worker in this build"; return 0; }
  local exec_start; exec_start=$(sed -n 's/^ExecStart=//p' "$R/lib/systemd/system/assistant-worker.service")
  in_root install -d -o assistant-worker -g assistant-worker -m 0750 /run/assistant-worker
  # shellcheck disable=SC2206
  local cmd=($exec_start)
  chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 RUNTIME_DIRECTORY=/run/assistant-worker \
    setpriv --reuid=assistant-worker --regid=assistant-worker --clear-groups --no-new-privs \
    "${cmd[@]}" > "$work/worker.log" 2>&1 &
  worker_pid=$!
  local i
  for i in $(seq 1 300); do
    [ -S "$R/run/assistant-worker/worker.sock" ] && break
    kill -0 "$worker_pid" 2>/dev/null || { cat "$work/worker.log"; fail "assistant-worker exited"; }
    sleep 0.1
  done
  [ -S "$R/run/assistant-worker/worker.sock" ] || { cat "$work/worker.log"; fail "no worker socket"; }
  expect_mode /run/assistant-worker/worker.sock "660 assistant-worker:assistant-worker"
  # The gateway (with its unit's supplementary group) may connect; nobody else may.
  in_root setpriv --reuid=assistant --regid=assistant --groups="$(gateway_groups)" \
    test -w /run/assistant-worker/worker.sock || fail "assistantd's user cannot reach the worker socket"
  in_root setpriv --reuid=nobody --regid=nogroup --clear-groups \
    test -w /run/assistant-worker/worker.sock && fail "any user can reach the worker socket"
  # Every configured model loads (hash verified) as the worker's user, the
  # imported ones from the model store included.
  local name
  for name in $(grep -o '"name": "[^"]*"' "$R/etc/assistant/worker.json" | cut -d'"' -f4); do
    for i in $(seq 1 300); do
      grep -q "model '$name' ready" "$work/worker.log" && break
      kill -0 "$worker_pid" 2>/dev/null || { cat "$work/worker.log"; fail "assistant-worker exited"; }
      sleep 0.1
    done
    grep -q "model '$name' ready" "$work/worker.log" || { cat "$work/worker.log"; fail "model $name did not load"; }
  done
  say "assistant-worker serves its socket; models loaded: $(grep -o '"name": "[^"]*"' "$R/etc/assistant/worker.json" | cut -d'"' -f4 | tr '\n' ' ')"
}
stop_worker() {
  [ -n "$worker_pid" ] || return 0
  kill -TERM "$worker_pid"
  wait "$worker_pid" || fail "assistant-worker did not stop cleanly on SIGTERM (status $?)"
  worker_pid=""
}

# The supplementary groups assistantd.service gives the daemon (comma list).
gateway_groups() {
  sed -n 's/^SupplementaryGroups=//p' "$R/lib/systemd/system/assistantd.service" | tr ' ' ','
}

# Starts assistantd as assistantd.service would: its ExecStart, its user and
# groups, its credentials decrypted into a private directory, its state dir.
daemon_pid=""
start_daemon() {
  start_worker
  local unit=$R/lib/systemd/system/assistantd.service
  local exec_start; exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  [ -n "$exec_start" ] || fail "no ExecStart in assistantd.service"
  local creds=/run/credentials/assistantd.service
  in_root sh -c "set -e; umask 077; mkdir -p $creds; chmod 0755 /run/credentials  # as systemd makes it
    systemd-creds decrypt --name=master-key /etc/credstore.encrypted/assistant.master-key $creds/master-key
    systemd-creds decrypt --name=audit-signing-key /etc/credstore.encrypted/assistant.audit-signing-key $creds/audit-signing-key
    chown -R assistant:assistant $creds; chmod 0500 $creds; chmod 0400 $creds/*" ||
    fail "systemd-creds cannot decrypt the sealed keys"
  # shellcheck disable=SC2206
  local cmd=($exec_start)
  if ! in_root "${cmd[0]}" --help 2>&1 | grep -q -- '--config'; then
    say "NOTE: this assistantd has no --config yet; running it with --state-dir/--listen instead"
    cmd=("${cmd[0]}" --state-dir /var/lib/assistant --listen 127.0.0.1:8443)
  fi
  chroot "$R" /usr/bin/env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
    STATE_DIRECTORY=/var/lib/assistant CREDENTIALS_DIRECTORY=$creds \
    setpriv --reuid=assistant --regid=assistant --groups="$(gateway_groups)" --no-new-privs \
    "${cmd[@]}" > "$work/assistantd.log" 2>&1 &
  daemon_pid=$!
  local i
  for i in $(seq 1 150); do
    if in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant health \
         > "$work/health.out" 2>&1; then
      say "assistantd answers health over TLS with the package's certificates"
      # The keys come from the sealed credentials only: the daemon must not
      # have written a master or signing key of its own next to the data.
      local stray
      stray=$(in_root sh -c 'grep -rlE "^PRIVATE\+KEY\+|^[0-9a-f]{64}$" /var/lib/assistant \
                 --exclude-dir=tls 2>/dev/null' || true)
      [ -z "$stray" ] || fail "key material written into the state directory: $stray (assistantd must read \$CREDENTIALS_DIRECTORY/master-key and audit-signing-key)"
      return 0
    fi
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/assistantd.log"; fail "assistantd exited"; }
    sleep 0.2
  done
  cat "$work/assistantd.log" "$work/health.out"
  fail "assistantd did not become healthy"
}
stop_daemon() {
  kill -TERM "$daemon_pid"
  wait "$daemon_pid" || fail "assistantd did not stop cleanly on SIGTERM (status $?)"
  rm -rf "$R/run/credentials/assistantd.service"
  stop_worker
}

# Data written through the product's own commands; each is used where this
# build has it. What was written is listed in $work/written so that the
# checks after upgrade and rollback compare the same set.
has_cmd() { in_root assistant --help 2>&1 | grep -Eq "^ +$1( |$)"; }
write_data() {
  : > "$work/written"
  in_root find /var/lib/assistant /var/lib/assistant-models -mindepth 1 | sort > "$work/files-before"
  if has_cmd chat; then
    for n in 1 2 3; do
      in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant --json \
        chat --model stories260K --max-tokens 8 "Once upon a time $n" > "$work/chat-$n.json" ||
        fail "chat $n"
    done
    in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant --json \
      conversations list > "$work/conversations-before.json" || fail "conversations list"
    echo conversations >> "$work/written"
  else
    say "NOTE: this build's assistant has no chat command; no conversations written"
  fi
  if has_cmd audit; then
    in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant --as auditor --json \
      audit query > "$work/audit-before.jsonl" || fail "audit query"
    [ -s "$work/audit-before.jsonl" ] || fail "no audit records after writing data"
    echo audit >> "$work/written"
  else
    say "NOTE: this build's assistant has no audit command; no ledger records checked"
  fi
}
verify_data() {
  local stage=$1
  # Every file the appliance had before is still there.
  in_root find /var/lib/assistant /var/lib/assistant-models -mindepth 1 | sort > "$work/files-$stage"
  local lost; lost=$(comm -23 "$work/files-before" "$work/files-$stage")
  [ -z "$lost" ] || fail "files lost across $stage: $lost"
  if grep -qx conversations "$work/written"; then
    in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant --json \
      conversations list > "$work/conversations-$stage.json" || fail "conversations list ($stage)"
    cmp -s "$work/conversations-before.json" "$work/conversations-$stage.json" ||
      fail "conversations changed across $stage"
  fi
  if grep -qx audit "$work/written"; then
    in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant --as auditor --json \
      audit query > "$work/audit-$stage.jsonl" || fail "audit query ($stage)"
    # Every record written before is still there, unchanged, in order (the
    # restarts may add their own records after them).
    head -n "$(wc -l < "$work/audit-before.jsonl")" "$work/audit-$stage.jsonl" |
      cmp -s - "$work/audit-before.jsonl" || fail "audit records changed across $stage"
    in_root assistant --server 127.0.0.1:8443 --state-dir /var/lib/assistant --as auditor \
      audit verify > "$work/verify-$stage.out" 2>&1 || { cat "$work/verify-$stage.out"; fail "ledger does not verify after $stage"; }
    say "ledger verifies after $stage"
  fi
  say "data intact after $stage ($(wc -l < "$work/files-before") state files; checked: $(tr '\n' ' ' < "$work/written")keys, TLS)"
}

# ---- 1. first install
install_version 0.1.0
in_root getent passwd assistant >/dev/null || fail "no system user assistant"
in_root getent passwd assistant-worker >/dev/null || fail "no system user assistant-worker"
in_root id -nG assistant-worker | tr " " "\n" | grep -qx assistant && fail "assistant-worker must not be in group assistant"
expect_mode /var/lib/assistant "750 assistant:assistant"
expect_mode /var/lib/assistant-models "750 root:assistant-worker"
expect_mode /etc/credstore.encrypted "700 root:root"
expect_mode /etc/credstore.encrypted/assistant.master-key "600 root:root"
expect_mode /etc/credstore.encrypted/assistant.audit-signing-key "600 root:root"
expect_mode /var/lib/assistant/tls "700 assistant:assistant"
expect_mode /var/lib/assistant/policy.yaml "640 assistant:assistant"
cmp -s "$R/var/lib/assistant/policy.yaml" "$R/usr/share/assistant/default-policy.yaml" ||
  fail "the policy was not seeded from the default"
for k in ca server client; do
  expect_mode "/var/lib/assistant/tls/$k.key" "600 assistant:assistant"
  expect_mode "/var/lib/assistant/tls/$k.pem" "644 assistant:assistant"
done
in_root openssl verify -CAfile /var/lib/assistant/tls/ca.pem /var/lib/assistant/tls/server.pem \
  /var/lib/assistant/tls/client.pem > /dev/null || fail "certificates do not chain to the CA"
in_root systemd-creds decrypt --name=master-key /etc/credstore.encrypted/assistant.master-key - |
  grep -Eqx '[0-9a-f]{64}' || fail "master key is not 64 hex digits"
in_root systemd-creds decrypt --name=audit-signing-key \
  /etc/credstore.encrypted/assistant.audit-signing-key - |
  grep -Eq '^PRIVATE\+KEY\+assistant-audit\.[^+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' ||
  fail "signing key is not in the C2SP private key format"
[ -L "$R/etc/systemd/system/multi-user.target.wants/assistantd.service" ] ||
  fail "assistantd.service not enabled"
for u in assistantd assistant-worker; do
  if [ ! -x "$R/usr/bin/$u" ]; then
    say "NOTE: /usr/bin/$u is not in this build; $u.service checked by packaging_units only"
    continue
  fi
  out=$(in_root systemd-analyze verify --man=no "/lib/systemd/system/$u.service" 2>&1) ||
    fail "systemd-analyze verify $u.service: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $u.service is not clean: $out"
done
# The worker's user reaches neither keys nor the gateway's state.
for p in /var/lib/assistant/tls/server.key /var/lib/assistant/tls/ca.key \
         /etc/credstore.encrypted/assistant.master-key; do
  in_root setpriv --reuid=assistant-worker --regid=assistant-worker --clear-groups \
    test -r "$p" && fail "assistant-worker can read $p"
done
in_root setpriv --reuid=assistant-worker --regid=assistant-worker --clear-groups \
  test -r /usr/share/assistant/models/stories260K.gguf || fail "assistant-worker cannot read the model"
key_fingerprint > "$work/keys-0"
say "first install: users, directories, keys, TLS as expected"

start_daemon
write_data
stop_daemon
# The first start adds the local auditor's certificate (tls/auditor.pem); from
# here on nothing may change the key and TLS material.
key_fingerprint > "$work/keys-0"

# An administrator's change to a conffile must survive upgrades.
sed -i 's/^site: "local"$/site: "upgrade-test-site"/' "$R/etc/assistant/assistantd.yaml"
grep -q '^site: "upgrade-test-site"$' "$R/etc/assistant/assistantd.yaml" || fail "editing the conffile"

# ---- 2. upgrade
install_version 0.1.1
key_fingerprint | cmp -s - "$work/keys-0" || fail "upgrade replaced keys or TLS material"
grep -q '^site: "upgrade-test-site"$' "$R/etc/assistant/assistantd.yaml" ||
  fail "upgrade lost the administrator's configuration change"
start_daemon
verify_data upgrade

# ---- 3. model import (the air-gapped way), while 0.1.1 is installed
cp "$R/usr/share/assistant/models/stories260K.gguf" "$R/tmp/imported.gguf"
good=$(sha256sum "$R/tmp/imported.gguf" | cut -d' ' -f1)
bad=$(printf '%064d' 0)
if in_root assistant-import-model /tmp/imported.gguf --sha256 "$bad" --name bad \
     --provenance test --no-restart > "$work/import-bad.log" 2>&1; then
  fail "assistant-import-model accepted a file whose hash does not match"
fi
grep -q "SHA-256 mismatch" "$work/import-bad.log" || { cat "$work/import-bad.log"; fail "mismatch message"; }
[ ! -e "$R/var/lib/assistant-models/bad.gguf" ] || fail "mismatched file was imported"
in_root assistant-import-model /tmp/imported.gguf --sha256 "$good" --name imported \
  --provenance "test copy of stories260K" --label licence=MIT --no-restart > "$work/import.log" 2>&1 ||
  { cat "$work/import.log"; fail "assistant-import-model"; }
expect_mode /var/lib/assistant-models/imported.gguf "640 root:assistant-worker"
grep -q "\"sha256\": \"$good\"" "$R/var/lib/assistant-models/imported.provenance.json" ||
  fail "provenance record"
grep -q "sha256: $good" "$R/etc/assistant/assistantd.yaml" || fail "model not pinned in the config"
grep -q "{\"name\": \"imported\", \"path\": \"/var/lib/assistant-models/imported.gguf\", \"sha256\": \"$good\"}" \
  "$R/etc/assistant/worker.json" || fail "model not pinned in the worker config"
grep -q '"sha256": "[0-9a-f]*"},$' "$R/etc/assistant/worker.json" || fail "worker config list not extended with a comma"
if command -v python3 >/dev/null; then
  python3 -m json.tool "$R/etc/assistant/worker.json" > /dev/null || fail "worker config is not valid JSON"
fi
grep -q '^  - name: imported$' "$R/var/lib/assistant/policy.yaml" || fail "model not pinned in the policy"
expect_mode /var/lib/assistant/policy.yaml "640 assistant:assistant"
in_root assistant policy check /var/lib/assistant/policy.yaml > "$work/policy-check.out" 2>&1 ||
  { cat "$work/policy-check.out"; fail "policy does not validate after the import"; }
grep -q '^  imported sha256:' "$work/policy-check.out" || { cat "$work/policy-check.out"; fail "policy does not list the imported model"; }
say "model import: mismatch refused, match registered with provenance"
stop_daemon

# ---- 4. rollback to the older version
in_root dpkg -i "$(deb assistant-appliance 0.1.0)" "$(deb assistant-desktop 0.1.0)" \
  > "$work/dpkg-rollback.log" 2>&1 || { cat "$work/dpkg-rollback.log"; fail "rollback"; }
key_fingerprint | cmp -s - "$work/keys-0" || fail "rollback replaced keys or TLS material"
start_daemon
verify_data rollback
stop_daemon

# ---- 5. remove keeps data; reinstall picks it up
in_root dpkg -r assistant-desktop assistant-appliance > "$work/dpkg-remove.log" 2>&1 ||
  { cat "$work/dpkg-remove.log"; fail "dpkg -r"; }
[ ! -e "$R/usr/bin/assistantd" ] || fail "remove left the binary"
key_fingerprint | cmp -s - "$work/keys-0" || fail "remove touched keys or TLS material"
[ -f "$R/var/lib/assistant-models/imported.gguf" ] || fail "remove deleted the model store"
install_version 0.1.1
key_fingerprint | cmp -s - "$work/keys-0" || fail "reinstall replaced keys or TLS material"
start_daemon
verify_data reinstall
stop_daemon

# ---- 6. purge removes everything the package created
in_root dpkg -P assistant-desktop assistant-appliance > "$work/dpkg-purge.log" 2>&1 ||
  { cat "$work/dpkg-purge.log"; fail "dpkg -P"; }
for p in /var/lib/assistant /var/lib/assistant-models /etc/assistant \
         /etc/credstore.encrypted/assistant.master-key \
         /etc/credstore.encrypted/assistant.audit-signing-key; do
  [ ! -e "$R$p" ] || fail "purge left $p"
done
say "remove kept the data; purge removed it"
say "PASS"
