# server.sh: sourced by the PostgreSQL benchmarks. bench_server DIR PORT
# uses the server PGHOST/PGPORT/PGUSER point at when PGHOST is set (lipvae
# installed there), else starts a throw-away cluster in $BENCH_PGDIR (default
# DIR) on $LIPVAE_TEST_PORT (default PORT) and stops it on exit; either way
# (re)creates the database lipvae_bench with the extension, drops it on exit,
# and defines P, psql with errors fatal. Needs $root (the checkout).
bench_server() {
	bench_started=0
	bench_pgdir=${BENCH_PGDIR:-$1}
	if [ -z "${PGHOST:-}" ]; then
		export LIPVAE_TEST_PORT=${LIPVAE_TEST_PORT:-$2}
		eval "$("$root/scripts/pgcluster.sh" start "$bench_pgdir")"
		bench_started=1
		echo "throw-away cluster in $bench_pgdir (port $PGPORT)"
	fi
	trap bench_cleanup EXIT
	export PGDATABASE=lipvae_bench
	P -d postgres -c 'DROP DATABASE IF EXISTS lipvae_bench' -c 'CREATE DATABASE lipvae_bench'
	P -c 'CREATE EXTENSION lipvae'
	echo "server: $(P -Atc 'SHOW server_version'), work_mem $(P -Atc 'SHOW work_mem'), shared_buffers $(P -Atc 'SHOW shared_buffers')"
}

# bench_cleanup drops the database and stops a cluster bench_server started.
bench_cleanup() {
	psql -X -q -d postgres -c 'DROP DATABASE IF EXISTS lipvae_bench' >/dev/null 2>&1 || true
	if [ "$bench_started" = 1 ]; then "$root/scripts/pgcluster.sh" stop "$bench_pgdir"; fi
}

P() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
