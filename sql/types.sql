--
-- types: every supported column type, NULLs in each, a domain and an enum;
-- the typed sampler returns each column with its (base) type, and values
-- fit their types and bounds.
--
\set SHOW_CONTEXT never
CREATE TYPE lv_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN lv_posint AS integer CHECK (VALUE >= 0);
CREATE DOMAIN lv_code AS text CHECK (VALUE <> 'zzz');
CREATE TABLE typed_src (
    s smallint,
    i4 integer,
    i8 bigint,
    r4 real,
    f8 double precision,
    n62 numeric(6,2),
    n numeric,
    b boolean,
    t text,
    vc varchar(5),
    ch char(3),
    e lv_mood,
    dom lv_posint,
    d date,
    ts timestamp,
    tstz timestamptz
);
INSERT INTO typed_src
SELECT CASE WHEN i % 17 = 0 THEN NULL ELSE i % 100 END,
       CASE WHEN i % 19 = 0 THEN NULL ELSE i * 7 END,
       CASE WHEN i % 23 = 0 THEN NULL ELSE i::bigint * 1000003 END,
       CASE WHEN i % 29 = 0 THEN NULL ELSE (i % 50) / 4.0 END,
       CASE WHEN i % 31 = 0 THEN NULL ELSE round(sin(i)::numeric, 6) * 100 END,
       CASE WHEN i % 37 = 0 THEN NULL ELSE (i % 1000) / 10.0 END,
       CASE WHEN i % 41 = 0 THEN NULL ELSE i * 1.5 END,
       CASE WHEN i % 43 = 0 THEN NULL ELSE i % 3 = 0 END,
       CASE WHEN i % 47 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue'])[i % 3 + 1] END,
       CASE WHEN i % 53 = 0 THEN NULL ELSE (ARRAY['ab', 'abcde', 'x'])[i % 3 + 1] END,
       CASE WHEN i % 59 = 0 THEN NULL ELSE (ARRAY['a', 'bb', 'ccc'])[i % 3 + 1] END,
       CASE WHEN i % 61 = 0 THEN NULL ELSE (ARRAY['sad', 'ok', 'happy'])[i % 3 + 1]::lv_mood END,
       CASE WHEN i % 67 = 0 THEN NULL ELSE i % 90 END,
       CASE WHEN i % 71 = 0 THEN NULL ELSE date '2000-01-01' + i * 3 END,
       CASE WHEN i % 73 = 0 THEN NULL ELSE timestamp '2010-06-01 12:00' + i * interval '7 hours' END,
       CASE WHEN i % 79 = 0 THEN NULL
            ELSE timestamptz '2015-01-01 00:00:00+00' + i * interval '90 minutes' END
  FROM generate_series(1, 400) AS i;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE s IS NULL) > 0 AND count(*) FILTER (WHERE i4 IS NULL) > 0
       AND count(*) FILTER (WHERE i8 IS NULL) > 0 AND count(*) FILTER (WHERE r4 IS NULL) > 0
       AND count(*) FILTER (WHERE f8 IS NULL) > 0 AND count(*) FILTER (WHERE n62 IS NULL) > 0
       AND count(*) FILTER (WHERE n IS NULL) > 0 AND count(*) FILTER (WHERE b IS NULL) > 0
       AND count(*) FILTER (WHERE t IS NULL) > 0 AND count(*) FILTER (WHERE vc IS NULL) > 0
       AND count(*) FILTER (WHERE ch IS NULL) > 0 AND count(*) FILTER (WHERE e IS NULL) > 0
       AND count(*) FILTER (WHERE dom IS NULL) > 0 AND count(*) FILTER (WHERE d IS NULL) > 0
       AND count(*) FILTER (WHERE ts IS NULL) > 0 AND count(*) FILTER (WHERE tstz IS NULL) > 0
         AS nulls_in_every_column
  FROM typed_src;

-- public bounds for some columns (numbers, a date, timestamps), categories
-- for two text columns; the rest (bounds of i8, r4, f8, n62, n, dom and the
-- categories of ch) are chosen with DP
SELECT s->'rows' AS rows, s->'columns' AS columns, (s->>'epsilon')::float8 <= 8 AS eps_ok,
       (s->>'epsilon_preprocess')::float8 > 0 AS dp_preprocessing
  FROM (SELECT lipvae.lipvae_train('typed', 'SELECT * FROM typed_src', epsilon => 8, delta => 1e-5,
          preprocess_share => 0.5, seed => 41, epochs => 5, hidden => 16,
          bounds => '{"s": [0, 99], "i4": [0, 3000], "d": ["2000-01-01", "2003-12-31"],
                      "ts": ["2010-06-01", "2010-12-31 23:59:59"],
                      "tstz": ["2015-01-01 00:00:00+00", "2015-02-01 00:00:00+00"]}',
          categories => '{"t": ["red", "green", "blue"], "vc": {"values": ["ab", "abcde", "x"], "other": "?"}}') AS s) x;
