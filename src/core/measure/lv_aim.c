/*
 * lv_aim.c - select, measure, generate (lv_aim.h).
 */
#include <math.h>
#include <string.h>

#include "lv_aim.h"
#include "lv_exact.h"
#include "lv_marginals.h"
#include "lv_nn.h"
#include "lv_privacy.h"
#include "lv_rand.h"
#include "lv_tree.h"

#define LV_AIM_POOL 1024                                /* Gaussian prior: draws that estimate mu_r */
#define LV_AIM_INIT_STREAM ((uint64_t) 0x61696d30ULL)   /* "aim0" */
#define LV_AIM_SELECT_STREAM ((uint64_t) 0x61696d31ULL) /* "aim1" */
#define LV_AIM_NOISE_STREAM ((uint64_t) 0x61696d32ULL)  /* "aim2" */
#define LV_AIM_POOL_STREAM ((uint64_t) 0x61696d33ULL)   /* "aim3" + round */
#define LV_AIM_FIT_STREAM ((uint64_t) 0x61696d34ULL)    /* "aim4" + round */
#define LV_AIM_BOUND_STREAM ((uint64_t) 0x61696d35ULL)  /* "aim5" + chunk */

/* The loop's state: candidates, their data counts, the measurements. */
typedef struct lv_aim_state
{
	const lv_schema *s;
	const lv_aim_workload *w; /* the candidates and the data's counts */
	int pool;                 /* rows of P: the mixture's points, or LV_AIM_POOL draws */
	double *P;                /* pool x o probabilities of the current decoder */
	double *mu;               /* scratch: a candidate's model marginal (max cells) */
	double *work;             /* scratch: max cells */
	lv_measurement *ms;
	int nm,
		cap;
	lv_stream noise;
	int (*interrupted)(void *arg);
	void *arg;
} lv_aim_state;

/* lv_aim_stop polls the interruption callback (outside any FTZ section). */
static int
lv_aim_stop(const lv_aim_state *st)
{
	return st->interrupted != NULL && st->interrupted(st->arg);
}

/* lv_aim_first_sd returns the first rounds' noise sd (lv_aim.h). */
double
lv_aim_first_sd(const lv_aim_config *cfg, int ncols)
{
	return cfg->sens * sqrt(16.0 * ncols / (2.0 * LV_AIM_ALPHA * cfg->rho));
}

/* lv_aim_rho recomputes the zCDP rho of the stored steps (lv_aim.h). */
double
lv_aim_rho(const lv_measurement *ms, int nm, double sens)
{
	double rho = 0.0;
	int i;

	for (i = 0; i < nm; i++)
	{
		rho = lv_round_up(rho + lv_round_up(sens * sens / (2.0 * ms[i].sd * ms[i].sd)));
		if (ms[i].eps_select > 0)
			rho = lv_round_up(rho + lv_round_up(ms[i].eps_select * ms[i].eps_select / 8.0));
	}
	return rho;
}

/* lv_aim_result_free releases what res owns (lv_aim.h). */
void
lv_aim_result_free(lv_aim_result *res)
{
	int i;

	if (res == NULL || res->ms == NULL)
		return;
	for (i = 0; i < res->nmeasured; i++)
	{
		lv_free(res->ms[i].y);
		lv_free(res->ms[i].raw);
	}
	lv_free(res->ms);
	res->ms = NULL;
	res->nmeasured = 0;
}

/* lv_aim_add_candidate appends the clique of cols if its table fits. */
static void
lv_aim_add_candidate(lv_aim_workload *w, int k, const int *cols, int64_t max_cells)
{
	lv_clique q;
	int a,
		b,
		i;
	double wt = 0.0;

	if (lv_clique_make(w->s, k, cols, &q) != LV_OK || q.cells > max_cells)
		return;
	/* workload: every pair; w_r = sum over pairs of |r n W| */
	for (a = 0; a < w->s->ncols; a++)
		for (b = a + 1; b < w->s->ncols; b++)
			for (i = 0; i < k; i++)
				wt += (cols[i] == a) + (cols[i] == b);
	w->cand[w->ncand] = q;
	w->weight[w->ncand] = wt > 0 ? wt : 1.0;
	w->ncand++;
}

