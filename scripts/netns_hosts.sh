# Sourced: test hosts made of Linux network namespaces on this machine, the recipe of
# ../shared/notes/multi-host-on-one-machine.md (a switch with a bridge; hosts h0, h1, h2 at
# 10.88.0.10-12, each with its own network, host name and mount namespace).
#   make_hosts PREFIX DIR   makes PREFIX-sw and PREFIX-h0..h2 and DIR/nsrsh, the rsh agent Open MPI
#                           "logs in" with: it enters a host's namespaces, names it PREFIX-hN, and
#                           mounts DIR/disk-hN over DIR/node-local (that host's own disk). Returns
#                           non-zero, with the reason in DIR/ns.err, where namespaces cannot be made.
#   delete_hosts PREFIX     removes them.
#   on_h0 PREFIX COMMAND... runs COMMAND on the launcher host h0.
#   netns_mca DIR           the `launch --mca` values that make mpirun use them.
make_hosts() {
  local prefix=$1 dir=$2 i=10 n
  ip netns add "$prefix-sw" 2>"$dir/ns.err" || return 1
  for n in h0 h1 h2; do ip netns add "$prefix-$n" || return 1; done
  for n in sw h0 h1 h2; do ip -n "$prefix-$n" link set lo up || return 1; done
  ip -n "$prefix-sw" link add br0 type bridge && ip -n "$prefix-sw" link set br0 up || return 1
  for n in h0 h1 h2; do
    ip link add "v$prefix$n" type veth peer name eth0 netns "$prefix-$n" &&
      ip link set "v$prefix$n" netns "$prefix-sw" &&
      ip -n "$prefix-sw" link set "v$prefix$n" master br0 &&
      ip -n "$prefix-sw" link set "v$prefix$n" up &&
      ip -n "$prefix-$n" addr add "10.88.0.$i/24" dev eth0 &&
      ip -n "$prefix-$n" link set eth0 up || return 1
    i=$((i + 1))
  done
  mkdir -p "$dir/node-local" "$dir/disk-h0" "$dir/disk-h1" "$dir/disk-h2"
  cat >"$dir/nsrsh" <<AGENT
#!/bin/sh
# nsrsh HOST CMD...: a "login" to test host 10.88.0.N: its namespaces, its host name, its disk.
host=\$1; shift
n=h\$(( \${host##*.} - 10 ))
exec ip netns exec "$prefix-\$n" unshare --uts --mount sh -c "hostname $prefix-\$n; mount --bind $dir/disk-\$n $dir/node-local; \$*"
AGENT
  chmod +x "$dir/nsrsh"
}
delete_hosts() { local n; for n in sw h0 h1 h2; do ip netns del "$1-$n" 2>/dev/null; done; }
on_h0() {
  local prefix=$1
  shift
  ip netns exec "$prefix-h0" unshare --uts sh -c "hostname $prefix-h0; exec \"\$@\"" sh "$@"
}
netns_mca() { echo "plm_rsh_agent=$1/nsrsh btl=tcp,self btl_tcp_if_include=eth0 oob_tcp_if_include=eth0"; }
