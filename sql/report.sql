--
-- report: lipvae_report, the owner's quality report of a model. Its shape;
-- its figures recomputed by hand on the same rows; rows compared with
-- themselves give zeros; who may run it (the owner role only, with the
-- owner's rights); hostile column names; the pair cap on wide tables.
-- Only booleans and counts are printed: the figures depend on training.
--
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT lipvae.lipvae_drop(name) FROM lipvae.models WHERE name LIKE 'lv\_test\_report%';
DROP TABLE IF EXISTS lv_test_report_self, lv_test_report_hostile, lv_test_report_wide,
                     lv_test_report_dates;
DROP FUNCTION IF EXISTS lv_test_report_try(text);
DROP ROLE IF EXISTS lv_test_report_member;
DROP ROLE IF EXISTS lv_test_report_owner;
DROP ROLE IF EXISTS lv_test_report_analyst;
DROP ROLE IF EXISTS lv_test_report_other;
RESET client_min_messages;

-- the function: plpgsql, invoker's rights, volatile, parallel unsafe,
-- search_path pinned, documented
SELECT p.oid::regprocedure AS function, l.lanname AS language, p.prosecdef AS security_definer,
       p.provolatile AS volatility, p.proparallel AS parallel, p.proconfig AS config,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.proname = 'lipvae_report';

-- runs a statement, returns 'ok' or its SQLSTATE and message
CREATE FUNCTION lv_test_report_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- two models on flchain, a per-record one and a central one (the default):
-- 8 columns (6 numeric, 2 categorical), NULLs in creatinine and chapter
SELECT (lipvae.lipvae_train('lv_test_report_fl',
        'SELECT age, sex, kappa, lambda, creatinine, chapter, futime, death FROM flchain',
        mechanism => 'latent', seed => 61, epochs => 5, hidden => 16))->>'rows' AS rows;
SELECT (lipvae.lipvae_train('lv_test_report_c',
        'SELECT age, sex, kappa, lambda, creatinine, chapter, futime, death FROM flchain',
        seed => 61, epochs => 5, hidden => 16))->>'rows' AS rows;
CREATE TEMP TABLE rep AS
  SELECT 'latent' AS mech, * FROM lipvae.lipvae_report('lv_test_report_fl')
    WITH ORDINALITY AS r(metric, columns, "real", synthetic, value, note, ord)
  UNION ALL
  SELECT 'central', * FROM lipvae.lipvae_report('lv_test_report_c')
    WITH ORDINALITY AS r(metric, columns, "real", synthetic, value, note, ord);
-- the same rows of the releases, typed, and the models' public bounds
CREATE TEMP TABLE syn AS
  SELECT 'latent' AS mech, * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_report_fl, 7874)
  UNION ALL
  SELECT 'central', * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_report_c, 7874);
CREATE TEMP TABLE bnd AS
  SELECT CASE m.name WHEN 'lv_test_report_fl' THEN 'latent' ELSE 'central' END AS mech,
         c->>'name' AS name, (c->>'lo')::float8 AS lo, (c->>'hi')::float8 AS hi
    FROM lipvae.lipvae_models() m, jsonb_array_elements(m.details->'columns') c
   WHERE m.name IN ('lv_test_report_fl', 'lv_test_report_c') AND c->>'kind' = 'numeric';

-- the shape: the guarantee, the row counts, then per metric an overall row
-- followed by one row per column (8) or pair (28), in that order
SELECT metric, count(*) AS rows, count(*) FILTER (WHERE columns = 'overall') AS overall,
       bool_and(columns = 'overall') FILTER (WHERE ord = min_ord) AS overall_first,
       max(ord) - min(ord) + 1 = count(*) AS contiguous
  FROM (SELECT *, min(ord) OVER (PARTITION BY metric) AS min_ord FROM rep WHERE mech = 'latent') x
 GROUP BY metric ORDER BY min(ord);
