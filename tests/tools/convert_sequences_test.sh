#!/usr/bin/env bash
# End-to-end checks of the sequence converters (convert csv, sine, text) on small generated files:
# the files they write hold what was asked, the data sets train, and each kind of bad input ends
# with a non-zero exit and exactly one clear line on stderr, leaving no output file behind.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"

# expect_in FILE PATTERN: FILE has a line matching PATTERN.
expect_in() { grep -qE -- "$2" "$1" || fail "$1 lacks /$2/: $(cat "$1")"; }

# The values of one data set, one per line, from h5dump.
values() { h5dump -d "$2" -y -w 0 "$1" | sed -n '/DATA {/,/}/p' | tr ',' '\n' | grep -oE -- '-?[0-9][0-9.e+-]*|"[^"]*"'; }

# --- convert csv -------------------------------------------------------------------------------
{
  echo "time,a,b"
  for i in $(seq 0 59); do echo "t$i,$i,$((100 + 2 * i))"; done
} >series.csv

expect_ok "convert csv" "$shardnet" convert csv series.csv csv/s --columns a,b --targets b --window 5 \
  --horizon last --test-fraction 0.25 --normalise none
expect_in out.txt 'wrote csv/s-train.h5: 40 windows, /data \(40, 5, 2\), /label \(40, 1\), from series rows 0-44'
expect_in out.txt 'wrote csv/s-test.h5: 10 windows, /data \(10, 5, 2\), /label \(10, 1\), from series rows 45-59'
expect_ok "inspect csv windows" "$shardnet" inspect csv/s-test.h5
expect_in out.txt '^/data +float32 +\(10, 5, 2\)'
expect_in out.txt '^/label +float32 +\(10, 1\)'
expect_in out.txt '@columns = \[a, b\]'
expect_in out.txt '@target_columns = \[b\]'
expect_in out.txt '@horizon = "last"'
expect_in out.txt '@first_row = 45'
# First test window: a = 45..49 (inputs), target b at row 50 = 200.
[ "$(values csv/s-test.h5 /data | head -4 | tr '\n' ' ')" = "45 190 46 192 " ] ||
  fail "test /data starts with $(values csv/s-test.h5 /data | head -4 | tr '\n' ' ')"
[ "$(values csv/s-test.h5 /label | head -1)" = "200" ] || fail "test /label starts with $(values csv/s-test.h5 /label | head -1)"

expect_ok "convert csv, every step, standardised" "$shardnet" convert csv series.csv csv/e --columns 1 --window 4 \
  --test-fraction 0.2
expect_in out.txt 'wrote csv/e-train.h5: 44 windows, /data \(44, 4, 1\), /label \(44, 4, 1\)'
"$shardnet" inspect csv/e-train.h5 >out.txt
expect_in out.txt '@mean = 23.5'
expect_in out.txt '@std = 13.8'
expect_in out.txt '@normalise = "standard"'
sed 1d series.csv | cut -d, -f2,3 >noheader.csv
expect_ok "convert csv without a header" "$shardnet" convert csv noheader.csv csv/n --window 3 --test-fraction 0
expect_in out.txt 'wrote csv/n-train.h5: 57 windows, /data \(57, 3, 2\), /label \(57, 3, 2\)'
[ -e csv/n-test.h5 ] && fail "--test-fraction 0 wrote a test file"

printf 'a,b,c\n1,2,3\n4,5,6\n7,8\n9,10,11\n' >ragged.csv
expect_error "ragged CSV" "^shardnet convert: error: ragged.csv:4: expected 3 fields, got 2$" \
  "$shardnet" convert csv ragged.csv bad --window 1
printf 'a,b\n1,2\n3,x4\n' >nonnumber.csv
expect_error "non-number in a CSV" "nonnumber.csv:3: column 'b' is not a finite number: \"x4\"" \
  "$shardnet" convert csv nonnumber.csv bad --window 1
: >empty.csv
expect_error "empty CSV" "empty.csv:1: the file is empty" "$shardnet" convert csv empty.csv bad --window 1
head -8 series.csv >short.csv
expect_error "too few rows for a window" "short.csv:2: the training part, lines 2-7 \(6 rows\), is too short for one window of 10 steps" \
  "$shardnet" convert csv short.csv bad --columns a --window 10
expect_error "missing CSV" "missing.csv: cannot open" "$shardnet" convert csv missing.csv bad --window 2
expect_error "unknown column" "series.csv: no column 'c' \(the columns are time, a, b\)" \
  "$shardnet" convert csv series.csv bad --columns c --window 2
expect_error "bad horizon" "--horizon must be one of every, last, not 'first'" \
  "$shardnet" convert csv series.csv bad --columns a --window 2 --horizon first
ls bad* >/dev/null 2>&1 && fail "a failed conversion left files behind: $(ls bad*)"

