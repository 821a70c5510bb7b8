#!/usr/bin/env bash
# Rows per second of each native settlement parser against the canonical CSV
# parser over as many records, from the ignored speed tests, optimised and one
# test at a time (the timings are wall-clock: run it on a quiet machine).
#
#   scripts/format_speed.sh [ROWS]     # default 1000000 (PAYRECON_SPEED_ROWS)
#
# Each figure is the best of three parses of an in-memory file; parsing only
# (no database). The figures in docs/formats.md come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-${PAYRECON_SPEED_ROWS:-1000000}}"
load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

cargo build --release --quiet
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
PAYRECON_SPEED_ROWS="$rows" cargo test --release --lib --quiet -- \
    --ignored --nocapture --test-threads=1 speed >"$log" 2>&1 || {
    cat "$log" >&2
    exit 1
}

echo "parsing $rows rows per format, best of 3 (release build, one test at a time)"
echo "load average at start: $load"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo unknown), $(nproc) core(s)"
echo
printf '%-10s %16s %16s %17s\n' format "native rows/s" "canonical rows/s" "native/canonical"
# speed: wechat 1000000 rows: 812345 rows/s, canonical 934567 rows/s: 87%
grep -o 'speed: .*' "$log" | sort -k2,2 | awk '{
    printf "%-10s %16s %16s %17s\n", $2, $5, $8, $10
}'
