#!/usr/bin/env bash
# 一句话承诺's figures (issue #16): the public board of a category, of a unit, one pledge and
# the poster under load (from wrk, a second process) beside /healthz of the same run, the
# board's re-render after a change, and public feedback submission under load.
# Replaces its own section of BENCHMARKS.md.
#   bash bench/pledges.sh                        city data on SQLite, port 18184
#   BENCH_SCALE=province bash bench/pledges.sh   the province (15,000 branches)
#   BENCH_BACKEND=postgres bash bench/pledges.sh the city on PostgreSQL
#   BENCH_CITY_DIR=/path, YAOSHI_BIN=/path       reuse demo data, a release build (bench/feature.sh)
# The feedback load comes from many addresses through a trusted proxy (this machine), as a
# city's visitors would; the throttles count each address on its own.
exec bash "$(dirname "$0")/feature.sh" pledges 18184 pledge YAOSHI_TRUSTED_PROXIES=127.0.0.1
