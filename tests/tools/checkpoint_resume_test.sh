#!/usr/bin/env bash
# Checkpoints through the shardnet tool with real ranks: an interrupted and resumed run is the same
# run (bitwise at the same rank count; within 1e-5 relative at another), a corrupt newest checkpoint
# falls back to the previous one, and the launcher restarts a job whose rank was killed.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"
quadrant_data 2000
conv_model

# train RANKS RUN_DIR MAX_STEPS [flags...]
train() {
  local ranks=$1 dir=$2 steps=$3; shift 3
  "$shardnet" launch -n "$ranks" -- train -m model.cfg -d data.h5 --epochs 3 --batch 64 --max-steps "$steps" \
    --checkpoint-every 7 --run-dir "$dir" "$@" >"$dir.log" 2>&1 || fail "train $ranks ranks $dir: $(tail -3 "$dir.log")"
}

# 1. 2k steps in one go vs k, stop, resume, k more (k = 40 crosses the 31-step epoch), bitwise.
sgd="--optimizer sgd --lr 0.05 --momentum 0.9" adam="--optimizer adam --lr 0.002"
runs=("1 $sgd" "1 $adam" "2 $sgd" "2 $adam")
# The sanitizers check memory: one optimizer per rank count runs every code path there.
[ "${SHARDNET_SANITIZED:-0}" = 1 ] && runs=("1 $sgd" "2 $adam")
for run in "${runs[@]}"; do
  read -r ranks opt <<<"$run"
  name=$(echo "$opt" | cut -d' ' -f2)
  train "$ranks" "whole-$ranks-$name" 80 $opt
  train "$ranks" "split-$ranks-$name" 40 $opt
  train "$ranks" "split-$ranks-$name" 80 $opt --resume
  grep -q "^resume: .*checkpoint-00000040.h5" "split-$ranks-$name.log" || fail "did not resume from step 40"
  identical "whole-$ranks-$name/final.h5" "split-$ranks-$name/final.h5" "$ranks rank(s), $name: 80 steps vs 40 + 40"
done

# Lookahead's slow weights travel in the checkpoint: resumed from step 70 (not a sync step of every
# 6), the run is the uninterrupted one only if its average does not restart from the fast weights.
lookahead="--optimizer nesterov --lr 0.05 --lookahead 6 --lookahead-alpha 0.4 --lookahead-ramp cubic"
train 2 whole-2-lookahead 80 $lookahead
[ -f whole-2-lookahead/checkpoints/checkpoint-00000070.h5 ] || fail "no checkpoint at step 70: $(ls whole-2-lookahead)"
train 2 from70-2-lookahead 80 $lookahead --resume whole-2-lookahead/checkpoints/checkpoint-00000070.h5
identical whole-2-lookahead/final.h5 from70-2-lookahead/final.h5 "2 ranks, lookahead: 80 steps vs resumed at 70"

# 2. Saved at 4 ranks, resumed at 2 and at 1: within 1e-5 of the uninterrupted 4-rank run.
opt="--optimizer sgd --lr 0.05 --momentum 0.9"
train 4 whole-4 80 $opt
resume_ranks="2 1"
[ "${SHARDNET_SANITIZED:-0}" = 1 ] && resume_ranks=2  # the same code path; release checks both
for ranks in $resume_ranks; do
  train 4 "from4-to$ranks" 40 $opt
  train "$ranks" "from4-to$ranks" 80 $opt --resume
  if "$shardnet" compare whole-4/final.h5 "from4-to$ranks/final.h5" --tolerance 1e-5 >cmp.txt; then
    echo "ok: saved at 4 ranks, resumed at $ranks: $(tail -1 cmp.txt)"
  else
    fail "saved at 4 ranks, resumed at $ranks: $(tail -1 cmp.txt)"
  fi
done

