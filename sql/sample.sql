--
-- sample: both forms of lipvae_sample, the privacy columns, types and NULLs,
-- determinism (the same rows for the same (n, start)), the pass limit of a
-- per-record model, a central model's single guarantee and no limit, and
-- the fidelity of high-epsilon models.
--
\set SHOW_CONTEXT never
-- a per-record model: 787 training rows, 10 passes: rows 0 .. 7869 may be
-- released (public bounds for the numbers, as a DP estimate needs more rows
-- at this epsilon, and chapters; the sex categories are chosen with DP)
SELECT (lipvae.lipvae_train('smp', 'SELECT age, sex, creatinine, chapter FROM flsmall',
        bounds => '{"age": [40, 105], "creatinine": [0, 12]}',
        categories => '{"chapter": ["Circulatory", "Neoplasms", "Respiratory"]}',
        epsilon => 1, mechanism => 'latent', seed => 3, epochs => 10, hidden => 16))->>'max_rows' AS max_rows;
-- a central model (the default) on the same rows
SELECT s->>'mechanism' AS mechanism, s ? 'max_rows' AS has_max_rows
  FROM (SELECT lipvae.lipvae_train('smp_c', 'SELECT age, sex, creatinine, chapter FROM flsmall',
          bounds => '{"age": [40, 105], "creatinine": [0, 12]}',
          categories => '{"chapter": ["Circulatory", "Neoplasms", "Respiratory"]}',
          epsilon => 1, seed => 3, epochs => 10, hidden => 16) AS s) x;
-- high-epsilon models on the whole table, central and per-record, for the
-- fidelity check at the end
SELECT (lipvae.lipvae_train('fl8', 'SELECT age, sex, kappa, chapter FROM flchain',
        epsilon => 8, seed => 1, epochs => 30, hidden => 64))->>'rows' AS rows;
SELECT (lipvae.lipvae_train('fl8_latent', 'SELECT age, sex, kappa, chapter FROM flchain',
        epsilon => 8, mechanism => 'latent', seed => 1, epochs => 30, hidden => 64))->>'rows' AS rows;

-- the two-argument call: exactly n rows numbered 0 .. n-1
SELECT count(*) AS rows, min(row_no) AS first, max(row_no) AS last,
       count(DISTINCT row_no) AS distinct_row_no,
       bool_and(epsilon IS NOT NULL AND delta IS NOT NULL AND scope IS NOT NULL) AS guarantee_on_every_row,
       bool_and(epsilon > 0 AND epsilon <= 1) AS epsilon_ok,
       bool_and(delta = 1e-6) AS delta_ok,
       min(scope) AS scope
  FROM lipvae.lipvae_sample('smp', 1000);
-- rows come in row_no order
SELECT bool_and(row_no = ord - 1) AS in_order
  FROM lipvae.lipvae_sample('smp', 1000) WITH ORDINALITY AS x(row_no, row, epsilon, delta, scope, ord);
-- the row jsonb has exactly the training columns as keys
SELECT keys, count(*)
  FROM (SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(row) k) AS keys
          FROM lipvae.lipvae_sample('smp', 1000)) x
 GROUP BY keys;
-- integers are JSON integers, floats numbers, text strings, NULLs JSON null
SELECT bool_and(jsonb_typeof(row->'age') = 'null'
                OR (jsonb_typeof(row->'age') = 'number' AND row->>'age' ~ '^-?[0-9]+$')) AS age_integer,
       bool_and(jsonb_typeof(row->'creatinine') IN ('number', 'null')) AS creatinine_number,
       bool_and(jsonb_typeof(row->'sex') IN ('string', 'null')) AS sex_string,
       bool_and(jsonb_typeof(row->'chapter') IN ('string', 'null')) AS chapter_string,
       count(*) FILTER (WHERE jsonb_typeof(row->'chapter') = 'null') > 0 AS chapter_has_nulls,
       count(*) FILTER (WHERE jsonb_typeof(row->'creatinine') = 'null') > 0 AS creatinine_has_nulls,
       count(*) FILTER (WHERE jsonb_typeof(row->'chapter') = 'string') > 0 AS chapter_has_values
  FROM lipvae.lipvae_sample('smp', 2000);
-- categorical values come from the (DP-selected) category lists
SELECT bool_and(row->>'sex' IS NULL OR row->'sex' <@ (SELECT c->'categories' FROM lipvae.models,
                jsonb_array_elements(columns) c WHERE name = 'smp' AND c->>'name' = 'sex')) AS sex_listed,
       bool_and(row->>'chapter' IS NULL OR row->'chapter' <@ (SELECT c->'categories' FROM lipvae.models,
                jsonb_array_elements(columns) c WHERE name = 'smp' AND c->>'name' = 'chapter')) AS chapter_listed
  FROM lipvae.lipvae_sample('smp', 2000);

