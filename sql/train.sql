--
-- train: lipvae_train as the user writes it, its summary, the catalog, for
-- every mechanism (per-record 'latent', 'central' by default, their
-- composition 'central+latent', user-level 'central' with a unit, 'none');
-- user-given bounds and categories, replace, drop.
--
\set SHOW_CONTEXT never
CREATE TEMP TABLE summary (model text PRIMARY KEY, s jsonb);

-- a per-record model (mechanism 'latent', 0.1's default): no bounds, no
-- categories (both estimated with DP)
INSERT INTO summary
SELECT 'fl', lipvae.lipvae_train('fl', 'SELECT age, sex, creatinine, chapter FROM flchain',
                          epsilon => 1, mechanism => 'latent', seed => 1, epochs => 5, hidden => 16);

-- the summary: its keys, and the values that do not depend on training
SELECT array_agg(k ORDER BY k) AS summary_keys
  FROM summary, jsonb_object_keys(s) k WHERE model = 'fl';
SELECT s->>'model' AS model,
       (s->>'rows')::bigint = (SELECT count(*) FROM flchain) AS rows_ok,
       s->'columns' AS columns,
       s->'epochs' AS epochs,
       s->>'mechanism' AS mechanism,
       s->>'scope' AS scope,
       s->'delta' AS delta,
       s->'passes' AS passes,
       (s->>'max_rows')::bigint = 10 * (SELECT count(*) FROM flchain) AS max_rows_ok,
       s->>'row_type' AS row_type,
       jsonb_typeof(s->'final_loss') AS final_loss,
       (s->>'seconds')::float8 > 0 AS took_time
  FROM summary WHERE model = 'fl';
-- the guarantee: at most the requested epsilon, the first pass cheaper than
-- the last, DP preprocessing paid for
SELECT (s->>'epsilon')::float8 > 0 AS eps_positive,
       (s->>'epsilon')::float8 <= 1 AS eps_within_request,
       (s->>'epsilon_first_pass')::float8 < (s->>'epsilon')::float8 AS first_pass_cheaper,
       (s->>'epsilon_preprocess')::float8 > 0 AS preprocess_paid,
       abs((s->>'epsilon_preprocess')::float8 - (m.settings->>'preprocess_share')::float8)
         < 1e-9 AS preprocess_is_its_share,
       (s->>'lipschitz_certified')::float8 > 0 AS certified
  FROM summary, lipvae.models m WHERE model = 'fl' AND m.name = 'fl';

-- lipvae.lipvae_models() lists it, with the same guarantee
SELECT m.name, m.owner, m.mechanism, m.scope, m.delta, m.passes,
       m.rows_per_pass, m.columns, m.row_type, m.is_owner,
       m.epsilon = (s->>'epsilon')::float8 AS same_epsilon,
       m.created <= now() AS created_ok,
       m.details->>'query' AS query,
       (m.details->>'model_bytes')::int > 0 AS has_bytes
  FROM lipvae.lipvae_models() m JOIN summary ON model = m.name
 WHERE m.name = 'fl';

-- the catalog: every column's encoding and where its public bounds and
-- categories came from (DP, since none were given)
SELECT c->>'name' AS name, c->>'type' AS type, c->>'kind' AS kind,
       c->'nullable' AS nullable, c->>'bounds_source' AS bounds_source,
       c->>'categories_source' AS categories_source,
       c->'integer' AS integer
  FROM lipvae.models, jsonb_array_elements(columns) WITH ORDINALITY AS x(c, i)
 WHERE name = 'fl' ORDER BY i;
SELECT query, mechanism, scope, owner, passes, nrows, epsilon_requested,
       row_type, acl,
       abs(diameter - sqrt(8)) < 1e-12 AS diameter_ok,
       noise_sd = 1 AS unit_noise,
       lipschitz_certified <= lipschitz_target AS certified_within_target,
       abs(mu_pass - lipschitz_certified * diameter / noise_sd) <= 1e-12 * mu_pass AS mu_pass_ok,
       epsilon <= epsilon_requested AS eps_ok,
       delta_preprocess > 0 AS categories_cost_delta,
       jsonb_array_length(preprocess) AS preprocess_components,
       substring(model from 1 for 8) = convert_to(E'LIPVAE\r\n', 'UTF8') AS magic_ok
  FROM lipvae.models WHERE name = 'fl';
-- each DP preprocessing component spends an equal part of the preprocessing
-- share of epsilon (4 columns), and the category lists of delta (2 columns)
SELECT p->>'column' AS column, p->>'what' AS what, p->>'mechanism' AS mechanism,
       abs((p->>'epsilon')::float8 - (settings->>'preprocess_share')::float8 * epsilon_requested / 4)
         < 1e-12 AS epsilon_is_quarter_share,
       CASE p->>'what' WHEN 'bounds' THEN (p->>'delta')::float8 = 0
            ELSE abs((p->>'delta')::float8 - (settings->>'preprocess_share')::float8 * delta / 2) < 1e-18
       END AS delta_ok
  FROM lipvae.models, jsonb_array_elements(preprocess) WITH ORDINALITY AS x(p, i)
 WHERE name = 'fl' ORDER BY i;
-- the row type of the typed sampler
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a
 WHERE a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'lipvae_types.fl'::regtype)
   AND a.attnum > 0
 ORDER BY a.attnum;

