#!/usr/bin/env bash
# Deep Q-learning on the cart-pole over 5 seeds, at 1 rank and at 2 ranks (2 environment streams in
# both: 1 x 2 and 2 x 1), built against the installed package; a table of the environment steps and
# wall time to solve (greedy mean return >= 475 over 100 episodes), and the return curves of the
# 1-rank runs as docs/rl_cartpole.png (gnuplot). Curves: runs/dqn/<ranks>/seed-<N>/*.csv.
#   examples/rl/run.sh [seeds...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=("${@:-1 2 3 4 5}")
read -r -a seeds <<<"${seeds[*]}"
scripts/build_example.sh rl
export OPENBLAS_NUM_THREADS=1
dqn=build/examples-rl/dqn_cartpole
printf "| seed | 1 rank: steps to solve | 1 rank: seconds | 2 ranks: steps to solve | 2 ranks: seconds |\n|---|---|---|---|---|\n"
for seed in "${seeds[@]}"; do
  row="| $seed |"
  for ranks in 1 2; do
    out=runs/dqn/$ranks-rank/seed-$seed
    line=$(mpirun -np "$ranks" --oversubscribe "$dqn" --seed "$seed" --out "$out" | tail -1)
    # "solved: seed 1, 1 rank(s), 2 streams: 40000 environment steps, 11.3 s" or "not solved: ..."
    steps=$(sed -n 's/.*streams: \([0-9]*\) environment steps.*/\1/p' <<<"$line")
    secs=$(sed -n 's/.*environment steps, \([0-9.]*\) s$/\1/p' <<<"$line")
    case "$line" in solved*) row="$row $steps | $secs |" ;; *) row="$row not solved in $steps | $secs |" ;; esac
  done
  echo "$row"
done
command -v gnuplot >/dev/null || { echo "rl: gnuplot is needed for the plot (scripts/setup.sh installs it)" >&2; exit 1; }
plot=""
for seed in "${seeds[@]}"; do
  plot+="'runs/dqn/1-rank/seed-$seed/evaluations.csv' using 1:2 with linespoints title 'seed $seed', "
done
gnuplot <<GP
set terminal pngcairo size 900,420 font ",10"
set output "docs/rl_cartpole.png"
set datafile separator ","
set key bottom right
set xlabel "environment steps"
set ylabel "greedy return (mean of 100 episodes)"
set yrange [0:520]
set title "Double DQN on the cart-pole (examples/rl), 1 rank x 2 streams; solved at 475"
plot ${plot%, }, 475 with lines dashtype 2 lc rgb "grey" notitle
GP
echo "wrote docs/rl_cartpole.png"
