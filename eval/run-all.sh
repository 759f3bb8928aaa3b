#!/usr/bin/env bash
# eval/run-all.sh [run.py options, e.g. --seeds 2]: the evaluation harness on the three shipped
# datasets (flchain, lending_club, gss_cat), then eval/SUMMARY.md (the summary table for the
# README) regenerated with the date and this command.
#
# Uses the server PGHOST/PGPORT/PGUSER point at (the lipvae extension must be installed there),
# else starts one throw-away cluster with scripts/pgcluster.sh for the three runs and stops it.
# Installs the Debian Python packages it needs when they are missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(python3-numpy python3-scipy python3-sklearn python3-matplotlib python3-psycopg2)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "run-all: installing ${missing[*]}"
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo apt-get install -y "${missing[@]}" || { $sudo apt-get update && $sudo apt-get install -y "${missing[@]}"; }
fi

cluster=""
if [ -z "${PGHOST:-}${PGPORT:-}${PGUSER:-}" ]; then
	cluster=$(mktemp -d /tmp/lipvae-eval-all-XXXXXX)
	eval "$(bash scripts/pgcluster.sh start "$cluster")"
	trap 'bash scripts/pgcluster.sh stop "$cluster"; rm -rf "$cluster"' EXIT
	echo "run-all: throw-away cluster in $cluster"
fi

start=$(date +%s)
for ds in flchain lending_club gss_cat; do
	echo "run-all: $ds"
	/usr/bin/python3 eval/run.py --dataset "$ds" "$@"
done
cmd="bash eval/run-all.sh"
[ $# -gt 0 ] && cmd="$cmd $*"
/usr/bin/python3 eval/summarize.py --command "$cmd"
echo "run-all: done in $(($(date +%s) - start)) s; see eval/SUMMARY.md and eval/results/*/results.md"
