#!/usr/bin/env bash
# Vendor the dashboard's JS charting library into the package (run at development time only:
# the server needs no Node and no CDN). To refresh: change UPLOT_VERSION and UPLOT_SHA256 (from
# `npm pack uplot@<version>` and `sha256sum`), run this script, look at the dashboard's charts
# (tests/browser) and commit ktrdr/api/static/vendor/uplot/.
set -euo pipefail
cd "$(dirname "$0")/.."

UPLOT_VERSION=1.6.32
UPLOT_SHA256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
TARGET=ktrdr/api/static/vendor/uplot

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@${UPLOT_VERSION}" >/dev/null)
echo "${UPLOT_SHA256}  ${work}/uplot-${UPLOT_VERSION}.tgz" | sha256sum --check --quiet
tar -xzf "${work}/uplot-${UPLOT_VERSION}.tgz" -C "$work"

mkdir -p "$TARGET"
cp "${work}/package/dist/uPlot.iife.min.js" "${work}/package/dist/uPlot.min.css" \
  "${work}/package/LICENSE" "$TARGET/"
echo "${UPLOT_VERSION}" > "$TARGET/VERSION"
echo "vendored uPlot ${UPLOT_VERSION} into ${TARGET}"