# --- convert sine ------------------------------------------------------------------------------
expect_ok "convert sine" "$shardnet" convert sine sine/s --train-windows 300 --test-windows 30
expect_in out.txt 'wrote sine/s-train.h5: 300 windows, /data \(300, 10, 1\), /label \(300, 10, 1\), from series rows 0-309'
expect_in out.txt 'wrote sine/s-test.h5: 30 windows, /data \(30, 10, 1\), /label \(30, 10, 1\), from series rows 310-349'
# The raw series as CSV, and the same windows from it through convert csv.
expect_ok "convert sine --csv" "$shardnet" convert sine --csv sine.csv --train-windows 300 --test-windows 30
[ "$(wc -l <sine.csv)" -eq 351 ] || fail "sine.csv should have a header and 350 rows"
reproduce=$(grep -oE 'shardnet convert csv .*' out.txt | sed "s|^shardnet|$shardnet|; s|PREFIX|sine/c|")
expect_ok "convert csv of the sine series" $reproduce
for part in train test; do
  for ds in /data /label; do
    cmp -s <(values sine/s-$part.h5 $ds) <(values sine/c-$part.h5 $ds) ||
      fail "sine $part $ds differs between convert sine and convert csv"
  done
done
# Targets are the inputs shifted by one step.
[ "$(values sine/s-train.h5 /data | sed -n 2p)" = "$(values sine/s-train.h5 /label | sed -n 1p)" ] ||
  fail "sine targets are not the next values"
printf '[input] shape = 10,1\n[dense] outputs = 10\n[mse]\n' >sine.cfg
expect_ok "train on sine windows" "$shardnet" train -m sine.cfg -d sine/s-train.h5 -t sine/s-test.h5 --epochs 2 \
  --batch 50 --lr 0.01 --run-dir sine-run
expect_in out.txt 'test loss'
expect_error "sine without an output" "give an OUT_PREFIX, --csv FILE or both" "$shardnet" convert sine

# --- convert text ------------------------------------------------------------------------------
mkdir -p text
for i in $(seq 1 40); do echo "Name$i"; done >text/Beta.txt
for i in $(seq 1 20); do echo "ålpha $i"; done >text/Alpha.txt
echo "Name1" >>text/Beta.txt  # a duplicate line is kept
expect_ok "convert text, char level" "$shardnet" convert text tok/names text/Beta.txt text/Alpha.txt \
  --level char --split 0.8,0.1,0.1 --seed 3
expect_in out.txt '^wrote tok/names-train.h5: 49 examples, vocabulary [0-9]+, max length 8 \(longest 8\), 0 truncated$'
expect_in out.txt '^wrote tok/names-val.h5: 6 examples'
expect_in out.txt '^wrote tok/names-test.h5: 6 examples'
"$shardnet" inspect tok/names-train.h5 >out.txt
expect_in out.txt '@classes = \[Alpha, Beta\]'
expect_in out.txt '^/data +int32 +\(49, 8\)'
expect_in out.txt '^/label +int32 +\(49\)'
expect_in out.txt '^/length +int32 +\(49\)'
expect_in out.txt '^/vocab +string'
# <pad>, <unk>, then the most frequent character ('a' is in every name).
[ "$(values tok/names-train.h5 /vocab | head -3 | tr '\n' ' ')" = '"<pad>" "<unk>" "a" ' ] ||
  fail "vocab starts with $(values tok/names-train.h5 /vocab | head -3 | tr '\n' ' ')"
# å (bytes c3 a5, which h5dump prints as sign-extended octal) is one token, not two bytes.
values tok/names-train.h5 /vocab | grep -qxF '"\37777777703\37777777645"' || fail "å is not one token"
expect_ok "convert text again, same seed" "$shardnet" convert text tok/again text/Alpha.txt text/Beta.txt \
  --level char --split 0.8,0.1,0.1 --seed 3
cmp -s <(values tok/names-test.h5 /data) <(values tok/again-test.h5 /data) || fail "the same seed gave another split"

expect_ok "convert text, word level" "$shardnet" convert text tok/w text/Beta.txt text/Alpha.txt --level word \
  --class-names b,a --split 0.9,0,0.1 --min-count 1 --max-length 1
expect_in out.txt 'wrote tok/w-train.h5: 55 examples, vocabulary [0-9]+, max length 1 \(longest 2\), [0-9]+ truncated'
[ -e tok/w-val.h5 ] && fail "a 0 fraction wrote the val file"
"$shardnet" inspect tok/w-test.h5 >out.txt
expect_in out.txt '@classes = \[b, a\]'
printf '[input] shape = 8\n[dense] outputs = 2\n[softmax_cross_entropy]\n' >tokens.cfg
expect_ok "train on token ids" "$shardnet" train -m tokens.cfg -d tok/names-train.h5 -t tok/names-test.h5 \
  --epochs 1 --batch 7 --run-dir text-run
