#!/usr/bin/env bash
# End-to-end checks of the shardnet tool on small generated data: the happy path works, and each
# kind of bad input ends with a non-zero exit and exactly one clear line on stderr.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"

"$data_dir"/make_quadrant_idx.sh 200 .

cat >model.cfg <<'CFG'
[input]   shape = 1,4,4
[conv]    filters = 4  size = 3  pad = 1
[relu]
[maxpool] size = 2
[dense]   outputs = 10
[softmax_cross_entropy]
CFG

expect_ok "convert idx" "$shardnet" convert idx --images images.idx --labels labels.idx data.h5
# A drop-in replacement for MNIST (Fashion-MNIST, KMNIST) gets its own file names.
mkdir -p fashion-idx
for split in train t10k; do
  cp images.idx fashion-idx/$split-images-idx3-ubyte && cp labels.idx fashion-idx/$split-labels-idx1-ubyte
done
expect_ok "convert mnist --prefix" "$shardnet" convert mnist fashion-idx fashion --prefix fashion
[ -s fashion/fashion-train.h5 ] && [ -s fashion/fashion-test.h5 ] && [ ! -e fashion/mnist-train.h5 ] ||
  fail "convert mnist --prefix fashion wrote: $(ls fashion)"
expect_error "a prefix with a folder in it" "--prefix must be a file name without '/'" \
  "$shardnet" convert mnist fashion-idx fashion --prefix a/b
expect_ok "inspect data" "$shardnet" inspect data.h5
grep -q '/data .*uint8 .*(200, 1, 4, 4)' out.txt || fail "inspect does not list /data: $(cat out.txt)"
expect_ok "train" "$shardnet" train -m model.cfg -d data.h5 -t data.h5 --epochs 3 --batch 20 --lr 0.1 \
  --momentum 0.9 --run-dir run
grep -q 'test accuracy 100.00%' out.txt || fail "train did not learn the quadrants: $(cat out.txt)"
[ -s run/metrics.csv ] && [ "$(wc -l <run/metrics.csv)" -eq 4 ] || fail "metrics.csv lacks 3 epochs"
expect_ok "test" "$shardnet" test --weights run/final.h5 --data data.h5
grep -q 'test accuracy 100.00%' out.txt || fail "test does not reproduce the accuracy: $(cat out.txt)"
expect_ok "test with flip averaging" "$shardnet" test --weights run/final.h5 --data data.h5 --flip
grep -q '^test accuracy' out.txt || fail "test --flip prints no accuracy: $(cat out.txt)"
expect_ok "test an ensemble" "$shardnet" test --weights run/final.h5 --weights run/final.h5 --data data.h5
grep -q '^ensemble of 2: test accuracy 100.00%' out.txt || fail "test of an ensemble: $(cat out.txt)"
# bf16 (oneDNN where the CPU has bf16 instructions, the reference elsewhere) learns the same task; its
# checkpoint keeps the precision, a resume cannot drop it, and test evaluates in bf16 too.
expect_ok "train --precision bf16" "$shardnet" train -m model.cfg -d data.h5 -t data.h5 --epochs 3 --batch 20 \
  --lr 0.1 --momentum 0.9 --run-dir bf16 --precision bf16
grep -q '^precision: bf16 GEMMs by \(oneDNN\|reference\)' out.txt || fail "train names no bf16 backend: $(head -3 out.txt)"
grep -q 'test accuracy 100.00%' out.txt || fail "train --precision bf16 did not learn the quadrants: $(cat out.txt)"
expect_error "resume a bf16 run in fp32" "precision: bf16 in the checkpoint, absent now" \
  "$shardnet" train -m model.cfg -d data.h5 --epochs 4 --batch 20 --lr 0.1 --momentum 0.9 --run-dir bf16 --resume
expect_ok "test --precision bf16" "$shardnet" test --weights bf16/final.h5 --data data.h5 --precision bf16
grep -q 'test accuracy 100.00%' out.txt || fail "test --precision bf16: $(cat out.txt)"
expect_error "an unknown precision" "unknown precision 'fp16' \(expected fp32 or bf16\)" \
  "$shardnet" train -m model.cfg -d data.h5 --precision fp16 --run-dir run2
expect_ok "train --log-grad-norms" "$shardnet" train -m model.cfg -d data.h5 --epochs 1 --batch 20 --run-dir gn \
  --log-grad-norms --log-every 2
