#!/usr/bin/env bash
# The sweep: every GET page and API route as every demo role, on demo data (bench/sweep.py
# derives the list from the running app). Replaces its own section of BENCHMARKS.md.
#   bash bench/sweep.sh                      city data on SQLite, 3 s a line, port 18182
#   BENCH_BACKEND=postgres bash bench/sweep.sh   the same on PostgreSQL (127.0.0.1:5432,
#                                            database yaoshi_bench_<scale>, made once)
#   BENCH_SCALE=province bash bench/sweep.sh the province (10×; goal p99 200 ms); then
#                                            bench/growth.py sets city and province side by side
#   BENCH_CITY_DIR=/path                     reuse a data dir made by `yaoshi demo`
#   YAOSHI_BIN=/path/to/release/yaoshi       a release build made already
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${YAOSHI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YAOSHI_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/yaoshi}
SCALE=${BENCH_SCALE:-city}
BACKEND=${BENCH_BACKEND:-sqlite}
WORK=$(mktemp -d)
PORT=${BENCH_PORT:-18182}
export YAOSHI_INITIAL_ADMIN_PASSWORD='Bench@12345' YAOSHI_DEMO_PASSWORD='Demo@2026pass'
# The server's log outlives the run (target/sweep-serve.log), for a line that failed.
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null
  cp "$WORK/serve.log" "${CARGO_TARGET_DIR:-$PWD/target}/sweep-serve.log" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$BACKEND" = postgres ]; then
  # The database outlives the run, so its key file must too: kept under target/.
  CITY=${BENCH_CITY_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/bench-$SCALE-pg}
else
  CITY=${BENCH_CITY_DIR:-$WORK/$SCALE}
fi
mkdir -p "$CITY"
if [ "$BACKEND" = postgres ]; then
  PGBASE=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  DB_NAME=yaoshi_bench_$SCALE
  export DATABASE_URL=$PGBASE/$DB_NAME
  if [ ! -f "$CITY/yaoshi.key" ]; then
    # Data encrypted under a key that is gone cannot be read: start again.
    psql -q "$PGBASE/postgres" -c "drop database if exists $DB_NAME" >/dev/null
  fi
  if ! psql -q "$PGBASE/postgres" -tAc "select 1 from pg_database where datname = '$DB_NAME'" | grep -q 1; then
    psql -q "$PGBASE/postgres" -c "create database $DB_NAME"
  fi
  if [ "$(psql -q "$DATABASE_URL" -tAc "select count(*) from information_schema.tables where table_name = 'member'")" = 0 ] \
     || [ "$(psql -q "$DATABASE_URL" -tAc "select count(*) from member")" = 0 ]; then
    echo "== demo --scale $SCALE into $DB_NAME"
    YAOSHI_DATA_DIR=$CITY "$BIN" demo --scale "$SCALE" >/dev/null 2>&1
    psql -q "$DATABASE_URL" -c "vacuum analyze"
  fi
  DB=$DATABASE_URL
  LABEL="$SCALE data, PostgreSQL"
else
  if [ ! -f "$CITY/yaoshi.db" ]; then
    echo "== demo --scale $SCALE into $CITY"
    YAOSHI_DATA_DIR=$CITY "$BIN" demo --scale "$SCALE" >/dev/null 2>&1
  fi
  DB=$CITY/yaoshi.db
  LABEL="$SCALE data"
fi
GOAL=20
[ "$SCALE" = province ] && GOAL=200
YAOSHI_DATA_DIR=$CITY YAOSHI_ADDR=127.0.0.1:$PORT RUST_LOG=warn "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
echo "== sweep ($LABEL)"
CMD="bash bench/sweep.sh"
[ "$BACKEND" = postgres ] && CMD="BENCH_BACKEND=postgres $CMD"
[ "$SCALE" != city ] && CMD="BENCH_SCALE=$SCALE $CMD"
BENCH_SWEEP_NAME="$LABEL" BENCH_SWEEP_GOAL_MS=$GOAL BENCH_SWEEP_COMMAND="$CMD" \
  python3 bench/sweep.py "http://127.0.0.1:$PORT" "$DB" "$WORK/sweep.md"
python3 - "$WORK/sweep.md" <<'PY'
import re, sys
section = open(sys.argv[1], encoding="utf-8").read().strip()
slug = re.search(r"<!-- sweep:([a-z0-9-]+):begin -->", section).group(1)
text = open("BENCHMARKS.md", encoding="utf-8").read()
mine = re.compile(rf"<!-- sweep:{slug}:begin -->.*?<!-- sweep:{slug}:end -->", re.S)
old = re.compile(r"<!-- sweep:begin -->.*?<!-- sweep:end -->", re.S)
if mine.search(text):
    text = mine.sub(lambda _: section, text)
elif slug == "city-data" and old.search(text):
    text = old.sub(lambda _: section, text)
else:
    text = text.replace("## Rerun", section + "\n\n## Rerun", 1)
open("BENCHMARKS.md", "w", encoding="utf-8").write(text)
PY
# City against province, once both SQLite sweeps are in BENCHMARKS.md.
python3 bench/growth.py
sed -n "/<!-- sweep:.*begin -->/,/### Every line/p" "$WORK/sweep.md"
