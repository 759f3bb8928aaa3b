#!/usr/bin/env bash
# bench_rows.sh [--quick] [--max-exp E]: marginals => 'aim' against the
# number of rows: backend memory and time of a training on 10^4 .. 10^E
# rows (default E = 7; --quick: E = 6) of a 7-column UNLOGGED table
# made from generate_series (int, float8 with a heavy tail, text, date, boolean,
# nullable int, text of 40 values), every domain found by the DP domain
# release (epsilon 1). For each size, in a fresh backend:
#  - peak backend RSS (VmHWM of /proc/<pg_backend_pid()>/status, read by
#    the server itself) and the same backend's VmHWM before training;
#  - training seconds, and the measure stage's (both passes over the query
#    and the domain release: "measure_seconds" of the summary);
#  - two GROUP BY scans of the same query that read every column (the two
#    passes the measure stage makes), and the ratio measure / scans;
#  - at 10^5 and 10^6 the held path beside it: the DP-SGD default (1 epoch)
#    on the same query, which holds every row.
# Server: PGHOST/PGPORT/PGUSER from the environment when PGHOST is set
# (lipvae installed; database lipvae_bench created and dropped); otherwise a
# throw-away cluster in $BENCH_PGDIR (default /tmp/lipvae-bench-rows, port
# $LIPVAE_TEST_PORT, default 54341). Lines starting with RESULT are
# machine-readable. Figures, never pass/fail.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
max_exp=7
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) max_exp=6 ;;
	--max-exp) max_exp=$2; shift ;;
	*) echo "usage: $0 [--quick] [--max-exp E]" >&2; exit 2 ;;
	esac
	shift
done

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=error -c lipvae.max_training_rows=100000000"
. "$here/server.sh"
bench_server /tmp/lipvae-bench-rows 54341

# make_rows N: an UNLOGGED table public.rows of N rows, 7 mixed columns,
# deterministic pseudo-random values from the row number
make_rows() {
	P <<SQL
DROP TABLE IF EXISTS public.rows;
CREATE UNLOGGED TABLE public.rows AS
  SELECT (h % 90)::int + 18 AS a,
         exp(((h >> 8) % 1000) / 120.0)::float8 AS x,
         CASE WHEN h % 7 < 3 THEN 'F' ELSE 'M' END AS s,
         DATE '2000-01-01' + ((h >> 16) % 7000)::int AS d,
         (h >> 24) % 3 = 0 AS b,
         CASE WHEN (h >> 28) % 10 = 0 THEN NULL ELSE ((h >> 32) % 50)::int END AS m,
         'c' || ((h >> 36) % 40) AS c
    FROM (SELECT abs(hashint8(i))::bigint AS h FROM generate_series(1, $1) i) g;
VACUUM ANALYZE public.rows;
SQL
}
STATUS_FN="CREATE FUNCTION pg_temp.status_kb(f text) RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), f || ':\s+(\d+) kB'))[1]::bigint \$\$;"

# train_run N MECH: one training in a fresh backend; prints "hwm0 secs measure_secs count_secs hwm1"
train_run() {
	local n=$1 opts=$2
	P -At -c "$STATUS_FN" -f - <<SQL | tr '\n' ' '
SELECT pg_temp.status_kb('VmHWM');
SELECT s->>'seconds' || ' ' || coalesce(s->>'measure_seconds', '-') || ' ' || coalesce(s->>'count_seconds', '-') || ' ' || pg_temp.status_kb('VmHWM')
  FROM (SELECT lipvae.lipvae_train('bench_rows', 'SELECT a, x, s, d, b, m, c FROM public.rows',
               epsilon => 1, replace => true $opts) AS s) t;
SQL
	echo
}

# scan_secs: seconds of two GROUP BY scans of the training query that read
# every column (one HashAggregate each: what a pass of measuring must at
# least do)
scan_secs() {
	P -At <<SQL
\\timing off
SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
SELECT a, s, b, c, count(*), sum(x), max(d), count(m) FROM (SELECT a, x, s, d, b, m, c FROM public.rows) q GROUP BY 1, 2, 3, 4 \\g /dev/null
SELECT a, s, b, c, count(*), sum(x), max(d), count(m) FROM (SELECT a, x, s, d, b, m, c FROM public.rows) q GROUP BY 1, 2, 3, 4 \\g /dev/null
SELECT round((extract(epoch FROM clock_timestamp()) - :t0)::numeric, 3);
SQL
}

for e in $(seq 4 "$max_exp"); do
	n=$((10 ** e))
	make_rows "$n"
	read -r hwm0 secs msecs csecs hwm1 <<<"$(train_run "$n" ", marginals => 'aim'")"
	scans=$(scan_secs)
	ratio=$(echo "scale=2; $msecs / $scans" | bc)
	cratio=$(echo "scale=2; 2 * $csecs / $scans" | bc)
	printf "aim      10^%d rows: backend VmHWM %5d MB (fresh %d MB), training %7.1f s, measure %7.1f s (its counting GROUP BY %6.1f s), two scans %7.1f s, measure/scans %s, counting/one scan %s\n" \
		"$e" $((hwm1 / 1024)) $((hwm0 / 1024)) "$secs" "$msecs" "$csecs" "$scans" "$ratio" "$cratio"
	echo "RESULT aim rows=$n hwm_kb=$hwm1 fresh_kb=$hwm0 seconds=$secs measure_seconds=$msecs count_seconds=$csecs scans_seconds=$scans"
	if [ "$e" -ge 5 ] && [ "$e" -le 6 ]; then
		read -r hwm0 secs msecs csecs hwm1 <<<"$(train_run "$n" ", epochs => 1")"
		printf "held     10^%d rows: backend VmHWM %5d MB (fresh %d MB), training %7.1f s (DP-SGD, 1 epoch: every row held)\n" \
			"$e" $((hwm1 / 1024)) $((hwm0 / 1024)) "$secs"
		echo "RESULT held rows=$n hwm_kb=$hwm1 fresh_kb=$hwm0 seconds=$secs"
	fi
done
