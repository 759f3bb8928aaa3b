/*
 * lv_audit.c - canary membership-inference audit of the central mechanism:
 * binomial tail sums and Clopper-Pearson bounds, the lower bound on epsilon
 * of Jagielski et al. 2020 / Nasr et al. 2021, the threshold chosen on
 * calibration trials, and the experiment itself (see lv_audit.h). No
 * PostgreSQL here.
 */
#include "lv_audit.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lv_accountant.h"
#include "lv_dpsgd.h"
#include "lv_marginals.h"
#include "lv_rand.h"
#include "lv_tree.h"

/* Bisection steps of the Clopper-Pearson bounds (far below 1 ulp at 1). */
#define LV_CP_ITER 80
/* Clipping norm of the positive control: in effect no clipping. */
#define LV_AUDIT_NO_CLIP 1e6
/* Tag of the key derivation stream indices (domain PREPROCESS). */
#define LV_AUDIT_TAG UINT64_C(0xAD)

/* Purposes of derived keys. */
enum
{
	LV_AUDIT_KEY_TABLE = 0,
	LV_AUDIT_KEY_TRAIN = 1,
	LV_AUDIT_KEY_RELEASE = 2
};

/* ---------- statistics ---------- */

/*
 * lv_binom_sum returns sum_{i=lo}^{hi} C(n,i) p^i (1-p)^(n-i) for
 * 0 <= lo <= hi <= n and 0 < p < 1, in log space scaled by the largest term.
 */
static double
lv_binom_sum(int64_t lo, int64_t hi, int64_t n, double p)
{
	double lp = log(p),
		   lq = log1p(-p),
		   lgn = lgamma((double) n + 1.0),
		   mx = -INFINITY,
		   s = 0.0;
	int64_t i;

	for (i = lo; i <= hi; i++)
	{
		double t = lgn - lgamma((double) i + 1.0) -
				   lgamma((double) (n - i) + 1.0) + (double) i * lp +
				   (double) (n - i) * lq;

		if (t > mx)
		{
			s = s * exp(mx - t) + 1.0;
			mx = t;
		}
		else
			s += exp(t - mx);
	}
	return s * exp(mx);
}

/* lv_binom_cdf: P(X <= k) for X ~ Binomial(n, p) (lv_audit.h). */
double
lv_binom_cdf(int64_t k, int64_t n, double p)
{
	if (n < 0 || !(p >= 0.0 && p <= 1.0))
		return NAN;
	if (k < 0)
		return 0.0;
	if (k >= n || p == 0.0)
		return 1.0;
	if (p == 1.0)
		return 0.0;
	return fmin(1.0, lv_binom_sum(0, k, n, p));
}

/* lv_binom_sf returns P(X >= k) for X ~ Binomial(n, p), 0 < p < 1. */
static double
lv_binom_sf(int64_t k, int64_t n, double p)
{
	if (k <= 0)
		return 1.0;
	if (k > n)
		return 0.0;
	return fmin(1.0, lv_binom_sum(k, n, n, p));
}

/* lv_cp_args_ok checks the arguments of the Clopper-Pearson bounds. */
static int
lv_cp_args_ok(int64_t k, int64_t n, double a)
{
	return n >= 1 && k >= 0 && k <= n && a > 0.0 && a < 1.0;
}

