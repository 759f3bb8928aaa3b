#!/usr/bin/env bash
# demo.sh: one command from a fresh clone to synthetic rows.
#   - installs the Debian packages lipvae needs (scripts/deps.sh)
#   - builds and installs the extension
#   - uses the server that PGHOST/PGPORT/PGUSER point at, or else starts a
#     fresh throw-away cluster in /tmp/lipvae-demo (left running for you to
#     explore; stop it with: bash scripts/pgcluster.sh stop /tmp/lipvae-demo)
#   - loads the real flchain table (data/flchain.csv), trains a model with the
#     one-line call, and prints synthetic rows beside the real table's summary
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

bash scripts/deps.sh
make -s
$SUDO make -s install >/dev/null

if [ -z "${PGHOST:-}${PGPORT:-}" ]; then
	dir=/tmp/lipvae-demo
	export LIPVAE_TEST_PORT=${LIPVAE_TEST_PORT:-54330}
	# a fresh throw-away cluster each time, so the demo always runs this build
	bash scripts/pgcluster.sh stop "$dir"
	rm -rf "$dir"
	eval "$(bash scripts/pgcluster.sh start "$dir")"
	echo "demo cluster: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER (psql connects with these)"
fi

psql -X -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE EXTENSION IF NOT EXISTS lipvae;
DROP TABLE IF EXISTS flchain;
CREATE TABLE flchain (age int, sex text, sample_yr int, kappa float8, lambda float8,
  flc_grp int, creatinine float8, mgus int, futime int, death int, chapter text);
\copy flchain FROM 'data/flchain.csv' WITH (FORMAT csv, HEADER true)
ANALYZE flchain;
SELECT lipvae.lipvae_drop(name) FROM lipvae.lipvae_models() WHERE name = 'patients';
\echo
\echo '-- the data owner trains a model (no bounds given: they are estimated with DP):'
\echo 'SELECT lipvae.lipvae_train(''patients'', ''SELECT age, sex, kappa, lambda, creatinine, chapter, death FROM flchain'', epsilon => 1);'
SELECT jsonb_pretty(lipvae.lipvae_train('patients',
  'SELECT age, sex, kappa, lambda, creatinine, chapter, death FROM flchain', epsilon => 1));
\echo
\echo '-- an analyst draws synthetic rows (jsonb form):'
\echo 'SELECT * FROM lipvae.lipvae_sample(''patients'', 10000) LIMIT 5;'
SELECT * FROM lipvae.lipvae_sample('patients', 10000) LIMIT 5;
\echo
\echo '-- typed form, the query''s own columns and types:'
\echo 'SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.patients, 8);'
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.patients, 8);
\echo
\echo '-- real table beside 10000 synthetic rows:'
CREATE TEMP TABLE synth AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.patients, 10000);
SELECT 'real' AS source, count(*) AS rows, round(avg(age), 1) AS age, round(avg(kappa)::numeric, 2) AS kappa,
       round(avg(lambda)::numeric, 2) AS lambda, round(avg(creatinine)::numeric, 2) AS creatinine,
       round(avg((sex = 'F')::int), 3) AS female, round(avg(death), 3) AS death,
       round(avg((creatinine IS NULL)::int), 3) AS creat_null
  FROM flchain
UNION ALL
SELECT 'synthetic', count(*), round(avg(age), 1), round(avg(kappa)::numeric, 2),
       round(avg(lambda)::numeric, 2), round(avg(creatinine)::numeric, 2),
       round(avg((sex = 'F')::int), 3), round(avg(death), 3),
       round(avg((creatinine IS NULL)::int), 3)
  FROM synth;
\echo '-- cause-of-death chapter, share of rows (top 6). Chapters too rare for the DP category'
\echo '-- selection at this epsilon are not in the public list: they come out as NULL.'
SELECT coalesce(r.chapter, '(NULL)') AS chapter, round(r.share, 3) AS real, round(coalesce(s.share, 0), 3) AS synthetic
  FROM (SELECT chapter, count(*)::numeric / sum(count(*)) OVER () AS share FROM flchain GROUP BY 1) r
  LEFT JOIN (SELECT chapter, count(*)::numeric / sum(count(*)) OVER () AS share FROM synth GROUP BY 1) s
    ON r.chapter IS NOT DISTINCT FROM s.chapter
 ORDER BY r.share DESC LIMIT 6;
\echo '-- the guarantee every row carries, and the model as analysts see it:'
SELECT name, mechanism, scope, epsilon, delta, passes, rows_per_pass FROM lipvae.lipvae_models();
SQL
