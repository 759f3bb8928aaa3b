-- The functions of the measure stage's counting query (count.c), alone:
-- what each returns, and an error (never a crash) for every bad argument.
-- Short, so that it also runs under valgrind. count.sql runs the query.
SET client_min_messages = warning;

-- 1. The slot functions encode as the C encoder does.
-- numbers: bins over [lo, hi], clamped; NULL to the NULL slot when nullable
SELECT v, lipvae.count_number_slot(v, 0::float8, 10::float8, 5, false, true) AS slot,
       lipvae.count_number_slot(v, 0::float8, 10::float8, 5, false, false) AS slot_not_nullable,
       lipvae.count_outside(v, 0::float8, 10::float8) AS outside
  FROM (VALUES (-3.0), (0.0), (1.99), (2.0), (9.99), (10.0), (42.0), (NULL)) AS t(v);
-- integers with one bin per value, dates (days) and times (seconds)
SELECT lipvae.count_number_slot(3::int2, 1::float8, 4::float8, 4, true, false) AS exact,
       lipvae.count_number_slot('2000-01-03'::date, 0::float8, 10::float8, 10, false, false) AS day_2,
       lipvae.count_number_slot('2000-01-01 00:00:05+00'::timestamptz, 0::float8, 10::float8, 10, false, false) AS second_5;
-- labels: position, "other" (the list's length), NULL slot (length + 1)
CREATE TYPE count_mood AS ENUM ('sad', 'ok', 'happy');
SELECT lipvae.count_label_slot(v, ARRAY['a ', 'b']::text[], true) AS text_slot,
       lipvae.count_label_slot(v::varchar, ARRAY['a ', 'b']::text[], false) AS varchar_slot
  FROM (VALUES ('b'), ('a '), ('a'), ('zz'), (NULL)) AS t(v);
-- char(n) padding is not part of a label; booleans and enums by their labels
SELECT lipvae.count_label_slot('a'::char(4), ARRAY['a', 'b']::text[], false) AS bpchar_slot,
       lipvae.count_label_slot(true, ARRAY['false', 'true']::text[], false) AS bool_slot,
       lipvae.count_label_slot('happy'::count_mood, ARRAY['sad', 'ok', 'happy']::text[], false) AS enum_slot;
-- a row's keys: the row's own key, one cell per candidate, the flags set
SELECT lipvae.count_keys(ARRAY[2, 1, 1]::int4[],
         '{100, 1,0,5,0, 1,1,3,5, 2,0,1,5,3,8, 0,2,101}'::int8[]) AS keys,
       lipvae.count_keys(ARRAY[2, NULL, 0]::int4[],
         '{100, 1,0,5,0, 1,1,3,5, 2,0,1,5,3,8, 0,2,101}'::int8[]) AS keys_null_slot,
       lipvae.count_keys(ARRAY[7, 1, 0]::int4[],
         '{100, 1,0,5,0, 2,0,1,5,3,8}'::int8[]) AS keys_out_of_range;

-- 2. Bad arguments are errors, never a crash or a slot out of range.
\set VERBOSITY terse
SELECT lipvae.count_number_slot(1, 5::float8, 5::float8, 5, false, false);
SELECT lipvae.count_number_slot(1, 'nan'::float8, 5::float8, 5, false, false);
SELECT lipvae.count_number_slot(1, 0::float8, 5::float8, 0, false, false);
SELECT lipvae.count_number_slot(1, 0::float8, 5::float8, NULL, false, false);
SELECT lipvae.count_number_slot('nan'::float8, 0::float8, 5::float8, 5, false, false);
SELECT lipvae.count_number_slot(point(1, 2), 0::float8, 5::float8, 5, false, false);
SELECT lipvae.count_number_slot('x'::text, 0::float8, 5::float8, 5, false, false);
SELECT lipvae.count_label_slot(1, ARRAY['1']::text[], false);
SELECT lipvae.count_label_slot('a'::text, ARRAY['a', NULL]::text[], false);
SELECT lipvae.count_label_slot('a'::text, ARRAY[['a'], ['b']]::text[], false);
SELECT lipvae.count_label_slot('a'::text, NULL::text[], false);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 1,0}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 1,3,5,0}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 1,0,0,0}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 1,-1,5,0}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 3,0,0,0,100000,100000,100000,0}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 4,0,0,0,0,1,1,1,1,0}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, 0,9999999,1}'::int8[]);
SELECT lipvae.count_keys(ARRAY[1]::int4[], '{0, NULL}'::int8[]);
SELECT lipvae.count_keys(ARRAY[[1]]::int4[], '{0, 1,0,5,0}'::int8[]);
\set VERBOSITY default

DROP TYPE count_mood;
