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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vexlake-target}"
cargo build -q --release --bin vexlake
VEXLAKE="$CARGO_TARGET_DIR/release/vexlake"
# The load tool uses only std: compiled on its own, it does not pull the
# package's dev-dependencies into a release build.
LOAD="$CARGO_TARGET_DIR/release/compat_load"
rustc --edition 2024 -O -o "$LOAD" examples/compat_load.rs
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TMP=$(mktemp -d)
VPORT=$(free_port); RPORT=$(free_port)
"$VEXLAKE" --port "$VPORT" --bind 127.0.0.1 --dir "$TMP/vexlake" --loglevel warning --appendfsync no &
VPID=$!
redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly yes --appendfsync no --daemonize no --loglevel warning >/dev/null &
RPID=$!
trap 'kill $VPID $RPID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for p in "$VPORT" "$RPORT"; do
  for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "redis-server: $(redis-server --version | cut -d' ' -f3)  vexlake: $("$VEXLAKE" --version)"
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
