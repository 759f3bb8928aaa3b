--
-- security: who may train, sample, list, grant, revoke, drop and replace.
-- An owner (a trainer that may read flchain), an analyst (no access to the
-- raw table), another trainer, a group role and a member of it.
--
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP TABLE IF EXISTS lv_test_secret;
DROP ROLE IF EXISTS lv_test_owner;
DROP ROLE IF EXISTS lv_test_analyst;
DROP ROLE IF EXISTS lv_test_other;
DROP ROLE IF EXISTS lv_test_member;
DROP ROLE IF EXISTS lv_test_group;
RESET client_min_messages;

CREATE ROLE lv_test_owner;
CREATE ROLE lv_test_analyst;
CREATE ROLE lv_test_other;
CREATE ROLE lv_test_group;
CREATE ROLE lv_test_member IN ROLE lv_test_group;
GRANT lipvae_trainer TO lv_test_owner, lv_test_other;
GRANT SELECT ON flchain, flsmall TO lv_test_owner, lv_test_other;
-- a table the owner may not read
CREATE TABLE lv_test_secret AS SELECT age, sex FROM flsmall;
-- an invoker-rights function reading it, and an invoker-rights view of it
-- the owner may read
CREATE FUNCTION lv_test_peek() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM lv_test_secret';
CREATE VIEW lv_test_secret_v WITH (security_invoker = true) AS SELECT age, sex FROM lv_test_secret;
GRANT SELECT ON lv_test_secret_v TO lv_test_owner;
-- a model of the superuser's
SELECT (lipvae_train('lv_test_admin', 'SELECT age, sex FROM lv_test_secret', bounds => '{"age": [40, 110]}',
        seed => 20, epochs => 3, hidden => 16))->>'model' AS model;

-- the owner trains (every training of this file happens first): a central
-- model (the default), a per-record one and a non-private one
SET ROLE lv_test_owner;
SELECT (lipvae_train('lv_test_m', 'SELECT age, sex, chapter FROM flsmall',
        bounds => '{"age": [40, 110]}', categories => '{"chapter": ["Circulatory", "Neoplasms"]}',
        seed => 21, epochs => 3, hidden => 16))->>'model' AS model;
SELECT (lipvae_train('lv_test_l', 'SELECT age, sex FROM flsmall', mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
        seed => 26, epochs => 3, hidden => 16))->>'model' AS model;
SELECT (lipvae_train('lv_test_none', 'SELECT age, sex FROM flsmall', mechanism => 'none',
        seed => 22, epochs => 3, hidden => 16))->>'model' AS model;
-- the query runs as the caller: no reading what the caller may not read,
-- directly or through an invoker-rights view; a function that reads it is
-- refused before it runs (the privacy ledger cannot attribute its reads)
SELECT lipvae_train('lv_test_x', 'SELECT age, sex FROM lv_test_secret', seed => 23, epochs => 3, hidden => 16);
SELECT lipvae_train('lv_test_x', 'SELECT age, sex FROM lv_test_secret_v', seed => 23, epochs => 3, hidden => 16);
SELECT lipvae_train('lv_test_x', 'SELECT age, lv_test_peek() AS n FROM flsmall', seed => 23, epochs => 3, hidden => 16);
SELECT lipvae_train('lv_test_x', 'SELECT * FROM lipvae.models', seed => 23, epochs => 3, hidden => 16);
RESET ROLE;
-- another trainer may neither replace nor reuse the owner's model name
SET ROLE lv_test_other;
SELECT lipvae_train('lv_test_m', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
                    seed => 24, epochs => 3, hidden => 16, replace => true);
SELECT lipvae_train('lv_test_m', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
                    seed => 24, epochs => 3, hidden => 16);
RESET ROLE;
SELECT owner, query FROM lipvae.models WHERE name = 'lv_test_m';

-- the owner sees everything about its own models
SET ROLE lv_test_owner;
SELECT name, owner, mechanism, is_owner, details->>'query' AS query
  FROM lipvae_models() WHERE name LIKE 'lv_test%' ORDER BY name;
