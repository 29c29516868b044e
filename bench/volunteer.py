#!/usr/bin/env python3
"""志愿者银行's own figures (issue #15), on demo data: a member's balance and history, the
city's monthly hours chart, under load from a second process (wrk) beside /healthz of the same
run; then confirmations posted as fast as 16 connections can: each request one need's
confirmation form under its own idempotency key, on needs made for the run in 16 communities
(the bench's community account is given all 16), as a city's communities confirm at once.
`yaoshi ledger verify` after the burst.

Usage: python3 bench/volunteer.py BASE_URL DB OUT.md   (bench/volunteer.sh sets it up)
DB is the SQLite file or a postgres:// URL.

Goals: confirmations at 1,000 or more a second sustained; a member's balance and history p99
under 10 ms; the city's monthly chart p99 under 50 ms.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sweep import ROLES, SECRET, get, login, ms, wrk  # noqa: E402

NAME = os.environ.get("BENCH_VOLUNTEER_NAME", "city data")
SLUG = re.sub(r"[^a-z0-9]+", "-", NAME.lower()).strip("-")
FORMS = int(os.environ.get("BENCH_FORMS", "6000"))
SECONDS = int(os.environ.get("BENCH_CONFIRM_SECONDS", "5"))
BIN = os.environ.get("YAOSHI_BIN", "target/release/yaoshi")
COMMUNITIES = int(os.environ.get("BENCH_COMMUNITIES", "16"))


def query(db: str, text: str) -> list[tuple]:
    if db.startswith("postgres"):
        out = subprocess.run(["psql", "-q", "-tA", "-F", "\t", db, "-c", text],
                             capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]
    con = sqlite3.connect(db, timeout=30)
    rows = con.execute(text).fetchall()
    con.commit()
    con.close()
    return rows


def seed(db: str, run: str, forms: int, lines: int) -> list[tuple[int, list[int]]]:
    """`forms` past needs of the bench's communities (round robin) with `lines` claimants each
    (an hour each, over the last twelve days, a member at most a few hours a day). Returns
    (need, claims) pairs."""
    now = int(time.time())
    day = now - (now + 8 * 3600) % 86_400
    query(db, f"""
        with recursive s(i) as (select 0 union all select i + 1 from s where i < {forms - 1}),
        c as (select g.community_id, row_number() over (order by g.community_id) - 1 as k
              from role_grant g join app_user u on u.user_id = g.user_id
              where u.username = 'demo_community' and g.role = 'community')
        insert into volunteer_need (community_id, title, starts_at, ends_at, slots, minutes, status, created_at, updated_at)
        select c.community_id, '{run}-' || i,
               {day} - (1 + i % 12) * 86400 + ((i / 12) % 24) * 3600,
               {day} - (1 + i % 12) * 86400 + ((i / 12) % 24) * 3600 + 3600,
               {lines}, 60, 'open', {now}, {now} from s join c on c.k = s.i % {COMMUNITIES}""")
    members = 6000
    query(db, f"""
        with recursive j(k) as (select 0 union all select k + 1 from j where k < {lines - 1}),
        m as (select member_id, row_number() over (order by member_id) - 1 as rn
              from (select member_id from member where status = 'active' order by member_id limit {members}) x)
        insert into volunteer_claim (volunteer_need_id, member_id, starts_at, ends_at, status, created_at, updated_at)
        select n.volunteer_need_id, m.member_id, n.starts_at, n.ends_at, 'claimed', {now}, {now}
        from volunteer_need n join j on 1 = 1 join m on m.rn = (n.volunteer_need_id * {lines} + j.k) % {members}
        where n.title like '{run}-%'""")
    rows = query(db, f"select n.volunteer_need_id, k.volunteer_claim_id from volunteer_need n "
                     f"join volunteer_claim k on k.volunteer_need_id = n.volunteer_need_id "
                     f"where n.title like '{run}-%' order by n.volunteer_need_id, k.volunteer_claim_id")
    out: dict[int, list[int]] = {}
    for a, b in rows:
        out.setdefault(int(a), []).append(int(b))
    return list(out.items())


def confirm_load(base: str, cookie: str, forms: list[tuple[int, list[int]]], run: str) -> tuple[float, float, float, int, int]:
    """(forms/s, p50 ms, p99 ms, requests, non-2xx) of confirmation forms posted by wrk."""
    lua = ["local f = {"]
    for i, (need, claims) in enumerate(forms):
        body = json.dumps({"lines": [{"claim_id": c, "attended": True, "hours": "1"} for c in claims]})
        lua.append("{%d, %s, %s}," % (need, json.dumps(body), json.dumps(f"{run}-{i}")))
    lua += [
        "}",
        "local n = 0",
        "function setup(thread) n = n + 1; thread:set('tid', n) end",
        "function init(args) idx = tid - 1 end",
        "function request()",
        "  local r = f[(idx % #f) + 1]; idx = idx + 2",
        "  return wrk.format('POST', '/api/v1/volunteer/needs/' .. r[1] .. '/confirmations',",
        "    {['Content-Type'] = 'application/json', ['Idempotency-Key'] = r[3],",
        f"     ['Cookie'] = 'yaoshi_session={cookie}'}}, r[2])",
        "end",
    ]
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "confirm.lua")
    os.makedirs(os.path.dirname(script), exist_ok=True)
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(lua) + "\n")
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECONDS}s", "--latency", "-s", script, base],
                         capture_output=True, text=True, check=False).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, ms(lat["50"]), ms(lat["99"]), total, int(non2xx.group(1)) if non2xx else 0


def main() -> None:
    base, db, out_path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    movements = int(query(db, "select count(*) from ledger_movement")[0][0])
    transfers = int(query(db, "select count(*) from ledger_transfer")[0][0])
    # The demo's accounts with a known second factor (the committee's roles must have one).
    names = ",".join(f"'{r}'" for r in ROLES)
    query(db, f"update app_user set totp_secret = '{SECRET}', totp_enabled_at = 1, totp_last_step = 0 "
              f"where username in ({names})")
    # The bench's community account manages 16 communities (the demo's own and the next 15).
    query(db, f"""
        insert into role_grant (user_id, role, community_id, created_at)
        select u.user_id, 'community', c.community_id, 1 from app_user u
        join (select community_id from community order by community_id limit {COMMUNITIES}) c on 1 = 1
        where u.username = 'demo_community' and not exists (select 1 from role_grant g
              where g.user_id = u.user_id and g.role = 'community' and g.community_id = c.community_id)""")
    member = login(base, "demo_member")
    time.sleep(1)
    committee = login(base, "demo_committee")
    time.sleep(1)
    community = login(base, "demo_community")
    for who, cookie, probe in [("demo_committee", committee, "/api/v1/volunteer/stats"),
                               ("demo_member", member, "/api/v1/volunteer/me")]:
        status = get(base, probe, cookie)[0]
        if status != 200:
            raise SystemExit(f"{who} {probe}: {status}")
    mine = query(db, "select count(*) from ledger_movement m join ledger_account a on a.ledger_account_id = m.ledger_account_id "
                     "join member x on x.member_id = a.member_id join role_grant g on g.member_id = x.member_id "
                     "join app_user u on u.user_id = g.user_id where u.username = 'demo_member'")[0][0]
    health = wrk(base, "/healthz", None)
    lines = []
    for path, cookie, goal, what in [
        ("/api/v1/volunteer/me", member, 10, "a member's balance and history (API)"),
        ("/volunteer/mine", member, 10, "a member's balance and history (page)"),
        ("/volunteer/stats", committee, 50, "the city's figures and monthly chart (page)"),
        ("/api/v1/volunteer/stats", committee, 50, "the city's figures and months (API)"),
    ]:
        rps, p50, p99, non2xx = wrk(base, path, cookie)
        lines.append((path, what, rps, p50, p99, non2xx, goal))
        print(f"{path} {rps:.0f}/s p50 {p50} p99 {p99}", flush=True)
    health_after = wrk(base, "/healthz", None)
    ref = max(health[0], health_after[0]) or 1.0
    phases = []
    for per_form, forms_n in [(1, FORMS), (10, FORMS // 6)]:
        run = f"bench{int(time.time())}x{per_form}"
        t = time.time()
        forms = seed(db, run, forms_n, per_form)
        seeded = time.time() - t
        print(f"seeded {len(forms)} needs of {per_form} claimants in {seeded:.1f} s", flush=True)
        time.sleep(1)
        c = confirm_load(base, community, forms, run)
        posted = int(query(db, f"select count(*) from volunteer_claim k join volunteer_need n on n.volunteer_need_id = k.volunteer_need_id "
                               f"where n.title like '{run}-%' and k.status = 'confirmed'")[0][0])
        print(f"{per_form} a form: {c[0]:.0f} forms/s ({c[0] * per_form:.0f} confirmations/s) p50 {c[1]} ms p99 {c[2]} ms, "
              f"{c[3]} requests, {c[4]} non-2xx, {posted} confirmed", flush=True)
        phases.append((per_form, len(forms), seeded, c, posted))
    env = dict(os.environ)
    # The served data's own directory (its key file, and on SQLite its database): without it
    # the command would check a fresh, empty database of its own.
    env["YAOSHI_DATA_DIR"] = os.environ["BENCH_DATA_DIR"]
    if db.startswith("postgres"):
        env["DATABASE_URL"] = db
    verify = subprocess.run([BIN, "ledger", "verify"], capture_output=True, text=True, env=env, check=False)
    verdict = ("passed: " + verify.stdout.strip().splitlines()[-1][:200]) if verify.returncode == 0 \
        else f"FAILED ({(verify.stdout + verify.stderr).strip()[:300]})"
    text = [
        f"<!-- volunteer:{SLUG}:begin -->",
        f"## 志愿者银行 ({NAME})",
        "",
        f"Produced by `{os.environ.get('BENCH_VOLUNTEER_COMMAND', 'bash bench/volunteer.sh')}` on {time.strftime('%Y-%m-%d')}: "
        f"the ledger holds {movements:,} movements ({transfers:,} transfers) made by `yaoshi demo`; the demo member's account "
        f"{mine} movements. wrk -t2 -c32 from a second process on the same 2-core machine. `/healthz` of the same run: "
        f"{health[0]:.0f} req/s (p99 {health[2]}) before, {health_after[0]:.0f} (p99 {health_after[2]}) after.",
        "",
        "| path | what | req/s | p50 | p99 | goal p99 | ratio to /healthz |",
        "|---|---|---|---|---|---|---|",
    ]
    for path, what, rps, p50, p99, non2xx, goal in lines:
        mark = "✓" if ms(p99) <= goal else "✗"
        text.append(f"| `{path}` | {what} | {rps:.0f} | {p50} | {p99} | {goal} ms {mark} | {rps / ref * 100:.1f}% |"
                    + (f" {non2xx} non-2xx" if non2xx else ""))
    text += [
        "",
        "**Confirmations** (`POST /api/v1/volunteer/needs/{id}/confirmations`, a need's claimants in one form under its "
        "own `Idempotency-Key`; each line checked against the claim, the day's 24 h and the need's span and posted as a "
        "transfer with its two movements, both balances and the month's aggregates, with the claim, the form's key and "
        "the audit entry, all in one transaction): needs made for the run in "
        f"{COMMUNITIES} communities (one account managing them all, as a city's communities confirming at once; one "
        "community alone holds its account's balance row through each commit), then wrk -t2 -c16 for "
        f"{SECONDS} s. Goal: 1,000 confirmations a second.",
        "",
        "| claimants a form | needs made | forms/s | confirmations/s | p50 | p99 | requests | not 2xx | confirmed in the database | goal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for per_form, n, seeded, c, posted in phases:
        mark = "✓" if c[0] * per_form >= 1000 else "✗"
        text.append(f"| {per_form} | {n:,} ({seeded:.0f} s) | {c[0]:.0f} | **{c[0] * per_form:.0f}** | {c[1]:.1f} ms | {c[2]:.1f} ms | "
                    f"{c[3]:,} | {c[4]} | {posted:,} | {mark} |")
    text += [
        "",
        f"`yaoshi ledger verify` afterwards: {verdict}.",
        f"<!-- volunteer:{SLUG}:end -->",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