SELECT string_agg(columns, ' | ' ORDER BY ord) AS columns FROM rep WHERE mech = 'latent' AND metric = 'tvd_1way';
SELECT string_agg(columns, ' | ' ORDER BY ord) = (SELECT string_agg(columns, ' | ' ORDER BY ord) FROM rep WHERE mech = 'latent' AND metric = 'null_rate') AS same_columns,
       (SELECT string_agg(columns, ' | ' ORDER BY ord) FROM rep WHERE mech = 'latent' AND metric = 'tvd_2way')
       = (SELECT string_agg(columns, ' | ' ORDER BY ord) FROM rep WHERE mech = 'latent' AND metric = 'association') AS same_pairs,
       (SELECT count(DISTINCT columns) FROM rep WHERE mech = 'latent' AND metric = 'tvd_2way' AND columns <> 'overall') AS distinct_pairs
  FROM rep WHERE mech = 'latent' AND metric = 'tvd_1way';
SELECT string_agg(DISTINCT note, ', ') AS measures,
       count(*) FILTER (WHERE note = 'pearson') AS pearson,
       count(*) FILTER (WHERE note = 'cramers_v') AS cramers_v
  FROM rep WHERE mech = 'latent' AND metric = 'association' AND columns <> 'overall';
SELECT columns, note FROM rep WHERE mech = 'latent' AND metric = 'tvd_1way' AND columns IN ('sex', 'chapter') ORDER BY ord;
-- the central model's report has the same shape, row for row
SELECT count(*) AS rows,
       bool_and(c.metric = l.metric AND c.columns IS NOT DISTINCT FROM l.columns) AS same_rows,
       bool_and(c.note IS NOT DISTINCT FROM l.note)
         FILTER (WHERE c.metric IN ('tvd_2way', 'association', 'delta')) AS same_notes
  FROM rep c JOIN rep l USING (ord) WHERE c.mech = 'central' AND l.mech = 'latent';

-- the guarantee is the one printed on the last row compared: per-record,
-- below the model's (the last pass's); central, the model's own, on every
-- row; as many synthetic rows as the query returns real rows
SELECT mech,
       (SELECT note FROM rep r WHERE r.mech = x.mech AND metric = 'mechanism') AS mechanism,
       (SELECT note FROM rep r WHERE r.mech = x.mech AND metric = 'scope') AS scope,
       (SELECT value FROM rep r WHERE r.mech = x.mech AND metric = 'epsilon') = (SELECT max(epsilon) FROM syn s WHERE s.mech = x.mech) AS epsilon_of_last_row,
       (SELECT value FROM rep r WHERE r.mech = x.mech AND metric = 'epsilon') < m.epsilon AS below_model_epsilon,
       (SELECT value FROM rep r WHERE r.mech = x.mech AND metric = 'epsilon') = m.epsilon AS model_epsilon,
       (SELECT value FROM rep r WHERE r.mech = x.mech AND metric = 'delta') = 1e-6 AS delta,
       (SELECT "real" FROM rep r WHERE r.mech = x.mech AND metric = 'rows') AS real_rows,
       (SELECT synthetic FROM rep r WHERE r.mech = x.mech AND metric = 'rows') AS synthetic_rows
  FROM (VALUES ('latent', 'lv_test_report_fl'), ('central', 'lv_test_report_c')) AS x(mech, model)
  JOIN lipvae.lipvae_models() m ON m.name = x.model
 ORDER BY mech DESC;
SELECT metric, note FROM rep WHERE mech = 'central' AND metric IN ('epsilon', 'rows') ORDER BY ord;

-- every figure in its range; overall rows are the means
SELECT mech, metric,
       bool_and(value BETWEEN 0 AND 1) FILTER (WHERE metric <> 'association') AS value_in_0_1,
       bool_and(value BETWEEN 0 AND 2) AS value_in_0_2,
       bool_and("real" BETWEEN -1 AND 1 AND synthetic BETWEEN -1 AND 1) FILTER (WHERE note = 'pearson') AS pearson_in_range,
       bool_and("real" BETWEEN 0 AND 1 AND synthetic BETWEEN 0 AND 1) FILTER (WHERE note = 'cramers_v' OR metric = 'null_rate') AS in_0_1,
       bool_and(abs(value - abs("real" - synthetic)) < 1e-12) FILTER (WHERE metric IN ('association', 'null_rate') AND columns <> 'overall') AS value_is_difference,
       abs(avg(value) FILTER (WHERE columns <> 'overall') - max(value) FILTER (WHERE columns = 'overall')) < 1e-12 AS overall_is_mean,
       bool_and(value > 0) FILTER (WHERE columns = 'overall') AS overall_positive
  FROM rep WHERE metric IN ('tvd_1way', 'tvd_2way', 'association', 'null_rate')
 GROUP BY mech, metric ORDER BY mech DESC, min(ord);

