--
-- privacy: recompute every printed epsilon from the catalog alone, with an
-- independent standard normal CDF and GDP conversion written here in
-- PL/pgSQL (privacy.md):
--   D       = sqrt(#numeric + 2 #categorical + #nullable numeric)
--   mu_1    = L_certified * D / noise_sd
--   eps(q)  = sum(preprocessing eps) + eps_GDP(sqrt(q) mu_1, delta - delta_pre)
-- where eps_GDP(mu, delta) solves
--   delta = Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2).
--
\set SHOW_CONTEXT never

-- Phi: W. J. Cody's rational Chebyshev approximations (ACM TOMS Algorithm
-- 715, 1993), the algorithm of R's pnorm: double precision in three ranges,
-- relative accuracy kept in the lower tail down to x = -37.5.
CREATE FUNCTION lvt_phi(x float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    a float8[] := ARRAY[2.2352520354606839287, 161.02823106855587881, 1067.6894854603709582,
                        18154.981253343561249, 0.065682337918207449113];
    b float8[] := ARRAY[47.20258190468824187, 976.09855173777669322, 10260.932208618978205,
                        45507.789335026729956];
    c float8[] := ARRAY[0.39894151208813466764, 8.8831497943883759412, 93.506656132177855979,
                        597.27027639480026226, 2494.5375852903726711, 6848.1904505362823326,
                        11602.651437647350124, 9842.7148383839780218, 1.0765576773720192317e-8];
    d float8[] := ARRAY[22.266688044328115691, 235.38790178262499861, 1519.377599407554805,
                        6485.558298266760755, 18615.571640885098091, 34900.952721145977266,
                        38912.003286093271411, 19685.429676859990727];
    p float8[] := ARRAY[0.21589853405795699, 0.1274011611602473639, 0.022235277870649807,
                        0.001421619193227893466, 2.9112874951168792e-5, 0.02307344176494017303];
    q float8[] := ARRAY[1.28426009614491121, 0.468238212480865118, 0.0659881378689285515,
                        0.00378239633202758244, 7.29751555083966205e-5];
    y float8 := abs(x);
    xsq float8;
    xnum float8;
    xden float8;
    temp float8;
    del float8;
    tail float8;            -- Phi(-|x|)
BEGIN
    IF y <= 0.67448975 THEN
        xsq := x * x;
        xnum := a[5] * xsq;
        xden := xsq;
        FOR i IN 1..3 LOOP
            xnum := (xnum + a[i]) * xsq;
            xden := (xden + b[i]) * xsq;
        END LOOP;
        RETURN 0.5 + x * (xnum + a[4]) / (xden + b[4]);
    ELSIF y <= 5.656854249492380195206754896838 THEN    -- sqrt(32)
        xnum := c[9] * y;
        xden := y;
        FOR i IN 1..7 LOOP
            xnum := (xnum + c[i]) * y;
            xden := (xden + d[i]) * y;
        END LOOP;
        temp := (xnum + c[8]) / (xden + d[8]);
    ELSIF y <= 37.5 THEN
        xsq := 1 / (x * x);
        xnum := p[6] * xsq;
        xden := xsq;
        FOR i IN 1..4 LOOP
            xnum := (xnum + p[i]) * xsq;
            xden := (xden + q[i]) * xsq;
        END LOOP;
        temp := xsq * (xnum + p[5]) / (xden + q[5]);
        temp := (0.398942280401432677939946059934 - temp) / y;    -- 1/sqrt(2 pi)
    ELSE
        RETURN CASE WHEN x > 0 THEN 1 ELSE 0 END;
    END IF;
    -- exp(-y^2/2) computed as exp(-xsq^2/2) exp(-del/2) with xsq = trunc(16 y)/16
    xsq := trunc(y * 16) / 16;
    del := (y - xsq) * (y + xsq);
    tail := exp(-xsq * xsq * 0.5) * exp(-del * 0.5) * temp;
    RETURN CASE WHEN x > 0 THEN 1 - tail ELSE tail END;
END $$;

-- delta(eps) of mu-GDP (Dong, Roth & Su 2019, Corollary 2.13)
CREATE FUNCTION lvt_gdp_delta(mu float8, eps float8) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT lvt_phi(-eps / mu + mu / 2) - exp(eps) * lvt_phi(-eps / mu - mu / 2) $$;

-- eps(mu, delta): bisection on the decreasing function eps -> delta(eps)
CREATE FUNCTION lvt_gdp_eps(mu float8, delta float8) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    lo float8 := 0;
    hi float8 := 1;
    mid float8;
BEGIN
    IF lvt_gdp_delta(mu, 0) <= delta THEN
        RETURN 0;
    END IF;
    WHILE lvt_gdp_delta(mu, hi) > delta LOOP
        lo := hi;
        hi := hi * 2;
    END LOOP;
    FOR i IN 1..200 LOOP
        mid := (lo + hi) / 2;
        EXIT WHEN mid <= lo OR mid >= hi;
        IF lvt_gdp_delta(mu, mid) > delta THEN
            lo := mid;
        ELSE
            hi := mid;
        END IF;
    END LOOP;
    RETURN hi;
END $$;

CREATE FUNCTION lvt_close(a float8, b float8, rel float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$ SELECT abs(a - b) <= rel * greatest(abs(a), abs(b)) $$;

-- the CDF against reference values (0.5 erfc(-x/sqrt 2), 16 significant digits)
SELECT x, lvt_close(lvt_phi(x), ref, 1e-12) AS phi_ok
  FROM (VALUES (0::float8, 0.5::float8), (0.5, 0.6914624612740131), (1.96, 0.9750021048517795),
               (-1.96, 0.024997895148220435), (-1, 0.15865525393145707), (2.5, 0.9937903346742238),
               (-6, 9.865876450377012e-10), (-10, 7.619853024160593e-24),
               (-20, 2.7536241186063314e-89), (-30, 4.906713927148764e-198),
               (-37, 5.725571222525139e-300)) AS v(x, ref);
-- the GDP conversion against privacy.md's table (delta = 1e-5, within 2%)
SELECT mu, eps, lvt_close(lvt_gdp_eps(mu, 1e-5), eps, 0.02) AS eps_ok
  FROM (VALUES (0.142::float8, 0.5::float8), (0.268, 1), (0.502, 2), (0.925, 4), (1.666, 8)) AS v(mu, eps);
-- the conversion is consistent: delta(eps(mu, delta)) = delta
SELECT lvt_close(lvt_gdp_delta(0.3, lvt_gdp_eps(0.3, 1e-6)), 1e-6, 1e-6) AS roundtrip_ok,
       lvt_gdp_eps(0.3, 1e-6) < lvt_gdp_eps(0.3, 1e-8) AS smaller_delta_costs_more,
       lvt_gdp_eps(0.3, 1e-6) < lvt_gdp_eps(0.6, 1e-6) AS larger_mu_costs_more;

-- models with different shapes of the guarantee
-- DP bounds and categories, default passes (10) and delta (1e-6)
SELECT (lipvae.lipvae_train('priv_dp', 'SELECT age, sex, creatinine, chapter FROM flchain',
        epsilon => 1, mechanism => 'latent', seed => 11, epochs => 3, hidden => 16))->>'model' AS model;
-- public bounds and categories (nothing spent on preprocessing), 3 passes
SELECT (lipvae.lipvae_train('priv_user', 'SELECT age, sex, futime FROM flchain',
        epsilon => 2, delta => 1e-5, passes => 3, mechanism => 'latent', seed => 12, epochs => 3, hidden => 16,
        bounds => '{"age": [50, 110], "futime": [0, 5500]}',
        categories => '{"sex": ["F", "M"]}'))->>'model' AS model;
-- NOT NULL numbers (no indicator), a boolean (categories from the type), one
-- pass, epsilon 8, 30% of the budget on preprocessing
SELECT (lipvae.lipvae_train('priv_nn', 'SELECT age, sex, kappa, (death = 1) AS died FROM flchain',
        epsilon => 8, passes => 1, mechanism => 'latent', preprocess_share => 0.3, not_null => '{age, kappa}',
        bounds => '{"kappa": [0, 25]}', seed => 13, epochs => 3, hidden => 16))->>'model' AS model;
-- many passes, small epsilon
SELECT (lipvae.lipvae_train('priv_many', 'SELECT age, mgus FROM flchain',
        epsilon => 0.5, passes => 100, mechanism => 'latent', seed => 14, epochs => 3, hidden => 16))->>'model' AS model;

-- everything recomputed from lipvae.models alone
CREATE TEMP TABLE recomputed AS
WITH m AS (
    SELECT name, passes, nrows, delta, delta_preprocess, epsilon_preprocess, epsilon,
           epsilon_requested, noise_sd, lipschitz_certified, lipschitz_target, diameter,
           mu_pass, (settings->>'preprocess_share')::float8 AS share,
           (SELECT count(*) FILTER (WHERE c->>'kind' = 'numeric')
              FROM jsonb_array_elements(columns) c) AS n_numeric,
           (SELECT count(*) FILTER (WHERE c->>'kind' = 'categorical')
              FROM jsonb_array_elements(columns) c) AS n_categorical,
           (SELECT count(*) FILTER (WHERE c->>'kind' = 'numeric' AND (c->>'nullable')::boolean)
              FROM jsonb_array_elements(columns) c) AS n_nullable_numeric,
           (SELECT coalesce(sum((p->>'epsilon')::float8), 0)
              FROM jsonb_array_elements(preprocess) p) AS eps_pre,
           (SELECT coalesce(sum((p->>'delta')::float8), 0)
              FROM jsonb_array_elements(preprocess) p) AS delta_pre,
           jsonb_array_length(preprocess) AS n_components
      FROM lipvae.models WHERE mechanism = 'latent')
SELECT m.*, d.d, mu.mu1,
       m.eps_pre + lvt_gdp_eps(mu.mu1, m.delta - m.delta_pre) AS eps_first,
       m.eps_pre + lvt_gdp_eps(sqrt(m.passes) * mu.mu1, m.delta - m.delta_pre) AS eps_last
  FROM m,
       LATERAL (SELECT sqrt(n_numeric + 2 * n_categorical + n_nullable_numeric)::float8 AS d) d,
       LATERAL (SELECT m.lipschitz_certified * d.d / m.noise_sd AS mu1) mu;

SELECT name, n_numeric, n_categorical, n_nullable_numeric, passes, n_components,
       lvt_close(d, diameter, 1e-12) AS diameter_ok,
       lvt_close(mu1, mu_pass, 1e-9) AS mu_pass_ok,
       lipschitz_certified <= lipschitz_target AS certified_within_target,
       lvt_close(eps_pre, epsilon_preprocess, 1e-12) AS eps_pre_ok,
       lvt_close(delta_pre, delta_preprocess, 1e-12) AS delta_pre_ok,
       (n_components = 0) = (eps_pre = 0) AS free_iff_no_components,
       n_components = 0 OR lvt_close(eps_pre, share * epsilon_requested, 1e-12) AS share_spent,
       lvt_close(eps_last, epsilon, 1e-6) AS catalog_epsilon_ok,
       epsilon <= epsilon_requested AS within_request,
       eps_first <= eps_last AS first_pass_cheaper
  FROM recomputed WHERE name LIKE 'priv%' ORDER BY name;

-- the rows: row 0 carries the first pass's guarantee, row passes*n - 1 the last's
SELECT r.name,
       lvt_close((SELECT epsilon FROM lipvae.lipvae_sample(r.name, 1, 0)), r.eps_first, 1e-6) AS first_row_ok,
       lvt_close((SELECT epsilon FROM lipvae.lipvae_sample(r.name, 1, r.passes * r.nrows - 1)), r.eps_last, 1e-6) AS last_row_ok,
       (SELECT delta FROM lipvae.lipvae_sample(r.name, 1, 0)) = r.delta AS delta_ok,
       lvt_close((SELECT m.epsilon FROM lipvae.lipvae_models() m WHERE m.name = r.name), r.eps_last, 1e-6) AS listed_ok
  FROM recomputed r WHERE r.name LIKE 'priv%' ORDER BY r.name;

-- every pass of priv_dp: the first and last row of pass q carry eps(q)
SELECT q,
       lvt_close(s0.epsilon, r.eps_pre + lvt_gdp_eps(sqrt(q) * r.mu1, r.delta - r.delta_pre), 1e-6) AS first_row_of_pass_ok,
       s1.epsilon = s0.epsilon AS same_within_pass
  FROM recomputed r, generate_series(1, 10) q,
       LATERAL lipvae.lipvae_sample(r.name, 1, (q - 1) * r.nrows) s0,
       LATERAL lipvae.lipvae_sample(r.name, 1, q * r.nrows - 1) s1
 WHERE r.name = 'priv_dp' ORDER BY q;

-- the requested (epsilon, delta) holds: with the preprocessing's epsilon
-- removed, delta(sqrt(passes) mu_1) at the rest of the budget is below the
-- rest of delta
SELECT name,
       lvt_gdp_delta(sqrt(passes) * mu1, epsilon_requested - eps_pre) <= delta - delta_pre AS requested_guarantee_holds
  FROM recomputed WHERE name LIKE 'priv%' ORDER BY name;

-- negative controls: the check would catch a diameter without the NULL
-- indicators, linear instead of sqrt composition over passes, or the
-- preprocessing's epsilon left out
SELECT name,
       lvt_close(eps_pre + lvt_gdp_eps(sqrt(passes) * lipschitz_certified
                 * sqrt(n_numeric + 2 * n_categorical)::float8 / noise_sd, delta - delta_pre),
                 epsilon, 1e-6) AS diameter_without_nulls_matches,
       lvt_close(eps_pre + lvt_gdp_eps(passes * mu1, delta - delta_pre), epsilon, 1e-6) AS linear_composition_matches,
       lvt_close(lvt_gdp_eps(sqrt(passes) * mu1, delta - delta_pre), epsilon, 1e-6) AS without_preprocessing_matches
  FROM recomputed WHERE name = 'priv_dp';

-- every per-record model in the catalog (also those of the earlier tests)
SELECT count(*) >= 4 AS several_models,
       bool_and(lvt_close(d, diameter, 1e-12)) AS diameters_ok,
       bool_and(lvt_close(eps_last, epsilon, 1e-6)) AS epsilons_ok,
       bool_and(epsilon <= epsilon_requested) AS within_requests,
       bool_and(lvt_close(eps_pre, epsilon_preprocess, 1e-12)) AS preprocessing_ok
  FROM recomputed;
SELECT r.name
  FROM recomputed r
 WHERE NOT lvt_close((SELECT epsilon FROM lipvae.lipvae_sample(r.name, 1, r.passes * r.nrows - 1)), r.eps_last, 1e-6)
    OR NOT lvt_close((SELECT epsilon FROM lipvae.lipvae_sample(r.name, 1, 0)), r.eps_first, 1e-6);



-- ---------------------------------------------------------------------------
-- Central guarantees (DP-SGD), recomputed from the stored (q, sigma, steps)
-- with an independent Renyi-DP accountant written here:
--   one step of the Poisson-subsampled Gaussian at integer order a
--   (Mironov, Talwar & Zhang 2019): A_a = sum_k C(a,k) (1-q)^(a-k) q^k
--   exp((k^2-k) / (2 sigma^2)), rdp = steps log(A_a) / (a-1);
--   replace-one: the same at sigma / 2 (sensitivity 2C);
--   a mu-GDP release composes with rdp + a mu^2 / 2;
--   eps = min_a rdp(a) + log((a-1)/a) - (log delta + log a) / (a-1)
--   (Canonne, Kamath & Steinke 2020), over the orders 2 .. 256.
-- ---------------------------------------------------------------------------

-- rdp of one step, summed in log space (log-sum-exp over k)
CREATE FUNCTION lvt_rdp_step(q float8, sigma float8, a integer) RETURNS float8
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    logc float8 := 0;           -- log C(a, k)
    t float8[] := '{}';
    mx float8 := '-Infinity';
    acc float8 := 0;
BEGIN
    IF q = 1 THEN
        RETURN a / (2 * sigma * sigma);
    END IF;
    FOR k IN 0..a LOOP
        IF k > 0 THEN
            logc := logc + ln(a - k + 1) - ln(k);
        END IF;
        t := t || (logc + (a - k) * ln(1 - q) + k * ln(q) + (k * k - k) / (2 * sigma * sigma));
        mx := greatest(mx, t[k + 1]);
    END LOOP;
    FOR k IN 0..a LOOP
        IF t[k + 1] - mx > -700 THEN        -- smaller terms vanish in double
            acc := acc + exp(t[k + 1] - mx);
        END IF;
    END LOOP;
    RETURN (mx + ln(acc)) / (a - 1);
END $$;

-- eps of DP-SGD (q, sigma, steps) composed with a mu-GDP release (mu 0: none)
CREATE FUNCTION lvt_rdp_eps(q float8, sigma float8, steps bigint, mu float8, delta float8)
RETURNS float8 LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT min(steps * lvt_rdp_step(q, sigma, a) + a * mu * mu / 2
               + ln((a - 1)::float8 / a) - (ln(delta) + ln(a)) / (a - 1))
      FROM generate_series(2, 256) a $$;

-- this accountant against published values: TF-Privacy's own unit test
-- (compute_dp_sgd_privacy_test.py: n 60000, batch 150, noise 1.3, 15 epochs,
-- delta 1e-5 -> 0.7242234026109595, and n 100000, batch 100, noise 1.0, 30
-- epochs, delta 1e-7 -> 1.4154988495444842, both with the conversion used
-- here), and Abadi et al. 2016's q 0.01, sigma 4, 10000 steps, which their
-- moments accountant put at 1.26 (this tighter conversion: 1.0355)
SELECT lvt_close(lvt_rdp_eps(150.0 / 60000, 1.3, 6000, 0, 1e-5), 0.7242234026109595, 1e-9) AS tf_test0,
       lvt_close(lvt_rdp_eps(100.0 / 100000, 1.0, 30000, 0, 1e-7), 1.4154988495444842, 1e-9) AS tf_test1,
       round(lvt_rdp_eps(0.01, 4, 10000, 0, 1e-5)::numeric, 4) AS abadi;

-- central models: default mechanism, a unit-level one, central+latent
SELECT (lipvae.lipvae_train('priv_c1', 'SELECT age, sex, creatinine, chapter FROM flchain',
        epsilon => 1, seed => 21, epochs => 3, hidden => 16))->>'scope' AS scope;
SELECT (lipvae.lipvae_train('priv_c8', 'SELECT age, sex, futime FROM flchain',
        epsilon => 8, delta => 1e-5, seed => 22, epochs => 2, hidden => 16, batch_size => 128,
        marginals_share => 0,
        bounds => '{"age": [50, 110], "futime": [0, 5500]}',
        categories => '{"sex": ["F", "M"]}'))->>'scope' AS scope;
SELECT (lipvae.lipvae_train('priv_cu', 'SELECT futime % 500 AS person, age, sex FROM flchain',
        epsilon => 2, unit => 'person', unit_rows => 3, seed => 23, epochs => 2,
        hidden => 16, batch_size => 64, bounds => '{"age": [50, 110]}'))->>'scope' AS scope;
SELECT (lipvae.lipvae_train('priv_cl', 'SELECT age, sex, mgus FROM flchain',
        epsilon => 4, mechanism => 'central+latent', passes => 3, central_share => 0.6,
        seed => 24, epochs => 2, hidden => 16))->>'scope' AS scope;

CREATE TEMP TABLE central AS
SELECT name, mechanism, relation, epsilon, delta, epsilon_requested, epsilon_preprocess,
       delta_preprocess, epsilon_dpsgd, delta_dpsgd, epsilon_ledger, delta_ledger, passes, nrows,
       mu_pass, diameter, noise_sd, lipschitz_certified,
       (dpsgd->>'sampling_rate')::float8 AS q, (dpsgd->>'noise_multiplier')::float8 AS sigma,
       (dpsgd->>'steps')::bigint AS steps, (dpsgd->>'epochs')::integer AS epochs,
       (dpsgd->>'clip')::float8 AS clip, dpsgd->>'relation' AS dpsgd_relation,
       coalesce((dpsgd->>'marginals_mu')::float8, 0) AS mu_m,
       coalesce((dpsgd->>'marginals_one_way_mu')::float8, 0) AS mu_1,
       coalesce((dpsgd->>'tree_rounds')::integer, 0) AS rounds,
       coalesce((dpsgd->>'tree_epsilon_round')::float8, 0) AS eps_round,
       coalesce((dpsgd->>'tree_pairs_mu')::float8, 0) AS mu_2,
       coalesce((dpsgd->>'tree_edges')::integer, 0) AS edges,
       (dpsgd->>'marginals_noise_sd')::float8 AS sd_1,
       (dpsgd->>'tree_pairs_noise_sd')::float8 AS sd_2,
       jsonb_array_length(columns) AS ncols, coalesce((dpsgd->>'unit_rows')::integer, 1) AS k,
       (SELECT coalesce(sum((p->>'epsilon')::float8), 0) FROM jsonb_array_elements(preprocess) p) AS eps_pre,
       (SELECT coalesce(sum((p->>'delta')::float8), 0) FROM jsonb_array_elements(preprocess) p) AS delta_pre
  FROM lipvae.models WHERE name LIKE 'priv_c%';

-- what the catalog says: relation, parts, and no n for central models
SELECT name, mechanism, relation, dpsgd_relation, passes, nrows IS NULL AS n_hidden,
       clip, q > 0 AND q <= 1 AS q_ok, steps >= ceil(epochs / q) - 1 AS steps_ok,
       lvt_close(eps_pre, epsilon_preprocess, 1e-12) AS eps_pre_ok,
       lvt_close(delta_dpsgd, delta - delta_pre, 1e-12) AS dpsgd_gets_rest_of_delta,
       epsilon <= epsilon_requested * (1 + 1e-12) AS within_request,
       epsilon_dpsgd < epsilon AS dpsgd_part_smaller
  FROM central ORDER BY name;

-- the marginals that correct the decoder, recomputed from their parts: the
-- one-way counts (Gaussian, sensitivity sqrt(columns) per row: GDP mu_1), the
-- tree's selection (columns - 1 rounds of the exponential mechanism, each
-- eps_round-DP, eps_round^2/8-zCDP: as mu^2, eps_round^2/4) and its pair
-- counts (Gaussian, sensitivity sqrt(rounds): GDP mu_2) compose in RDP like
-- one Gaussian of mu_m^2 = mu_1^2 + rounds eps_round^2/4 + mu_2^2; a unit of
-- k rows moves every count k times as far
SELECT name, mu_m > 0 AS has_marginals, rounds, edges BETWEEN 1 AND rounds AS edges_ok,
       rounds = 0 OR rounds = ncols - 1 AS rounds_ok,
       lvt_close(mu_m * mu_m, mu_1 * mu_1 + rounds * eps_round * eps_round / 4 + mu_2 * mu_2, 1e-9) AS mu_parts_ok,
       lvt_close(sd_1, k * sqrt(ncols) / mu_1, 1e-9) AS one_way_noise_ok,
       lvt_close(sd_2, k * sqrt(rounds) / mu_2, 1e-9) AS pair_noise_ok
  FROM central WHERE mechanism = 'central' AND mu_m > 0 ORDER BY name;

-- the DP-SGD part and the total, recomputed; the ledger's replace-one figure
-- (under replace-one the Gaussian parts count twice their mu^2 and the
-- selection four times: its score moves by 2)
SELECT name, mu_m > 0 AS has_marginals,
       lvt_close(lvt_rdp_eps(q, sigma, steps, 0, delta - delta_pre), epsilon_dpsgd, 1e-6) AS dpsgd_ok,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma, steps, mu_m, delta - delta_pre), epsilon, 1e-6) AS total_ok,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma / 2, steps,
                                       sqrt(2 * mu_1 * mu_1 + 2 * mu_2 * mu_2 + rounds * eps_round * eps_round),
                                       delta - delta_pre), epsilon_ledger, 1e-6) AS ledger_ok,
       epsilon_ledger > epsilon AS replace_one_costs_more,
       lvt_close(epsilon, epsilon_requested, 1e-3) AS budget_used
  FROM central WHERE mechanism = 'central' ORDER BY name;

