#!/usr/bin/env bash
# Render a hipsync HTML report to a PNG with headless Chromium, to check how the report and its charts look.
#
# Usage: scripts/screenshot_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
#   REPORT.html  a report written by `hipsync report` or `hipsync demo` (charts are inlined, no network needed)
#   OUT.png      default: REPORT.png beside the report
#   WIDTHxHEIGHT window size in CSS pixels, default 820x2600 (tall enough for the whole report)
#
# Needs Debian's `chromium` package (apt-get install -y chromium). Not used by CI.
# --no-sandbox is needed when running as root (containers); the other flags keep Chromium from touching the
# network or updating itself while it takes the screenshot.
set -euo pipefail
html=${1:?usage: $0 REPORT.html [OUT.png] [WIDTHxHEIGHT]}
out=${2:-${html%.html}.png}
size=${3:-820x2600}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
    echo "chromium not found: apt-get install -y chromium" >&2
    exit 1
fi
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --no-first-run --hide-scrollbars --window-size="${size/x/,}" --screenshot="$out" "file://$abs" \
    >/dev/null 2>&1
echo "$out"