/* lv_aim_list_candidates lists every column, pair and (max_k 3) triple that fits. */
static void
lv_aim_list_candidates(lv_aim_workload *w, int max_k, int64_t max_cells)
{
	int d = w->s->ncols;
	int a,
		b,
		c;

	for (a = 0; a < d; a++)
	{
		int one[1] = {a};

		lv_aim_add_candidate(w, 1, one, INT64_MAX);
		for (b = a + 1; b < d; b++)
		{
			int two[2] = {a, b};

			lv_aim_add_candidate(w, 2, two, max_cells);
			for (c = b + 1; max_k >= 3 && c < d; c++)
			{
				int three[3] = {a, b, c};

				lv_aim_add_candidate(w, 3, three, max_cells);
			}
		}
	}
}

/* lv_aim_workload_init lists the candidates, with zero counts (lv_aim.h). */
int
lv_aim_workload_init(lv_aim_workload *w, const lv_schema *s, int max_k,
					 int64_t max_cells)
{
	int64_t d = s ? s->ncols : 0;
	int64_t most = d + d * (d - 1) / 2 + (max_k >= 3 ? d * (d - 1) * (d - 2) / 6 : 0);
	int i;

	memset(w, 0, sizeof(*w));
	if (s == NULL || d < 1 || max_k < 1 || max_k > LV_CLIQUE_MAX)
		return LV_ERR_ARG;
	w->s = s;
	w->cand = lv_alloc(sizeof(lv_clique) * (size_t) most);
	w->weight = lv_alloc(sizeof(double) * (size_t) most);
	w->at = lv_alloc(sizeof(int64_t) * (size_t) (most + 1));
	if (w->cand == NULL || w->weight == NULL || w->at == NULL)
		return LV_ERR_NOMEM;
	lv_aim_list_candidates(w, max_k, max_cells);
	for (i = 0; i < w->ncand; i++)
	{
		w->at[i] = w->total;
		w->total += w->cand[i].cells;
		if (w->cand[i].cells > w->max_cells)
			w->max_cells = w->cand[i].cells;
	}
	w->at[w->ncand] = w->total;
	w->cnt = lv_alloc(sizeof(double) * (size_t) w->total);
	if (w->cnt == NULL)
		return LV_ERR_NOMEM;
	memset(w->cnt, 0, sizeof(double) * (size_t) w->total);
	return LV_OK;
}

/* lv_aim_workload_add counts n more encoded rows in every candidate (lv_aim.h). */
int
lv_aim_workload_add(lv_aim_workload *w, const int32_t *T, int64_t n,
					int (*interrupted)(void *arg), void *arg)
{
	return lv_aim_workload_add_weighted(w, T, NULL, n, interrupted, arg);
}

/* lv_aim_workload_add_weighted counts row r of T wt[r] times (lv_aim.h). */
int
lv_aim_workload_add_weighted(lv_aim_workload *w, const int32_t *T, const double *wt,
							 int64_t n, int (*interrupted)(void *arg), void *arg)
{
	int64_t r;
	int i;

	if (w == NULL || w->cnt == NULL || (T == NULL && n > 0) || n < 0)
		return LV_ERR_ARG;
	for (r = 0; wt != NULL && r < n; r++)
		if (!(wt[r] >= 0) || wt[r] != floor(wt[r]))
			return LV_ERR_ARG;
	for (i = 0; i < w->ncand; i++)
	{
		if (interrupted != NULL && (i & 63) == 0 && interrupted(arg))
			return LV_ERR_INTERRUPTED;
		lv_clique_add_weighted(w->s, &w->cand[i], T, wt, n, w->cnt + w->at[i]);
	}
	for (r = 0; r < n; r++)
		w->rows += wt ? (int64_t) wt[r] : 1;
	return LV_OK;
}

