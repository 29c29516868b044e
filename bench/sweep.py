#!/usr/bin/env python3
"""Every GET page and API route, as every role that may open it, under load.

No list of routes is kept here: the API's GET operations come from the running server's
OpenAPI document (path parameters filled from the first row of the matching list), and
the pages from crawling, as each demo role, the links of its own pages — the navigation
the app builds from the features' entries, then the links on those pages (one per
pattern: /org/members/123 and /org/members/456 are one line). A route added tomorrow is
measured tomorrow without anyone adding it here.

Usage: python3 bench/sweep.py BASE_URL DB OUT.md   (bench/sweep.sh sets it up)
DB is the SQLite file or a postgres:// URL. Each line: wrk -t2 -c32 for BENCH_SWEEP_SECONDS
(default 3 s); req/s, p50, p99, ratio to /healthz of the same run, bytes of one answer.
Writes the markdown section to OUT.md, named by BENCH_SWEEP_NAME (default "city data") and
judged against BENCH_SWEEP_GOAL_MS (default 20).
"""

import html
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar

sys.path.insert(0, os.path.dirname(__file__))
from login_load import totp  # noqa: E402

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "Demo@2026pass"
ROLES = ["demo_committee", "demo_unit", "demo_branch", "demo_member", "demo_community"]
SECONDS = os.environ.get("BENCH_SWEEP_SECONDS", "3")
NAME = os.environ.get("BENCH_SWEEP_NAME", "city data")
GOAL_MS = float(os.environ.get("BENCH_SWEEP_GOAL_MS", "20"))
# The section's markers: one section per name, so the SQLite, PostgreSQL and province sweeps
# stand side by side in BENCHMARKS.md.
SLUG = re.sub(r"[^a-z0-9]+", "-", NAME.lower()).strip("-") or "city"
PER_ROLE = int(os.environ.get("BENCH_SWEEP_PAGES", "60"))
# Not pages to measure: downloads, and links that change or end things.
SKIP = re.compile(r"/(export|download|file|logout|static)\b|\.xlsx|/api/openapi|/healthz|/readyz|/metrics")