expect_in out.txt 'test accuracy'
# examples/sequences/names.cfg takes shape, vocab and classes from the data: it trains unchanged on the
# char-level and the word-level files, and the run's model.cfg holds the numbers.
names_cfg="$(dirname "$0")/../../examples/sequences/names.cfg"
for data in names w; do
  expect_ok "names.cfg on tok/$data" "$shardnet" train -m "$names_cfg" -d tok/$data-train.h5 -t tok/$data-test.h5 \
    --epochs 1 --batch 5 --run-dir auto-$data
done
grep -Eq '^\[embedding\] vocab = [0-9]+  dim = 32' auto-w/model.cfg && grep -q '^\[dense\]     outputs = 2  init' auto-w/model.cfg &&
  grep -q '^\[input\]     shape = 1$' auto-w/model.cfg && ! grep -Eq '= (auto|classes)' auto-w/model.cfg ||
  fail "auto sizes not resolved: $(cat auto-w/model.cfg)"
expect_error "vocab = auto on data without a vocabulary" "vocab = auto, but the data set has no /vocab" \
  "$shardnet" train -m "$names_cfg" -d sine/s-train.h5 --run-dir auto-sine

printf 'fine\n\xff\xfe\n' >text/Bad.txt
expect_error "non-UTF-8 text" "text/Bad.txt:2: not valid UTF-8 \(byte 0xff at column 1\)" \
  "$shardnet" convert text badtok text/Alpha.txt text/Bad.txt
printf '\n\n' >text/Empty.txt
expect_error "empty class file" "text/Empty.txt: no examples" "$shardnet" convert text badtok text/Alpha.txt text/Empty.txt
expect_error "missing class file" "text/Nope.txt: cannot open" "$shardnet" convert text badtok text/Alpha.txt text/Nope.txt
expect_error "bad split" "--split needs three fractions" "$shardnet" convert text badtok text/Alpha.txt --split 0.5,0.5
expect_error "split not adding up" "split fractions must add up to 1" \
  "$shardnet" convert text badtok text/Alpha.txt --split 0.5,0.4,0.4
expect_error "class names per file" "1 class names for 2 files" \
  "$shardnet" convert text badtok text/Alpha.txt text/Beta.txt --class-names x
ls badtok* >/dev/null 2>&1 && fail "a failed conversion left files behind: $(ls badtok*)"

# A /length entry past the steps of /data: the reader refuses the file with the row and value.
h5copy -i tok/names-train.h5 -o badlen.h5 -s /data -d /data
h5copy -i tok/names-train.h5 -o badlen.h5 -s /label -d /label
values tok/names-train.h5 /length | awk 'NR == 5 { print 40; next } { print }' >length.txt
cat >length.conf <<'CONF'
PATH length
INPUT-CLASS TEXTIN
RANK 1
DIMENSION-SIZES 49
OUTPUT-CLASS IN
OUTPUT-SIZE 32
OUTPUT-BYTE-ORDER LE
CONF
h5import length.txt -c length.conf -o length.h5 >/dev/null || fail "h5import"
h5copy -i length.h5 -o badlen.h5 -s /length -d /length
expect_error "length larger than the steps" "badlen.h5: /length\[4\] = 40 is larger than the 8 steps of /data" \
  "$shardnet" train -m tokens.cfg -d badlen.h5 --run-dir badlen-run

# Token ids against the embedding: a vocabulary larger than the table is refused up front, naming
# the file and the layer; without /vocab an id past the table stops training with the id and layer.
printf '[input] shape = 8\n[embedding] vocab = 3 dim = 4\n[gru] hidden = 5 return = last\n[dense] outputs = 2\n[softmax_cross_entropy]\n' >small.cfg
expect_error "vocabulary larger than the embedding" "tok/names-train.h5: /vocab has [0-9]+ tokens but \[embedding\] embedding1 has vocab = 3 \(model small.cfg\)" \
  "$shardnet" train -m small.cfg -d tok/names-train.h5 --run-dir small-run
for set in /data /label /length; do h5copy -i tok/names-train.h5 -o novocab.h5 -s $set -d $set; done
expect_error "token id outside the vocabulary" "embedding1: token id [0-9.]+ of sample [0-9]+, step [0-9]+ is outside the vocabulary of 3 tokens" \
  "$shardnet" train -m small.cfg -d novocab.h5 --batch 7 --run-dir small-run2
sed 's/vocab = 3/vocab = 200/' small.cfg >big.cfg
expect_ok "train an embedding + GRU on token ids" "$shardnet" train -m big.cfg -d tok/names-train.h5 \
  -t tok/names-test.h5 --epochs 2 --batch 7 --run-dir gru-run
expect_in out.txt 'test accuracy'

expect_ok "convert --help" "$shardnet" convert --help
for format in mnist idx csv sine text; do expect_in out.txt "^  $format "; done

finish
