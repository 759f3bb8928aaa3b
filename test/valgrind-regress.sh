#!/usr/bin/env bash
# valgrind-regress.sh [TESTS...]: regression tests against a throw-away
# cluster whose server runs under valgrind (memcheck, every backend traced).
# Debian's server has no valgrind support built in (environment.md): errors
# inside palloc'd chunks stay invisible, but uninitialised values used in
# lipvae's code, invalid reads and writes outside palloc's blocks (OpenBLAS,
# malloc'd buffers, the stack) and bad syscall arguments are seen. Any error
# whose stack has a frame in lipvae.so fails the run; the server's own known
# false positives are suppressed by test/valgrind-postgres.supp and the rest
# of the server's reports are counted and shown, not failed on. Default
# tests: a subset that trains small models (valgrind runs them about 50
# times slower). Run from the repository root after `make install`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
tests=${*:-setup sample security hostile badinput}
bindir=$(pg_config --bindir)
port=${LIPVAE_VALGRIND_PORT:-55461}
dir=$(mktemp -d /tmp/lipvae-valgrind.XXXXXX)
chmod 755 "$dir"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg mkdir -p "$dir/logs"
as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1
cleanup() {
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 120 stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
OPENBLAS_NUM_THREADS=1 as_pg valgrind --quiet --trace-children=yes --error-limit=no --num-callers=30 \
	--leak-check=no --suppressions="$here/test/valgrind-postgres.supp" \
	--log-file="$dir/logs/vg.%p.log" \
	"$bindir/postgres" -D "$dir/data" -p "$port" -k "$dir" -c listen_addresses= -c fsync=off \
	-c max_connections=20 >"$dir/server.log" 2>&1 &
for i in $(seq 1 120); do
	PGHOST=$dir PGPORT=$port PGUSER=postgres psql -X -q -c 'SELECT 1' postgres >/dev/null 2>&1 && break
	sleep 1
done
rc=0
PGHOST=$dir PGPORT=$port PGUSER=postgres make -s installcheck REGRESS="$tests" ISOLATION= \
	EXTRA_REGRESS_OPTS="--dbname=lipvae_valgrind" || rc=$?
as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 120 stop >/dev/null 2>&1 || true
# every error block: from its "==pid== <Kind>" line to the next blank report line
errs=$(cat "$dir"/logs/vg.*.log | awk '
	/^==[0-9]+== [A-Z]/ { if (blk != "") print blk "\n----"; blk = $0; next }
	/^==[0-9]+== *$/ { if (blk != "") { print blk "\n----"; blk = "" } next }
	{ if (blk != "") blk = blk "\n" $0 }
	END { if (blk != "") print blk "\n----" }')
ours=$(printf '%s\n' "$errs" | awk 'BEGIN { RS = "----\n" } /lipvae\.so/ { n++; print > "/dev/stderr" } END { print n + 0 }' 2>"$dir/ours.txt")
theirs=$(printf '%s\n' "$errs" | awk 'BEGIN { RS = "----\n" } NF && !/lipvae\.so/ { n++ } END { print n + 0 }')
echo "valgrind: regression tests ($tests) $( [ $rc = 0 ] && echo passed || echo FAILED ); $ours error(s) with a lipvae.so frame; $theirs other report(s) of the server"
if [ "$theirs" != 0 ]; then
	echo "the server's other reports, by kind:"
	printf '%s\n' "$errs" | awk 'BEGIN { RS = "----\n" } NF && !/lipvae\.so/ { split($0, l, "\n"); sub(/^==[0-9]+== /, "", l[1]); print "  " l[1] }' | sort | uniq -c
fi
if [ "$ours" != 0 ]; then
	cat "$dir/ours.txt"
fi
[ -f regression.diffs ] && [ $rc != 0 ] && head -n 60 regression.diffs
[ $rc = 0 ] && [ "$ours" = 0 ]
