--
-- timeout: a training cancelled by statement_timeout stops promptly, and the
-- previous model stays intact (one transaction). The trainings below would
-- run for hours: "promptly" is within 30 s of the timeout, a bound that a
-- loaded CI machine cannot break (a 4 s bound failed once under load).
--
\set SHOW_CONTEXT never
SELECT (lipvae.lipvae_train('tmo', 'SELECT age, sex, creatinine, chapter FROM flchain',
        seed => 51, epochs => 3, hidden => 16))->>'model' AS model;
CREATE TEMP TABLE tmo_before AS SELECT * FROM lipvae.lipvae_sample('tmo', 20);
CREATE TEMP TABLE tmo_meta AS
  SELECT created, md5(model) AS blob, row_type::oid AS type_oid FROM lipvae.models WHERE name = 'tmo';

-- a training that would run for hours, replacing the model, stopped at 1 s
CREATE TEMP TABLE tmo_clock (t0 timestamptz, t1 timestamptz);
INSERT INTO tmo_clock VALUES (clock_timestamp(), NULL);
SET statement_timeout = '1s';
SELECT lipvae.lipvae_train('tmo', 'SELECT age, sex, creatinine, chapter FROM flchain',
                    seed => 52, epochs => 100000, hidden => 32, replace => true);
RESET statement_timeout;
UPDATE tmo_clock SET t1 = clock_timestamp();
SELECT t1 - t0 >= interval '1 second' AS waited_for_timeout,
       t1 - t0 < interval '31 seconds' AS stopped_quickly
  FROM tmo_clock;

-- the same, measured inside one statement, for the per-record training
-- loop (the one above is DP-SGD's, the default)
SET statement_timeout = '1s';
DO $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM lipvae.lipvae_train('tmo', 'SELECT age, sex, creatinine, chapter FROM flchain', mechanism => 'latent',
                         seed => 53, epochs => 100000, hidden => 32, replace => true);
    RAISE NOTICE 'training was not cancelled';
EXCEPTION WHEN query_canceled THEN
    RAISE NOTICE 'cancelled: % (SQLSTATE %), within 30 s: %', SQLERRM, SQLSTATE,
        clock_timestamp() - t0 < interval '31 seconds';
END $$;
RESET statement_timeout;

-- the old model is untouched: same blob, same row type, same rows
SELECT m.created = b.created AS same_created, md5(m.model) = b.blob AS same_blob,
       m.row_type::oid = b.type_oid AS same_row_type
  FROM lipvae.models m, tmo_meta b WHERE m.name = 'tmo';
SELECT count(*) AS differing
  FROM ((SELECT * FROM tmo_before EXCEPT SELECT * FROM lipvae.lipvae_sample('tmo', 20))
        UNION ALL
        (SELECT * FROM lipvae.lipvae_sample('tmo', 20) EXCEPT SELECT * FROM tmo_before)) x;

-- a cancelled first training leaves no model and no row type behind
SET statement_timeout = '1s';
SELECT lipvae.lipvae_train('tmo_new', 'SELECT age, sex FROM flchain',
                    seed => 54, epochs => 100000, hidden => 32);
RESET statement_timeout;
SELECT count(*) AS models FROM lipvae.models WHERE name = 'tmo_new';
SELECT to_regtype('lipvae_types.tmo_new') AS row_type;

-- only a real cancel stops a training: PostgreSQL's own benign interrupts
-- (here the 10 s idle-stats timer armed after the statements before) must
-- not end it, so this long training runs until its 12 s statement_timeout
SELECT count(*) AS rows FROM flchain;
SELECT count(*) AS rows FROM flsmall;
UPDATE tmo_clock SET t0 = clock_timestamp(), t1 = NULL;
SET statement_timeout = '12s';
SELECT lipvae.lipvae_train('tmo_long', 'SELECT age, sex, creatinine, chapter FROM flchain',
                    seed => 56, epochs => 100000, hidden => 16);
RESET statement_timeout;
UPDATE tmo_clock SET t1 = clock_timestamp();
SELECT t1 - t0 >= interval '11.5 seconds' AS ran_until_timeout,
       t1 - t0 < interval '42 seconds' AS stopped_quickly
  FROM tmo_clock;
SELECT count(*) AS models FROM lipvae.models WHERE name = 'tmo_long';

-- and the backend still trains and samples
SELECT (lipvae.lipvae_train('tmo', 'SELECT age, sex FROM flsmall', bounds => '{"age": [40, 110]}',
        seed => 55, epochs => 3, hidden => 16, replace => true))->>'columns' AS columns;
SELECT count(*) AS rows FROM lipvae.lipvae_sample('tmo', 20);
SELECT lipvae.lipvae_drop('tmo');

-- two trainings in a fresh session, the second with larger layers (this
-- sequence crashed the backend: the summary was built in memory that
-- SPI_finish had already freed)
\c
SELECT (lipvae.lipvae_train('tmo_small', 'SELECT age, sex, creatinine, chapter FROM flsmall',
        bounds => '{"age": [40, 105], "creatinine": [0, 12]}',
        seed => 57, epochs => 3, hidden => 16))->>'rows' AS rows;
SELECT (lipvae.lipvae_train('tmo_big', 'SELECT age, sex, kappa, chapter FROM flchain',
        epsilon => 8, seed => 58, epochs => 3, hidden => 64))->>'rows' AS rows;
SELECT count(*) >= 2 AS listed FROM lipvae.lipvae_models();
SELECT (lipvae.lipvae_train('tmo_big', 'SELECT age, sex, kappa, chapter FROM flchain',
        epsilon => 8, seed => 59, epochs => 3, hidden => 64, replace => true))->>'rows' AS rows;
SELECT lipvae.lipvae_drop(name) FROM (VALUES ('tmo_small'), ('tmo_big')) AS v(name);
