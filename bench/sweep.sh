#!/usr/bin/env bash
# The sweep: every GET page and API route as every demo role, on city data (bench/sweep.py
# derives the list from the running app). Replaces the sweep section of BENCHMARKS.md.
#   bash bench/sweep.sh                 BENCH_SWEEP_SECONDS=3 per line, BENCH_PORT=18182
#   BENCH_CITY_DIR=/path bash bench/sweep.sh   reuse a data dir made by `yaoshi demo --scale city`
#   YAOSHI_BIN=/path/to/release/yaoshi          a release build made already
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${YAOSHI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YAOSHI_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/yaoshi}
WORK=$(mktemp -d)
PORT=${BENCH_PORT:-18182}
export YAOSHI_INITIAL_ADMIN_PASSWORD='Bench@12345' YAOSHI_DEMO_PASSWORD='Demo@2026pass'
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
CITY=${BENCH_CITY_DIR:-$WORK/city}
if [ ! -f "$CITY/yaoshi.db" ]; then
  echo "== demo --scale city into $CITY"
  YAOSHI_DATA_DIR=$CITY "$BIN" demo --scale city >/dev/null 2>&1
fi
YAOSHI_DATA_DIR=$CITY YAOSHI_ADDR=127.0.0.1:$PORT RUST_LOG=warn "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
echo "== sweep"
python3 bench/sweep.py "http://127.0.0.1:$PORT" "$CITY/yaoshi.db" "$WORK/sweep.md"
python3 - "$WORK/sweep.md" <<'PY'
import re, sys
section = open(sys.argv[1], encoding="utf-8").read().strip()
text = open("BENCHMARKS.md", encoding="utf-8").read()
if "<!-- sweep:begin -->" in text:
    text = re.sub(r"<!-- sweep:begin -->.*?<!-- sweep:end -->", lambda _: section, text, flags=re.S)
else:
    text = text.replace("## Rerun", section + "\n\n## Rerun", 1)
open("BENCHMARKS.md", "w", encoding="utf-8").write(text)
PY
sed -n '/<!-- sweep:begin -->/,/### Every line/p' BENCHMARKS.md
