#!/usr/bin/env bash
# process_metrics.sh: every service's admin /metrics carries the standard
# process metrics and recsys_build_info, and passes `promtool check metrics`
# (Debian package prometheus) for all three services.
set -uo pipefail
source "$(dirname "$0")/gateway_env.bash"
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"
have_workers || skip "worker binaries not built"
start_redis
start_content
start_cf
start_gateway
wait_ready

# The workers were started with --admin-port 0: their log says which port.
admin_of() { grep -o '"admin_port":[0-9]*' "$T/$1.log" | head -1 | cut -d: -f2; }
for svc in gateway content cf; do
    case $svc in gateway) port=$GW_ADMIN ;; *) port=$(admin_of $svc) ;; esac
    [ -n "$port" ] || fail "$svc: admin port not found in its log"
    curl -sf "http://127.0.0.1:$port/metrics" >"$T/$svc.metrics" || fail "$svc: GET /metrics"
    out=$(promtool check metrics <"$T/$svc.metrics" 2>&1) || fail "$svc: promtool check metrics: $out"
    for m in process_cpu_seconds_total process_resident_memory_bytes process_open_fds process_max_fds \
        process_start_time_seconds; do
        v=$(awk -v m="$m" '$1 == m {print $2}' "$T/$svc.metrics")
        [ -n "$v" ] || fail "$svc: no $m"
        case $m in process_cpu_seconds_total) ;; *) awk -v v="$v" 'BEGIN{exit !(v > 0)}' || fail "$svc: $m = $v" ;; esac
    done
    grep -Eq '^recsys_build_info\{version="[^"]+",commit="[^"]+"\} 1$' "$T/$svc.metrics" ||
        fail "$svc: no recsys_build_info{version,commit} 1"
    rss=$(awk '$1 == "process_resident_memory_bytes" {print $2}' "$T/$svc.metrics")
    ok "$svc: process metrics present (rss $rss), promtool check metrics clean"
done