-- the typed form: the training query's column names and types
CREATE TEMP TABLE smp_typed AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 1000);
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a
 WHERE a.attrelid = 'smp_typed'::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
SELECT DISTINCT pg_typeof(age) AS age, pg_typeof(sex) AS sex, pg_typeof(creatinine) AS creatinine,
       pg_typeof(chapter) AS chapter, pg_typeof(epsilon) AS epsilon, pg_typeof(delta) AS delta,
       pg_typeof(scope) AS scope
  FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 10);
SELECT count(*) AS rows,
       count(*) FILTER (WHERE chapter IS NULL) > 0 AS chapter_has_nulls,
       count(*) FILTER (WHERE creatinine IS NULL) > 0 AS creatinine_has_nulls,
       bool_and(epsilon IS NOT NULL AND delta IS NOT NULL AND scope IS NOT NULL) AS guarantee_on_every_row
  FROM smp_typed;
-- the typed and the jsonb forms release the same rows (floats are rendered
-- with 15 significant digits in jsonb)
SELECT count(*) AS compared,
       bool_and(t.age IS NOT DISTINCT FROM (j.row->>'age')::int) AS age_same,
       bool_and(t.sex IS NOT DISTINCT FROM j.row->>'sex') AS sex_same,
       bool_and(t.chapter IS NOT DISTINCT FROM j.row->>'chapter') AS chapter_same,
       bool_and((t.creatinine IS NULL) = (j.row->'creatinine' = 'null')
                AND coalesce(abs(t.creatinine - (j.row->>'creatinine')::float8)
                             <= 1e-13 * abs(t.creatinine), true)) AS creatinine_same,
       bool_and(t.epsilon = j.epsilon AND t.delta = j.delta AND t.scope = j.scope) AS guarantee_same
  FROM (SELECT *, row_number() OVER () - 1 AS row_no FROM smp_typed) t
  JOIN lipvae.lipvae_sample('smp', 1000) j USING (row_no);

-- determinism: the same (n, start) gives the same rows, in both forms
SELECT count(*) AS differing
  FROM ((SELECT * FROM lipvae.lipvae_sample('smp', 1000) EXCEPT SELECT * FROM lipvae.lipvae_sample('smp', 1000))
        UNION ALL
        (SELECT * FROM lipvae.lipvae_sample('smp', 1000) EXCEPT SELECT * FROM lipvae.lipvae_sample('smp', 1000))) x;
SELECT count(*) AS differing
  FROM (SELECT * FROM smp_typed EXCEPT ALL SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 1000)) x;
-- a rolled-back transaction changes nothing
BEGIN;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('smp', 100);
ROLLBACK;
SELECT count(*) AS differing
  FROM (SELECT * FROM smp_typed EXCEPT ALL SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 1000)) x;
-- start => 5 gives rows 5 .. of start 0
SELECT count(*) AS rows, min(row_no) AS first, max(row_no) AS last
  FROM lipvae.lipvae_sample('smp', 20, start => 5);
SELECT count(*) AS differing
  FROM ((SELECT * FROM lipvae.lipvae_sample('smp', 20, start => 5)
         EXCEPT SELECT * FROM lipvae.lipvae_sample('smp', 25) WHERE row_no >= 5)
        UNION ALL
        (SELECT * FROM lipvae.lipvae_sample('smp', 25) WHERE row_no >= 5
         EXCEPT SELECT * FROM lipvae.lipvae_sample('smp', 20, 5))) x;
SELECT count(*) AS differing
  FROM ((SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 20, start => 5))
        EXCEPT ALL
        (SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 25) OFFSET 5)) x;
-- a chunked request is the same as one request (chunks of 512 rows inside)
SELECT count(*) AS differing
  FROM (SELECT * FROM lipvae.lipvae_sample('smp', 1500)
        EXCEPT ALL
        (SELECT * FROM lipvae.lipvae_sample('smp', 700) UNION ALL SELECT * FROM lipvae.lipvae_sample('smp', 800, 700))) x;
-- LIMIT does not change the rows
SELECT count(*) AS differing
  FROM ((SELECT * FROM lipvae.lipvae_sample('smp', 10) LIMIT 3)
        EXCEPT SELECT * FROM lipvae.lipvae_sample('smp', 3)) x;
-- rows are the same under force_parallel_mode (whether the function runs in
-- the leader or in a worker depends on its PARALLEL label)
SET force_parallel_mode = on;
SELECT count(*) AS differing
  FROM (SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 1000)
        EXCEPT ALL SELECT * FROM smp_typed) x;
RESET force_parallel_mode;

-- n = 0: no rows
SELECT count(*) AS rows FROM lipvae.lipvae_sample('smp', 0);
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 0);
SELECT count(*) AS rows FROM lipvae.lipvae_sample('smp', 0, 7870);

