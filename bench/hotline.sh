#!/usr/bin/env bash
# 12345热线's figures (issue #17): the rates page and API, the orders behind a figure, under
# load (wrk, a second process) beside /healthz of the same run; then an import of 100,000
# work orders over HTTP timed (and the same file again: all unchanged), the kept aggregates
# compared with a recomputation afterwards. Replaces its own section of BENCHMARKS.md.
#   bash bench/hotline.sh                          city data (2,000,000 orders) on SQLite, port 18186
#   BENCH_BACKEND=postgres bash bench/hotline.sh   the city on PostgreSQL
#   BENCH_SCALE=small, BENCH_IMPORT_ROWS=5000      a quick check of the script itself
#   BENCH_CITY_DIR=/path, YAOSHI_BIN=/path         reuse demo data, a release build (bench/feature.sh)
exec bash "$(dirname "$0")/feature.sh" hotline 18186 hotline_order
