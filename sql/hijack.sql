--
-- hijack: look-alikes of lipvae's own functions (issue 11, item 2). A role
-- with nothing but CREATE on schema public puts overloads of lipvae_sample
-- (and of lipvae_report) there, and in the session's pg_temp, that
-- overload resolution prefers to lipvae's: lipvae_sample(<row type>,
-- integer) and lipvae_sample(<row type>, bigint, bigint DEFAULT 0) beat the
-- polymorphic lipvae_sample(anyelement, bigint, bigint), and
-- lipvae_sample(text, integer) beats lipvae_sample(text, bigint, bigint),
-- wherever they are on the search_path. Each trap logs its call, tries to
-- read the raw table and to grant itself the model (which succeeds if the
-- model's owner runs it), then returns the real rows, so the caller notices
-- nothing. Until 0.2 lipvae_report, run by the owner, called such a trap.
-- Since 0.3 the functions live in schema lipvae, where nobody else may
-- create: the owner's report and the analyst's documented qualified calls
-- never reach a trap, whatever the search_path. A control at the end shows
-- the traps are armed: unqualified calls fall into them, even with lipvae
-- before public on the search_path.
--
\set SHOW_CONTEXT never
CREATE ROLE lv_hj_owner;
CREATE ROLE lv_hj_analyst;
CREATE ROLE lv_hj_attacker;
GRANT lipvae_trainer TO lv_hj_owner;
GRANT SELECT ON flsmall TO lv_hj_owner;
GRANT CREATE ON SCHEMA public TO lv_hj_attacker;

-- the owner's model, granted to the analyst (central, unseeded: grantable;
-- its rows vary from run to run, so only counts are shown)
SET ROLE lv_hj_owner;
SELECT (lipvae.lipvae_train('hj_m', 'SELECT age, sex FROM flsmall', bounds => '{"age": [40, 105]}',
        categories => '{"sex": ["F", "M"]}', epochs => 2, hidden => 16))->>'model' AS model;
SELECT lipvae.lipvae_grant('hj_m', 'lv_hj_analyst');
RESET ROLE;

