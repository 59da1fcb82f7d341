#!/usr/bin/env bash
# The test command: unit tests, then integration tests as root against the real
# kernel in throwaway namespaces named with this run's prefix.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x dist/bin/pontoon-cni ] || npm run --silent build || exit 1

# Sweep namespaces that a killed earlier run left behind (prefix pt + 4 hex, then the
# creating test process's PID). A namespace whose creator still lives belongs to a run
# in progress beside this one and is left alone.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pt[0-9a-f]{4}-' || true); do
  pid=$(echo "$ns" | sed -nE 's/^pt[0-9a-f]{4}-([0-9]+)-.*/\1/p')
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then continue; fi
  ip netns del "$ns" 2>/dev/null || true
done
export PONTOON_RUN="pt$(head -c2 /dev/urandom | od -An -tx1 | tr -d ' \n')"

dirs=(test/unit)
if [ "$(id -u)" = 0 ]; then dirs+=(test/integration); else echo "not root: integration tests need root" >&2; exit 1; fi

out=$(mktemp)
npx tap --disable-coverage --timeout=300 --jobs=2 "${dirs[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
# A closing line any CI reader understands.
pass=$(grep -oE '^# \{ total: [0-9]+, pass: [0-9]+' "$out" | grep -oE 'pass: [0-9]+' | grep -oE '[0-9]+' || echo 0)
total=$(grep -oE '^# \{ total: [0-9]+' "$out" | grep -oE '[0-9]+' || echo 0)
fail=$(grep -oE 'fail: [0-9]+' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)
rm -f "$out"
echo "${pass:-0} passed, ${fail:-0} failed"
if [ "$rc" = 0 ] && [ "${total:-0}" = 0 ]; then echo "no tests ran" >&2; exit 1; fi
exit "$rc"