-- figures recomputed by hand on the same rows, for both models: 1-way TVD
-- of a numeric column with NULLs (20 equal-width bins over the public
-- bounds, clipped, NULL a bin of its own) and of a categorical one
WITH r AS (SELECT s.mech, 's' AS side, s.creatinine AS v FROM syn s
           UNION ALL SELECT m.mech, 'r', f.creatinine FROM flchain f, (VALUES ('latent'), ('central')) AS m(mech)),
     b AS (SELECT r.mech, side, CASE WHEN v IS NULL THEN -1
                        ELSE least(19, greatest(0, floor(20 * (v - lo) / (hi - lo))))::int END AS bin
             FROM r JOIN bnd ON bnd.mech = r.mech AND bnd.name = 'creatinine'),
     p AS (SELECT mech, bin, count(*) FILTER (WHERE side = 'r') / 7874.0 AS pr,
                  count(*) FILTER (WHERE side = 's') / 7874.0 AS ps FROM b GROUP BY mech, bin)
SELECT mech,
       abs(0.5 * sum(abs(pr - ps)) - (SELECT value FROM rep WHERE rep.mech = p.mech AND metric = 'tvd_1way' AND columns = 'creatinine')) < 1e-9 AS tvd_creatinine,
       count(*) FILTER (WHERE bin = -1) AS null_bins
  FROM p GROUP BY mech ORDER BY mech DESC;
WITH p AS (SELECT mech, v, count(*) FILTER (WHERE side = 'r') / 7874.0 AS pr,
                  count(*) FILTER (WHERE side = 's') / 7874.0 AS ps
             FROM (SELECT s.mech, 's' AS side, s.chapter AS v FROM syn s
                   UNION ALL SELECT m.mech, 'r', f.chapter FROM flchain f, (VALUES ('latent'), ('central')) AS m(mech)) x
            GROUP BY mech, v)
SELECT mech,
       abs(0.5 * sum(abs(pr - ps)) - (SELECT value FROM rep WHERE rep.mech = p.mech AND metric = 'tvd_1way' AND columns = 'chapter')) < 1e-9 AS tvd_chapter
  FROM p GROUP BY mech ORDER BY mech DESC;
-- NULL rates
SELECT mech, "real" = 1350 / 7874.0 AS creatinine_real,
       abs(synthetic - (SELECT count(*) FILTER (WHERE creatinine IS NULL) / 7874.0 FROM syn WHERE syn.mech = rep.mech)) < 1e-12 AS creatinine_synthetic
  FROM rep WHERE metric = 'null_rate' AND columns = 'creatinine' ORDER BY mech DESC;
-- 2-way TVD and Cramer's V of (creatinine binned, chapter), NULL a
-- category: chi-square over the full grid of each side's observed rows and
-- columns, with expected counts; V is 0 when a side has a single row or
-- column
CREATE TEMP TABLE cells AS
  SELECT x.mech, side, CASE WHEN v IS NULL THEN -1
                    ELSE least(19, greatest(0, floor(20 * (v - lo) / (hi - lo))))::int END AS a,
         coalesce('v:' || w, 'NULL') AS b
    FROM (SELECT s.mech, 's' AS side, s.creatinine AS v, s.chapter AS w FROM syn s
          UNION ALL SELECT m.mech, 'r', f.creatinine, f.chapter FROM flchain f, (VALUES ('latent'), ('central')) AS m(mech)) x
    JOIN bnd ON bnd.mech = x.mech AND bnd.name = 'creatinine';
WITH p AS (SELECT mech, a, b, count(*) FILTER (WHERE side = 'r') / 7874.0 AS pr,
                  count(*) FILTER (WHERE side = 's') / 7874.0 AS ps FROM cells GROUP BY mech, a, b)