head -1 gn/metrics.csv | grep -q ',grad_norm/conv1,weight_norm/conv1,grad_norm/dense1,weight_norm/dense1$' ||
  fail "metrics.csv lacks the norm columns: $(head -1 gn/metrics.csv)"
[ "$(awk -F, 'NR == 2 { print NF }' gn/steps.csv)" = 8 ] || fail "steps.csv rows lack the norms: $(cat gn/steps.csv)"
expect_error "resume without the norms of a run that logged them" "gn/metrics.csv: its columns differ" \
  "$shardnet" train -m model.cfg -d data.h5 --epochs 2 --batch 20 --run-dir gn --resume
is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]; }
expect_ok "visualize" "$shardnet" visualize --weights run/final.h5 --data data.h5 --row 3 --out vis
grep -q '^row 3: label .*, explaining class .*Grad-CAM on maxpool1' out.txt || fail "visualize: $(cat out.txt)"
for f in filters saliency gradcam feature_maps/00_conv1; do is_png "vis/$f.png" || fail "visualize wrote no $f.png"; done
expect_error "visualize a row past the end" "data.h5: --row 200 is outside its 200 rows" \
  "$shardnet" visualize --weights run/final.h5 --data data.h5 --row 200 --out vis
cat >autoencoder.cfg <<'CFG'
[input]     shape = 1,4,4
[conv]      filters = 4  size = 3  pad = 1
[relu]
[maxpool]   name = down
[maxunpool] pool = down
[deconv]    filters = 1  size = 3  pad = 1
[mse]       target = input
CFG
expect_ok "train an autoencoder" "$shardnet" train -m autoencoder.cfg -d data.h5 -t data.h5 --epochs 2 --batch 20 \
  --run-dir ae
grep -q 'test loss' out.txt || fail "the autoencoder reports no test loss: $(cat out.txt)"
expect_ok "visualize reconstructions" "$shardnet" visualize --weights ae/final.h5 --data data.h5 --out ae-vis
is_png ae-vis/reconstructions.png || fail "visualize wrote no reconstructions.png"
for i in $(seq 1 60); do echo "the cat sat on the mat"; echo "a dog sat on a log"; done >words.txt
expect_ok "convert skipgram" "$shardnet" convert skipgram pairs.h5 words.txt --min-count 2 --window 2 --subsample 0
grep -q 'in the vocabulary of 8,' out.txt || fail "convert skipgram: $(cat out.txt)"
cat >sgns.cfg <<'CFG'
[input]    shape = 2
[skipgram] vocab = 8  dim = 8  negatives = 3
[sigmoid_cross_entropy]
CFG
expect_ok "train skip-gram" "$shardnet" train -m sgns.cfg -d pairs.h5 --epochs 2 --batch 64 --optimizer adam \
  --lr 0.05 --run-dir sgns
expect_ok "neighbours" "$shardnet" neighbours --weights sgns/final.h5 --data pairs.h5 --word cat --k 3
grep -Eq '^cat: [a-z]+ -?[0-9.]+ [a-z]+ -?[0-9.]+ [a-z]+ -?[0-9.]+$' out.txt || fail "neighbours: $(cat out.txt)"
expect_error "neighbours of an unknown word" "'zebra' is not in the vocabulary" \
  "$shardnet" neighbours --weights sgns/final.h5 --data pairs.h5 --word zebra
expect_ok "export word2vec" "$shardnet" export --weights sgns/final.h5 --data pairs.h5 --word2vec vectors.txt
[ "$(head -1 vectors.txt)" = "8 8" ] && [ "$(wc -l <vectors.txt)" = 9 ] || fail "vectors.txt: $(head -2 vectors.txt)"
sed 's/vocab = 8/vocab = 5/' sgns.cfg >small.cfg
expect_error "skip-gram with too small a vocabulary" "vocab has 8 tokens but .skipgram. skipgram1 has vocab = 5" \
  "$shardnet" train -m small.cfg -d pairs.h5 --run-dir sgns2
cat >whiten.cfg <<'CFG'
[input]   shape = 1,4,4
[conv]    filters = 8  size = 2  whiten = 1  lr_mult = 0,1
[gelu]
[dense]   outputs = 10
[softmax_cross_entropy]
CFG
expect_ok "train with a whitening conv" "$shardnet" train -m whiten.cfg -d data.h5 -t data.h5 --epochs 3 --batch 20 \
  --lr 0.1 --momentum 0.9 --run-dir run-whiten
