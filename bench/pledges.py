#!/usr/bin/env python3
"""一句话承诺's own figures (issue #16): the public board under load, measured from a second
process (wrk) beside /healthz served by the same process in the same run; the first render
after a change (the 'pledge' data version moves); and public feedback submission under load.

Usage: python3 bench/pledges.py BASE_URL DB OUT.md   (bench/pledges.sh sets it up)

Goals: a category's board p99 under 10 ms and at least 30% of /healthz's throughput;
feedback submission p99 under 30 ms. Each load line: wrk -t2 -c32 for BENCH_SWEEP_SECONDS
(default 3). The feedback load: BENCH_FEEDBACK (default 8000) challenges fetched first (a
person reads before writing; the form refuses an answer within 2 s), then wrk -t2 -c8 for
BENCH_FEEDBACK_SECONDS (default 3) posting them, each from its own address (X-Forwarded-For
through the trusted proxy), spread over the accepted pledges.
"""

import http.client
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sweep import get, ms, wrk  # noqa: E402

NAME = os.environ.get("BENCH_PLEDGES_NAME", "city data")
SLUG = re.sub(r"[^a-z0-9]+", "-", NAME.lower()).strip("-")
FEEDBACK = int(os.environ.get("BENCH_FEEDBACK", "8000"))
FEEDBACK_SECONDS = int(os.environ.get("BENCH_FEEDBACK_SECONDS", "3"))


def query(db: str, text: str) -> list[tuple]:
    if db.startswith("postgres"):
        out = subprocess.run(["psql", "-q", db, "-tAF", "\t", "-c", text], capture_output=True, text=True, check=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line.strip()]
    con = sqlite3.connect(db, timeout=10)
    rows = con.execute(text).fetchall()
    con.commit()
    con.close()
    return rows


def timed(base: str, path: str) -> float:
    t = time.perf_counter()
    status, _, _ = get(base, path, None)
    if status != 200:
        raise SystemExit(f"{path}: {status}")
    return (time.perf_counter() - t) * 1000


def rerender(base: str, db: str, path: str) -> tuple[float, float]:
    """(median ms of the first request after the 'pledge' version moves, warm ms)."""
    timed(base, path)
    warm = sorted(timed(base, path) for _ in range(7))[3]
    cold = []
    for _ in range(7):
        query(db, "update data_version set version = version + 1 where name = 'pledge'")
        cold.append(timed(base, path))
    cold.sort()
    return cold[3], warm


def solve(question: str) -> str:
    digits = "零一二三四五六七八九"
    return str(digits.index(question[0]) + digits.index(question[2]))


def feedback_load(base: str, keys: list[str]) -> tuple[float, float, float, int, int]:
    """(req/s, p50 ms, p99 ms, accepted, other) of feedback submissions from wrk (8 kept-alive
    connections, a second process): FEEDBACK challenges are fetched first, each submission
    answers its own from its own address (X-Forwarded-For through the trusted proxy), so every
    one is checked, counted and written; none repeats."""
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    reqs = []
    for i in range(FEEDBACK):
        key = keys[i % len(keys)]
        conn.request("GET", f"/api/v1/public/pledges/{key}/challenge")
        r = conn.getresponse()
        ch = json.loads(r.read())
        body = json.dumps({"token": ch["token"], "answer": solve(ch["question"]), "rating": str(1 + i % 5),
                           "body": f"基准测试反馈{i}：窗口服务热情，办事效率高"}, ensure_ascii=True)
        reqs.append((f"/api/v1/public/pledges/{key}/feedback", body, f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"))
    conn.close()
    lua = ["local reqs = {"]
    for path, body, ip in reqs:
        lua.append("{%s, %s, %s}," % (json.dumps(path), json.dumps(body), json.dumps(ip)))
    lua += [
        "}",
        "local n = 0",
        "function setup(thread) n = n + 1; thread:set('tid', n) end",
        "function init(args) idx = tid - 1 end",
        # Two threads take alternate entries; past the end a request repeats (and is refused).
        "function request()",
        "  local r = reqs[(idx % #reqs) + 1]; idx = idx + 2",
        "  return wrk.format('POST', r[1], {['Content-Type'] = 'application/json', ['X-Forwarded-For'] = r[3]}, r[2])",
        "end",
    ]
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "feedback.lua")
    os.makedirs(os.path.dirname(script), exist_ok=True)
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(lua) + "\n")
    time.sleep(2.2)  # the form refuses an answer given within 2 s
    out = subprocess.run(["wrk", "-t2", "-c8", f"-d{FEEDBACK_SECONDS}s", "--latency", "-s", script, base],
                         capture_output=True, text=True, check=False).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    other = int(non2xx.group(1)) if non2xx else 0
    return rps, ms(lat["50"]), ms(lat["99"]), total - other, other


BROWSER = "Accept-Encoding: gzip, deflate, br"


def body_size(base: str, path: str, headers: tuple[str, ...]) -> int:
    """Bytes of the body as sent for these request headers."""
    req = urllib.request.Request(base + path)
    for h in headers:
        k, v = h.split(": ", 1)
        req.add_header(k, v)
    with urllib.request.urlopen(req) as r:
        return len(r.read())


