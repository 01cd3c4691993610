#!/bin/sh
# full.sh PLENTY DATA: copy DATA (a data folder without state snapshots)
# to a temporary folder, start `plenty serve` on the copy, which then folds
# every event, and print the seconds to /healthz, the CPU time (user+sys)
# and the VmRSS once healthy; then kill -9 it and remove the copy.
set -eu
plenty=$1 src=$2 port=$((30000 + $$ % 20000))
d=$(mktemp -d)
cp -r "$src"/. "$d"/
t0=$(date +%s.%N)
"$plenty" serve --data "$d" --addr "127.0.0.1:$port" >"$d.log" 2>&1 &
pid=$!
until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do sleep 0.1; done
t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' /proc/$pid/stat)
echo "full replay: $(echo "$t1 - $t0" | bc) s to /healthz, CPU ${cpu} s, VmRSS $((rss / 1024)) MB"
kill -9 $pid; wait $pid 2>/dev/null || true
grep 'opened the ledger' "$d.log" || true
rm -rf "$d" "$d.log"
