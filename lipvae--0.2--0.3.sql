/* lipvae--0.2--0.3.sql: lipvae 0.2 to 0.3. A fresh CREATE EXTENSION also
 * runs this script (after lipvae--0.1.sql and lipvae--0.1--0.2.sql). */

\echo Use "ALTER EXTENSION lipvae UPDATE TO '0.3'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The API moves into schema lipvae (issue 11, item 2)
-- ---------------------------------------------------------------------------
-- Until 0.2 the functions lived in the extension's schema, public by
-- default, where any role with CREATE on it could add a look-alike that
-- overload resolution prefers (lipvae_sample(lipvae_types.m, integer) beats
-- the polymorphic lipvae_sample(anyelement, bigint, bigint) for a call with
-- an integer literal, wherever on the search_path it is). Schema lipvae
-- belongs to the installing superuser and nobody else may create in it:
-- there, a qualified call lipvae.lipvae_sample(...) can only reach
-- lipvae's own functions. PUBLIC gets USAGE on the schema, so that the
-- functions can be called by their qualified names; the catalog tables,
-- the sequence and the internal functions in it keep no privileges for
-- PUBLIC.
--
-- The extension's own schema (pg_extension.extnamespace, public by
-- default) stays what it was: a non-relocatable extension cannot change it,
-- and nothing of lipvae is left in it.
ALTER FUNCTION @extschema@.lipvae_train(text, text, float8, float8, integer, text, jsonb, jsonb, text[], integer, integer, integer, integer, float8, integer, float8, bigint, boolean, text, integer, float8, text, float8, float8, float8, text) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_sample(text, bigint, bigint) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_sample(anyelement, bigint, bigint) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_drop(text) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_grant(text, regrole) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_revoke(text, regrole) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_models() SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_report(text, bigint, text) SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_ledger() SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_ledger_entries() SET SCHEMA lipvae;
ALTER FUNCTION @extschema@.lipvae_set_cap(regclass, float8, float8) SET SCHEMA lipvae;

-- Nothing in schema lipvae is open to PUBLIC but the API: not the catalog
-- tables, not the ledger's sequence, not the event trigger's function (these
-- were revoked when they were created; revoked again here so that the
-- USAGE below can never expose one of them), and nobody but the owner may
-- create in lipvae or lipvae_types.
REVOKE ALL ON ALL TABLES IN SCHEMA lipvae FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA lipvae FROM PUBLIC;
REVOKE ALL ON FUNCTION lipvae.ledger_dropped() FROM PUBLIC;
REVOKE CREATE ON SCHEMA lipvae FROM PUBLIC;
REVOKE CREATE ON SCHEMA lipvae_types FROM PUBLIC;
GRANT USAGE ON SCHEMA lipvae TO PUBLIC;

