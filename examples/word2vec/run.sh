#!/usr/bin/env bash
# Word2Vec (skip-gram, negative sampling) on the sentence-polarity corpus, or on any text files given:
# converts the text to pairs, trains, lists a few words' neighbours, exports the vectors in the word2vec
# text format, and, with Debian's python3-torch, trains the same SGNS in PyTorch (bench/torch_sgns.py)
# and plots both loss curves to docs/sgns_loss.png (gnuplot).
#   examples/word2vec/run.sh [TEXT_FILE...]       (default: ../shared/data/rt-polarity/rt-polarity.*)
set -euo pipefail
cd "$(dirname "$0")/../.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(../shared/data/rt-polarity/rt-polarity.pos ../shared/data/rt-polarity/rt-polarity.neg)
scripts/setup.sh build
shardnet=build/tools/shardnet
run=runs/word2vec
mkdir -p data "$run"
"$shardnet" convert skipgram data/skipgram.h5 "${files[@]}" --window 5 --min-count 5 --subsample 1e-3 | tee "$run/convert.txt"
"$shardnet" train --model examples/word2vec/polarity.cfg --data data/skipgram.h5 --run-dir "$run" --overwrite --optimizer adam \
  --lr 0.005 --batch 1024 --epochs 5 --log-every 50
"$shardnet" neighbours --weights "$run/final.h5" --data data/skipgram.h5 --word good --word bad --word funny \
  --word boring --word movie --k 8 2>/dev/null || true
"$shardnet" export --weights "$run/final.h5" --data data/skipgram.h5 --word2vec "$run/vectors.txt"
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 bench/torch_sgns.py data/skipgram.h5 --epochs 5 --log-every 50 | tee "$run/torch.txt" |
    grep '^#'
  grep -v '^#' "$run/torch.txt" | tail -n +2 >"$run/torch_steps.csv"
  if command -v gnuplot >/dev/null; then
    gnuplot <<GP
set terminal pngcairo size 800,420 font ",10"
set output "docs/sgns_loss.png"
set datafile separator ","
set xlabel "step (batches of 1024 pairs)"
set ylabel "SGNS loss, mean of 50 steps"
set title "skip-gram with negative sampling on $(basename -a "${files[@]}" | tr "\n" " ")"
plot "$run/steps.csv" every ::1 using 1:4 with lines lw 2 title "shardnet", \
     "$run/torch_steps.csv" using 1:3 with lines lw 2 dt 2 title "PyTorch ${TORCH_VERSION:-1.13}"
GP
    echo "wrote docs/sgns_loss.png"
  fi
fi