SELECT mech,
       abs(0.5 * sum(abs(pr - ps)) - (SELECT value FROM rep WHERE rep.mech = p.mech AND metric = 'tvd_2way' AND columns = 'creatinine, chapter')) < 1e-9 AS tvd_2way
  FROM p GROUP BY mech ORDER BY mech DESC;
WITH o AS (SELECT mech, side, a, b, count(*)::float8 AS n FROM cells GROUP BY mech, side, a, b),
     ra AS (SELECT mech, side, a, sum(n) AS n FROM o GROUP BY mech, side, a),
     cb AS (SELECT mech, side, b, sum(n) AS n FROM o GROUP BY mech, side, b),
     tot AS (SELECT mech, side, sum(n) AS n FROM o GROUP BY mech, side),
     grid AS (SELECT ra.mech, ra.side, ra.a, cb.b, ra.n * cb.n / tot.n AS e
                FROM ra JOIN cb USING (mech, side) JOIN tot USING (mech, side)),
     chi AS (SELECT g.mech, g.side, sum((coalesce(o.n, 0) - g.e) ^ 2 / g.e) AS chi2
               FROM grid g LEFT JOIN o ON o.mech = g.mech AND o.side = g.side AND o.a = g.a AND o.b = g.b
              GROUP BY g.mech, g.side),
     k AS (SELECT chi.mech, chi.side, chi.chi2, tot.n,
                  least((SELECT count(*) FROM ra WHERE ra.mech = chi.mech AND ra.side = chi.side),
                        (SELECT count(*) FROM cb WHERE cb.mech = chi.mech AND cb.side = chi.side)) AS k
             FROM chi JOIN tot USING (mech, side)),
     v AS (SELECT mech, side, CASE WHEN k > 1 THEN sqrt(chi2 / n / (k - 1)) ELSE 0 END AS v, k FROM k)
SELECT rep.mech,
       abs((SELECT v FROM v WHERE v.mech = rep.mech AND side = 'r') - "real") < 1e-9 AS cramers_v_real,
       abs((SELECT v FROM v WHERE v.mech = rep.mech AND side = 's') - synthetic) < 1e-9 AS cramers_v_synthetic,
       note
  FROM rep WHERE metric = 'association' AND columns = 'creatinine, chapter' ORDER BY rep.mech DESC;
-- Pearson's correlation of a numeric pair, rows where both are not NULL
SELECT mech,
       abs((SELECT corr(age, creatinine) FROM flchain) - "real") < 1e-9 AS pearson_real,
       abs((SELECT corr(age, creatinine) FROM syn WHERE syn.mech = rep.mech) - synthetic) < 1e-9 AS pearson_synthetic,
       note
  FROM rep WHERE metric = 'association' AND columns = 'age, creatinine' ORDER BY mech DESC;

-- fewer rows: n => 100 compares rows 0 .. 99, whose guarantee is smaller
-- (per-record) or the same (central); a central model compares more rows
-- than the real ones when asked
SELECT (SELECT synthetic FROM lipvae.lipvae_report('lv_test_report_c', 100) WHERE metric = 'rows') AS synthetic_rows,
       (SELECT value FROM lipvae.lipvae_report('lv_test_report_c', 100) WHERE metric = 'epsilon')
       = (SELECT epsilon FROM lipvae.lipvae_models() WHERE name = 'lv_test_report_c') AS model_epsilon;
SELECT metric, "real", synthetic FROM lipvae.lipvae_report('lv_test_report_c', 10000) WHERE metric = 'rows';
SELECT (SELECT synthetic FROM lipvae.lipvae_report('lv_test_report_fl', 100) WHERE metric = 'rows') AS synthetic_rows,
       (SELECT value FROM lipvae.lipvae_report('lv_test_report_fl', 100) WHERE metric = 'epsilon')
       = (SELECT max(epsilon) FROM lipvae.lipvae_sample('lv_test_report_fl', 100)) AS epsilon_of_row_99;
-- bad n; beyond the model's passes lipvae_sample refuses
SELECT * FROM lipvae.lipvae_report('lv_test_report_fl', 0);
SELECT * FROM lipvae.lipvae_report('lv_test_report_fl', 78741);
-- NULL model name; unknown model: the same error as lipvae_sample
SELECT * FROM lipvae.lipvae_report(NULL);
SELECT * FROM lipvae.lipvae_report('lv_test_report_nope');
SELECT lv_test_report_try($$SELECT * FROM lipvae.lipvae_report('lv_test_report_nope')$$)
       = lv_test_report_try($$SELECT * FROM lipvae.lipvae_sample('lv_test_report_nope', 1)$$) AS same_error_as_sample;