-- the user's one-line call: a central model (DP-SGD, the default), no
-- bounds, no categories (both estimated with DP)
INSERT INTO summary
SELECT 'fl_c', lipvae.lipvae_train('fl_c', 'SELECT age, sex, creatinine, chapter FROM flchain',
                            epsilon => 1, seed => 1, epochs => 5, hidden => 16);
-- the summary: no passes (no pass limit), DP-SGD's figures
SELECT array_agg(k ORDER BY k) AS summary_keys
  FROM summary, jsonb_object_keys(s) k WHERE model = 'fl_c';
SELECT s->>'model' AS model,
       (s->>'rows')::bigint = (SELECT count(*) FROM flchain) AS rows_ok,
       s->'columns' AS columns,
       s->'epochs' AS epochs,
       (s->>'steps')::bigint AS steps_shown,
       s->>'mechanism' AS mechanism,
       s->>'scope' AS scope,
       s->'delta' AS delta,
       s ? 'passes' OR s ? 'max_rows' OR s ? 'epsilon_first_pass' AS has_pass_keys,
       s->>'row_type' AS row_type,
       jsonb_typeof(s->'final_loss') AS final_loss,
       (s->>'seconds')::float8 > 0 AS took_time
  FROM summary WHERE model = 'fl_c';
-- the guarantee: at most the requested epsilon, nearly all of it spent; the
-- preprocessing spends its share (0.2) plus 2% on the DP row count, DP-SGD
-- (and the DP marginals, composed with it) the rest; the sampling rate is
-- batch_size (512) over the DP row count; steps = epochs / rate; the
-- ledger's replace-one figure is at least epsilon
SELECT (s->>'epsilon')::float8 <= 1 AS eps_within_request,
       (s->>'epsilon')::float8 > 0.999 AS budget_spent,
       abs((s->>'epsilon_preprocess')::float8 - (0.2 + 0.02) * 1) < 1e-12 AS preprocess_is_share_and_count,
       (s->>'epsilon_dpsgd')::float8 <= 1 - (s->>'epsilon_preprocess')::float8 AS dpsgd_within_rest,
       (s->>'epsilon')::float8 >= (s->>'epsilon_preprocess')::float8 + (s->>'epsilon_dpsgd')::float8 - 1e-12
         AS epsilon_covers_parts,
       (s->>'noise_multiplier')::float8 > 0 AS noise,
       abs(512 / (s->>'sampling_rate')::float8 - 7874) < 500 AS rate_from_dp_count,
       (s->>'steps')::bigint = ceil(5 / (s->>'sampling_rate')::float8) AS steps_ok,
       (s->>'epsilon_ledger')::float8 >= (s->>'epsilon')::float8 AS ledger_at_least_epsilon,
       (s->>'lipschitz_certified')::float8 > 0 AS certified
  FROM summary WHERE model = 'fl_c';
