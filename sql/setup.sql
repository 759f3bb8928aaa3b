--
-- setup: the extension (loaded by pg_regress --load-extension=lipvae) and
-- the flchain table (Mayo Clinic serum free light chain cohort, 7874 rows,
-- NULLs in creatinine and chapter), plus a deterministic tenth of it.
--
SELECT extname, extversion FROM pg_extension WHERE extname = 'lipvae';

-- the objects the install script creates
SELECT nspname FROM pg_namespace WHERE nspname IN ('lipvae', 'lipvae_types') ORDER BY 1;
SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname = 'lipvae_trainer';
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer,
       p.provolatile AS volatility, p.proparallel AS parallel
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'lipvae'
 ORDER BY p.oid::regprocedure::text;
-- nobody but the extension owner may read the catalog; only trainers may train
SELECT has_schema_privilege('public', 'lipvae', 'USAGE') AS public_sees_catalog_schema,
       has_schema_privilege('public', 'lipvae_types', 'USAGE') AS public_sees_row_types,
       has_function_privilege('public',
         'lipvae_train(text,text,float8,float8,integer,text,jsonb,jsonb,text[],integer,integer,integer,integer,float8,integer,float8,bigint,boolean)',
         'EXECUTE') AS public_may_train,
       has_function_privilege('lipvae_trainer',
         'lipvae_train(text,text,float8,float8,integer,text,jsonb,jsonb,text[],integer,integer,integer,integer,float8,integer,float8,bigint,boolean)',
         'EXECUTE') AS trainer_may_train;
-- the catalog is carried by pg_dump
SELECT c.relname, c.oid = ANY (e.extconfig) AS dumped
  FROM pg_extension e, pg_class c
 WHERE e.extname = 'lipvae' AND c.relname = 'models'
   AND c.relnamespace = 'lipvae'::regnamespace;

CREATE TABLE flchain (
    age int,
    sex text,
    "sample.yr" int,
    kappa float8,
    lambda float8,
    "flc.grp" int,
    creatinine float8,
    mgus int,
    futime int,
    death int,
    chapter text,
    id int GENERATED ALWAYS AS IDENTITY
);
\copy flchain (age, sex, "sample.yr", kappa, lambda, "flc.grp", creatinine, mgus, futime, death, chapter) FROM 'data/flchain.csv' WITH (FORMAT csv, HEADER true)
ANALYZE flchain;

SELECT count(*) AS rows,
       count(*) FILTER (WHERE creatinine IS NULL) AS creatinine_nulls,
       count(*) FILTER (WHERE chapter IS NULL) AS chapter_nulls,
       count(DISTINCT sex) AS sexes,
       count(DISTINCT chapter) AS chapters,
       min(age) AS min_age, max(age) AS max_age
  FROM flchain;

-- every tenth row, for the tests that need a small table (787 rows)
CREATE TABLE flsmall AS SELECT * FROM flchain WHERE id % 10 = 0;
ANALYZE flsmall;
SELECT count(*) AS rows FROM flsmall;
