#!/usr/bin/env bash
# One feature's figures on demo data: makes (or reuses) the data, serves it, runs
# bench/<feature>.py against it and puts its section into BENCHMARKS.md (replacing the same
# section of an earlier run). Called by bench/grading.sh, bench/pledges.sh, bench/volunteer.sh:
#   bash bench/feature.sh FEATURE PORT TABLE [ENV=VALUE…]
# FEATURE names bench/FEATURE.py and the section's marker; TABLE is a table the demo fills
# (an empty one on PostgreSQL means the demo has to be made again); ENV=VALUE pairs are set
# for the server (YAOSHI_TRUSTED_PROXIES=127.0.0.1 for loads from many addresses).
#   BENCH_SCALE=province           the province (15,000 branches) instead of the city
#   BENCH_BACKEND=postgres         on PostgreSQL (database yaoshi_bench_<scale>, as bench/sweep.sh makes it)
#   BENCH_CITY_DIR=/path           reuse a data dir made by `yaoshi demo`
#   YAOSHI_BIN=/path/to/yaoshi     a release build made already
set -euo pipefail
FEATURE=$1 PORT=${BENCH_PORT:-$2} TABLE=$3
shift 3
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${YAOSHI_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${YAOSHI_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/yaoshi}
SCALE=${BENCH_SCALE:-city}
BACKEND=${BENCH_BACKEND:-sqlite}
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
  if [ "$(psql -q "$DATABASE_URL" -tAc "select count(*) from information_schema.tables where table_name = '$TABLE'")" = 0 ] \
     || [ "$(psql -q "$DATABASE_URL" -tAc "select count(*) from $TABLE")" = 0 ]; then
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
env "$@" YAOSHI_DATA_DIR="$CITY" YAOSHI_ADDR="127.0.0.1:$PORT" RUST_LOG=warn "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
CMD="bash bench/$FEATURE.sh"
[ "$BACKEND" = postgres ] && CMD="BENCH_BACKEND=postgres $CMD"
[ "$SCALE" != city ] && CMD="BENCH_SCALE=$SCALE $CMD"
UPPER=$(echo "$FEATURE" | tr '[:lower:]' '[:upper:]')
env "BENCH_${UPPER}_NAME=$LABEL" "BENCH_${UPPER}_COMMAND=$CMD" YAOSHI_BIN="$BIN" BENCH_DATA_DIR="$CITY" \
  python3 "bench/$FEATURE.py" "http://127.0.0.1:$PORT" "$DB" "$WORK/$FEATURE.md"
python3 - "$WORK/$FEATURE.md" "$FEATURE" <<'PY'
import re, sys
section = open(sys.argv[1], encoding="utf-8").read().strip()
feature = sys.argv[2]
slug = re.search(rf"<!-- {feature}:([a-z0-9-]+):begin -->", section).group(1)
text = open("BENCHMARKS.md", encoding="utf-8").read()
mine = re.compile(rf"<!-- {feature}:{slug}:begin -->.*?<!-- {feature}:{slug}:end -->", re.S)
if mine.search(text):
    text = mine.sub(lambda _: section, text)
else:
    text = text.replace("## Rerun", section + "\n\n## Rerun", 1)
open("BENCHMARKS.md", "w", encoding="utf-8").write(text)
PY
cat "$WORK/$FEATURE.md"