# 3. A corrupt newest checkpoint: reported, and --resume falls back to the one before.
train 1 corrupt 40 $opt
newest=$(ls corrupt/checkpoints/checkpoint-*.h5 | sort | tail -1)
head -c 3000 "$newest" >cut.h5 && mv cut.h5 "$newest"
train 1 corrupt 80 $opt --resume
grep -q "warning: cannot resume from $newest" corrupt.log || fail "no warning about $newest: $(cat corrupt.log)"
grep -q "^resume: .*checkpoint-00000035.h5" corrupt.log || fail "did not fall back to step 35: $(grep resume corrupt.log)"
identical whole-1-sgd/final.h5 corrupt/final.h5 "corrupt newest checkpoint, resumed from the previous"

# 4. A resume that would not continue the same run: an error naming the field and both values,
# and the run directory untouched. Epochs, max steps, threads and the rank count may change.
train 1 changed 40 $opt
before=$(ls changed/checkpoints)
refuse() {  # what expected-message flags...
  local what=$1 expected=$2; shift 2
  if "$shardnet" train -m "${model:-model.cfg}" -d data.h5 --epochs 3 --batch "${batch:-64}" --max-steps 80 --checkpoint-every 7 \
      --run-dir changed --resume "$@" >refused.log 2>&1; then
    fail "resume with $what was accepted"
  elif grep -q -- "$expected" refused.log && [ "$(grep -c 'error' refused.log)" = 1 ]; then
    echo "ok: resume with $what refused: $(grep error refused.log)"
  else
    fail "resume with $what: expected '$expected', got: $(cat refused.log)"
  fi
}
refuse "another seed" "seed: 1 in the checkpoint, 2 now" $opt --seed 2
refuse "another optimizer" "optimizer: sgd in the checkpoint, adam now" --optimizer adam --lr 0.05 --momentum 0.9
refuse "another learning rate" "lr: 0.05 in the checkpoint, 0.1 now" --optimizer sgd --lr 0.1 --momentum 0.9
batch=32 refuse "another batch" "batch: 64 in the checkpoint, 32 now" $opt
sed 's/outputs = 16/outputs = 12/' model.cfg >other.cfg
model=other.cfg refuse "another model" "model: line 5: '\[dense\]   outputs = 16' in the checkpoint, '\[dense\]   outputs = 12' now" $opt
[ "$(ls changed/checkpoints)" = "$before" ] || fail "a refused resume changed the checkpoints"
"$shardnet" launch -n 2 -- train -m model.cfg -d data.h5 --epochs 4 --batch 64 --max-steps 60 --checkpoint-every 7 \
  --run-dir changed --resume $opt --threads 1 >allowed.log 2>&1 \
  && grep -q "^resume: " allowed.log && echo "ok: resumed with more epochs, another step limit, threads and rank count" \
  || fail "a resume changing only resumable fields failed: $(tail -3 allowed.log)"

# 5. The launcher restarts a job whose rank was killed, and it ends as an undisturbed run would.
long="--epochs 40 --batch 40 --checkpoint-every 25 --optimizer sgd --lr 0.05 --momentum 0.9"
"$shardnet" launch -n 2 -- train -m model.cfg -d data.h5 $long --run-dir undisturbed >undisturbed.log 2>&1 \
  || fail "undisturbed run: $(tail -3 undisturbed.log)"
"$shardnet" launch -n 2 --max-restarts 1 -- train -m model.cfg -d data.h5 $long --run-dir "$work/recovered" \
  >recovered.log 2>&1 &
launcher=$!
for _ in $(seq 1 300); do [ -s "$work/recovered/metrics.csv" ] && break; sleep 0.05; done
victim=$(rank_pid "run-dir $work/recovered" 1)
[ -n "$victim" ] && kill -9 "$victim" || fail "could not find rank 1 to kill"
wait $launcher || fail "the restarted job failed: $(tail -5 recovered.log)"
grep -q "restart 1 of 1 from the latest checkpoint" recovered.log || fail "no restart announced: $(cat recovered.log)"
grep -q "^resume: " recovered.log || fail "the restart did not resume"
if "$shardnet" compare undisturbed/final.h5 recovered/final.h5 --tolerance 1e-5 >cmp.txt; then
  echo "ok: killed rank, restarted: $(tail -1 cmp.txt) ($(grep -m1 '^resume' recovered.log))"