-- central+latent: RDP of DP-SGD at sigma/2 plus q passes of the mu_1-GDP
-- release, one conversion; the rows of pass q carry it
SELECT c.name, p.pass,
       lvt_close(s.epsilon, c.eps_pre + lvt_rdp_eps(c.q, c.sigma / 2, c.steps, sqrt(p.pass) * c.mu_pass,
                                                    c.delta - c.delta_pre), 1e-6) AS pass_epsilon_ok,
       lvt_close(c.mu_pass, c.lipschitz_certified * c.diameter / c.noise_sd, 1e-9) AS mu_pass_ok
  FROM central c, generate_series(1, 3) p(pass),
       LATERAL lipvae.lipvae_sample(c.name, 1, (p.pass - 1) * c.nrows) s
 WHERE c.mechanism = 'central+latent' ORDER BY p.pass;
SELECT name,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma / 2, steps, sqrt(passes) * mu_pass, delta - delta_pre),
                 epsilon, 1e-6) AS total_ok,
       lvt_close(epsilon_ledger, epsilon, 1e-12) AS ledger_is_total,
       lvt_close(lvt_rdp_eps(q, sigma / 2, steps, 0, delta - delta_pre), epsilon_dpsgd, 1e-6) AS dpsgd_part_ok
  FROM central WHERE mechanism = 'central+latent';

