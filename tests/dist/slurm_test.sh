#!/usr/bin/env bash
# A real Slurm (Debian's slurm-wlm and munge, started here with a configuration of the test's own:
# one node, this machine, 2 CPUs): examples/slurm/train.sbatch as a 2-task job, which runs
# `shardnet launch` in the allocation (srun starts the tasks); `scancel --full --signal=TERM`
# mid-run; the job ends with exit status 75 after a checkpoint; the same sbatch again continues it,
# and its final parameters are bitwise those of an undisturbed job.
# Skipped (exit 0, with the reason) when Slurm is not installed or its daemons cannot start here.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"
script=$(readlink -f "$(dirname "$0")/../../examples/slurm/train.sbatch")
for tool in munged slurmctld slurmd sbatch scancel squeue scontrol; do
  command -v $tool >/dev/null || { echo "SKIPPED: $tool is not installed (Debian: slurm-wlm munge)"; exit 0; }
done
daemons=()
stop_daemons() { for pid in "${daemons[@]}"; do kill "$pid" 2>/dev/null; done; }
trap 'stop_daemons; cleanup' EXIT
node=$(hostname)
port=$((20000 + ($$ % 10000) * 2))
mkdir -p slurm/state slurm/spool
head -c 1024 /dev/urandom >munge.key && chmod 600 munge.key
munged --force --socket="$work/munge.sock" --key-file="$work/munge.key" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed" || { echo "SKIPPED: munged: $(tail -2 munged.log)"; exit 0; }
daemons+=("$(cat munged.pid)")
cat >slurm.conf <<CONF
ClusterName=shardnettest
SlurmctldHost=$node
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/slurm/state
SlurmdSpoolDir=$work/slurm/spool
SlurmctldPidFile=$work/slurm/slurmctld.pid
SlurmdPidFile=$work/slurm/slurmd.pid
SlurmctldLogFile=$work/slurm/slurmctld.log
SlurmdLogFile=$work/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AuthType=auth/munge
AuthInfo=socket=$work/munge.sock
CredType=cred/munge
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=pmix
KillWait=30
NodeName=$node CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -f "$SLURM_CONF" && slurmd -f "$SLURM_CONF" ||
  { echo "SKIPPED: the Slurm daemons do not start here: $(tail -3 slurm/slurmctld.log slurm/slurmd.log 2>/dev/null)"; exit 0; }
for _ in $(seq 100); do [ -s slurm/slurmctld.pid ] && [ -s slurm/slurmd.pid ] && break; sleep 0.1; done
daemons+=("$(cat slurm/slurmctld.pid)" "$(cat slurm/slurmd.pid)")
for _ in $(seq 100); do sinfo -h -o %t 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %t | grep -q idle ||
  { echo "SKIPPED: the Slurm node never became idle: $(sinfo 2>&1; tail -3 slurm/slurmd.log)"; exit 0; }
echo "Slurm $(sinfo --version | cut -d' ' -f2) up: node $node, 2 CPUs"

quadrant_data 2000
wide_mlp_model
export SHARDNET=$shardnet OPENBLAS_NUM_THREADS=1
steps=600
[ "${SHARDNET_SANITIZED:-0}" = 1 ] && steps=200  # under the sanitizers: still seconds, so scancel lands mid-run
flags=(-m model.cfg -d data.h5 --epochs 100 --batch 256 --lr 0.02 --momentum 0.9 --max-steps $steps)
# exit_code JOB: the job's exit status as Slurm recorded it.
exit_code() { scontrol show job "$1" | sed -n 's/.* ExitCode=\([0-9]*\):.*/\1/p'; }

# An undisturbed job.
sbatch --wait -o whole.out "$script" "${flags[@]}" --run-dir whole >/dev/null ||
  fail "undisturbed job: $(tail -5 whole.out)"
grep -q "^shardnet launch: srun --mpi=pmix .*--export=ALL,OPENBLAS_NUM_THREADS=1 $shardnet train" whole.out ||
  fail "launch did not start the tasks with srun: $(head -3 whole.out)"
grep -q "batch 256 over 2 rank(s)" whole.out || fail "not 2 ranks: $(head -3 whole.out)"

# The same job, cancelled with SIGTERM to all its processes mid-run, then submitted again.
job=$(sbatch --parsable -o cut.out "$script" "${flags[@]}" --run-dir cut)
started_training cut.out
sleep 0.$((RANDOM % 9 + 1))
scancel --full --signal=TERM "$job"
for _ in $(seq 600); do [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break; sleep 0.1; done
status=$(exit_code "$job")
stopped=$(grep '^stopped' cut.out)
echo "scancel --full --signal=TERM: job $job ended with exit status $status: $stopped"
[ "$status" = 75 ] || fail "the cancelled job's exit status is ${status:-unknown}, not 75: $(tail -8 cut.out)"
[ -n "$stopped" ] || fail "no stop line: $(tail -8 cut.out)"
[ -e cut/final.h5 ] && fail "the stopped job published final.h5"
sbatch --wait -o cut.out "$script" "${flags[@]}" --run-dir cut >/dev/null || fail "resubmitted job: $(tail -5 cut.out)"
grep -q "^resume: .*checkpoint-" cut.out || fail "the resubmitted job did not resume: $(tail -5 cut.out)"
identical whole/final.h5 cut/final.h5 "cancelled and resubmitted vs undisturbed"
finish
