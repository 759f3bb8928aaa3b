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
SELECT (lipvae.lipvae_train('lv_test_admin', 'SELECT age, sex FROM lv_test_secret', bounds => '{"age": [40, 110]}',
        seed => 20, epochs => 3, hidden => 16))->>'model' AS model;

-- the owner trains (every training of this file happens first): a central
-- model (the default), a per-record one and a non-private one, and a
-- seeded central one. The models it grants have no seed (a seeded model
-- cannot be granted): their rows differ from run to run, so only what does
-- not depend on the noise is shown.
SET ROLE lv_test_owner;
SELECT (lipvae.lipvae_train('lv_test_m', 'SELECT age, sex, chapter FROM flsmall',
        bounds => '{"age": [40, 110]}', categories => '{"chapter": ["Circulatory", "Neoplasms"]}',
        epochs => 3, hidden => 16))->>'model' AS model;
SELECT (lipvae.lipvae_train('lv_test_l', 'SELECT age, sex FROM flsmall', mechanism => 'latent',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
        epochs => 3, hidden => 16))->>'model' AS model;
SELECT (lipvae.lipvae_train('lv_test_seeded', 'SELECT age, sex FROM flsmall',
        bounds => '{"age": [40, 110]}', categories => '{"sex": ["F", "M"]}',
        seed => 27, epochs => 3, hidden => 16))->>'scope' AS seeded_scope;
SELECT (lipvae.lipvae_train('lv_test_none', 'SELECT age, sex FROM flsmall', mechanism => 'none',
        seed => 22, epochs => 3, hidden => 16))->>'model' AS model;
-- the query runs as the caller: no reading what the caller may not read,
-- directly or through an invoker-rights view; a function that reads it is
-- refused before it runs (the privacy ledger cannot attribute its reads)
SELECT lipvae.lipvae_train('lv_test_x', 'SELECT age, sex FROM lv_test_secret', seed => 23, epochs => 3, hidden => 16);
SELECT lipvae.lipvae_train('lv_test_x', 'SELECT age, sex FROM lv_test_secret_v', seed => 23, epochs => 3, hidden => 16);
SELECT lipvae.lipvae_train('lv_test_x', 'SELECT age, lv_test_peek() AS n FROM flsmall', seed => 23, epochs => 3, hidden => 16);
SELECT lipvae.lipvae_train('lv_test_x', 'SELECT * FROM lipvae.models', seed => 23, epochs => 3, hidden => 16);
RESET ROLE;
-- another trainer may neither replace nor reuse the owner's model name
SET ROLE lv_test_other;
SELECT lipvae.lipvae_train('lv_test_m', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
                    seed => 24, epochs => 3, hidden => 16, replace => true);
SELECT lipvae.lipvae_train('lv_test_m', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
                    seed => 24, epochs => 3, hidden => 16);
RESET ROLE;
SELECT owner, query FROM lipvae.models WHERE name = 'lv_test_m';

-- the owner sees everything about its own models
SET ROLE lv_test_owner;
SELECT name, owner, mechanism, is_owner, details->>'query' AS query
  FROM lipvae.lipvae_models() WHERE name LIKE 'lv_test%' ORDER BY name;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_m', 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_none', 10);
-- but not the catalog itself, nor other owners' models
SELECT count(*) FROM lipvae.models;
SELECT count(*) AS others FROM lipvae.lipvae_models() WHERE NOT is_owner;
SELECT * FROM lipvae.lipvae_sample('lv_test_admin', 1);
SELECT lipvae.lipvae_drop('lv_test_admin');
RESET ROLE;

-- the analyst, before any grant
SET ROLE lv_test_analyst;
SELECT count(*) FROM flchain;
SELECT count(*) FROM lipvae.models;
SELECT name FROM lipvae.models;
SELECT lipvae.lipvae_train('lv_test_y', 'SELECT 1 AS x, 2 AS y', seed => 25);
SELECT * FROM lipvae.lipvae_sample('lv_test_m', 5);
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_m, 5);
SELECT count(*) AS listed FROM lipvae.lipvae_models();
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_analyst');
RESET ROLE;

-- the owner grants sampling
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_analyst');
-- granting twice changes nothing
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_analyst');
RESET ROLE;
SELECT acl FROM lipvae.models WHERE name = 'lv_test_m';

-- the analyst may now sample (both forms) and see the guarantee, not the details
SET ROLE lv_test_analyst;
SELECT count(*) AS rows, min(scope) AS scope, bool_and(epsilon <= 1) AS eps_ok
  FROM lipvae.lipvae_sample('lv_test_m', 100);