/* lv_cp_lower: one-sided Clopper-Pearson lower bound (lv_audit.h). */
double
lv_cp_lower(int64_t k, int64_t n, double a)
{
	double lo = 0.0,
		   hi = 1.0;
	int it;

	if (!lv_cp_args_ok(k, n, a))
		return NAN;
	if (k == 0)
		return 0.0;
	/* P(X >= k; p) increases with p: keep P(X >= k; lo) <= a < at hi */
	for (it = 0; it < LV_CP_ITER; it++)
	{
		double mid = 0.5 * (lo + hi);

		if (mid <= lo || mid >= hi)
			break;
		if (lv_binom_sf(k, n, mid) <= a)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* lv_cp_upper: one-sided Clopper-Pearson upper bound (lv_audit.h). */
double
lv_cp_upper(int64_t k, int64_t n, double a)
{
	double lo = 0.0,
		   hi = 1.0;
	int it;

	if (!lv_cp_args_ok(k, n, a))
		return NAN;
	if (k == n)
		return 1.0;
	/* P(X <= k; p) decreases with p: keep P(X <= k; hi) <= a < at lo */
	for (it = 0; it < LV_CP_ITER; it++)
	{
		double mid = 0.5 * (lo + hi);

		if (mid <= lo || mid >= hi)
			break;
		if (lv_binom_cdf(k, n, mid) <= a)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/*
 * lv_eps_from_bounds returns max(0, log((tl - delta) / fh),
 * log((1 - fh - delta) / (1 - tl))), rounded down.
 */
static double
lv_eps_from_bounds(double tl, double fh, double delta)
{
	double e = 0.0;

	if (tl - delta > 0.0 && fh > 0.0)
		e = fmax(e, log((tl - delta) / fh));
	if (1.0 - fh - delta > 0.0 && tl < 1.0)
		e = fmax(e, log((1.0 - fh - delta) / (1.0 - tl)));
	return e * (1.0 - 8.0 * DBL_EPSILON);
}

/* lv_audit_eps_lb: the lower bound on epsilon (lv_audit.h). */
double
lv_audit_eps_lb(int64_t tp, int64_t npos, int64_t fp, int64_t nneg,
				double delta, double alpha, double *tpr_lo, double *fpr_hi)
{
	double tl,
		fh;

	if (!(delta >= 0.0 && delta < 1.0) || !(alpha > 0.0 && alpha < 1.0))
		return NAN;
	tl = lv_cp_lower(tp, npos, alpha / 2);
	fh = lv_cp_upper(fp, nneg, alpha / 2);
	if (isnan(tl) || isnan(fh))
		return NAN;
	if (tpr_lo != NULL)
		*tpr_lo = tl;
	if (fpr_hi != NULL)
		*fpr_hi = fh;
	return lv_eps_from_bounds(tl, fh, delta);
}

/* lv_cmp_double orders doubles for qsort. */
static int
lv_cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a,
		   y = *(const double *) b;

	return (x > y) - (x < y);
}

/* lv_audit_threshold: threshold chosen on calibration scores (lv_audit.h). */
double
lv_audit_threshold(const double *in, int npos, const double *out, int nneg,
				   double delta, double alpha, double *eps_cal)
{
	double *pool,
		*tl,
		*fh,
		best_t,
		best_e = -1.0,
		best_y = -2.0;
	int m = npos + nneg,
		i,
		j;

	if (in == NULL || out == NULL || npos < 1 || nneg < 1 ||
		!(delta >= 0.0 && delta < 1.0) || !(alpha > 0.0 && alpha < 1.0))
		return NAN;
	pool = lv_alloc(sizeof(double) * ((size_t) m + npos + 1 + nneg + 1));
	if (pool == NULL)
		return NAN;
	/* bounds cached per count (NaN: not computed yet) */
	tl = pool + m;
	fh = tl + npos + 1;
	for (i = 0; i <= npos; i++)
		tl[i] = NAN;
	for (i = 0; i <= nneg; i++)
		fh[i] = NAN;
	memcpy(pool, in, sizeof(double) * npos);
	memcpy(pool + npos, out, sizeof(double) * nneg);
	qsort(pool, m, sizeof(double), lv_cmp_double);
	best_t = pool[m - 1]; /* all scores equal: flag nothing */
	for (i = 0; i + 1 < m; i++)
	{
		double t,
			e,
			y;
		int tp = 0,
			fp = 0;

		if (!(pool[i] < pool[i + 1]))
			continue;
		t = pool[i] + 0.5 * (pool[i + 1] - pool[i]);
		for (j = 0; j < npos; j++)
			tp += in[j] > t;
		for (j = 0; j < nneg; j++)
			fp += out[j] > t;
		if (isnan(tl[tp]))
			tl[tp] = lv_cp_lower(tp, npos, alpha / 2);
		if (isnan(fh[fp]))
			fh[fp] = lv_cp_upper(fp, nneg, alpha / 2);
		e = lv_eps_from_bounds(tl[tp], fh[fp], delta);
		y = (double) tp / npos - (double) fp / nneg;
		if (e > best_e || (e == best_e && y > best_y))
		{
			best_e = e;
			best_y = y;
			best_t = t;
		}
	}
	if (eps_cal != NULL)
		*eps_cal = best_e < 0.0 ? 0.0 : best_e;
	lv_free(pool);
	return best_t;
}

/* ---------- the canary experiment ---------- */

/*
 * lv_audit_key derives the 32-byte key of (purpose, phase, side, trial)
 * from the audit key: the first 32 bytes of the ChaCha20 stream of the audit
 * key at a tagged index of the PREPROCESS domain.
 */
static void
lv_audit_key(const uint8_t key[LV_KEY_BYTES], int purpose, int phase,
			 int side, int trial, uint8_t out[LV_KEY_BYTES])
{
	lv_stream s;
	int i;

	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS,
				   (LV_AUDIT_TAG << 56) | ((uint64_t) purpose << 48) |
					   ((uint64_t) (phase & 0xff) << 40) |
					   ((uint64_t) (side & 0xff) << 32) | (uint32_t) trial);
	for (i = 0; i < LV_KEY_BYTES; i += 4)
	{
		uint32_t w = lv_stream_u32(&s);

		out[i] = (uint8_t) w;
		out[i + 1] = (uint8_t) (w >> 8);
		out[i + 2] = (uint8_t) (w >> 16);
		out[i + 3] = (uint8_t) (w >> 24);
	}
}

/* lv_audit_cat returns j in 0..2 with probabilities p0, p1, 1 - p0 - p1. */
static int
lv_audit_cat(lv_stream *s, double p0, double p1)
{
	double u = lv_stream_uniform(s);

	return u < p0 ? 0 : (u < p0 + p1 ? 1 : 2);
}

/* lv_audit_table: the audit table and its canary (lv_audit.h). */
int
lv_audit_table(const uint8_t table_key[LV_KEY_BYTES], int rows, lv_schema *s,
			   lv_cell *cells, lv_cell *canary)
{
	static const lv_column cols[LV_AUDIT_NCOLS] = {
		{LV_COL_CATEGORICAL, 0, 0, 0, 0, 4, 0.0, 0.0, 0},
		{LV_COL_CATEGORICAL, 0, 0, 0, 0, 3, 0.0, 0.0, 0},
		{LV_COL_CATEGORICAL, 0, 0, 0, 0, 3, 0.0, 0.0, 0}};
	static const int32_t canary_cats[LV_AUDIT_NCOLS] = {3, 2, 0};
	lv_stream rs;
	int i,
		c;

	s->ncols = LV_AUDIT_NCOLS;
	s->cols = lv_alloc(sizeof(cols));
	if (s->cols == NULL)
		return LV_ERR_NOMEM;
	memcpy(s->cols, cols, sizeof(cols));
	memset(cells, 0, sizeof(lv_cell) * (size_t) rows * LV_AUDIT_NCOLS);
	lv_stream_init(&rs, table_key, LV_DOMAIN_PREPROCESS, 0);
	for (i = 0; i < rows; i++)
	{
		lv_cell *r = cells + (size_t) i * LV_AUDIT_NCOLS;

		r[0].cat = lv_audit_cat(&rs, 0.5, 0.3);
		for (c = 1; c < LV_AUDIT_NCOLS; c++)
			r[c].cat = lv_stream_uniform(&rs) < 0.9
						   ? r[c - 1].cat
						   : lv_audit_cat(&rs, 1.0 / 3, 1.0 / 3);
	}
	memset(canary, 0, sizeof(lv_cell) * LV_AUDIT_NCOLS);
	for (c = 0; c < LV_AUDIT_NCOLS; c++)
		canary[c].cat = canary_cats[c];
	return LV_OK;
}

/* lv_audit_score: released rows equal to the canary (lv_audit.h). */
int
lv_audit_score(const lv_schema *s, const lv_cell *rows, int count,
			   const lv_cell *canary, int match_cols)
{
	int i,
		c,
		hits = 0,
		nc = (match_cols > 0 && match_cols < s->ncols) ? match_cols : s->ncols;

	for (i = 0; i < count; i++)
	{
		const lv_cell *r = rows + (size_t) i * s->ncols;
		int eq = 1;

		for (c = 0; c < nc && eq; c++)
		{
			if (r[c].isnull || canary[c].isnull)
				eq = r[c].isnull && canary[c].isnull;
			else if (s->cols[c].kind == LV_COL_CATEGORICAL)
				eq = r[c].cat == canary[c].cat;
			else
				eq = r[c].value == canary[c].value;
		}
		hits += eq;
	}
	return hits;
}

/*
 * lv_audit_correct runs the marginal correction of lipvae's central
 * default on a trained model: noisy one-way counts (sd plan->one_way_sd)
 * and the fit of the output biases, then with cfg->tree the tree
 * (selection rounds of plan->eps_round, pair counts of sd
 * plan->pairs_sd). The public row count is cfg->rows for both sides.
 */
static int
lv_audit_correct(const lv_audit_config *cfg, const lv_audit_result *plan,
				 lv_model *m, const int32_t *T, int64_t n,
				 const uint8_t key[LV_KEY_BYTES])
{
	int w = lv_marginal_width(&m->schema),
		rc,
		edges;
	double *counts = lv_alloc(sizeof(double) * (size_t) w);
	lv_stream ns;

	if (counts == NULL)
		return LV_ERR_NOMEM;
	lv_marginal_counts(&m->schema, T, n, counts);
	lv_stream_init(&ns, key, LV_DOMAIN_TRAIN, LV_MARGINALS_STREAM + 1);
	rc = lv_marginal_noise(counts, w, plan->one_way_sd, &ns);
	if (rc == LV_OK)
		rc = lv_model_fit_marginals(m, counts, 4096, 30, key);
	lv_free(counts);
	if (rc == LV_OK && cfg->tree)
		rc = lv_model_fit_tree(m, T, n, (double) cfg->rows, plan->eps_round, 1.0,
							   plan->pairs_sd, key, &edges, NULL, NULL);
	return rc;
}

/* lv_audit_trial: one trained and released model (lv_audit.h). */
int
lv_audit_trial(const lv_audit_config *cfg, const lv_schema *s,
			   const float *X, const int32_t *T, const lv_cell *canary,
			   double sigma, const lv_audit_result *plan, int phase,
			   int with_canary, int trial, double *score)
{
	int64_t n = (int64_t) cfg->rows + (with_canary ? 1 : 0);
	lv_dpsgd_config tc = cfg->train;
	lv_model m;
	lv_cell *buf;
	int64_t start;
	int rc,
		hits = 0;

	memset(&m, 0, sizeof(m));
	buf = lv_alloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * s->ncols);
	m.schema.ncols = s->ncols;
	m.schema.cols = lv_alloc(sizeof(lv_column) * s->ncols);
	if (buf == NULL || m.schema.cols == NULL)
	{
		lv_free(buf);
		lv_free(m.schema.cols);
		return LV_ERR_NOMEM;
	}
	memcpy(m.schema.cols, s->cols, sizeof(lv_column) * s->ncols);
	m.mechanism = LV_MECH_CENTRAL;
	m.passes = 1;
	lv_audit_key(cfg->key, LV_AUDIT_KEY_RELEASE, phase, with_canary, trial,
				 m.key);
	lv_audit_key(cfg->key, LV_AUDIT_KEY_TRAIN, phase, with_canary, trial,
				 tc.train_key);
	tc.noise_multiplier = sigma;
	/* the same public normalizer for D and D + canary (n is not released) */
	if (!(tc.normalizer > 0.0))
		tc.normalizer = tc.sample_rate * cfg->rows;
	if (cfg->control == LV_AUDIT_CONTROL)
		tc.clip = LV_AUDIT_NO_CLIP;
	rc = lv_model_train_dpsgd(&m, X, T, n, &tc, NULL);
	if (rc == LV_OK && cfg->marginals_share > 0.0)
		rc = lv_audit_correct(cfg, plan, &m, T, n, tc.train_key);
	for (start = 0; rc == LV_OK && start < cfg->release_rows;
		 start += LV_RELEASE_CHUNK)
	{
		int cnt = cfg->release_rows - start < LV_RELEASE_CHUNK
					  ? (int) (cfg->release_rows - start)
					  : LV_RELEASE_CHUNK;

		rc = lv_release_rows(&m, start, cnt, buf);
		if (rc == LV_OK)
			hits += lv_audit_score(s, buf, cnt, canary, cfg->match_cols);
	}
	memset(tc.train_key, 0, sizeof(tc.train_key));
	lv_model_free(&m);
	lv_free(buf);
	*score = hits;
	return rc;
}

/* lv_audit_run: the whole audit (lv_audit.h). */
int
lv_audit_run(const lv_audit_config *cfg, lv_audit_result *res,
			 double *scores_in, double *scores_out)
{
	uint8_t tkey[LV_KEY_BYTES];
	lv_schema s = {0, NULL};
	lv_cell *cells = NULL,
			canary[LV_AUDIT_NCOLS];
	float *X = NULL;
	int32_t *T = NULL;
	double *sc = NULL,
		   sigma;
	int64_t n;
	int d,
		rc,
		i,
		side,
		ntr;

	if (cfg == NULL || res == NULL || cfg->rows < 1 ||
		cfg->rows > 10000000 || !isfinite(cfg->epsilon) ||
		!(cfg->epsilon > 0.0) || !(cfg->delta > 0.0 && cfg->delta < 1.0) ||
		cfg->calib_trials < 1 || cfg->eval_trials < 1 ||
		cfg->release_rows < 1 || !(cfg->alpha > 0.0 && cfg->alpha < 1.0) ||
		cfg->control < LV_AUDIT_PRIVATE ||
		cfg->control > LV_AUDIT_CONTROL_CLIPPED)
		return LV_ERR_ARG;
	memset(res, 0, sizeof(*res));
	res->steps = lv_dpsgd_steps(cfg->train.epochs, cfg->train.sample_rate);
	if (res->steps < 1)
		return LV_ERR_ARG;
	if (!(cfg->marginals_share >= 0.0 && cfg->marginals_share < 1.0) ||
		(cfg->marginals_share > 0.0 && cfg->tree &&
		 !(cfg->one_way_share > 0.0 && cfg->select_share > 0.0 &&
		   cfg->one_way_share + cfg->select_share < 1.0)))
		return LV_ERR_ARG;
	sigma = lv_dpsgd_sigma(cfg->train.sample_rate, (long) res->steps,
						   (1.0 - cfg->marginals_share) * cfg->epsilon, cfg->delta,
						   LV_REL_ADD_REMOVE);
	if (!(sigma > 0.0))
		return LV_ERR_ARG;
	res->eps_accounted = lv_dpsgd_epsilon(cfg->train.sample_rate, sigma,
										  (long) res->steps, cfg->delta,
										  LV_REL_ADD_REMOVE);
	if (cfg->marginals_share > 0.0)
	{
		/* the marginals get what DP-SGD leaves, split as src/train.c does */
		double mu2,
			ncols = LV_AUDIT_NCOLS;

		res->mu_marginals = lv_dpsgd_gaussian_mu(cfg->train.sample_rate, sigma,
												 (long) res->steps, LV_REL_ADD_REMOVE,
												 cfg->epsilon, cfg->delta);
		if (!(res->mu_marginals > 0.0))
			return LV_ERR_ARG;
		mu2 = res->mu_marginals * res->mu_marginals;
		res->eps_accounted = lv_dpsgd_gaussian_epsilon(cfg->train.sample_rate, sigma,
													   (long) res->steps, LV_REL_ADD_REMOVE,
													   res->mu_marginals, cfg->delta);
		if (cfg->tree)
		{
			res->one_way_sd = sqrt(ncols) / sqrt(mu2 * cfg->one_way_share);
			res->eps_round = sqrt(4.0 * mu2 * cfg->select_share / (ncols - 1));
			res->pairs_sd = sqrt(ncols - 1) /
							sqrt(mu2 * (1.0 - cfg->one_way_share - cfg->select_share));
		}
		else
			res->one_way_sd = sqrt(ncols) / res->mu_marginals;
	}
	if (cfg->control != LV_AUDIT_PRIVATE)
	{
		/* no noise anywhere; a selection that follows the data */
		sigma = 0.0;
		res->eps_accounted = INFINITY;
		res->one_way_sd = 0.0;
		res->pairs_sd = 0.0;
		res->eps_round = 1e3;
	}
	res->sigma = sigma;

	/* D + canary, the canary last */
	n = (int64_t) cfg->rows + 1;
	ntr = cfg->calib_trials > cfg->eval_trials ? cfg->calib_trials
											   : cfg->eval_trials;
	cells = lv_alloc(sizeof(lv_cell) * (size_t) n * LV_AUDIT_NCOLS);
	sc = lv_alloc(sizeof(double) * 2 * (size_t) ntr);
	if (cells == NULL || sc == NULL)
	{
		rc = LV_ERR_NOMEM;
		goto done;
	}
	lv_audit_key(cfg->key, LV_AUDIT_KEY_TABLE, 0, 0, 0, tkey);
	rc = lv_audit_table(tkey, cfg->rows, &s, cells, canary);
	if (rc != LV_OK)
		goto done;
	memcpy(cells + (size_t) cfg->rows * LV_AUDIT_NCOLS, canary,
		   sizeof(canary));
	d = lv_schema_input_dim(&s);
	X = lv_alloc(sizeof(float) * (size_t) n * d);
	T = lv_alloc(sizeof(int32_t) * (size_t) n * LV_AUDIT_NCOLS);
	if (X == NULL || T == NULL)
	{
		rc = LV_ERR_NOMEM;
		goto done;
	}
	for (i = 0; i < n; i++)
		lv_encode_row(&s, cells + (size_t) i * LV_AUDIT_NCOLS,
					  X + (size_t) i * d, T + (size_t) i * LV_AUDIT_NCOLS);

	/* calibration: the threshold */
	for (i = 0; i < cfg->calib_trials && rc == LV_OK; i++)
		for (side = 0; side < 2 && rc == LV_OK; side++)
			rc = lv_audit_trial(cfg, &s, X, T, canary, sigma, res, 0, side, i,
								&sc[(side ? 0 : ntr) + i]);
	if (rc != LV_OK)
		goto done;
	res->threshold = lv_audit_threshold(sc, cfg->calib_trials, sc + ntr,
										cfg->calib_trials, cfg->delta,
										cfg->alpha, &res->eps_cal);
	if (isnan(res->threshold))
	{
		rc = LV_ERR_NOMEM;
		goto done;
	}

	/* evaluation: fresh trials */
	for (i = 0; i < cfg->eval_trials && rc == LV_OK; i++)
		for (side = 0; side < 2 && rc == LV_OK; side++)
			rc = lv_audit_trial(cfg, &s, X, T, canary, sigma, res, 1, side, i,
								&sc[(side ? 0 : ntr) + i]);
	if (rc != LV_OK)
		goto done;
	for (i = 0; i < cfg->eval_trials; i++)
	{
		res->tp += sc[i] > res->threshold;
		res->fp += sc[ntr + i] > res->threshold;
		res->mean_in += sc[i] / cfg->eval_trials;
		res->mean_out += sc[ntr + i] / cfg->eval_trials;
		if (scores_in != NULL)
			scores_in[i] = sc[i];
		if (scores_out != NULL)
			scores_out[i] = sc[ntr + i];
	}
	res->eps_lb = lv_audit_eps_lb(res->tp, cfg->eval_trials, res->fp,
								  cfg->eval_trials, cfg->delta, cfg->alpha,
								  &res->tpr_lo, &res->fpr_hi);

done:
	lv_free(cells);
	lv_free(sc);
	lv_free(X);
	lv_free(T);
	lv_free(s.cols);
	return rc;
}
