#!/usr/bin/env bash
# examples/gan built against the installed package, on generated 28x28 images of four shapes: a
# short DCGAN run writes its sample grids, checkpoint set and samples; the same steps on 2 ranks
# give the nets 1 rank gives (sharded batches, synchronised BatchNorm, averaged gradients); `score`
# finds the real images at distance 0 from themselves and the samples further; bad input gets one line.
#   gan_test.sh CMAKE BUILD_DIR SOURCE_DIR CXX
set -u
cmake=$1 build=$2 source=$3 cxx=$4
source "$source/tests/data/common.sh" "$build/tools/shardnet"
install_package "$cmake" "$build" && build_example "$cmake" "$source" "$cxx" gan || finish
dcgan=$work/gan-build/dcgan

# 512 images of 28x28, class k = a bar (k = 0 horizontal, 1 vertical), a box (2) or a diagonal (3)
# at a random place, as IDX files for `shardnet convert idx`.
/usr/bin/python3 - <<'PY'
import random, struct
random.seed(3)
n = 512
images, labels = bytearray(), bytearray()
for i in range(n):
    k = i % 4
    img = [[random.randint(0, 30) for _ in range(28)] for _ in range(28)]
    r, c = random.randint(4, 18), random.randint(4, 18)
    for t in range(10):
        for (y, x) in {0: [(r, c + t), (r + 1, c + t)], 1: [(r + t, c), (r + t, c + 1)],
                       2: [(r, c + t), (r + 9, c + t), (r + t, c), (r + t, c + 9)], 3: [(r + t, c + t)]}[k]:
            img[y][x] = 250
    images += bytes(v for row in img for v in row)
    labels.append(k)
open("images.idx", "wb").write(struct.pack(">IIII", 0x803, n, 28, 28) + images)
open("labels.idx", "wb").write(struct.pack(">II", 0x801, n) + labels)
PY
"$shardnet" convert idx --images images.idx --labels labels.idx shapes.h5 >/dev/null || fail "convert the shapes"

short=(--data shapes.h5 --epochs 2 --steps-per-epoch 3 --batch 16 --samples 300)
expect_ok "DCGAN, 1 rank" "$dcgan" train "${short[@]}" --out one
expect_ok "DCGAN, 2 ranks" mpirun -np 2 --oversubscribe "$dcgan" train "${short[@]}" --out two
for f in samples-01.png samples-02.png gan.h5 samples.h5 losses.csv; do [ -s "one/$f" ] || fail "not written: one/$f"; done
"$shardnet" inspect one/samples.h5 >inspect.txt 2>&1 && grep -q "300" inspect.txt || fail "samples.h5: $(head -3 inspect.txt)"
if "$shardnet" compare one/gan.h5 two/gan.h5 --tolerance 1e-4 >cmp.txt; then
  echo "ok: 6 GAN steps on 2 ranks equal 1 rank: $(tail -1 cmp.txt)"
else
  fail "6 GAN steps on 2 ranks differ from 1 rank: $(tail -1 cmp.txt)"
fi

cat >classifier.cfg <<'CFG'
[input] shape = auto
[conv] filters = 8 size = 3 pad = 1
[relu]
[maxpool] size = 2
[flatten]
[dense] outputs = 16
[relu]
[dense] outputs = classes
[softmax_cross_entropy]
CFG
expect_ok "train the classifier" "$shardnet" train -m classifier.cfg -d shapes.h5 --epochs 2 --batch 32 --run-dir clf
classifier=clf/final.h5
if "$dcgan" score --classifier "$classifier" --real shapes.h5 shapes.h5 one/samples.h5 >score.txt 2>&1; then
  self=$(awk '$1 == "shapes.h5" {print $2}' score.txt)
  fake=$(awk '$1 == "one/samples.h5" {print $2}' score.txt)
  if awk -v s="$self" -v f="$fake" 'BEGIN {exit !(s != "" && s < 1e-3 && f > 10 * (s + 1e-3))}'; then
    echo "ok: score: the real images at FD $self from themselves, 6-step samples at $fake"
  else
    fail "score: self $self, samples $fake: $(cat score.txt)"
  fi
  grep -q "features: .*layer relu2 (16 values)" score.txt || fail "score does not use the penultimate layer: $(head -1 score.txt)"
else
  fail "score: $(cat score.txt)"
fi

expect_error "missing data" "no-such.h5" "$dcgan" train --data no-such.h5 --out bad
expect_error "not 28x28" "data.h5: /data rows are \(1, 4, 4\), not 28x28 images" bash -c \
  "\"$data_dir\"/make_quadrant_idx.sh 64 . && \"$shardnet\" convert idx --images images.idx --labels labels.idx data.h5 >/dev/null && \"$dcgan\" train --data data.h5 --out bad"
expect_error "unknown flag" "unknown flag --epoch" "$dcgan" train --data shapes.h5 --out bad --epoch 1
finish