grep -q 'test accuracy 100.00%' out.txt || fail "the whitened net did not learn the quadrants: $(cat out.txt)"
sed 's/filters = 8/filters = 7/' whiten.cfg >odd.cfg
expect_error "whitening with an odd filter count" "conv1: whitening needs an even number of filters" \
  "$shardnet" train -m odd.cfg -d data.h5 --run-dir run2
printf '[input] shape = 1,4,4\n[conv] filters = 2 size = 1\n[conv] filters = 8 size = 2 whiten = 1\n[dense] outputs = 10\n[softmax_cross_entropy]\n' >late.cfg
expect_error "whitening a conv that does not see the data" "conv2: \[conv\] is initialised from the data, so it must see the data.*conv1 comes first" \
  "$shardnet" train -m late.cfg -d data.h5 --run-dir run2
printf '[input] shape = 16\n[dense] outputs = 10\n[softmax_cross_entropy]\n' >flat.cfg
expect_error "flip averaging of flat inputs" "flip averaging needs image inputs" \
  "$shardnet" test --weights run/final.h5 --model flat.cfg --data data.h5 --flip
expect_ok "train --help" "$shardnet" train --help
# Early stopping: with a learning rate too small to matter the validation loss stops improving.
expect_ok "early stopping" "$shardnet" train -m model.cfg -d data.h5 --val-fraction 0.25 --patience 2 --lr 1e-9 \
  --epochs 30 --batch 20 --run-dir early
grep -q '^validation: 50 of the training samples held out' out.txt || fail "no validation split: $(cat out.txt)"
grep -q '^early stopping' out.txt || fail "did not stop early: $(cat out.txt)"
[ "$(wc -l <early/metrics.csv)" -eq 4 ] || fail "early stopping should end after epoch 3: $(cat early/metrics.csv)"

# shardnet time: one row per layer, the step's phases and shares, and the reference sgemm.
expect_ok "time" "$shardnet" time -m model.cfg --batch 16 -n 3 --warmup 1 --reference-gemm 64
for row in conv1 relu1 maxpool1 dense1 '^step ' '^shares of the step: GEMM' '^sgemm 64x64x64: .*GEMMs in conv layers'; do
  grep -q "$row" out.txt || fail "time output lacks $row: $(cat out.txt)"
done
expect_ok "time with data" "$shardnet" time -m model.cfg -d data.h5 --batch 16 -n 2 --reference-gemm 0
grep -q 'data data.h5' out.txt || fail "time --data does not say it reads data.h5: $(cat out.txt)"

# Bad input.
expect_error "timeline in a missing directory" "nowhere/t.json: cannot write the timeline" \
  "$shardnet" train -m model.cfg -d data.h5 --run-dir tl --timeline nowhere/t.json
[ -e tl/final.h5 ] && fail "training ran although the timeline cannot be written"
expect_error "time on a missing model" "missing.cfg" "$shardnet" time -m missing.cfg
printf '[input] shape = auto\n[dense] outputs = classes\n[softmax_cross_entropy]\n' >auto.cfg
expect_error "time on a model that takes its sizes from the data, without data" \
  "auto.cfg takes sizes from the data \(shape = auto, vocab = auto or outputs = classes\): give --data FILE" \
  "$shardnet" time -m auto.cfg
# Once a segmentation fault: the shape product wrapped and the allocation came out 0 bytes.
printf '[input] shape = 1\n[dense] outputs = 4611686018427387904\n[mse]\n' >huge.cfg
expect_error "2^62 outputs" "huge.cfg:2: 'outputs' must be in \[1, 2147483647\], got 4611686018427387904" \
  "$shardnet" time -m huge.cfg
printf '[input] shape = 100\n[dense] outputs = 2000000000\n[mse]\n' >big.cfg
expect_error "a weight larger than the memory" "big.cfg:2: a tensor of shape \(2000000000, 100\) needs [0-9]+ MiB, more than this machine's [0-9]+ MiB of memory" \
  "$shardnet" time -m big.cfg
printf '[input] shape = 100000\n[dense] outputs = 10\n[mse]\n' >fits.cfg
big_batch=$(( $(awk '/^MemTotal/ {print $2}' /proc/meminfo) * 1024 / 400000 + 1000 ))  # 400 kB a sample: past the RAM
expect_error "a batch larger than the memory" "a tensor of shape \($big_batch, 100000\) needs" \
  "$shardnet" time -m fits.cfg --batch "$big_batch" -n 1 --warmup 0 --reference-gemm 0
