#!/usr/bin/env bash
# Benchmark across days (issue 11): DAYS consecutive generated days of
# ORDERS_PER_DAY orders each, fed to one database one morning at a time, as
# cron would. Morning k loads day k's export and the channels' files of day
# k (that day's payments, the T+1 spill of day k-1, and the refunds the
# channel executed for morning k-1's refund files), so day k-1 becomes
# covered and is the business day. After each morning the team works its
# queue (TEAM=1, the default): every open investigate finding of the day's
# discrepancies.csv gets a resolution and goes through `payrecon resolve
# --from`, as a team does in Excel; TEAM=0 leaves everything open.
#
# Prints, per morning: wall time and peak RSS of the run, the time the
# judgement took (its scope, classification and ledger phases), how many
# attempts it judged, database size, rows of discrepancies.csv and the
# resolve step's time; each morning's --timings go to timings-K.txt.
# Results are printed, never asserted.
#
#   scripts/bench_days.sh DAYS ORDERS_PER_DAY
#   BENCH_DIR=/tmp/payrecon-days RETENTION=7 scripts/bench_days.sh 30 1000000
#
# MORNINGS=K stops after K mornings; SNAPSHOT=K copies the database as it is
# before morning K to before-K.db (to measure one morning again, A/B); BIN
# runs another build of payrecon.
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:?usage: scripts/bench_days.sh DAYS ORDERS_PER_DAY}
orders=${2:?usage: scripts/bench_days.sh DAYS ORDERS_PER_DAY}
dir=${BENCH_DIR:-/tmp/payrecon-days}-$days-$orders
retention=${RETENTION:-7}
team=${TEAM:-1}
cargo build --release --quiet --example generate
if [ -z "${BIN:-}" ]; then cargo build --release --quiet; fi
bin=${BIN:-$PWD/target/release/payrecon}
mornings=${MORNINGS:-$days}
start=2026-11-01
mkdir -p "$dir"
# Generate day k with ids from k*ORDERS, so the days share no id.
for ((k = 0; k < days; k++)); do
  day=$(date -d "$start + $k day" +%F)
  [ -f "$dir/gen-$k/expected.txt" ] || ./target/release/examples/generate "$dir/gen-$k" "$orders" $((k + 1)) 0.005 "$day" $((k * orders)) 2>/dev/null
done
rm -rf "$dir/state.db" "$dir/out" "$dir/feed"
printf 'retention_days = %s\n' "$retention" > "$dir/payrecon.toml"
printf '%-8s %-12s %8s %8s %8s %10s %8s %10s %9s\n' \
  morning business_day wall_s rss_MiB judge_s judged db_MiB report_rows resolve_s
for ((k = 0; k < mornings; k++)); do
  if [ "${SNAPSHOT:-}" = $((k + 1)) ]; then cp "$dir/state.db" "$dir/before-$((k + 1)).db"; fi
  day=$(date -d "$start + $k day" +%F)
  feed="$dir/feed/$k"
  mkdir -p "$feed"
  # The channel files of day k: its own rows, the T+1 spill of day k-1, and
  # the refunds the channel made today for yesterday's refund files.
  for own in "$dir/gen-$k"/settlement/*-"$day".csv; do
    name=$(basename "$own")
    {
      head -1 "$own"
      tail -n +2 "$own"
      if ((k > 0)); then tail -n +2 "$dir/gen-$((k - 1))/settlement/$name"; fi
      if [ -f "$dir/feed/refunds-$k.csv" ]; then grep "^${name%%-*}," "$dir/feed/refunds-$k.csv" || true; fi
    } > "$feed/$name"
  done
  /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" run --quiet --timings --config "$dir/payrecon.toml" \
    --db "$dir/state.db" --orders "$dir/gen-$k/orders.csv" --settlement "$feed" \
    --out "$dir/out/$k" 2> "$dir/stderr" || { cat "$dir/stderr"; exit 1; }
  read -r wall rss < "$dir/time"
  cp "$dir/stderr" "$dir/timings-$((k + 1)).txt"
  read -r business judge judged < <(python3 - "$dir/out/$k" "$dir/stderr" "$dir/feed/refunds-$((k + 1)).csv" "$(date -d "$start + $((k + 1)) day" +%F)" <<'PY'
import csv, glob, json, re, sys
out, stderr, refunds_next, next_day = sys.argv[1:5]
business = json.load(open(f"{out}/summary.json"))["business_day"]
judge, judged = 0.0, 0
for line in open(stderr):
    m = re.match(r"^ +([0-9.]+) s  (.*)$", line.rstrip("\n"))
    if not m:
        continue
    phase = m[2]
    if phase.startswith(("scope", "prepare", "rule ", "issue refunds", "ledger:", "record what")):
        judge += float(m[1])
    s = re.match(r"scope: (\d+) attempt", phase)
    if s:
        judged = int(s[1])
# The channel executes the refund files the next day: one REFUND row each.
with open(refunds_next, "w") as f:
    for path in sorted(glob.glob(f"{out}/refunds*.csv")):
        for r in csv.DictReader(open(path)):
            f.write(f"{r['channel']},{r['channel_txn_id']},{r['channel_order_id']},REFUND,"
                    f"{r['amount']},,{r['currency']},{next_day}T12:00:00+08:00,{r['refund_request_id']}\n")
print(business, f"{judge:.1f}", judged)
PY
)
  rows=$(($(wc -l < "$dir/out/$k/discrepancies.csv") - 1))
  resolve=-
  if [ "$team" = 1 ]; then
    # Every open investigate finding gets a resolution; refund findings are
    # left to the data (the channel's refund rows close them).
    python3 - "$dir/out/$k/discrepancies.csv" "$dir/reviewed.csv" <<'PY'
import csv, sys
src, dst = sys.argv[1:3]
refund_kinds = {"DUPLICATE_PAYMENT", "PAID_AFTER_CLOSE"}
with open(src, newline="") as f, open(dst, "w", newline="") as g:
    reader = csv.DictReader(f)
    writer = csv.DictWriter(g, fieldnames=reader.fieldnames + ["resolution"])
    writer.writeheader()
    for row in reader:
        if row["status"] in ("NEW", "OPEN") and row["kind"] not in refund_kinds:
            row["resolution"] = "checked with the channel"
            writer.writerow(row)
PY
    start_s=$(date +%s.%N)
    "$bin" resolve --db "$dir/state.db" --from "$dir/reviewed.csv" --by bench > /dev/null
    resolve=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start_s" "$(date +%s.%N)")
  fi
  db=$(du -m "$dir/state.db" | cut -f1)
  printf '%-8s %-12s %8s %8s %8s %10s %8s %10s %9s\n' \
    $((k + 1)) "$business" "$wall" $((rss / 1024)) "$judge" "$judged" "$db" "$rows" "$resolve"
done