SELECT count(*) AS rows FROM lipvae_sample('lv_test_m', 10);
SELECT count(*) AS rows FROM lipvae_sample('lv_test_none', 10);
-- but not the catalog itself, nor other owners' models
SELECT count(*) FROM lipvae.models;
SELECT count(*) AS others FROM lipvae_models() WHERE NOT is_owner;
SELECT * FROM lipvae_sample('lv_test_admin', 1);
SELECT lipvae_drop('lv_test_admin');
RESET ROLE;

-- the analyst, before any grant
SET ROLE lv_test_analyst;
SELECT count(*) FROM flchain;
SELECT count(*) FROM lipvae.models;
SELECT name FROM lipvae.models;
SELECT lipvae_train('lv_test_y', 'SELECT 1 AS x, 2 AS y', seed => 25);
SELECT * FROM lipvae_sample('lv_test_m', 5);
SELECT * FROM lipvae_sample(NULL::lipvae_types.lv_test_m, 5);
SELECT count(*) AS listed FROM lipvae_models();
SELECT lipvae_grant('lv_test_m', 'lv_test_analyst');
RESET ROLE;

-- the owner grants sampling
SET ROLE lv_test_owner;
SELECT lipvae_grant('lv_test_m', 'lv_test_analyst');
-- granting twice changes nothing
SELECT lipvae_grant('lv_test_m', 'lv_test_analyst');
RESET ROLE;
SELECT acl FROM lipvae.models WHERE name = 'lv_test_m';

-- the analyst may now sample (both forms) and see the guarantee, not the details
SET ROLE lv_test_analyst;
SELECT count(*) AS rows, min(scope) AS scope, bool_and(epsilon <= 1) AS eps_ok
  FROM lipvae_sample('lv_test_m', 100);
SELECT count(*) AS rows, bool_and(age BETWEEN 40 AND 110) AS age_ok
  FROM lipvae_sample(NULL::lipvae_types.lv_test_m, 100);
CREATE TEMP TABLE lv_test_synth AS SELECT * FROM lipvae_sample(NULL::lipvae_types.lv_test_m, 50);
SELECT count(*) AS rows FROM lv_test_synth;
SELECT name, owner, mechanism, scope, delta, passes, rows_per_pass, columns, row_type,
       is_owner, details, epsilon <= 1 AS eps_ok
  FROM lipvae_models();
-- nor n: a central model has no pass limit and one guarantee for all rows,
-- so sampling far beyond the rows' count reveals nothing about it either
SELECT count(*) AS rows, count(DISTINCT epsilon) AS epsilons, min(scope) AS scope
  FROM lipvae_sample('lv_test_m', 10000);
SELECT count(*) AS rows FROM lipvae_sample(NULL::lipvae_types.lv_test_m, 10, 1000000000000);
SELECT count(*) AS rows FROM lipvae_sample('lv_test_m', 1, 7870);
RESET ROLE;
-- a per-record model's n is public (its pass boundaries reveal it): the
-- analyst sees its rows per pass and meets its pass limit, not its details
SET ROLE lv_test_owner;
SELECT lipvae_grant('lv_test_l', 'lv_test_analyst');
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT name, mechanism, scope, passes, rows_per_pass, is_owner, details
  FROM lipvae_models() WHERE name = 'lv_test_l';
SELECT count(*) AS rows, count(DISTINCT epsilon) AS epsilons, max(epsilon) <= 1 AS eps_ok
  FROM lipvae_sample('lv_test_l', 7870);