SELECT count(*) AS rows, bool_and(age BETWEEN 40 AND 110) AS age_ok
  FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_m, 100);
CREATE TEMP TABLE lv_test_synth AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_m, 50);
SELECT count(*) AS rows FROM lv_test_synth;
SELECT name, owner, mechanism, scope, delta, passes, rows_per_pass, columns, row_type,
       is_owner, details, epsilon <= 1 AS eps_ok
  FROM lipvae.lipvae_models();
-- nor n: a central model has no pass limit and one guarantee for all rows,
-- so sampling far beyond the rows' count reveals nothing about it either
SELECT count(*) AS rows, count(DISTINCT epsilon) AS epsilons, min(scope) AS scope
  FROM lipvae.lipvae_sample('lv_test_m', 10000);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_m, 10, 1000000000000);
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_m', 1, 7870);
RESET ROLE;
-- a per-record-only model (mechanism latent: not central DP) is granted
-- only with the explicit per_record_only => true, by its owner as by a
-- superuser
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_l', 'lv_test_analyst');
SELECT lipvae.lipvae_grant('lv_test_l', 'lv_test_analyst', per_record_only => false);
RESET ROLE;
SELECT lipvae.lipvae_grant('lv_test_l', 'lv_test_analyst');
SELECT acl FROM lipvae.models WHERE name = 'lv_test_l';
SET ROLE lv_test_analyst;
SELECT * FROM lipvae.lipvae_sample('lv_test_l', 1);
RESET ROLE;
-- a per-record model's n is public (its pass boundaries reveal it): the
-- analyst sees its rows per pass and meets its pass limit, not its details
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_l', 'lv_test_analyst', per_record_only => true);
RESET ROLE;
SELECT acl FROM lipvae.models WHERE name = 'lv_test_l';
SET ROLE lv_test_analyst;
SELECT name, mechanism, scope, passes, rows_per_pass, is_owner, details
  FROM lipvae.lipvae_models() WHERE name = 'lv_test_l';
SELECT count(*) AS rows, count(DISTINCT epsilon) AS epsilons, max(epsilon) <= 1 AS eps_ok
  FROM lipvae.lipvae_sample('lv_test_l', 7870);
SELECT * FROM lipvae.lipvae_sample('lv_test_l', 1, 7870);
RESET ROLE;
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_drop('lv_test_l');
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT name FROM lipvae.lipvae_models() ORDER BY name;
-- still no raw table, no catalog, no non-private model
SELECT count(*) FROM flsmall;
SELECT model FROM lipvae.models;
SELECT * FROM lipvae.lipvae_sample('lv_test_none', 5);
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_none, 5);
-- and the analyst cannot grant, revoke, drop or replace the owner's model
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_member');
SELECT lipvae.lipvae_revoke('lv_test_m', 'lv_test_analyst');
SELECT lipvae.lipvae_drop('lv_test_m');
SELECT lipvae.lipvae_train('lv_test_m', 'SELECT 1 AS x, 2 AS y', replace => true);
RESET ROLE;
SELECT count(*) AS still_there, min(acl::text) AS acl FROM lipvae.models WHERE name = 'lv_test_m';

-- a non-private model can never be granted, not even by a superuser
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_none', 'lv_test_analyst');
RESET ROLE;
SELECT lipvae.lipvae_grant('lv_test_none', 'lv_test_analyst');
-- a seeded model (noise and release key derived from its 64-bit seed: no
-- privacy) can never be granted either, with or without per_record_only,
-- not even by a superuser; its scope, on every row, says it is seeded
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_seeded', 'lv_test_analyst');
SELECT lipvae.lipvae_grant('lv_test_seeded', 'lv_test_analyst', per_record_only => true);
SELECT name, scope FROM lipvae.lipvae_models() WHERE name = 'lv_test_seeded';
SELECT count(*) AS rows, min(scope) AS scope, count(DISTINCT scope) AS scopes
  FROM lipvae.lipvae_sample('lv_test_seeded', 20);
SELECT min(scope) AS typed_scope FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_seeded, 20);
RESET ROLE;
SELECT lipvae.lipvae_grant('lv_test_seeded', 'lv_test_analyst');
SELECT acl FROM lipvae.models WHERE name = 'lv_test_seeded';
-- and a grant written into the catalog by hand (as 0.2 allowed) does not
-- count: the analyst may neither sample it nor see it listed
UPDATE lipvae.models SET acl = ARRAY[makeaclitem('lv_test_analyst'::regrole, owner, 'USAGE', false)]
 WHERE name = 'lv_test_seeded';