head -c 100 images.idx >truncated.idx
expect_error "truncated IDX" "truncated.idx: truncated" \
  "$shardnet" convert idx --images truncated.idx --labels labels.idx bad.h5
[ -e bad.h5 ] && fail "a failed conversion left bad.h5 behind"
head -c 7 labels.idx >short-labels.idx
expect_error "truncated IDX header" "short-labels.idx: truncated" \
  "$shardnet" convert idx --images images.idx --labels short-labels.idx bad.h5
printf 'GIF89a-not-idx' >notidx.idx
expect_error "bad magic" "notidx.idx: bad magic" "$shardnet" convert idx --images notidx.idx --labels labels.idx bad.h5

h5copy -i data.h5 -o nolabel.h5 -s /data -d /data
expect_error "HDF5 without /label" "nolabel.h5: no '/label' data set" \
  "$shardnet" train -m model.cfg -d nolabel.h5 --run-dir run2
expect_error "missing data file" "missing.h5: cannot open" "$shardnet" train -m model.cfg -d missing.h5 --run-dir run2
expect_error "not HDF5" "labels.idx: not an HDF5 file" "$shardnet" train -m model.cfg -d labels.idx --run-dir run2

sed 's/\[relu\]/[rleu]/' model.cfg >typo.cfg
expect_error "unknown layer" "typo.cfg:3: unknown layer type \[rleu\]" \
  "$shardnet" train -m typo.cfg -d data.h5 --run-dir run2
printf '[input] shape = 16\n[conv] filters = 4 size = 3\n[dense] outputs = 4\n[softmax_cross_entropy]\n' >flat.cfg
expect_error "conv on a flat input" "flat.cfg:2: conv needs a \(channels, height, width\) input" \
  "$shardnet" train -m flat.cfg -d data.h5 --run-dir run2
printf '[input] shape = 1,4,4\n[conv] filters = 4 size = 3\n[softmax_cross_entropy]\n' >nodense.cfg
expect_error "loss on a feature map" "nodense.cfg:3: softmax_cross_entropy needs a flat" \
  "$shardnet" train -m nodense.cfg -d data.h5 --run-dir run2
printf '[input] shape = 1,28,28\n[dense] outputs = 4\n[softmax_cross_entropy]\n' >mnist.cfg
expect_error "data shape vs model input" "data.h5: /data rows have shape \(1, 4, 4\) but the model's \[input\] is \(1, 28, 28\) \(model mnist.cfg\)" \
  "$shardnet" train -m mnist.cfg -d data.h5 --run-dir run2
printf '[input] shape = 1,4,4\n[dense] outputs = 3\n[softmax_cross_entropy]\n' >three.cfg
expect_error "more classes than outputs" "data.h5: has 10 classes but the model outputs 3 \(model three.cfg\)" \
  "$shardnet" train -m three.cfg -d data.h5 --run-dir run2
expect_error "patience without validation" "patience needs a validation split" \
  "$shardnet" train -m model.cfg -d data.h5 --patience 2 --run-dir run3
expect_error "unknown flag" "unrecognised option|unrecognized option" "$shardnet" train --modle x
expect_error "unknown optimizer" "unknown optimizer 'adamw'" \
  "$shardnet" train -m model.cfg -d data.h5 --optimizer adamw --run-dir run2
# Hyper-parameters that would only show up later as "training diverged".
expect_error "momentum nan" "momentum must be in \[0, 1\)" \
  "$shardnet" train -m model.cfg -d data.h5 --optimizer momentum --momentum nan --run-dir run2
expect_error "beta2 = 1" "beta1 and beta2 must be in \[0, 1\)" \
  "$shardnet" train -m model.cfg -d data.h5 --optimizer adam --beta2 1 --run-dir run2
expect_error "epsilon 0 with adagrad" "epsilon must be positive" \
  "$shardnet" train -m model.cfg -d data.h5 --optimizer adagrad --epsilon 0 --run-dir run2
expect_error "learning rate inf" "the learning rate \(lr\) must be positive" \
  "$shardnet" train -m model.cfg -d data.h5 --lr inf --run-dir run2
sed 's/\[dense\]   outputs = 10/[dense]   outputs = 10 init = normal std = nan/' model.cfg >nanstd.cfg
expect_error "init std nan" "nanstd.cfg:5: 'std' must be a number, got 'nan'" \
  "$shardnet" train -m nanstd.cfg -d data.h5 --run-dir run2
