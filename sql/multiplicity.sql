--
-- multiplicity: a row of a base relation that the training query repeats
-- (or that sways many of its rows) is charged group privacy of the number
-- of query rows it can change (issue 11, item 3); inheritance children are
-- charged to their ancestors too (item 5). Every charge is recomputed here
-- from the formula (k eps, k e^((k-1) eps) delta) and the caps must hold.
--
\set SHOW_CONTEXT never
SET client_min_messages = warning;
DROP TABLE IF EXISTS lv_mu_c, lv_mu_r, lv_mu_dim, lv_mu_fact, lv_mu_ip, lv_mu_dup CASCADE;
RESET client_min_messages;
CREATE TABLE lv_mu_r AS SELECT g AS id, 40 + (g * 37) % 60 AS age,
       CASE WHEN g % 3 = 0 THEN 'F' ELSE 'M' END AS sex FROM generate_series(1, 400) g;
ALTER TABLE lv_mu_r ADD PRIMARY KEY (id);
CREATE TABLE lv_mu_dim (id int PRIMARY KEY, sex text);
INSERT INTO lv_mu_dim SELECT g, CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END FROM generate_series(1, 10) g;
CREATE TABLE lv_mu_fact AS SELECT g AS id, 40 + g % 60 AS age, 1 + g % 10 AS dim_id FROM generate_series(1, 400) g;
-- every age of lv_mu_dup occurs 3 times: a join on age matches each row 3 times
CREATE TABLE lv_mu_dup AS SELECT 40 + g % 60 AS age FROM generate_series(1, 180) g;

-- mt trains a small per-record model (epsilon 1, delta 1e-6 under
-- replace-one, public bounds) and returns its sources: relation,
-- multiplicity, charge, and the training's own figure (e1, d1)
CREATE FUNCTION mt(model text, query text)
RETURNS TABLE (relation text, multiplicity int, eps float8, delta float8, e1 float8, d1 float8)
LANGUAGE sql AS $$
  SELECT s->>'relation', (s->>'multiplicity')::int, (s->>'epsilon_ledger')::float8, (s->>'delta_ledger')::float8,
         (t->>'epsilon_ledger')::float8, (t->>'delta_ledger')::float8
    FROM lipvae.lipvae_train(model, query, epsilon => 1, mechanism => 'latent',
           bounds => '{"age": [40, 100]}', categories => '{"sex": ["F", "M"]}',
           seed => 1, epochs => 1, hidden => 16, replace => true) t,
         jsonb_array_elements(t->'sources') s
$$;
-- ok says whether a charge is group privacy of k rows of (e1, d1),
-- k e1 and k e^((k-1) e1) d1, rounded up (within 1e-12)
CREATE FUNCTION ok(k int, eps float8, delta float8, e1 float8, d1 float8) RETURNS boolean LANGUAGE sql AS $$
  SELECT eps >= k * e1 AND eps <= k * e1 * (1 + 1e-12)
     AND delta >= k * exp((k - 1) * e1) * d1 AND delta <= k * exp((k - 1) * e1) * d1 * (1 + 1e-12)
$$;

-- each base row read once: multiplicity 1, charged the training's own figure
SELECT relation, multiplicity, eps = e1 AS same_eps, delta = d1 AS same_delta FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r WHERE age > 50');
-- the issue's repetitions, each bounded
SELECT relation, multiplicity, ok(multiplicity, eps, delta, e1, d1) FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r UNION ALL SELECT age, sex FROM lv_mu_r');
SELECT relation, multiplicity, ok(multiplicity, eps, delta, e1, d1) FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r UNION SELECT age, sex FROM lv_mu_r WHERE age < 60');
SELECT relation, multiplicity, ok(multiplicity, eps, delta, e1, d1) FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r CROSS JOIN (VALUES (1), (2)) v(k)');
SELECT relation, multiplicity, ok(multiplicity, eps, delta, e1, d1) FROM mt('lv_mu', 'WITH c AS (SELECT age, sex FROM lv_mu_r) SELECT * FROM c UNION ALL SELECT * FROM c UNION ALL SELECT * FROM c');
-- grouping: a replaced row changes its old and its new group
SELECT relation, multiplicity, ok(multiplicity, eps, delta, e1, d1) FROM mt('lv_mu', 'SELECT age, min(sex) AS sex FROM lv_mu_r GROUP BY age');
-- 20 copies: 20 e^19 1e-6 > 1, no guarantee is left (a function in FROM
-- is refused as before)
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r CROSS JOIN generate_series(1, 20) v(k)');
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', $q$SELECT age, sex FROM lv_mu_r CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10),
  (11), (12), (13), (14), (15), (16), (17), (18), (19), (20)) v(k)$q$);
-- unbounded: a target-list set-returning function, a join not on a unique key
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT age, sex FROM (SELECT age, sex, generate_series(1, 2) FROM lv_mu_r) s');
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r JOIN lv_mu_dup USING (age) ORDER BY 1');
-- WITH TIES: one row can bring in or push out every tie
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r ORDER BY age FETCH FIRST 5 ROWS WITH TIES');
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r ORDER BY age LIMIT 300');
-- a window function or a subquery sways every row
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_r WHERE age > (SELECT avg(age) FROM lv_mu_dup)');
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT age - count(*) OVER () / 1000 AS age, sex FROM lv_mu_r');

