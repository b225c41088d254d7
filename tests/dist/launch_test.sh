#!/usr/bin/env bash
# shardnet launch with real ranks: the mpirun line it builds, training and testing at 1, 2 and 4
# ranks giving the same numbers, ranks that disagree failing fast, and a killed rank ending the job
# within 30 s with the rank named.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"
quadrant_data 2000
cat >model.cfg <<'CFG'
[input]   shape = 1,4,4
[conv]    filters = 4  size = 3  pad = 1
[relu]
[maxpool] size = 2
[dense]   outputs = 10
[softmax_cross_entropy]
CFG

# The mpirun line.
line=$("$shardnet" launch -n 3 --dry-run -- train -m model.cfg -d data.h5)
echo "dry run: $line"
case "$line" in mpirun\ -np\ 3\ *) ;; *) fail "dry run does not start with mpirun -np 3: $line" ;; esac
[ "$(id -u)" = 0 ] && { echo "$line" | grep -q -- --allow-run-as-root || fail "no --allow-run-as-root as root"; }
if [ "$(nproc)" -lt 3 ]; then echo "$line" | grep -q -- --oversubscribe || fail "no --oversubscribe for 3 ranks on $(nproc) cores"; fi
echo "$line" | grep -q -- "-x OPENBLAS_NUM_THREADS=1" || fail "thread setting not forwarded"
echo "$line" | grep -q "$(readlink -f "$shardnet") train -m model.cfg -d data.h5" || fail "command not passed on"

# A rank with T threads gets T cores (not one core for all its threads), or no binding when
# ranks x threads exceed the cores.
line=$("$shardnet" launch -n 1 --dry-run -- time -m model.cfg --threads 2)
if [ "$(nproc)" -ge 2 ]; then
  echo "$line" | grep -q -- "--map-by slot:PE=2 --bind-to core" || fail "1 rank x 2 threads not given 2 cores: $line"
fi
line=$("$shardnet" launch -n "$(nproc)" --dry-run -- train -m model.cfg -d data.h5 --threads=2)
echo "$line" | grep -q -- "--bind-to none" || fail "$(nproc) ranks x 2 threads bound to cores: $line"
echo "$line" | grep -q "$(readlink -f "$shardnet") train" || fail "train not passed on: $line"

# Training at 1 and 2 ranks: same epoch metrics, same test accuracy.
train_flags=(train -m model.cfg -d data.h5 -t data.h5 --epochs 2 --batch 40 --lr 0.05 --momentum 0.9)
"$shardnet" launch -n 1 -- "${train_flags[@]}" --run-dir r1 >out1.txt 2>err1.txt || fail "1-rank train: $(cat err1.txt)"
"$shardnet" launch -n 2 -- "${train_flags[@]}" --run-dir r2 >out2.txt 2>err2.txt || fail "2-rank train: $(cat err2.txt)"
metrics() { cut -d, -f1-7 "$1"; }  # everything but timings
if [ "$(metrics r1/metrics.csv)" != "$(metrics r2/metrics.csv)" ]; then
  fail "1 and 2 ranks trained differently:"; paste -d'\n' r1/metrics.csv r2/metrics.csv
fi
acc1=$(grep '^test accuracy' out1.txt)
for n in 1 2 4; do
  got=$("$shardnet" launch -n $n -- test --weights r2/final.h5 --data data.h5 2>/dev/null)
  echo "test at $n rank(s): $got"
  [ "$got" = "$acc1" ] || fail "test at $n ranks gives '$got', the 1-rank training run ended with '$acc1'"
done

# A timeline of a 2-rank run holds both ranks' step phases and their allreduce spans.
"$shardnet" launch -n 2 -- "${train_flags[@]}" --max-steps 6 --run-dir rt --timeline rt/trace.json >outt.txt 2>errt.txt ||
  fail "2-rank train with --timeline: $(cat errt.txt)"
grep -q '^timeline: rt/trace.json' outt.txt || fail "no timeline line: $(cat outt.txt)"
for rank in 0 1; do
  for phase in forward backward 'allreduce wait' optimizer 'allreduce bucket 0'; do
    grep -q "{\"name\":\"$phase[^\"]*\",\"cat\":\"[a-z ]*\",\"ph\":\"X\",\"pid\":$rank," rt/trace.json ||
      fail "timeline lacks '$phase' of rank $rank"
  done
done
[ "$(grep -c '"name":"forward"' rt/trace.json)" -eq 12 ] || fail "timeline should hold 6 forward spans per rank"
echo "timeline: $(grep -c '"ph":"X"' rt/trace.json) events of 2 ranks"

# Ranks that disagree on the model fail fast, naming the rank.
sed 's/filters = 4/filters = 6/' model.cfg >other.cfg
start=$(date +%s)
timeout 60 mpirun -np 1 --oversubscribe "$shardnet" train -m model.cfg -d data.h5 --run-dir r3 : \
  -np 1 --oversubscribe "$shardnet" train -m other.cfg -d data.h5 --run-dir r3 >out3.txt 2>&1
status=$?
[ "$status" -ne 0 ] || fail "ranks with different models trained"
[ "$status" -ne 124 ] || fail "ranks with different models hung"
grep -q "ranks disagree on the model file: rank(s) 1 differ from rank 0" out3.txt || fail "mismatch not named: $(cat out3.txt)"
echo "mismatched models: exit $status after $(( $(date +%s) - start )) s: $(grep -m1 'disagree' out3.txt)"

# A rank killed mid-training ends the job within 30 s, naming the rank.
"$shardnet" launch -n 2 -- train -m model.cfg -d data.h5 --epochs 100000 --batch 40 --run-dir "$work/long" \
  >out4.txt 2>&1 &
launcher=$!
for _ in $(seq 1 300); do [ -s "$work/long/metrics.csv" ] && break; sleep 0.1; done
victim=$(rank_pid "run-dir $work/long" 1)
if [ -z "$victim" ]; then
  fail "could not find rank 1"
else
  kill -9 "$victim"
  killed=$(date +%s)
  for _ in $(seq 1 300); do kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
  if kill -0 $launcher 2>/dev/null; then
    fail "the job still runs 30 s after rank 1 was killed"
    kill -9 $launcher
  fi
  wait $launcher
  status=$?
  took=$(( $(date +%s) - killed ))
  [ "$status" -ne 0 ] || fail "the job exited 0 after a rank was killed"
  grep -qiE "rank 1 .*(exited on signal 9|killed)|process rank 1" out4.txt || fail "rank 1 is not named: $(cat out4.txt)"
  echo "killed rank 1: job exited $status after ${took} s: $(grep -m1 -iE 'rank 1' out4.txt)"
fi

finish
