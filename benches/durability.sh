#!/usr/bin/env bash
# Write throughput under each fsync policy, 50 clients, no pipelining:
# SET against VexLake and Debian's redis-server (AOF on, same policy), and
# VADD against VexLake (Debian's Redis has no vector sets). Release build.
#
#   benches/durability.sh [rounds]
#
# Each configuration runs `rounds` times (default 3); medians are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
N="${N:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vexlake-target}"
cargo build -q --release --bin vexlake
VEXLAKE="$CARGO_TARGET_DIR/release/vexlake"
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
TMP=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
wait_port() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done; }

rps() { # port, redis-benchmark args...
  local p=$1; shift
  redis-benchmark -p "$p" -c 50 -n "$N" --csv -q "$@" | tail -1 | cut -d, -f2 | tr -d '"'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); disk: $(df -h "$TMP" | tail -1 | awk '{print $1}')"
echo "redis-server: $(redis-server --version | cut -d' ' -f3)  vexlake: $("$VEXLAKE" --version)"
printf '%-9s %-8s %14s %14s %8s\n' policy test "vexlake rps" "redis rps" ratio
for policy in always everysec; do
  VPORT=$(free_port); RPORT=$(free_port)
  "$VEXLAKE" --port "$VPORT" --dir "$TMP/v-$policy" --appendfsync "$policy" --loglevel warning &
  PIDS+=($!)
  redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$TMP" --appendfilename "r-$policy.aof" \
    --appenddirname "aof-$policy" --save '' --appendonly yes --appendfsync "$policy" --daemonize no \
    --loglevel warning >/dev/null &
  PIDS+=($!)
  wait_port "$VPORT"; wait_port "$RPORT"
  v=(); r=(); a=()
  for _ in $(seq "$ROUNDS"); do
    v+=("$(rps "$VPORT" -t set -r 1000000)")
    r+=("$(rps "$RPORT" -t set -r 1000000)")
    a+=("$(rps "$VPORT" -r 1000000 VADD vset VALUES 4 __rand_int__ 1 2 3 e:__rand_int__)")
  done
  vm=$(printf '%s\n' "${v[@]}" | median); rm_=$(printf '%s\n' "${r[@]}" | median)
  am=$(printf '%s\n' "${a[@]}" | median)
  printf '%-9s %-8s %14s %14s %8.2f\n' "$policy" SET "$vm" "$rm_" "$(echo "$vm / $rm_" | bc -l)"
  printf '%-9s %-8s %14s %14s %8s\n' "$policy" VADD "$am" "-" "-"
done
