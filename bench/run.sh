#!/usr/bin/env bash
# Issue #2 benchmarks on city-scale demo data; rewrites BENCHMARKS.md with the figures.
# Needs wrk (apt-get install wrk) and curl. Run from the repo root: bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; }
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/yaoshi
WORK=$(mktemp -d)
PORT=${BENCH_PORT:-18181}
DURATION=${BENCH_DURATION:-15s}
export YAOSHI_INITIAL_ADMIN_PASSWORD='Bench@12345' YAOSHI_DEMO_PASSWORD='Demo@2026pass'
cleanup() { [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

echo "== demo --scale city"
t0=$(now); YAOSHI_DATA_DIR=$WORK/city "$BIN" demo --scale city >/dev/null 2>&1; t1=$(now)
DEMO_S=$(secs "$t0" "$t1")

MEETINGS=$(sqlite3 -cmd ".timeout 10000" "$WORK/city/yaoshi.db" "select count(*) from meeting")
# Every branch and unit has its admin, as in production (the demo makes one of each; these
# share the demo password's hash), so the reminder pass has its real audience.
sqlite3 -cmd ".timeout 10000" "$WORK/city/yaoshi.db" <<'SQL'
insert into app_user (username, display_name, password_hash, must_change_password, disabled, password_changed_at, created_at, updated_at)
  select 'bench_b' || o.org_id, o.name || '管理员', (select password_hash from app_user where username = 'demo_branch'), 0, 0, 0, 0, 0
  from org o where o.kind = 'branch';
insert into role_grant (user_id, role, org_id, created_at)
  select u.user_id, 'branch', cast(substr(u.username, 8) as integer), 0 from app_user u where u.username like 'bench_b%';
insert into app_user (username, display_name, password_hash, must_change_password, disabled, password_changed_at, created_at, updated_at)
  select 'bench_u' || x.unit_id, x.name || '管理员', (select password_hash from app_user where username = 'demo_unit'), 0, 0, 0, 0, 0
  from unit x;
insert into role_grant (user_id, role, unit_id, created_at)
  select u.user_id, 'unit', cast(substr(u.username, 8) as integer), 0 from app_user u where u.username like 'bench_u%';
SQL
ADMINS=$(sqlite3 -cmd ".timeout 10000" "$WORK/city/yaoshi.db" "select count(*) from role_grant where role in ('unit', 'branch')")
TODAY=$(TZ=Asia/Shanghai date +%Y-%m-%d)
echo "== daily reminder pass"
t0=$(now); REMIND_OUT=$(YAOSHI_DATA_DIR=$WORK/city "$BIN" remind --date "$TODAY"); t1=$(now)
REMIND_S=$(secs "$t0" "$t1"); REMIND_N=$(echo "$REMIND_OUT" | grep -o '新增 [0-9]*' | grep -o '[0-9]*')
t0=$(now); YAOSHI_DATA_DIR=$WORK/city "$BIN" remind --date "$TODAY" >/dev/null; t1=$(now)
REMIND2_S=$(secs "$t0" "$t1")

echo "== import of 30,000 members (fresh database holding the same orgs)"
YAOSHI_DATA_DIR=$WORK/city "$BIN" export members "$WORK/members.xlsx" --unmasked >/dev/null
YAOSHI_DATA_DIR=$WORK/city "$BIN" export orgs "$WORK/orgs.xlsx" >/dev/null
ROWS=$(python3 - "$WORK/members.xlsx" <<'PY'
import sys, zipfile, re
z = zipfile.ZipFile(sys.argv[1]); x = z.read('xl/worksheets/sheet1.xml').decode()
print(len(re.findall(r'<row ', x)) - 1)
PY
)
YAOSHI_DATA_DIR=$WORK/cli "$BIN" import orgs "$WORK/orgs.xlsx" >/dev/null
t0=$(now); YAOSHI_DATA_DIR=$WORK/cli "$BIN" import members "$WORK/members.xlsx" >/dev/null; t1=$(now)
IMPORT_CLI_S=$(secs "$t0" "$t1")
t0=$(now); YAOSHI_DATA_DIR=$WORK/cli "$BIN" import members "$WORK/members.xlsx" >/dev/null; t1=$(now)
REIMPORT_CLI_S=$(secs "$t0" "$t1")

# Over HTTP, as a user uploads it.
YAOSHI_DATA_DIR=$WORK/http "$BIN" import orgs "$WORK/orgs.xlsx" >/dev/null
YAOSHI_DATA_DIR=$WORK/http YAOSHI_ADDR=127.0.0.1:$PORT "$BIN" serve >"$WORK/http.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
# Admin accounts log in with a second factor: give them a known TOTP secret.
SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
code() { python3 -c "import sys, time; sys.path.insert(0, 'bench'); from login_load import totp; print(totp('$SECRET', time.time()))"; }
with_totp() { sqlite3 -cmd ".timeout 10000" "$1" "update app_user set totp_secret = '$SECRET', totp_enabled_at = 1, totp_last_step = 0 where username = '$2'"; }
with_totp "$WORK/http/yaoshi.db" admin
curl -sf -c "$WORK/admin.jar" -H 'content-type: application/json' -d '{"username":"admin","password":"Bench@12345","totp":"'"$(code)"'"}' "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
IMPORT_HTTP_S=$(curl -s -b "$WORK/admin.jar" -o "$WORK/import.json" -w '%{time_total}' -F "file=@$WORK/members.xlsx" "http://127.0.0.1:$PORT/api/v1/import/members")
grep -q '"created":'"$ROWS" "$WORK/import.json" || { echo "HTTP import did not create $ROWS rows:"; cat "$WORK/import.json"; exit 1; }
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

echo "== serving city data"
YAOSHI_DATA_DIR=$WORK/city YAOSHI_ADDR=127.0.0.1:$PORT RUST_LOG=warn "$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
with_totp "$WORK/city/yaoshi.db" demo_committee
login() {
  curl -sf -c "$WORK/$1.jar" -H 'content-type: application/json' -d "{\"username\":\"$1\",\"password\":\"Demo@2026pass\",\"totp\":\"$(code)\"}" "http://127.0.0.1:$PORT/api/v1/session" >/dev/null
  awk '$6 == "yaoshi_session" { print $7 }' "$WORK/$1.jar"
}
UNIT_COOKIE=$(login demo_unit)
COMMITTEE_COOKIE=$(login demo_committee)
BRANCH_COOKIE=$(login demo_branch)
BRANCH_ID=$(sqlite3 -cmd ".timeout 10000" "$WORK/city/yaoshi.db" "select g.org_id from role_grant g join app_user u on u.user_id = g.user_id where u.username = 'demo_branch'")
YEAR=${TODAY:0:4}
COMPLIANCE_PATH="/orglife/compliance?year=$YEAR"
CALENDAR_PATH="/orglife/calendar?branch_id=$BRANCH_ID&year=$YEAR"
# The city's compliance table right after a write (the cached figures are invalid): bump
# the data version as any write does, then time one request; 30 times.
for _ in $(seq 1 30); do
  sqlite3 -cmd ".timeout 10000" "$WORK/city/yaoshi.db" "update data_version set version = version + 1 where name = 'orglife'"
  curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: yaoshi_session=$COMMITTEE_COOKIE" "http://127.0.0.1:$PORT$COMPLIANCE_PATH"
done >"$WORK/cold.txt"
COLD=$(python3 - "$WORK/cold.txt" <<'PY'
import sys
v = sorted(float(x) * 1000 for x in open(sys.argv[1]) if x.strip())
print(f"median {v[len(v)//2]:.1f} ms, max {v[-1]:.1f} ms")
PY
)
PEAK_RSS=0
sample_rss() { while kill -0 "$SERVER" 2>/dev/null; do r=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status 2>/dev/null || echo 0); echo "$r"; sleep 0.2; done >"$WORK/rss.txt"; }
sample_rss & SAMPLER=$!

run_wrk() { # name path cookie
  local out="$WORK/wrk-$1.txt"
  if [ -n "$3" ]; then wrk -t2 -c32 -d"$DURATION" --latency -H "Cookie: yaoshi_session=$3" "http://127.0.0.1:$PORT$2" >"$out"
  else wrk -t2 -c32 -d"$DURATION" --latency "http://127.0.0.1:$PORT$2" >"$out"; fi
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out"); non2xx=${non2xx:-0}
  echo "$1|$2|$rps|$p50|$p99|$non2xx"
}
# Check the pages answer 200 with rows before measuring them.
MEMBERS_PATH='/org/members?q=%E7%8E%8B&kind=full&page=2'
# (a page of rows, not an empty page past the end)
curl -sf -H "Cookie: yaoshi_session=$UNIT_COOKIE" "http://127.0.0.1:$PORT$MEMBERS_PATH" | grep -c 'href="/org/members/[0-9]' | grep -qE '^(1[0-9]|20)$'
HEALTH=$(run_wrk healthz /healthz "")
UNIT=$(run_wrk members_unit "$MEMBERS_PATH" "$UNIT_COOKIE")
COMMITTEE=$(run_wrk members_city '/org/members?page=50' "$COMMITTEE_COOKIE")
SEARCH=$(run_wrk members_city_search '/org/members?q=wj' "$COMMITTEE_COOKIE")
API=$(run_wrk api_members_unit '/api/v1/members?q=%E7%8E%8B&kind=full&page=2' "$UNIT_COOKIE")
COMPLIANCE=$(run_wrk orglife_compliance_city "$COMPLIANCE_PATH" "$COMMITTEE_COOKIE")
CALENDAR=$(run_wrk orglife_branch_grid "$CALENDAR_PATH" "$BRANCH_COOKIE")
HEALTH2=$(run_wrk healthz_after /healthz "")
kill "$SAMPLER" 2>/dev/null || true
PEAK_RSS=$(sort -n "$WORK/rss.txt" | tail -1)
PEAK_MB=$(python3 -c "print(f'{$PEAK_RSS/1024:.0f}')")
HEALTH_RPS=$(echo "$HEALTH" | cut -d'|' -f3)

row() { # line → markdown row with ratio to /healthz
  IFS='|' read -r name path rps p50 p99 non2xx <<<"$1"
  ratio=$(python3 -c "print(f'{$rps/$HEALTH_RPS*100:.1f}%')")
  echo "| $name | \`$path\` | $rps | $p50 | $p99 | $ratio | $non2xx |"
}
CPU=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
# bench/security.sh's section survives this rewrite.
SECURITY=$(python3 -c "import re; m = re.search(r'<!-- security:begin -->.*?<!-- security:end -->', open('BENCHMARKS.md').read(), re.S); print(m.group(0) if m else '')")
# And bench/import_memory.sh's.
IMPORT_MEMORY=$(python3 -c "import re; m = re.search(r'<!-- import-memory:begin -->.*?<!-- import-memory:end -->', open('BENCHMARKS.md').read(), re.S); print(m.group(0) if m else '')")
# And bench/sweep.sh's.
SWEEP=$(python3 -c "import re; m = re.search(r'<!-- sweep:begin -->.*?<!-- sweep:end -->', open('BENCHMARKS.md').read(), re.S); print(m.group(0) if m else '')")
{
cat <<MD
# Benchmarks

Produced by \`bash bench/run.sh\` (this file is rewritten by it). Machine: $(nproc) cores ($CPU),
$(free -g | awk '/Mem/ {print $2}') GiB; release build; SQLite; wrk with 2 threads and 32 connections for
$DURATION per line, sharing the 2 cores with the server. Run on $(date -u +%Y-%m-%d).

## Data and import

| what | figure |
|---|---|
| \`yaoshi demo --scale city\` (120 units, 1,500 branches, 30,000 members, ${MEETINGS} meeting records) | ${DEMO_S} s |
| import of a ${ROWS}-member xlsx, CLI end to end (process start, parse, validate every row, write) | ${IMPORT_CLI_S} s |
| the same file again (every row unchanged, nothing written) | ${REIMPORT_CLI_S} s |
| import of the same file over HTTP (\`POST /api/v1/import/members\`, curl upload to response) | ${IMPORT_HTTP_S} s |

## Serving (city data)

Latencies as wrk reports them; the ratio is requests/s over \`/healthz\` served by the same process
in the same run.

| name | path | req/s | p50 | p99 | ratio to /healthz | non-2xx |
|---|---|---|---|---|---|---|
$(row "$HEALTH")
$(row "$UNIT")
$(row "$COMMITTEE")
$(row "$SEARCH")
$(row "$API")
$(row "$COMPLIANCE")
$(row "$CALENDAR")
$(row "$HEALTH2")

- \`members_unit\`: the member list page as a unit admin (demo_unit): search by name (王) + filter (正式党员) + page 2, a full page of 20 rows.
- \`members_city\`: the committee's member list over all 30,000 members, page 50.
- \`members_city_search\`: the committee searching by pinyin initials over the city.
- \`orglife_compliance_city\`: the committee's 组织生活 compliance table for the city for $YEAR (1,500 branches, seven kinds, by category), served from the figures cached against the data version.
- The same table right after a write (cache invalid, computed from the ${MEETINGS} records), one request at a time, 30 times: **${COLD}**.
- \`orglife_branch_grid\`: a branch admin's year grid (month by kind) for their branch.
- Peak resident memory of the server during these runs: **${PEAK_MB} MB**.

## Daily reminder pass

| what | figure |
|---|---|
| \`yaoshi remind\` for $TODAY with ${ADMINS} unit and branch admins: ${REMIND_N} notifications created | ${REMIND_S} s |
| the same day again (nothing new to send) | ${REMIND2_S} s |

Both include process start and migrations check; the server runs the same pass once a day.

$SECURITY

$IMPORT_MEMORY

$SWEEP

## Rerun

\`\`\`sh
bash bench/run.sh                       # BENCH_DURATION=30s, BENCH_PORT=… to change
bash bench/security.sh                  # the security section only
bash bench/import_memory.sh             # the import memory section only
bash bench/sweep.sh                     # the sweep: every page and API route, every role
\`\`\`
MD
} > BENCHMARKS.md
cat BENCHMARKS.md
