#!/usr/bin/env bash
# The stall inspector with real ranks (dist/stall_inspector.h): SIGSTOP of rank 1 with
# --stall-timeout 10 ends the job within 20 s with exit status 70, rank 0 naming rank 1 and its host;
# a stopped rank 0 is named by rank 1 the same way; a rank blocked in a read (its process alive)
# is caught too; a healthy run under tight limits says nothing.
set -u
source "$(dirname "$0")/../data/common.sh" "$1"
probe=$(readlink -f "$2")
quadrant_data 2000
cat >model.cfg <<'CFG'
[input]   shape = 1,4,4
[dense]   outputs = 512
[relu]
[dense]   outputs = 10
[softmax_cross_entropy]
CFG
host=$(hostname)

# stop_rank RANK RUN_DIR TIMEOUT: starts a long 2-rank run with --stall-timeout TIMEOUT, SIGSTOPs
# RANK once training runs, and checks the job ends within TIMEOUT + 10 s of the stop with status
# 70; leaves the stderr in RUN_DIR.err.
stop_rank() {
  local rank=$1 dir=$2 timeout=$3 pid="" status
  mpirun -np 2 --oversubscribe --bind-to none "$shardnet" train -m model.cfg -d data.h5 --epochs 1000 --batch 64 \
    --stall-timeout "$timeout" --stall-warning 3 --run-dir "$dir" >"$dir.log" 2>"$dir.err" &
  local job=$!
  started_training "$dir.log"
  sleep 1
  pid=$(rank_pid "$shardnet train .*--run-dir $dir" "$rank")
  [ -n "$pid" ] || { fail "no rank $rank process found"; kill $job; return; }
  local stopped=$(date +%s.%N)
  kill -STOP "$pid"
  wait $job
  status=$?
  local took=$(echo "$(date +%s.%N) - $stopped" | bc)
  echo "rank $rank stopped: the job ended after $took s with exit status $status"
  [ "$status" -eq 70 ] || fail "stopped rank $rank: exit status $status, not 70: $(cat "$dir.err")"
  [ "$(echo "$took < $timeout + 10" | bc)" = 1 ] || fail "stopped rank $rank: the job took $took s to end (limit $timeout + 10)"
  sleep 0.5
  pgrep -f "$shardnet train .*--run-dir $dir" >/dev/null && { fail "a rank outlived the job"; pkill -9 -f "run-dir $dir"; }
}

stop_rank 1 stop1 10
grep -q "stall: rank 1 (host $host) has sent no heartbeat for 1[0-9]\.[0-9] s: it is stopped, hung or unreachable" \
  stop1.err || fail "rank 0 did not name rank 1 and its host: $(cat stop1.err)"
grep -q "warning: stall: rank 1 (host $host) has sent no heartbeat for 3\.[0-9] s" stop1.err ||
  fail "no warning at --stall-warning 3: $(cat stop1.err)"
grep "stall: rank 1 (host $host) has sent no heartbeat for 1" stop1.err
grep -q "no reply from rank 0" stop1.err && fail "stopped rank 1 blamed rank 0 once continued: $(cat stop1.err)"

stop_rank 0 stop0 5
grep -q "stall: rank 1 (host $host): no reply from rank 0 (host $host) for [5-9]\.[0-9] s" stop0.err ||
  fail "rank 1 did not name rank 0: $(cat stop0.err)"
grep "stall: rank 1 (host $host): no reply" stop0.err

# A rank whose process runs but whose data read never returns.
start=$(date +%s.%N)
mpirun -np 2 --oversubscribe --bind-to none "$probe" blocked-read >blocked.log 2>blocked.err
status=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
echo "blocked read: exit status $status after $took s"
[ "$status" -eq 70 ] || fail "blocked read: exit status $status, not 70: $(cat blocked.err)"
grep -q "stall: rank 1 (host $host) has entered no collective for [4-9]\.[0-9] s while rank(s) 0 wait in collective #[0-9]*; it is alive" \
  blocked.err || fail "blocked read: rank 1 not named as alive but blocked: $(cat blocked.err)"
grep "stall: rank 1" blocked.err | tail -1

# A healthy run under the same tight limits (1 s warning, 4 s timeout): no stall line, heartbeats seen.
mpirun -np 2 --oversubscribe --bind-to none "$probe" healthy >healthy.log 2>healthy.err ||
  fail "healthy run failed: $(cat healthy.err)"
grep -q stall healthy.err && fail "healthy run reported a stall: $(cat healthy.err)"
beats=$(sed -n 's/^heartbeats received by rank 0: //p' healthy.log)
echo "healthy run: $beats heartbeats received by rank 0"
# One heartbeat from rank 1 every 1/8 of the shortest limit (here 0.125 s): a thread that sends
# faster is spinning, and costs the training loop a core.
[ "${beats:-0}" -gt 10 ] || fail "healthy run: rank 0 received ${beats:-no} heartbeats"
[ "${beats:-0}" -lt 60 ] || fail "healthy run: rank 0 received $beats heartbeats in about 3 s: the heartbeat thread spins"
finish
