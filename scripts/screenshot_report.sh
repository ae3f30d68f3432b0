#!/usr/bin/env bash
# Render a hipsync HTML report to a PNG with headless Chromium, to check how the report and its charts look.
#
# Usage: scripts/screenshot_report.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
#   REPORT.html  a report written by `hipsync report` or `hipsync demo` (charts are inlined, no network needed)
#   OUT.png      default: REPORT.png beside the report
#   WIDTHxHEIGHT window size in CSS pixels, default 820x8000: tall enough for a long week; the empty grey
#                page below the report is then cut off (with the project's Pillow, through `uv run`), so
#                the image ends with the report.
#
# Needs Debian's `chromium` package (apt-get install -y chromium). Not used by CI.
# --no-sandbox is needed when running as root (containers); the other flags keep Chromium from touching the
# network or updating itself while it takes the screenshot.
set -euo pipefail
html=${1:?usage: $0 REPORT.html [OUT.png] [WIDTHxHEIGHT]}
out=${2:-${html%.html}.png}
size=${3:-820x8000}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
    echo "chromium not found: apt-get install -y chromium" >&2
    exit 1
fi
abs=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --no-first-run --hide-scrollbars --window-size="${size/x/,}" --screenshot="$out" "file://$abs" \
    >/dev/null 2>&1
# Cut the rows below the report that are all page background (the body's #f4f4f4), keeping a 16 px margin.
here=$(cd "$(dirname "$0")/.." && pwd)
if command -v uv >/dev/null 2>&1; then
    uv run --project "$here" python - "$out" <<'EOF' || echo "not trimmed (no Pillow?)" >&2
import sys
from PIL import Image, ImageChops

path = sys.argv[1]
image = Image.open(path).convert("RGB")
background = Image.new("RGB", image.size, (0xF4, 0xF4, 0xF4))
box = ImageChops.difference(image, background).getbbox()
if box:
    image.crop((0, 0, image.width, min(image.height, box[3] + 16))).save(path)
EOF
fi
echo "$out"