-- the pass limit: 10 passes over 787 rows, rows 0 .. 7869
SELECT count(*) AS rows, min(row_no) AS first, max(row_no) AS last FROM lipvae.lipvae_sample('smp', 7870);
SELECT count(*) AS rows FROM lipvae.lipvae_sample('smp', 1, 7869);
SELECT * FROM lipvae.lipvae_sample('smp', 1, 7870);
SELECT * FROM lipvae.lipvae_sample('smp', 7871);
SELECT * FROM lipvae.lipvae_sample('smp', 100, 7800);
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp, 7871);
SELECT * FROM lipvae.lipvae_sample('smp', 1, 9223372036854775807);
SELECT * FROM lipvae.lipvae_sample('smp', 9223372036854775807, 1);
-- each pass has its own epsilon, growing with the pass; a pass is n rows
SELECT (row_no / 787) + 1 AS pass, count(*) AS rows, count(DISTINCT epsilon) AS epsilons,
       min(epsilon) > coalesce(lag(max(epsilon)) OVER (ORDER BY row_no / 787), 0) AS grows,
       max(epsilon) <= 1 AS within_request
  FROM lipvae.lipvae_sample('smp', 7870)
 GROUP BY row_no / 787 ORDER BY 1;
-- the last row carries the model's guarantee
SELECT s.epsilon = m.epsilon AS last_row_has_model_epsilon
  FROM lipvae.lipvae_sample('smp', 1, 7869) s, lipvae.lipvae_models() m WHERE m.name = 'smp';

-- a central model: every row, however far, carries the model's epsilon
-- (the whole output's guarantee) and the same scope; there is no pass
-- limit, so more rows than the table has (10 passes' worth and more) are
-- released, up to the last row number
SELECT count(*) AS rows, count(DISTINCT epsilon) AS epsilons,
       bool_and(epsilon = (SELECT epsilon FROM lipvae.models WHERE name = 'smp_c')) AS catalog_epsilon,
       bool_and(epsilon = (SELECT epsilon FROM lipvae.lipvae_models() WHERE name = 'smp_c')) AS listed_epsilon,
       bool_and(epsilon > 0 AND epsilon <= 1) AS epsilon_ok,
       bool_and(delta = 1e-6) AS delta_ok,
       min(scope) AS scope, count(DISTINCT scope) AS scopes
  FROM lipvae.lipvae_sample('smp_c', 10000);
SELECT count(*) AS rows, min(row_no) AS first, max(row_no) AS last,
       bool_and(epsilon = (SELECT epsilon FROM lipvae.models WHERE name = 'smp_c')) AS catalog_epsilon
  FROM lipvae.lipvae_sample('smp_c', 10, 1000000000000);
SELECT count(*) AS rows, min(row_no) AS last_row_no FROM lipvae.lipvae_sample('smp_c', 1, 9223372036854775806);
-- the same rows for the same (n, start); start => 9000 gives rows 9000 ..
-- of start 0; chunks do not matter
SELECT count(*) AS differing
  FROM ((SELECT * FROM lipvae.lipvae_sample('smp_c', 10000) EXCEPT SELECT * FROM lipvae.lipvae_sample('smp_c', 10000))
        UNION ALL
        (SELECT * FROM lipvae.lipvae_sample('smp_c', 20, 1000000000000)
         EXCEPT SELECT * FROM lipvae.lipvae_sample('smp_c', 20, 1000000000000))) x;
SELECT count(*) AS differing
  FROM ((SELECT * FROM lipvae.lipvae_sample('smp_c', 1000, start => 9000)
         EXCEPT SELECT * FROM lipvae.lipvae_sample('smp_c', 10000) WHERE row_no >= 9000)
        UNION ALL
        (SELECT * FROM lipvae.lipvae_sample('smp_c', 10000) WHERE row_no >= 9000
         EXCEPT SELECT * FROM lipvae.lipvae_sample('smp_c', 600, 9000)
         EXCEPT SELECT * FROM lipvae.lipvae_sample('smp_c', 400, 9600))) x;
-- the typed form: the query's types, the same rows as the jsonb form, the
-- same guarantee, no limit either
CREATE TEMP TABLE smp_c_typed AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp_c, 10000);
SELECT DISTINCT pg_typeof(age) AS age, pg_typeof(sex) AS sex, pg_typeof(creatinine) AS creatinine,
       pg_typeof(chapter) AS chapter, pg_typeof(epsilon) AS epsilon, pg_typeof(scope) AS scope
  FROM smp_c_typed;
SELECT count(*) AS compared,
       bool_and(t.age IS NOT DISTINCT FROM (j.row->>'age')::int) AS age_same,
       bool_and(t.sex IS NOT DISTINCT FROM j.row->>'sex') AS sex_same,
       bool_and(t.chapter IS NOT DISTINCT FROM j.row->>'chapter') AS chapter_same,
       bool_and((t.creatinine IS NULL) = (j.row->'creatinine' = 'null')
                AND coalesce(abs(t.creatinine - (j.row->>'creatinine')::float8)
                             <= 1e-13 * abs(t.creatinine), true)) AS creatinine_same,
       bool_and(t.epsilon = j.epsilon AND t.delta = j.delta AND t.scope = j.scope) AS guarantee_same,
       count(DISTINCT t.epsilon) AS epsilons
  FROM (SELECT *, row_number() OVER () - 1 AS row_no FROM smp_c_typed) t
  JOIN lipvae.lipvae_sample('smp_c', 10000) j USING (row_no);
SELECT count(*) AS differing
  FROM (SELECT * FROM smp_c_typed EXCEPT ALL SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.smp_c, 10000)) x;