sed 's/\[maxpool\] size = 2/[maxpool] size = 2 stride = -1/' model.cfg >stride.cfg
expect_error "negative pool stride" "stride.cfg:4: 'stride' must be in \[0, 2147483647\], got -1" \
  "$shardnet" train -m stride.cfg -d data.h5 --run-dir run2
printf '[input] shape = 2,8\n[flatten]\n[dense] outputs = 10\n[softmax_cross_entropy]\n' >transposed.cfg
expect_error "same count, other shape" "data.h5: /data rows have shape \(1, 4, 4\) but the model's \[input\] is \(2, 8\)" \
  "$shardnet" train -m transposed.cfg -d data.h5 --run-dir run2
expect_error "weights that do not fit" "final.h5: .*conv1/weight" \
  "$shardnet" test --weights run/final.h5 --data data.h5 --model <(sed 's/filters = 4/filters = 8/' model.cfg)

# BLAS kernel selection (core/blas_kernel.h), through the test hook that pretends OpenBLAS chose a
# generic kernel. The expected kernel follows from this CPU's flags, so the check holds on any CPU.
flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { [[ " $flags " == *" $1 "* ]]; }
if has avx512f && has avx512bw && has avx512vl && has avx512dq; then expected='(SkylakeX|Cooperlake)'
elif has avx2 && has fma; then expected='(Haswell|Zen)'
else expected=''; fi
printf '[input] shape = 4\n[dense] outputs = 2\n[mse]\n' >tiny.cfg
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
  echo "skip: kernel selection after a fallback: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE is set on this machine"
elif [ -z "$expected" ]; then
  echo "skip: kernel selection after a fallback: this CPU has no AVX2 or AVX-512 kernel to select"
else
  SHARDNET_TEST_BLAS_CORENAME=Prescott "$shardnet" time -m tiny.cfg -n 2 --warmup 1 --reference-gemm 0 >out.txt 2>err.txt \
    || fail "time with a generic kernel: $(cat err.txt)"
  grep -qE "kernel $expected, 1 thread \(OpenBLAS chose the generic kernel Prescott .*; selected $expected \(OPENBLAS_CORETYPE\), sgemm self-check passed" out.txt \
    || fail "no kernel selected after a fallback: $(head -1 out.txt)"
  [ ! -s err.txt ] || fail "kernel selection wrote to stderr: $(cat err.txt)"
  echo "ok: a generic kernel on this CPU is replaced: $(head -1 out.txt)"
  # The choice is this host's: processes it starts decide again for their own CPU.
  SHARDNET_TEST_BLAS_CORENAME=Prescott mpirun -np 2 -x SHARDNET_TEST_BLAS_CORENAME "$shardnet" time -m tiny.cfg -n 2 \
    --warmup 1 --reference-gemm 0 >out.txt 2>err.txt || fail "time under mpirun with a generic kernel: $(cat err.txt)"
  [ "$(grep -c 'selected' out.txt)" -eq 1 ] || fail "not one selection line under mpirun: $(cat out.txt)"
  grep -qE "kernel $expected" out.txt || fail "ranks do not run the selected kernel: $(head -1 out.txt)"
fi
running=$("$shardnet" time -m tiny.cfg -n 1 --warmup 0 --reference-gemm 0 | sed -n 's/.*kernel \([A-Za-z0-9]*\),.*/\1/p')
[ -n "$running" ] || fail "time prints no BLAS kernel"
OPENBLAS_CORETYPE=$running "$shardnet" time -m tiny.cfg -n 1 --warmup 0 --reference-gemm 0 >out.txt 2>err.txt
grep -q "kernel $running, 1 thread (OPENBLAS_CORETYPE=$running is set: kept" out.txt ||
  fail "a preset OPENBLAS_CORETYPE is not reported: $(head -1 out.txt)"
[ ! -s err.txt ] || fail "a preset OPENBLAS_CORETYPE is reported on stderr: $(cat err.txt)"
grep -q "kernel $running," out.txt || fail "a preset OPENBLAS_CORETYPE was changed: $(head -1 out.txt)"
SHARDNET_TEST_BLAS_CORENAME=Prescott OPENBLAS_CORETYPE=$running "$shardnet" time -m tiny.cfg -n 1 --warmup 0 \
  --reference-gemm 0 >out.txt 2>err.txt
grep -q "kernel $running, 1 thread (OPENBLAS_CORETYPE=$running is set: kept" out.txt ||
  fail "a preset OPENBLAS_CORETYPE was overridden: $(head -1 out.txt)"
echo "ok: a preset OPENBLAS_CORETYPE ($running) is kept and printed"

finish
