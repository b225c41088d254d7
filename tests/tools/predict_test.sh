#!/usr/bin/env bash
# `shardnet predict` end to end on small generated data: image folders, text lines typed and in
# files, CSV series and HDF5 rows are prepared by the recipe stored in the checkpoint, and give what
# `test` gives on the converted rows; the formats parse; each bad input is one line on stderr and
# the rest are predicted (or nothing, with --strict); 2 ranks print what 1 rank prints.
#   predict_test.sh SHARDNET MAKE_TEST_IMAGE
set -u
make_image=$(readlink -f "$2")
source "$(dirname "$0")/../data/common.sh" "$1"
names_cfg=$(readlink -f "$(dirname "$0")/../../examples/sequences/names.cfg")

# accuracy_of FILE: "correct/count" from test's "test accuracy" or predict's summary line.
accuracy_of() { grep -oE '\(([0-9]+/[0-9]+)\)' "$1" | tail -1 | tr -d '()'; }

# --- images: 2 classes of 8 images of other sizes, resized by the converter to 8x8 ------------
mkdir -p imgs/circle imgs/square
for i in 1 2 3 4 5 6 7 8; do
  "$make_image" imgs/circle/c$i.png $((7 + i % 3)) 9 3 $i
  "$make_image" imgs/square/s$i.jpg 10 $((6 + i % 4)) 1 $((40 + i))
done
expect_ok "convert images" "$shardnet" convert images imgs imgs.h5 --size 8x8
cat >cnn.cfg <<'CFG'
[input]   shape = auto
[conv]    filters = 4  size = 3  pad = 1
[relu]
[maxpool] size = 2
[dense]   outputs = classes
[softmax_cross_entropy]
CFG
expect_ok "train on images" "$shardnet" train -m cnn.cfg -d imgs.h5 --batch 4 --epochs 4 --optimizer adam --lr 0.01 --run-dir img-run
expect_ok "test" "$shardnet" test -w img-run/final.h5 -d imgs.h5
cp out.txt test.txt
"$shardnet" predict -w img-run/final.h5 imgs >table.txt 2>summary.txt || fail "predict on a folder: $(cat summary.txt)"
[ "$(accuracy_of summary.txt)" = "$(accuracy_of test.txt)" ] ||
  fail "predict on the files: $(cat summary.txt); test on the converted rows: $(cat test.txt)"
echo "ok: images: predict on the files $(accuracy_of summary.txt), test on the rows $(accuracy_of test.txt)"
[ "$(grep -c 'imgs/' table.txt)" = 16 ] || fail "not 16 rows: $(cat table.txt)"
head -1 table.txt | grep -qE '^true_class +class_1 +p_1 +class_2 +p_2 +input$' || fail "table header: $(head -1 table.txt)"
grep -qE '^circle +(circle|square) +[01]\.[0-9]{4} ' table.txt || fail "no circle row: $(cat table.txt)"

# CSV and JSON parse, and hold the same classes as the HDF5 rows do.
"$shardnet" predict -w img-run/final.h5 imgs --format csv -k 1 >files.csv 2>/dev/null || fail "predict --format csv"
"$shardnet" predict -w img-run/final.h5 imgs.h5 --format csv -k 1 >rows.csv 2>/dev/null || fail "predict on HDF5 rows"
[ "$(cut -d, -f2- files.csv)" = "$(cut -d, -f2- rows.csv)" ] || fail "files and rows differ: $(paste files.csv rows.csv)"
echo "ok: images: the files and the converted rows give the same classes and probabilities"
"$shardnet" predict -w img-run/final.h5 imgs --format json -k 2 2>/dev/null >out.json || fail "predict --format json"
/usr/bin/python3 - out.json <<'PY' || fail "JSON: $(head -3 out.json)"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 16, len(rows)
for r in rows:
    assert r["true_class"] in ("circle", "square"), r
    assert len(r["top"]) == 2 and r["top"][0]["probability"] >= r["top"][1]["probability"], r
    assert abs(sum(t["probability"] for t in r["top"]) - 1.0) < 1e-6, r  # two classes: the whole distribution
PY
echo "ok: JSON parses: 16 inputs, 2 classes each, probabilities summing to 1"

# Bad inputs: one line each, the rest predicted; --strict predicts nothing.
echo "not a PNG" >imgs/circle/broken.png
"$shardnet" predict -w img-run/final.h5 imgs nowhere.jpg --format csv >bad.csv 2>bad.err ||
  fail "predict with bad inputs failed: $(cat bad.err)"
[ "$(grep -c . bad.err)" = 3 ] || fail "not 2 error lines and a summary: $(cat bad.err)"
grep -q '^nowhere.jpg: no such file or folder$' bad.err || fail "missing file not named: $(cat bad.err)"
grep -q '^imgs/circle/broken.png: ' bad.err || fail "broken file not named: $(cat bad.err)"
grep -q '16 prediction(s), 2 input(s) skipped' bad.err || fail "summary: $(tail -1 bad.err)"
[ "$(grep -c . bad.csv)" = 17 ] || fail "the good inputs were not all predicted: $(cat bad.csv)"
"$shardnet" predict -w img-run/final.h5 imgs --strict >strict.out 2>strict.err
[ $? = 1 ] && [ ! -s strict.out ] && grep -q 'could not be read (--strict): nothing predicted' strict.err ||
  fail "--strict: $(cat strict.out strict.err)"