/* lv_aim_workload_free releases what w owns (lv_aim.h). */
void
lv_aim_workload_free(lv_aim_workload *w)
{
	if (w == NULL)
		return;
	lv_free(w->cand);
	lv_free(w->weight);
	lv_free(w->at);
	lv_free(w->cnt);
	memset(w, 0, sizeof(*w));
}

/*
 * lv_aim_measure appends the measurement of candidate i: its counts plus
 * discrete Gaussian noise of sd (raw), and raw / n_hat (y, the fit's
 * target: not projected onto the simplex, whose clipping of small cells
 * moves mass to the large ones, a bias each pair of a skewed column hands
 * on to its one-way marginals; private-pgm fits the raw counts too).
 */
static int
lv_aim_measure(lv_aim_state *st, int i, double sd, double eps_select,
			   double n_hat)
{
	lv_measurement *m;
	int64_t cells = st->w->cand[i].cells;
	int rc;

	if (st->nm == st->cap)
	{
		int cap = st->cap ? 2 * st->cap : 64;
		lv_measurement *grown = lv_alloc(sizeof(lv_measurement) * (size_t) cap);

		if (grown == NULL)
			return LV_ERR_NOMEM;
		if (st->nm > 0)
			memcpy(grown, st->ms, sizeof(lv_measurement) * (size_t) st->nm);
		lv_free(st->ms);
		st->ms = grown;
		st->cap = cap;
	}
	m = &st->ms[st->nm];
	m->q = st->w->cand[i];
	m->sd = sd;
	m->eps_select = eps_select;
	m->y = lv_alloc(sizeof(double) * (size_t) cells);
	m->raw = lv_alloc(sizeof(double) * (size_t) cells);
	m->fit_l1 = NAN;
	st->nm++;
	if (m->y == NULL || m->raw == NULL)
		return LV_ERR_NOMEM;
	memcpy(st->work, st->w->cnt + st->w->at[i], sizeof(double) * (size_t) cells);
	rc = lv_marginal_noise(st->work, (int) cells, sd, &st->noise);
	if (rc != LV_OK)
		return rc;
	memcpy(m->raw, st->work, sizeof(double) * (size_t) cells);
	for (int64_t j = 0; j < cells; j++)
		m->y[j] = m->raw[j] / n_hat;
	return LV_OK;
}

/* lv_aim_pool decodes the pool of prior draws (stream) with the decoder. */
static int
lv_aim_pool(lv_aim_state *st, const lv_model *m, const uint8_t *key, uint64_t stream)
{
	int o = lv_schema_output_dim(st->s);
	float *L = lv_alloc(sizeof(float) * (size_t) st->pool * o);
	int r,
		rc = L == NULL ? LV_ERR_NOMEM : lv_prior_logits(m, st->pool, key, stream, L);

	if (rc != LV_OK)
	{
		lv_free(L);
		return rc;
	}
	for (r = 0; r < st->pool; r++)
		lv_column_probs(st->s, L + (size_t) r * o, st->P + (size_t) r * o);
	lv_free(L);
	return LV_OK;
}

/* lv_aim_error returns || counts_i - n_hat mu_i ||_1 under the pool. */
static double
lv_aim_error(lv_aim_state *st, int i, double n_hat)
{
	int off[LV_MAX_COLUMNS];
	const double *c = st->w->cnt + st->w->at[i];
	double l1 = 0.0;
	int64_t j;

	lv_slot_offsets(st->s, off);
	lv_clique_expect(&st->w->cand[i], st->P, st->pool,
					 lv_schema_output_dim(st->s), off, st->mu);
	for (j = 0; j < st->w->cand[i].cells; j++)
		l1 += fabs(c[j] - n_hat * st->mu[j]);
	return l1;
}

