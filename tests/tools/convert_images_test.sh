#!/usr/bin/env bash
# End-to-end checks of `shardnet convert images` on small generated folders: the file it writes
# holds what was asked (rows in sorted order, classes, mean/std), the data set trains, and each
# kind of bad input ends with a non-zero exit and exactly one clear line on stderr, leaving no
# output file behind.   convert_images_test.sh SHARDNET MAKE_TEST_IMAGE
set -u
make_image=$(readlink -f "$2")
source "$(dirname "$0")/../data/common.sh" "$1"

# expect_in FILE PATTERN: FILE has a line matching PATTERN.
expect_in() { grep -qE -- "$2" "$1" || fail "$1 lacks /$2/: $(cat "$1")"; }

# The values of one data set, one per line, from h5dump.
values() { h5dump -d "$2" -y -w 0 "$1" | sed -n '/DATA {/,/}/p' | tr ',' '\n' | grep -oE -- '-?[0-9][0-9.e+-]*'; }

# A folder of 3 classes x 4 images of 12x10: JPEG and PNG, upper-case extensions, one gray PNG,
# and a file that is not an image.
mkdir -p imgs/airplane imgs/cat imgs/dog
for i in 1 2 3 4; do
  "$make_image" imgs/airplane/000$i.jpg 12 10 3 $i
  "$make_image" imgs/cat/$i.png 12 10 3 $((10 + i))
  "$make_image" imgs/dog/d$i.JPEG 12 10 3 $((20 + i))
done
"$make_image" imgs/cat/4.png 12 10 1 14  # gray: repeated into 3 channels
echo "not an image" >imgs/dog/notes.txt

expect_ok "convert images" "$shardnet" convert images imgs out/imgs.h5 --threads 2
expect_in out.txt '^wrote out/imgs.h5: 12 images, /data \(12, 3, 12, 10\) uint8$'
expect_in out.txt '^3 classes, 12x10, 0 skipped, 1 ignored files, mean \[[0-9.]+, [0-9.]+, [0-9.]+\], std \[.*\], [0-9.]+ s on 2 threads$'
expect_ok "inspect the images" "$shardnet" inspect out/imgs.h5
expect_in out.txt '^/data +uint8 +\(12, 3, 12, 10\)'
expect_in out.txt '^/label +int32 +\(12\)'
expect_in out.txt '@classes = \[airplane, cat, dog\]'
expect_in out.txt '@mean = \[0\.[0-9]+, 0\.[0-9]+, 0\.[0-9]+\]'
expect_in out.txt '@std = \[0\.[0-9]+, 0\.[0-9]+, 0\.[0-9]+\]'
expect_in out.txt '@source = "images: imgs, 3 classes, 12x10 as found"'
[ "$(values out/imgs.h5 /label | tr '\n' ' ')" = "0 0 0 0 1 1 1 1 2 2 2 2 " ] ||
  fail "labels are $(values out/imgs.h5 /label | tr '\n' ' ')"
# The gray cat (row 7): its three channel planes are equal.
gray=$(values out/imgs.h5 /data | sed -n "$((7 * 360 + 1)),$((8 * 360))p")
[ "$(echo "$gray" | sed -n 1,120p)" = "$(echo "$gray" | sed -n 241,360p)" ] || fail "the gray image's channels differ"
# The same file whatever the threads.
expect_ok "convert images on 1 thread" "$shardnet" convert images imgs out/one.h5 --threads 1
cmp -s <(values out/imgs.h5 /data) <(values out/one.h5 /data) || fail "1 and 2 threads wrote different /data"
expect_ok "convert images to gray" "$shardnet" convert images imgs out/gray.h5 --channels 1 --gzip 4
expect_in out.txt '/data \(12, 1, 12, 10\) uint8'
printf '[input] shape = 3,12,10\n[conv] filters = 4 size = 3 pad = 1\n[relu]\n[dense] outputs = 3\n[softmax_cross_entropy]\n' >imgs.cfg
expect_ok "train on the images" "$shardnet" train -m imgs.cfg -d out/imgs.h5 -t out/imgs.h5 --epochs 1 --batch 4 \
  --run-dir imgs-run
expect_in out.txt 'test accuracy'

# --val-per-class: the last 2 files (by name) of each class.
expect_ok "convert with a validation split" "$shardnet" convert images imgs out/train.h5 --val-per-class 2 \
  --val out/val.h5
