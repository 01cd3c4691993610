#!/bin/sh
# restart.sh PLENTY DATA [ROUNDS]: start `plenty serve` on DATA, wait for
# /healthz, kill -9 it, and time ROUNDS restarts to /healthz, printing each
# restart's seconds, the CPU time the process used until then (user+sys:
# the figure that moves least on a shared machine) and its resident memory
# (VmRSS) once healthy.
set -eu
plenty=$1 data=$2 rounds=${3:-3}
port=$((20000 + $$ % 20000))
wait_healthy() {
	i=0
	until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 6000 ]; then echo "not healthy after 60 s" >&2; exit 1; fi
		sleep 0.01
	done
}
start() {
	"$plenty" serve --data "$data" --addr "127.0.0.1:$port" >>"$data.log" 2>&1 &
	pid=$!
}
start
wait_healthy
kill -9 $pid; wait $pid 2>/dev/null || true
r=0
while [ $r -lt "$rounds" ]; do
	t0=$(date +%s.%N)
	start
	wait_healthy
	t1=$(date +%s.%N)
	rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' /proc/$pid/stat)
	echo "restart $r: $(echo "$t1 - $t0" | bc) s to /healthz, CPU ${cpu} s, VmRSS $((rss / 1024)) MB"
	kill -9 $pid; wait $pid 2>/dev/null || true
	r=$((r + 1))
done