-- the temporary tables are dropped; two reports in one transaction
BEGIN;
SELECT count(*) AS rows FROM lipvae.lipvae_report('lv_test_report_fl', 500);
SELECT count(*) AS rows FROM lipvae.lipvae_report('lv_test_report_fl', 500);
SELECT count(*) AS temp_tables_left FROM pg_class WHERE relname LIKE 'lipvae\_report%' AND relpersistence = 't';
COMMIT;

-- the query runs under the caller's search_path (captured at the call),
-- everything else under the function's pinned one
SET search_path = pg_catalog;
SELECT public.lv_test_report_try($$SELECT * FROM lipvae.lipvae_report('lv_test_report_fl', 10)$$) AS without_public;
SELECT count(*) AS rows FROM lipvae.lipvae_report('lv_test_report_fl', 10, query_search_path => 'public');
RESET search_path;
SELECT current_setting('search_path') AS search_path_after;

-- rows compared with themselves: the source table is replaced by the
-- model's own first pass, so every distance is zero
CREATE TABLE lv_test_report_self AS SELECT age, sex, creatinine, chapter FROM flsmall;
SELECT (lipvae.lipvae_train('lv_test_report_self', 'SELECT age, sex, creatinine, chapter FROM lv_test_report_self',
        bounds => '{"age": [40, 105], "creatinine": [0, 12]}', seed => 62, epochs => 5, hidden => 16))->>'rows' AS rows;
TRUNCATE lv_test_report_self;
INSERT INTO lv_test_report_self
  SELECT age, sex, creatinine, chapter FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_report_self, 787);
SELECT metric, count(*) AS rows, max(value) < 1e-12 AS all_zero,
       bool_and(abs("real" - synthetic) < 1e-12) FILTER (WHERE "real" IS NOT NULL) AS real_equals_synthetic
  FROM lipvae.lipvae_report('lv_test_report_self') WITH ORDINALITY AS r(metric, columns, "real", synthetic, value, note, ord)
 WHERE metric IN ('tvd_1way', 'tvd_2way', 'association', 'null_rate')
 GROUP BY metric ORDER BY min(ord);
-- other rows of the release are not zero distance from them
SELECT value > 0 AS tvd_1way_positive
  FROM lipvae.lipvae_report('lv_test_report_self', 500) WHERE metric = 'tvd_1way' AND columns = 'overall';
-- the tables it reads changed after training: a clear error
ALTER TABLE lv_test_report_self DROP COLUMN chapter;
SELECT * FROM lipvae.lipvae_report('lv_test_report_self');
ALTER TABLE lv_test_report_self ADD COLUMN chapter int;
SELECT * FROM lipvae.lipvae_report('lv_test_report_self');

-- dates and times are binned in the units of their bounds (days, seconds
-- since 2000-01-01)
CREATE TABLE lv_test_report_dates AS
  SELECT CASE WHEN i % 9 = 0 THEN NULL ELSE date '2000-01-01' + (i * 7) % 1461 END AS d,
         timestamptz '2015-01-01 00:00:00+00' + i * interval '97 minutes' AS ts,
         (ARRAY['a', 'b', 'c'])[i % 3 + 1] AS t
    FROM generate_series(1, 400) AS i;
SELECT (lipvae.lipvae_train('lv_test_report_dates', 'SELECT d, ts, t FROM lv_test_report_dates',
        bounds => '{"d": ["2000-01-01", "2003-12-31"], "ts": ["2015-01-01 00:00:00+00", "2015-02-01 00:00:00+00"]}',
        seed => 63, epochs => 5, hidden => 16))->>'rows' AS rows;
