#!/usr/bin/env bash
# make_quadrant_idx.sh N DIR: writes DIR/images.idx (N images of 4x4) and DIR/labels.idx, where the
# label (0..3) is the quadrant that is bright: a tiny IDX data set any small net learns exactly.
set -eu
n=$1
dir=$2
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
quadrant_image() {  # the 16 pixels of an image whose bright quadrant is $1
  for ((r = 0; r < 4; r++)); do
    for ((c = 0; c < 4; c++)); do
      if [ $((r / 2 * 2 + c / 2)) -eq "$1" ]; then printf '\xf0'; else printf '\x10'; fi
    done
  done
}
{ printf '\x00\x00\x08\x03'; be32 "$n"; be32 4; be32 4; } >"$dir/images.idx"
{ printf '\x00\x00\x08\x01'; be32 "$n"; } >"$dir/labels.idx"
for q in 0 1 2 3; do quadrant_image $q >"$dir/q$q.bin"; done
for ((i = 0; i < n; i++)); do
  cat "$dir/q$((i % 4)).bin" >>"$dir/images.idx"
  printf "\\x$(printf %02x $((i % 4)))" >>"$dir/labels.idx"
done
rm -f "$dir"/q?.bin