-- the catalog: kinds, base types, where bounds and categories came from
SELECT c->>'name' AS name, c->>'type' AS type, c->>'kind' AS kind,
       coalesce(c->>'bounds_source', c->>'categories_source') AS source,
       c->'integer' AS integer
  FROM lipvae.models, jsonb_array_elements(columns) WITH ORDINALITY AS x(c, i)
 WHERE name = 'typed' ORDER BY i;
SELECT c->'bounds' AS bounds FROM lipvae.models, jsonb_array_elements(columns) c
 WHERE name = 'typed' AND c->>'bounds_source' = 'user' ORDER BY c->>'name';
SELECT c->>'name' AS name, c->'categories' AS categories, c->'other' AS other
  FROM lipvae.models, jsonb_array_elements(columns) c
 WHERE name = 'typed' AND c->>'categories_source' IN ('type', 'user') ORDER BY c->>'name';

-- the typed form: one real table, every column with its type (the domain as
-- its base type, integer)
CREATE TABLE typed_out AS SELECT * FROM lipvae.lipvae_sample(NULL::lipvae_types.typed, 400);
SELECT column_name, data_type, character_maximum_length AS max_len,
       numeric_precision AS prec, numeric_scale AS scale, udt_name
  FROM information_schema.columns
 WHERE table_name = 'typed_out' ORDER BY ordinal_position;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a
 WHERE a.attrelid = 'typed_out'::regclass AND a.attnum > 0 ORDER BY a.attnum;
SELECT count(*) AS rows FROM typed_out;

-- values fit their types
SELECT bool_and(vc IS NULL OR length(vc) <= 5) AS varchar_fits,
       bool_and(vc IS NULL OR vc IN ('ab', 'abcde', 'x', '?')) AS varchar_listed_or_other,
       bool_and(ch IS NULL OR octet_length(ch) = 3) AS char_padded,
       bool_and(n62 IS NULL OR scale(n62) <= 2) AS numeric_scale_ok,
       bool_and(n62 IS NULL OR abs(n62) < 10000) AS numeric_precision_ok,
       bool_and(e IS NULL OR e::text IN ('sad', 'ok', 'happy')) AS enum_labels,
       bool_and(t IS NULL OR t IN ('red', 'green', 'blue')) AS text_listed,
       bool_and(s IS NULL OR s BETWEEN 0 AND 99) AS smallint_in_bounds,
       bool_and(i4 IS NULL OR i4 BETWEEN 0 AND 3000) AS integer_in_bounds,
       bool_and(d IS NULL OR d BETWEEN '2000-01-01' AND '2003-12-31') AS date_in_bounds,
       bool_and(ts IS NULL OR ts BETWEEN '2010-06-01' AND '2010-12-31 23:59:59') AS timestamp_in_bounds,
       bool_and(tstz IS NULL OR tstz BETWEEN '2015-01-01 00:00:00+00' AND '2015-02-01 00:00:00+00') AS timestamptz_in_bounds
  FROM typed_out;
-- numbers with DP bounds stay inside their public bounds
SELECT c->>'name' AS name,
       bool_and(CASE c->>'name'
                  WHEN 'i8' THEN o.i8::numeric BETWEEN (c->>'lo')::numeric AND (c->>'hi')::numeric
                  WHEN 'r4' THEN o.r4::numeric BETWEEN (c->>'lo')::numeric AND (c->>'hi')::numeric
                  WHEN 'f8' THEN o.f8::numeric BETWEEN (c->>'lo')::numeric AND (c->>'hi')::numeric
                  WHEN 'n62' THEN o.n62 BETWEEN round((c->>'lo')::numeric, 2) AND round((c->>'hi')::numeric, 2)
                  WHEN 'n' THEN o.n BETWEEN (c->>'lo')::numeric AND (c->>'hi')::numeric
                  WHEN 'dom' THEN o.dom::numeric BETWEEN (c->>'lo')::numeric AND (c->>'hi')::numeric
                END IS NOT FALSE) AS in_bounds
  FROM typed_out o, lipvae.models m, jsonb_array_elements(m.columns) c
 WHERE m.name = 'typed' AND c->>'bounds_source' = 'dp'
 GROUP BY 1 ORDER BY 1;
-- integers are whole, and the domain's base type carries no CHECK
SELECT bool_and(dom IS NULL OR pg_typeof(dom) = 'integer'::regtype) AS domain_as_integer,
       bool_and(i8 IS NULL OR i8 = round(i8)) AS bigint_whole
  FROM typed_out;
-- NULLs are released where columns are nullable
SELECT count(*) FILTER (WHERE NOT (o IS NOT NULL)) > 0 AS some_rows_have_nulls
  FROM (SELECT s, i4, i8, r4, f8, n62, n, b, t, vc, ch, e, dom, d, ts, tstz FROM typed_out) o;

