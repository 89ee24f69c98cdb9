# free_port.bash: free_port prints a free TCP port on 127.0.0.1 (sourced by
# gateway_env.bash and container_env.bash). Not listening now; random to
# avoid clashes between tests running at once. Drawn below the kernel's
# ephemeral range (net.ipv4.ip_local_port_range, 32768+ by default), where
# outgoing connections of parallel tests (curl, nng dials, Redis clients)
# would otherwise take a port between this check and the bind.
free_port() {
    local p lo
    lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    [ "$lo" -gt 21000 ] || lo=32768
    while :; do
        p=$((20000 + RANDOM % (lo - 20000)))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
    done
}