CREATE TEMP TABLE rep_dates AS SELECT * FROM lipvae.lipvae_report('lv_test_report_dates');
CREATE TEMP TABLE syn_dates AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.lv_test_report_dates, 400);
WITH bd AS (SELECT (c->>'lo')::float8 AS lo, (c->>'hi')::float8 AS hi
              FROM lipvae.lipvae_models() m, jsonb_array_elements(m.details->'columns') c
             WHERE m.name = 'lv_test_report_dates' AND c->>'name' = 'd'),
     b AS (SELECT side, CASE WHEN d IS NULL THEN -1
                        ELSE least(19, greatest(0, floor(20 * ((d - date '2000-01-01') - lo) / (hi - lo))))::int END AS bin
             FROM (SELECT 'r' AS side, d FROM lv_test_report_dates UNION ALL SELECT 's', d FROM syn_dates) x, bd),
     p AS (SELECT bin, count(*) FILTER (WHERE side = 'r') / 400.0 AS pr,
                  count(*) FILTER (WHERE side = 's') / 400.0 AS ps FROM b GROUP BY bin)
SELECT abs(0.5 * sum(abs(pr - ps)) - (SELECT value FROM rep_dates WHERE metric = 'tvd_1way' AND columns = 'd')) < 1e-9 AS tvd_date
  FROM p;
WITH bd AS (SELECT (c->>'lo')::float8 AS lo, (c->>'hi')::float8 AS hi
              FROM lipvae.lipvae_models() m, jsonb_array_elements(m.details->'columns') c
             WHERE m.name = 'lv_test_report_dates' AND c->>'name' = 'ts'),
     b AS (SELECT side, CASE WHEN ts IS NULL THEN -1
                        ELSE least(19, greatest(0, floor(20 * (extract(epoch FROM ts - timestamptz '2000-01-01 00:00:00+00')::float8 - lo)
                                                         / (hi - lo))))::int END AS bin
             FROM (SELECT 'r' AS side, ts FROM lv_test_report_dates UNION ALL SELECT 's', ts FROM syn_dates) x, bd),
     p AS (SELECT bin, count(*) FILTER (WHERE side = 'r') / 400.0 AS pr,
                  count(*) FILTER (WHERE side = 's') / 400.0 AS ps FROM b GROUP BY bin)
SELECT abs(0.5 * sum(abs(pr - ps)) - (SELECT value FROM rep_dates WHERE metric = 'tvd_1way' AND columns = 'ts')) < 1e-9 AS tvd_timestamptz
  FROM p;
SELECT abs((SELECT corr(d - date '2000-01-01', extract(epoch FROM ts)) FROM lv_test_report_dates) - "real") < 1e-9 AS pearson_date_time
  FROM rep_dates WHERE metric = 'association' AND columns = 'd, ts';

-- a model trained with a unit: the unit column (anywhere in the select
-- list) is not modelled and not compared; the report covers the others
SELECT (lipvae.lipvae_train('lv_test_report_unit', 'SELECT age, id / 10 % 200 AS person, sex FROM flsmall',
        unit => 'person', unit_rows => 2, bounds => '{"age": [40, 105]}', categories => '{"sex": ["F", "M"]}', seed => 65, epochs => 3, hidden => 16))->>'rows' AS rows;
SELECT string_agg(columns, ', ' ORDER BY ord) AS columns, bool_and(value BETWEEN 0 AND 1) AS in_range
  FROM lipvae.lipvae_report('lv_test_report_unit') WITH ORDINALITY AS r(metric, columns, "real", synthetic, value, note, ord)
 WHERE metric = 'tvd_1way';

-- hostile column names (quotes, comma, space, SQL, the word overall) and
-- a hostile model name
CREATE TABLE lv_test_report_hostile AS
  SELECT age AS "we""ird col", sex AS "a, b", chapter AS overall,
         creatinine AS "x); DROP TABLE flsmall; --", kappa AS " " FROM flsmall;
SELECT (lipvae.lipvae_train('lv_test_report "hostile''s"', 'SELECT * FROM lv_test_report_hostile',
        bounds => jsonb_build_object('we"ird col', '[40, 105]'::jsonb, 'x); DROP TABLE flsmall; --', '[0, 12]'::jsonb,
                                     ' ', '[0, 6]'::jsonb),
        seed => 64, epochs => 5, hidden => 16))->>'rows' AS rows;
