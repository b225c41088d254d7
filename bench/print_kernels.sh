#!/usr/bin/env bash
# The CPU and the BLAS kernel on each side of a comparison (a ratio is only quoted for the same kernel):
#   bench/print_kernels.sh SHARDNET
set -euo pipefail
cd "$(dirname "$0")/.."
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /CPU: /'
printf '[input] shape = 4\n[dense] outputs = 2\n[mse]\n' >"${TMPDIR:-/tmp}/print_kernels.cfg"
echo "shardnet BLAS: $("$1" time -m "${TMPDIR:-/tmp}/print_kernels.cfg" -n 1 --warmup 0 --reference-gemm 0 2>&1 |
  sed -n 's/.*rank(s), \(.*\), 1 steps timed.*/\1/p')"
/usr/bin/python3 bench/torch_blas.py
