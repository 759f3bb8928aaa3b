-- The functions of the measure stage's counting query (count.c), alone:
-- what each returns, and an error (never a crash) for every bad argument.
-- Short, so that it also runs under valgrind. count.sql runs the query.
SET client_min_messages = warning;

-- 1. The functions encode as the C encoder does.
-- numbers: bins over [lo, hi], clamped; NULL is -1; outside the bounds flagged
SELECT v, lipvae.encode_number(v, 0::float8, 10::float8, 5, false) AS target,
       lipvae.encode_outside(v, 0::float8, 10::float8) AS outside
  FROM (VALUES (-3.0), (0.0), (1.99), (2.0), (9.99), (10.0), (42.0), (NULL)) AS t(v);
-- integers with one bin per value, dates (days) and times (seconds)
SELECT lipvae.encode_number(3::int2, 1::float8, 4::float8, 4, true) AS exact,
       lipvae.encode_number('2000-01-03'::date, 0::float8, 10::float8, 10, false) AS day_2,
       lipvae.encode_number('2000-01-01 00:00:05+00'::timestamptz, 0::float8, 10::float8, 10, false) AS second_5;
-- labels: position, "other" (the list's length), NULL slot (length + 1)
-- when nullable, else "other"
CREATE TYPE count_mood AS ENUM ('sad', 'ok', 'happy');
SELECT lipvae.encode_label(v, ARRAY['a ', 'b']::text[], true) AS text_slot,
       lipvae.encode_label(v::varchar, ARRAY['a ', 'b']::text[], false) AS varchar_slot
  FROM (VALUES ('b'), ('a '), ('a'), ('zz'), (NULL)) AS t(v);
-- char(n) padding is not part of a label; booleans and enums by their labels
SELECT lipvae.encode_label('a'::char(4), ARRAY['a', 'b']::text[], false) AS bpchar_slot,
       lipvae.encode_label(true, ARRAY['false', 'true']::text[], false) AS bool_slot,
       lipvae.encode_label('happy'::count_mood, ARRAY['sad', 'ok', 'happy']::text[], false) AS enum_slot;
-- a list that changes from row to row is hashed again for each row
SELECT lipvae.encode_label('b'::text, l, false) AS per_row_list
  FROM (VALUES (ARRAY['a', 'b']), (ARRAY['b']), (ARRAY['c'])) AS t(l);
-- a list passed as a parameter that plpgsql changes between calls is not
-- taken for a constant (found by a review: the first list was kept)
DO $$
DECLARE l text[];
BEGIN
	FOR i IN 1..3 LOOP
		l := CASE i WHEN 1 THEN ARRAY['a', 'b'] WHEN 2 THEN ARRAY['b'] ELSE ARRAY['x', 'y', 'b'] END;
		RAISE WARNING 'list %: slot of b %', i, lipvae.encode_label('b'::text, l, false);
	END LOOP;
END $$;
-- what the first pass counts: a number's domain bin, a label, nothing for
-- a number with public bounds, a boolean or an enum; NULL for NULL
SELECT lipvae.encode_domain(1.5::float8, 'x', true) AS bin_of_1_5,
       lipvae.encode_domain(-1.5::float8, 'x', true) AS bin_of_minus_1_5,
       lipvae.encode_domain(1.5::float8, 'x', false) AS bounded,
       lipvae.encode_domain('ab '::char(5), 'x', false) AS label,
       lipvae.encode_domain(true, 'x', false) AS bool,
       lipvae.encode_domain(NULL::int, 'x', true) AS null_value;

-- 2. Bad arguments are errors, never a crash or a target out of range.
SELECT lipvae.encode_number(1, 5::float8, 5::float8, 5, false);
\set VERBOSITY terse
SELECT lipvae.encode_number(1, 'nan'::float8, 5::float8, 5, false);
SELECT lipvae.encode_number(1, 0::float8, 'infinity'::float8, 5, false);
SELECT lipvae.encode_number(1, 0::float8, 5::float8, 0, false);
SELECT lipvae.encode_number(1, 0::float8, 5::float8, 1000000, false);
SELECT lipvae.encode_number(1, 0::float8, 5::float8, NULL, false);
SELECT lipvae.encode_number('nan'::float8, 0::float8, 5::float8, 5, false);
SELECT lipvae.encode_number(point(1, 2), 0::float8, 5::float8, 5, false);
SELECT lipvae.encode_number('x'::text, 0::float8, 5::float8, 5, false);
SELECT lipvae.encode_outside(1, NULL::float8, 5::float8);
SELECT lipvae.encode_outside(true, 0::float8, 5::float8);
SELECT lipvae.encode_label(1, ARRAY['1']::text[], false);
SELECT lipvae.encode_label('a'::text, ARRAY['a', NULL]::text[], false);
SELECT lipvae.encode_label('a'::text, ARRAY[['a'], ['b']]::text[], false);
SELECT lipvae.encode_label('a'::text, NULL::text[], false);
SELECT lipvae.encode_label('a'::text, ARRAY['a']::text[], NULL);
SELECT lipvae.encode_label('a'::text, (SELECT array_agg(i::text) FROM generate_series(1, 1001) i), false);
SELECT lipvae.encode_domain('nan'::float8, 'kappa', true);
SELECT lipvae.encode_domain(1, NULL, true);
SELECT lipvae.encode_domain(point(1, 1), 'p', true);
\set VERBOSITY default
DROP TYPE count_mood;