-- a fact table joined with a dimension table on its key: the fact rows are
-- charged once, the dimension rows (each in many query rows) unboundedly
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT f.age, d.sex FROM lv_mu_fact f JOIN lv_mu_dim d ON d.id = f.dim_id');
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT f.age, d.sex FROM lv_mu_fact f LEFT JOIN lv_mu_dim d ON f.dim_id = d.id AND d.id > 0');
-- the key equated to a constant: each fact row meets one dimension row,
-- which meets every fact row
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT f.age, d.sex FROM lv_mu_fact f, lv_mu_dim d WHERE d.id = 3');
-- not an equality on the key: unbounded both ways
SELECT relation, multiplicity, eps = e1 AS eps_once, round(eps::numeric, 6) AS eps, delta FROM mt('lv_mu', 'SELECT f.age, d.sex FROM lv_mu_fact f JOIN lv_mu_dim d ON d.id > f.dim_id');

-- what a hostile trainer tried: an outer join's ON clause does not bound
-- its preserved side (here 200 copies of every row were charged once)
CREATE TABLE lv_mu_amp (id int PRIMARY KEY);
INSERT INTO lv_mu_amp SELECT generate_series(1, 200);
CREATE TABLE lv_mu_one (id int PRIMARY KEY);
INSERT INTO lv_mu_one VALUES (1);
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT c.age, c.sex FROM lv_mu_r c CROSS JOIN lv_mu_amp a LEFT JOIN lv_mu_one o ON a.id = 1 AND o.id = 1');
-- a LATERAL item equated to the key it reads proves nothing
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT s.age, s.sex FROM lv_mu_r s, lv_mu_amp a, LATERAL (SELECT a.id AS z) l WHERE a.id = l.z');
-- two keys equated to each other: every pair joins every row of lv_mu_r
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT r.age, r.sex FROM lv_mu_r r CROSS JOIN (lv_mu_amp a JOIN lv_mu_amp b ON a.id = b.id)');
-- a case-insensitive = matches every case variant a unique key tells apart
CREATE COLLATION lv_mu_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE lv_mu_names (n text PRIMARY KEY);
INSERT INTO lv_mu_names VALUES ('ab'), ('aB'), ('Ab'), ('AB');
SELECT relation, multiplicity FROM mt('lv_mu', $q$SELECT s.age, s.sex FROM lv_mu_r s JOIN lv_mu_names n ON n.n = 'ab' COLLATE lv_mu_ci$q$);
SELECT relation, multiplicity FROM mt('lv_mu', $q$SELECT s.age, s.sex FROM lv_mu_r s JOIN lv_mu_names n ON n.n = 'ab'$q$);
-- the nullable side of an outer join: a replaced row can turn one matched
-- row into a null-extended one, and another the other way (K 2); a row of
-- it that is present is matched, so the ON clause bounds the other side
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT coalesce(s.age, 40) AS age, coalesce(s.sex, ''F'') AS sex FROM lv_mu_amp k LEFT JOIN lv_mu_r s ON k.id = s.id');
DROP TABLE lv_mu_amp, lv_mu_one, lv_mu_names;
DROP COLLATION lv_mu_ci;

-- the caps hold: a cap of 1.5 lets a plain training through and refuses
-- the one that reads every row twice
CREATE TABLE lv_mu_c AS SELECT age, sex FROM lv_mu_r;
SELECT lipvae.lipvae_set_cap('lv_mu_c', per_record_epsilon => 1.5);
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_c');
\set VERBOSITY terse
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_c UNION ALL SELECT age, sex FROM lv_mu_c');
\set VERBOSITY default
SELECT relation::text, round(per_record_epsilon::numeric, 3) AS spent, trainings FROM lipvae.lipvae_ledger() WHERE relation = 'lv_mu_c'::regclass;
-- and a capped dimension table refuses the join that repeats its rows
SELECT lipvae.lipvae_set_cap('lv_mu_dim', per_record_epsilon => 100);
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT f.age, d.sex FROM lv_mu_fact f JOIN lv_mu_dim d ON d.id = f.dim_id');

-- the ledger's entries record each relation's multiplicity and charge
SELECT c.relation, c.multiplicity, round(c.epsilon::numeric, 6) AS epsilon, c.delta, c.epsilon = e.epsilon AS charged_once
  FROM lipvae.lipvae_ledger_charges() c JOIN lipvae.lipvae_ledger_entries() e USING (entry)
 WHERE c.model = 'lv_mu' AND c.relation_name IN ('public.lv_mu_c', 'public.lv_mu_dim', 'public.lv_mu_fact')
 ORDER BY c.entry DESC, c.relation::text LIMIT 4;

-- inheritance: a child is charged to its parent too, so the parent's cap binds
CREATE TABLE lv_mu_ip (age int, sex text);
CREATE TABLE lv_mu_ic () INHERITS (lv_mu_ip);
INSERT INTO lv_mu_ic SELECT age, sex FROM lv_mu_r;
SELECT lipvae.lipvae_set_cap('lv_mu_ip', per_record_epsilon => 0);
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_ic');
SELECT lipvae.lipvae_set_cap('lv_mu_ip', per_record_epsilon => 'Infinity');
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_ic');
-- reading the parent reads the child: both charged once
SELECT relation, multiplicity FROM mt('lv_mu', 'SELECT age, sex FROM lv_mu_ip');

SELECT lipvae.lipvae_drop('lv_mu');
DROP FUNCTION mt(text, text);
DROP FUNCTION ok(int, float8, float8, float8, float8);
DROP TABLE lv_mu_c, lv_mu_r, lv_mu_dim, lv_mu_fact, lv_mu_ic, lv_mu_ip, lv_mu_dup;
