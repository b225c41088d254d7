#!/usr/bin/env bash
# examples/rl built against the installed package: a short DQN run writes its curves; one update on
# 4 ranks x 1 environment stream equals one update on 1 rank x 4 streams (the same transitions,
# gradients averaged over the ranks); bad flags get one line.
#   rl_test.sh CMAKE BUILD_DIR SOURCE_DIR CXX
set -u
cmake=$1 build=$2 source=$3 cxx=$4
source "$source/tests/data/common.sh" "$build/tools/shardnet"
install_package "$cmake" "$build" && build_example "$cmake" "$source" "$cxx" rl || finish
dqn=$work/rl-build/dqn_cartpole

if mpirun -np 2 --oversubscribe "$dqn" --steps 3000 --learning-starts 500 --eval-every 1000 --out curves >run.log 2>&1; then
  evals=$(($(wc -l <curves/evaluations.csv) - 1))
  episodes=$(($(wc -l <curves/episodes.csv) - 1))
  if [ "$evals" -ge 2 ] && [ "$episodes" -ge 10 ] && grep -qE "^(solved|not solved): seed 1, 2 rank\(s\)" run.log; then
    echo "ok: 2 ranks, 3000 steps: $evals greedy evaluations, $episodes training episodes; $(tail -1 run.log)"
  else
    fail "short run: $evals evaluations, $episodes episodes: $(tail -3 run.log)"
  fi
else
  fail "short run: $(tail -3 run.log)"
fi

one_update=(--envs 4 --steps 400 --learning-starts 400)  # 100 iterations of 4 steps, then one update
expect_ok "one update, 1 rank x 4 streams" "$dqn" "${one_update[@]}" --save one.h5
expect_ok "one update, 4 ranks x 1 stream" mpirun -np 4 --oversubscribe "$dqn" "${one_update[@]}" --save four.h5
if "$shardnet" compare one.h5 four.h5 --tolerance 1e-5 >cmp.txt; then
  echo "ok: one update at 4 ranks equals 1 rank: $(tail -1 cmp.txt)"
else
  fail "one update at 4 ranks differs from 1 rank: $(tail -1 cmp.txt)"
fi
identical one.h5 one.h5 "the checkpoint set compares with itself"

expect_error "unknown flag" "dqn_cartpole: error: unknown flag --stpes" "$dqn" --stpes 10
expect_error "batch not a multiple of the streams" "--batch must be a positive multiple of --envs" "$dqn" --envs 3 --batch 64
if mpirun -np 2 --oversubscribe "$dqn" --envs 3 --batch 66 >out.txt 2>err.txt; then
  fail "3 streams on 2 ranks: exit status 0"
elif grep -q "dqn_cartpole: error: the ranks must divide --envs" err.txt; then
  echo "ok: 3 streams on 2 ranks: $(grep -m1 dqn_cartpole err.txt)"
else
  fail "3 streams on 2 ranks: $(cat err.txt)"
fi
finish
