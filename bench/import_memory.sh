#!/usr/bin/env bash
# Import memory: the peak memory and time of reading hostile and real workbooks
# (examples/import_memory.rs, each file in a process of its own), after and, unless
# DENSE=0, before the reading was bounded (calamine's dense range: it takes a few GB and
# half a minute); then the city's 30,000 members imported end to end by the CLI, timed and
# measured. Rewrites the section of BENCHMARKS.md between its import-memory markers.
# Run from the repo root: bash bench/import_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# The last commit before the reading was bounded, for the import timed before and after.
BASE_REV=${BASE_REV:-fbe8ed3}
ROUNDS=${BENCH_ROUNDS:-3}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
WORK=$(mktemp -d)
ROOT=$PWD
cleanup() { git worktree remove --force "$WORK/base-src" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
echo "== build $BASE_REV and this tree"
git worktree add -q --detach "$WORK/base-src" "$BASE_REV"
# The same target dir, so only the yaoshi crate itself is compiled twice.
(cd "$WORK/base-src" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin yaoshi)
cp "$TARGET/release/yaoshi" "$WORK/yaoshi-base"
touch src/main.rs   # the shared target's binary is the base build's now
cargo build --release --quiet --bin yaoshi --example import_memory
BIN=$TARGET/release/yaoshi
BASE_BIN=$WORK/yaoshi-base
export YAOSHI_INITIAL_ADMIN_PASSWORD='Bench@12345' YAOSHI_DEMO_PASSWORD='Demo@2026pass'

echo "== demo --scale city and its exports"
YAOSHI_DATA_DIR=$WORK/city "$BIN" demo --scale city >/dev/null 2>&1
YAOSHI_DATA_DIR=$WORK/city "$BIN" export members "$WORK/members.xlsx" --unmasked >/dev/null
YAOSHI_DATA_DIR=$WORK/city "$BIN" export orgs "$WORK/orgs.xlsx" >/dev/null

echo "== reading each file"
DENSE_FLAG=
[ "${DENSE:-1}" = 0 ] || DENSE_FLAG=--dense
TABLE=$("$TARGET/release/examples/import_memory" $DENSE_FLAG "$WORK/members.xlsx")

echo "== import of the city's members, CLI end to end (fresh database holding the same orgs), $ROUNDS rounds"
# Wall time and peak resident size of one command, "seconds MB".
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t0 = time.time()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
dt = time.time() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"{dt:.2f} {rss:.0f}")
PY
}
for round in $(seq 1 "$ROUNDS"); do
  for build in base new; do
    bin=$BIN; [ $build = base ] && bin=$BASE_BIN
    dir=$WORK/cli-$build-$round
    YAOSHI_DATA_DIR=$dir "$bin" import orgs "$WORK/orgs.xlsx" >/dev/null
    echo "$build import $(YAOSHI_DATA_DIR=$dir measure "$bin" import members "$WORK/members.xlsx")"
    echo "$build reimport $(YAOSHI_DATA_DIR=$dir measure "$bin" import members "$WORK/members.xlsx")"
  done
done >"$WORK/imports.txt"
# Medians over the rounds: "before → after" for time and peak RSS.
median() { python3 - "$WORK/imports.txt" "$1" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
def m(build, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == build and r[1] == sys.argv[2])
print(f"{m('base', 2):.2f} s → {m('new', 2):.2f} s, peak RSS {m('base', 3):.0f} → {m('new', 3):.0f} MB")
PY
}
IMPORT=$(median import)
REIMPORT=$(median reimport)
MEMBERS_KB=$(( $(stat -c %s "$WORK/members.xlsx") / 1024 ))
# How close the real file comes to the package limits.
PARTS=$(python3 - "$WORK/members.xlsx" <<'PY'
import sys, zipfile
info = {i.filename: i for i in zipfile.ZipFile(sys.argv[1]).infolist()}
mb = lambda n: f"{n / 1048576:.1f} MB"
s = info["xl/worksheets/sheet1.xml"]
t = info.get("xl/sharedStrings.xml")
items = zipfile.ZipFile(sys.argv[1]).read(t.filename).count(b"<si>") if t else 0
print(f"its sheet inflates to {mb(s.file_size)} ({s.file_size // max(s.compress_size, 1)}:1)"
      + (f", its shared strings table to {mb(t.file_size)} ({items} items)" if t else ""))
PY
)
CPU=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')

cat >"$WORK/section.md" <<MD
<!-- import-memory:begin -->
## Import memory

Produced by \`bash bench/import_memory.sh\` (rewrites this section only). Machine: $(nproc) cores
($CPU); release build. Each file is read by \`yaoshi::xlsx::read_first_sheet\`, what both
imports (page, API, CLI) call first, in a process of its own
(\`cargo run --release --example import_memory -- --dense FILE\`): it reads the file into
memory, resets its peak resident size (\`/proc/self/clear_refs\`), reads the sheet, and reports
how far VmHWM rose above the resident size before, i.e. what reading adds beyond the file
itself. "before" is the same file read as the code did before this section existed
(calamine's dense \`Range\`). "given file 1" is the city demo's member export, ${MEMBERS_KB} KB:
${PARTS}.
Run on $(date -u +%Y-%m-%d).

$TABLE

The city's 30,000 members imported by the CLI end to end (process start, parse, validate every
row, write; as in "Data and import" above), \`$BASE_REV\` → this build, medians of $ROUNDS
rounds alternating the two: **$IMPORT**; the same file again (nothing written):
$REIMPORT.

Limits (\`src/xlsx.rs\`): 100,000 rows, 100 columns, 2,000 characters a cell, 1,000,000
non-empty cells, 24 MB of text in the rows; in the package 1,000 entries, worksheets 200 MB
inflated, the shared strings table 24 MB and 500,000 items, ratio 100:1 above 4 MB, no XML
token or gathered string over 64 KB.
<!-- import-memory:end -->
MD
python3 - "$WORK/section.md" <<'PY'
import re, sys
section = open(sys.argv[1]).read().rstrip("\n")
doc = open("BENCHMARKS.md").read()
pattern = re.compile(r"<!-- import-memory:begin -->.*?<!-- import-memory:end -->", re.S)
if pattern.search(doc):
    doc = pattern.sub(lambda _: section, doc)
else:
    doc = doc.replace("## Rerun", section + "\n\n## Rerun", 1)
open("BENCHMARKS.md", "w").write(doc)
PY
cat "$WORK/section.md"
