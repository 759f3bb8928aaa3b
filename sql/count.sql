-- The measure stage's counting query (marginals => 'aim' without unit): the
-- database counts the cells of every candidate in one GROUP BY over the
-- training query, through lipvae.count_* (train_count.c; count_fn.sql
-- tests the functions alone).
SET client_min_messages = warning;
CREATE TYPE count_mood AS ENUM ('sad', 'ok', 'happy');

-- 1. Every column type: the counting query (no unit) and the held rows
-- (unit =>, one row per unit) count the same cells, so the same seed trains
-- the same model bytes: booleans, enums, char(n) with padding, varchar,
-- dates, times, exact integer bins, NULLs in numbers with DP bounds.
CREATE TABLE count_types AS
SELECT id, sex = 'F' AS female,
       (ARRAY['sad', 'ok', 'happy']::count_mood[])[1 + id % 3] AS mood,
       (CASE WHEN id % 7 = 0 THEN 'x' ELSE chapter END)::char(12) AS chapter_c,
       sex::varchar(1) AS sex_v,
       DATE '1990-01-01' + futime AS seen,
       TIMESTAMPTZ '2001-01-01 00:00:00+00' + futime * interval '1 hour' AS seen_at,
       "flc.grp" AS grp, creatinine
  FROM flsmall;
SELECT lipvae.lipvae_train('count_held', 'SELECT id, female, mood, chapter_c, sex_v, seen, seen_at, grp, creatinine FROM count_types',
  epsilon => 4, marginals => 'aim', unit => 'id', unit_rows => 1, seed => 11, hidden => 16,
  bounds => '{"grp": [1, 10], "seen": ["1990-01-01", "2005-01-01"]}') IS NOT NULL AS held_trained;
SELECT lipvae.lipvae_train('count_sql', 'SELECT female, mood, chapter_c, sex_v, seen, seen_at, grp, creatinine FROM count_types',
  epsilon => 4, marginals => 'aim', seed => 11, hidden => 16,
  bounds => '{"grp": [1, 10], "seen": ["1990-01-01", "2005-01-01"]}') IS NOT NULL AS counted_trained;
SELECT (SELECT md5(model) FROM lipvae.models WHERE name = 'count_held')
     = (SELECT md5(model) FROM lipvae.models WHERE name = 'count_sql') AS counted_equals_held;

-- 2. The database does the counting: lipvae.encode_label runs once per row
-- and column of the training query (two columns of 394 rows), in the
-- trainer's own query.
SET track_functions = 'all';
SELECT pg_stat_force_next_flush();
SELECT coalesce((SELECT calls FROM pg_stat_user_functions
                  WHERE funcid = 'lipvae.encode_label(anyelement, text[], boolean)'::regprocedure), 0) AS calls_before \gset
SELECT lipvae.lipvae_train('count_calls', 'SELECT female, mood FROM count_types WHERE id % 2 = 0',
  epsilon => 1, marginals => 'aim', hidden => 16, replace => true) IS NOT NULL AS trained;
SELECT pg_stat_force_next_flush();
SELECT (SELECT calls FROM pg_stat_user_functions
         WHERE funcid = 'lipvae.encode_label(anyelement, text[], boolean)'::regprocedure) - :calls_before
     = 2 * (SELECT count(*) FROM count_types WHERE id % 2 = 0) AS one_call_per_row_and_column;
RESET track_functions;

