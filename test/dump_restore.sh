#!/usr/bin/env bash
# dump_restore.sh: pg_dump / pg_restore of a database with lipvae models.
# Trains models of every mechanism in a fresh database, grants one to an
# analyst, samples them, dumps the database (custom format), restores it into
# another database of the same cluster and checks that every model is there
# with its grants and guarantee, that every model samples exactly the rows it
# sampled before (same keyed stream) through both forms, and that the ledger
# came along. Needs PGHOST/PGPORT/PGUSER of a superuser on a running cluster
# with lipvae installed. Exits non-zero on any difference.
set -euo pipefail
src=lipvae_dump_src
dst=lipvae_dump_dst
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --if-exists $src; dropdb --if-exists $dst' EXIT
dropdb --if-exists $src
dropdb --if-exists $dst
createdb $src
here=$(cd "$(dirname "$0")/.." && pwd)

psql -X -q -v ON_ERROR_STOP=1 -d $src <<SQL
CREATE EXTENSION lipvae;
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lipvae_dump_analyst') THEN
    CREATE ROLE lipvae_dump_analyst;
  END IF;
END \$\$;
CREATE TABLE flchain (age int, sex text, "sample.yr" int, kappa float8, lambda float8, "flc.grp" int,
                      creatinine float8, mgus int, futime int, death int, chapter text);
\copy flchain FROM '$here/data/flchain.csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE visits AS SELECT age, sex, kappa, chapter, death FROM flchain LIMIT 2000;
SELECT lipvae.lipvae_set_cap('visits', central_epsilon => 20);
SELECT lipvae.lipvae_train('m_central', 'SELECT age, sex, kappa, chapter, death FROM visits', epsilon => 2,
                    epochs => 3, hidden => 16,
                    bounds => '{"age": [50, 101], "kappa": [0, 10]}', categories => '{"sex": ["F", "M"]}') IS NOT NULL AS trained;
SELECT lipvae.lipvae_train('m_latent', 'SELECT age, sex, death FROM visits', epsilon => 2, mechanism => 'latent',
                    seed => 2, epochs => 3, hidden => 16, passes => 2,
                    bounds => '{"age": [50, 101]}', categories => '{"sex": ["F", "M"]}') IS NOT NULL AS trained;
SELECT lipvae.lipvae_train('m "quoted"', 'SELECT age, death FROM visits', epsilon => 4, seed => 3, epochs => 2,
                    hidden => 16, marginals => 'one-way', bounds => '{"age": [50, 101]}') IS NOT NULL AS trained;
SELECT lipvae.lipvae_grant('m_central', 'lipvae_dump_analyst');
CREATE TABLE before_json AS
  SELECT 'm_central' AS model, * FROM lipvae.lipvae_sample('m_central', 700, 100)
  UNION ALL SELECT 'm_latent', * FROM lipvae.lipvae_sample('m_latent', 700, 3000)
  UNION ALL SELECT 'm "quoted"', * FROM lipvae.lipvae_sample('m "quoted"', 700);
CREATE TABLE before_typed AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.m_central, 700, 100);
SQL

pg_dump -Fc -f "$dir/db.dump" $src
createdb $dst
pg_restore -d $dst --exit-on-error "$dir/db.dump"

psql -X -A -t -v ON_ERROR_STOP=1 -d $dst <<'SQL' | tee "$dir/check.txt"
SELECT 'lipvae functions: ' || count(*) FILTER (WHERE pronamespace = 'lipvae'::regnamespace)
       || ' in lipvae, ' || count(*) FILTER (WHERE pronamespace <> 'lipvae'::regnamespace) || ' elsewhere'
  FROM pg_proc WHERE proname LIKE 'lipvae\_%';
SELECT 'models: ' || string_agg(name || ' ' || mechanism, ', ' ORDER BY name) FROM lipvae.lipvae_models();
SELECT 'analyst grant kept: ' || bool_or(a::text LIKE 'lipvae_dump_analyst=%')
  FROM lipvae.models, unnest(acl) a WHERE name = 'm_central';
CREATE TEMP TABLE after_json AS
  SELECT 'm_central' AS model, * FROM lipvae.lipvae_sample('m_central', 700, 100)
  UNION ALL SELECT 'm_latent', * FROM lipvae.lipvae_sample('m_latent', 700, 3000)
  UNION ALL SELECT 'm "quoted"', * FROM lipvae.lipvae_sample('m "quoted"', 700);
SELECT 'jsonb rows differing: ' || ((SELECT count(*) FROM (SELECT * FROM before_json EXCEPT SELECT * FROM after_json) d)
       + (SELECT count(*) FROM (SELECT * FROM after_json EXCEPT SELECT * FROM before_json) d)) ||
       ' of ' || (SELECT count(*) FROM after_json);
CREATE TEMP TABLE after_typed AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.m_central, 700, 100);
SELECT 'typed rows differing: ' || ((SELECT count(*) FROM (SELECT * FROM before_typed EXCEPT SELECT * FROM after_typed) d)
       + (SELECT count(*) FROM (SELECT * FROM after_typed EXCEPT SELECT * FROM before_typed) d));
SELECT 'ledger: ' || string_agg(relation::text || ' central ' || round(central_epsilon::numeric, 6) ||
       ' cap ' || central_cap || ' trainings ' || trainings, ', ') FROM lipvae.lipvae_ledger();
SELECT 'charges: ' || count(*) || ' of visits, multiplicity ' || min(multiplicity) || '-' || max(multiplicity)
  FROM lipvae.lipvae_ledger_charges() WHERE relation = 'visits'::regclass;
SQL
grep -q '^lipvae functions: 14 in lipvae, 0 elsewhere$' "$dir/check.txt"
grep -q '^models: m "quoted" central, m_central central, m_latent latent$' "$dir/check.txt"
grep -q '^analyst grant kept: true$' "$dir/check.txt"
grep -q '^jsonb rows differing: 0 of 2100$' "$dir/check.txt"
grep -q '^typed rows differing: 0$' "$dir/check.txt"
grep -q '^ledger: visits central [0-9.]* cap 20 trainings 3$' "$dir/check.txt"
grep -q '^charges: 3 of visits, multiplicity 1-1$' "$dir/check.txt"
echo "dump_restore: ok"
