--
-- setup: the extension (loaded by pg_regress --load-extension=lipvae) and
-- the flchain table (Mayo Clinic serum free light chain cohort, 7874 rows,
-- NULLs in creatinine and chapter), plus a deterministic tenth of it.
--
SELECT extname, extversion FROM pg_extension WHERE extname = 'lipvae';
-- 0.3 is reached from 0.1 by the upgrade scripts (there is no 0.2 or 0.3
-- install script: a fresh CREATE EXTENSION runs all three), and there is no
-- way back
SELECT name, version, installed FROM pg_available_extension_versions
 WHERE name = 'lipvae' ORDER BY version;
SELECT source, target, path FROM pg_extension_update_paths('lipvae') ORDER BY source, target;

-- the objects the install script creates
SELECT nspname FROM pg_namespace WHERE nspname IN ('lipvae', 'lipvae_types') ORDER BY 1;
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'lipvae_trainer';
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer,
       p.provolatile AS volatility, p.proparallel AS parallel
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lipvae'
 ORDER BY p.oid::regprocedure::text;
-- the API is in schema lipvae (0.3), where nobody but the extension owner
-- may create anything: PUBLIC may use the schema (to call the functions by
-- their qualified names) and lipvae_types (the row types), create in
-- neither; only trainers may train (lipvae_train: the one function of that
-- name, its signature listed above)
SELECT has_schema_privilege('public', 'lipvae', 'USAGE') AS public_uses_lipvae,
       has_schema_privilege('public', 'lipvae_types', 'USAGE') AS public_sees_row_types,
       has_function_privilege('public', 'lipvae.lipvae_train'::regproc, 'EXECUTE') AS public_may_train,
       has_function_privilege('lipvae_trainer', 'lipvae.lipvae_train'::regproc, 'EXECUTE') AS trainer_may_train;
\set lipvae_exposure 'SELECT n.nspname, r.rolname FROM pg_namespace n, (SELECT rolname FROM pg_roles WHERE NOT rolsuper UNION ALL SELECT ''public'') AS r WHERE n.nspname IN (''lipvae'', ''lipvae_types'') AND has_schema_privilege(r.rolname, n.nspname, ''CREATE'') ORDER BY 1, 2'
-- nobody but a superuser may create in lipvae or lipvae_types (no rows)
:lipvae_exposure;
-- nothing else in schema lipvae is open to PUBLIC: no table, sequence or
-- internal function (the catalog, the ledger, the event trigger's function)
\set lipvae_public 'SELECT c.oid::regclass::text AS object, c.relkind::text AS kind, has_table_privilege(''public'', c.oid, ''SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER'') AS public_privilege FROM pg_class c WHERE c.relnamespace = ''lipvae''::regnamespace AND c.relkind IN (''r'', ''S'', ''v'', ''m'', ''p'', ''f'') UNION ALL SELECT p.oid::regprocedure::text, ''function'', has_function_privilege(''public'', p.oid, ''EXECUTE'') FROM pg_proc p WHERE p.pronamespace = ''lipvae''::regnamespace ORDER BY 2, 1'
:lipvae_public;
-- every SQL and plpgsql function of lipvae runs with its search_path pinned
\set lipvae_pinned 'SELECT p.oid::regprocedure AS function, l.lanname AS language, p.proconfig AS config FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang JOIN pg_depend d ON d.objid = p.oid AND d.classid = ''pg_proc''::regclass JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = ''lipvae'' WHERE l.lanname <> ''c'' ORDER BY 1::text'
:lipvae_pinned;
-- and nothing of lipvae is left in the extension's own schema
SELECT e.extnamespace::regnamespace AS extension_schema, count(p.oid) AS lipvae_functions_there
  FROM pg_extension e LEFT JOIN pg_proc p ON p.pronamespace = e.extnamespace AND p.proname LIKE 'lipvae%'
 WHERE e.extname = 'lipvae' GROUP BY 1;
-- the catalog is carried by pg_dump
SELECT c.relname, c.oid = ANY (e.extconfig) AS dumped
  FROM pg_extension e, pg_class c
 WHERE e.extname = 'lipvae' AND c.relname = 'models'
   AND c.relnamespace = 'lipvae'::regnamespace;
-- the catalog's columns (0.2: passes and nrows may be NULL, the parts of
-- every guarantee have their own columns) and its mechanisms
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
  FROM pg_attribute a
 WHERE a.attrelid = 'lipvae.models'::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
SELECT conname, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint WHERE conrelid = 'lipvae.models'::regclass AND contype = 'c'
 ORDER BY conname;
