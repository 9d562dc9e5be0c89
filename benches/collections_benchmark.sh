#!/usr/bin/env bash
# Side-by-side load test of the collection commands: redis-benchmark's
# list, set, hash, sorted-set and MSET tests against VexLake (release build)
# and Debian's redis-server, in one session, on 127.0.0.1.
#
#   benches/collections_benchmark.sh [rounds] [tests]
#
# tests defaults to redis-benchmark's
# lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_600,mset.
# As benches/redis_benchmark.sh, both servers log every write and leave
# fsync to the OS. Each round runs every test with -n 200000 -c 50, without
# and with -P 16, on VexLake then Redis; the median of `rounds` (default 3)
# is printed per test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
TESTS="${2:-lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_600,mset}"
. benches/side_by_side.sh
OUT=$(mktemp -d)
for P in 1 16; do
  for i in $(seq "$ROUNDS"); do
    for who in vexlake redis; do
      port=$VPORT; [ "$who" = redis ] && port=$RPORT
      redis-cli -p "$port" flushall >/dev/null
      redis-benchmark -p "$port" -t "$TESTS" -n 200000 -c 50 -P "$P" --csv -q > "$OUT/$who-$P-$i.csv"
    done
  done
done
python3 - "$OUT" "$ROUNDS" <<'EOF'
import csv, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def load(who, p):
    runs = []
    for i in range(1, rounds + 1):
        with open(f"{out}/{who}-{p}-{i}.csv") as f:
            rows = list(csv.reader(f))
        runs.append({r[0].split(" (")[0]: float(r[1]) for r in rows[1:] if len(r) > 1})
    return {t: statistics.median(run[t] for run in runs) for t in runs[0]}
print(f"{'test':<12} {'pipeline':<8} {'vexlake rps':>12} {'redis rps':>12} {'ratio':>6}")
for p in (1, 16):
    v, r = load("vexlake", p), load("redis", p)
    for t in v:
        if t in r:
            print(f"{t:<12} {'-P ' + str(p):<8} {v[t]:>12,.0f} {r[t]:>12,.0f} {v[t] / r[t]:>6.2f}")
EOF
rm -rf "$OUT"