SELECT count(*) AS rows FROM lipvae.lipvae_sample(NULL::lipvae_types.smp_c, 10, 1000000000000);
-- values within the public bounds and lists
SELECT bool_and(age IS NULL OR age BETWEEN 40 AND 105) AS age_in_bounds,
       bool_and(creatinine IS NULL OR creatinine BETWEEN 0 AND 12) AS creatinine_in_bounds,
       bool_and(chapter IS NULL OR chapter IN ('Circulatory', 'Neoplasms', 'Respiratory')) AS chapter_listed,
       count(*) FILTER (WHERE age IS NOT NULL) > 0 AND count(*) FILTER (WHERE chapter IS NOT NULL) > 0 AS has_values
  FROM smp_c_typed;

-- fidelity at epsilon 8: the synthetic marginals are close to the real ones,
-- for the central and the per-record model
CREATE TEMP TABLE fl8 AS
  SELECT 'central' AS mechanism, * FROM lipvae.lipvae_sample(NULL::lipvae_types.fl8, 7874)
  UNION ALL
  SELECT 'latent', * FROM lipvae.lipvae_sample(NULL::lipvae_types.fl8_latent, 7874);
CREATE FUNCTION pg_temp.tvd(real_p jsonb, syn_p jsonb) RETURNS float8 LANGUAGE sql AS $$
  SELECT 0.5 * sum(abs(coalesce((real_p->>k)::float8, 0) - coalesce((syn_p->>k)::float8, 0)))
    FROM (SELECT jsonb_object_keys(real_p) UNION SELECT jsonb_object_keys(syn_p)) AS x(k) $$;
WITH r AS (SELECT jsonb_object_agg(v, p) AS p FROM (SELECT coalesce(sex, '<NULL>') AS v,
             count(*)::float8 / sum(count(*)) OVER () AS p FROM flchain GROUP BY 1) x),
     s AS (SELECT mechanism, jsonb_object_agg(v, p) AS p FROM (SELECT mechanism, coalesce(sex, '<NULL>') AS v,
             count(*)::float8 / sum(count(*)) OVER (PARTITION BY mechanism) AS p FROM fl8 GROUP BY 1, 2) x
            GROUP BY mechanism),
     rc AS (SELECT jsonb_object_agg(v, p) AS p FROM (SELECT coalesce(chapter, '<NULL>') AS v,
             count(*)::float8 / sum(count(*)) OVER () AS p FROM flchain GROUP BY 1) x),
     sc AS (SELECT mechanism, jsonb_object_agg(v, p) AS p FROM (SELECT mechanism, coalesce(chapter, '<NULL>') AS v,
             count(*)::float8 / sum(count(*)) OVER (PARTITION BY mechanism) AS p FROM fl8 GROUP BY 1, 2) x
             GROUP BY mechanism)
SELECT s.mechanism,
       pg_temp.tvd(r.p, s.p) < 0.2 AS sex_tvd_ok,
       pg_temp.tvd(rc.p, sc.p) < 0.2 AS chapter_tvd_ok,
       pg_temp.tvd('{"F": 1}', '{"M": 1}') AS tvd_disjoint,
       pg_temp.tvd('{"F": 0.5, "M": 0.5}', '{"F": 0.5, "M": 0.5}') AS tvd_same
  FROM r, s JOIN sc USING (mechanism), rc
 ORDER BY s.mechanism;
SELECT mechanism, count(*) AS rows,
       abs(avg(age) - (SELECT avg(age) FROM flchain))
         < 0.1 * (SELECT max(age) - min(age) FROM flchain) AS age_mean_ok,
       abs(avg(kappa) - (SELECT avg(kappa) FROM flchain))
         < 0.1 * (SELECT max(kappa) - min(kappa) FROM flchain) AS kappa_mean_ok,
       count(DISTINCT sex) AS sexes,
       count(DISTINCT chapter) > 1 AS several_chapters
  FROM fl8 GROUP BY mechanism ORDER BY mechanism;
