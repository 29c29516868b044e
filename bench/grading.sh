#!/usr/bin/env bash
# 分级定档's figures (issue #14): the refresh of every branch's automatic scores, and the tier
# list, a roadmap and an assessment page under load. Replaces its own section of BENCHMARKS.md.
#   bash bench/grading.sh                        city data on SQLite, port 18183
#   BENCH_SCALE=province bash bench/grading.sh   the province (15,000 branches)
#   BENCH_BACKEND=postgres bash bench/grading.sh the city on PostgreSQL
#   BENCH_CITY_DIR=/path, YAOSHI_BIN=/path       reuse demo data, a release build (bench/feature.sh)
exec bash "$(dirname "$0")/feature.sh" grading 18183 assessment