expect_in out.txt '^wrote out/train.h5: 6 images, /data \(6, 3, 12, 10\) uint8$'
expect_in out.txt '^wrote out/val.h5: 6 images, /data \(6, 3, 12, 10\) uint8$'
[ "$(values out/val.h5 /label | tr '\n' ' ')" = "0 0 1 1 2 2 " ] || fail "val labels are $(values out/val.h5 /label | tr '\n' ' ')"
# Row 0 of val is airplane/0003.jpg, the third row of the full file.
cmp -s <(values out/val.h5 /data | head -360) <(values out/imgs.h5 /data | sed -n 721,1080p) ||
  fail "the first validation row is not airplane/0003.jpg"
"$shardnet" inspect out/train.h5 | grep -E '@(mean|std)' >train-stats.txt
"$shardnet" inspect out/val.h5 | grep -E '@(mean|std)' >val-stats.txt
cmp -s train-stats.txt val-stats.txt || fail "val mean/std differ from the training file's"
"$shardnet" inspect out/imgs.h5 | grep -E '@(mean|std)' >all-stats.txt
cmp -s train-stats.txt all-stats.txt && fail "the training file's mean/std include the validation images"

# A truncated JPEG: an error naming it, no output; --skip-bad skips and counts it.
cp -r imgs bad
rm bad/cat/2.png
head -c 300 imgs/airplane/0001.jpg >bad/cat/2.jpg
expect_error "truncated JPEG" "^shardnet convert: error: bad/cat/2.jpg: corrupt JPEG: .+" \
  "$shardnet" convert images bad out/bad.h5
[ -e out/bad.h5 ] || [ -e out/bad.h5.tmp ] && fail "a failed conversion left out/bad.h5 behind"
expect_ok "truncated JPEG, --skip-bad" "$shardnet" convert images bad out/bad.h5 --skip-bad
expect_in out.txt '^wrote out/bad.h5: 11 images'
expect_in out.txt ', 1 skipped, '
expect_in err.txt 'skipped bad/cat/2.jpg: corrupt JPEG'
rm -f out/bad.h5

# Not an image under an image name; an empty class; a missing or flat root.
cp -r imgs text && echo "hello there" >text/dog/x.jpg
expect_error "text named .jpg" "^shardnet convert: error: text/dog/x.jpg: not a JPEG or PNG file \(it starts with bytes 68 65 6c 6c 6f 20 74 68\)$" \
  "$shardnet" convert images text out/bad.h5
cp -r imgs empty && rm empty/dog/*.JPEG
expect_error "empty class folder" "^shardnet convert: error: empty/dog: no images \(.jpg, .jpeg, .png\)$" \
  "$shardnet" convert images empty out/bad.h5
expect_error "missing root" "^shardnet convert: error: nowhere: no such folder$" "$shardnet" convert images nowhere out/bad.h5
mkdir flat && cp imgs/cat/1.png flat/
expect_error "root without class folders" "^shardnet convert: error: flat: no class folders" \
  "$shardnet" convert images flat out/bad.h5
expect_error "val without a file" "--val-per-class needs --val OUT_VAL.h5" \
  "$shardnet" convert images imgs out/bad.h5 --val-per-class 2
expect_error "bad size" "--size must be HxW or N" "$shardnet" convert images imgs out/bad.h5 --size 8x

# Mixed sizes: an error naming the file and both sizes; --size resizes them all.
cp -r imgs mixed && "$make_image" mixed/dog/d2.JPEG 7 9 3 5
expect_error "mixed sizes" "^shardnet convert: error: mixed/dog/d2.JPEG: 7x9 but the first image \(mixed/airplane/0001.jpg\) is 12x10; pass --size to resize$" \
  "$shardnet" convert images mixed out/bad.h5
ls out/bad* >/dev/null 2>&1 && fail "a failed conversion left files behind: $(ls out/bad*)"
expect_ok "mixed sizes, --size 8" "$shardnet" convert images mixed out/mixed.h5 --size 8
expect_in out.txt '^wrote out/mixed.h5: 12 images, /data \(12, 3, 8, 8\) uint8$'
expect_in out.txt '^3 classes, 8x8 \(resized\), '
expect_ok "mixed sizes, --size 6x4" "$shardnet" convert images mixed out/mixed.h5 --size 6x4
expect_in out.txt '/data \(12, 3, 6, 4\) uint8'

expect_ok "convert --help" "$shardnet" convert --help
expect_in out.txt '^  images ROOT OUT.h5 '

finish
