#!/usr/bin/env bash
# run.sh [--quick] [--install]: builds and runs every lipvae benchmark, prints
# one table of ratios and writes bench/RESULTS.md (see docs/bench.md).
#
#   bash bench/run.sh            full run, about 15-20 minutes on 2 cores
#   bash bench/run.sh --quick    about 2 minutes: 10^4 rows only, no 10^6-row
#                                training, sampling 10^5 rows only
#   --install                    `make install` the extension first (root);
#                                otherwise the installed build is measured
#
# Needs: gcc, libopenblas-dev, postgresql-server-dev-15, Debian's
# python3-torch (installed with apt-get when missing). The PostgreSQL part
# uses PGHOST/PGPORT/PGUSER when PGHOST is set, else a throw-away cluster.
# Logs go to $BENCH_LOGDIR (default /tmp/lipvae-bench-logs).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=0
install=0
args="$*"
for a in "$@"; do
	case "$a" in
	--quick) quick=1 ;;
	--install) install=1 ;;
	*) echo "usage: $0 [--quick] [--install]" >&2; exit 2 ;;
	esac
done
logdir=${BENCH_LOGDIR:-/tmp/lipvae-bench-logs}
rm -rf "$logdir"
mkdir -p "$logdir"
t_start=$(date +%s)

# ---------- build ----------
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
	echo "installing python3-torch (Debian)"
	while fuser /var/lib/dpkg/lock-frontend >/dev/null 2>&1; do sleep 5; done
	apt-get install -y python3-torch >/dev/null
fi
make -s -C "$here" bench_core check_release
if [ "$install" = 1 ]; then
	make -s -C "$root" >/dev/null
	make -s -C "$root" install >/dev/null
fi
installed="$(pg_config --pkglibdir)/lipvae.so"
if [ ! -f "$installed" ]; then
	echo "lipvae is not installed: run with --install (or make install)" >&2
	exit 1
fi
if ! cmp -s "$installed" "$root/lipvae.so"; then
	echo "note: the installed lipvae.so differs from this tree's build; the installed one is measured (--install to install)"
fi

{
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc=$(nproc)"
	echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
	echo "mem=$(awk '/MemTotal/{printf "%.0f GB RAM", $2/1048576}' /proc/meminfo)"
	echo "load0=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "openblas=$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2>/dev/null || echo '?')"
	echo "torch=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
	echo "pg=$(pg_config --version | cut -d' ' -f2-)"
} >"$logdir/meta"

if [ "$quick" = 1 ]; then
	head_rows=10000
	echo "skipped=--quick: 10^5 and 10^6 training rows, sampling 10^6 rows, training on 10^6 rows and sampling 10^7 rows in PostgreSQL" >>"$logdir/meta"
else
	head_rows=100000
fi
core() { (cd "$here" && OPENBLAS_NUM_THREADS=1 ./bench_core --csv "$root/data/lending_club.csv" \
	--epochs 5 --batch 256 --latent 8 "$@"); }
# PyTorch: OMP and OpenBLAS threads = t; OMP_WAIT_POLICY set because
# libgomp's default made 2-thread epochs 20-40x slower on a loaded machine
torch_ref() { OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 /usr/bin/python3 \
	"$here/torch_ref.py" --data "$logdir/data" --threads "$@" --epochs 5 --batch 256 --latent 8; }

core --no-train --dump "$logdir/data" | tee "$logdir/core.log"

# ---------- 0. the release must stay bit for bit that of lipvae 0.1 ----------
echo "== check_release (released rows identical to lipvae 0.1's release function)"
(cd "$here" && OPENBLAS_NUM_THREADS=1 ./check_release 1000 || echo "RELEASE DIFFERS FROM lipvae 0.1: see above") | tail -1 | tee "$logdir/check.log"

# ---------- 1. headline: lipvae and PyTorch interleaved per hidden width ----------
# (each width measured back to back, so a change of load on the shared
# cores hits both sides alike)
for h in 64 128 256 512; do
	echo "== hidden $h, $head_rows rows: lipvae (1, 2 threads), PyTorch (1, 2 threads)"
	core --rows "$head_rows" --hidden "$h" --threads 1,2 --no-big --no-sgemm-table | grep -v '^data:' | tee -a "$logdir/core.log"
	torch_ref 1 --rows "$head_rows" --hidden "$h" | tee -a "$logdir/torch1.log"
	torch_ref 2 --rows "$head_rows" --hidden "$h" | tee -a "$logdir/torch2.log"
done

# ---------- 2. size sweep of lipvae, sgemm table, core-only release ----------
echo "== size sweep (lipvae), sgemm on the step shapes, release in the core"
if [ "$quick" = 1 ]; then
	core --no-train --release 100000 | grep -v '^data:' | tee -a "$logdir/core.log"
else
	core --rows 10000 --hidden 64,128,256,512 --threads 1,2 --big-rows 1000000 --big-hidden 64,128 \
		--release 100000 | grep -v '^data:' | tee -a "$logdir/core.log"
fi

# ---------- 3. sampling and memory in PostgreSQL ----------
echo "== bench_sample"
if [ "$quick" = 1 ]; then
	bash "$here/bench_sample.sh" --quick | tee "$logdir/sample.log"
else
	bash "$here/bench_sample.sh" | tee "$logdir/sample.log"
fi

echo "load1=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$logdir/meta"
echo "elapsed=$(($(date +%s) - t_start))" >>"$logdir/meta"
echo
/usr/bin/python3 "$here/report.py" "$logdir" "bash bench/run.sh${args:+ $args}" "$head_rows"
echo "written: $here/RESULTS.md (logs in $logdir)"
