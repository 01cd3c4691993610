#!/bin/sh
# compare.sh builds the LEMON driver and the Go solver, generates NETGEN-style
# and hub-shaped DIMACS instances, solves each with both (RUNS times,
# alternating, keeping the fastest solve and the largest peak memory), checks
# that the optimal costs agree, and prints a Markdown table.
#
# usage: bench/lemon/compare.sh [DIR]     (run from the module root)
# env:   RUNS (default 3), HUB (hub sizes, default "1000 10000 100000"),
#        NETGEN (family:nodes list, default "8:4096 8:16384 8:65536 sr:4096 deg:16384")
# needs: g++, LEMON headers (liblemon-dev), Go, /usr/bin/time (GNU time)
set -eu
DIR=${1:-$(mktemp -d)}
RUNS=${RUNS:-3}
HUB=${HUB:-"1000 10000 100000"}
NETGEN=${NETGEN:-"8:4096 8:16384 8:65536 sr:4096 deg:16384"}
mkdir -p "$DIR"
g++ -O2 -o "$DIR/lemon-solve" bench/lemon/driver.cpp
go build -o "$DIR/gen" ./bench/lemon/gen
go build -o "$DIR/gosolve" ./bench/lemon/gosolve

files=""
for spec in $NETGEN; do
	fam=${spec%%:*}; n=${spec#*:}
	f="$DIR/netgen-$fam-$n.min"
	[ -s "$f" ] || "$DIR/gen" -kind netgen -family "$fam" -n "$n" -o "$f" >/dev/null
	files="$files $f"
done
for p in $HUB; do
	f="$DIR/hub-$p.min"
	[ -s "$f" ] || "$DIR/gen" -kind hub -postings "$p" -o "$f" >/dev/null
	files="$files $f"
done

# run SOLVER FILE: prints "solve_seconds cost peak_kb"
run() {
	/usr/bin/time -f "mem %M" "$1" "$2" >"$DIR/out" 2>"$DIR/err" || true
	s=$(awk '$2=="solve_seconds"{print $3}' "$DIR/out")
	c=$(awk '$1=="s"{print $2}' "$DIR/out")
	m=$(awk '$1=="mem"{print $2}' "$DIR/err")
	echo "$s $c $m"
}

echo "| instance | nodes | arcs | Go solve s | LEMON solve s | Go/LEMON | Go peak MiB | LEMON peak MiB | costs agree |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for f in $files; do
	head=$(grep -m1 '^p ' "$f")
	nodes=$(echo "$head" | awk '{print $3}'); arcs=$(echo "$head" | awk '{print $4}')
	gbest=""; lbest=""; gmem=0; lmem=0; gcost=""; lcost=""
	i=0
	while [ $i -lt "$RUNS" ]; do
		set -- $(run "$DIR/gosolve" "$f"); gs=$1; gcost=$2; gm=$3
		set -- $(run "$DIR/lemon-solve" "$f"); ls=$1; lcost=$2; lm=$3
		gbest=$(awk -v a="$gbest" -v b="$gs" 'BEGIN{print (a==""||b+0<a+0)?b:a}')
		lbest=$(awk -v a="$lbest" -v b="$ls" 'BEGIN{print (a==""||b+0<a+0)?b:a}')
		[ "$gm" -gt "$gmem" ] && gmem=$gm
		[ "$lm" -gt "$lmem" ] && lmem=$lm
		i=$((i+1))
	done
	agree=no; [ "$gcost" = "$lcost" ] && agree=yes
	echo "$(basename "$f" .min) $nodes $arcs $gbest $lbest $gmem $lmem $agree" |
		awk '{printf "| %s | %d | %d | %.3f | %.3f | %.2f | %.1f | %.1f | %s |\n", $1, $2, $3, $4, $5, ($5>0?$4/$5:0), $6/1024, $7/1024, $8}'
done
