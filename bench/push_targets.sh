#!/bin/bash
# Issue 16's whole table in one run: bench/run.sh (berth and
# docker-registry side by side: pushes of 1, 64 and 512 MiB by PUT and by
# PATCH, 4 KiB blobs with 1 and 16 clients, start to first 200, pulls,
# manifests, memory), then bench/ecr_vs_moto.py (the ECR API against
# moto_server, the no-regression rows), with the load of the machine
# before and after and the time the whole run took.  See bench/README.md.
#
# Usage: bench/push_targets.sh [-q] [-r reps]
#   -q   quick: run.sh -q and a short ECR pass (to try the script out)
#   -r   repetitions of run.sh's push and GET rows (default 3)
# The combined table goes to standard output and to
# bench/results/targets.txt; the environment of bench/run.sh applies.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
RESULTS=$here/results
quick=0
reps=3
while getopts qr: ch; do
	case $ch in
	q) quick=1 ;;
	r) reps=$OPTARG ;;
	*) echo "usage: bench/push_targets.sh [-q] [-r reps]" >&2; exit 2 ;;
	esac
done
ecr_seconds=3 ecr_repos=1000 runq=
[ $quick = 1 ] && { ecr_seconds=1 ecr_repos=200 runq=-q; }

start=$(date +%s)
load0=$(uptime)
mkdir -p "$RESULTS"
out=$RESULTS/targets.txt
ecr=$RESULTS/ecr.json
rm -f "$ecr"

echo "== bench/run.sh $runq -r $reps"
"$here/run.sh" $runq -r "$reps" >"$RESULTS/run.log" 2>&1 || {
	tail -20 "$RESULTS/run.log" >&2
	echo "push_targets.sh: bench/run.sh failed (log:" \
	    "$RESULTS/run.log)" >&2
	exit 1
}
echo "== bench/ecr_vs_moto.py --seconds $ecr_seconds --repos $ecr_repos"
python3 "$here/ecr_vs_moto.py" --seconds "$ecr_seconds" \
    --repos "$ecr_repos" --json "$ecr" >"$RESULTS/ecr.log" 2>&1 || {
	tail -20 "$RESULTS/ecr.log" >&2
	echo "push_targets.sh: ecr_vs_moto.py failed" >&2
}
load1=$(uptime)
elapsed=$(($(date +%s) - start))

{
	cat "$RESULTS/latest.txt"
	echo
	echo "The ECR API against moto_server (bench/ecr_vs_moto.py" \
	    "--seconds $ecr_seconds --repos $ecr_repos; not pinned)."
	echo "Targets: no regression from the issue's anchor (reads 43-97x" \
	    "moto, PutImage with wrk at 16 connections 52-55x); the rows" \
	    "of the two-thread Python client are bounded by the client."
	python3 - "$ecr" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("(no ECR figures: see bench/results/ecr.log)")
    sys.exit(0)
b, m = r.get("berth", {}), r.get("moto", {})
# The lowest ratio each row had in the issue's anchor run.
target = {"DescribeRepositories (wrk)": 43, "BatchGetImage (wrk)": 43,
          "ListImages (wrk)": 43, "PutImage (wrk)": 52}
fmt = "%-36s %12s %16s %9s %-18s %s"
print(fmt % ("metric", "berth", "moto", "ratio", "target", "status"))
for k, v in b.items():
    w = m.get(k)
    if k.endswith("ms"):
        q = w / v if w else None
        cells = ("%.2f" % v, "%.2f" % w if w else "-")
        label = "DescribeRepositories, " + k
    else:
        q = v / w if w else None
        cells = ("%.0f" % v, "%.0f" % w if w else "-")
        label = k + ", req/s"
    t = target.get(k)
    status = "-" if q is None or t is None else (
        "met" if q >= t else "MISSED")
    print(fmt % (label, cells[0], cells[1],
                 "%.1fx" % q if q else "-",
                 ">= %dx" % t if t else "", status))
EOF
	echo
	echo "load before: $load0"
	echo "load after:  $load1"
	echo "whole run: $((elapsed / 60)) min $((elapsed % 60)) s" \
	    "($(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo ?))"
} >"$out"
cat "$out"
