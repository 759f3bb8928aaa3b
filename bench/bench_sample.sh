#!/usr/bin/env bash
# bench_sample.sh [--quick] [--reps R]: sampling and memory benchmark of
# lipvae inside PostgreSQL (see docs/bench.md).
#
# Server: PGHOST/PGPORT/PGUSER from the environment when PGHOST is set
# (lipvae must be installed there; a database lipvae_bench is created and
# dropped); otherwise a throw-away cluster in $BENCH_PGDIR (default
# /tmp/lipvae-bench-pg, port $LIPVAE_TEST_PORT, default 54339) started with
# scripts/pgcluster.sh and stopped at the end.
#
# Measures, all in one run:
#  - sampling: CREATE TEMP TABLE ... AS SELECT * FROM
#    lipvae.lipvae_sample(NULL::lipvae_types.lcb, N) against CREATE TEMP TABLE AS
#    from generate_series producing rows of the same shape (the model's
#    column types, category strings drawn from the real lists, and the
#    epsilon/delta/scope columns), N = 10^5 and 10^6, best of --reps
#    (default 3) alternating runs, rows/s and the ratio;
#  - memory: peak backend RSS (VmHWM of the backend, read from
#    /proc/<pg_backend_pid()>/status by the server itself) while training on
#    10^6 rows (lending_club repeated) and while sampling 10^7 rows from that
#    model (passes 10) through count(*) over the SRF, against a fresh
#    backend's; temp-file bytes written (pg_stat_database.temp_bytes delta).
# --quick skips everything at 10^6 training rows and N = 10^6 / 10^7.
# Lines starting with RESULT are machine-readable.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=0
reps=3
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--reps) reps=$2; shift ;;
	*) echo "usage: $0 [--quick] [--reps R]" >&2; exit 2 ;;
	esac
	shift
done

# the bench samples 10^7 rows in one call: above the default lipvae.max_sample_rows
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning -c lipvae.max_sample_rows=100000000"
. "$here/server.sh"
bench_server /tmp/lipvae-bench-pg 54339

# ---------- data: lending_club, typed as lipvae sees it ----------
P <<SQL
CREATE TABLE lc (funded_amnt int, term text, int_rate float8, sub_grade text, addr_state text,
  verification_status text, annual_inc float8, emp_length text, delinq_2yrs int,
  inq_last_6mths int, revol_util float8, acc_now_delinq int, open_il_6m int, open_il_12m int,
  open_il_24m int, total_bal_il int, all_util int, inq_fi int, inq_last_12m int,
  delinq_amnt int, num_il_tl int, total_il_high_credit_limit int, "Class" text);
\copy lc FROM '$root/data/lending_club.csv' WITH (FORMAT csv, HEADER true)
ANALYZE lc;
SQL

# Public bounds (min/max) and category lists (distinct values) for the
# benchmark: nothing is spent on preprocessing and the schema is the one
# bench_core builds.
bounds_expr=$(P -Atc "SELECT string_agg(format('%L, json_build_array(min(%I), max(%I))', attname, attname, attname), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = 'lc'::regclass AND attnum > 0 AND atttypid <> 'text'::regtype")
cats_expr=$(P -Atc "SELECT string_agg(format('%L, json_agg(DISTINCT %I)', attname, attname), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = 'lc'::regclass AND attnum > 0 AND atttypid = 'text'::regtype")
bounds=$(P -Atc "SELECT json_build_object($bounds_expr) FROM lc")
cats=$(P -Atc "SELECT json_build_object($cats_expr) FROM lc")

# status_kb FIELD: a field of the backend's /proc status, in kB.
STATUS_FN="CREATE FUNCTION pg_temp.status_kb(f text) RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), f || ':\s+(\d+) kB'))[1]::bigint \$\$;"
temp_bytes() { P -Atc "SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()"; }