-- lipvae.lipvae_models(): no passes and no rows per pass (n is not stored)
SELECT m.name, m.mechanism, m.scope, m.delta, m.passes, m.rows_per_pass, m.columns,
       m.epsilon = (s->>'epsilon')::float8 AS same_epsilon,
       m.details->>'relation' AS relation,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(m.details->'dpsgd') k) AS dpsgd_keys
  FROM lipvae.lipvae_models() m JOIN summary ON model = m.name
 WHERE m.name = 'fl_c';
-- the catalog: every part of the guarantee
SELECT mechanism, scope, relation, passes, nrows, epsilon_requested, mu_pass, lipschitz_target,
       epsilon_release, delta_release,
       epsilon = (s->>'epsilon')::float8 AS same_epsilon,
       epsilon <= epsilon_requested AS eps_ok,
       epsilon_dpsgd <= epsilon AS dpsgd_within_epsilon,
       epsilon_dpsgd = (s->>'epsilon_dpsgd')::float8 AS same_dpsgd,
       epsilon >= epsilon_preprocess + epsilon_dpsgd - 1e-12 AS epsilon_covers_parts,
       delta_dpsgd = delta - delta_preprocess AS dpsgd_delta_is_rest,
       epsilon_ledger = (s->>'epsilon_ledger')::float8 AS same_ledger,
       delta_ledger = delta AS ledger_delta,
       abs(diameter - sqrt(8)) < 1e-12 AS diameter_ok,
       noise_sd = 1 AS unit_noise,
       jsonb_array_length(preprocess) AS preprocess_components
  FROM lipvae.models, summary AS su WHERE name = 'fl_c' AND su.model = 'fl_c';
SELECT dpsgd->>'relation' AS relation, dpsgd->'epochs' AS epochs, dpsgd->'clip' AS clip,
       (dpsgd->>'sampling_rate')::float8 = (s->>'sampling_rate')::float8 AS same_rate,
       (dpsgd->>'noise_multiplier')::float8 = (s->>'noise_multiplier')::float8 AS same_noise,
       (dpsgd->>'steps')::bigint = (s->>'steps')::bigint AS same_steps,
       (dpsgd->>'delta')::float8 = delta_dpsgd AS same_delta,
       abs((dpsgd->>'normalizer')::float8 - 512) < 1e-9 AS normalizer_is_batch
  FROM lipvae.models, summary AS su WHERE name = 'fl_c' AND su.model = 'fl_c';
-- the preprocessing: the four columns' bounds and categories share 0.2 of
-- epsilon, the row count 2% more (pure epsilon-DP)
SELECT p->>'column' AS column, p->>'what' AS what, p->>'mechanism' AS mechanism,
       CASE WHEN p->>'what' = 'row count' THEN abs((p->>'epsilon')::float8 - 0.02 * epsilon_requested) < 1e-12
            ELSE abs((p->>'epsilon')::float8 - (settings->>'preprocess_share')::float8 * epsilon_requested / 4) < 1e-12
       END AS epsilon_ok,
       CASE WHEN p->>'what' = 'categories'
            THEN abs((p->>'delta')::float8 - (settings->>'preprocess_share')::float8 * delta / 2) < 1e-18
            ELSE (p->>'delta')::float8 = 0 END AS delta_ok
  FROM lipvae.models, jsonb_array_elements(preprocess) WITH ORDINALITY AS x(p, i)
 WHERE name = 'fl_c' ORDER BY i;
-- the defaults chosen for central: batch 512, learning rate 0.005,
-- preprocess_share 0.2, norm clipping at 1, no layer bound
SELECT settings - 'epochs' AS settings FROM lipvae.models WHERE name = 'fl_c';
-- and 30 epochs when none are given
SELECT (lipvae.lipvae_train('fl_c30', 'SELECT age FROM flsmall', bounds => '{"age": [40, 110]}',
        seed => 1, hidden => 16))->'epochs' AS epochs;
