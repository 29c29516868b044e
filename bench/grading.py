#!/usr/bin/env python3
"""分级定档's own figures (issue #14): the refresh of every branch's automatic scores after a
record arrives, and the tier list, a roadmap and an assessment page under load.

Usage: python3 bench/grading.py BASE_URL DB OUT.md   (bench/grading.sh sets it up)

Each line is requested once before it is loaded (its first visit after a change is the
refresh, timed on its own). The refresh: a write bumps the 'orglife' data version (as every meeting recorded does), so
the next reader recomputes the year's organizational-life figures, every branch's indicator
figures and the cycle's board (each assessment scored and placed). It is timed as that
first request's time minus the same request's time once warm, seven times; the board alone
is timed the same way after a bump of 'grading' (a score saved). Each load line: wrk -t2
-c32 for BENCH_SWEEP_SECONDS (default 3) with its ratio to /healthz of the same run.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sweep import ROLES, SECRET, get, login, ms, wrk  # noqa: E402

NAME = os.environ.get("BENCH_GRADING_NAME", "city data")
SLUG = re.sub(r"[^a-z0-9]+", "-", NAME.lower()).strip("-")
CITY = SLUG.startswith("city")


def sql(db: str, text: str) -> None:
    if db.startswith("postgres"):
        subprocess.run(["psql", "-q", db, "-c", text], check=True)
    else:
        con = sqlite3.connect(db, timeout=10)
        con.execute(text)
        con.commit()
        con.close()


def timed(base: str, path: str, cookie: str) -> float:
    t = time.perf_counter()
    status, _, _ = get(base, path, cookie)
    if status != 200:
        raise SystemExit(f"{path}: {status}")
    return (time.perf_counter() - t) * 1000


def refresh(base: str, db: str, cookie: str, area: str) -> tuple[float, float, float]:
    """(median, worst, warm) ms of the first tier-list request after a bump of `area`."""
    path = "/api/v1/grading/assessments?per_page=1"
    timed(base, path, cookie)
    warm = sorted(timed(base, path, cookie) for _ in range(7))[3]
    cold = []
    for _ in range(7):
        sql(db, f"update data_version set version = version + 1 where name = '{area}'")
        cold.append(timed(base, path, cookie) - warm)
    cold.sort()
    return cold[3], cold[-1], warm


def main() -> None:
    base, db, out_path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    names = ",".join(f"'{r}'" for r in ROLES)
    sql(
        db,
        f"update app_user set totp_secret = '{SECRET}', totp_enabled_at = 1, totp_last_step = 0 "
        f"where username in ({names})",
    )
    committee = login(base, "demo_committee")
    time.sleep(1)
    unit = login(base, "demo_unit")
    time.sleep(1)
    branch = login(base, "demo_branch")
    _, body, _ = get(base, "/api/v1/grading/assessments?per_page=1", committee)
    listed = json.loads(body)
    total = listed["total"]
    any_id = listed["items"][0]["assessment_id"]
    _, body, _ = get(base, "/api/v1/grading/assessments?per_page=1", branch)
    own = json.loads(body)["items"][0]["assessment_id"]
    orglife = refresh(base, db, committee, "orglife")
    board = refresh(base, db, committee, "grading")
    print(f"refresh after a record: {orglife[0]:.0f} ms (worst {orglife[1]:.0f}); board alone {board[0]:.0f} ms", flush=True)
    lines = []
    health = wrk(base, "/healthz", None)
    for who, cookie, path, goal in [
        ("committee", committee, "/grading/assessments", 20),
        ("committee", committee, "/grading/assessments?sort=up&tier=second&per_page=50", 20),
        ("committee", committee, "/api/v1/grading/assessments?per_page=50", 20),
        ("committee", committee, "/grading/categories", 20),
        ("committee", committee, f"/api/v1/grading/assessments/{any_id}/roadmap", 20),
        ("committee", committee, f"/grading/assessments/{any_id}", 30),
        ("unit", unit, "/grading/assessments?sort=up", 20),
        ("branch", branch, f"/api/v1/grading/assessments/{own}/roadmap", 20),
        ("branch", branch, f"/grading/assessments/{own}", 30),
        ("branch", branch, "/", 20),
    ]:
        # Warm, as the sweep does: a page's first visit after a change is the refresh above.
        get(base, path, cookie)
        rps, p50, p99, non2xx = wrk(base, path, cookie)
        lines.append((who, path, rps, p50, p99, non2xx, goal))
        print(f"{who} {path} {rps:.0f}/s p50 {p50} p99 {p99}", flush=True)
    health_after = wrk(base, "/healthz", None)
    ref = max(health[0], health_after[0]) or 1.0
    text = [
        f"<!-- grading:{SLUG}:begin -->",
        f"## 分级定档 ({NAME})",
        "",
        f"Produced by `{os.environ.get('BENCH_GRADING_COMMAND', 'bash bench/grading.sh')}` on {time.strftime('%Y-%m-%d')}, "
        f"{total} branch assessments in this year's cycle; wrk -t2 -c32 on the same 2-core machine. "
        f"`/healthz` of the same run: {health[0]:.0f} req/s (p99 {health[2]}) before, "
        f"{health_after[0]:.0f} (p99 {health_after[2]}) after.",
        "",
        "**Refresh.** After a record arrives (the 'orglife' version moves), the next reader "
        "recomputes the year's organizational-life figures, every branch's indicator figures and "
        f"the board (every assessment scored and placed): **{orglife[0]:.0f} ms** median of 7, "
        f"worst {orglife[1]:.0f} ms (the request itself, warm, takes {orglife[2]:.1f} ms and is "
        f"subtracted). After a score is saved (the 'grading' version moves) only the board is "
        f"recomputed: **{board[0]:.0f} ms** median, worst {board[1]:.0f} ms. "
        + (
            f"Goal: the refresh under 1 s {'✓' if orglife[0] < 1000 else '✗'}."
            if CITY
            else f"Goal: the refresh under 10 s {'✓' if orglife[0] < 10000 else '✗'}; the pages' "
            "goals are the city's, shown for comparison."
        ),
        "",
        "| role | path | req/s | p50 | p99 | goal p99 | ratio to /healthz |",
        "|---|---|---|---|---|---|---|",
    ]
    for who, path, rps, p50, p99, non2xx, goal in lines:
        mark = ("✓" if ms(p99) <= goal else "✗") if CITY else "(city)"
        text.append(
            f"| {who} | `{path}` | {rps:.0f} | {p50} | {p99} | {goal} ms {mark} | {rps / ref * 100:.1f}% |"
            + (f" {non2xx} non-2xx" if non2xx else "")
        )
    text.append(f"<!-- grading:{SLUG}:end -->")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