-- the attacker's log, which everybody may append to, and its traps
SET ROLE lv_hj_attacker;
CREATE TABLE public.lv_hj_log (trap text, ran_as text, read_raw_rows bigint, granted boolean);
GRANT INSERT ON public.lv_hj_log TO PUBLIC;
-- what every trap does before it returns the real rows
CREATE FUNCTION public.lv_hj_steal(trap text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    v_rows bigint;
    v_granted boolean := false;
BEGIN
    BEGIN
        SELECT count(*) INTO v_rows FROM public.flsmall;
    EXCEPTION WHEN insufficient_privilege THEN
        v_rows := NULL;
    END;
    BEGIN
        PERFORM lipvae.lipvae_grant('hj_m', 'lv_hj_attacker');
        v_granted := true;
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;
    END;
    INSERT INTO public.lv_hj_log VALUES (trap, current_user, v_rows, v_granted);
END $$;
CREATE FUNCTION public.lipvae_sample(r lipvae_types.hj_m, n integer)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.lipvae_sample(hj_m, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n::bigint, 0::bigint);
END $$;
CREATE FUNCTION public.lipvae_sample(r lipvae_types.hj_m, n bigint, start bigint DEFAULT 0)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.lipvae_sample(hj_m, bigint, bigint)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n, start);
END $$;
CREATE FUNCTION public.lipvae_sample(model text, n integer)
RETURNS TABLE (row_no bigint, "row" jsonb, epsilon float8, delta float8, scope text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.lipvae_sample(text, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(model, n::bigint, 0::bigint);
END $$;
CREATE FUNCTION public.lipvae_report(model text, n integer)
RETURNS TABLE (metric text, columns text, "real" float8, synthetic float8, value float8, note text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.lipvae_report(text, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_report(model, n::bigint);
END $$;
-- the same look-alikes in the session's temporary schema
CREATE FUNCTION pg_temp.lipvae_sample(r lipvae_types.hj_m, n integer)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('pg_temp.lipvae_sample(hj_m, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n::bigint, 0::bigint);
END $$;
CREATE FUNCTION pg_temp.lipvae_sample(r lipvae_types.hj_m, n bigint, start bigint DEFAULT 0)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('pg_temp.lipvae_sample(hj_m, bigint, bigint)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n, start);
END $$;
CREATE FUNCTION pg_temp.lipvae_sample(model text, n integer)
RETURNS TABLE (row_no bigint, "row" jsonb, epsilon float8, delta float8, scope text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('pg_temp.lipvae_sample(text, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(model, n::bigint, 0::bigint);
END $$;
GRANT EXECUTE ON FUNCTION public.lv_hj_steal(text) TO PUBLIC;
-- (since 0.3 a model's row type has USAGE for its owner alone: the traps
-- with it in their signature above were refused, "permission denied for
-- type"; a superuser plants them below, so that they are armed all the same)
-- nothing may be put into lipvae or lipvae_types
CREATE FUNCTION lipvae.lipvae_sample(r lipvae_types.hj_m, n integer)
RETURNS SETOF lipvae_types.hj_m LANGUAGE sql AS 'SELECT NULL::lipvae_types.hj_m';
CREATE FUNCTION lipvae_types.lipvae_sample(r lipvae_types.hj_m, n integer)
RETURNS SETOF lipvae_types.hj_m LANGUAGE sql AS 'SELECT NULL::lipvae_types.hj_m';
CREATE TYPE lipvae_types.hj_fake AS (x integer);
RESET ROLE;
CREATE FUNCTION public.lipvae_sample(r lipvae_types.hj_m, n integer)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.lipvae_sample(hj_m, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n::bigint, 0::bigint);
END $$;
CREATE FUNCTION public.lipvae_sample(r lipvae_types.hj_m, n bigint, start bigint DEFAULT 0)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.lipvae_sample(hj_m, bigint, bigint)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n, start);
END $$;
CREATE FUNCTION pg_temp.lipvae_sample(r lipvae_types.hj_m, n integer)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('pg_temp.lipvae_sample(hj_m, integer)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n::bigint, 0::bigint);
END $$;
CREATE FUNCTION pg_temp.lipvae_sample(r lipvae_types.hj_m, n bigint, start bigint DEFAULT 0)
RETURNS SETOF lipvae_types.hj_m LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('pg_temp.lipvae_sample(hj_m, bigint, bigint)');
    RETURN QUERY SELECT * FROM lipvae.lipvae_sample(r, n, start);
END $$;

-- the owner's report, under the search_paths an attacker would like (the
-- report's training query runs under the caller's: public is on it), and
-- with the traps in pg_temp first
SET ROLE lv_hj_owner;
SET search_path = public, lipvae;
SELECT count(*) AS report_rows, count(*) FILTER (WHERE metric = 'tvd_1way') AS tvd_1way_rows
  FROM lipvae.lipvae_report('hj_m', 50);
SET search_path = pg_temp, public, lipvae;
SELECT count(*) AS report_rows FROM lipvae.lipvae_report('hj_m', 50);
RESET search_path;
SELECT count(*) AS report_rows FROM lipvae.lipvae_report('hj_m', 50);
-- the owner's own qualified calls
SET search_path = public, lipvae;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('hj_m', 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.hj_m, 10);
RESET search_path;
RESET ROLE;

-- the analyst's documented calls, under the same search_paths
SET ROLE lv_hj_analyst;
SET search_path = public, lipvae;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('hj_m', 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.hj_m, 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.hj_m, 10::bigint, 5::bigint);
SET search_path = pg_temp, public, lipvae;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('hj_m', 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.hj_m, 10);
RESET search_path;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('hj_m', 10);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.hj_m, 10);
RESET ROLE;

-- no trap ran, the attacker got no grant, and lipvae's schemas hold only
-- lipvae's objects
SELECT count(*) AS trap_calls FROM public.lv_hj_log;
SELECT acl FROM lipvae.models WHERE name = 'hj_m';
SELECT count(*) AS foreign_functions FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname IN ('lipvae', 'lipvae_types') AND p.proowner <> n.nspowner;
SELECT count(*) AS foreign_types FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname IN ('lipvae', 'lipvae_types') AND t.typowner <> n.nspowner;

-- the control: unqualified calls fall into the traps. With public first;
-- and with lipvae first too, since a better-matching overload wins in any
-- schema on the path (only an exact signature goes by the order)
SET ROLE lv_hj_analyst;
SET search_path = public, lipvae;
SELECT count(*) AS rows FROM lipvae_sample(NULL::lipvae_types.hj_m, 10);
SELECT count(*) AS rows FROM lipvae_sample('hj_m', 10);
SET search_path = lipvae, public;
SELECT count(*) AS rows FROM lipvae_sample(NULL::lipvae_types.hj_m, 10);
SELECT count(*) AS rows FROM lipvae_sample(NULL::lipvae_types.hj_m, 10::bigint);
SELECT count(*) AS rows FROM lipvae_sample('hj_m', 10);
-- pg_temp is never searched for functions: its traps run only when named
SET search_path = pg_temp, lipvae;
SELECT count(*) AS rows FROM lipvae_sample('hj_m', 10::bigint);
SELECT count(*) AS rows FROM pg_temp.lipvae_sample('hj_m', 10);
RESET search_path;
RESET ROLE;
-- and the owner who calls the report unqualified with public first runs
-- the attacker's code as itself: the raw table read, the model granted
SET ROLE lv_hj_owner;
SET search_path = public, lipvae;
SELECT count(*) AS report_rows FROM lipvae_report('hj_m', 50);
RESET search_path;
RESET ROLE;
SELECT trap, ran_as, read_raw_rows, granted FROM public.lv_hj_log ORDER BY trap, ran_as;
SELECT acl FROM lipvae.models WHERE name = 'hj_m';

-- the report runs the model's training query again, as the owner: a
-- look-alike of a function the query calls (round(integer) matches an
-- integer column better than the built-in round(numeric)) must not run.
-- The report parses the query under the owner's search_path, refuses a
-- function that is not built in (as training does), and runs the checked
-- query written out with qualified names under its pinned search_path:
-- with the look-alike on the owner's path the report is refused, unrun.
SET ROLE lv_hj_owner;
SELECT (lipvae.lipvae_train('hj_r', 'SELECT round(age) AS age, sex FROM flsmall', bounds => '{"age": [40, 105]}',
        categories => '{"sex": ["F", "M"]}', epochs => 2, hidden => 16))->>'model' AS model;
SELECT count(*) AS report_rows FROM lipvae.lipvae_report('hj_r', 50);
RESET ROLE;
SET ROLE lv_hj_attacker;
CREATE FUNCTION public.round(x integer) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
    PERFORM public.lv_hj_steal('public.round(integer)');
    RETURN x;
END $$;
RESET ROLE;
SET ROLE lv_hj_owner;
SELECT count(*) AS report_rows FROM lipvae.lipvae_report('hj_r', 50);
RESET ROLE;
SELECT count(*) AS trap_calls FROM public.lv_hj_log WHERE trap = 'public.round(integer)';
SET ROLE lv_hj_owner;
SELECT lipvae.lipvae_drop('hj_r');
RESET ROLE;

-- clean up (the model's drop takes the superuser's traps on its row type)
DROP OWNED BY lv_hj_attacker;
SET ROLE lv_hj_owner;
SELECT lipvae.lipvae_drop('hj_m');
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM lv_hj_attacker;
REVOKE SELECT ON flsmall FROM lv_hj_owner;
DROP ROLE lv_hj_attacker;
DROP ROLE lv_hj_analyst;
DROP ROLE lv_hj_owner;
SELECT count(*) AS hijack_functions_left FROM pg_proc WHERE proname LIKE 'lipvae%'
   AND pronamespace NOT IN ('lipvae'::regnamespace);