else
  fail "recovered run differs: $(tail -1 cmp.txt)"
fi

# 6. Resuming from an older checkpoint abandons the newer ones: they are moved aside (not deleted),
# the keep-newest pruning and a later --resume see only this run's, and the run ends as a straight
# one does. What an interrupted write left (*.tmp) is removed.
train 1 branch 80 $opt --keep-checkpoints 20
train 1 straight 60 $opt
touch branch/checkpoints/checkpoint-00000099.h5.tmp branch/final.h5.tmp
train 1 branch 60 $opt --keep-checkpoints 20 --resume branch/checkpoints/checkpoint-00000042.h5
grep -q "moved branch/checkpoints/checkpoint-00000080.h5 to branch/checkpoints/abandoned-at-42" branch.log ||
  fail "the abandoned checkpoint 80 was not moved aside: $(cat branch.log)"
[ -e branch/checkpoints/abandoned-at-42/checkpoint-00000049.h5 ] || fail "checkpoint 49 not kept aside"
newest=$(ls branch/checkpoints/checkpoint-*.h5 | sort | tail -1)
[ "$newest" = branch/checkpoints/checkpoint-00000060.h5 ] || fail "newest checkpoint after the branch run: $newest"
for stale in branch/checkpoints/checkpoint-00000099.h5.tmp branch/final.h5.tmp; do
  [ -e "$stale" ] && fail "$stale was left"
  grep -q "removed $stale, left by an interrupted write" branch.log || fail "no line about $stale"
done
identical straight/final.h5 branch/final.h5 "resumed from step 42 of an 80-step run, on to 60"
train 1 branch 70 $opt --keep-checkpoints 20 --resume
grep -q "^resume: .*checkpoint-00000060.h5" branch.log || fail "a later --resume took the abandoned branch: $(grep resume branch.log)"

# 7. launch --max-restarts restarts neither a usage error nor a diverged run.
"$shardnet" launch -n 2 --max-restarts 2 -- train -m model.cfg -d data.h5 --no-such-flag >usage.log 2>&1
status=$?
[ "$status" = 2 ] || fail "usage error through launch: exit status $status"
grep -q "restart 1" usage.log && fail "a usage error was restarted: $(cat usage.log)"
grep -q "not restarted: a restart cannot help" usage.log || fail "no word on not restarting: $(cat usage.log)"
"$shardnet" launch -n 2 --max-restarts 2 -- train -m model.cfg -d data.h5 --lr 1e30 --max-steps 50 --run-dir diverged \
  >diverged.log 2>&1
status=$?
[ "$status" = 65 ] || fail "diverged run through launch: exit status $status, not 65: $(tail -3 diverged.log)"
grep -q "restart 1" diverged.log && fail "a diverged run was restarted"
echo "ok: launch --max-restarts: usage error exit 2, diverged run exit 65, neither restarted"

