#!/usr/bin/env python3
"""How each sweep line grows from city to province (10× the data).

Reads the two sweeps' "Every line" tables from BENCHMARKS.md (sections city-data and
province-data, both SQLite), pairs lines by role and route pattern (ids differ between the
two databases), and replaces the section <!-- growth:begin --> … <!-- growth:end --> with the
ratio of each figure, worst first. bench/sweep.sh runs it after each sweep; it does nothing
until both sections exist.
"""

import re
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from sweep import ms, pattern  # noqa: E402

ROW = re.compile(r"^\| (\w+) \| `([^`]+)` \| (\d+) \| (\S+) \| (\S+) \| (\S+)ms \| [\d.]+% \| ([\d,]+) \|", re.M)


def lines(text: str, slug: str) -> dict:
    m = re.search(rf"<!-- sweep:{slug}:begin -->(.*?)<!-- sweep:{slug}:end -->", text, re.S)
    if not m:
        return {}
    every = m.group(1).split("### Every line", 1)[-1]
    out = {}
    for role, path, rps, p50, p99, own, size in ROW.findall(every):
        out.setdefault((role, pattern(path)), (path, float(rps), ms(p99), float(own), int(size.replace(",", ""))))
    return out


def main() -> None:
    text = open("BENCHMARKS.md", encoding="utf-8").read()
    city, province = lines(text, "city-data"), lines(text, "province-data")
    if not city or not province:
        return
    pairs = [(k, city[k], province[k]) for k in province if k in city]
    pairs.sort(key=lambda x: -(x[2][3] / max(x[1][3], 0.01)))
    ratio = lambda a, b: f"{b / a:.1f}×" if a else "—"  # noqa: E731
    out = [
        "<!-- growth:begin -->",
        "## From city to province",
        "",
        "The city and province sweeps (SQLite) side by side, each line paired by role and route",
        "pattern; the province has 10× the members, branches and records. 'alone' is one",
        "request's time (median of seven in a row); req/s and p99 are at 32 clients. Sorted by",
        f"how much the page's own time grew, worst first. {len(pairs)} lines paired"
        f" (of {len(city)} city and {len(province)} province lines).",
        "",
        "| role | route | alone city → province | × | req/s city → province | p99 city → province | bytes city → province |",
        "|---|---|---|---|---|---|---|",
    ]
    for (role, pat), c, p in pairs:
        out.append(
            f"| {role} | `{pat}` | {c[3]:.1f} → {p[3]:.1f} ms | {ratio(c[3], p[3])} | "
            f"{c[1]:.0f} → {p[1]:.0f} | {c[2]:.1f} → {p[2]:.1f} ms | {c[4]:,} → {p[4]:,} |"
        )
    out.append("<!-- growth:end -->")
    section = "\n".join(out)
    old = re.compile(r"<!-- growth:begin -->.*?<!-- growth:end -->", re.S)
    if old.search(text):
        text = old.sub(lambda _: section, text)
    else:
        text = text.replace("## Rerun", section + "\n\n## Rerun", 1)
    open("BENCHMARKS.md", "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
