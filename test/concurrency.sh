#!/usr/bin/env bash
# concurrency.sh: many connections sampling one model while another keeps
# replacing it (pgbench: 8 clients, 2 threads). Every call must succeed,
# return exactly the rows asked for, and come whole from one version of the
# model (one epsilon on all its rows: the versions alternate between
# epsilon 1 and 2). Needs PGHOST/PGPORT/PGUSER of a superuser on a running
# cluster with lipvae installed. Prints the figures; exits non-zero on any
# failure.
set -euo pipefail
db=lipvae_concurrency
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --if-exists $db' EXIT
dropdb --if-exists $db
createdb $db
bindir=$(pg_config --bindir)
psql -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL' >/dev/null
CREATE EXTENSION lipvae;
CREATE TABLE src AS
  SELECT 40 + (g * 37) % 60 AS age, CASE WHEN g % 3 = 0 THEN 'F' ELSE 'M' END AS sex,
         (g * 7) % 11 AS score
    FROM generate_series(1, 2000) AS g;
SELECT lipvae.lipvae_train('conc', 'SELECT age, sex, score FROM src', epsilon => 1, seed => 1, epochs => 1,
                    hidden => 16, bounds => '{"age": [40, 100], "score": [0, 10]}',
                    categories => '{"sex": ["F", "M"]}');
CREATE UNLOGGED TABLE calls (pid int, form text, n bigint, rows bigint, eps_min float8, eps_max float8);
SQL
cat > "$dir/sample.sql" <<'SQL'
\set start random(0, 1000000)
INSERT INTO calls SELECT pg_backend_pid(), 'jsonb', 1500, count(*), min(epsilon), max(epsilon)
  FROM lipvae.lipvae_sample('conc', 1500, :start);
INSERT INTO calls SELECT pg_backend_pid(), 'typed', 1500, count(*), min(epsilon), max(epsilon)
  FROM lipvae.lipvae_sample(NULL::lipvae_types.conc, 1500, :start);
SQL
cat > "$dir/replace.sql" <<'SQL'
\set e random(1, 2)
SELECT lipvae.lipvae_train('conc', 'SELECT age, sex, score FROM src', epsilon => :e, seed => :e, epochs => 1,
                    hidden => 16, bounds => '{"age": [40, 100], "score": [0, 10]}',
                    categories => '{"sex": ["F", "M"]}', replace => true);
SQL
"$bindir/pgbench" -n -d $db -c 8 -j 2 -T 20 -f "$dir/sample.sql@8" -f "$dir/replace.sql@1" >"$dir/pgbench.log" 2>&1 || {
	cat "$dir/pgbench.log"
	exit 1
}
grep -E "number of (transactions actually processed|failed)|tps =|SQL script [0-9]+:|- [0-9]+ transactions" "$dir/pgbench.log" || true
res=$(psql -X -A -t -v ON_ERROR_STOP=1 -d $db -c "
  SELECT count(*) || ' ' || count(*) FILTER (WHERE rows <> n) || ' ' || count(*) FILTER (WHERE eps_min <> eps_max)
         || ' ' || count(DISTINCT round(eps_max::numeric, 6))
    FROM calls")
read -r calls short torn versions <<<"$res"
echo "concurrency: $calls sampling calls, $short short, $torn mixing two model versions, $versions versions seen"
grep -q "number of failed transactions: 0" "$dir/pgbench.log" || ! grep -q "number of failed transactions" "$dir/pgbench.log"
! grep -qi "error" "$dir/pgbench.log"
[ "$calls" -gt 0 ] && [ "$short" = 0 ] && [ "$torn" = 0 ]
echo "concurrency: ok"
