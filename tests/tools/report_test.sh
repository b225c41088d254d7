#!/usr/bin/env bash
# The run report in a real browser: a 2-rank run writes report.html at every epoch; headless
# Chromium (Debian's chromium) loads it, the page's script draws every chart with uPlot, and the
# number of points on the charts (read back from the rendered page) is the number the run's CSV
# files hold; any console message or script error fails. `shardnet report` compares two runs; a
# directory that is not a run, and a malformed metrics.csv, are one error line each.
#   report_test.sh SHARDNET
set -u
source "$(dirname "$0")/../data/common.sh" "$1"
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "SKIPPED: no chromium (Debian: chromium) to load the report page in"; exit 0; }

# render PAGE: prints the <body> tag of PAGE after its scripts ran; console messages go to PAGE.console.
render() {
  "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
    --user-data-dir="$work/chrome-profile" --dump-dom "file://$(readlink -f "$1")" 2>"$1.stderr" | grep -o '<body[^>]*>'
  grep 'CONSOLE' "$1.stderr" >"$1.console"
}
attribute() { sed -n "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p"; }

quadrant_data 512
conv_model
epochs=2 every=4
"$shardnet" launch -n 2 -- train -m model.cfg -d data.h5 --test data.h5 --epochs $epochs --batch 32 --log-every $every \
  --run-dir run >train.log 2>&1 || fail "train: $(tail -3 train.log)"
[ -s run/report.html ] || fail "no run/report.html"
[ "$(grep -c . run/ranks.csv)" = $((1 + 2 * epochs)) ] || fail "ranks.csv lacks a row per rank and epoch: $(cat run/ranks.csv)"
grep -q '^shardnet train -m model.cfg' run/command.txt || fail "command.txt: $(cat run/command.txt)"

body=$(render run/report.html)
echo "rendered: $body"
charts=$(echo "$body" | attribute data-charts) points=$(echo "$body" | attribute data-points)
steps=$(($(grep -c . run/steps.csv) - 1))
# Per epoch: train and test loss, train and test accuracy, samples/s, 5 phase shares, 2 ranks'
# allreduce waits; per steps.csv row: the loss and the learning rate.
expected=$((epochs * 12 + steps * 2))
[ "$charts" = 7 ] || fail "$charts charts drawn, not 7"
[ "$points" = "$expected" ] || fail "$points points on the charts, the CSV files hold $expected"
echo "$body" | grep -q 'data-error' && fail "script error: $(echo "$body" | attribute data-error)"
[ -s run/report.html.console ] && fail "console messages: $(cat run/report.html.console)"
echo "ok: report.html of a 2-rank run: $charts charts, $points points (the CSV files: $expected), no console message"

# Two runs side by side.
"$shardnet" train -m model.cfg -d data.h5 --epochs 1 --batch 32 --lr 0.05 --run-dir other >/dev/null 2>&1 ||
  fail "train the second run"
expect_ok "report of two runs" "$shardnet" report run other --out both.html --title "two runs"
body=$(render both.html)
[ "$(echo "$body" | attribute data-charts)" -ge 8 ] || fail "two runs: $body"
[ -s both.html.console ] && fail "console messages: $(cat both.html.console)"
grep -q '"name": "other"' both.html || fail "the second run is not in the page"
echo "ok: two runs in one page: $body"

expect_error "a folder that is not a run" "nowhere/metrics.csv: cannot be read" "$shardnet" report nowhere
printf 'epoch,lr\n1,0.1\n2\n' >other/metrics.csv
expect_error "a malformed metrics.csv" "other/metrics.csv:3: 1 fields, the header has 2" "$shardnet" report other
finish
