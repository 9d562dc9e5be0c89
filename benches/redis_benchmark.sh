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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vexlake-target}"
cargo build -q --release --bin vexlake
VEXLAKE="$CARGO_TARGET_DIR/release/vexlake"
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