CREATE TEMP TABLE rep_hostile AS
  SELECT * FROM lipvae.lipvae_report('lv_test_report "hostile''s"')
    WITH ORDINALITY AS r(metric, columns, "real", synthetic, value, note, ord);
SELECT string_agg(columns, ' | ' ORDER BY ord) AS columns FROM rep_hostile WHERE metric = 'tvd_1way';
SELECT columns FROM rep_hostile WHERE metric = 'tvd_2way' ORDER BY ord LIMIT 3;
SELECT metric, count(*) AS rows, bool_and(value BETWEEN 0 AND 2) AS in_range
  FROM rep_hostile WHERE metric IN ('tvd_1way', 'tvd_2way', 'association', 'null_rate')
 GROUP BY metric ORDER BY min(ord);
SELECT count(*) AS flsmall_rows FROM flsmall;

-- a wide table: 26 columns have 325 pairs, a fixed sample of 300 is used
-- (the model's figures do not matter here: no marginal correction, whose
-- fit takes seconds on 26 columns)
CREATE TABLE lv_test_report_wide AS
  SELECT age AS c01, sex AS c02, "sample.yr" - 1990 AS c03, kappa AS c04, lambda AS c05, "flc.grp" AS c06,
         creatinine AS c07, mgus AS c08, futime / 100 AS c09, death AS c10, chapter AS c11, age + 1 AS c12,
         age - 1 AS c13, "sample.yr" - 1991 AS c14, kappa + 1 AS c15, lambda + 1 AS c16, "flc.grp" + 1 AS c17,
         creatinine + 1 AS c18, mgus + 1 AS c19, futime / 90 AS c20, death + 1 AS c21, age + 2 AS c22,
         age + 3 AS c23, kappa + 2 AS c24, lambda + 2 AS c25, creatinine + 2 AS c26
    FROM flsmall;
SELECT (lipvae.lipvae_train('lv_test_report_wide', 'SELECT * FROM lv_test_report_wide',
        bounds => (SELECT jsonb_object_agg(c, '[0, 110]'::jsonb) FROM unnest(ARRAY['c01', 'c03', 'c04', 'c05',
                     'c06', 'c07', 'c08', 'c09', 'c10', 'c12', 'c13', 'c14', 'c15', 'c16', 'c17', 'c18', 'c19',
                     'c20', 'c21', 'c22', 'c23', 'c24', 'c25', 'c26']) AS c),
        categories => '{"c02": ["F", "M"]}', seed => 65, epochs => 1, hidden => 16,
        marginals_share => 0))->>'columns' AS columns;
CREATE TEMP TABLE rep_wide AS SELECT * FROM lipvae.lipvae_report('lv_test_report_wide');
SELECT metric, count(*) AS rows, count(DISTINCT columns) AS distinct_columns
  FROM rep_wide WHERE metric IN ('tvd_1way', 'tvd_2way', 'association', 'null_rate')
 GROUP BY metric ORDER BY metric;
SELECT metric, note FROM rep_wide WHERE columns = 'overall' AND metric IN ('tvd_2way', 'association') ORDER BY metric;
-- the sample is fixed: the same pairs every time
SELECT count(*) AS differing_pairs
  FROM ((SELECT columns FROM rep_wide WHERE metric = 'tvd_2way'
         EXCEPT SELECT columns FROM lipvae.lipvae_report('lv_test_report_wide', 100) WHERE metric = 'tvd_2way')
        UNION ALL
        (SELECT columns FROM lipvae.lipvae_report('lv_test_report_wide', 100) WHERE metric = 'tvd_2way'
         EXCEPT SELECT columns FROM rep_wide WHERE metric = 'tvd_2way')) x;

-- one column: no pairs
SELECT (lipvae.lipvae_train('lv_test_report_one', 'SELECT age FROM flsmall', bounds => '{"age": [40, 105]}',
        seed => 66, epochs => 5, hidden => 16))->>'rows' AS rows;
SELECT metric, columns, value IS NULL AS no_value, note
  FROM lipvae.lipvae_report('lv_test_report_one') WHERE metric IN ('tvd_2way', 'association');
SELECT metric, count(*) AS rows FROM lipvae.lipvae_report('lv_test_report_one') GROUP BY metric ORDER BY metric;

