#!/usr/bin/env bash
# Side-by-side load test: the same redis-benchmark commands against VexLake
# (release build) and Debian's redis-server, in one session, on 127.0.0.1.
#
#   benches/redis_benchmark.sh [rounds]
#
# Both servers log every write and leave fsync to the OS (VexLake
# --appendfsync no; Redis --appendonly yes --appendfsync no, no RDB), so the
# comparison is of the request path; benches/durability.sh measures fsync
# policies. Each configuration is run `rounds` times (default 3),
# alternating servers, and the median is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
. benches/side_by_side.sh
echo
printf '%-8s %-10s %14s %14s %8s\n' test pipeline "vexlake rps" "redis rps" ratio
for P in 1 16; do
  for T in ping_mbulk set get; do
    tname=$T; [ "$T" = ping_mbulk ] && tname=ping
    v=(); r=()
    for _ in $(seq "$ROUNDS"); do
      v+=("$(redis-benchmark -p "$VPORT" -t "$tname" -n 200000 -c 50 -P "$P" --csv -q | grep -i "\"${T^^}\"" | head -1 | cut -d, -f2 | tr -d '"')")
      r+=("$(redis-benchmark -p "$RPORT" -t "$tname" -n 200000 -c 50 -P "$P" --csv -q | grep -i "\"${T^^}\"" | head -1 | cut -d, -f2 | tr -d '"')")
    done
    vm=$(printf '%s\n' "${v[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    rm_=$(printf '%s\n' "${r[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    printf '%-8s %-10s %14s %14s %8.2f\n' "$tname" "-P $P" "$vm" "$rm_" "$(echo "$vm / $rm_" | bc -l)"
  done
done
