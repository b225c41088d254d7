#!/usr/bin/env bash
# Graceful stop with real ranks: SIGTERM to one rank of a 2-rank job (chosen, with the moment, by a
# seeded random draw) stops both ranks at the same step with one checkpoint and exit status 75;
# --resume then ends bitwise where an undisturbed run ends. The same through `shardnet launch`
# (SIGTERM to the launcher), and a second Ctrl-C ends a run at once.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"
quadrant_data 2000
wide_mlp_model
seed=${STOP_TEST_SEED:-$RANDOM}
RANDOM=$seed
echo "seed $seed (STOP_TEST_SEED=$seed repeats this run)"
steps=600  # about 3 s at 2 ranks
[ "${SHARDNET_SANITIZED:-0}" = 1 ] && steps=300  # the sanitizers run it 2-3x slower: still seconds
common=(train -d data.h5 --epochs 100 --lr 0.02 --momentum 0.9)
flags=("${common[@]}" -m model.cfg --batch 256 --max-steps $steps)

# Waits until the job in $1 (its stdout) has started training, then a random 0.1 to 1.0 s more.
wait_for_training() {
  started_training "$1"
  sleep "$(printf '0.%d' $((RANDOM % 10 + 1)))"
}
# stopped_step LOG: the global step of the "stopped ... (N steps done)" line.
stopped_step() { sed -n 's/^stopped .*(\([0-9]*\) steps done).*/\1/p' "$1"; }

mpirun -np 2 --oversubscribe --bind-to none "$shardnet" "${flags[@]}" --run-dir whole >whole.log 2>&1 ||
  fail "undisturbed run: $(tail -3 whole.log)"

# 1. SIGTERM to one rank, the job started by mpirun itself.
victim=$((RANDOM % 2))
mpirun -np 2 --oversubscribe --bind-to none "$shardnet" "${flags[@]}" --run-dir direct >direct.log 2>direct.err &
job=$!
wait_for_training direct.log
pid=$(rank_pid "$shardnet train .*--run-dir direct" "$victim")
kill -TERM "$pid"
wait $job
status=$?
at=$(stopped_step direct.log)
echo "SIGTERM to rank $victim: exit status $status, stopped after step ${at:-?}"
[ "$status" -eq 75 ] || fail "mpirun job after SIGTERM to a rank: exit status $status, not 75: $(cat direct.err)"
grep -q "rank $victim: SIGTERM: stopping at the next step boundary" direct.err || fail "no stop line from rank $victim: $(cat direct.err)"
[ -n "$at" ] && [ "$at" -gt 0 ] && [ "$at" -lt $steps ] || fail "no stop inside the run: $(cat direct.log)"
ls direct/checkpoints/checkpoint-*.h5 >ckpts.txt 2>/dev/null
[ "$(wc -l <ckpts.txt)" -ge 1 ] && grep -q "checkpoint-$(printf %08d "${at:-0}").h5" ckpts.txt ||
  fail "no checkpoint at the stop: $(cat ckpts.txt)"
[ -e direct/final.h5 ] && fail "an interrupted run published final.h5"
mpirun -np 2 --oversubscribe --bind-to none "$shardnet" "${flags[@]}" --run-dir direct --resume >>direct.log 2>&1 ||
  fail "resume: $(tail -3 direct.log)"
identical whole/final.h5 direct/final.h5 "stopped after step $at by SIGTERM to rank $victim, resumed"

# 2. SIGTERM to the launcher: passed on as SIGUSR1 (mpirun would kill its ranks a second after a
# SIGTERM), the same exit status, no process left, and the same end after --resume.
"$shardnet" launch -n 2 -- "${flags[@]}" --run-dir launched >launched.log 2>launched.err &
job=$!
wait_for_training launched.log
kill -TERM $job
wait $job
status=$?
at=$(stopped_step launched.log)
echo "SIGTERM to launch: exit status $status, stopped after step ${at:-?}"
[ "$status" -eq 75 ] || fail "launch after SIGTERM: exit status $status, not 75: $(cat launched.err)"
grep -q "shardnet launch: SIGTERM: the job was asked to stop" launched.err || fail "launch said: $(cat launched.err)"
[ -n "$at" ] && [ "$at" -lt $steps ] || fail "launch: no stop inside the run: $(cat launched.log)"
sleep 0.5
pgrep -f "$shardnet train .*--run-dir launched" >/dev/null && fail "ranks outlived the launcher"
"$shardnet" launch -n 2 --max-restarts 2 -- "${flags[@]}" --run-dir launched --resume >>launched.log 2>&1 ||
  fail "launch resume: $(tail -3 launched.log)"
identical whole/final.h5 launched/final.h5 "stopped through launch after step $at, resumed"

# 3. One process: SIGINT stops it with a checkpoint; a second SIGINT exits at once (130), here
# within the step (of a second or more) the first one waits for.
sed 's/outputs = 768/outputs = 4096/' model.cfg >big.cfg
"$shardnet" "${common[@]}" -m big.cfg --batch 2000 --run-dir single >single.log 2>single.err &
job=$!
wait_for_training single.log
kill -INT $job
sleep 0.3  # (two SIGINTs pending at once would be delivered as one)
kill -INT $job
wait $job
status=$?
echo "two SIGINTs: exit status $status"
[ "$status" -eq 130 ] || fail "two SIGINTs: exit status $status, not 130: $(cat single.err)"
grep -q "second interrupt: exiting at once" single.err || fail "no second-interrupt line: $(cat single.err)"
"$shardnet" "${common[@]}" -m model.cfg --batch 256 --run-dir single1 >single1.log 2>single1.err &
job=$!
wait_for_training single1.log
kill -INT $job
wait $job
status=$?
[ "$status" -eq 75 ] || fail "one SIGINT: exit status $status, not 75: $(cat single1.err)"
grep -q "^stopped by SIGINT at epoch" single1.log || fail "one SIGINT: $(cat single1.log)"
finish