SELECT settings->'epochs' AS epochs, dpsgd->'epochs' AS dpsgd_epochs FROM lipvae.models WHERE name = 'fl_c30';
SELECT lipvae.lipvae_drop('fl_c30');

-- central+latent: DP-SGD and the per-record release composed (RDP), under
-- replace-one; a pass limit like latent's, n public
INSERT INTO summary
SELECT 'fl_cl', lipvae.lipvae_train('fl_cl', 'SELECT age, sex, creatinine, chapter FROM flchain',
                             epsilon => 1, mechanism => 'central+latent', seed => 1, epochs => 5, hidden => 16);
SELECT array_agg(k ORDER BY k) AS summary_keys
  FROM summary, jsonb_object_keys(s) k WHERE model = 'fl_cl';
SELECT s->>'mechanism' AS mechanism, s->>'scope' AS scope, s->'passes' AS passes,
       (s->>'max_rows')::bigint = 10 * (SELECT count(*) FROM flchain) AS max_rows_ok,
       (s->>'epsilon')::float8 <= 1 AS eps_within_request,
       (s->>'epsilon_first_pass')::float8 < (s->>'epsilon')::float8 AS first_pass_cheaper,
       abs((s->>'epsilon_preprocess')::float8 - 0.2) < 1e-12 AS preprocess_is_share_no_count,
       abs((s->>'epsilon_dpsgd')::float8 - 0.75 * (1 - (s->>'epsilon_preprocess')::float8)) < 1e-6
         AS dpsgd_central_share,
       (s->>'epsilon_dpsgd')::float8 < (s->>'epsilon')::float8 AS dpsgd_below_total,
       abs(512 / (s->>'sampling_rate')::float8 - 7874) < 1e-6 AS rate_from_exact_n,
       (s->>'epsilon_ledger')::float8 = (s->>'epsilon')::float8 AS ledger_is_epsilon
  FROM summary WHERE model = 'fl_cl';
SELECT mechanism, scope, relation, passes, nrows = (SELECT count(*) FROM flchain) AS nrows_ok,
       epsilon = (s->>'epsilon')::float8 AS same_epsilon,
       epsilon <= epsilon_requested AS eps_ok,
       epsilon_release > 0 AND epsilon_release < epsilon AS release_below_total,
       epsilon_dpsgd > 0 AND epsilon_dpsgd < epsilon AS dpsgd_below_total,
       delta_release = delta - delta_preprocess AS release_delta,
       delta_dpsgd = delta - delta_preprocess AS dpsgd_delta,
       epsilon_ledger = epsilon AS ledger_is_epsilon, delta_ledger = delta AS ledger_delta,
       lipschitz_certified <= lipschitz_target AS certified_within_target,
       abs(mu_pass - lipschitz_certified * diameter / noise_sd) <= 1e-12 * mu_pass AS mu_pass_ok,
       dpsgd->>'relation' AS dpsgd_relation,
       (dpsgd->>'sampling_rate')::float8 = (s->>'sampling_rate')::float8 AS same_rate,
       settings->'central_share' AS central_share,
       (SELECT array_agg(p->>'what' ORDER BY p->>'column') FROM jsonb_array_elements(preprocess) p) AS preprocess
  FROM lipvae.models, summary AS su WHERE name = 'fl_cl' AND su.model = 'fl_cl';
SELECT name, mechanism, scope, passes, rows_per_pass = (SELECT count(*) FROM flchain) AS rows_per_pass_ok
  FROM lipvae.lipvae_models() WHERE name = 'fl_cl';

-- user-level privacy: central with a unit column (not modelled), at most
-- unit_rows rows kept per unit (1500 of the 7874 rows here)
INSERT INTO summary
SELECT 'fl_u', lipvae.lipvae_train('fl_u', 'SELECT id % 500 AS person, age, sex FROM flchain',
                            unit => 'person', unit_rows => 3, bounds => '{"age": [40, 110]}',
                            epsilon => 1, seed => 1, epochs => 5, hidden => 16);