-- a non-private model: no guarantee
SELECT (lipvae.lipvae_train('lv_test_report_none', 'SELECT age, sex FROM flsmall', mechanism => 'none',
        bounds => '{"age": [40, 105]}', seed => 67, epochs => 5, hidden => 16))->>'rows' AS rows;
SELECT metric, value, note FROM lipvae.lipvae_report('lv_test_report_none')
 WHERE metric IN ('mechanism', 'scope', 'epsilon') ORDER BY metric;

-- who may run it: the owner role, with its own rights
CREATE ROLE lv_test_report_owner;
CREATE ROLE lv_test_report_analyst;
CREATE ROLE lv_test_report_other;
CREATE ROLE lv_test_report_member IN ROLE lv_test_report_owner;
GRANT lipvae_trainer TO lv_test_report_owner;
GRANT SELECT ON flsmall TO lv_test_report_owner;
SET ROLE lv_test_report_owner;
-- (unseeded, so that it may be granted: its DP category lists vary, and
-- their warnings are silenced)
SET client_min_messages = error;
SELECT (lipvae.lipvae_train('lv_test_report_own', 'SELECT age, sex, chapter FROM flsmall',
        bounds => '{"age": [40, 105]}', epochs => 5, hidden => 16))->>'rows' AS rows;
RESET client_min_messages;
SELECT lipvae.lipvae_grant('lv_test_report_own', 'lv_test_report_analyst');
SELECT metric, count(*) AS rows FROM lipvae.lipvae_report('lv_test_report_own') GROUP BY metric ORDER BY metric;
-- nor on another role's model (here the superuser's)
SELECT * FROM lipvae.lipvae_report('lv_test_report_fl');
RESET ROLE;
-- an analyst the model was granted to may sample it, not report on it
SET ROLE lv_test_report_analyst;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('lv_test_report_own', 10);
SELECT * FROM lipvae.lipvae_report('lv_test_report_own');
SELECT lv_test_report_try($$SELECT * FROM lipvae.lipvae_report('lv_test_report_own')$$) AS analyst;
RESET ROLE;
-- a role without a grant
SET ROLE lv_test_report_other;
SELECT * FROM lipvae.lipvae_report('lv_test_report_own');
SELECT lv_test_report_try($$SELECT * FROM lipvae.lipvae_report('lv_test_report_own')$$) AS other;
RESET ROLE;
-- a member of the owner role, and a superuser, are told to SET ROLE
SET ROLE lv_test_report_member;
SELECT * FROM lipvae.lipvae_report('lv_test_report_own');
SELECT lv_test_report_try($$SELECT * FROM lipvae.lipvae_report('lv_test_report_own')$$) AS member;
RESET ROLE;
SELECT * FROM lipvae.lipvae_report('lv_test_report_own');
SELECT lv_test_report_try($$SELECT * FROM lipvae.lipvae_report('lv_test_report_own')$$) AS superuser;
-- which works
SET ROLE lv_test_report_owner;
SELECT count(*) > 0 AS reported FROM lipvae.lipvae_report('lv_test_report_own');
RESET ROLE;
-- the query runs with the caller's rights: the owner who can no longer
-- read the table cannot report
REVOKE SELECT ON flsmall FROM lv_test_report_owner;
SET ROLE lv_test_report_owner;
SELECT * FROM lipvae.lipvae_report('lv_test_report_own');
RESET ROLE;

-- clean up
SELECT lipvae.lipvae_drop(name) FROM lipvae.models WHERE name LIKE 'lv\_test\_report%' ORDER BY name;
DROP TABLE lv_test_report_self, lv_test_report_hostile, lv_test_report_wide, lv_test_report_dates;
DROP FUNCTION lv_test_report_try(text);
REVOKE lipvae_trainer FROM lv_test_report_owner;
DROP ROLE lv_test_report_member;
DROP ROLE lv_test_report_owner;
DROP ROLE lv_test_report_analyst;
DROP ROLE lv_test_report_other;
SELECT count(*) AS test_roles_left FROM pg_roles WHERE rolname LIKE 'lv\_test\_report%';
SELECT count(*) AS test_models_left FROM lipvae.models WHERE name LIKE 'lv\_test\_report%';
