#!/usr/bin/env bash
# Browser journey tests: Debian Chromium + playwright-core + node --test.
#
#   bash e2e/run.sh            (from the repository root, or from anywhere)
#
# Expects the server binary at target/debug/yaoshi (build it first with
# `cargo build`), or set YAOSHI_BIN. Screenshots land in e2e/screenshots/.
set -euo pipefail

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E_DIR/.." && pwd)"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq chromium fonts-noto-cjk
elif command -v fc-list >/dev/null && [ -z "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
  # Without a CJK font the screenshots show boxes instead of Chinese text.
  as_root apt-get update -qq
  as_root apt-get install -y -qq fonts-noto-cjk
fi

BIN="${YAOSHI_BIN:-$ROOT/target/debug/yaoshi}"
if [ ! -x "$BIN" ]; then
  echo "yaoshi binary not found at $BIN; run 'cargo build' first (or set YAOSHI_BIN)." >&2
  exit 1
fi
export YAOSHI_BIN="$BIN"

(cd "$E2E_DIR" && npm ci --no-audit --no-fund)

cd "$ROOT"
node --test --test-reporter=spec e2e/journey.test.mjs
# After the journey (which clears e2e/screenshots/ first), one file at a time.
node --test --test-reporter=spec e2e/web.test.mjs
node --test --test-reporter=spec e2e/grading.test.mjs
node --test --test-reporter=spec e2e/guidance.test.mjs
node --test --test-reporter=spec e2e/pledges.test.mjs
node --test --test-reporter=spec e2e/checkin.test.mjs
node --test --test-reporter=spec e2e/volunteer.test.mjs