SELECT s->>'scope' AS scope, s->'units' AS units, s->'rows' AS rows, s->'columns' AS columns,
       (s->>'epsilon')::float8 <= 1 AS eps_within_request
  FROM summary WHERE model = 'fl_u';
SELECT relation, scope, passes, nrows, dpsgd->>'relation' AS dpsgd_relation, dpsgd->'unit' AS unit,
       dpsgd->'unit_rows' AS unit_rows, dpsgd->'units' AS units,
       settings->'unit' AS setting_unit, settings->'unit_rows' AS setting_unit_rows,
       jsonb_path_query_array(columns, '$[*].name') AS columns,
       jsonb_path_query_array(preprocess, '$[*].what') AS preprocess
  FROM lipvae.models WHERE name = 'fl_u';
SELECT a.attname FROM pg_attribute a
 WHERE a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'lipvae_types.fl_u'::regtype) AND a.attnum > 0
 ORDER BY a.attnum;
SELECT count(*) AS rows, min(scope) = max(scope) AS one_scope, min(scope) AS scope
  FROM lipvae.lipvae_sample('fl_u', 100);
SELECT lipvae.lipvae_drop('fl_u');

-- public bounds and categories given by the user: nothing spent on bounds
-- and categories (a central model still pays its DP row count)
INSERT INTO summary
SELECT 'fl_user', lipvae.lipvae_train('fl_user', 'SELECT age, sex, creatinine, chapter FROM flchain',
       epsilon => 1, seed => 1, epochs => 5, hidden => 16,
       bounds => '{"age": [40, 110], "creatinine": [0, 10]}',
       categories => '{"sex": ["F", "M"], "chapter": {"values": ["Circulatory", "Neoplasms", "Respiratory"], "other": "Other"}}');
SELECT abs((s->>'epsilon_preprocess')::float8 - 0.02 * 1) < 1e-12 AS epsilon_preprocess_is_count,
       (s->>'epsilon')::float8 <= 1 AS eps_within_request
  FROM summary WHERE model = 'fl_user';
SELECT c->>'name' AS name, c->>'bounds_source' AS bounds_source, c->'bounds' AS bounds,
       c->>'categories_source' AS categories_source, c->'categories' AS categories,
       c->'other' AS other
  FROM lipvae.models, jsonb_array_elements(columns) WITH ORDINALITY AS x(c, i)
 WHERE name = 'fl_user' ORDER BY i;
SELECT abs(epsilon_preprocess - 0.02 * epsilon_requested) < 1e-12 AS epsilon_preprocess_is_count, delta_preprocess,
       jsonb_path_query_array(preprocess, '$[*].what') AS preprocess
  FROM lipvae.models WHERE name = 'fl_user';
-- the same for a per-record model: nothing at all
SELECT (lipvae.lipvae_train('fl_user_l', 'SELECT age, sex, creatinine, chapter FROM flchain',
       epsilon => 1, mechanism => 'latent', seed => 1, epochs => 5, hidden => 16,
       bounds => '{"age": [40, 110], "creatinine": [0, 10]}',
       categories => '{"sex": ["F", "M"], "chapter": {"values": ["Circulatory", "Neoplasms", "Respiratory"], "other": "Other"}}'))
       ->'epsilon_preprocess' AS epsilon_preprocess;
SELECT epsilon_preprocess, delta_preprocess, preprocess FROM lipvae.models WHERE name = 'fl_user_l';
SELECT lipvae.lipvae_drop('fl_user_l');
-- user categories are honoured: only listed values, or the "other" value
SELECT DISTINCT row->>'chapter' AS chapter FROM lipvae.lipvae_sample('fl_user', 2000)
 WHERE row->>'chapter' NOT IN ('Circulatory', 'Neoplasms', 'Respiratory');
SELECT bool_and((row->>'age')::int BETWEEN 40 AND 110) AS age_in_bounds,
       bool_and((row->>'creatinine')::float8 BETWEEN 0 AND 10) AS creatinine_in_bounds,
       bool_and(row->>'sex' IN ('F', 'M')) AS sex_listed
  FROM lipvae.lipvae_sample('fl_user', 2000);