# 8. Exact mode: 1, 3 and 4 ranks train bitwise the same run (a model with SyncBN and dropout; batch
# 96 in grains of 8 is whole grains at each), and a run saved at 4 ranks and resumed at 3 or at 1 is
# bitwise the uninterrupted 4-rank run; the loss and accuracy columns of metrics.csv are identical.
cat >exact.cfg <<'CFG'
[input]     shape = 1,4,4
[conv]      filters = 8  size = 3  pad = 1
[batchnorm]
[relu]
[maxpool]   size = 2
[dense]     outputs = 16
[dropout]   rate = 0.2
[relu]
[dense]     outputs = 10
[softmax_cross_entropy]
CFG
exact_train() {  # ranks run-dir max-steps [flags...]
  local ranks=$1 dir=$2 steps=$3; shift 3
  "$shardnet" launch -n "$ranks" -- train -m exact.cfg -d data.h5 --test data.h5 --epochs 3 --batch 96 --exact-grain 8 \
    --max-steps "$steps" --optimizer adam --lr 0.003 --run-dir "$dir" "$@" >"$dir.log" 2>&1 ||
    fail "exact train $ranks ranks $dir: $(tail -3 "$dir.log")"
}
scores() { cut -d, -f4-7,11,12 "$1/metrics.csv"; }  # train/test/val loss and accuracy
exact_train 4 exact-4 50
grep -q "^exact mode: grains of 8 samples" exact-4.log || fail "no exact-mode line: $(head -5 exact-4.log)"
exact_ranks="1 3"
[ "${SHARDNET_SANITIZED:-0}" = 1 ] && exact_ranks=3  # the sanitizers check memory; release checks both counts
for ranks in $exact_ranks; do
  exact_train "$ranks" "exact-$ranks" 50
  identical exact-4/final.h5 "exact-$ranks/final.h5" "exact mode: $ranks rank(s) vs 4, 50 steps"
  [ "$(scores exact-4)" = "$(scores "exact-$ranks")" ] || fail "exact mode: metrics.csv scores differ at $ranks ranks"
  exact_train 4 "exact-4to$ranks" 20  # an epoch's end: metrics.csv gets the same rows
  exact_train "$ranks" "exact-4to$ranks" 50 --resume
  identical exact-4/final.h5 "exact-4to$ranks/final.h5" "exact mode: saved at 4 ranks after 20 steps, resumed at $ranks"
  [ "$(scores exact-4)" = "$(scores "exact-4to$ranks")" ] || fail "exact mode: resumed metrics.csv scores differ"
done
exact_train 1 exact-1-threads2 50 --threads 2
identical exact-4/final.h5 exact-1-threads2/final.h5 "exact mode: 1 rank x 2 threads vs 4 ranks x 1 thread"
[ "$(grep -c . exact-4/metrics.csv)" = 4 ] || fail "exact-4/metrics.csv has not 3 epochs: $(cat exact-4/metrics.csv)"
# Another BLAS kernel (OPENBLAS_CORETYPE=Prescott, the generic one every x86-64 CPU runs) on one
# rank, or in the run that resumes, is reported: its grains may round differently.
mpirun --allow-run-as-root -np 1 -x OPENBLAS_CORETYPE=Prescott "$shardnet" train -m exact.cfg -d data.h5 --batch 96 \
  --exact-grain 8 --max-steps 5 --run-dir mixed : -np 1 "$shardnet" train -m exact.cfg -d data.h5 --batch 96 \
  --exact-grain 8 --max-steps 5 --run-dir mixed >mixed.log 2>&1 || fail "mixed kernels: $(tail -3 mixed.log)"
grep -q "warning: exact mode: rank 0 runs BLAS kernel Prescott but rank 1 " mixed.log ||
  fail "no warning about the ranks' kernels: $(grep -i kernel mixed.log)"
OPENBLAS_CORETYPE=Prescott "$shardnet" train -m exact.cfg -d data.h5 --batch 96 --exact-grain 8 --max-steps 5 \
  --run-dir kernel >kernel.log 2>&1 || fail "Prescott run: $(tail -3 kernel.log)"
"$shardnet" train -m exact.cfg -d data.h5 --batch 96 --exact-grain 8 --max-steps 10 --run-dir kernel --resume \
  >kernel.log 2>&1 || fail "resume on another kernel: $(tail -3 kernel.log)"
grep -q "warning: exact mode: .* was written by a run on BLAS kernel Prescott, this one runs" kernel.log ||
  fail "no warning about the checkpoint's kernel: $(cat kernel.log)"
# Normal mode at 3 ranks is not bitwise the 4-rank run: the comparison above can tell.
"$shardnet" launch -n 3 -- train -m exact.cfg -d data.h5 --epochs 3 --batch 96 --max-steps 50 --optimizer adam \
  --lr 0.003 --run-dir normal-3 >normal-3.log 2>&1 || fail "normal-mode run: $(tail -3 normal-3.log)"
"$shardnet" compare exact-4/final.h5 normal-3/final.h5 | grep -q "bitwise identical" && fail "normal mode was bitwise too"

finish