/*
 * lv_aim_select draws a candidate by the exponential mechanism: eps-DP for
 * scores of sensitivity sens * max w_r, into *pick. Returns LV_OK,
 * LV_ERR_NOMEM or LV_ERR_INTERRUPTED.
 */
static int
lv_aim_select(lv_aim_state *st, double eps, double sd, double sens,
			  double n_hat, lv_stream *rng, int *pick)
{
	double *score;
	double wmax = 0.0,
		   mx = -INFINITY,
		   sum = 0.0,
		   acc = 0.0,
		   u;
	int i;

	*pick = st->w->ncand - 1;
	score = lv_alloc(sizeof(double) * (size_t) st->w->ncand);
	if (score == NULL)
		return LV_ERR_NOMEM;
	for (i = 0; i < st->w->ncand; i++)
	{
		double err;

		if ((i & 255) == 255 && lv_aim_stop(st))
		{
			lv_free(score);
			return LV_ERR_INTERRUPTED;
		}
		err = lv_aim_error(st, i, n_hat);

		score[i] = st->w->weight[i] * (err - sqrt(2.0 / M_PI) * sd * st->w->cand[i].cells);
		wmax = fmax(wmax, st->w->weight[i]);
		mx = fmax(mx, score[i]);
	}
	for (i = 0; i < st->w->ncand; i++)
	{
		score[i] = exp(eps * (score[i] - mx) / (2.0 * sens * wmax));
		sum += score[i];
	}
	u = lv_stream_uniform(rng) * sum;
	for (i = 0; i < st->w->ncand; i++)
	{
		acc += score[i];
		if (u < acc)
		{
			*pick = i;
			break;
		}
	}
	lv_free(score);
	return LV_OK;
}

/* lv_aim_networks allocates m's encoder (unused) and decoder, initialised. */
static int
lv_aim_networks(lv_model *m, const lv_aim_config *cfg)
{
	int enc_w[4],
		dec_w[4];
	lv_stream rinit;

	m->latent = cfg->latent;
	m->hidden = cfg->hidden;
	m->noise_sd = 1.0;
	m->prior_points = cfg->prior_points;
	enc_w[0] = lv_schema_input_dim(&m->schema);
	enc_w[1] = enc_w[2] = dec_w[1] = dec_w[2] = cfg->hidden;
	enc_w[3] = dec_w[0] = cfg->latent;
	dec_w[3] = lv_schema_output_dim(&m->schema);
	if (lv_mlp_alloc(&m->enc, 3, enc_w) != LV_OK || lv_mlp_alloc(&m->dec, 3, dec_w) != LV_OK)
		return LV_ERR_NOMEM;
	lv_stream_init(&rinit, cfg->key, LV_DOMAIN_TRAIN, LV_AIM_INIT_STREAM);
	lv_mlp_init_xavier(&m->enc, &rinit);
	lv_mlp_init_xavier(&m->dec, &rinit);
	return LV_OK;
}

/*
 * lv_aim_fit refits the decoder to every measurement so far: steps Adam
 * steps at fit.lr, or at final_lr (when > 0) in the fit after the rounds.
 */
static int
lv_aim_fit(lv_model *m, lv_aim_state *st, const lv_aim_config *cfg, int steps,
		   int round, int last, double *loss)
{
	lv_genfit_config fc = cfg->fit;

	fc.steps = steps;
	fc.n_hat = cfg->n_hat;
	if (last && cfg->final_lr > 0)
		fc.lr = cfg->final_lr;
	fc.stream = LV_AIM_FIT_STREAM + ((uint64_t) round << 32);
	memcpy(fc.key, cfg->key, LV_KEY_BYTES);
	return lv_genfit(m, st->ms, st->nm, &fc, loss);
}

/* lv_aim_free_state releases the state (not the measurements). */
static void
lv_aim_free_state(lv_aim_state *st)
{
	lv_free(st->P);
	lv_free(st->mu);
	lv_free(st->work);
}