SET ROLE lv_test_analyst;
SELECT * FROM lipvae.lipvae_sample('lv_test_seeded', 1);
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_seeded, 1);
SELECT count(*) AS seeded_listed FROM lipvae.lipvae_models() WHERE name = 'lv_test_seeded';
RESET ROLE;
-- PUBLIC (regrole's '-') is refused: a grant names the roles it reaches;
-- revoking from it is allowed
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_m', '-');
SELECT lipvae.lipvae_revoke('lv_test_m', '-');
RESET ROLE;
SELECT lipvae.lipvae_grant('lv_test_m', '-');
SELECT acl FROM lipvae.models WHERE name = 'lv_test_m';
-- replacing a model keeps its grants, unless the new model may not be
-- granted as they were: a seeded one, or a per-record-only one replacing
-- a central one (the grants did not consent to per-record only)
SET ROLE lv_test_owner;
SELECT (lipvae.lipvae_train('lv_test_r', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
        epochs => 1, hidden => 16))->>'mechanism' AS mechanism;
SELECT lipvae.lipvae_grant('lv_test_r', 'lv_test_analyst');
SELECT (lipvae.lipvae_train('lv_test_r', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
        mechanism => 'latent', epochs => 1, hidden => 16, replace => true))->>'mechanism' AS mechanism;
RESET ROLE;
SELECT mechanism, acl FROM lipvae.models WHERE name = 'lv_test_r';
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_r', 'lv_test_analyst', per_record_only => true);
SELECT (lipvae.lipvae_train('lv_test_r', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
        mechanism => 'latent', epochs => 1, hidden => 16, replace => true))->>'mechanism' AS mechanism;
RESET ROLE;
SELECT mechanism, acl FROM lipvae.models WHERE name = 'lv_test_r';
SET ROLE lv_test_owner;
SELECT (lipvae.lipvae_train('lv_test_r', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
        seed => 28, epochs => 1, hidden => 16, replace => true))->>'mechanism' AS mechanism;
RESET ROLE;
SELECT mechanism, acl FROM lipvae.models WHERE name = 'lv_test_r';
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_drop('lv_test_r');
RESET ROLE;
-- another trainer may not grant the owner's model either
SET ROLE lv_test_other;
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_other');
RESET ROLE;

-- revoke: the analyst is refused again
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_revoke('lv_test_m', 'lv_test_analyst');
RESET ROLE;
SELECT acl FROM lipvae.models WHERE name = 'lv_test_m';
SET ROLE lv_test_analyst;
SELECT * FROM lipvae.lipvae_sample('lv_test_m', 5);
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_m, 5);
SELECT count(*) AS listed FROM lipvae.lipvae_models();
RESET ROLE;

-- a grant to a group role reaches its members, and only them
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_group');
RESET ROLE;
SET ROLE lv_test_member;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_m', 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_m, 10);
SELECT name, is_owner, details IS NULL AS no_details FROM lipvae.lipvae_models();
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT * FROM lipvae.lipvae_sample('lv_test_m', 5);
RESET ROLE;

-- dropping a grantee role leaves the model usable by the others
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_grant('lv_test_m', 'lv_test_analyst');
RESET ROLE;
DROP ROLE lv_test_member;
SET ROLE lv_test_analyst;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_m', 10);
SELECT name FROM lipvae.lipvae_models();
RESET ROLE;
SET ROLE lv_test_owner;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_m', 10);
SELECT name, is_owner FROM lipvae.lipvae_models() WHERE name LIKE 'lv_test%' ORDER BY name;
RESET ROLE;

-- the owner drops its model; the grants go with it
SET ROLE lv_test_owner;
SELECT lipvae.lipvae_drop('lv_test_none');
SELECT lipvae.lipvae_drop('lv_test_seeded');
SELECT lipvae.lipvae_drop('lv_test_m');
SELECT count(*) AS left_over FROM lipvae.lipvae_models() WHERE name LIKE 'lv_test%';
RESET ROLE;
SET ROLE lv_test_analyst;
SELECT * FROM lipvae.lipvae_sample('lv_test_m', 5);
SELECT count(*) AS listed FROM lipvae.lipvae_models();
RESET ROLE;

-- clean up
SELECT lipvae.lipvae_drop('lv_test_admin');
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