# ---------- model for sampling ----------
t0=$(date +%s.%N)
P -Atc "SELECT lipvae.lipvae_train('lcb', 'SELECT * FROM lc', epsilon => 1, passes => 110, epochs => 10,
  bounds => '$bounds', categories => '$cats', seed => 1)->>'rows'" >/dev/null
echo "trained lcb on $(P -Atc 'SELECT count(*) FROM lc') rows (hidden 128, 10 epochs, passes 110) in $(echo "$(date +%s.%N) - $t0" | bc) s"

# The generate_series query of the same shape as lipvae_types.lcb.
P <<'SQL'
CREATE FUNCTION gs_sql(rowtype regtype, src regclass, n bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a record; items text[] := '{}'; lit text;
BEGIN
  FOR a IN SELECT attname, atttypid FROM pg_attribute
            WHERE attrelid = (SELECT typrelid FROM pg_type WHERE oid = rowtype)
              AND attnum > 0 AND NOT attisdropped ORDER BY attnum LOOP
    IF a.attname = 'epsilon' THEN
      items := items || format('(0.5 + g * 1e-9)::float8 AS %I', a.attname);
    ELSIF a.attname = 'delta' THEN
      items := items || format('(1e-6 + (g %% 2) * 0)::float8 AS %I', a.attname);
    ELSIF a.attname = 'scope' THEN
      items := items || format('(CASE WHEN g >= 0 THEN ''per-record, replace-one'' END)::text AS %I', a.attname);
    ELSIF a.atttypid = 'text'::regtype THEN
      EXECUTE format('SELECT array_agg(DISTINCT %I)::text FROM %s', a.attname, src) INTO lit;
      items := items || format('(%L::text[])[1 + (g * 7919) %% cardinality(%L::text[])] AS %I',
                               lit, lit, a.attname);
    ELSIF a.atttypid = 'float8'::regtype THEN
      items := items || format('((g * 7919) %% 100003 * 0.37)::float8 AS %I', a.attname);
    ELSE
      items := items || format('((g * 7919) %% 1009)::%s AS %I', format_type(a.atttypid, NULL), a.attname);
    END IF;
  END LOOP;
  RETURN format('SELECT %s FROM generate_series(1::bigint, %s) g', array_to_string(items, ', '), n);
END $$;
SQL

# ---------- sampling rate: lipvae_sample vs generate_series ----------
sample_sizes="100000 1000000"
[ "$quick" = 1 ] && sample_sizes="100000"
for N in $sample_sizes; do
	out=$(P -At <<SQL
$STATUS_FN
CREATE FUNCTION pg_temp.ctas(q text) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); t float8;
BEGIN
  EXECUTE 'CREATE TEMP TABLE bench_out AS ' || q;
  t := extract(epoch FROM clock_timestamp() - t0);
  DROP TABLE bench_out;
  RETURN t;
END \$\$;
SELECT 'hwm0 ' || pg_temp.status_kb('VmHWM');
SELECT 'q ' || gs_sql('lipvae_types.lcb', 'lc', $N);
SELECT 'gs ' || pg_temp.ctas(gs_sql('lipvae_types.lcb', 'lc', $N)) || E'\nlv ' ||
       pg_temp.ctas('SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lcb, $N)')
  FROM generate_series(1, $reps);
SELECT 'hwm1 ' || pg_temp.status_kb('VmHWM');
SQL
)
	gs=$(echo "$out" | awk '$1=="gs"{print $2}' | sort -g | head -1)
	lv=$(echo "$out" | awk '$1=="lv"{print $2}' | sort -g | head -1)
	gs_all=$(echo "$out" | awk '$1=="gs"{printf "%s%.3f", s, $2; s=","}')
	lv_all=$(echo "$out" | awk '$1=="lv"{printf "%s%.3f", s, $2; s=","}')
	hwm1=$(echo "$out" | awk '$1=="hwm1"{print $2}')
	awk -v n="$N" -v gs="$gs" -v lv="$lv" -v ga="$gs_all" -v la="$lv_all" -v hwm="$hwm1" 'BEGIN {
		printf "sample %8d rows: lipvae_sample %.3f s (%.0f rows/s; runs %s), generate_series %.3f s (%.0f rows/s; runs %s), ratio %.2f; backend VmHWM %.0f MB\n",
			n, lv, n / lv, la, gs, n / gs, ga, lv / gs, hwm / 1024
		printf "RESULT\tkind=sample\trows=%d\tlipvae_s=%.4f\tgs_s=%.4f\tlipvae_rows_per_s=%.1f\tgs_rows_per_s=%.1f\tratio=%.3f\thwm_kb=%d\n",
			n, lv, gs, n / lv, n / gs, lv / gs, hwm }'