def main() -> None:
    base, db, out_path = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    year = time.localtime().tm_year
    counts = query(db, f"select count(*) from pledge where status = 'accepted' and year = {year}")
    accepted = int(counts[0][0])
    cat = query(db, f"select u.category_id, count(*) from pledge p join unit u on u.unit_id = p.unit_id "
                    f"where p.status = 'accepted' and p.year = {year} group by u.category_id order by 2 desc limit 1")
    category, in_category = cat[0][0], cat[0][1]
    unit = query(db, f"select unit_id, count(*) from pledge where status = 'accepted' and year = {year} "
                     f"group by unit_id order by 2 desc limit 1")[0]
    keys = [r[0] for r in query(db, f"select public_key from pledge where status = 'accepted' and year = {year} order by pledge_id")]
    board = f"/public/pledges/categories/{category}"
    cold, warm = rerender(base, db, board)
    print(f"category board re-render after a change: {cold:.1f} ms (warm {warm:.2f} ms)", flush=True)
    health = wrk(base, "/healthz", None)
    lines = []
    for path, goal in [
        (board, 10),
        ("/public/pledges", 10),
        (f"/public/pledges/units/{unit[0]}", 10),
        (f"/public/pledges/p/{keys[0]}", 10),
        (f"/public/pledges/units/{unit[0]}/poster", 10),
    ]:
        # As a phone's browser asks (gzip taken), and as wrk asks by default (no encoding).
        for how, headers in [("gzip", (BROWSER,)), ("plain", ())]:
            rps, p50, p99, non2xx = wrk(base, path, None, headers)
            size = body_size(base, path, headers)
            lines.append((path, how, size, rps, p50, p99, non2xx, goal))
            print(f"{path} {how} {size} B {rps:.0f}/s p50 {p50} p99 {p99}", flush=True)
    health_after = wrk(base, "/healthz", None)
    ref = max(health[0], health_after[0]) or 1.0
    fb = feedback_load(base, keys)
    print(f"feedback {fb[0]:.0f}/s p50 {fb[1]:.1f} ms p99 {fb[2]:.1f} ms, {fb[3]} accepted, {fb[4]} other", flush=True)
    text = [
        f"<!-- pledges:{SLUG}:begin -->",
        f"## 一句话承诺 ({NAME})",
        "",
        f"Produced by `{os.environ.get('BENCH_PLEDGES_COMMAND', 'bash bench/pledges.sh')}` on {time.strftime('%Y-%m-%d')}: "
        f"{accepted} accepted pledges this year, {in_category} of them in the busiest category (`{board}`, its first page of 40); "
        f"wrk -t2 -c32 from a second process on the same 2-core machine. `/healthz` of the same run: "
        f"{health[0]:.0f} req/s (p99 {health[2]}) before, {health_after[0]:.0f} (p99 {health_after[2]}) after.",
        "",
        "Board pages are rendered once per version of the pledges and the register and served from "
        "memory with an ETag (`Cache-Control: public, no-cache`); a pledge, milestone, progress, "
        "rating or published feedback written moves the 'pledge' version by trigger. The first "
        f"request after such a change re-reads the year's board and renders the page: **{cold:.1f} ms** "
        f"median of 7 (the same request warm: {warm:.2f} ms).",
        "",
        "Each page twice: as a phone's browser asks for it (`Accept-Encoding: gzip, deflate, br`, "
        "answered with the page gzipped once per version) and as wrk asks by default (no encoding: "
        "the whole HTML). The body is what crosses the wire.",
        "",
        "| path | asked | body | req/s | p50 | p99 | goal p99 | ratio to /healthz | goal ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path, how, size, rps, p50, p99, non2xx, goal in lines:
        mark = "✓" if ms(p99) <= goal else "✗"
        ratio = rps / ref * 100
        rmark = "✓" if ratio >= 30 else "✗"
        text.append(
            f"| `{path}` | {how} | {size / 1000:.1f} KB | {rps:.0f} | {p50} | {p99} | {goal} ms {mark} | {ratio:.1f}% | 30% {rmark} |"
            + (f" {non2xx} non-2xx" if non2xx else "")
        )
    mark = "✓" if fb[2] <= 30 else "✗"
    text += [
        "",
        f"**Feedback submission** (`POST /api/v1/public/pledges/{{key}}/feedback`, challenge checked, "
        f"throttles counted, one row written): wrk -t2 -c8 for {FEEDBACK_SECONDS} s from a second process, "
        f"each submission with its own challenge (of {FEEDBACK} fetched first) from its own address over "
        f"{len(keys)} pledges: {fb[0]:.0f} req/s, p50 {fb[1]:.1f} ms, "
        f"**p99 {fb[2]:.1f} ms** (goal 30 ms {mark}); {fb[3]} accepted, {fb[4]} refused "
        "(a challenge sent again once the list ran out, or the per-pledge throttle, 30 an hour).",
        f"<!-- pledges:{SLUG}:end -->",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(text) + "\n")


if __name__ == "__main__":
    main()
