#!/usr/bin/env bash
# A real-browser check of report.html: runs the demo day, renders its
# report.html with headless Chromium (Debian's `chromium`) to a PNG, and
# fails if Chromium reports an error (a console error, a failed load, a
# network request of any kind: the page must render offline).
#
# Installs nothing. Needs `chromium` on the PATH (Debian: apt-get install
# chromium; fonts-noto-cjk for the Chinese text to render).
#
#   scripts/render_report.sh [OUT.png]     default: docs/report-demo.png
#   REPORT=path/to/report.html scripts/render_report.sh /tmp/x.png
set -euo pipefail
cd "$(dirname "$0")/.."
png=${1:-docs/report-demo.png}
browser=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$browser" ]; then
  echo "error: chromium not found (Debian: apt-get install chromium fonts-noto-cjk)" >&2
  exit 1
fi
report=${REPORT:-}
if [ -z "$report" ]; then
  demo=$(mktemp -d)
  trap 'rm -rf "$demo"' EXIT
  cargo run --release --quiet -- run --config fixtures/demo/payrecon.toml \
    --db "$demo/payrecon.db" --out "$demo/out" --quiet
  report=$demo/out/report.html
fi
profile=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$profile" "$log" ${demo:+"$demo"}' EXIT
# No network at all: a request for anything but the file itself fails and
# is logged as an error, which fails this check.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --user-data-dir="$profile" --no-first-run --disable-extensions \
  --enable-logging=stderr --v=0 --disable-background-networking \
  --disable-component-update --disable-sync --log-net-log="$profile/net.json" \
  --host-resolver-rules="MAP * ~NOTFOUND" \
  --window-size=1280,2400 --screenshot="$png" "file://$(realpath "$report")" 2>"$log" || {
  cat "$log" >&2
  echo "error: chromium failed" >&2
  exit 1
}
# Chromium's own noise (dbus, GPU, sandbox) is not about the page; console
# messages, failed loads and network errors are.
if grep -E "CONSOLE|Failed to load|net::ERR_|Uncaught|Refused to" "$log" >&2; then
  echo "error: chromium reported an error rendering $report" >&2
  exit 1
fi
# Every URL the page asked for: only the report itself (file://) may
# appear. Chromium's own background services (updates, accounts, clock,
# dictionaries on *.google.com, *.googleapis.com, *.gvt1.com) are not the
# page's and are left out.
requests=$(grep -o '"url":"[^"]*"' "$profile/net.json" | sed 's/^"url":"//; s/"$//' | sort -u |
  grep -v -E '^file://|^data:|^https?://([a-z0-9.-]+\.)?(google\.com|googleapis\.com|gvt1\.com)/' || true)
if [ -n "$requests" ]; then
  echo "$requests" >&2
  echo "error: $report asked the network for the above" >&2
  exit 1
fi
[ -s "$png" ] || { echo "error: no screenshot written" >&2; exit 1; }
echo "rendered $report to $png"
