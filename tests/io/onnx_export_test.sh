#!/usr/bin/env bash
# `shardnet export --onnx` checked by tools that share no code with shardnet: small nets of every
# exportable layer type are trained for a few steps on generated data, exported, validated by
# onnx.checker and run by OpenCV's dnn module (or, for the operators OpenCV 4.6 cannot run, by
# onnx_reference.py, a numpy reading of the ONNX operator definitions); their outputs must equal
# `shardnet predict --raw` on the same rows within 1e-4. A layer ONNX cannot express is one error line.
#   onnx_export_test.sh SHARDNET MAKE_TEST_IMAGE
set -u
make_image=$(readlink -f "$2")
check=$(readlink -f "$(dirname "$0")/onnx_export_check.py")
source "$(dirname "$0")/../data/common.sh" "$1"
if ! /usr/bin/python3 -c "import onnx, cv2, h5py" 2>/dev/null; then
  echo "SKIPPED: /usr/bin/python3 lacks onnx, cv2 or h5py (Debian: python3-onnx python3-opencv python3-h5py)"
  exit 0
fi

# export_and_check NAME MODEL DATA [train flags...]: trains MODEL on DATA, exports it, compares.
export_and_check() {
  local name=$1 model=$2 data=$3; shift 3
  "$shardnet" train -m "$model" -d "$data" --max-steps 12 --batch 8 --optimizer adam --lr 0.01 --run-dir "run-$name" \
    "$@" >"$name.log" 2>&1 || { fail "$name: train: $(tail -3 "$name.log")"; return; }
  "$shardnet" export -w "run-$name/final.h5" --onnx "$name.onnx" >>"$name.log" 2>&1 ||
    { fail "$name: export: $(tail -3 "$name.log")"; return; }
  "$shardnet" predict -w "run-$name/final.h5" "$data" --raw --format csv >"$name.csv" 2>>"$name.log" ||
    { fail "$name: predict: $(tail -3 "$name.log")"; return; }
  if /usr/bin/python3 "$check" "$name.onnx" "$data" "$name.csv" --rows 100 --tolerance 1e-4 >"$name.check" 2>&1; then
    echo "ok: $name: $(tail -1 "$name.check")"
    grep 'stopped at' "$name.check"
  else
    fail "$name: $(cat "$name.check")"
  fi
}

# Images: 3 classes of 3x8x8 (resized from other sizes).
mkdir -p imgs/a imgs/b imgs/c
for i in $(seq 1 12); do
  "$make_image" imgs/a/$i.png 8 8 3 $i
  "$make_image" imgs/b/$i.png 9 7 3 $((30 + i))
  "$make_image" imgs/c/$i.jpg 6 8 1 $((60 + i))
done
"$shardnet" convert images imgs imgs.h5 --size 8x8 >/dev/null || fail "convert images"

cat >mlp.cfg <<'CFG'
[input]   shape = auto
[dense]   outputs = 16
[relu]
[dense]   outputs = 16
[tanh]
[dense]   outputs = classes
[softmax_cross_entropy]
CFG
export_and_check mlp mlp.cfg imgs.h5

cat >cnn.cfg <<'CFG'
[input]   shape = auto
[conv]    filters = 6  size = 3  pad = 1
[relu]
[maxpool] size = 2
[conv]    filters = 8  size = 3  stride = 2
[leaky_relu] slope = 0.1
[dense]   outputs = classes
[softmax_cross_entropy]
CFG
export_and_check cnn cnn.cfg imgs.h5

cat >cnn_bn.cfg <<'CFG'
[input]     shape = auto
[conv]      filters = 6  size = 3  pad = 1  bias = 0
[batchnorm]
[relu]
[avgpool]   size = 3  stride = 2  pad = 1
[dense]     outputs = 12
[batchnorm]
[elu]       alpha = 0.5
[dropout]   rate = 0.3
[dense]     outputs = classes
[softmax_cross_entropy]
CFG
export_and_check cnn_bn cnn_bn.cfg imgs.h5

# The CIFAR fast model's layer types: augmentation, BN, GELU, the 3x3 pool, scaled logits; and a
# decoder's: deconv, upsample (nearest and bilinear), reshape, PReLU, sigmoid, a softmax layer.
cat >cifar_like.cfg <<'CFG'
[input]     shape = auto
[augment]   shift = 1  flip = 1
[conv]      filters = 8  size = 2  bias = 0
[batchnorm] lr_mult = 0,64
[gelu]
[conv]      filters = 8  size = 3  pad = 1  bias = 0  dirac = 1
[maxpool]   size = 3  stride = 2
[batchnorm]
[prelu]
[deconv]    filters = 4  size = 2  stride = 2
[upsample]  factor = 2  mode = bilinear
[sigmoid]
[upsample]  factor = 2  mode = nearest
[maxpool]   size = 4
[reshape]   shape = 4,-1
[flatten]
[dense]     outputs = classes  bias = 0
[scale]     factor = 0.5
[softmax_cross_entropy]
CFG
export_and_check cifar_like cifar_like.cfg imgs.h5

