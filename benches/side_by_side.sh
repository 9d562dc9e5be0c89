# Sourced by the side-by-side load scripts (redis_benchmark.sh,
# compat_bench.sh): builds the release server, starts VexLake and Debian's
# redis-server on free ports of 127.0.0.1 (both log every write and leave
# fsync to the OS), stops them on exit, and prints the machine. Sets
# VEXLAKE, VPORT, RPORT.
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