/* lv_aim_start measures every column and fits the decoder to them. */
static int
lv_aim_start(lv_model *m, lv_aim_state *st, const lv_aim_config *cfg,
			 double sd)
{
	int i,
		rc = LV_OK;

	for (i = 0; i < st->w->ncand && rc == LV_OK; i++)
		if (st->w->cand[i].k == 1)
			rc = lv_aim_measure(st, i, sd, 0.0, cfg->n_hat);
	if (rc == LV_OK)
		rc = lv_aim_fit(m, st, cfg, cfg->fit.steps, 0, 0, NULL);
	return rc;
}

/* lv_aim_rounds runs the adaptive rounds until the budget is spent. */
static int
lv_aim_rounds(lv_model *m, lv_aim_state *st, const lv_aim_config *cfg,
			  double sd, double eps, int rounds)
{
	const double sens = cfg->sens;
	const double a = LV_AIM_ALPHA;
	lv_stream rng;
	int round,
		rc = LV_OK,
		last = 0;

	lv_stream_init(&rng, cfg->key, LV_DOMAIN_TRAIN, LV_AIM_SELECT_STREAM);
	for (round = 1; round <= rounds && !last && rc == LV_OK; round++)
	{
		double left = cfg->rho - lv_aim_rho(st->ms, st->nm, sens);
		double *old;
		double moved;
		int i;
		int64_t j;

		if (left < 2.0 * (sens * sens / (2.0 * sd * sd) + eps * eps / 8.0))
		{
			left *= 1.0 - 1e-9; /* the rounding of lv_aim_rho */
			if (!(left > 0))
				break;
			sd = sens * sqrt(1.0 / (2.0 * a * left));
			eps = sqrt(8.0 * (1.0 - a) * left);
			last = 1;
			if (!(sd <= LV_EXACT_MAX_SCALE))
				break; /* too little left to measure: unspent */
		}
		if ((rc = lv_aim_pool(st, m, cfg->key, LV_AIM_POOL_STREAM + ((uint64_t) round << 32))) != LV_OK ||
			(rc = lv_aim_select(st, eps, sd, sens, cfg->n_hat, &rng, &i)) != LV_OK)
			break;
		(void) lv_aim_error(st, i, cfg->n_hat); /* st->mu: the old marginal */
		old = lv_alloc(sizeof(double) * (size_t) st->w->cand[i].cells);
		if (old == NULL)
			return LV_ERR_NOMEM;
		memcpy(old, st->mu, sizeof(double) * (size_t) st->w->cand[i].cells);
		if ((rc = lv_aim_measure(st, i, sd, eps, cfg->n_hat)) == LV_OK &&
			(rc = lv_aim_fit(m, st, cfg, cfg->fit.steps, round, 0, NULL)) == LV_OK &&
			(rc = lv_aim_pool(st, m, cfg->key, LV_AIM_POOL_STREAM + ((uint64_t) round << 32))) == LV_OK)
		{
			(void) lv_aim_error(st, i, cfg->n_hat);
			moved = 0.0;
			for (j = 0; j < st->w->cand[i].cells; j++)
				moved += fabs(cfg->n_hat * (st->mu[j] - old[j]));
			if (moved <= sqrt(2.0 / M_PI) * sd * st->w->cand[i].cells)
			{
				sd /= 2.0;
				eps *= 2.0;
			}
		}
		lv_free(old);
	}
	return rc;
}

/*
 * lv_aim_residuals sets every measurement's fit_l1 = || raw - n_hat mu ||_1,
 * mu the final decoder's marginal: exact over a mixture prior's points,
 * else averaged over LV_AIM_BOUND_DRAWS prior draws (in pools of
 * LV_AIM_POOL).
 */