-- the defaults of lipvae_train: central; the settings that depend on the
-- mechanism are NULL here and chosen in C
SELECT a.ord, a.arg
  FROM unnest(string_to_array(pg_get_function_arguments('lipvae.lipvae_train'::regproc), ', ')) WITH ORDINALITY AS a(arg, ord)
 ORDER BY a.ord;

CREATE TABLE flchain (
    age int,
    sex text,
    "sample.yr" int,
    kappa float8,
    lambda float8,
    "flc.grp" int,
    creatinine float8,
    mgus int,
    futime int,
    death int,
    chapter text,
    id int GENERATED ALWAYS AS IDENTITY
);
\copy flchain (age, sex, "sample.yr", kappa, lambda, "flc.grp", creatinine, mgus, futime, death, chapter) FROM 'data/flchain.csv' WITH (FORMAT csv, HEADER true)
ANALYZE flchain;

SELECT count(*) AS rows,
       count(*) FILTER (WHERE creatinine IS NULL) AS creatinine_nulls,
       count(*) FILTER (WHERE chapter IS NULL) AS chapter_nulls,
       count(DISTINCT sex) AS sexes,
       count(DISTINCT chapter) AS chapters,
       min(age) AS min_age, max(age) AS max_age
  FROM flchain;

-- every tenth row, for the tests that need a small table (787 rows)
CREATE TABLE flsmall AS SELECT * FROM flchain WHERE id % 10 = 0;
ANALYZE flsmall;
SELECT count(*) AS rows FROM flsmall;

-- ALTER EXTENSION lipvae UPDATE from 0.1 through 0.2 to 0.3, in a database
-- of its own. The 0.3 library cannot train or sample while a database is
-- still at 0.1 or 0.2 (at 0.1 the catalog lacks the columns it reads and
-- writes; at 0.2 the functions are still in a schema others may create in),
-- so the models are trained here and their catalog rows copied into the
-- old catalog: a 0.1 model (trained with the 0.1 arguments and mechanism
-- 'latent', 0.1's only private mechanism and 0.1's default; its row
-- restricted to 0.1's columns: a latent model's blob format and catalog row
-- are the same in 0.1, 0.2 and 0.3), and at 0.2 a central model and a
-- seeded one (with 0.2's scope). Each is granted to a reader (the latent
-- one with 0.3's explicit per_record_only; the seeded one as 0.2 allowed).
SELECT current_database() AS regression_db \gset
SELECT (lipvae.lipvae_train('lv_upgrade', 'SELECT age, sex, creatinine FROM flsmall', epsilon => 1,
        delta => 1e-6, passes => 2, mechanism => 'latent', bounds => '{"age": [40, 105], "creatinine": [0, 12]}',
        categories => NULL, not_null => NULL, epochs => 3, batch_size => 256, latent => 8, hidden => 16,
        learning_rate => 0.002, bins => 32, preprocess_share => 0.5, seed => NULL,
        replace => false))->>'max_rows' AS max_rows;
SELECT (lipvae.lipvae_train('lv_upgrade_c', 'SELECT age, sex FROM flsmall', bounds => '{"age": [40, 105]}',
        epochs => 2, hidden => 16))->>'scope' AS scope;
SELECT (lipvae.lipvae_train('lv_upgrade_s', 'SELECT age, sex FROM flsmall', bounds => '{"age": [40, 105]}',
        epochs => 2, hidden => 16, seed => 13))->>'scope' AS scope;
CREATE ROLE lv_upgrade_reader;
SELECT lipvae.lipvae_grant('lv_upgrade', 'lv_upgrade_reader', per_record_only => true);
SELECT lipvae.lipvae_grant('lv_upgrade_c', 'lv_upgrade_reader');
SELECT row_to_json(m)::text AS old_row
  FROM (SELECT name, owner, acl, created, query, columns, settings, mechanism, scope, epsilon, delta,
               epsilon_requested, epsilon_preprocess, delta_preprocess, preprocess, passes, nrows,
               diameter, noise_sd, lipschitz_target, lipschitz_certified, mu_pass, row_type, training, model
          FROM lipvae.models WHERE name = 'lv_upgrade') m \gset
SELECT row_to_json(m)::text AS central_row FROM lipvae.models m WHERE name = 'lv_upgrade_c' \gset
SELECT row_to_json(m)::text AS seeded_row FROM lipvae.models m WHERE name = 'lv_upgrade_s' \gset
SELECT md5(string_agg(format('%s %s %s %s %s', row_no, row, epsilon, delta, scope), ',' ORDER BY row_no)) AS old_rows
  FROM lipvae.lipvae_sample('lv_upgrade', 1574) \gset
SELECT md5(string_agg(s::text, ',')) AS old_typed
  FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_upgrade, 1574) AS s \gset