echo "ok: bad inputs: one line each, the rest predicted; --strict exits 1 with nothing predicted"
rm imgs/circle/broken.png

# Two ranks share the inputs out and print the same table.
mpirun -np 2 --oversubscribe --bind-to none "$shardnet" predict -w img-run/final.h5 imgs --format csv -k 1 \
  >np2.csv 2>np2.err || fail "predict on 2 ranks: $(cat np2.err)"
[ "$(cut -d, -f1-3 np2.csv)" = "$(cut -d, -f1-3 files.csv)" ] || fail "2 ranks: $(diff np2.csv files.csv)"
echo "ok: 2 ranks predict the same classes in the same order"

# --- text: names.cfg unchanged on a generated two-class corpus --------------------------------
mkdir -p text
printf 'aaab\nabaa\nbaaa\naaba\naabaa\naaaab\n' >text/Alpha.txt
printf 'xxyz\nxyxx\nzxxy\nyzxx\nxxxyz\nxzxy\n' >text/Omega.txt
expect_ok "convert text" "$shardnet" convert text tok text/Alpha.txt text/Omega.txt --split 1,0,0 --lowercase
expect_ok "train names.cfg" "$shardnet" train -m "$names_cfg" -d tok-train.h5 --batch 4 --max-steps 30 --lr 0.02 \
  --optimizer adam --run-dir text-run
expect_ok "test text" "$shardnet" test -w text-run/final.h5 -d tok-train.h5
cp out.txt test.txt
"$shardnet" predict -w text-run/final.h5 text/Alpha.txt text/Omega.txt -k 1 >table.txt 2>summary.txt ||
  fail "predict on text files: $(cat summary.txt)"
[ "$(accuracy_of summary.txt)" = "$(accuracy_of test.txt)" ] || fail "text: $(cat summary.txt) vs $(cat test.txt)"
grep -qE '^Alpha +(Alpha|Omega) +[01]\.[0-9]{4} +text/Alpha.txt:1$' table.txt || fail "text rows: $(cat table.txt)"
"$shardnet" predict -w text-run/final.h5 --text AAAB --text "xxyzq" --format csv >typed.csv 2>/dev/null ||
  fail "predict --text"
grep -q '^AAAB,' typed.csv && grep -q '^xxyzq,' typed.csv || fail "typed text: $(cat typed.csv)"
echo "ok: text: the class files give test's $(accuracy_of test.txt); typed lines are predicted"
"$shardnet" predict -w text-run/final.h5 imgs >/dev/null 2>wrong.err
grep -q '^imgs: a folder (folders are searched for images, and this model takes text inputs)$' wrong.err ||
  fail "a folder for a text model: $(cat wrong.err)"

# --- a CSV series: regression outputs back in the data's units --------------------------------
{
  echo "t,level"
  for i in $(seq 0 39); do echo "$i,$((50 + (i * 7) % 11))"; done
} >series.csv
expect_ok "convert csv" "$shardnet" convert csv series.csv csv --columns level --window 6 --horizon last --test-fraction 0
cat >series.cfg <<'CFG'
[input]   shape = auto
[flatten]
[dense]   outputs = 1
[mse]
CFG
expect_ok "train on the series" "$shardnet" train -m series.cfg -d csv-train.h5 --batch 8 --max-steps 20 --run-dir csv-run
"$shardnet" predict -w csv-run/final.h5 series.csv --format csv >series.out 2>series.err || fail "predict csv: $(cat series.err)"
head -1 series.out | grep -qx 'input,level' || fail "regression header: $(head -1 series.out)"
[ "$(grep -c 'series.csv:lines' series.out)" = 35 ] || fail "not 35 windows: $(cat series.out)"
/usr/bin/python3 - series.out <<'PY' || fail "regression values not in the series' units: $(head -3 series.out)"
import csv, sys
values = [float(r["level"]) for r in csv.DictReader(open(sys.argv[1]))]
assert all(30 < v < 80 for v in values), values[:5]  # the level lies in 50..60; standardised outputs would be near 0
PY
echo "ok: series: 35 windows, outputs in the series' units"

# --- a checkpoint that records no recipe: HDF5 rows still work, raw files are refused ----------
quadrant_data 200
conv_model
"$shardnet" train -m model.cfg -d data.h5 --max-steps 5 --run-dir plain >/dev/null 2>&1 || fail "train quadrants"
"$shardnet" predict -w plain/final.h5 data.h5 -k 1 >/dev/null 2>plain.err || fail "predict HDF5 rows: $(cat plain.err)"
grep -q '200 prediction(s)' plain.err || fail "quadrant rows: $(cat plain.err)"
finish