-- an existing name is never replaced silently
SELECT lipvae.lipvae_train('fl', 'SELECT age, sex FROM flchain', epsilon => 1, seed => 2, epochs => 3, hidden => 16);
SELECT lipvae.lipvae_train('fl', 'SELECT age, sex FROM flchain', epsilon => 1, seed => 2, epochs => 3, hidden => 16, replace => false);
SELECT query FROM lipvae.models WHERE name = 'fl';

-- replace => true with the same columns keeps the row type (a view built on
-- the typed sampler survives), and the new model differs
CREATE TEMP TABLE fl_before AS SELECT * FROM lipvae.lipvae_sample('fl', 50);
CREATE VIEW fl_view AS SELECT age, sex FROM lipvae.lipvae_sample(NULL::lipvae_types.fl, 5);
CREATE TEMP TABLE fl_meta AS
  SELECT row_type::oid AS type_oid, created, md5(model) AS blob FROM lipvae.models WHERE name = 'fl';
SELECT (lipvae.lipvae_train('fl', 'SELECT age, sex, creatinine, chapter FROM flchain', epsilon => 2,
        seed => 2, epochs => 5, hidden => 16, replace => true))->>'model' AS replaced;
SELECT m.row_type::oid = b.type_oid AS same_row_type,
       m.created > b.created AS newer,
       md5(m.model) <> b.blob AS new_blob,
       m.epsilon_requested
  FROM lipvae.models m, fl_meta b WHERE m.name = 'fl';
SELECT count(*) > 0 AS rows_differ
  FROM (SELECT * FROM fl_before EXCEPT SELECT * FROM lipvae.lipvae_sample('fl', 50)) x;
SELECT count(*) AS view_rows FROM fl_view;
-- replace with other columns needs a new row type: the old one goes, and the
-- view built on it with it (only the owner and superusers can build one:
-- the owner must always be able to replace)
SELECT (lipvae.lipvae_train('fl', 'SELECT age, futime FROM flchain', epsilon => 1,
        seed => 2, epochs => 3, hidden => 16, replace => true))->>'columns' AS columns;
SELECT query, epsilon_requested FROM lipvae.models WHERE name = 'fl';
SELECT count(*) AS views_left FROM pg_class WHERE relname = 'fl_view';
-- a new row type with the new columns
SELECT m.row_type::oid <> b.type_oid AS new_row_type FROM lipvae.models m, fl_meta b WHERE m.name = 'fl';
SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.fl, 0);
SELECT DISTINCT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(row) k) AS keys
  FROM lipvae.lipvae_sample('fl', 100);

-- a non-private model (evaluation ceiling): exact bounds, no guarantee
INSERT INTO summary
SELECT 'fl_none', lipvae.lipvae_train('fl_none', 'SELECT age, sex, creatinine, chapter FROM flchain',
       mechanism => 'none', seed => 1, epochs => 5, hidden => 16);
SELECT s->>'mechanism' AS mechanism, s->>'scope' AS scope, s->'epsilon' AS epsilon,
       s->'delta' AS delta
  FROM summary WHERE model = 'fl_none';
SELECT mechanism, scope, epsilon, delta, epsilon_requested, epsilon_preprocess,
       delta_preprocess, preprocess, mu_pass, lipschitz_target
  FROM lipvae.models WHERE name = 'fl_none';
SELECT c->>'name' AS name, c->>'bounds_source' AS bounds_source, c->'bounds' AS bounds,
       c->>'categories_source' AS categories_source
  FROM lipvae.models, jsonb_array_elements(columns) WITH ORDINALITY AS x(c, i)
 WHERE name = 'fl_none' ORDER BY i;
SELECT count(*) AS rows, min(epsilon) AS min_eps, max(epsilon) AS max_eps,
       count(delta) AS non_null_delta, min(scope) AS scope
  FROM lipvae.lipvae_sample('fl_none', 1000);
