#!/usr/bin/env bash
# API fuzzing: schemathesis generates requests from the OpenAPI document
# (/api/openapi.json) and sends them to a fresh server as logged-in users; any 5xx
# answer (or a dropped connection) fails the run.
#
#   YAOSHI_BIN=target/debug/yaoshi bash .ci/schemathesis.sh
#
# Settings (environment): YAOSHI_BIN (default: the debug build), ST_MAX_EXAMPLES (cases
# per operation and phase, default 25), ST_SEED (default: a fixed seed, so CI runs are
# repeatable; set ST_SEED=random for a new one each time), ST_POSTGRES_URL (a PostgreSQL
# server URL whose user may create databases, e.g. postgres://postgres@127.0.0.1:5432/postgres:
# the run then uses a new database there, dropped at the end, instead of SQLite).
#
# What it does:
# 1. starts YAOSHI_BIN on a free port with a new temporary data dir (SQLite, or a new
#    PostgreSQL database), seeded by `yaoshi demo --scale small` (the run may change or
#    delete any of it);
# 2. .ci/schemathesis_auth.py logs in as `admin` (password from
#    YAOSHI_INITIAL_ADMIN_PASSWORD, so no forced change), sets up its second factor,
#    creates an API token and grants admin a unit and a member role besides (to reach
#    meeting records and "my meetings"); as admin it creates a security admin and an
#    audit admin and does the same for them (the three roles cannot share an account,
#    三员分立);
# 3. runs schemathesis three times with `Authorization: Bearer <token>`: as admin on
#    everything but /security and /audit, as the security admin on /security, as the
#    audit admin on /audit — each part of the API as the role that may use it;
#    Half of the identifiers generated for paths, queries and bodies are the demo's own
#    (.ci/schemathesis_ids.py writes them to a schemathesis.toml), so calls reach the
#    records and the code behind the "not found" answers;
# 4. checks that each account still has its access (else a run would pass on answers
#    that were all 401 or 403);
# 5. always stops the server and deletes the data dir (and the database).
#
# Nothing is excluded. Calls that would end the tested account's access (a password
# reset, disabling, a revoked grant or second factor of a run account, revoking the token
# in use) are redirected to spares by .ci/schemathesis_hooks.py; see there. Calls that
# cannot end it are sent as generated:
# - DELETE /session (logout) ends only a cookie session, and schemathesis sends a token;
# - the token routes, POST /me/password, PUT /me/email and the second factor's writes
#   refuse an API token (403 session_required): they need a signed-in session, and the
#   second factor and the email the current password besides.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${YAOSHI_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/yaoshi}"
MAX_EXAMPLES="${ST_MAX_EXAMPLES:-25}"
SEED="${ST_SEED:-20261126}"

if [ ! -x "$BIN" ]; then
  echo "yaoshi binary not found at $BIN; run 'cargo build' first (or set YAOSHI_BIN)." >&2
  exit 1
fi

# Version 4, 4.32 or later: the command-line options below are version 4's, and the
# dictionaries in schemathesis.toml were written against 4.32.
if ! python3 -c 'import schemathesis, sys; v = tuple(map(int, schemathesis.__version__.split(".")[:2])); sys.exit(not (4, 32) <= v < (5, 0))' 2>/dev/null; then
  python3 -m pip install -q 'schemathesis>=4.32,<5'
fi
st() { python3 -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "st"; schemathesis()' "$@"; }
echo "schemathesis $(python3 -c 'import schemathesis; print(schemathesis.__version__)')"

WORK="$(mktemp -d)"
SERVER_PID=""
PG_DB=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$PG_DB" ]; then
    psql "$ST_POSTGRES_URL" -qAtc "drop database if exists $PG_DB" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
export YAOSHI_DATA_DIR="$WORK/data" YAOSHI_ADDR="127.0.0.1:$PORT"
export YAOSHI_INITIAL_ADMIN_PASSWORD="Fuzz-$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')-9x"
export YAOSHI_BACKUP_KEEP=0 # no daily backup during the run
export YAOSHI_CONFIG="$WORK/none.toml" # a yaoshi.toml in the working dir is not read
export RUST_LOG="${RUST_LOG:-warn}"
mkdir -p "$YAOSHI_DATA_DIR"
if [ -n "${ST_POSTGRES_URL:-}" ]; then
  PG_DB="yaoshi_st_$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  psql "$ST_POSTGRES_URL" -qAtc "create database $PG_DB" >/dev/null
  DATABASE_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$ST_POSTGRES_URL" "$PG_DB")"
  export DATABASE_URL
  echo "database: PostgreSQL ($PG_DB)"
else
  unset DATABASE_URL
  echo "database: SQLite"
fi

# The demo creates admin itself (an empty database), with the password above.
"$BIN" demo --scale small >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log"; exit 1; }

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log"; echo "server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$BASE/readyz" >/dev/null || { cat "$WORK/server.log"; echo "server not ready" >&2; exit 1; }

ST_BIN="$BIN" python3 "$ROOT/.ci/schemathesis_auth.py" "$BASE" "$YAOSHI_INITIAL_ADMIN_PASSWORD" "$WORK/tokens.env"
set -a
# shellcheck disable=SC1091
. "$WORK/tokens.env"
set +a
export SCHEMATHESIS_HOOKS="$ROOT/.ci/schemathesis_hooks.py"
# Identifiers of the demo's records for half of the generated ids (read from the working dir).
python3 "$ROOT/.ci/schemathesis_ids.py" "$BASE" "$ST_ADMIN_TOKEN" "$WORK/schemathesis.toml"

run() {
  local name="$1" token="$2"
  shift 2
  echo "-- as $name"
  # not_a_server_error: any 5xx fails. Two workers at most (the machine has two cores).
  # The examples database is off and the working dir is the temp dir: no .hypothesis or
  # .schemathesis cache left behind, and each run stands on its own.
  (cd "$WORK" && st run "$BASE/api/openapi.json" \
    --checks not_a_server_error \
    --header "Authorization: Bearer $token" \
    --workers 2 \
    --max-examples "$MAX_EXAMPLES" \
    $([ "$SEED" = random ] || echo --seed "$SEED") \
    --generation-database none \
    --request-timeout 30 \
    --no-color \
    --report-dir "$WORK/report" \
    "$@")
}

started=$(date +%s)
status=0
run admin "$ST_ADMIN_TOKEN" --exclude-path-regex '^/(security|audit)(/|$)' || status=1
run 'audit admin' "$ST_AUDIT_TOKEN" --include-path-regex '^/audit(/|$)' || status=1
# Last, as a precaution: the security policy it changes applies to every account.
run 'security admin' "$ST_SECURITY_TOKEN" --include-path-regex '^/security(/|$)' || status=1
echo "schemathesis took $(($(date +%s) - started)) s"

for who in ADMIN SECURITY AUDIT; do
  token_var="ST_${who}_TOKEN"
  code="$(curl -s -o "$WORK/me.json" -w '%{http_code}' -H "Authorization: Bearer ${!token_var}" "$BASE/api/v1/me")"
  if [ "$code" != 200 ] || grep -Eq '"(must_change_password|password_expired|totp_enrolment_required)":true' "$WORK/me.json"; then
    echo "the $who account lost its access during the run (GET /me: $code $(cat "$WORK/me.json"))" >&2
    status=1
  fi
done

if [ "$status" -ne 0 ]; then
  echo "== server log (errors)"
  grep -E 'ERROR|panicked' "$WORK/server.log" | tail -n 100 || true
  echo "API fuzzing failed: see the failures above." >&2
fi
exit "$status"