-- ---------------------------------------------------------------------------
-- Grants: seeded and per-record-only models (issue 11, item 8)
-- ---------------------------------------------------------------------------
-- lipvae_grant(model, grantee) keeps its signature (and its privileges): it
-- refuses seeded models (no privacy: their noise and release key come from
-- a 64-bit seed), per-record-only models (mechanism latent, not central DP)
-- and PUBLIC. The new form with per_record_only => true grants a latent
-- model on purpose. It has no default, so that a two-argument call is never
-- ambiguous between the two.
CREATE FUNCTION lipvae.lipvae_grant(model text, grantee regrole, per_record_only boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'lipvae_grant'
LANGUAGE C VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE;

COMMENT ON FUNCTION lipvae.lipvae_grant(text, regrole) IS
'Allow GRANTEE (and its members) to sample MODEL (owner or superuser only). Refused for non-private and seeded models, for PUBLIC, and for per-record-only (latent) models unless per_record_only => true.';
COMMENT ON FUNCTION lipvae.lipvae_grant(text, regrole, boolean) IS
'Allow GRANTEE (and its members) to sample MODEL; PER_RECORD_ONLY => true is the explicit consent to grant a per-record-only (latent) model, whose rows are not central DP.';

-- Seeded models say so on every row: their scope names the seed.
UPDATE lipvae.models
   SET scope = scope OPERATOR(pg_catalog.||) '; seeded: test only, no privacy guarantee'
 WHERE (settings OPERATOR(pg_catalog.->>) 'seeded') OPERATOR(pg_catalog.=) 'true'
   AND mechanism OPERATOR(pg_catalog.<>) 'none'
   AND pg_catalog.strpos(scope, 'seeded') OPERATOR(pg_catalog.=) 0;

-- ---------------------------------------------------------------------------
-- lipvae_report: lipvae's own functions, qualified and exactly typed
-- ---------------------------------------------------------------------------
-- Its search_path stays pinned (pg_catalog, pg_temp); only the model's
-- training query runs under the caller's (QUERY_SEARCH_PATH).
-- The report's reading of the training query (issue 11, red team): parsed
-- once under the caller's search_path, checked as a training query is
-- (built-in functions only), written back with every name qualified.
CREATE FUNCTION lipvae.lipvae_report_query(query text) RETURNS text
AS 'MODULE_PATHNAME', 'lipvae_report_query'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION lipvae.lipvae_report_query(text) IS
'For lipvae_report: QUERY parsed under the caller''s search_path, checked like a training query (one plain SELECT, built-in functions only) and written back with every name outside pg_catalog qualified.';

CREATE OR REPLACE FUNCTION lipvae.lipvae_report(
	model text,
	n bigint DEFAULT NULL,
	query_search_path text DEFAULT pg_catalog.current_setting('search_path'))
RETURNS TABLE (
	metric text,
	columns text,
	"real" float8,
	synthetic float8,
	value float8,
	note text)
LANGUAGE plpgsql
VOLATILE PARALLEL UNSAFE SECURITY INVOKER CALLED ON NULL INPUT
SET search_path = pg_catalog, pg_temp
AS $report$
DECLARE
	c_bins constant integer := 20;		-- bins of a numeric column
	c_max_pairs constant integer := 300;	-- column pairs evaluated at most
	v_found boolean := false;
	v_owner text;
	v_is_owner boolean;
	v_mechanism text;
	v_scope text;
	v_model_epsilon float8;
	v_passes integer;
	v_rows_per_pass bigint;
	v_row_type text;
	v_details jsonb;
	v_query text;
	v_n bigint;
	v_d integer;						-- columns
	v_names text[];
	v_kinds text[];
	v_real_types regtype[];
	v_synth_types regtype[];
	v_n_real bigint;
	v_n_synth bigint;
	v_row_epsilon float8;
	v_row_delta float8;
	v_pairs_all bigint;
	v_pairs integer;
	v_key text[] := '{}';
	v_x text[] := '{}';
	v_sql text;
	v_list_a text;
	v_list_b text;
	v_corr_r float8[];
	v_corr_s float8[];
	v_p integer;
	v_i integer;
	v_j integer;
	i integer;
	v_col jsonb;
	v_val text;
BEGIN
	IF model IS NULL THEN
		RAISE EXCEPTION 'model name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF n IS NOT NULL AND n < 1 THEN
		RAISE EXCEPTION 'number of rows must be at least 1, got %', n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF query_search_path IS NULL THEN
		RAISE EXCEPTION 'query_search_path must not be NULL' USING ERRCODE = 'null_value_not_allowed';
	END IF;

	-- the model, as the caller sees it. Every call of a lipvae function names
	-- schema lipvae (nobody but its owner may create in it) and gives every
	-- argument its exact type, so that no look-alike in another schema, and
	-- no better-matching overload, is ever chosen.
	SELECT true, m.owner, m.is_owner, m.mechanism, m.scope, m.epsilon, m.passes,
		   m.rows_per_pass, m.row_type, m.details
	  INTO v_found, v_owner, v_is_owner, v_mechanism, v_scope, v_model_epsilon,
		   v_passes, v_rows_per_pass, v_row_type, v_details
	  FROM lipvae.lipvae_models() AS m
	 WHERE m.name OPERATOR(pg_catalog.=) model;
	IF v_found IS NOT TRUE THEN
		-- not listed: an unknown model gets lipvae_sample's own error; a
		-- model the caller may not even sample, the owner-only error
		BEGIN
			PERFORM pg_catalog.count(*)
			   FROM lipvae.lipvae_sample(model::pg_catalog.text, 0::pg_catalog.int8, 0::pg_catalog.int8);
		EXCEPTION WHEN insufficient_privilege THEN
			RAISE EXCEPTION 'must be the owner of lipvae model "%" to report on it', model
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = 'The report compares synthetic rows with the raw rows of the model''s training query; only the model''s owner may run it.';
		END;
		RAISE EXCEPTION 'lipvae model "%" does not exist', model
			USING ERRCODE = 'undefined_object',
				  HINT = 'lipvae.lipvae_models() lists the models you may use.';
	END IF;
	IF NOT (v_is_owner AND v_owner = CURRENT_USER::text) THEN
		IF v_is_owner THEN
			RAISE EXCEPTION 'must be the owner of lipvae model "%" to report on it', model
				USING ERRCODE = 'insufficient_privilege',
					  DETAIL = pg_catalog.format('The report runs the model''s training query, which belongs to role %s; it runs only as that role.', pg_catalog.quote_ident(v_owner)),
					  HINT = pg_catalog.format('SET ROLE %s; then call lipvae.lipvae_report again.', pg_catalog.quote_ident(v_owner));
		END IF;
		RAISE EXCEPTION 'must be the owner of lipvae model "%" to report on it', model
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The report compares synthetic rows with the raw rows of the model''s training query; only the model''s owner may run it.';
	END IF;

	v_n := coalesce(n, v_rows_per_pass);	-- central models: the real rows, below
	v_row_type := v_row_type::regtype::text;	-- qualified and quoted (pinned search_path)

	-- the model's columns, in order
	SELECT pg_catalog.array_agg(c->>'name' ORDER BY o), pg_catalog.array_agg(c->>'kind' ORDER BY o),
		   pg_catalog.count(*)
	  INTO v_names, v_kinds, v_d
	  FROM pg_catalog.jsonb_array_elements(v_details->'columns') WITH ORDINALITY AS x(c, o);

	-- the real rows: the model's query, run now as the caller. Its names are
	-- resolved under the caller's search_path, once, by
	-- lipvae.lipvae_report_query, which checks it as a training query is
	-- (built-in functions only) and writes it back fully qualified; that
	-- text runs under the pinned search_path, where nobody can add an
	-- overload of one of its calls.
	PERFORM pg_catalog.set_config('search_path', query_search_path, true);
	v_query := lipvae.lipvae_report_query(v_details->>'query');
	PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
	EXECUTE 'CREATE TEMP TABLE lipvae_report_real ON COMMIT DROP AS ' || v_query;
	-- a unit column identifies people and is not modelled: leave it out
	IF v_details->'settings'->>'unit' IS NOT NULL THEN
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
						WHERE a.attrelid = 'pg_temp.lipvae_report_real'::pg_catalog.regclass
						  AND a.attname = v_details->'settings'->>'unit' AND NOT a.attisdropped) THEN
			RAISE EXCEPTION 'the training query of lipvae model "%" no longer returns its unit column %',
				model, pg_catalog.quote_ident(v_details->'settings'->>'unit')
				USING ERRCODE = 'datatype_mismatch',
					  DETAIL = 'The tables it reads were changed after training.',
					  HINT = 'Train the model again with replace => true.';
		END IF;
		EXECUTE pg_catalog.format('ALTER TABLE pg_temp.lipvae_report_real DROP COLUMN %I',
								  v_details->'settings'->>'unit');
	END IF;
	IF v_n IS NULL THEN
		SELECT greatest(pg_catalog.count(*), 1) INTO v_n FROM pg_temp.lipvae_report_real;
	END IF;

	-- the synthetic rows: rows 0 .. n-1 of the release, typed like the query
	EXECUTE pg_catalog.format(
		'CREATE TEMP TABLE lipvae_report_synth ON COMMIT DROP AS '
		'SELECT * FROM lipvae.lipvae_sample(NULL::%s, %s::pg_catalog.int8, 0::pg_catalog.int8)', v_row_type, v_n);

	-- the query must still return the model's columns (names and base types)
	EXECUTE
		'WITH RECURSIVE att AS ( '
		'  SELECT c.relname = ''lipvae_report_synth'' AS synth, a.attnum, a.attname, a.atttypid AS t, 0 AS depth '
		'    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid '
		'   WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() '
		'     AND c.relname IN (''lipvae_report_real'', ''lipvae_report_synth'') '
		'     AND a.attnum > 0 AND NOT a.attisdropped '
		'  UNION ALL '
		'  SELECT att.synth, att.attnum, att.attname, ty.typbasetype, att.depth + 1 '
		'    FROM att JOIN pg_catalog.pg_type ty ON ty.oid = att.t WHERE ty.typtype = ''d'' '
		'), base AS ( '
		'  SELECT DISTINCT ON (att.synth, att.attnum) att.synth, att.attnum AS num, att.attname, att.t '
		'    FROM att ORDER BY att.synth, att.attnum, att.depth DESC), '
		'ord AS ( '	-- positions, without the gaps of dropped columns
		'  SELECT base.synth, base.attname, base.t, '
		'         pg_catalog.row_number() OVER (PARTITION BY base.synth ORDER BY base.num) AS attnum '
		'    FROM base) '
		'SELECT pg_catalog.array_agg(b.t::pg_catalog.regtype ORDER BY b.attnum) FILTER (WHERE NOT b.synth), '
		'       pg_catalog.array_agg(b.t::pg_catalog.regtype ORDER BY b.attnum) FILTER (WHERE b.synth AND b.attnum <= $2), '
		'       coalesce(pg_catalog.bool_and(b.attname::pg_catalog.text = $1[b.attnum]) FILTER (WHERE NOT b.synth), false) '
		'       AND pg_catalog.count(*) FILTER (WHERE NOT b.synth) = $2 '
		'  FROM ord b'
	   INTO v_real_types, v_synth_types, v_found
	  USING v_names, v_d;
	IF NOT v_found OR v_real_types IS DISTINCT FROM v_synth_types THEN
		RAISE EXCEPTION 'the training query of lipvae model "%" no longer returns the model''s columns', model
			USING ERRCODE = 'datatype_mismatch',
				  DETAIL = 'The tables it reads were changed after training.',
				  HINT = 'Train the model again with replace => true.';
	END IF;

	EXECUTE 'SELECT pg_catalog.count(*) FROM pg_temp.lipvae_report_real' INTO v_n_real;
	EXECUTE 'SELECT pg_catalog.count(*), pg_catalog.max(s.epsilon), pg_catalog.max(s.delta) '
			'  FROM pg_temp.lipvae_report_synth AS s'
	   INTO v_n_synth, v_row_epsilon, v_row_delta;
	IF v_n_real = 0 THEN
		RAISE EXCEPTION 'the training query of lipvae model "%" returns no rows now', model
			USING ERRCODE = 'no_data_found';
	END IF;

	-- every row of both sides as bin keys (k<i>: text, NULL for NULL) and,
	-- for numeric columns, numbers (x<i>) for Pearson's correlation: dates
	-- in days and times in seconds since 2000-01-01, as the model's bounds
	FOR i IN 1 .. v_d LOOP
		v_col := v_details->'columns'->(i - 1);
		IF v_kinds[i] = 'numeric' THEN
			v_val := CASE v_synth_types[i]
				WHEN 'pg_catalog.date'::regtype THEN
					pg_catalog.format('(EXTRACT(epoch FROM r.%I) / 86400 - 10957)::pg_catalog.float8', v_names[i])
				WHEN 'pg_catalog.timestamp'::regtype THEN
					pg_catalog.format('(EXTRACT(epoch FROM r.%I) - 946684800)::pg_catalog.float8', v_names[i])
				WHEN 'pg_catalog.timestamptz'::regtype THEN
					pg_catalog.format('(EXTRACT(epoch FROM r.%I) - 946684800)::pg_catalog.float8', v_names[i])
				ELSE pg_catalog.format('r.%I::pg_catalog.float8', v_names[i]) END;
			IF (v_col->>'hi')::float8 > (v_col->>'lo')::float8 THEN
				-- (GREATEST and LEAST ignore NULLs: test for NULL first)
				v_key := v_key || pg_catalog.format(
					'CASE WHEN %3$s IS NOT NULL THEN least(%1$s, greatest(0, pg_catalog.floor(%2$s * (%3$s - %4$L::pg_catalog.float8) '
					'/ (%5$L::pg_catalog.float8 - %4$L::pg_catalog.float8))))::pg_catalog.int4::pg_catalog.text END',
					c_bins - 1, c_bins, v_val, v_col->>'lo', v_col->>'hi');
			ELSE
				v_key := v_key || pg_catalog.format('CASE WHEN %s IS NOT NULL THEN ''0'' END', v_val);
			END IF;
			v_x := v_x || pg_catalog.format(
				'nullif(nullif(nullif(%s, ''Infinity''::pg_catalog.float8), '
				'''-Infinity''::pg_catalog.float8), ''NaN''::pg_catalog.float8) AS x%s', v_val, i);
		ELSE
			v_key := v_key || pg_catalog.format('r.%I::pg_catalog.text', v_names[i]);
		END IF;
	END LOOP;
	SELECT pg_catalog.string_agg(pg_catalog.format('%s AS k%s', k, o), ', ' ORDER BY o)
	  INTO v_sql FROM pg_catalog.unnest(v_key) WITH ORDINALITY AS u(k, o);
	IF pg_catalog.cardinality(v_x) > 0 THEN
		v_sql := v_sql || ', ' || pg_catalog.array_to_string(v_x, ', ');
	END IF;
	EXECUTE pg_catalog.format(
		'CREATE TEMP TABLE lipvae_report_rows ON COMMIT DROP AS '
		'SELECT false AS lv_synth, %1$s FROM pg_temp.lipvae_report_real AS r '
		'UNION ALL SELECT true, %1$s FROM pg_temp.lipvae_report_synth AS r', v_sql);

	-- the columns, with their names as shown (quoted where needed; the word
	-- overall is kept for the overall rows)
	CREATE TEMP TABLE lipvae_report_cols (
		i integer, shown text, is_numeric boolean, how text) ON COMMIT DROP;
	INSERT INTO pg_temp.lipvae_report_cols
	SELECT x.o,
		   CASE WHEN x.c->>'name' = 'overall' THEN '"overall"' ELSE pg_catalog.quote_ident(x.c->>'name') END,
		   x.c->>'kind' = 'numeric',
		   CASE WHEN x.c->>'kind' = 'numeric'
				THEN pg_catalog.format('%s bins over [%s, %s]', c_bins, x.c->'bounds'->>0, x.c->'bounds'->>1)
				ELSE 'by value' END
	  FROM pg_catalog.jsonb_array_elements(v_details->'columns') WITH ORDINALITY AS x(c, o);

	-- the column pairs: all, or a fixed sample of c_max_pairs on wide tables
	-- (q numbers the numeric pairs)
	v_pairs_all := v_d::bigint * (v_d - 1) / 2;
	CREATE TEMP TABLE lipvae_report_pairs (
		p integer, i integer, j integer, pearson boolean, q integer, shown text,
		assoc_r float8, assoc_s float8) ON COMMIT DROP;
	INSERT INTO pg_temp.lipvae_report_pairs
	SELECT pg_catalog.row_number() OVER (ORDER BY s.i, s.j), s.i, s.j, a.is_numeric AND b.is_numeric,
		   NULL, a.shown || ', ' || b.shown, NULL, NULL
	  FROM (SELECT ci.g AS i, cj.g AS j
			  FROM pg_catalog.generate_series(1, v_d) AS ci(g), pg_catalog.generate_series(1, v_d) AS cj(g)
			 WHERE ci.g < cj.g
			 ORDER BY CASE WHEN v_pairs_all > c_max_pairs
						   THEN pg_catalog.md5(ci.g::pg_catalog.text || ',' || cj.g::pg_catalog.text) END,
					  ci.g, cj.g
			 LIMIT c_max_pairs) AS s
	  JOIN pg_temp.lipvae_report_cols a ON a.i = s.i
	  JOIN pg_temp.lipvae_report_cols b ON b.i = s.j;
	UPDATE pg_temp.lipvae_report_pairs AS t SET q = u.q
	  FROM (SELECT pp.p, pg_catalog.row_number() OVER (ORDER BY pp.p) AS q
			  FROM pg_temp.lipvae_report_pairs pp WHERE pp.pearson) AS u
	 WHERE u.p = t.p;
	SELECT pg_catalog.count(*) INTO v_pairs FROM pg_temp.lipvae_report_pairs;

	-- 1-way counts of every column and 2-way counts of every pair: one
	-- pass (a hash aggregate over the keys) per column and per pair
	EXECUTE 'ANALYZE pg_temp.lipvae_report_rows';
	CREATE TEMP TABLE lipvae_report_m1 (i integer, k text, nr bigint, ns bigint) ON COMMIT DROP;
	FOR i IN 1 .. v_d LOOP
		EXECUTE pg_catalog.format(
			'INSERT INTO pg_temp.lipvae_report_m1 '
			'SELECT %1$s, t.k%1$s, pg_catalog.count(*) FILTER (WHERE NOT t.lv_synth), '
			'       pg_catalog.count(*) FILTER (WHERE t.lv_synth) '
			'  FROM pg_temp.lipvae_report_rows AS t GROUP BY t.k%1$s', i);
	END LOOP;
	CREATE TEMP TABLE lipvae_report_m2 (p integer, a text, b text, nr bigint, ns bigint) ON COMMIT DROP;
	FOR v_p, v_i, v_j IN SELECT pp.p, pp.i, pp.j FROM pg_temp.lipvae_report_pairs pp ORDER BY pp.p LOOP
		EXECUTE pg_catalog.format(
			'INSERT INTO pg_temp.lipvae_report_m2 '
			'SELECT %s, t.k%s, t.k%s, pg_catalog.count(*) FILTER (WHERE NOT t.lv_synth), '
			'       pg_catalog.count(*) FILTER (WHERE t.lv_synth) '
			'  FROM pg_temp.lipvae_report_rows AS t GROUP BY 2, 3', v_p, v_i, v_j);
	END LOOP;

	-- Pearson's correlation of every numeric pair (rows where both are not
	-- NULL), real and synthetic, in one pass
	IF EXISTS (SELECT 1 FROM pg_temp.lipvae_report_pairs pp WHERE pp.pearson) THEN
		SELECT pg_catalog.string_agg(pg_catalog.format(
				   'pg_catalog.corr(t.x%s, t.x%s) FILTER (WHERE NOT t.lv_synth)', pp.i, pp.j), ', ' ORDER BY pp.q),
			   pg_catalog.string_agg(pg_catalog.format(
				   'pg_catalog.corr(t.x%s, t.x%s) FILTER (WHERE t.lv_synth)', pp.i, pp.j), ', ' ORDER BY pp.q)
		  INTO v_list_a, v_list_b FROM pg_temp.lipvae_report_pairs pp WHERE pp.pearson;
		EXECUTE pg_catalog.format(
			'SELECT ARRAY[%s]::pg_catalog.float8[], ARRAY[%s]::pg_catalog.float8[] '
			'  FROM pg_temp.lipvae_report_rows AS t', v_list_a, v_list_b)
		   INTO v_corr_r, v_corr_s;
		UPDATE pg_temp.lipvae_report_pairs AS pp
		   SET assoc_r = coalesce(v_corr_r[pp.q], 0), assoc_s = coalesce(v_corr_s[pp.q], 0)
		 WHERE pp.pearson;
	END IF;

	-- Cramer's V of every other pair from its contingency tables (NULL is a
	-- category; V = sqrt(chi2 / (N (min(rows, columns) - 1))), 0 when a side
	-- has a single row or column)
	UPDATE pg_temp.lipvae_report_pairs AS pp
	   SET assoc_r = coalesce(v.v_r, 0), assoc_s = coalesce(v.v_s, 0)
	  FROM (SELECT w.p,
				   pg_catalog.max(w.v) FILTER (WHERE NOT w.sd) AS v_r,
				   pg_catalog.max(w.v) FILTER (WHERE w.sd) AS v_s
			  FROM (SELECT z.p, z.sd,
						   CASE WHEN least(pg_catalog.max(z.ar), pg_catalog.max(z.br)) > 1
								THEN least(1, pg_catalog.sqrt(greatest(0,
										 pg_catalog.sum(z.c * z.c / (z.ra * z.cb)) - 1)
										 / (least(pg_catalog.max(z.ar), pg_catalog.max(z.br)) - 1)))
								ELSE 0 END AS v
					  FROM (SELECT y.p, y.sd, y.c,
								   pg_catalog.sum(y.c) OVER (PARTITION BY y.p, y.sd, y.a) AS ra,
								   pg_catalog.sum(y.c) OVER (PARTITION BY y.p, y.sd, y.b) AS cb,
								   pg_catalog.dense_rank() OVER (PARTITION BY y.p, y.sd ORDER BY y.a COLLATE "C") AS ar,
								   pg_catalog.dense_rank() OVER (PARTITION BY y.p, y.sd ORDER BY y.b COLLATE "C") AS br
							  FROM (SELECT m.p, false AS sd, m.a, m.b, m.nr::float8 AS c
									  FROM pg_temp.lipvae_report_m2 m WHERE m.nr > 0
									UNION ALL
									SELECT m.p, true, m.a, m.b, m.ns::float8
									  FROM pg_temp.lipvae_report_m2 m WHERE m.ns > 0) AS y
							 WHERE y.p IN (SELECT p2.p FROM pg_temp.lipvae_report_pairs p2 WHERE NOT p2.pearson)) AS z
					 GROUP BY z.p, z.sd) AS w
			 GROUP BY w.p) AS v
	 WHERE v.p = pp.p AND NOT pp.pearson;

	-- the report, one row per figure (o1: metric, o2: column or pair, 0 for overall)
	CREATE TEMP TABLE lipvae_report_out (
		o1 integer, o2 integer, r_metric text, r_columns text,
		r_real float8, r_synthetic float8, r_value float8, r_note text) ON COMMIT DROP;
	INSERT INTO pg_temp.lipvae_report_out VALUES
		(1, 0, 'mechanism', NULL, NULL, NULL, NULL, v_mechanism),
		(2, 0, 'scope', NULL, NULL, NULL, NULL, v_scope),
		(3, 0, 'epsilon', NULL, NULL, NULL, v_row_epsilon,
		 CASE WHEN v_mechanism = 'none' OR v_row_epsilon IS NULL OR v_row_epsilon = 'Infinity'
			  THEN 'no privacy guarantee'
			  WHEN v_passes IS NULL
			  THEN 'printed on every row: the whole release, however many rows'
			  ELSE pg_catalog.format('printed on row %s, the last one compared; the model''s last allowed row (pass %s) has %s',
									  v_n - 1, v_passes, v_model_epsilon) END),
		(4, 0, 'delta', NULL, NULL, NULL, v_row_delta, NULL),
		(5, 0, 'rows', NULL, v_n_real, v_n_synth, NULL,
		 CASE WHEN v_rows_per_pass IS NULL
			  THEN pg_catalog.format('real: the training query run now; synthetic: rows 0 .. %s of the release', v_n - 1)
			  ELSE pg_catalog.format('real: the training query run now (%s rows at training); synthetic: rows 0 .. %s of the release',
									 v_rows_per_pass, v_n - 1) END);

	INSERT INTO pg_temp.lipvae_report_out
	SELECT 6, m.i, 'tvd_1way', c.shown, NULL, NULL,
		   0.5 * pg_catalog.sum(pg_catalog.abs(m.nr::float8 / v_n_real - m.ns::float8 / v_n_synth)), c.how
	  FROM pg_temp.lipvae_report_m1 m JOIN pg_temp.lipvae_report_cols c ON c.i = m.i
	 GROUP BY m.i, c.shown, c.how;

	INSERT INTO pg_temp.lipvae_report_out
	SELECT 7, m.p, 'tvd_2way', pp.shown, NULL, NULL,
		   0.5 * pg_catalog.sum(pg_catalog.abs(m.nr::float8 / v_n_real - m.ns::float8 / v_n_synth)), NULL
	  FROM pg_temp.lipvae_report_m2 m JOIN pg_temp.lipvae_report_pairs pp ON pp.p = m.p
	 GROUP BY m.p, pp.shown;

	INSERT INTO pg_temp.lipvae_report_out
	SELECT 8, pp.p, 'association', pp.shown, pp.assoc_r, pp.assoc_s, pg_catalog.abs(pp.assoc_r - pp.assoc_s),
		   CASE WHEN pp.pearson THEN 'pearson' ELSE 'cramers_v' END
	  FROM pg_temp.lipvae_report_pairs pp;

	INSERT INTO pg_temp.lipvae_report_out
	SELECT 9, m.i, 'null_rate', c.shown,
		   coalesce(pg_catalog.sum(m.nr) FILTER (WHERE m.k IS NULL), 0)::float8 / v_n_real,
		   coalesce(pg_catalog.sum(m.ns) FILTER (WHERE m.k IS NULL), 0)::float8 / v_n_synth,
		   pg_catalog.abs(coalesce(pg_catalog.sum(m.nr) FILTER (WHERE m.k IS NULL), 0)::float8 / v_n_real
						  - coalesce(pg_catalog.sum(m.ns) FILTER (WHERE m.k IS NULL), 0)::float8 / v_n_synth),
		   NULL
	  FROM pg_temp.lipvae_report_m1 m JOIN pg_temp.lipvae_report_cols c ON c.i = m.i
	 GROUP BY m.i, c.shown;

	-- marginals => 'aim': every measured marginal's error bound (from the
	-- DP measurements alone, lv_aim.h); a marginal measured more than once
	-- shows its tightest bound
	INSERT INTO pg_temp.lipvae_report_out
	SELECT 10, pg_catalog.min(b.o), 'tvd_bound', b.shown, NULL, NULL, pg_catalog.min(b.bound),
		   pg_catalog.format('measured %s time(s), noise sd %s; with probability %s all bounds hold together (from the DP measurements only)',
							 pg_catalog.count(*), pg_catalog.round((pg_catalog.array_agg(b.sd ORDER BY b.bound, b.o))[1]::pg_catalog.numeric, 2),
							 v_details->'dpsgd'->>'bound_confidence')
	  FROM (SELECT x.o, (x.m->>'tvd_bound')::pg_catalog.float8 AS bound, (x.m->>'noise_sd')::pg_catalog.float8 AS sd,
				   (SELECT pg_catalog.string_agg(CASE WHEN c.n = 'overall' THEN '"overall"' ELSE pg_catalog.quote_ident(c.n) END,
												 ', ' ORDER BY c.k)
					  FROM pg_catalog.jsonb_array_elements_text(x.m->'columns') WITH ORDINALITY AS c(n, k)) AS shown
			  FROM pg_catalog.jsonb_array_elements(v_details->'dpsgd'->'measurements') WITH ORDINALITY AS x(m, o)
			 WHERE v_details->'dpsgd'->>'method' = 'aim') AS b
	 GROUP BY b.shown;

	-- the overall rows: means over the columns or pairs
	INSERT INTO pg_temp.lipvae_report_out
	SELECT g.o1, 0, g.r_metric, 'overall', NULL, NULL,
		   (SELECT pg_catalog.avg(o.r_value) FROM pg_temp.lipvae_report_out o WHERE o.o1 = g.o1),
		   CASE WHEN g.o1 IN (6, 9) THEN pg_catalog.format('mean over %s columns', v_d)
				WHEN v_pairs = 0 THEN 'no column pairs'
				WHEN v_pairs < v_pairs_all
				THEN pg_catalog.format('mean over %s of the %s pairs (a fixed sample; at most %s pairs are evaluated)',
									   v_pairs, v_pairs_all, c_max_pairs)
				ELSE pg_catalog.format('mean over %s pairs', v_pairs) END
			 || CASE g.o1 WHEN 6 THEN '; NULL is a bin of its own'
						  WHEN 8 THEN '; Pearson for numeric pairs, else Cramer''s V; undefined counts as 0'
						  ELSE '' END
	  FROM (VALUES (6, 'tvd_1way'), (7, 'tvd_2way'), (8, 'association'), (9, 'null_rate')) AS g(o1, r_metric);

	RETURN QUERY
	SELECT o.r_metric, o.r_columns, o.r_real, o.r_synthetic, o.r_value, o.r_note
	  FROM pg_temp.lipvae_report_out o ORDER BY o.o1, o.o2;

	DROP TABLE pg_temp.lipvae_report_out, pg_temp.lipvae_report_m2, pg_temp.lipvae_report_m1,
			   pg_temp.lipvae_report_pairs, pg_temp.lipvae_report_cols, pg_temp.lipvae_report_rows,
			   pg_temp.lipvae_report_synth, pg_temp.lipvae_report_real;
	RETURN;
END
$report$;

COMMENT ON FUNCTION lipvae.lipvae_report(text, bigint, text) IS
'Quality report of MODEL for its owner: the first N synthetic rows (default: one pass, or as many as real rows for central models) against the rows of the training query run now as the caller; 1-way and 2-way TVD, association differences (Pearson/Cramer''s V), NULL rates, the guarantee and, for marginals => ''aim'' models, the error bound of every measured marginal.';

-- ---------------------------------------------------------------------------
-- The ledger: multiplicities and group-privacy charges (issue 11, item 3)
-- ---------------------------------------------------------------------------
-- The ledger charges every relation group privacy of its multiplicity: how
-- many rows of the training query one of its rows can change (NULL in
-- multiplicities: unbounded, charged epsilon Infinity). Entries of 0.2
-- have NULL arrays: 0.2 charged every relation the training's epsilon.
ALTER TABLE lipvae.ledger_entries
	ADD COLUMN multiplicities integer[],
	ADD COLUMN charged_epsilon float8[],
	ADD COLUMN charged_delta float8[];

-- One row per relation of every entry the caller may see (as in
-- lipvae_ledger_entries(), which keeps its columns): the relation's
-- multiplicity and what it was charged.
CREATE FUNCTION lipvae.lipvae_ledger_charges(
	OUT entry bigint,
	OUT model text,
	OUT relation regclass,
	OUT relation_name text,
	OUT multiplicity integer,
	OUT epsilon float8,
	OUT delta float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'lipvae_ledger_charges'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION lipvae.lipvae_ledger_charges() IS
'Privacy ledger charges the caller may see: per training and relation read, its multiplicity (the query rows one of its rows can change; NULL: unbounded) and the (epsilon, delta) it was charged, group privacy of that many rows. Entries made before 0.3 have none.';

-- ---------------------------------------------------------------------------
-- Row types: USAGE from PUBLIC to the model's owner alone (issue 11, item 6)
-- ---------------------------------------------------------------------------
-- So that nobody but the model's owner can build a table, view or function on a model's row type (and so
-- block lipvae_drop or a replace, which now drop dependents with it), and
-- DROP ROLE of an owner is refused while its models exist. Casting to the
-- type (the typed sampling call) needs no USAGE.
DO $$
DECLARE
	m record;
BEGIN
	FOR m IN SELECT t.oid::pg_catalog.regtype AS typ, r.rolname
	           FROM lipvae.models mo
	           JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) mo.row_type::pg_catalog.oid
	           LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) mo.owner::pg_catalog.oid
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON TYPE %s FROM PUBLIC', m.typ);
		IF m.rolname IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT USAGE ON TYPE %s TO %I', m.typ, m.rolname);
		END IF;
	END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- The counting query of the measure stage (issue 12, item 1)
-- ---------------------------------------------------------------------------
-- With marginals => 'aim' the database counts: one GROUP BY over the
-- training query, run as the trainer, groups its rows by their encoding.
-- These functions give each value its target in the model's encoding
-- exactly as lipvae's encoder does. They read no table and keep no state:
-- open to every role, like any built-in function, and every argument is
-- checked.
CREATE FUNCTION lipvae.encode_number(value anyelement, lo float8, hi float8,
	nbins integer, exact_bins boolean)
RETURNS integer
AS 'MODULE_PATHNAME', 'lipvae_encode_number'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION lipvae.encode_number(anyelement, float8, float8, integer, boolean) IS
'Internal to lipvae_train''s counting query: the bin of a number, date or time (-1 for NULL).';

CREATE FUNCTION lipvae.encode_outside(value anyelement, lo float8, hi float8)
RETURNS integer
AS 'MODULE_PATHNAME', 'lipvae_encode_outside'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION lipvae.encode_outside(anyelement, float8, float8) IS
'Internal to lipvae_train''s counting query: 1 for a value outside [lo, hi], else 0.';

CREATE FUNCTION lipvae.encode_label(value anyelement, labels text[], nullable boolean)
RETURNS integer
AS 'MODULE_PATHNAME', 'lipvae_encode_label'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION lipvae.encode_label(anyelement, text[], boolean) IS
'Internal to lipvae_train''s counting query: the slot of a boolean, enum or text value in a category list.';

CREATE FUNCTION lipvae.encode_domain(value anyelement, name text, histogram boolean)
RETURNS bytea
AS 'MODULE_PATHNAME', 'lipvae_encode_domain'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION lipvae.encode_domain(anyelement, text, boolean) IS
'Internal to lipvae_train''s first pass: what it counts of a value (a number''s domain bin, a label).';