def login(base: str, user: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    body = {"username": user, "password": PASSWORD, "totp": totp(SECRET, time.time())}
    req = urllib.request.Request(
        base + "/api/v1/session",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    opener.open(req, timeout=30).read()
    for c in jar:
        if c.name == "yaoshi_session":
            return c.value
    raise SystemExit(f"no session for {user}")


def get(base: str, path: str, cookie: str | None):
    req = urllib.request.Request(base + path)
    if cookie:
        req.add_header("Cookie", f"yaoshi_session={cookie}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read(), r.headers.get("content-type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers.get("content-type", "")


def pattern(path: str) -> str:
    p, _, q = path.partition("?")
    p = re.sub(r"/\d+(?=/|$)", "/{n}", p)
    keys = sorted(k.split("=")[0] for k in q.split("&") if k)
    return p + ("?" + "&".join(keys) if keys else "")


def crawl(base: str, cookie: str) -> list[str]:
    seen, out, queue = set(), [], ["/"]
    while queue and len(out) < PER_ROLE:
        path = queue.pop(0)
        pat = pattern(path)
        if pat in seen:
            continue
        seen.add(pat)
        status, body, ctype = get(base, path, cookie)
        if status != 200 or "text/html" not in ctype:
            continue
        out.append(path)
        for href in re.findall(r'href="(/[^"#]*)"', body.decode("utf-8", "replace")):
            href = html.unescape(href)
            if not SKIP.search(href) and pattern(href) not in seen:
                queue.append(href)
    return out


def api_paths(base: str, cookie: str) -> list[str]:
    status, body, _ = get(base, "/api/openapi.json", cookie)
    if status != 200:
        return []
    doc = json.loads(body)
    out = []
    for path, item in sorted(doc.get("paths", {}).items()):
        if "get" not in item:
            continue
        full = "/api/v1" + path
        if SKIP.search(full):
            continue
        if "{" in full:
            filled = fill(base, full, cookie)
            if filled:
                out.append(filled)
        else:
            out.append(full)
    return out


def fill(base: str, template: str, cookie: str) -> str | None:
    """/api/v1/members/{id} → the first member of /api/v1/members this role sees."""
    head, _, rest = template.partition("{")
    collection = head.rstrip("/")
    status, body, _ = get(base, collection, cookie)
    if status != 200:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    items = data.get("items", data) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        return None
    ident = next((v for k, v in items[0].items() if k.endswith("_id") and isinstance(v, int)), None)
    if ident is None:
        return None
    name, _, tail = rest.partition("}")
    return None if "{" in tail else f"{head}{ident}{tail}"


def wrk(base: str, path: str, cookie: str | None, headers: tuple[str, ...] = ()) -> tuple[float, str, str, int]:
    cmd = ["wrk", "-t2", "-c32", f"-d{SECONDS}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: yaoshi_session={cookie}"]
    for h in headers:
        cmd += ["-H", h]
    out = subprocess.run(cmd + [base + path], capture_output=True, text=True, check=False).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) if "Requests/sec" in out else 0.0
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, lat.get("50", "-"), lat.get("99", "-"), int(non2xx.group(1)) if non2xx else 0


def alone(base: str, path: str, cookie: str | None) -> float:
    """The page's own time: the median of seven requests one after another, in ms."""
    times = []
    for _ in range(7):
        t = time.perf_counter()
        get(base, path, cookie)
        times.append((time.perf_counter() - t) * 1000)
    return sorted(times)[3]


def why(line, health_p99: float) -> str:
    """Why a line is over the goal, from its own figures: the page alone, the queue that 32
    clients on two cores make (by Little's law the mean wait is 32 ÷ req/s), and the
    machine's floor (/healthz's own p99 in the same run)."""
    reasons = []
    if line[6] > 150_000:
        reasons.append(f"body {line[6] / 1000:.0f} KB")
    own, rps, p99 = line[7], line[2], ms(line[4])
    if own > GOAL_MS:
        reasons.append(f"the page alone takes {own:.1f} ms")
    if p99 > GOAL_MS:
        queue = 32 / rps * 1000 if rps else float("inf")
        if own <= GOAL_MS and queue > GOAL_MS / 2:
            reasons.append(
                f"queueing: alone {own:.1f} ms, but 32 clients at {rps:.0f} req/s wait "
                f"{queue:.1f} ms on average"
            )
        elif own <= GOAL_MS:
            reasons.append(
                f"the tail: alone {own:.1f} ms and a mean wait of {queue:.1f} ms at 32 clients; "
                "the slowest 1% waited for a core (wrk, the server and the database share two)"
            )
        if health_p99 > GOAL_MS:
            reasons.append(f"/healthz's own p99 here is {health_p99:.0f} ms")
    return "; ".join(reasons)


def ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    if not m:
        return float("inf")
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n * 1000 if unit == "s" else n


def main() -> None:
    base, db, out_path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    names = ",".join(f"'{r}'" for r in ROLES)
    enrol = (
        f"update app_user set totp_secret = '{SECRET}', totp_enabled_at = 1, totp_last_step = 0 "
        f"where username in ({names})"
    )
    if db.startswith("postgres"):
        subprocess.run(["psql", "-q", db, "-c", enrol], check=True)
    else:
        con = sqlite3.connect(db, timeout=10)
        con.execute(enrol)
        con.commit()
        con.close()
    lines = []
    health = wrk(base, "/healthz", None)
    for user in ROLES:
        cookie = login(base, user)
        targets = crawl(base, cookie) + api_paths(base, cookie)
        for path in targets:
            status, body, _ = get(base, path, cookie)
            if status != 200:
                continue
            rps, p50, p99, non2xx = wrk(base, path, cookie)
            own = alone(base, path, cookie)
            lines.append((user.removeprefix("demo_"), path, rps, p50, p99, non2xx, len(body), own))
            print(f"{user} {path} {rps:.0f}/s p99 {p99} alone {own:.1f} ms {len(body)} B", flush=True)
    health_after = wrk(base, "/healthz", None)
    # The yardstick: the better of the two /healthz runs (the first can catch the server's
    # start-up work).
    ref = max(health[0], health_after[0]) or 1.0
    row = lambda l: (  # noqa: E731
        f"| {l[0]} | `{l[1]}` | {l[2]:.0f} | {l[3]} | {l[4]} | {l[7]:.1f}ms | {l[2] / ref * 100:.1f}% | {l[6]:,} |"
        + (f" {l[5]} non-2xx |" if l[5] else " |")
    )
    floor = max(ms(health[2]), ms(health_after[2]))
    worst = sorted(lines, key=lambda l: -ms(l[4]))[:10]
    over = [l for l in lines if ms(l[4]) > GOAL_MS or l[6] > 150_000]
    slow_alone = [l for l in lines if l[7] > GOAL_MS or l[6] > 150_000]
    over_row = lambda l: row(l) + f" {why(l, floor)} |"  # noqa: E731
    goal = f"{GOAL_MS:.0f} ms"
    text = [
        f"<!-- sweep:{SLUG}:begin -->",
        f"## Sweep: every page and API route, every role ({NAME})",
        "",
        f"Produced by `{os.environ.get('BENCH_SWEEP_COMMAND', 'bash bench/sweep.sh')}` on {time.strftime('%Y-%m-%d')}: the API's GET operations",
        "from the OpenAPI document and every page each demo role reaches by its links (one per",
        f"pattern), each under wrk -t2 -c32 for {SECONDS} s on the same machine as the server (2 cores).",
        f"`/healthz` of the same run: {health[0]:.0f} req/s (p99 {health[2]}) before, {health_after[0]:.0f} "
        f"(p99 {health_after[2]}) after (ratios to the better; its p99 is this machine's floor for every line); "
        f"{len(lines)} lines; goal p99 ≤ {goal} and ≤ 150 KB: {len(lines) - len(over)} meet it, "
        f"{len(over)} do not; {len(slow_alone)} take over {goal} (or 150 KB) for one request "
        "alone (the median of seven in a row, the column 'alone').",
        "",
        "### Over the goal, and why",
        "",
        "The reason is computed from the line's own figures: the page's time alone, the queue",
        "32 clients make on two cores shared with wrk (and PostgreSQL) — by Little's law the",
        "mean wait is 32 ÷ req/s — and /healthz's own p99 in the same run.",
        "",
        "| role | path | req/s | p50 | p99 | alone | ratio to /healthz | bytes | | why |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *([over_row(l) for l in over] or ["| | none | | | | | | | | |"]),
        "",
        "### Worst ten by p99",
        "",
        "| role | path | req/s | p50 | p99 | alone | ratio to /healthz | bytes | |",
        "|---|---|---|---|---|---|---|---|---|",
        *[row(l) for l in worst],
        "",
        "### Every line",
        "",
        "| role | path | req/s | p50 | p99 | alone | ratio to /healthz | bytes | |",
        "|---|---|---|---|---|---|---|---|---|",
        *[row(l) for l in lines],
        f"<!-- sweep:{SLUG}:end -->",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
