#!/usr/bin/env bash
# Side-by-side load test of the Redis-compatibility paths: MULTI/EXEC of 3
# commands, EVALSHA of a small script, PUBLISH to 10 subscribers, each with
# 50 clients (examples/compat_load.rs), against VexLake (release build) and
# Debian's redis-server in one session on 127.0.0.1.
#
#   benches/compat_bench.sh [rounds] [requests]
#
# As benches/redis_benchmark.sh, both servers log every write and leave
# fsync to the OS (VexLake --appendfsync no; Redis --appendonly yes
# --appendfsync no, no RDB), so this compares the request path. Each mode
# runs `rounds` times (default 3), alternating servers; medians are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
REQUESTS="${2:-200000}"
. benches/side_by_side.sh
# The load tool uses only std: compiled on its own, it does not pull the
# package's dev-dependencies into a release build.
LOAD="$CARGO_TARGET_DIR/release/compat_load"
rustc --edition 2024 -O -o "$LOAD" examples/compat_load.rs
echo "50 clients, $REQUESTS requests per run, median of $ROUNDS"
echo
printf '%-8s %12s %12s %7s %10s %10s\n' mode "vexlake rps" "redis rps" ratio "vx p99 us" "rd p99 us"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
for MODE in evalsha multi publish; do
  v=(); r=(); vp=(); rp=()
  for _ in $(seq "$ROUNDS"); do
    out=$("$LOAD" --port "$VPORT" --mode "$MODE" --clients 50 --requests "$REQUESTS")
    v+=("$(echo "$out" | head -1 | field rps)"); vp+=("$(echo "$out" | head -1 | field p99_us)")
    [ "$MODE" = publish ] && echo "  vexlake: $(echo "$out" | tail -1)" >&2
    out=$("$LOAD" --port "$RPORT" --mode "$MODE" --clients 50 --requests "$REQUESTS")
    r+=("$(echo "$out" | head -1 | field rps)"); rp+=("$(echo "$out" | head -1 | field p99_us)")
    [ "$MODE" = publish ] && echo "  redis:   $(echo "$out" | tail -1)" >&2
  done
  mv=$(printf '%s\n' "${v[@]}" | median); mr=$(printf '%s\n' "${r[@]}" | median)
  mvp=$(printf '%s\n' "${vp[@]}" | median); mrp=$(printf '%s\n' "${rp[@]}" | median)
  printf '%-8s %12s %12s %7.2f %10s %10s\n' "$MODE" "$mv" "$mr" "$(echo "$mv / $mr" | bc -l)" "$mvp" "$mrp"
done
