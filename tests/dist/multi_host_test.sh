#!/usr/bin/env bash
# Ranks on several hosts over TCP, with test hosts made of Linux namespaces on this machine
# (../shared/notes/multi-host-on-one-machine.md): a switch and hosts h0 (the launcher), h1 and h2,
# each with its own network, host name and mount namespace, in which <work>/node-local is that
# host's own disk. Open MPI "logs in" through an rsh agent that enters a host's namespaces.
#   (a) `shardnet launch --hostfile`: 2 ranks on h1 and h2 train 20 steps; the result equals one
#       process's within the equivalence tests' bound (1e-5 relative)
#   (b) a node-local run directory (the same path, different contents per host): 10 steps, then
#       --resume to 20: rank 1's host has no checkpoint, all ranks resume from rank 0's, and the
#       result is bitwise (a)'s
#   (c) h2's link cut mid-run with --stall-timeout 10: the job ends within 30 s, rank 0 naming
#       rank 1 and its host
# Skipped (exit 0 with a message) where network namespaces cannot be made.
set -u
source "$(dirname "$0")/../../scripts/netns_hosts.sh"
source "$(dirname "$0")/../data/common.sh" "$1"
prefix=sn$$
trap 'cleanup; delete_hosts $prefix' EXIT
if ! make_hosts "$prefix" "$work"; then
  echo "SKIPPED: cannot make network namespaces here ($(cat ns.err)); multi-host tests need root and CAP_SYS_ADMIN"
  exit 0
fi
printf '10.88.0.11 slots=1\n10.88.0.12 slots=1\n' >hostfile
read -r -a mca <<<"$(netns_mca "$work")"
launch=("$shardnet" launch -n 2 --hostfile hostfile --mca "${mca[@]}" --)

quadrant_data 2000
conv_model
common=(train -m model.cfg -d data.h5 --batch 64 --lr 0.05 --momentum 0.9)
flags=("${common[@]}" --epochs 3)

# (a) Two hosts through a hostfile, against one process.
"$shardnet" "${flags[@]}" --max-steps 20 --run-dir one >one.log 2>&1 || fail "1 process: $(tail -3 one.log)"
on_h0 "$prefix" "${launch[@]}" "${flags[@]}" --max-steps 20 --run-dir two-hosts >two.log 2>&1 || fail "2 hosts: $(tail -5 two.log)"
grep -q "^shardnet launch: mpirun .*--hostfile hostfile" two.log || fail "launch did not pass the hostfile: $(head -2 two.log)"
if "$shardnet" compare one/final.h5 two-hosts/final.h5 --tolerance 1e-5 >cmp.txt; then
  echo "ok: 2 hosts over TCP vs 1 process, 20 steps: $(tail -1 cmp.txt)"
else
  fail "2 hosts vs 1 process: $(cat cmp.txt)"
fi

# (b) A node-local run directory: only rank 0's host (h1) holds the checkpoints.
local_run=$work/node-local/run
on_h0 "$prefix" "${launch[@]}" "${flags[@]}" --max-steps 10 --run-dir "$local_run" >local.log 2>&1 || fail "10 steps: $(tail -5 local.log)"
ls disk-h1/run/checkpoints/*.h5 >/dev/null 2>&1 || fail "no checkpoint on h1's disk"
ls disk-h2/run/checkpoints/*.h5 >/dev/null 2>&1 && fail "h2's disk has checkpoints: the test would not test anything"
[ -e node-local/run ] && fail "the launcher host's node-local directory was written"
on_h0 "$prefix" "${launch[@]}" "${flags[@]}" --max-steps 20 --run-dir "$local_run" --resume >>local.log 2>&1 ||
  fail "resume on node-local disks: $(tail -5 local.log)"
grep -q "^resume: .*checkpoint-00000010.h5" local.log || fail "did not resume from step 10: $(cat local.log)"
identical two-hosts/final.h5 disk-h1/run/final.h5 "resumed with a checkpoint on rank 0's host only"

# (c) h2's link cut mid-run.
on_h0 "$prefix" "${launch[@]}" "${common[@]}" --epochs 100000 --stall-timeout 10 --stall-warning 3 --run-dir cut >cut.log 2>&1 &
job=$!
started_training cut.log
sleep 1
cut_at=$(date +%s.%N)
ip -n "$prefix-h2" link set eth0 down
wait $job
status=$?
took=$(echo "$(date +%s.%N) - $cut_at" | bc)
echo "link of h2 cut: the job ended after $took s with exit status $status"
[ "$status" -eq 70 ] || fail "link cut: exit status $status, not 70: $(grep -v '^epoch' cut.log | tail -5)"
[ "$(echo "$took < 30" | bc)" = 1 ] || fail "link cut: the job took $took s to end (limit 30)"
grep -q "^shardnet: stall: rank 1 (host $prefix-h2) has sent no heartbeat for 10\.[0-9] s" cut.log ||
  fail "link cut: rank 1 and its host not named: $(grep -v '^epoch' cut.log | tail -5)"
grep "^shardnet: stall: rank 1" cut.log
finish
