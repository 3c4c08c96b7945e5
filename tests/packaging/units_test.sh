#!/usr/bin/env bash
# Checks the systemd units and maintainer scripts as shipped:
#  - `systemd-analyze verify` reports nothing (ExecStart= is pointed at an
#    existing binary for this check; the upgrade test verifies the real units
#    with the real binaries inside its throwaway root);
#  - `systemd-analyze security --offline=true` exposure is at most 2.0 each;
#  - the worker has no network, no key access and only NVIDIA devices; the
#    gateway has the required hardening directives;
#  - maintainer scripts parse with dash (/bin/sh on Debian).
#   tests/packaging/units_test.sh SOURCE_DIR
set -euo pipefail
src=$(cd "${1:?usage: units_test.sh SOURCE_DIR}" && pwd)
units=$src/packaging/systemd
fail() { echo "units_test: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for u in assistantd assistant-worker; do
  sed 's|^ExecStart=/usr/bin/[^ ]*|ExecStart=/bin/true|' "$units/$u.service" > "$tmp/$u.service"
  out=$(cd "$tmp" && systemd-analyze verify --man=no "./$u.service" 2>&1) || fail "verify $u: $out"
  [ -z "$out" ] || fail "systemd-analyze verify $u.service is not clean: $out"
  report=$(systemd-analyze security --offline=true --no-pager --threshold=20 "$units/$u.service" 2>&1) ||
    fail "$u.service exposure above 2.0: $(echo "$report" | tail -1)"
  echo "units_test: $(echo "$report" | grep 'Overall exposure level')"
done

has() { grep -qx "$2" "$units/$1.service" || fail "$1.service lacks '$2'"; }
for d in ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes CapabilityBoundingSet= \
         "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" IPAddressDeny=any \
         IPAddressAllow=localhost SystemCallFilter=@system-service \
         LoadCredentialEncrypted=master-key:/etc/credstore.encrypted/assistant.master-key \
         User=assistant; do
  has assistantd "$d"
done
for d in PrivateNetwork=yes RestrictAddressFamilies=AF_UNIX DevicePolicy=closed \
         ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet= User=assistant-worker \
         SystemCallFilter=@system-service; do
  has assistant-worker "$d"
done
# Worker: no credentials, no way into the keys or the gateway's state, only
# NVIDIA device nodes.
! grep -q '^LoadCredential' "$units/assistant-worker.service" || fail "worker loads a credential"
grep -q '^InaccessiblePaths=.*/var/lib/assistant .*/etc/credstore.encrypted' \
  "$units/assistant-worker.service" || fail "worker can see keys or state"
grep '^DeviceAllow=' "$units/assistant-worker.service" | grep -v '=char-nvidia' &&
  fail "worker allows a non-NVIDIA device"
! grep -q '^SupplementaryGroups=' "$units/assistant-worker.service" || fail "worker has extra groups"

for s in postinst prerm postrm; do
  dash -n "$src/packaging/debian/$s" || fail "$s does not parse"
done
dash -n "$src/packaging/bin/assistant-import-model" || fail "assistant-import-model does not parse"
echo "units_test: PASS"
