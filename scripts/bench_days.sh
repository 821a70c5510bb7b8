#!/usr/bin/env bash
# Benchmark across days (issue 11): DAYS consecutive generated days of
# ORDERS_PER_DAY orders each, fed to one database one morning at a time, as
# cron would. Morning k loads day k's export and the channels' files of day
# k (that day's payments plus the T+1 spill of day k-1), so day k-1 becomes
# covered and is the business day. Prints, per morning: wall time, peak RSS,
# database size and the rows of discrepancies.csv. Results are printed,
# never asserted.
#
#   scripts/bench_days.sh DAYS ORDERS_PER_DAY
#   BENCH_DIR=/tmp/payrecon-days scripts/bench_days.sh 30 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
days=${1:?usage: scripts/bench_days.sh DAYS ORDERS_PER_DAY}
orders=${2:?usage: scripts/bench_days.sh DAYS ORDERS_PER_DAY}
dir=${BENCH_DIR:-/tmp/payrecon-days}-$days-$orders
cargo build --release --quiet --example generate
cargo build --release --quiet
bin=$PWD/target/release/payrecon
start=2026-11-01
mkdir -p "$dir"
# Generate day k with ids from k*ORDERS, so the days share no id.
for ((k = 0; k < days; k++)); do
  day=$(date -d "$start + $k day" +%F)
  [ -f "$dir/gen-$k/expected.txt" ] || ./target/release/examples/generate "$dir/gen-$k" "$orders" $((k + 1)) 0.005 "$day" $((k * orders)) 2>/dev/null
done
rm -rf "$dir/state.db" "$dir/out" "$dir/feed"
printf '%-8s %-12s %10s %10s %12s %14s\n' morning business_day wall_s rss_MiB db_MiB report_rows
for ((k = 0; k < days; k++)); do
  day=$(date -d "$start + $k day" +%F)
  feed="$dir/feed/$k"
  mkdir -p "$feed"
  # The channel files of day k: its own rows and the T+1 spill of day k-1.
  for own in "$dir/gen-$k"/settlement/*-"$day".csv; do
    name=$(basename "$own")
    {
      head -1 "$own"
      tail -n +2 "$own"
      if ((k > 0)); then tail -n +2 "$dir/gen-$((k - 1))/settlement/$name"; fi
    } > "$feed/$name"
  done
  /usr/bin/time -f '%e %M' -o "$dir/time" "$bin" run --quiet --db "$dir/state.db" \
    --orders "$dir/gen-$k/orders.csv" --settlement "$feed" --out "$dir/out/$k" 2> "$dir/stderr" \
    || { cat "$dir/stderr"; exit 1; }
  read -r wall rss < "$dir/time"
  business=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['business_day'])" "$dir/out/$k/summary.json")
  rows=$(($(wc -l < "$dir/out/$k/discrepancies.csv") - 1))
  db=$(du -m "$dir/state.db" | cut -f1)
  printf '%-8s %-12s %10s %10s %12s %14s\n' $((k + 1)) "$business" "$wall" $((rss / 1024)) "$db" "$rows"
done