static int
lv_aim_residuals(const lv_model *m, lv_aim_state *st, const lv_aim_config *cfg)
{
	int off[LV_MAX_COLUMNS];
	int o = lv_schema_output_dim(st->s);
	int passes = m->prior_points > 0 ? 1 : LV_AIM_BOUND_DRAWS / LV_AIM_POOL;
	int64_t total = 0,
			j;
	double *acc;
	int c,
		i,
		rc = LV_OK;

	for (i = 0; i < st->nm; i++)
		total += st->ms[i].q.cells;
	if ((acc = lv_alloc(sizeof(double) * (size_t) total)) == NULL)
		return LV_ERR_NOMEM;
	memset(acc, 0, sizeof(double) * (size_t) total);
	lv_slot_offsets(st->s, off);
	for (c = 0; c < passes && rc == LV_OK; c++)
	{
		double *a = acc;

		if (lv_aim_stop(st))
			rc = LV_ERR_INTERRUPTED;
		else if ((rc = lv_aim_pool(st, m, cfg->key, LV_AIM_BOUND_STREAM + ((uint64_t) c << 32))) != LV_OK)
			break;
		for (i = 0; i < st->nm && rc == LV_OK; a += st->ms[i].q.cells, i++)
		{
			lv_clique_expect(&st->ms[i].q, st->P, st->pool, o, off, st->mu);
			for (j = 0; j < st->ms[i].q.cells; j++)
				a[j] += st->mu[j] / passes;
		}
	}
	for (i = 0, total = 0; i < st->nm && rc == LV_OK; total += st->ms[i].q.cells, i++)
	{
		st->ms[i].fit_l1 = 0.0;
		for (j = 0; j < st->ms[i].q.cells; j++)
			st->ms[i].fit_l1 += fabs(st->ms[i].raw[j] - cfg->n_hat * acc[total + j]);
	}
	lv_free(acc);
	return rc;
}

/* lv_aim_tvd_bound returns the high-probability TVD bound (lv_aim.h). */
double
lv_aim_tvd_bound(double sd, int64_t cells, double fit_l1, double n_hat,
				 double count_scale, int nmax, double lambda, int draws)
{
	double m = (double) cells;
	double lr = lambda / (4.0 * nmax); /* each term's share */
	double noise = sd * (1 + 1e-9) * sqrt(2.0 * m * (m * log(2.0) + log(1.0 / lr)));
	double mc = draws > 0 ? sqrt(m / draws) + sqrt(2.0 * log(1.0 / lr) / draws) : 0.0;
	double cnt = count_scale * (1 + 1e-9) * log(2.0 / (lambda / 2.0));

	if (!(nmax >= 1) || !(lambda > 0 && lambda < 1) || !(n_hat > cnt) || !(fit_l1 >= 0) || draws < 0)
		return NAN;
	return fmin(1.0, lv_round_up((noise + fit_l1 + mc * n_hat + cnt) / (2.0 * (n_hat - cnt))));
}

/* lv_aim_bad_config says whether cfg or m cannot run the loop. */
static int
lv_aim_bad_config(const lv_model *m, const lv_aim_config *cfg)
{
	return m == NULL || cfg == NULL || !(cfg->rho > 0) || !(cfg->sens >= 1) ||
		   !(cfg->n_hat >= 1) || !isfinite(cfg->n_hat) || cfg->max_k < 1 || cfg->max_k > LV_CLIQUE_MAX ||
		   cfg->prior_points < 0 || cfg->prior_points > LV_MAX_PRIOR_POINTS ||
		   cfg->latent < 1 || cfg->hidden < 1 || m->schema.ncols < 1 ||
		   !(cfg->fit.maxent >= 0) || !isfinite(cfg->fit.maxent) ||
		   (cfg->fit.maxent > 0 && (cfg->prior_points < 1 || cfg->fit.maxent_samples < 1));
}

/* lv_aim_collect moves the measurements into res and adds up their rho. */
static void
lv_aim_collect(lv_aim_state *st, const lv_aim_config *cfg, lv_aim_result *res)
{
	int i;

	res->ms = st->ms;
	res->nmeasured = st->nm;
	res->candidates = st->w->ncand;
	res->prior_points = cfg->prior_points;
	res->bound_draws = cfg->prior_points > 0 ? 0 : LV_AIM_BOUND_DRAWS;
	for (i = 0; i < st->nm; i++)
	{
		res->rho_measure += cfg->sens * cfg->sens / (2.0 * st->ms[i].sd * st->ms[i].sd);
		res->rho_select += st->ms[i].eps_select * st->ms[i].eps_select / 8.0;
	}
}

