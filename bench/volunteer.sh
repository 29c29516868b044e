#!/usr/bin/env bash
# 志愿者银行's figures (issue #15): a member's balance and history and the city's monthly
# chart under load (from wrk, a second process) beside /healthz of the same run, then
# confirmations posted by the community as fast as 16 connections can, and ledger verify.
# Replaces its own section of BENCHMARKS.md.
#   bash bench/volunteer.sh                        city data on SQLite, port 18185
#   BENCH_BACKEND=postgres bash bench/volunteer.sh the city on PostgreSQL
#   BENCH_CITY_DIR=/path, YAOSHI_BIN=/path         reuse demo data, a release build (bench/feature.sh)
exec bash "$(dirname "$0")/feature.sh" volunteer 18185 ledger_movement