# Sequences of full length (a CSV series: no padding, so every step is real on both sides).
{
  echo "a,b"
  for i in $(seq 0 159); do echo "$(( (i * 7) % 13 )),$(( (i * i) % 11 ))"; done
} >series.csv
"$shardnet" convert csv series.csv series --window 6 --horizon every --test-fraction 0 >/dev/null || fail "convert csv"
cat >lstm.cfg <<'CFG'
[input]   shape = auto
[lstm]    hidden = 5  layers = 2  bidirectional = 1
[dense]   outputs = 2  per_step = 1
[mse]
CFG
export_and_check lstm lstm.cfg series-train.h5
cat >gru.cfg <<'CFG'
[input]   shape = auto
[gru]     hidden = 6  return = last  bidirectional = 1
[dense]   outputs = 12
[softmax]
[reshape] shape = 6,2
[mse]
CFG
export_and_check gru gru.cfg series-train.h5
cat >rnn.cfg <<'CFG'
[input]   shape = auto
[rnn]     hidden = 4
[dense]   outputs = 2  per_step = 1
[mse]
CFG
export_and_check rnn rnn.cfg series-train.h5

# Token ids through an embedding: padded text of several lengths, exported with the "lengths" input
# (ONNX's sequence_lens), as export does for a net trained on text.
mkdir -p text
printf 'abcd\nbcdaab\ncda\ndabcxab\naabb\nab\n' >text/One.txt
printf 'wxyz\nxyzwwx\nyz\nzwxyaw\nwwxx\nw\n' >text/Two.txt
"$shardnet" convert text tok text/One.txt text/Two.txt --split 1,0,0 >/dev/null || fail "convert text"
cat >tokens.cfg <<'CFG'
[input]     shape = auto
[embedding] vocab = auto  dim = 3
[gru]       hidden = 4  return = last  bidirectional = 1
[dense]     outputs = classes
[softmax_cross_entropy]
CFG
export_and_check tokens tokens.cfg tok-train.h5
grep -q 'and lengths' tokens.log || fail "the text model was exported without its lengths input: $(cat tokens.log)"
cat >tokens_seq.cfg <<'CFG'
[input]     shape = auto
[embedding] vocab = auto  dim = 3
[lstm]      hidden = 3  layers = 2  bidirectional = 1
[flatten]
[dense]     outputs = classes
[softmax_cross_entropy]
CFG
export_and_check tokens_seq tokens_seq.cfg tok-train.h5

# Max unpooling: MaxPool's indices into MaxUnpool (with the pool input's Shape where the 3x3 pool's
# floor dropped rows and columns of the 8x8 maps).
cat >unpool.cfg <<'CFG'
[input]     shape = auto
[maxpool]   size = 3
[relu]
[maxunpool] pool = maxpool1
[maxpool]   size = 2
[maxunpool] pool = maxpool2
[flatten]
[dense]     outputs = classes
[softmax_cross_entropy]
CFG
export_and_check unpool unpool.cfg imgs.h5

# What has no ONNX form here: one line naming the layer and why, and no file.
cat >overlap.cfg <<'CFG'
[input]     shape = auto
[maxpool]   size = 3  stride = 2  pad = 1
[maxunpool] pool = maxpool1
[flatten]
[dense]     outputs = classes
[softmax_cross_entropy]
CFG
"$shardnet" train -m overlap.cfg -d imgs.h5 --max-steps 2 --batch 8 --run-dir run-overlap >/dev/null 2>&1 || fail "train overlap"
expect_error "export of an unpool of overlapping windows" \
  "layer maxunpool1 \(\[maxunpool\]\): its pool maxpool1 has overlapping windows \(size 3, stride 2\)" \
  "$shardnet" export -w run-overlap/final.h5 --onnx overlap.onnx
[ -e overlap.onnx ] || [ -e overlap.onnx.tmp ] && fail "a failed export left a file"
printf 'the cat sat on the mat\nthe dog sat on the log\n' >corpus.txt
"$shardnet" convert skipgram pairs.h5 corpus.txt --window 2 --min-count 1 --subsample 0 >/dev/null || fail "convert skipgram"
printf '[input] shape = auto\n[skipgram] vocab = auto  dim = 4  negatives = 2\n[sigmoid_cross_entropy]\n' >sgns.cfg
"$shardnet" train -m sgns.cfg -d pairs.h5 --max-steps 2 --batch 8 --run-dir run-sgns >/dev/null 2>&1 || fail "train sgns"
expect_error "export of a skip-gram layer" "layer skipgram1 \(\[skipgram\]\) has no ONNX form here" \
  "$shardnet" export -w run-sgns/final.h5 --onnx sgns.onnx
finish