done

if [ "$quick" = 1 ]; then
	echo "skipped (--quick): sampling 10^6 rows, training on 10^6 rows, sampling 10^7 rows"
	exit 0
fi

# ---------- memory: training on 10^6 rows, sampling 10^7 ----------
P -c "CREATE TABLE lc1m AS SELECT lc.* FROM generate_series(1, 102) r, lc LIMIT 1000000" -c "ANALYZE lc1m"
base=$(P -At -c "$STATUS_FN" -c "SELECT pg_temp.status_kb('VmHWM')")
tb0=$(temp_bytes)
out=$(P -At <<SQL
$STATUS_FN
SELECT 'hwm0 ' || pg_temp.status_kb('VmHWM');
SELECT 'train ' || (lipvae.lipvae_train('lc1m', 'SELECT * FROM lc1m', epsilon => 1, passes => 10, epochs => 1,
  bounds => '$bounds', categories => '$cats', seed => 2)->>'seconds');
SELECT 'hwm1 ' || pg_temp.status_kb('VmHWM');
SQL
)
tb1=$(temp_bytes)
train_s=$(echo "$out" | awk '$1=="train"{print $2}')
train_hwm=$(echo "$out" | awk '$1=="hwm1"{print $2}')
echo "train 10^6 rows (1 epoch, hidden 128): ${train_s} s, backend VmHWM $((train_hwm / 1024)) MB (fresh backend $((base / 1024)) MB), temp files $(((tb1 - tb0) / 1048576)) MB"
printf 'RESULT\tkind=mem_train\trows=1000000\tseconds=%s\thwm_kb=%s\tbase_kb=%s\ttemp_bytes=%s\n' "$train_s" "$train_hwm" "$base" "$((tb1 - tb0))"

for N in 1000000 10000000; do
	tb0=$(temp_bytes)
	out=$(P -At <<SQL
$STATUS_FN
CREATE FUNCTION pg_temp.cnt(q text) RETURNS text LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp(); c bigint;
BEGIN
  EXECUTE q INTO c;
  RETURN c || ' ' || extract(epoch FROM clock_timestamp() - t0);
END \$\$;
SELECT 'count ' || pg_temp.cnt('SELECT count(*) FROM lipvae.lipvae_sample(NULL::lipvae_types.lc1m, $N)');
SELECT 'hwm1 ' || pg_temp.status_kb('VmHWM');
SQL
)
	tb1=$(temp_bytes)
	read -r _ cnt secs <<<"$(echo "$out" | awk '$1=="count"')"
	hwm=$(echo "$out" | awk '$1=="hwm1"{print $2}')
	echo "sample $N rows through count(*) (model of 10^6 rows): $cnt rows in ${secs} s ($(echo "$N / $secs" | bc) rows/s), backend VmHWM $((hwm / 1024)) MB, temp files $(((tb1 - tb0) / 1048576)) MB"
	printf 'RESULT\tkind=mem_sample\trows=%s\tseconds=%s\thwm_kb=%s\tbase_kb=%s\ttemp_bytes=%s\n' "$N" "$secs" "$hwm" "$base" "$((tb1 - tb0))"
done