-- no pass limit on a non-private model
SELECT count(*) AS rows FROM lipvae.lipvae_sample('fl_none', 10, 1000000);
SELECT name, mechanism, epsilon, delta FROM lipvae.lipvae_models() WHERE name = 'fl_none';

-- delta above 1/rows warns the owner
SELECT (lipvae.lipvae_train('fl_warn', 'SELECT age, sex FROM flsmall', delta => 0.01, bounds => '{"age": [40, 110]}',
        seed => 1, epochs => 3, hidden => 16))->>'delta' AS delta;
SELECT (lipvae.lipvae_train('fl_warn_l', 'SELECT age, sex FROM flsmall', delta => 0.01, mechanism => 'latent',
        seed => 1, epochs => 3, hidden => 16))->>'delta' AS delta;
SELECT lipvae.lipvae_drop('fl_warn_l');

-- not_null: no NULL indicator, a smaller diameter sqrt(#numeric + 2 #categorical)
SELECT (lipvae.lipvae_train('fl_nn', 'SELECT age, sex, kappa FROM flchain', not_null => '{age, kappa}',
        seed => 1, epochs => 3, hidden => 16))->>'columns' AS columns;
SELECT c->>'name' AS name, c->'nullable' AS nullable
  FROM lipvae.models, jsonb_array_elements(columns) WITH ORDINALITY AS x(c, i)
 WHERE name = 'fl_nn' ORDER BY i;
SELECT abs(diameter - sqrt(4)) < 1e-12 AS diameter_ok FROM lipvae.models WHERE name = 'fl_nn';
SELECT count(*) FILTER (WHERE row->'age' = 'null' OR row->'kappa' = 'null') AS nulls_in_not_null,
       count(*) AS rows
  FROM lipvae.lipvae_sample('fl_nn', 2000);

-- the options jsonb settings are recorded (central's, and latent's)
SELECT settings - 'learning_rate' - 'preprocess_share' AS settings,
       (settings->>'learning_rate')::float8 AS learning_rate,
       (settings->>'preprocess_share')::float8 AS preprocess_share
  FROM lipvae.models WHERE name = 'fl_nn';
SELECT (lipvae.lipvae_train('fl_nn_l', 'SELECT age, sex, kappa FROM flchain', not_null => '{age, kappa}',
        mechanism => 'latent', seed => 1, epochs => 3, hidden => 16))->>'columns' AS columns;
SELECT settings - 'learning_rate' - 'preprocess_share' AS settings,
       (settings->>'learning_rate')::float8 AS learning_rate,
       (settings->>'preprocess_share')::float8 AS preprocess_share
  FROM lipvae.models WHERE name = 'fl_nn_l';
SELECT lipvae.lipvae_drop('fl_nn_l');

-- drop: the model and its row type are gone
SELECT lipvae.lipvae_drop('fl_warn');
SELECT count(*) AS listed FROM lipvae.lipvae_models() WHERE name = 'fl_warn';
SELECT to_regtype('lipvae_types.fl_warn') AS row_type;
SELECT * FROM lipvae.lipvae_sample('fl_warn', 1);
SELECT lipvae.lipvae_drop('fl_warn');
-- the name can be used again
SELECT (lipvae.lipvae_train('fl_warn', 'SELECT age FROM flsmall', bounds => '{"age": [0, 120]}',
        seed => 1, epochs => 3, hidden => 16))->>'columns' AS columns;
SELECT lipvae.lipvae_drop('fl_warn');

SELECT name, mechanism, columns FROM lipvae.lipvae_models() ORDER BY name;

-- replace => true sees a model stored earlier in the same statement
SELECT count(*) AS trained
  FROM (SELECT lipvae.lipvae_train('tr_same', 'SELECT age, sex FROM flchain', epsilon => 1, passes => 1,
                            seed => s, epochs => 2, hidden => 16, replace => true)
          FROM generate_series(1, 2) AS s) AS t;
SELECT count(*) AS models FROM lipvae.lipvae_models() WHERE name = 'tr_same';
SELECT lipvae.lipvae_drop('tr_same');
