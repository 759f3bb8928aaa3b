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
SELECT (lipvae_train('priv_dp', 'SELECT age, sex, creatinine, chapter FROM flchain',
        epsilon => 1, seed => 11, epochs => 3, hidden => 16))->>'model' AS model;
-- public bounds and categories (nothing spent on preprocessing), 3 passes
SELECT (lipvae_train('priv_user', 'SELECT age, sex, futime FROM flchain',
        epsilon => 2, delta => 1e-5, passes => 3, seed => 12, epochs => 3, hidden => 16,
        bounds => '{"age": [50, 110], "futime": [0, 5500]}',
        categories => '{"sex": ["F", "M"]}'))->>'model' AS model;
-- NOT NULL numbers (no indicator), a boolean (categories from the type), one
-- pass, epsilon 8, 30% of the budget on preprocessing
SELECT (lipvae_train('priv_nn', 'SELECT age, sex, kappa, (death = 1) AS died FROM flchain',
        epsilon => 8, passes => 1, preprocess_share => 0.3, not_null => '{age, kappa}',
        bounds => '{"kappa": [0, 25]}', seed => 13, epochs => 3, hidden => 16))->>'model' AS model;
-- many passes, small epsilon
SELECT (lipvae_train('priv_many', 'SELECT age, mgus FROM flchain',
        epsilon => 0.5, passes => 100, seed => 14, epochs => 3, hidden => 16))->>'model' AS model;

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
       lvt_close((SELECT epsilon FROM lipvae_sample(r.name, 1, 0)), r.eps_first, 1e-6) AS first_row_ok,
       lvt_close((SELECT epsilon FROM lipvae_sample(r.name, 1, r.passes * r.nrows - 1)), r.eps_last, 1e-6) AS last_row_ok,
       (SELECT delta FROM lipvae_sample(r.name, 1, 0)) = r.delta AS delta_ok,
       lvt_close((SELECT m.epsilon FROM lipvae_models() m WHERE m.name = r.name), r.eps_last, 1e-6) AS listed_ok
  FROM recomputed r WHERE r.name LIKE 'priv%' ORDER BY r.name;

-- every pass of priv_dp: the first and last row of pass q carry eps(q)
SELECT q,
       lvt_close(s0.epsilon, r.eps_pre + lvt_gdp_eps(sqrt(q) * r.mu1, r.delta - r.delta_pre), 1e-6) AS first_row_of_pass_ok,
       s1.epsilon = s0.epsilon AS same_within_pass
  FROM recomputed r, generate_series(1, 10) q,
       LATERAL lipvae_sample(r.name, 1, (q - 1) * r.nrows) s0,
       LATERAL lipvae_sample(r.name, 1, q * r.nrows - 1) s1
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
 WHERE NOT lvt_close((SELECT epsilon FROM lipvae_sample(r.name, 1, r.passes * r.nrows - 1)), r.eps_last, 1e-6)
    OR NOT lvt_close((SELECT epsilon FROM lipvae_sample(r.name, 1, 0)), r.eps_first, 1e-6);

SELECT lipvae_drop(name) FROM (VALUES ('priv_many'), ('priv_nn')) AS v(name);
DROP FUNCTION lvt_close(float8, float8, float8);