-- the jsonb form: numbers as numbers, booleans as booleans, text, enums,
-- dates and times as strings
SELECT bool_and(jsonb_typeof(row->'s') IN ('number', 'null') AND jsonb_typeof(row->'i4') IN ('number', 'null')
                AND jsonb_typeof(row->'i8') IN ('number', 'null') AND jsonb_typeof(row->'r4') IN ('number', 'null')
                AND jsonb_typeof(row->'f8') IN ('number', 'null') AND jsonb_typeof(row->'n62') IN ('number', 'null')
                AND jsonb_typeof(row->'n') IN ('number', 'null') AND jsonb_typeof(row->'dom') IN ('number', 'null')) AS numbers,
       bool_and(jsonb_typeof(row->'b') IN ('boolean', 'null')) AS booleans,
       bool_and(jsonb_typeof(row->'t') IN ('string', 'null') AND jsonb_typeof(row->'vc') IN ('string', 'null')
                AND jsonb_typeof(row->'ch') IN ('string', 'null') AND jsonb_typeof(row->'e') IN ('string', 'null')) AS strings,
       bool_and(jsonb_typeof(row->'d') IN ('string', 'null') AND jsonb_typeof(row->'ts') IN ('string', 'null')
                AND jsonb_typeof(row->'tstz') IN ('string', 'null')) AS dates_as_strings,
       bool_and(row->>'s' IS NULL OR row->>'s' ~ '^-?\d+$') AS smallint_whole,
       bool_and(row->>'i8' IS NULL OR row->>'i8' ~ '^-?\d+$') AS bigint_whole,
       bool_and(row->>'n62' IS NULL OR scale((row->>'n62')::numeric) <= 2) AS numeric_scale
  FROM lipvae.lipvae_sample('typed', 400);
-- dates and times in jsonb are ISO 8601, as to_jsonb renders them, whatever
-- the session's DateStyle (pg_regress runs with 'Postgres, MDY')
SHOW DateStyle;
SELECT bool_and(j.row->'d' = to_jsonb(o.d)) AS date_iso,
       bool_and(j.row->'ts' = to_jsonb(o.ts)) AS timestamp_iso,
       bool_and(j.row->'tstz' = to_jsonb(o.tstz)) AS timestamptz_iso,
       bool_and(j.row->>'d' ~ '^\d{4}-\d{2}-\d{2}$') AS date_format
  FROM (SELECT *, row_number() OVER () - 1 AS row_no FROM typed_out) o
  JOIN lipvae.lipvae_sample('typed', 400) j USING (row_no)
 WHERE o.d IS NOT NULL AND o.ts IS NOT NULL AND o.tstz IS NOT NULL;
-- and the two forms agree
SELECT bool_and((j.row->>'d')::date IS NOT DISTINCT FROM o.d) AS dates_same,
       bool_and((j.row->>'ts')::timestamp IS NOT DISTINCT FROM o.ts) AS timestamps_same,
       bool_and((j.row->>'tstz')::timestamptz IS NOT DISTINCT FROM o.tstz) AS timestamptzs_same,
       bool_and((j.row->>'i8')::bigint IS NOT DISTINCT FROM o.i8) AS bigints_same,
       bool_and((j.row->>'n62')::numeric IS NOT DISTINCT FROM o.n62) AS numerics_same,
       bool_and((j.row->>'e')::lv_mood IS NOT DISTINCT FROM o.e) AS enums_same,
       bool_and((j.row->>'ch')::char(3) IS NOT DISTINCT FROM o.ch) AS chars_same,
       bool_and((j.row->>'b')::boolean IS NOT DISTINCT FROM o.b) AS booleans_same
  FROM (SELECT *, row_number() OVER () - 1 AS row_no FROM typed_out) o
  JOIN lipvae.lipvae_sample('typed', 400) j USING (row_no);

-- domains over text and integer and an enum, in a query with casts
SELECT (lipvae.lipvae_train('typed2', 'SELECT e, e::text::lv_code AS e_text, (i4 / 7)::lv_posint AS k FROM typed_src',
        bounds => '{"k": [0, 400]}', categories => '{"e_text": ["sad", "ok", "happy"]}',
        seed => 42, epochs => 3, hidden => 16))->>'columns' AS columns;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a
 WHERE a.attrelid = (SELECT typrelid FROM pg_type WHERE oid = 'lipvae_types.typed2'::regtype)
   AND a.attnum > 0 ORDER BY a.attnum;
-- an enum label renamed after training: the model's labels no longer exist
ALTER TYPE lv_mood RENAME VALUE 'ok' TO 'fine';
SELECT count(*) FROM lipvae.lipvae_sample('typed2', 10);
ALTER TYPE lv_mood RENAME VALUE 'fine' TO 'ok';
SELECT count(*) AS rows FROM lipvae.lipvae_sample('typed2', 10);
SELECT lipvae.lipvae_drop('typed2');

DROP TABLE typed_out;