SELECT * FROM lipvae_sample('lv_test_l', 1, 7870);
RESET ROLE;
SET ROLE lv_test_owner;
SELECT lipvae_drop('lv_test_l');
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT name FROM lipvae_models() ORDER BY name;
-- still no raw table, no catalog, no non-private model
SELECT count(*) FROM flsmall;
SELECT model FROM lipvae.models;
SELECT * FROM lipvae_sample('lv_test_none', 5);
SELECT * FROM lipvae_sample(NULL::lipvae_types.lv_test_none, 5);
-- and the analyst cannot grant, revoke, drop or replace the owner's model
SELECT lipvae_grant('lv_test_m', 'lv_test_member');
SELECT lipvae_revoke('lv_test_m', 'lv_test_analyst');
SELECT lipvae_drop('lv_test_m');
SELECT lipvae_train('lv_test_m', 'SELECT 1 AS x, 2 AS y', replace => true);
RESET ROLE;
SELECT count(*) AS still_there, min(acl::text) AS acl FROM lipvae.models WHERE name = 'lv_test_m';

-- a non-private model can never be granted, not even by a superuser
SET ROLE lv_test_owner;
SELECT lipvae_grant('lv_test_none', 'lv_test_analyst');
RESET ROLE;
SELECT lipvae_grant('lv_test_none', 'lv_test_analyst');
-- another trainer may not grant the owner's model either
SET ROLE lv_test_other;
SELECT lipvae_grant('lv_test_m', 'lv_test_other');
RESET ROLE;

-- revoke: the analyst is refused again
SET ROLE lv_test_owner;
SELECT lipvae_revoke('lv_test_m', 'lv_test_analyst');
RESET ROLE;
SELECT acl FROM lipvae.models WHERE name = 'lv_test_m';
SET ROLE lv_test_analyst;
SELECT * FROM lipvae_sample('lv_test_m', 5);
SELECT * FROM lipvae_sample(NULL::lipvae_types.lv_test_m, 5);
SELECT count(*) AS listed FROM lipvae_models();
RESET ROLE;

-- a grant to a group role reaches its members, and only them
SET ROLE lv_test_owner;
SELECT lipvae_grant('lv_test_m', 'lv_test_group');
RESET ROLE;
SET ROLE lv_test_member;
SELECT count(*) AS rows FROM lipvae_sample('lv_test_m', 10);
SELECT count(*) AS rows FROM lipvae_sample(NULL::lipvae_types.lv_test_m, 10);
SELECT name, is_owner, details IS NULL AS no_details FROM lipvae_models();
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT * FROM lipvae_sample('lv_test_m', 5);
RESET ROLE;

-- dropping a grantee role leaves the model usable by the others
SET ROLE lv_test_owner;
SELECT lipvae_grant('lv_test_m', 'lv_test_analyst');
RESET ROLE;
DROP ROLE lv_test_member;
SET ROLE lv_test_analyst;
SELECT count(*) AS rows FROM lipvae_sample('lv_test_m', 10);
SELECT name FROM lipvae_models();
RESET ROLE;
SET ROLE lv_test_owner;
SELECT count(*) AS rows FROM lipvae_sample('lv_test_m', 10);
SELECT name, is_owner FROM lipvae_models() WHERE name LIKE 'lv_test%' ORDER BY name;
RESET ROLE;

-- the owner drops its model; the grants go with it
SET ROLE lv_test_owner;
SELECT lipvae_drop('lv_test_none');
SELECT lipvae_drop('lv_test_m');
SELECT count(*) AS left_over FROM lipvae_models() WHERE name LIKE 'lv_test%';
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT * FROM lipvae_sample('lv_test_m', 5);
SELECT count(*) AS listed FROM lipvae_models();
RESET ROLE;

-- clean up
SELECT lipvae_drop('lv_test_admin');
DROP TABLE lv_test_synth;
DROP FUNCTION lv_test_peek();
DROP VIEW lv_test_secret_v;
DROP TABLE lv_test_secret;
REVOKE SELECT ON flchain, flsmall FROM lv_test_owner, lv_test_other;
REVOKE lipvae_trainer FROM lv_test_owner, lv_test_other;
DROP ROLE lv_test_group;
DROP ROLE lv_test_other;
DROP ROLE lv_test_analyst;
DROP ROLE lv_test_owner;
SELECT count(*) AS test_roles_left FROM pg_roles WHERE rolname LIKE 'lv_test%';
SELECT count(*) AS test_models_left FROM lipvae.models WHERE name LIKE 'lv_test%';