-- 3. Hostile objects play no part in the counting query: a cast from the
-- enum to text that fails, look-alikes of count and encode_label in
-- public and pg_temp first on the search_path, a domain that refuses NULL
-- (the placeholder's NULLs are never evaluated), a column collation.
CREATE FUNCTION count_mood_text(count_mood) RETURNS text LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'hijacked: the enum cast ran'; END$$;
CREATE CAST (count_mood AS text) WITH FUNCTION count_mood_text(count_mood);
CREATE FUNCTION pg_temp.encode_label(count_mood, text[], boolean) RETURNS integer LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'hijacked: pg_temp.encode_label ran'; END$$;
CREATE FUNCTION public.count(bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
CREATE DOMAIN count_nn AS text NOT NULL;
SET search_path = pg_temp, public, pg_catalog;
SELECT lipvae.lipvae_train('count_hostile', 'SELECT mood, sex_v::text::count_nn AS s, chapter_c::text COLLATE "C" AS c FROM count_types',
  epsilon => 4, marginals => 'aim', seed => 11, hidden => 16) IS NOT NULL AS hostile_trained;
SELECT lipvae.lipvae_train('count_hostile_held', 'SELECT id, mood, sex_v::text::count_nn AS s, chapter_c::text COLLATE "C" AS c FROM count_types',
  epsilon => 4, marginals => 'aim', unit => 'id', unit_rows => 1, seed => 11, hidden => 16) IS NOT NULL AS hostile_held;
SELECT (SELECT md5(model) FROM lipvae.models WHERE name = 'count_hostile')
     = (SELECT md5(model) FROM lipvae.models WHERE name = 'count_hostile_held') AS hostile_equals_held;
RESET search_path;
DROP CAST (count_mood AS text);

-- 4. Found by a review: a column whose collation is indeterminate (two
-- collations met), and a column type in a schema the trainer may not use,
-- train as from the held rows; an error while counting names the training
-- query, never the counting query's text (it holds the DP domain, and the
-- failed training is not charged).
CREATE TABLE count_coll AS
  SELECT chapter COLLATE "C" AS a, sex COLLATE "POSIX" AS b, id FROM flsmall;
SELECT lipvae.lipvae_train('count_coll', 'SELECT a || b AS ab FROM count_coll',
  epsilon => 4, marginals => 'aim', seed => 5, hidden => 16) IS NOT NULL AS indeterminate_trained;
SELECT lipvae.lipvae_train('count_coll_held', 'SELECT id, a || b AS ab FROM count_coll',
  epsilon => 4, marginals => 'aim', unit => 'id', unit_rows => 1, seed => 5, hidden => 16) IS NOT NULL AS held_trained;
SELECT (SELECT md5(model) FROM lipvae.models WHERE name = 'count_coll')
     = (SELECT md5(model) FROM lipvae.models WHERE name = 'count_coll_held') AS indeterminate_equals_held;
CREATE ROLE lvt_count_trainer;
GRANT lipvae_trainer TO lvt_count_trainer;
CREATE SCHEMA count_hidden;
CREATE TYPE count_hidden.kind AS ENUM ('F', 'M');
CREATE TABLE count_kinds AS SELECT sex::count_hidden.kind AS k, age FROM flsmall;
GRANT SELECT ON count_kinds, count_coll TO lvt_count_trainer;
SET ROLE lvt_count_trainer;
SELECT lipvae.lipvae_train('count_kinds', 'SELECT k, age FROM public.count_kinds', epsilon => 2,
  marginals => 'aim', bounds => '{"age": [40, 105]}', hidden => 16) IS NOT NULL AS trained_without_usage;
SELECT lipvae.lipvae_train('count_fails', 'SELECT 1 / (length(a) - length(a)) AS x FROM public.count_coll',
  epsilon => 2, marginals => 'aim', hidden => 16);
RESET ROLE;
-- a recursive CTE (found by a review: the multiplicity walk recursed into
-- the CTE's reference to itself until the stack ran out) trains, and the
-- table it reads is charged without bound
\set VERBOSITY terse
SELECT lipvae.lipvae_train('count_recursive', 'WITH RECURSIVE t(a) AS (SELECT age FROM flsmall
    UNION ALL SELECT a + 1 FROM t WHERE a < 45) SELECT a FROM t', epsilon => 1, marginals => 'aim',
  bounds => '{"a": [40, 110]}', hidden => 16) IS NOT NULL AS recursive_trained;
\set VERBOSITY default

SELECT lipvae.lipvae_drop(m) FROM unnest(ARRAY['count_held', 'count_sql', 'count_calls', 'count_hostile', 'count_hostile_held',
  'count_coll', 'count_coll_held', 'count_kinds', 'count_recursive']) AS m;
DROP TABLE count_coll, count_kinds;
DROP TYPE count_hidden.kind;
DROP SCHEMA count_hidden;
DROP ROLE lvt_count_trainer;
DROP TABLE count_types;
DROP FUNCTION count_mood_text(count_mood), public.count(bigint), pg_temp.encode_label(count_mood, text[], boolean);
DROP DOMAIN count_nn;
DROP TYPE count_mood;