-- every central row carries the model's epsilon, however far the release goes
SELECT c.name, bool_and(s.epsilon = c.epsilon) AS rows_carry_total,
       bool_and(s.scope = (SELECT scope FROM lipvae.models m WHERE m.name = c.name)) AS scope_ok,
       count(*) AS rows
  FROM central c, LATERAL (SELECT * FROM lipvae.lipvae_sample(c.name, 3, 0)
                           UNION ALL SELECT * FROM lipvae.lipvae_sample(c.name, 3, 1000000)) s
 WHERE c.mechanism = 'central' GROUP BY c.name ORDER BY c.name;

-- negative controls: add/remove accounting for the replace-one ledger, the
-- tree's selection scaled like a Gaussian under replace-one, the
-- preprocessing or the marginals left out, or sigma misread would all be caught
SELECT name,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma, steps, mu_m, delta - delta_pre), epsilon_ledger, 1e-6) AS ledger_at_sigma_matches,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma / 2, steps, sqrt(2) * mu_m, delta - delta_pre), epsilon_ledger, 1e-6) AS ledger_selection_at_sqrt2_matches,
       lvt_close(lvt_rdp_eps(q, sigma, steps, mu_m, delta - delta_pre), epsilon, 1e-6) AS without_preprocessing_matches,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma, steps, 0, delta - delta_pre), epsilon, 1e-6) AS without_marginals_matches,
       lvt_close(eps_pre + lvt_rdp_eps(q, sigma * 1.01, steps, mu_m, delta - delta_pre), epsilon, 1e-6) AS other_sigma_matches
  FROM central WHERE name = 'priv_c1';

SELECT lipvae.lipvae_drop(name) FROM (VALUES ('priv_many'), ('priv_nn'), ('priv_c8'), ('priv_cu')) AS v(name);
DROP FUNCTION lvt_close(float8, float8, float8);
