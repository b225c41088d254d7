#!/usr/bin/env bash
# Trains one of the sequence models of docs/RESULTS.md from scratch: sets up, converts the data,
# trains, and prints the test result.
#   examples/sequences/run.sh [sine|mnist_rows|names|polarity_gru|polarity_gru_dropout|polarity_bigru_dropout] [extra train flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-sine}
shift || true
shared=../shared/data
shardnet=build/tools/shardnet
scripts/setup.sh build
case "$model" in
  sine)
    [ -f data/sine/sine-test.h5 ] || $shardnet convert sine data/sine/sine
    data=(--data data/sine/sine-train.h5 --test data/sine/sine-test.h5)
    flags=(--optimizer adam --lr 0.005 --epochs 30 --lr-schedule cosine --batch 64) ;;
  mnist_rows)
    scripts/fetch_mnist.sh data/mnist-idx
    [ -f data/mnist/mnist-test.h5 ] || $shardnet convert mnist data/mnist-idx data/mnist
    data=(--data data/mnist/mnist-train.h5 --test data/mnist/mnist-test.h5)
    flags=(--optimizer adam --lr 0.002 --epochs 6 --lr-schedule cosine --clip-norm 5) ;;
  names)
    [ -f data/names/names-test.h5 ] || $shardnet convert text data/names/names "$shared"/names/*.txt \
      --level char --split 0.8,0.1,0.1 --seed 1
    data=(--data data/names/names-train.h5 --test data/names/names-test.h5)
    flags=(--optimizer adam --lr 0.001 --epochs 15 --clip-norm 5) ;;
  polarity_*)
    [ -f data/rt-polarity/rt-test.h5 ] || $shardnet convert text data/rt-polarity/rt "$shared"/rt-polarity/rt-polarity.pos \
      "$shared"/rt-polarity/rt-polarity.neg --class-names pos,neg --level word --split 0.9,0,0.1 --seed 1 \
      --min-count 2 --max-length 60
    data=(--data data/rt-polarity/rt-train.h5 --test data/rt-polarity/rt-test.h5)
    flags=(--optimizer adam --lr 0.002 --epochs 6 --lr-schedule cosine --clip-norm 5) ;;
  *) echo "unknown model '$model' (sine, mnist_rows, names, polarity_gru, polarity_gru_dropout or polarity_bigru_dropout)" >&2
     exit 2 ;;
esac
$shardnet train --model examples/sequences/"$model".cfg "${data[@]}" --run-dir runs/seq-"$model" --overwrite \
  "${flags[@]}" "$@"