/* lv_model_fit_aim_counts runs select-measure-generate on w (lv_aim.h). */
int
lv_model_fit_aim_counts(lv_model *m, const lv_aim_workload *w,
						const lv_aim_config *cfg, lv_aim_result *res)
{
	lv_aim_state st;
	int d,
		rounds,
		rc;
	double sd,
		eps;

	if (lv_aim_bad_config(m, cfg) || res == NULL || w == NULL || w->s != &m->schema ||
		w->cnt == NULL)
		return LV_ERR_ARG;
	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	st.s = &m->schema;
	st.w = w;
	st.interrupted = cfg->fit.interrupted;
	st.arg = cfg->fit.arg;
	d = m->schema.ncols;
	rounds = cfg->max_rounds > 0 ? cfg->max_rounds : 16 * d;
	res->max_measurements = d + rounds;
	sd = lv_aim_first_sd(cfg, d);
	if (!(sd <= LV_EXACT_MAX_SCALE))
		return LV_ERR_ARG;
	eps = sqrt(8.0 * (1.0 - LV_AIM_ALPHA) * cfg->rho / (16.0 * d));
	lv_stream_init(&st.noise, cfg->key, LV_DOMAIN_TRAIN, LV_AIM_NOISE_STREAM);

	rc = lv_aim_networks(m, cfg);
	if (rc == LV_OK)
	{
		st.pool = m->prior_points > 0 ? m->prior_points : LV_AIM_POOL;
		st.P = lv_alloc(sizeof(double) * st.pool * (size_t) lv_schema_output_dim(st.s));
		st.mu = lv_alloc(sizeof(double) * (size_t) w->max_cells);
		st.work = lv_alloc(sizeof(double) * (size_t) w->max_cells);
		if (st.P == NULL || st.mu == NULL || st.work == NULL)
			rc = LV_ERR_NOMEM;
	}
	if (rc == LV_OK)
		rc = lv_aim_start(m, &st, cfg, sd);
	if (rc == LV_OK)
		rc = lv_aim_rounds(m, &st, cfg, sd, eps, rounds);
	if (rc == LV_OK)
		rc = lv_aim_fit(m, &st, cfg, cfg->final_steps, rounds + 1, 1, &res->final_loss);
	if (rc == LV_OK)
		rc = lv_aim_residuals(m, &st, cfg);
	lv_aim_collect(&st, cfg, res);
	lv_aim_free_state(&st);
	if (rc == LV_OK && !(lv_aim_rho(res->ms, res->nmeasured, cfg->sens) <= cfg->rho))
		rc = LV_ERR_NUMERIC;
	if (rc != LV_OK)
		lv_aim_result_free(res);
	return rc;
}

/* lv_model_fit_aim counts the n targets T, then fits (lv_aim.h). */
int
lv_model_fit_aim(lv_model *m, const int32_t *T, int64_t n,
				 const lv_aim_config *cfg, lv_aim_result *res)
{
	lv_aim_workload w;
	int rc;

	if (lv_aim_bad_config(m, cfg) || T == NULL || n < 0 || res == NULL)
		return LV_ERR_ARG;
	memset(res, 0, sizeof(*res));
	rc = lv_aim_workload_init(&w, &m->schema, cfg->max_k, cfg->max_cells);
	if (rc == LV_OK)
		rc = lv_aim_workload_add(&w, T, n, cfg->fit.interrupted, cfg->fit.arg);
	if (rc == LV_OK)
		rc = lv_model_fit_aim_counts(m, &w, cfg, res);
	lv_aim_workload_free(&w);
	return rc;
}
