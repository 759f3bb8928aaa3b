--
-- ledger: the privacy ledger (issue 5). Which relations a training is
-- charged to (through a view, a partition, a join), what is refused, the
-- cumulative totals per kind (not reset by replacing or dropping a model),
-- caps and who may set them, who sees what, and what DROP TABLE does.
-- An owner of the tables (a trainer), a trainer who may read one table and
-- a view over another, an analyst who may read nothing.
--
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP TABLE IF EXISTS lv_ledger_a, lv_ledger_b, lv_ledger_p, lv_ledger_f CASCADE;
DROP FOREIGN TABLE IF EXISTS lv_ledger_ft;
DROP SERVER IF EXISTS lv_ledger_srv;
DROP FOREIGN DATA WRAPPER IF EXISTS lv_ledger_fdw;
DROP ROLE IF EXISTS lv_test_ledger_owner;
DROP ROLE IF EXISTS lv_test_ledger_trainer;
DROP ROLE IF EXISTS lv_test_ledger_analyst;
RESET client_min_messages;

-- the objects: the functions (every role may call them: they filter and
-- check by themselves), the private tables carried by pg_dump, the event
-- trigger that detaches dropped relations
SELECT p.oid::regprocedure AS function, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
  FROM pg_proc p
 WHERE p.proname IN ('lipvae_ledger', 'lipvae_ledger_entries', 'lipvae_set_cap', 'ledger_dropped')
 ORDER BY p.oid::regprocedure::text;
SELECT c.relname, c.oid = ANY (e.extconfig) AS dumped,
       has_table_privilege('public', c.oid, 'SELECT') AS public_may_read
  FROM pg_extension e, pg_class c
 WHERE e.extname = 'lipvae' AND c.relnamespace = 'lipvae'::regnamespace
   AND c.relname IN ('ledger_sources', 'ledger_entries', 'ledger_entry_seq')
 ORDER BY 1;
SELECT evtname, evtevent, evtfoid::regproc, evtenabled FROM pg_event_trigger WHERE evtname = 'lipvae_ledger_dropped';

CREATE ROLE lv_test_ledger_owner;
CREATE ROLE lv_test_ledger_trainer;
CREATE ROLE lv_test_ledger_analyst;
GRANT lipvae_trainer TO lv_test_ledger_owner, lv_test_ledger_trainer;

-- the owner's data: two tables, a view over a, a partitioned table
CREATE TABLE lv_ledger_a AS SELECT age, sex FROM flsmall;
CREATE TABLE lv_ledger_b AS SELECT age, chapter FROM flsmall;
CREATE TABLE lv_ledger_p (age int, sex text) PARTITION BY RANGE (age);
CREATE TABLE lv_ledger_p_young PARTITION OF lv_ledger_p FOR VALUES FROM (0) TO (65);
CREATE TABLE lv_ledger_p_old PARTITION OF lv_ledger_p FOR VALUES FROM (65) TO (200);
INSERT INTO lv_ledger_p SELECT age, sex FROM flsmall;
ALTER TABLE lv_ledger_a OWNER TO lv_test_ledger_owner;
ALTER TABLE lv_ledger_b OWNER TO lv_test_ledger_owner;
ALTER TABLE lv_ledger_p OWNER TO lv_test_ledger_owner;
ALTER TABLE lv_ledger_p_young OWNER TO lv_test_ledger_owner;
ALTER TABLE lv_ledger_p_old OWNER TO lv_test_ledger_owner;
CREATE VIEW lv_ledger_v AS SELECT age, sex FROM lv_ledger_a WHERE age >= 50;
ALTER VIEW lv_ledger_v OWNER TO lv_test_ledger_owner;
SET ROLE lv_test_ledger_owner;
-- the trainer may read b and the view over a, not a itself
GRANT SELECT ON lv_ledger_b, lv_ledger_v TO lv_test_ledger_trainer;
RESET ROLE;

