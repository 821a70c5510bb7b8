#!/usr/bin/env bash
# Benchmark: generate seeded days with the project's generator and time
# `payrecon run` on them under /usr/bin/time -v (wall time, peak RSS), with
# per-phase timings, then a second run over the same files (all already
# loaded). Results are printed, never asserted.
#
#   scripts/bench.sh [ORDERS...]        default: 1000000 10000000
#   BENCH_DIR=/tmp/payrecon-bench scripts/bench.sh 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)
dir=${BENCH_DIR:-/tmp/payrecon-bench}
mkdir -p "$dir"
cargo build --release --quiet --example generate
cargo build --release --quiet
bin=$PWD/target/release/payrecon
for n in "${sizes[@]}"; do
  day="$dir/day-$n"
  if [ ! -f "$day/expected.txt" ]; then
    echo "== generating $n orders into $day"
    ./target/release/examples/generate "$day" "$n" 1 0.005 2026-11-21 2>/dev/null
  fi
  bytes=$(du -cb "$day/orders.csv" "$day"/settlement/* | tail -1 | cut -f1)
  rows=$(( $(grep -E '^(attempts|settlement_rows)' "$day/expected.txt" | awk '{s+=$2} END {print s}') ))
  for pass in first second; do
    [ "$pass" = first ] && rm -rf "$day/state.db" "$day/out"
    echo "== $n orders, $pass run ($rows rows, $((bytes / 1000000)) MB of CSV)"
    ( cd "$day" && /usr/bin/time -v "$bin" run --db state.db --orders orders.csv --settlement settlement \
        --date 2026-11-21 --out out --quiet --timings ) 2> "$day/time-$pass.txt" || { cat "$day/time-$pass.txt"; exit 1; }
    # Every phase of 0.1 s or more, then the total, with rows per second:
    # a load phase's own file's rows, any other phase all the input rows.
    python3 - "$day" "$pass" "$rows" <<'PY'
import json, re, sys
day, pass_, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = {f["path"]: f["rows"] for f in json.load(open(f"{day}/out/summary.json"))["files"]}
for line in open(f"{day}/time-{pass_}.txt"):
    m = re.match(r"^ +([0-9.]+) s  (.*)$", line.rstrip("\n"))
    if not m or (float(m[1]) < 0.1 and m[2] != "total"):
        continue
    seconds, phase = float(m[1]), m[2]
    loaded = files.get(phase[len("load "):]) if phase.startswith("load ") else None
    n = loaded if loaded is not None else rows
    rate = f"{n / seconds:>12,.0f} rows/s" if pass_ == "first" and seconds > 0 else ""
    print(f"{seconds:9.3f} s  {rate:>19}  {phase}")
PY
    wall=$(grep 'Elapsed (wall clock)' "$day/time-$pass.txt" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$day/time-$pass.txt" | awk '{print $NF}')
    echo "wall $wall, peak RSS $((rss / 1024)) MiB"
  done
  # Correctness on the generated day: the findings the generator planted.
  python3 - "$day" <<'PY'
import json, sys, collections
day = sys.argv[1]
planted = {}
for line in open(f"{day}/expected.txt"):
    parts = line.split()
    if parts[0] == "finding":
        planted[parts[1]] = int(parts[2])
found = collections.Counter()
for g in json.load(open(f"{day}/out/summary.json"))["findings"]:
    found[g["kind"]] += g["count"]
print("findings match the plan" if dict(found) == planted else f"MISMATCH: planted {planted}, found {dict(found)}")
PY
done