SELECT md5(string_agg(format('%s %s %s %s %s', row_no, row, epsilon, delta, scope), ',' ORDER BY row_no)) AS central_rows
  FROM lipvae.lipvae_sample('lv_upgrade_c', 1000) \gset
-- what a fresh install has: functions and catalog columns
SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid::regprocedure::text) AS fresh_functions
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lipvae' \gset
SELECT string_agg(format('%s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull), ', '
                  ORDER BY a.attnum) AS fresh_columns
  FROM pg_attribute a
 WHERE a.attrelid = 'lipvae.models'::regclass AND a.attnum > 0 AND NOT a.attisdropped \gset
SELECT lipvae.lipvae_drop('lv_upgrade');
SELECT lipvae.lipvae_drop('lv_upgrade_c');
SELECT lipvae.lipvae_drop('lv_upgrade_s');
SET client_min_messages = warning;
DROP DATABASE IF EXISTS lipvae_regression_upgrade;
RESET client_min_messages;
CREATE DATABASE lipvae_regression_upgrade;
\c lipvae_regression_upgrade
CREATE EXTENSION lipvae VERSION '0.1';
SELECT extversion FROM pg_extension WHERE extname = 'lipvae';
-- 0.1: lipvae_train has 18 arguments and trains 'latent' by default; the
-- catalog has no relation column and needs passes and nrows
SELECT pg_get_function_identity_arguments('public.lipvae_train'::regproc) AS arguments,
       pg_get_function_arguments('public.lipvae_train'::regproc) LIKE '%mechanism text DEFAULT ''latent''::text%' AS latent_default;
SELECT count(*) AS catalog_columns,
       count(*) FILTER (WHERE attname = 'relation') AS relation_column,
       bool_and(attnotnull) FILTER (WHERE attname IN ('passes', 'nrows')) AS passes_nrows_not_null
  FROM pg_attribute WHERE attrelid = 'lipvae.models'::regclass AND attnum > 0 AND NOT attisdropped;
-- the model of 0.1: its row type and its catalog row
CREATE TYPE lipvae_types.lv_upgrade AS (age integer, sex text, creatinine double precision,
                                        epsilon double precision, delta double precision, scope text);
INSERT INTO lipvae.models SELECT * FROM json_populate_record(NULL::lipvae.models, :'old_row');
SELECT name, mechanism, passes, nrows, row_type, acl FROM lipvae.models;

ALTER EXTENSION lipvae UPDATE TO '0.2';
SELECT extversion FROM pg_extension WHERE extname = 'lipvae';
-- 0.2: the same catalog columns as a fresh install (0.3 adds none); the
-- functions in the extension's schema (public)
SELECT string_agg(format('%s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull), ', '
                  ORDER BY a.attnum) = :'fresh_columns' AS same_catalog_columns
  FROM pg_attribute a
 WHERE a.attrelid = 'lipvae.models'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
SELECT p.pronamespace::regnamespace AS schema, count(*) AS functions
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lipvae'
 GROUP BY 1 ORDER BY 1::text;
-- the old model's new columns are filled: a per-record guarantee under
-- replace-one, all of it the release's, and the ledger's figure is it
SELECT name, mechanism, scope, relation, passes, nrows,
       epsilon_release = epsilon AS release_is_epsilon, delta_release = delta AS release_delta,
       epsilon_ledger = epsilon AS ledger_is_epsilon, delta_ledger = delta AS ledger_delta,
       epsilon_dpsgd IS NULL AND delta_dpsgd IS NULL AND dpsgd IS NULL AS no_dpsgd
  FROM lipvae.models;
-- a central model and a seeded one of 0.2, both granted to the reader (the
-- seeded one with 0.2's scope, which did not name the seed)
CREATE TYPE lipvae_types.lv_upgrade_c AS (age integer, sex text,
                                          epsilon double precision, delta double precision, scope text);
CREATE TYPE lipvae_types.lv_upgrade_s AS (age integer, sex text,
                                          epsilon double precision, delta double precision, scope text);
INSERT INTO lipvae.models SELECT * FROM json_populate_record(NULL::lipvae.models, :'central_row');
INSERT INTO lipvae.models SELECT * FROM json_populate_record(NULL::lipvae.models, :'seeded_row');
UPDATE lipvae.models SET scope = 'central, add/remove-one',
       acl = ARRAY[makeaclitem('lv_upgrade_reader'::regrole, owner, 'USAGE', false)]
 WHERE name = 'lv_upgrade_s';
SELECT name, mechanism, scope, acl FROM lipvae.models ORDER BY name;
-- the 0.3 library does not run against a 0.2 catalog
\set SHOW_CONTEXT never
SELECT name FROM public.lipvae_models();

ALTER EXTENSION lipvae UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'lipvae';
-- the same functions, catalog columns, privileges and exposure as a fresh
-- install; nothing left in public
SELECT string_agg(p.oid::regprocedure::text, ', ' ORDER BY p.oid::regprocedure::text) = :'fresh_functions'
         AS same_functions
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lipvae';
SELECT string_agg(format('%s %s %s', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull), ', '
                  ORDER BY a.attnum) = :'fresh_columns' AS same_catalog_columns
  FROM pg_attribute a
 WHERE a.attrelid = 'lipvae.models'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
SELECT has_schema_privilege('public', 'lipvae', 'USAGE') AS public_uses_lipvae,
       has_function_privilege('public', 'lipvae.lipvae_train'::regproc, 'EXECUTE') AS public_may_train,
       has_function_privilege('lipvae_trainer', 'lipvae.lipvae_train'::regproc, 'EXECUTE') AS trainer_may_train;
:lipvae_exposure;
:lipvae_public;
:lipvae_pinned;
SELECT count(*) AS lipvae_functions_in_public FROM pg_proc
 WHERE pronamespace = 'public'::regnamespace AND proname LIKE 'lipvae%';
-- the models came through; the seeded one's scope now says it is seeded
SELECT name, mechanism, scope, passes, rows_per_pass, is_owner,
       details->>'relation' AS relation,
       (details->>'epsilon_ledger')::float8 = epsilon AS ledger_is_epsilon
  FROM lipvae.lipvae_models() ORDER BY name;
-- they release exactly the rows they released before, in both forms, and
-- the latent one keeps its pass limit
SELECT md5(string_agg(format('%s %s %s %s %s', row_no, row, epsilon, delta, scope), ',' ORDER BY row_no))
         = :'old_rows' AS same_rows
  FROM lipvae.lipvae_sample('lv_upgrade', 1574);
SELECT md5(string_agg(s::text, ',')) = :'old_typed' AS same_typed_rows
  FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_upgrade, 1574) AS s;
SELECT md5(string_agg(format('%s %s %s %s %s', row_no, row, epsilon, delta, scope), ',' ORDER BY row_no))
         = :'central_rows' AS same_central_rows
  FROM lipvae.lipvae_sample('lv_upgrade_c', 1000);
SELECT * FROM lipvae.lipvae_sample('lv_upgrade', 1, 1574);
-- the reader's grants came through: it samples the same rows; not the
-- seeded model's, whose grant no longer counts
SET ROLE lv_upgrade_reader;
SELECT md5(string_agg(format('%s %s %s %s %s', row_no, row, epsilon, delta, scope), ',' ORDER BY row_no))
         = :'old_rows' AS reader_same_rows
  FROM lipvae.lipvae_sample('lv_upgrade', 1574);
SELECT md5(string_agg(format('%s %s %s %s %s', row_no, row, epsilon, delta, scope), ',' ORDER BY row_no))
         = :'central_rows' AS reader_same_central_rows
  FROM lipvae.lipvae_sample('lv_upgrade_c', 1000);
SELECT name FROM lipvae.lipvae_models() ORDER BY name;
SELECT count(*) FROM lipvae.lipvae_sample('lv_upgrade_s', 10);
RESET ROLE;
-- and the upgraded database trains with the 0.3 library (a seeded model's
-- scope says so)
CREATE TABLE lv_upgrade_src AS SELECT (g % 50) + 20 AS age FROM generate_series(1, 200) g;
SELECT s->>'mechanism' AS mechanism, s->>'scope' AS scope, s ? 'passes' AS has_passes
  FROM (SELECT lipvae.lipvae_train('lv_upgrade_new', 'SELECT age FROM lv_upgrade_src', bounds => '{"age": [0, 100]}',
          seed => 12, epochs => 1, hidden => 16) AS s) x;
SELECT name, mechanism, relation, passes, nrows FROM lipvae.models ORDER BY name;
\c :regression_db
DROP DATABASE lipvae_regression_upgrade;
DROP ROLE lv_upgrade_reader;
SELECT count(*) AS models_left FROM lipvae.models;