-- the sources of a training: through a view its base table, through a
-- partition the partitioned table's root, a join both tables
SET ROLE lv_test_ledger_owner;
SELECT (lipvae.lipvae_train('lv_ledger_m1', 'SELECT age, sex FROM lv_ledger_v', epsilon => 1, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
        seed => 1, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
SELECT (lipvae.lipvae_train('lv_ledger_m2', 'SELECT age, sex FROM lv_ledger_p_old', epsilon => 1, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
        seed => 2, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
SELECT (lipvae.lipvae_train('lv_ledger_m3', 'SELECT a.age, a.sex, b.chapter FROM lv_ledger_a a JOIN lv_ledger_b b USING (age) LIMIT 500',
        mechanism => 'none', seed => 3, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
RESET ROLE;
SELECT model, trainer, relations, relation_names, kind, mechanism, neighbouring,
       round(epsilon::numeric, 3) AS epsilon, delta
  FROM lipvae.lipvae_ledger_entries() WHERE model LIKE 'lv_ledger%' ORDER BY entry;
SELECT relation, round(central_epsilon::numeric, 3) AS central_epsilon, central_delta,
       round(per_record_epsilon::numeric, 3) AS per_record_epsilon, per_record_delta,
       non_private_trainings, trainings, central_cap, per_record_cap
  FROM lipvae.lipvae_ledger() WHERE relation::text LIKE 'lv_ledger%' ORDER BY relation::text;

-- the same rows released again: replacing a model adds its fresh key's
-- release to the per-record total (nothing is reset), and dropping the
-- model removes no entry
SET ROLE lv_test_ledger_owner;
SELECT (lipvae.lipvae_train('lv_ledger_m1', 'SELECT age, sex FROM lv_ledger_v', epsilon => 1, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
        seed => 4, epochs => 1, hidden => 16, replace => true))->>'mechanism' AS mechanism;
SELECT lipvae.lipvae_drop('lv_ledger_m1');
RESET ROLE;
SELECT relation, round(per_record_epsilon::numeric, 3) AS per_record_epsilon, per_record_delta, trainings
  FROM lipvae.lipvae_ledger() WHERE relation = 'lv_ledger_a'::regclass;
SELECT model, kind, round(epsilon::numeric, 3) AS epsilon
  FROM lipvae.lipvae_ledger_entries() WHERE model = 'lv_ledger_m1' ORDER BY entry;

-- central and per-record totals are kept apart: a central model's spend
-- (its guarantee under replace-one, as the summary shows) goes to the
-- central total only
SET ROLE lv_test_ledger_owner;
CREATE TEMP TABLE lv_ledger_summary AS
SELECT lipvae.lipvae_train('lv_ledger_c1', 'SELECT age, sex FROM lv_ledger_a', epsilon => 1, mechanism => 'central',
                    bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
                    seed => 5, epochs => 1, hidden => 16) AS s;
RESET ROLE;
SELECT l.central_epsilon = (s->>'epsilon_ledger')::float8 AS central_is_the_charge,
       l.central_delta = (s->>'delta')::float8 AS central_delta_is_delta,
       round(l.per_record_epsilon::numeric, 3) AS per_record_unchanged, l.trainings
  FROM lipvae.lipvae_ledger() l, lv_ledger_summary WHERE l.relation = 'lv_ledger_a'::regclass;
SELECT model, kind, mechanism, neighbouring, epsilon = (s->>'epsilon_ledger')::float8 AS epsilon_is_the_charge
  FROM lipvae.lipvae_ledger_entries(), lv_ledger_summary WHERE model = 'lv_ledger_c1';

-- what is refused: data the ledger cannot attribute to relations. Nothing
-- is recorded for a refused training.
CREATE FOREIGN DATA WRAPPER lv_ledger_fdw;
CREATE SERVER lv_ledger_srv FOREIGN DATA WRAPPER lv_ledger_fdw;
CREATE FOREIGN TABLE lv_ledger_ft (age int, sex text) SERVER lv_ledger_srv;
CREATE TABLE lv_ledger_f (age int, sex text) PARTITION BY RANGE (age);
CREATE TABLE lv_ledger_f_local PARTITION OF lv_ledger_f FOR VALUES FROM (0) TO (65);
CREATE FOREIGN TABLE lv_ledger_f_remote PARTITION OF lv_ledger_f FOR VALUES FROM (65) TO (200) SERVER lv_ledger_srv;
CREATE VIEW lv_ledger_fv AS SELECT * FROM lv_ledger_a UNION ALL SELECT * FROM lv_ledger_ft;
CREATE FUNCTION lv_ledger_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM lv_ledger_b';
CREATE FUNCTION lv_ledger_old(a int) RETURNS boolean LANGUAGE plpgsql AS 'BEGIN RETURN a > 60; END';
CREATE DOMAIN lv_ledger_dom AS int CHECK (VALUE < lv_ledger_count());
SELECT count(*) AS entries_before FROM lipvae.lipvae_ledger_entries() \gset
-- a foreign table, directly, through a view, as a partition
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT age, sex FROM lv_ledger_ft', mechanism => 'none');
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT age, sex FROM lv_ledger_fv', mechanism => 'none');
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT age, sex FROM lv_ledger_f', mechanism => 'none');
-- functions in FROM, even built-in ones
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT g AS age FROM generate_series(1, 1000) g', mechanism => 'none');
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT a.age FROM lv_ledger_a a, LATERAL unnest(ARRAY[a.age]) u', mechanism => 'none');
-- functions that are not built in: SQL, PL/pgSQL, in a domain's CHECK
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT age, lv_ledger_count() AS n FROM lv_ledger_a', mechanism => 'none');
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT age FROM lv_ledger_a WHERE lv_ledger_old(age)', mechanism => 'none');
SELECT lipvae.lipvae_train('lv_ledger_x', 'SELECT age::lv_ledger_dom AS age FROM lv_ledger_a', mechanism => 'none');
-- built-in functions that read data by themselves
SELECT lipvae.lipvae_train('lv_ledger_x', $$SELECT age, length(query_to_xml('SELECT * FROM lv_ledger_b', true, false, '')::text) AS n
                                     FROM lv_ledger_a$$, mechanism => 'none');
SELECT lipvae.lipvae_train('lv_ledger_x', $$SELECT age FROM lv_ledger_a WHERE sex = (SELECT max(pg_read_file('PG_VERSION')))$$,
                    mechanism => 'none');
SELECT count(*) = :entries_before AS nothing_recorded FROM lipvae.lipvae_ledger_entries();
SELECT count(*) AS models FROM lipvae.lipvae_models() WHERE name = 'lv_ledger_x';

-- a query that reads no relation has no source: allowed, and recorded
-- with an empty list
SELECT (lipvae.lipvae_train('lv_ledger_values', 'SELECT a FROM (VALUES (1), (2), (3), (4)) AS v(a)',
        mechanism => 'none', epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
SELECT model, relations, relation_names, kind FROM lipvae.lipvae_ledger_entries() WHERE model = 'lv_ledger_values';
SELECT lipvae.lipvae_drop('lv_ledger_values');

-- caps: only a superuser or (a member of) the owner role may set them
SET ROLE lv_test_ledger_trainer;
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => 100);
SELECT lipvae.lipvae_set_cap('lv_ledger_b', central_epsilon => 100);
RESET ROLE;
SET ROLE lv_test_ledger_analyst;
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => 100);
RESET ROLE;
SET ROLE lv_test_ledger_owner;
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => 2.5);
SELECT lipvae.lipvae_set_cap('lv_ledger_b', central_epsilon => 0.5);
RESET ROLE;
SELECT relation, central_cap, per_record_cap FROM lipvae.lipvae_ledger() WHERE relation::text LIKE 'lv_ledger%' ORDER BY relation::text;

-- a central cap binds every query that reads the relation, alone or joined
SET ROLE lv_test_ledger_trainer;
SELECT lipvae.lipvae_train('lv_ledger_t1', 'SELECT age, chapter FROM lv_ledger_b', epsilon => 1, mechanism => 'central',
                    bounds => '{"age": [40, 110]}', seed => 6, epochs => 1, hidden => 16);
SELECT lipvae.lipvae_train('lv_ledger_t1', 'SELECT v.age, b.chapter FROM lv_ledger_v v JOIN lv_ledger_b b USING (age)',
                    epsilon => 1, mechanism => 'central', bounds => '{"age": [40, 110]}', seed => 6, epochs => 1, hidden => 16);
-- ... but not the per-record total of b, nor a training on a alone
SELECT (lipvae.lipvae_train('lv_ledger_t2', 'SELECT age, chapter FROM lv_ledger_b', epsilon => 1, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', seed => 7, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
-- the per-record cap of a (total about 2, cap 2.5) refuses another
-- release of a's rows through the view the trainer may read
\set VERBOSITY terse
SELECT lipvae.lipvae_train('lv_ledger_t3', 'SELECT age, sex FROM lv_ledger_v', epsilon => 1, mechanism => 'latent',
                    bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}', seed => 8, epochs => 1, hidden => 16);
\set VERBOSITY default
-- a smaller release still fits under the cap
SELECT (lipvae.lipvae_train('lv_ledger_t3', 'SELECT age, sex FROM lv_ledger_v', epsilon => 0.25, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}', seed => 8, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
RESET ROLE;
-- the owner raises the cap, and the training passes
SET ROLE lv_test_ledger_owner;
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => 4);
RESET ROLE;
SET ROLE lv_test_ledger_trainer;
SELECT (lipvae.lipvae_train('lv_ledger_t4', 'SELECT age, sex FROM lv_ledger_v', epsilon => 1, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}', seed => 9, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
RESET ROLE;
SELECT relation, round(per_record_epsilon::numeric, 3) AS per_record_epsilon, per_record_cap, trainings
  FROM lipvae.lipvae_ledger() WHERE relation = 'lv_ledger_a'::regclass;
-- a cap below the total is allowed: it blocks further training; 'Infinity'
-- removes a cap, NULL leaves it as it is; non-private training has no cap
SET ROLE lv_test_ledger_owner;
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => 1);
\set VERBOSITY terse
SELECT lipvae.lipvae_train('lv_ledger_t5', 'SELECT age, sex FROM lv_ledger_a', epsilon => 0.1, mechanism => 'latent',
                    bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}', seed => 10, epochs => 1, hidden => 16);
\set VERBOSITY default
SELECT (lipvae.lipvae_train('lv_ledger_t6', 'SELECT age, sex FROM lv_ledger_a', mechanism => 'none',
        seed => 10, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
SELECT lipvae.lipvae_set_cap('lv_ledger_a', central_epsilon => 7);
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => 'Infinity');
RESET ROLE;
SELECT relation, central_cap, per_record_cap, non_private_trainings, trainings
  FROM lipvae.lipvae_ledger() WHERE relation = 'lv_ledger_a'::regclass;
-- what a cap cannot be set on, and bad values
SELECT lipvae.lipvae_set_cap('lv_ledger_v', 1);
SELECT lipvae.lipvae_set_cap('lv_ledger_p_old', 1);
SELECT lipvae.lipvae_set_cap('lv_ledger_ft', 1);
SELECT lipvae.lipvae_set_cap('lv_ledger_a', 'NaN');
SELECT lipvae.lipvae_set_cap('lv_ledger_a', per_record_epsilon => -1);
SELECT lipvae.lipvae_set_cap('lv_ledger_a');
SELECT lipvae.lipvae_set_cap(NULL, 1);

-- a training that is rolled back records nothing
BEGIN;
SELECT (lipvae.lipvae_train('lv_ledger_rb', 'SELECT age, sex FROM lv_ledger_a', epsilon => 1, mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}', seed => 11, epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
ROLLBACK;
SELECT count(*) AS entries FROM lipvae.lipvae_ledger_entries() WHERE model = 'lv_ledger_rb';

-- who sees what: the owner its relations; the trainer the relations it may
-- read (b, not a: only the view over a), its own entries and those reading
-- b; the analyst nothing
SET ROLE lv_test_ledger_owner;
SELECT relation, trainings FROM lipvae.lipvae_ledger() WHERE relation::text LIKE 'lv_ledger%' ORDER BY relation::text;
SELECT count(*) AS entries FROM lipvae.lipvae_ledger_entries() WHERE model LIKE 'lv_ledger%';
RESET ROLE;
SET ROLE lv_test_ledger_trainer;
SELECT relation, trainings FROM lipvae.lipvae_ledger() WHERE relation::text LIKE 'lv_ledger%' ORDER BY relation::text;
SELECT model, trainer, relations FROM lipvae.lipvae_ledger_entries() WHERE model LIKE 'lv_ledger%' ORDER BY entry;
-- the charges of another's training: only the relations it may see (not a)
SELECT model, relation FROM lipvae.lipvae_ledger_charges() WHERE model LIKE 'lv_ledger%' ORDER BY entry, relation::text;
RESET ROLE;
SET ROLE lv_test_ledger_analyst;
SELECT count(*) AS relations FROM lipvae.lipvae_ledger();
SELECT count(*) AS entries FROM lipvae.lipvae_ledger_entries();
SELECT count(*) AS charges FROM lipvae.lipvae_ledger_charges();
RESET ROLE;

-- a sequence read past the range table (a cap on it would not bind): refused
CREATE SEQUENCE lv_ledger_seq;
SELECT lipvae.lipvae_train('lv_ledger_sq', 'SELECT age + pg_sequence_last_value(''lv_ledger_seq''::regclass) AS age FROM flsmall',
                           seed => 1, epochs => 1, hidden => 16);
SELECT lipvae.lipvae_train('lv_ledger_sq', 'SELECT age + nextval(''lv_ledger_seq'') AS age FROM flsmall',
                           seed => 1, epochs => 1, hidden => 16);
DROP SEQUENCE lv_ledger_seq;

-- the totals are the sums of the entries (rounded up)
SELECT l.relation,
       l.central_epsilon >= coalesce(sum(e.epsilon) FILTER (WHERE e.kind = 'central'), 0)
         AND l.central_epsilon <= coalesce(sum(e.epsilon) FILTER (WHERE e.kind = 'central'), 0) * (1 + 1e-12) AS central_ok,
       l.per_record_epsilon >= coalesce(sum(e.epsilon) FILTER (WHERE e.kind = 'per-record'), 0)
         AND l.per_record_epsilon <= coalesce(sum(e.epsilon) FILTER (WHERE e.kind = 'per-record'), 0) * (1 + 1e-12) AS per_record_ok,
       l.non_private_trainings = count(*) FILTER (WHERE e.kind = 'none') AS non_private_ok,
       l.trainings = count(*) AS trainings_ok
  FROM lipvae.lipvae_ledger() l JOIN lipvae.lipvae_ledger_entries() e ON l.relation = ANY (e.relations)
 WHERE l.relation::text LIKE 'lv_ledger%'
 GROUP BY l.relation, l.central_epsilon, l.per_record_epsilon, l.non_private_trainings, l.trainings
 ORDER BY relation::text;

-- DROP TABLE: the relation leaves lipvae.lipvae_ledger(); its row keeps totals,
-- caps and name without the OID, and the entries keep its name
SET ROLE lv_test_ledger_owner;
DROP TABLE lv_ledger_b;
RESET ROLE;
SELECT relation FROM lipvae.lipvae_ledger() WHERE relation::text LIKE 'lv_ledger%' ORDER BY relation::text;
SELECT relation, relation_name, dropped IS NOT NULL AS dropped, central_cap, trainings
  FROM lipvae.ledger_sources WHERE relation_name = 'public.lv_ledger_b';
SELECT model, relations, relation_names FROM lipvae.lipvae_ledger_entries() WHERE model = 'lv_ledger_m3';

-- clean up (the entries stay)
SELECT lipvae.lipvae_drop(name) FROM lipvae.lipvae_models() WHERE name LIKE 'lv_ledger%' ORDER BY name;
DROP TABLE lv_ledger_summary;
DROP VIEW lv_ledger_fv;
DROP TABLE lv_ledger_a, lv_ledger_p, lv_ledger_f CASCADE;
DROP FOREIGN TABLE lv_ledger_ft;
DROP SERVER lv_ledger_srv;
DROP FOREIGN DATA WRAPPER lv_ledger_fdw;
DROP DOMAIN lv_ledger_dom;
DROP FUNCTION lv_ledger_count(), lv_ledger_old(int);
REVOKE lipvae_trainer FROM lv_test_ledger_owner, lv_test_ledger_trainer;
DROP ROLE lv_test_ledger_owner;
DROP ROLE lv_test_ledger_trainer;
DROP ROLE lv_test_ledger_analyst;
SELECT count(*) AS entries_kept, count(*) FILTER (WHERE trainer = '(dropped role)') AS of_dropped_roles
  FROM lipvae.lipvae_ledger_entries() WHERE model LIKE 'lv_ledger%';
