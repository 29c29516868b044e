#!/usr/bin/env bash
# 志愿者银行's figures (issue #15): a member's balance and history and the city's monthly
# chart under load (from wrk, a second process) beside /healthz of the same run, then
# confirmations posted by the community as fast as 16 connections can, and ledger verify.
# Replaces its own section of BENCHMARKS.md.
#   bash bench/volunteer.sh                        city data on SQLite, port 18185
#   BENCH_SCALE=province bash bench/volunteer.sh   the province (15,000 branches)
#   BENCH_BACKEND=postgres bash bench/volunteer.sh the city on PostgreSQL (database
#                                                yaoshi_bench_<scale>, as bench/sweep.sh makes it)
#   BENCH_CITY_DIR=/path                         reuse a data dir made by `yaoshi demo`
#   YAOSHI_BIN=/path/to/release/yaoshi           a release build made already
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${YAOSHI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YAOSHI_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/yaoshi}
SCALE=${BENCH_SCALE:-city}
BACKEND=${BENCH_BACKEND:-sqlite}
PORT=${BENCH_PORT:-18185}
WORK=$(mktemp -d)
export YAOSHI_INITIAL_ADMIN_PASSWORD='Bench@12345' YAOSHI_DEMO_PASSWORD='Demo@2026pass'
cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$BACKEND" = postgres ]; then
  CITY=${BENCH_CITY_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/bench-$SCALE-pg}
  PGBASE=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  DB_NAME=yaoshi_bench_$SCALE
  export DATABASE_URL=$PGBASE/$DB_NAME
  mkdir -p "$CITY"
  if [ ! -f "$CITY/yaoshi.key" ]; then
    psql -q "$PGBASE/postgres" -c "drop database if exists $DB_NAME" >/dev/null
  fi
  if ! psql -q "$PGBASE/postgres" -tAc "select 1 from pg_database where datname = '$DB_NAME'" | grep -q 1; then
    psql -q "$PGBASE/postgres" -c "create database $DB_NAME"
  fi
  if [ "$(psql -q "$DATABASE_URL" -tAc "select count(*) from information_schema.tables where table_name = 'ledger_movement'")" = 0 ] \
     || [ "$(psql -q "$DATABASE_URL" -tAc "select count(*) from ledger_movement")" = 0 ]; then
    echo "== demo --scale $SCALE into $DB_NAME"
    psql -q "$PGBASE/postgres" -c "drop database if exists $DB_NAME" >/dev/null
    psql -q "$PGBASE/postgres" -c "create database $DB_NAME"
    YAOSHI_DATA_DIR=$CITY "$BIN" demo --scale "$SCALE" >/dev/null 2>&1
    psql -q "$DATABASE_URL" -c "vacuum analyze"
  fi
  DB=$DATABASE_URL
  LABEL="$SCALE data, PostgreSQL"
else
  CITY=${BENCH_CITY_DIR:-$WORK/$SCALE}
  mkdir -p "$CITY"
  if [ ! -f "$CITY/yaoshi.db" ]; then
    echo "== demo --scale $SCALE into $CITY"
    YAOSHI_DATA_DIR=$CITY "$BIN" demo --scale "$SCALE" >/dev/null 2>&1
  fi
  DB=$CITY/yaoshi.db
  LABEL="$SCALE data"
fi
YAOSHI_DATA_DIR=$CITY YAOSHI_ADDR=127.0.0.1:$PORT RUST_LOG=warn "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
CMD="bash bench/volunteer.sh"
[ "$BACKEND" = postgres ] && CMD="BENCH_BACKEND=postgres $CMD"
[ "$SCALE" != city ] && CMD="BENCH_SCALE=$SCALE $CMD"
YAOSHI_BIN="$BIN" BENCH_VOLUNTEER_NAME="$LABEL" BENCH_VOLUNTEER_COMMAND="$CMD" \
  python3 bench/volunteer.py "http://127.0.0.1:$PORT" "$DB" "$WORK/volunteer.md"
python3 - "$WORK/volunteer.md" <<'PY'
import re, sys
section = open(sys.argv[1], encoding="utf-8").read().strip()
slug = re.search(r"<!-- volunteer:([a-z0-9-]+):begin -->", section).group(1)
text = open("BENCHMARKS.md", encoding="utf-8").read()
mine = re.compile(rf"<!-- volunteer:{slug}:begin -->.*?<!-- volunteer:{slug}:end -->", re.S)
if mine.search(text):
    text = mine.sub(lambda _: section, text)
else:
    text = text.replace("## Rerun", section + "\n\n## Rerun", 1)
open("BENCHMARKS.md", "w", encoding="utf-8").write(text)
PY
cat "$WORK/volunteer.md"
