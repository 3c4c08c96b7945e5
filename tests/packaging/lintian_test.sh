#!/usr/bin/env bash
# Builds both packages from BUILD_DIR and runs lintian on them. Fails on any
# error or warning except the one packaging/README.md justifies for a tree
# without the desktop client (desktop-command-not-in-package).
#   tests/packaging/lintian_test.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "${1:?usage: lintian_test.sh BUILD_DIR}" && pwd)
command -v lintian >/dev/null || { echo "lintian_test: FAIL: lintian not installed (scripts/bootstrap installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$tmp" > "$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log"; exit 1; }
lintian --allow-root --tag-display-limit 0 "$tmp"/*.deb > "$tmp/lintian.out" 2>&1 || true
cat "$tmp/lintian.out"
allowed='^W: assistant-desktop: desktop-command-not-in-package '
if dpkg-deb -c "$tmp"/assistant-desktop_*.deb | grep -q './usr/bin/assistant-desktop$'; then
  allowed='^$'
fi
bad=$(grep -E '^[EW]: ' "$tmp/lintian.out" | grep -Ev "$allowed" || true)
if [ -n "$bad" ]; then
  echo "lintian_test: FAIL: unjustified lintian findings:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "lintian_test: PASS"
