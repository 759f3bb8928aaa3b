-- hostile: search_path hijacking. A trainer puts its own schema before
-- pg_catalog in search_path, with look-alikes of what lipvae's internal SQL
-- calls (the = operator on text and name, hashtext, the advisory lock, a
-- table named like the catalog), every one of them logging its call. lipvae
-- reads and writes its catalog as the extension owner with search_path
-- pinned to pg_catalog and every object qualified, so no call reaches the
-- look-alikes: train, sample (both forms), grant, revoke, list, report,
-- ledger and drop all work, and the log stays empty (the test's own filters
-- qualify their operator). A control at the end
-- proves the trap is armed: the trainer's own unqualified query falls in it.
CREATE ROLE lv_evil;
CREATE ROLE lv_evil_analyst;
GRANT lipvae_trainer TO lv_evil;
GRANT SELECT ON flchain TO lv_evil;
CREATE SCHEMA evil AUTHORIZATION lv_evil;
GRANT CREATE ON SCHEMA public TO lv_evil;

SET ROLE lv_evil;
CREATE TABLE evil.calls (what text);
CREATE FUNCTION evil.texteq(text, text) RETURNS boolean LANGUAGE sql VOLATILE AS
  $$ INSERT INTO evil.calls VALUES ('=(text,text)'); SELECT pg_catalog.texteq($1, $2) $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq);
CREATE FUNCTION evil.nameeq(name, name) RETURNS boolean LANGUAGE sql VOLATILE AS
  $$ INSERT INTO evil.calls VALUES ('=(name,name)'); SELECT pg_catalog.nameeq($1, $2) $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.nameeq);
CREATE FUNCTION evil.hashtext(text) RETURNS integer LANGUAGE sql VOLATILE AS
  $$ INSERT INTO evil.calls VALUES ('hashtext'); SELECT 1 $$;
CREATE FUNCTION evil.pg_advisory_xact_lock(integer, integer) RETURNS void LANGUAGE sql VOLATILE AS
  $$ INSERT INTO evil.calls VALUES ('pg_advisory_xact_lock') $$;
CREATE FUNCTION evil.lower(text) RETURNS text LANGUAGE sql VOLATILE AS
  $$ INSERT INTO evil.calls VALUES ('lower'); SELECT $1 $$;
CREATE TABLE evil.models (name text, model bytea);
SET search_path = evil, pg_catalog, public;

SELECT (lipvae.lipvae_train('evil_m', 'SELECT age, sex FROM public.flchain', epsilon => 2,
        epochs => 1, hidden => 16, bounds => '{"age": [50, 101]}',
        categories => '{"sex": ["F", "M"]}'))->>'model' AS trained;
SELECT (lipvae.lipvae_train('evil_m', 'SELECT age, sex FROM public.flchain', epsilon => 2,
        epochs => 1, hidden => 16, bounds => '{"age": [50, 101]}',
        categories => '{"sex": ["F", "M"]}', replace => true))->>'model' AS replaced;
SELECT count(*) AS rows, min(scope) AS scope FROM lipvae.lipvae_sample('evil_m', 300);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.evil_m, 300, 7);
SELECT lipvae.lipvae_grant('evil_m', 'lv_evil_analyst');
SELECT name, mechanism FROM lipvae.lipvae_models() WHERE name OPERATOR(pg_catalog.=) 'evil_m';
SELECT lipvae.lipvae_revoke('evil_m', 'lv_evil_analyst');
SELECT count(*) > 0 AS report_rows FROM lipvae.lipvae_report('evil_m', 200);
SELECT count(*) > 0 AS ledger_rows FROM lipvae.lipvae_ledger();
SELECT count(*) > 0 AS entries FROM lipvae.lipvae_ledger_entries() WHERE model OPERATOR(pg_catalog.=) 'evil_m';
SELECT lipvae.lipvae_drop('evil_m');
SELECT count(*) AS look_alike_calls FROM evil.calls;
SELECT count(*) AS rows_in_fake_catalog FROM evil.models;

-- the control: the trainer's own unqualified comparison does call them
SELECT 'a'::text = 'a'::text AS own_query;
SELECT what FROM evil.calls;

RESET search_path;
RESET ROLE;
DROP SCHEMA evil CASCADE;
REVOKE CREATE ON SCHEMA public FROM lv_evil;
REVOKE SELECT ON flchain FROM lv_evil;
DROP OWNED BY lv_evil;
DROP ROLE lv_evil;
DROP ROLE lv_evil_analyst;
