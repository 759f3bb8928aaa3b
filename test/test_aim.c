/*
 * test_aim.c - unit tests of lv_clique.c, lv_genfit.c and lv_aim.c: clique
 * counts, the expected marginal and its gradient (against finite
 * differences), the heads' backward pass, the decoder fitted to exact
 * marginals of dependent columns, and the AIM loop's budget: every step's
 * rho recomputed from the returned parameters, never above the budget.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lv_aim.h"
#include "lv_exact.h"
#include "lv_nn.h"
#include "lv_tree.h"
#include "lv_marginals.h"
#include "lv_maxent.h"

static lv_column cols[3];

/* set_schema: a nullable numeric (3 bins + NULL), two categoricals. */
static void
set_schema(lv_schema *s)
{
	memset(cols, 0, sizeof(cols));
	cols[0].kind = LV_COL_NUMERIC;
	cols[0].nullable = 1;
	cols[0].nbins = 3;
	cols[0].lo = 0;
	cols[0].hi = 3;
	cols[1].kind = LV_COL_CATEGORICAL;
	cols[1].ncat = 2; /* + other: 3 slots */
	cols[2].kind = LV_COL_CATEGORICAL;
	cols[2].nullable = 1;
	cols[2].ncat = 2; /* + other + NULL: 4 slots */
	s->ncols = 3;
	s->cols = cols;
}

/* dependent_rows fills T (n x 3): column 1 and 2 follow column 0. */
static void
dependent_rows(int32_t *T, int n)
{
	int r;

	for (r = 0; r < n; r++)
	{
		int a = r % 4 == 3 ? -1 : r % 3;

		T[3 * r] = a;
		T[3 * r + 1] = a < 0 ? 2 : a % 2;
		T[3 * r + 2] = a < 0 ? 3 : (a == 2 ? (r % 7 == 0 ? 0 : 2) : a);
	}
}

/* test_counts: one row adds 1 to exactly one cell of a clique. */
static void
test_counts(void **state)
{
	lv_schema s;
	lv_clique q;
	int32_t T[3 * 12];
	int c2[2] = {0, 2}, c3[3] = {0, 1, 2};
	double cnt[48], sum = 0;
	int i;

	set_schema(&s);
	dependent_rows(T, 12);
	assert_int_equal(lv_clique_make(&s, 2, c2, &q), LV_OK);
	assert_int_equal(q.cells, 4 * 4);
	lv_clique_counts(&s, &q, T, 12, cnt);
	for (i = 0; i < 16; i++)
		sum += cnt[i];
	assert_true(sum == 12);
	/* row 3 is (NULL, other, NULL): cell (3, 3) */
	assert_true(cnt[3 * 4 + 3] == 3);
	assert_int_equal(lv_clique_make(&s, 3, c3, &q), LV_OK);
	assert_int_equal(q.cells, 48);
	c2[1] = 0;
	assert_int_equal(lv_clique_make(&s, 2, c2, &q), LV_ERR_ARG);
}

/* loss_of: sum over cells of D * mu for probabilities P (S rows). */
static double
loss_of(const lv_clique *q, const double *P, int S, int o, const int *off,
		const double *D)
{
	double mu[48], L = 0;
	int64_t c;

	lv_clique_expect(q, P, S, o, off, mu);
	for (c = 0; c < q->cells; c++)
		L += D[c] * mu[c];
	return L;
}

/* test_clique_grad: lv_clique_grad matches finite differences (k = 1..3). */
static void
test_clique_grad(void **state)
{
	lv_schema s;
	int off[3], o, k, S = 3;
	double P[3 * 11], G[3 * 11], D[48];
	lv_stream st;
	uint8_t key[LV_KEY_BYTES] = {1};
	int cl[3] = {0, 1, 2};

	set_schema(&s);
	o = lv_schema_output_dim(&s);
	assert_int_equal(o, 11);
	lv_slot_offsets(&s, off);
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 1);
	for (int i = 0; i < S * o; i++)
		P[i] = lv_stream_uniform(&st);
	for (int i = 0; i < 48; i++)
		D[i] = lv_stream_uniform(&st) - 0.5;
	for (k = 1; k <= 3; k++)
	{
		lv_clique q;

		assert_int_equal(lv_clique_make(&s, k, cl + (k == 1 ? 2 : 0), &q), LV_OK);
		memset(G, 0, sizeof(G));
		lv_clique_grad(&q, P, S, o, off, D, 1.5, G);
		for (int i = 0; i < S * o; i++)
		{
			double keep = P[i], h = 1e-6, up, dn;

			P[i] = keep + h;
			up = loss_of(&q, P, S, o, off, D);
			P[i] = keep - h;
			dn = loss_of(&q, P, S, o, off, D);
			P[i] = keep;
			assert_true(fabs(1.5 * (up - dn) / (2 * h) - G[i]) < 1e-6);
		}
	}
}

/* test_heads_backward: the logit gradient matches finite differences. */
static void
test_heads_backward(void **state)
{
	lv_schema s;
	float logits[11], dl[11];
	double P[11], Pp[11], g[11];
	lv_stream st;
	uint8_t key[LV_KEY_BYTES] = {2};
	int o, i, j;

	set_schema(&s);
	o = lv_schema_output_dim(&s);
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 2);
	for (i = 0; i < o; i++)
	{
		logits[i] = (float) (2 * lv_stream_uniform(&st) - 1);
		g[i] = lv_stream_uniform(&st) - 0.5;
	}
	lv_column_probs(&s, logits, P);
	lv_heads_backward(&s, P, g, 1, dl);
	for (i = 0; i < o; i++)
	{
		float keep = logits[i];
		double up = 0, dn = 0;

		logits[i] = keep + 1e-2f;
		lv_column_probs(&s, logits, Pp);
		for (j = 0; j < o; j++)
			up += g[j] * Pp[j];
		logits[i] = keep - 1e-2f;
		lv_column_probs(&s, logits, Pp);
		for (j = 0; j < o; j++)
			dn += g[j] * Pp[j];
		logits[i] = keep;
		assert_true(fabs((up - dn) / 2e-2 - dl[i]) < 1e-4);
	}
}

/* make_model: a central model over the schema, key filled with seed. */
static void
make_model(lv_model *m, unsigned seed)
{
	lv_schema s;

	set_schema(&s);
	memset(m, 0, sizeof(*m));
	m->schema.ncols = s.ncols;
	m->schema.cols = lv_alloc(sizeof(lv_column) * s.ncols);
	memcpy(m->schema.cols, s.cols, sizeof(lv_column) * s.ncols);
	m->mechanism = LV_MECH_CENTRAL;
	memset(m->key, (int) seed, LV_KEY_BYTES);
}

/* base_config: a budget rho for 2,000 rows. */
static void
base_config(lv_aim_config *c, double rho)
{
	memset(c, 0, sizeof(*c));
	c->rho = rho;
	c->sens = 1;
	c->n_hat = 2000;
	c->max_k = 3;
	c->max_cells = 1000;
	c->latent = 4;
	c->hidden = 32;
	c->fit.steps = 60;
	c->fit.batch = 128;
	c->fit.lr = 0.01;
	c->final_steps = 300;
	memset(c->key, 9, LV_KEY_BYTES);
}

/* prior_draws: S draws of a Gaussian prior, or a mixture prior's points (exact). */
static int
prior_draws(const lv_model *m, int S)
{
	return m->prior_points > 0 ? m->prior_points : S;
}

/* prior_probs: the probability rows (S x o, lv_alloc) of S prior draws of m, or of its points. */
static double *
prior_probs(const lv_model *m, int S, uint64_t stream)
{
	int o = lv_schema_output_dim(&m->schema);
	float *L = lv_alloc(sizeof(float) * S * o);
	double *P = lv_alloc(sizeof(double) * S * o);

	assert_int_equal(lv_prior_logits(m, S, m->key, stream, L), LV_OK);
	for (int r = 0; r < S; r++)
		lv_column_probs(&m->schema, L + (size_t) r * o, P + (size_t) r * o);
	lv_free(L);
	return P;
}

/* pair_tvd: TVD between the data's (0, 2) table and the model's. */
static double
pair_tvd(const lv_model *m, const int32_t *T, int n)
{
	lv_clique q;
	int c2[2] = {0, 2}, off[3], o = lv_schema_output_dim(&m->schema);
	double cnt[16], mu[16], tvd = 0;
	int S = prior_draws(m, 4096);
	double *P = prior_probs(m, S, 77);

	lv_clique_make(&m->schema, 2, c2, &q);
	lv_clique_counts(&m->schema, &q, T, n, cnt);
	lv_slot_offsets(&m->schema, off);
	lv_clique_expect(&q, P, S, o, off, mu);
	for (int i = 0; i < 16; i++)
		tvd += 0.5 * fabs(cnt[i] / n - mu[i]);
	lv_free(P);
	return tvd;
}

/* indep_tvd: TVD between the data's (0, 2) table and its margins' product. */
static double
indep_tvd(const lv_schema *s, const int32_t *T, int n)
{
	lv_clique q, a, b;
	int c2[2] = {0, 2}, c0 = 0, cb = 2;
	double cnt[16], ca[4], cc[4], tvd = 0;

	lv_clique_make(s, 2, c2, &q);
	lv_clique_make(s, 1, &c0, &a);
	lv_clique_make(s, 1, &cb, &b);
	lv_clique_counts(s, &q, T, n, cnt);
	lv_clique_counts(s, &a, T, n, ca);
	lv_clique_counts(s, &b, T, n, cc);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			tvd += 0.5 * fabs(cnt[i * 4 + j] / n - ca[i] * cc[j] / ((double) n * n));
	return tvd;
}

/*
 * test_workload_batches: counting the rows in uneven batches gives every
 * candidate the counts of one pass, and the fit on those counts is the fit
 * on the rows (same measurements, same decoder); a workload of another
 * schema is refused.
 */
static void
test_workload_batches(void **state)
{
	int n = 1500;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	lv_model a,
		b;
	lv_aim_workload w;
	lv_aim_config c;
	lv_aim_result ra,
		rb;
	int64_t done = 0,
			step = 1;

	dependent_rows(T, n);
	make_model(&a, 9);
	make_model(&b, 9);
	base_config(&c, 1.0);
	c.max_rounds = 2; /* short: the comparison, not the fit, is tested (valgrind runs it too) */
	c.fit.steps = 10;
	c.final_steps = 20;
	assert_int_equal(lv_aim_workload_init(&w, &b.schema, c.max_k, c.max_cells), LV_OK);
	while (done < n)
	{
		int64_t nb = done + step > n ? n - done : step;

		assert_int_equal(lv_aim_workload_add(&w, T + done * 3, nb, NULL, NULL), LV_OK);
		done += nb;
		step = step * 3 + 1;
	}
	assert_int_equal(w.rows, n);
	for (int i = 0; i < w.ncand; i++)
	{
		double *one = lv_alloc(sizeof(double) * (size_t) w.cand[i].cells);

		lv_clique_counts(&b.schema, &w.cand[i], T, n, one);
		assert_memory_equal(one, w.cnt + w.at[i], sizeof(double) * (size_t) w.cand[i].cells);
		lv_free(one);
	}
	assert_int_equal(lv_model_fit_aim(&a, T, n, &c, &ra), LV_OK);
	assert_int_equal(lv_model_fit_aim_counts(&b, &w, &c, &rb), LV_OK);
	assert_int_equal(ra.nmeasured, rb.nmeasured);
	for (int i = 0; i < ra.nmeasured; i++)
		assert_memory_equal(ra.ms[i].y, rb.ms[i].y, sizeof(double) * (size_t) ra.ms[i].q.cells);
	assert_true(ra.final_loss == rb.final_loss);
	assert_int_equal(lv_model_fit_aim_counts(&a, &w, &c, &rb), LV_ERR_ARG); /* b's schema */
	lv_aim_result_free(&ra);
	lv_aim_result_free(&rb);
	lv_aim_workload_free(&w);
	lv_model_free(&a);
	lv_model_free(&b);
	lv_free(T);
}

/* distinct_rows writes the distinct rows of T (n x 3) to D and their counts to wt; returns how many. */
static int64_t
distinct_rows(const int32_t *T, int64_t n, int32_t *D, double *wt)
{
	int64_t m = 0,
			r,
			j;

	for (r = 0; r < n; r++)
	{
		for (j = 0; j < m; j++)
			if (memcmp(D + 3 * j, T + 3 * r, sizeof(int32_t) * 3) == 0)
				break;
		if (j == m)
		{
			memcpy(D + 3 * m, T + 3 * r, sizeof(int32_t) * 3);
			wt[m++] = 0;
		}
		wt[j] += 1;
	}
	return m;
}

/*
 * test_workload_weighted: the distinct rows with their counts (what a
 * GROUP BY returns) give every candidate the counts of the rows one by
 * one, and the row count; a negative or fractional count is refused.
 */
static void
test_workload_weighted(void **state)
{
	int n = 1500;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	int32_t *D = lv_alloc(sizeof(int32_t) * 3 * n);
	double *wt = lv_alloc(sizeof(double) * n);
	lv_model b;
	lv_aim_workload w,
		v;
	int64_t m;

	dependent_rows(T, n);
	m = distinct_rows(T, n, D, wt);
	assert_true(m > 3 && m < 20);
	make_model(&b, 9);
	assert_int_equal(lv_aim_workload_init(&w, &b.schema, 2, 4096), LV_OK);
	assert_int_equal(lv_aim_workload_init(&v, &b.schema, 2, 4096), LV_OK);
	assert_int_equal(lv_aim_workload_add_weighted(&w, D, wt, m, NULL, NULL), LV_OK);
	assert_int_equal(lv_aim_workload_add(&v, T, n, NULL, NULL), LV_OK);
	assert_int_equal(w.rows, n);
	assert_memory_equal(w.cnt, v.cnt, sizeof(double) * (size_t) w.total);
	wt[1] = -1;
	assert_int_equal(lv_aim_workload_add_weighted(&w, D, wt, m, NULL, NULL), LV_ERR_ARG);
	wt[1] = 0.5;
	assert_int_equal(lv_aim_workload_add_weighted(&w, D, wt, m, NULL, NULL), LV_ERR_ARG);
	assert_int_equal(w.rows, n); /* refused before counting */
	lv_aim_workload_free(&w);
	lv_aim_workload_free(&v);
	lv_model_free(&b);
	lv_free(T);
	lv_free(D);
	lv_free(wt);
}

/*
 * test_aim_budget_and_fit: the loop spends at most rho (recomputed from the
 * steps it returns), measures every column first, and at a large budget
 * its decoder reproduces a dependent pair (TVD well below independence's).
 */
static void
test_aim_budget_and_fit(void **state)
{
	int n = 2000;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	double rhos[2] = {0.05, 20};

	dependent_rows(T, n);
	for (int t = 0; t < 2; t++)
	{
		lv_model m;
		lv_aim_config c;
		lv_aim_result r;
		double rho;
		int ones = 0;

		make_model(&m, 3 + t);
		base_config(&c, rhos[t]);
		assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_OK);
		rho = lv_aim_rho(r.ms, r.nmeasured, 1);
		assert_true(rho <= rhos[t]);
		assert_true(rho >= 0.99 * rhos[t]); /* the last round spends the rest */
		assert_true(fabs(r.rho_measure + r.rho_select - rho) < 1e-9 * rho);
		for (int i = 0; i < 3; i++)
			ones += r.ms[i].q.k == 1 && r.ms[i].eps_select == 0;
		assert_int_equal(ones, 3);
		assert_true(r.nmeasured > 3);
		if (t == 1)
		{
			double tvd = pair_tvd(&m, T, n), indep = indep_tvd(&m.schema, T, n);

			print_message("pair TVD %.4f, independent columns %.4f\n", tvd, indep);
			assert_true(indep > 0.2);
			assert_true(tvd < 0.25 * indep);
		}
		lv_aim_result_free(&r);
		lv_model_free(&m);
	}
	lv_free(T);
}

static int polls, stop_at;

/* count_polls: an interruption callback that stops at call stop_at. */
static int
count_polls(void *arg)
{
	(void) arg;
	return ++polls == stop_at;
}

/*
 * test_interrupt: the loop polls while it counts the candidates (not only
 * inside the fits), and a stop at any poll returns LV_ERR_INTERRUPTED with
 * nothing measured left behind.
 */
static void
test_interrupt(void **state)
{
	int n = 500;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	lv_model m;
	lv_aim_config c;
	lv_aim_result r;

	dependent_rows(T, n);
	base_config(&c, 1);
	c.fit.steps = 1;
	c.final_steps = 1;
	c.max_rounds = 1;
	c.fit.interrupted = count_polls;
	polls = 0;
	stop_at = -1;
	make_model(&m, 5);
	assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_OK);
	/* 7 candidates (3 columns, 3 pairs, 1 triple) + 3 fits of one step */
	assert_true(polls >= r.candidates + 3);
	assert_int_equal(r.candidates, 7);
	lv_aim_result_free(&r);
	lv_model_free(&m);
	for (stop_at = 1; stop_at <= 10; stop_at++)
	{
		polls = 0;
		make_model(&m, 5);
		assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_ERR_INTERRUPTED);
		assert_int_equal(r.nmeasured, 0);
		assert_null(r.ms);
		lv_model_free(&m);
	}
	lv_free(T);
}

/* clique_tvd: TVD between the data's table of q and the model's (16,384 draws, or exact). */
static double
clique_tvd(const lv_model *m, const lv_clique *q, const int32_t *T, int n)
{
	int off[3], o = lv_schema_output_dim(&m->schema), S = prior_draws(m, 16384);
	double *cnt = lv_alloc(sizeof(double) * q->cells), *mu = lv_alloc(sizeof(double) * q->cells);
	double *P = prior_probs(m, S, 78);
	double tvd = 0;

	lv_clique_counts(&m->schema, q, T, n, cnt);
	lv_slot_offsets(&m->schema, off);
	lv_clique_expect(q, P, S, o, off, mu);
	for (int64_t i = 0; i < q->cells; i++)
		tvd += 0.5 * fabs(cnt[i] / n - mu[i]);
	lv_free(cnt);
	lv_free(mu);
	lv_free(P);
	return tvd;
}

/*
 * test_error_bounds: every measured clique's 95% TVD bound (lv_aim.h),
 * computed from DP outputs alone, covers the model's true distance to the
 * data, and is informative at a moderate budget; the bound is NaN when the
 * row count's error could reach n_hat, and it grows with the noise.
 */
static void
test_error_bounds(void **state)
{
	int n = 2000;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	double rhos[2] = {0.05, 2};

	dependent_rows(T, n);
	for (int t = 0; t < 2; t++)
	{
		lv_model m;
		lv_aim_config c;
		lv_aim_result r;
		double widest = 0;
		int negative = 0;

		make_model(&m, 7 + t);
		base_config(&c, rhos[t]);
		c.n_hat = 1980;                    /* a DP row count off by 20 (within the bound's C = 10 ln 80) */
		c.prior_points = t == 1 ? 128 : 0; /* the Monte Carlo term, and the exact mixture */
		assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_OK);
		assert_int_equal(r.bound_draws, t == 1 ? 0 : LV_AIM_BOUND_DRAWS);
		for (int i = 0; i < r.nmeasured; i++)
		{
			double b = lv_aim_tvd_bound(r.ms[i].sd, r.ms[i].q.cells, r.ms[i].fit_l1, c.n_hat, 10, r.max_measurements, 0.05,
										r.bound_draws);
			double tvd = clique_tvd(&m, &r.ms[i].q, T, n);

			assert_true(r.ms[i].fit_l1 >= 0);
			assert_true(tvd <= b);
			widest = fmax(widest, b);
			/* the fit's target is the raw noisy counts over n_hat (not the true n), not projected */
			for (int64_t j = 0; j < r.ms[i].q.cells; j++)
			{
				assert_true(r.ms[i].y[j] == r.ms[i].raw[j] / c.n_hat);
				negative += r.ms[i].y[j] < 0;
			}
		}
		if (t == 0)
			assert_true(negative > 0); /* the noise made some cells negative, and they stay */
		print_message("rho %g: %d measured, widest bound %.3f\n", rhos[t], r.nmeasured, widest);
		if (t == 1)
			assert_true(widest < 0.25);
		lv_aim_result_free(&r);
		lv_model_free(&m);
	}
	assert_true(isnan(lv_aim_tvd_bound(10, 4, 1, 100, 50, 3, 0.05, 0))); /* C = 50 ln 80 > 100 */
	assert_true(isnan(lv_aim_tvd_bound(10, 4, 1, 2000, 10, 3, 0.05, -1)));
	assert_true(lv_aim_tvd_bound(20, 4, 1, 2000, 10, 3, 0.05, 0) > lv_aim_tvd_bound(10, 4, 1, 2000, 10, 3, 0.05, 0));
	/* the Monte Carlo term: fewer draws, a wider bound; none when exact */
	assert_true(lv_aim_tvd_bound(10, 4, 1, 2000, 10, 3, 0.05, 1024) >
				lv_aim_tvd_bound(10, 4, 1, 2000, 10, 3, 0.05, LV_AIM_BOUND_DRAWS));
	assert_true(lv_aim_tvd_bound(10, 4, 1, 2000, 10, 3, 0.05, LV_AIM_BOUND_DRAWS) >
				lv_aim_tvd_bound(10, 4, 1, 2000, 10, 3, 0.05, 0));
	lv_free(T);
}

/* test_bad_config: nonsense budgets and shapes are refused. */
static void
test_bad_config(void **state)
{
	lv_model m;
	lv_aim_config c;
	lv_aim_result r;
	int32_t T[3 * 4];

	dependent_rows(T, 4);
	make_model(&m, 1);
	base_config(&c, 0);
	assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	base_config(&c, NAN);
	assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	base_config(&c, 1e-30); /* first sd 5e15: beyond the exact sampler */
	assert_true(lv_aim_first_sd(&c, 3) > LV_EXACT_MAX_SCALE);
	assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	base_config(&c, 1);
	c.max_k = 4;
	assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	base_config(&c, 1);
	c.prior_points = -1;
	assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	c.prior_points = LV_MAX_PRIOR_POINTS + 1;
	assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	/* the fit divides the noisy counts by n_hat: below 1 or infinite it is refused */
	for (int bad = 0; bad < 4; bad++)
	{
		const double n_hats[4] = {0.5, 1e-300, INFINITY, NAN};

		base_config(&c, 1);
		c.n_hat = n_hats[bad];
		assert_int_equal(lv_model_fit_aim(&m, T, 4, &c, &r), LV_ERR_ARG);
	}
	lv_model_free(&m);
}

/* sharpen scales the decoder's last layer so that every head is (nearly) one-hot. */
static void
sharpen(lv_model *m)
{
	lv_layer *last = &m->dec.layers[m->dec.nlayers - 1];

	for (int i = 0; i < last->in * last->out; i++)
		last->W[i] *= 1e4f;
	for (int i = 0; i < last->out; i++)
		last->b[i] *= 1e4f;
}

/*
 * release_block_counts: column 1's values in released rows start ..
 * start+N-1 of m, against its argmax over the N prior points: returns the
 * largest count difference; *unsure gets the points with no head above 0.999.
 */
static int
release_block_counts(const lv_model *m, int64_t start, int *unsure)
{
	int N = m->prior_points, o = lv_schema_output_dim(&m->schema), off[3], worst = 0;
	int want[3] = {0, 0, 0}, got[3] = {0, 0, 0};
	float *L = lv_alloc(sizeof(float) * N * o);
	double *P = lv_alloc(sizeof(double) * o);
	lv_cell *cells = lv_alloc(sizeof(lv_cell) * 3 * N);

	lv_slot_offsets(&m->schema, off);
	assert_int_equal(lv_prior_logits(m, N, m->key, 0, L), LV_OK);
	*unsure = 0;
	for (int r = 0; r < N; r++)
	{
		int best = 0;

		lv_column_probs(&m->schema, L + (size_t) r * o, P);
		for (int j = 1; j < 3; j++)
			if (P[off[1] + j] > P[off[1] + best])
				best = j;
		*unsure += P[off[1] + best] < 0.999;
		want[best]++;
	}
	for (int64_t r = 0; r < N; r += LV_RELEASE_CHUNK)
		assert_int_equal(lv_release_rows(m, start + r, N - r < LV_RELEASE_CHUNK ? (int) (N - r) : LV_RELEASE_CHUNK,
										 cells + 3 * r),
						 LV_OK);
	for (int r = 0; r < N; r++)
		got[cells[3 * r + 1].cat < 0 ? 2 : cells[3 * r + 1].cat]++;
	for (int j = 0; j < 3; j++)
		worst = abs(want[j] - got[j]) > worst ? abs(want[j] - got[j]) : worst;
	lv_free(L);
	lv_free(P);
	lv_free(cells);
	return worst;
}

/*
 * test_mixture_prior: a decoder fitted on a mixture of 256 fixed points
 * learns the dependence; the model is stored as format 3 and read back
 * byte for byte, a mixture without its count or out of range is refused;
 * and every block of 256 released rows decodes each point exactly once
 * (with one-hot heads, the block's counts are the points' counts).
 */
static void
test_mixture_prior(void **state)
{
	int n = 2000, unsure;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	lv_model m,
		back;
	lv_aim_config c;
	lv_aim_result r;
	uint8_t *buf,
		*buf2;
	size_t len,
		len2;
	double tvd,
		indep;

	dependent_rows(T, n);
	make_model(&m, 5);
	base_config(&c, 20);
	c.prior_points = 256;
	c.max_rounds = 3; /* short: valgrind runs it too */
	assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_OK);
	assert_int_equal(m.prior_points, 256);
	tvd = pair_tvd(&m, T, n);
	indep = indep_tvd(&m.schema, T, n);
	print_message("mixture prior: pair TVD %.4f, independent columns %.4f\n", tvd, indep);
	assert_true(tvd < 0.25 * indep);

	m.lipschitz_certified = lv_model_certify(&m); /* as training stores it */
	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_OK);
	assert_int_equal(buf[8], 3); /* format version 3, little-endian */
	assert_int_equal(lv_model_deserialize(buf, len, &back), LV_OK);
	assert_int_equal(back.prior_points, 256);
	assert_int_equal(lv_model_serialize(&back, &buf2, &len2), LV_OK);
	assert_int_equal(len2, len);
	assert_memory_equal(buf, buf2, len);
	lv_free(buf2);
	lv_model_free(&back);
	for (uint32_t bad = 0; bad <= 1; bad++)
	{
		uint32_t v = bad ? LV_MAX_PRIOR_POINTS + 1 : 0, crc;

		memcpy(buf + len - 8, &v, 4); /* the count, just before the CRC */
		crc = lv_crc32(buf, len - 4);
		memcpy(buf + len - 4, &crc, 4);
		assert_int_equal(lv_model_deserialize(buf, len, &back), LV_ERR_FORMAT);
	}
	lv_free(buf);
	m.prior_points = -1;
	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_ERR_ARG);
	m.prior_points = 256;

	sharpen(&m);
	assert_true(release_block_counts(&m, 0, &unsure) <= unsure);
	assert_true(release_block_counts(&m, 256 * 7, &unsure) <= unsure);
	print_message("mixture prior: %d of 256 points without a one-hot head\n", unsure);
	assert_true(unsure < 26);
	lv_aim_result_free(&r);
	lv_model_free(&m);
	lv_free(T);
}

/* released_values: column 0 of rows 0 .. n-1 of m (NAN for NULL). */
static void
released_values(const lv_model *m, int n, double *v)
{
	lv_cell *cells = lv_alloc(sizeof(lv_cell) * 3 * LV_RELEASE_CHUNK);

	for (int r = 0; r < n; r += LV_RELEASE_CHUNK)
	{
		assert_int_equal(lv_release_rows(m, r, LV_RELEASE_CHUNK, cells), LV_OK);
		for (int i = 0; i < LV_RELEASE_CHUNK && r + i < n; i++)
			v[r + i] = cells[3 * i].isnull ? NAN : cells[3 * i].value;
	}
	lv_free(cells);
}

/* reversion: blob with its version set to v and its CRC recomputed. */
static void
reversion(uint8_t *buf, size_t len, uint8_t v)
{
	uint32_t crc;

	buf[8] = v;
	crc = lv_crc32(buf, len - 4);
	memcpy(buf + len - 4, &crc, 4);
}

/*
 * test_uniform_ints: an integer column 0..20 in 3 equal-width bins with
 * uniform_ints decodes every row to an integer of the very bin drawn (the
 * same column read as continuous gives the bin), each of the bin's
 * integers about equally often, where the rounded position crosses bins;
 * stored as format 4 and read back byte for byte; refused where it makes
 * no sense (exact bins, no mixture prior, a format 4 blob without such a
 * column, some integer columns flagged and some not).
 */
static void
test_uniform_ints(void **state)
{
	enum
	{
		N = 4096
	};
	int n = 2000, crossed = 0, hits[21] = {0};
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	double *vu = lv_alloc(sizeof(double) * N), *vr = lv_alloc(sizeof(double) * N),
		   *vc = lv_alloc(sizeof(double) * N);
	lv_model m, back;
	lv_aim_config c;
	lv_aim_result r;
	lv_column two[2];
	lv_schema s2 = {2, two};
	uint8_t *buf, *buf2;
	size_t len, len2;

	dependent_rows(T, n);
	make_model(&m, 6);
	m.schema.cols[0].hi = 20;
	base_config(&c, 20);
	c.prior_points = 64;
	c.max_rounds = 1;
	assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_OK);
	m.lipschitz_certified = lv_model_certify(&m);
	released_values(&m, N, vc); /* continuous: the bin drawn */
	m.schema.cols[0].integer = 1;
	released_values(&m, N, vr); /* rounded */
	m.schema.cols[0].uniform_ints = 1;
	released_values(&m, N, vu);
	for (int i = 0; i < N; i++)
	{
		assert_int_equal(isnan(vu[i]), isnan(vc[i]));
		if (isnan(vc[i]))
			continue;
		assert_true(vu[i] == floor(vu[i]) && vu[i] >= 0 && vu[i] <= 20);
		assert_int_equal(lv_numeric_bin(&m.schema.cols[0], vu[i]), lv_numeric_bin(&m.schema.cols[0], vc[i]));
		crossed += lv_numeric_bin(&m.schema.cols[0], vr[i]) != lv_numeric_bin(&m.schema.cols[0], vc[i]);
		hits[(int) vu[i]]++;
	}
	print_message("uniform ints: %d of %d rounded values left their bin\n", crossed, N);
	assert_true(crossed > 0);
	for (int b = 0, lo = 0; b < 3; b++)
	{
		int hi = b == 0 ? 6 : b == 1 ? 13
									 : 20,
			tot = 0;

		for (int k = lo; k <= hi; k++)
			tot += hits[k];
		for (int k = lo; tot >= 700 && k <= hi; k++) /* 100+ expected per integer */
			assert_true(fabs(hits[k] - (double) tot / (hi - lo + 1)) < 0.4 * tot / (hi - lo + 1));
		lo = hi + 1;
	}

	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_OK);
	assert_int_equal(buf[8], 4);
	assert_int_equal(lv_model_deserialize(buf, len, &back), LV_OK);
	assert_int_equal(back.schema.cols[0].uniform_ints, 1);
	assert_int_equal(lv_model_serialize(&back, &buf2, &len2), LV_OK);
	assert_true(len2 == len && memcmp(buf, buf2, len) == 0);
	lv_free(buf2);
	lv_model_free(&back);
	reversion(buf, len, 3); /* as format 3: rounded again */
	assert_int_equal(lv_model_deserialize(buf, len, &back), LV_OK);
	assert_int_equal(back.schema.cols[0].uniform_ints, 0);
	lv_model_free(&back);
	lv_free(buf);

	/* bounds where x + 1 rounds back to x (helper-16: the release hung) */
	for (int t = 0; t < 3; t++)
	{
		double lo[3] = {0, 1e16, -1e300}, hi[3] = {1e18, 1e16 + 1000, 1e300};

		m.schema.cols[0].lo = lo[t];
		m.schema.cols[0].hi = hi[t];
		released_values(&m, 1024, vu);
		for (int i = 0; i < 1024; i++)
			assert_true(isnan(vu[i]) || (vu[i] >= lo[t] && vu[i] <= hi[t]));
	}
	m.schema.cols[0].lo = 0;
	m.schema.cols[0].hi = 20;

	m.prior_points = 0;
	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_ERR_ARG);
	m.prior_points = 64;
	m.schema.cols[0].exact_bins = 1;
	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_ERR_ARG);
	m.schema.cols[0].exact_bins = 0;
	m.schema.cols[0].integer = 0;
	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_ERR_ARG);
	m.schema.cols[0].uniform_ints = 0;
	assert_int_equal(lv_model_serialize(&m, &buf, &len), LV_OK);
	assert_int_equal(buf[8], 3);
	reversion(buf, len, 4); /* no integer column to decode uniformly */
	assert_int_equal(lv_model_deserialize(buf, len, &back), LV_ERR_FORMAT);
	lv_free(buf);

	memset(two, 0, sizeof(two));
	for (int i = 0; i < 2; i++)
	{
		two[i].kind = LV_COL_NUMERIC;
		two[i].integer = 1;
		two[i].nbins = 4;
		two[i].hi = 40;
	}
	assert_int_equal(lv_schema_uniform_ints(&s2), 0);
	two[0].uniform_ints = 1;
	assert_int_equal(lv_schema_uniform_ints(&s2), -1);
	two[1].uniform_ints = 1;
	assert_int_equal(lv_schema_uniform_ints(&s2), 1);

	lv_aim_result_free(&r);
	lv_model_free(&m);
	lv_free(T);
	lv_free(vu);
	lv_free(vr);
	lv_free(vc);
}

/* mix_tc forward declaration for loop_r */
static double mix_tc(const lv_schema *s, const double *P, int B, double *i01);

/* loop_r: R of m's mixture (exact TC less the MI along the tree of r's measured pairs). */
static double
loop_r(const lv_model *m, const lv_aim_result *r)
{
	int o = lv_schema_output_dim(&m->schema), off[3], a[64], b[64], edge[64], n = 0;
	double mi[64], mu[16], scratch[16], *P = prior_probs(m, m->prior_points, 0);
	double R = mix_tc(&m->schema, P, m->prior_points, NULL);

	lv_slot_offsets(&m->schema, off);
	for (int i = 0; i < r->nmeasured && n < 64; i++)
		if (r->ms[i].q.k == 2)
		{
			lv_clique_expect(&r->ms[i].q, P, m->prior_points, o, off, mu);
			mi[n] = lv_pair_mi(mu, r->ms[i].q.width[0], r->ms[i].q.width[1], NULL, scratch);
			a[n] = r->ms[i].q.cols[0], b[n++] = r->ms[i].q.cols[1];
		}
	lv_maxent_tree(a, b, mi, n, 3, edge);
	for (int i = 0; i < n; i++)
		R -= edge[i] ? mi[i] : 0;
	lv_free(P);
	return R;
}

/*
 * test_maxent_loop: the AIM loop with R (kappa_R 1, as lipvae_train runs
 * it) still fits the dependence of columns 0 and 2, and the term reaches
 * its fits (the mixture's R moves); a negative or NaN kappa_R, a positive one without a
 * mixture prior or without samples, is refused before any measurement.
 */
static void
test_maxent_loop(void **state)
{
	int n = 2000;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	double tvd[2], R[2];

	dependent_rows(T, n);
	for (int t = 0; t < 2; t++)
	{
		lv_model m;
		lv_aim_config c;
		lv_aim_result r;

		make_model(&m, 5);
		base_config(&c, 20);
		c.prior_points = 256;
		c.max_rounds = 3; /* short: valgrind runs it too */
		c.fit.maxent = t;
		c.fit.maxent_samples = 32;
		assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_OK);
		tvd[t] = pair_tvd(&m, T, n);
		R[t] = loop_r(&m, &r);
		lv_aim_result_free(&r);
		lv_model_free(&m);
	}
	print_message("maxent loop: pair TVD %.4f, R %.4f nats without R; %.4f, %.4f with\n",
				  tvd[0], R[0], tvd[1], R[1]);
	assert_true(tvd[1] < 0.02);
	/* the term reaches the loop's fits (test_maxent_fit checks what it removes) */
	assert_true(fabs(R[1] - R[0]) > 1e-4);
	for (int t = 0; t < 4; t++)
	{
		lv_model m;
		lv_aim_config c;
		lv_aim_result r;

		make_model(&m, 5);
		base_config(&c, 20);
		c.prior_points = t == 2 ? 0 : 256;
		c.fit.maxent = t == 0 ? -1 : t == 1 ? NAN
											: 1;
		c.fit.maxent_samples = t == 3 ? 0 : 32;
		assert_int_equal(lv_model_fit_aim(&m, T, n, &c, &r), LV_ERR_ARG);
		lv_model_free(&m);
	}
	lv_free(T);
}

/* mix_tc: the total correlation of the mixture of B rows of P over s (exact, by enumeration). */
static double
mix_tc(const lv_schema *s, const double *P, int B, double *i01)
{
	int o = lv_schema_output_dim(s), off[3], w[3], x[3];
	double H = 0, Hc = 0, H01 = 0, m01[64] = {0}, mu[64] = {0};

	lv_slot_offsets(s, off);
	for (int c = 0; c < 3; c++)
		w[c] = lv_column_out_width(&s->cols[c]);
	for (int k = 0; k < B * o; k++)
		mu[k % o] += P[k] / B;
	for (int q = 0; q < o; q++)
		Hc -= mu[q] > 0 ? mu[q] * log(mu[q]) : 0;
	for (x[0] = 0; x[0] < w[0]; x[0]++)
		for (x[1] = 0; x[1] < w[1]; x[1]++)
			for (x[2] = 0; x[2] < w[2]; x[2]++)
			{
				double p = 0;

				for (int k = 0; k < B; k++)
					p += P[k * o + off[0] + x[0]] * P[k * o + off[1] + x[1]] * P[k * o + off[2] + x[2]] / B;
				H -= p > 0 ? p * log(p) : 0;
				m01[x[0] * w[1] + x[1]] += p;
			}
	for (int q = 0; q < w[0] * w[1]; q++)
		H01 -= m01[q] > 0 ? m01[q] * log(m01[q]) : 0;
	if (i01) /* I(X_0; X_1) = H_0 + H_1 - H_01 */
	{
		*i01 = -H01;
		for (int q = 0; q < w[0] + w[1]; q++)
			*i01 -= mu[q] > 0 ? mu[q] * log(mu[q]) : 0;
	}
	return Hc - H;
}

/*
 * check_tc_grad compares the Monte Carlo gradient of TC (lv_maxent_tc_grad),
 * averaged over many draws, with central finite differences of the exact
 * TC along every pair of slots of every point's column (the direction that
 * stays on the simplex, all the heads' softmax sees), except point 0's
 * column 1 when that holds an exact zero. Returns the worst error; *big
 * gets the largest derivative.
 */
static double
check_tc_grad(const lv_schema *s, const double *P, int B, int zero, double *big)
{
	int o = lv_schema_output_dim(s), off[3], calls = 3000;
	double G[3 * 16] = {0}, worst = 0, h = 1e-5;
	lv_maxent me;
	lv_stream rng;

	lv_slot_offsets(s, off);
	lv_stream_init(&rng, (const uint8_t *) "0123456789abcdef0123456789abcdef", LV_DOMAIN_TRAIN, 6);
	assert_int_equal(lv_maxent_alloc(&me, B, o, 3, 64), LV_OK);
	for (int t = 0; t < calls; t++)
		lv_maxent_tc_grad(&me, s, P, 1.0 / calls, &rng, G);
	lv_maxent_free(&me);
	*big = 0;
	for (int k = 0; k < B; k++)
		for (int c = 0; c < 3; c++)
			for (int q = 1; q < lv_column_out_width(&s->cols[c]) && !(zero && k == 0 && c == 1); q++)
			{
				double Pp[3 * 16], Pm[3 * 16], fd;
				int a = k * o + off[c], b = a + q;

				memcpy(Pp, P, sizeof(double) * B * o);
				memcpy(Pm, P, sizeof(double) * B * o);
				Pp[a] += h, Pp[b] -= h, Pm[a] -= h, Pm[b] += h;
				fd = (mix_tc(s, Pp, B, NULL) - mix_tc(s, Pm, B, NULL)) / (2 * h);
				worst = fmax(worst, fabs(fd - (G[a] - G[b])));
				*big = fmax(*big, fabs(fd));
			}
	return worst;
}

/*
 * test_maxent_grad: the TC gradient on soft points, and with point 0
 * holding an exact zero in column 1 (a sampled row there makes point 0's
 * full product underflow: its leave-one-out weight for column 1 must come
 * from the fallback in lv_maxent_weights, not vanish).
 */
static void
test_maxent_grad(void **state)
{
	lv_schema s;
	int B = 3, o, off[3];
	double P[3 * 16], worst, big;
	lv_stream rng;

	set_schema(&s);
	o = lv_schema_output_dim(&s);
	lv_slot_offsets(&s, off);
	lv_stream_init(&rng, (const uint8_t *) "0123456789abcdef0123456789abcdef", LV_DOMAIN_TRAIN, 5);
	for (int k = 0; k < B; k++)
		for (int c = 0; c < 3; c++)
		{
			int wc = lv_column_out_width(&s.cols[c]);
			double sum = 0;

			for (int q = 0; q < wc; q++)
			{
				double u = lv_stream_uniform(&rng);

				sum += (P[k * o + off[c] + q] = 0.02 + u * u * u);
			}
			for (int q = 0; q < wc; q++)
				P[k * o + off[c] + q] /= sum;
		}
	worst = check_tc_grad(&s, P, B, 0, &big);
	print_message("maxent: TC %.4f nats, gradients up to %.3f, worst error %.4f\n",
				  mix_tc(&s, P, B, NULL), big, worst);
	assert_true(big > 0.2);
	assert_true(worst < 0.02 * big);
	/* point 0 never takes column 1's slot 0; the other points often do */
	{
		const double c1[3][3] = {{0, 0.1, 0.9}, {0.6, 0.3, 0.1}, {0.5, 0.1, 0.4}};

		for (int k = 0; k < B; k++)
			memcpy(P + k * o + off[1], c1[k], sizeof(c1[k]));
	}
	worst = check_tc_grad(&s, P, B, 1, &big);
	print_message("maxent, an exact zero: gradients up to %.3f, worst error %.4f\n", big, worst);
	assert_true(worst < 0.02 * big);
}

/* test_maxent_tree: a maximum spanning forest; a repeat, a cycle and a non-pair are never marked. */
static void
test_maxent_tree(void **state)
{
	int a[6] = {0, 1, 0, 2, 0, -1}, b[6] = {1, 2, 2, 3, 1, -1}, edge[6];
	double mi[6] = {1, 3, 2, 0.5, 5, 9}, mu[4] = {0.5, 0, 0, 0.5}, ind[4] = {0.25, 0.25, 0.25, 0.25};
	double D[4], scratch[4];
	int want[6] = {0, 1, 0, 1, 1, 0};

	lv_maxent_tree(a, b, mi, 6, 4, edge);
	for (int i = 0; i < 6; i++)
		assert_int_equal(edge[i], want[i]);
	/* a tie goes to the lower index */
	mi[0] = mi[4] = 6;
	lv_maxent_tree(a, b, mi, 6, 4, edge);
	assert_int_equal(edge[0], 1);
	assert_int_equal(edge[4], 0);
	assert_true(fabs(lv_pair_mi(mu, 2, 2, D, scratch) - log(2)) < 1e-12);
	assert_true(fabs(D[0] - log(2)) < 1e-12);
	assert_true(fabs(lv_pair_mi(ind, 2, 2, NULL, scratch)) < 1e-12);
}

/*
 * fit_toy_bad is fit_toy; with bad > 0 it breaks one setting (1: kappa_R
 * negative, 2: NaN, 3: infinite, 4: no mixture prior, 5: no samples, 6:
 * no row count, 7: an infinite noise sd) and checks that lv_genfit refuses.
 */
static void
fit_toy_bad(const int32_t *T, int n, double kr, double *r, double *tvd, int bad);

/*
 * fit_toy fits a decoder over set_schema's columns to the exact one-way
 * marginals of T and its (0, 1) table only, with kappa_R = kr: *r gets the
 * fitted mixture's R = TC - I(X_0; X_1) = I(X_2; X_0 X_1) (exact), *tvd
 * the largest TVD between a measured marginal and the model's.
 */
static void
fit_toy(const int32_t *T, int n, double kr, double *r, double *tvd)
{
	fit_toy_bad(T, n, kr, r, tvd, 0);
}

/* fit_toy_bad: above. */
static void
fit_toy_bad(const int32_t *T, int n, double kr, double *r, double *tvd, int bad)
{
	lv_model m;
	lv_genfit_config cfg;
	lv_measurement ms[4];
	int dec_w[4], off[3], cols01[2] = {0, 1}, o;
	double i01, *P, mu[16];
	lv_stream rinit;

	make_model(&m, 3);
	o = lv_schema_output_dim(&m.schema);
	m.latent = 4, m.hidden = 32, m.noise_sd = 1, m.prior_points = 256;
	dec_w[0] = 4, dec_w[1] = dec_w[2] = 32, dec_w[3] = o;
	assert_int_equal(lv_mlp_alloc(&m.dec, 3, dec_w), LV_OK);
	lv_stream_init(&rinit, m.key, LV_DOMAIN_TRAIN, 1);
	lv_mlp_init_xavier(&m.dec, &rinit);
	for (int i = 0; i < 4; i++)
	{
		memset(&ms[i], 0, sizeof(ms[i]));
		assert_int_equal(lv_clique_make(&m.schema, i < 3 ? 1 : 2, i < 3 ? &i : cols01, &ms[i].q), LV_OK);
		ms[i].y = lv_alloc(sizeof(double) * ms[i].q.cells);
		lv_clique_counts(&m.schema, &ms[i].q, T, n, ms[i].y);
		for (int j = 0; j < ms[i].q.cells; j++)
			ms[i].y[j] /= n;
		ms[i].sd = i < 3 ? 1 : 2; /* the pair: a quarter of the weight, the tree term as strong */
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.steps = 800, cfg.batch = 256, cfg.lr = 0.01, cfg.n_hat = n;
	cfg.maxent = kr, cfg.maxent_samples = 64;
	memset(cfg.key, 4, LV_KEY_BYTES);
	if (bad)
	{
		cfg.maxent = bad == 1 ? -1 : bad == 2 ? NAN
								 : bad == 3   ? INFINITY
											  : 1;
		m.prior_points = bad == 4 ? 0 : m.prior_points;
		cfg.maxent_samples = bad == 5 ? 0 : 64;
		cfg.n_hat = bad == 6 ? 0 : n;
		ms[1].sd = bad == 7 ? INFINITY : ms[1].sd;
		assert_int_equal(lv_genfit(&m, ms, 4, &cfg, NULL), LV_ERR_ARG);
		for (int i = 0; i < 4; i++)
			lv_free(ms[i].y);
		lv_model_free(&m);
		return;
	}
	assert_int_equal(lv_genfit(&m, ms, 4, &cfg, NULL), LV_OK);
	P = prior_probs(&m, 256, 0);
	*r = mix_tc(&m.schema, P, 256, &i01) - i01;
	lv_slot_offsets(&m.schema, off);
	*tvd = 0;
	for (int i = 0; i < 4; i++)
	{
		double t = 0;

		lv_clique_expect(&ms[i].q, P, 256, o, off, mu);
		for (int j = 0; j < ms[i].q.cells; j++)
			t += 0.5 * fabs(mu[j] - ms[i].y[j]);
		*tvd = fmax(*tvd, t);
		lv_free(ms[i].y);
	}
	lv_free(P);
	lv_model_free(&m);
}

/*
 * test_maxent_fit: fitted to the (0, 1) table and the one-way marginals
 * only, the mixture invents dependence of column 2 on the others (the
 * data has some, but nothing measured says so); with kappa_R it keeps the
 * measured table and leaves column 2 nearly independent, the maximum-
 * entropy choice. A negative kappa_R, or one without a mixture prior or
 * samples, is refused.
 */
static void
test_maxent_fit(void **state)
{
	int n = 2000;
	int32_t *T = lv_alloc(sizeof(int32_t) * 3 * n);
	double r0, r1, t0, t1;

	dependent_rows(T, n);
	fit_toy(T, n, 0, &r0, &t0);
	fit_toy(T, n, 30, &r1, &t1);
	print_message("maxent fit: R %.4f -> %.4f nats, worst measured TVD %.4f -> %.4f\n", r0, r1, t0, t1);
	assert_true(r0 > 0.02);
	assert_true(r1 < 0.2 * r0);
	assert_true(t1 < 0.04); /* the tree term scaled by wt, not 1/wt: 0.16 */
	for (int bad = 1; bad <= 7; bad++)
		fit_toy_bad(T, n, 30, &r1, &t1, bad);
	lv_free(T);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_clique_grad),
		cmocka_unit_test(test_heads_backward),
		cmocka_unit_test(test_workload_batches),
		cmocka_unit_test(test_workload_weighted),
		cmocka_unit_test(test_aim_budget_and_fit),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_error_bounds),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_mixture_prior),
		cmocka_unit_test(test_maxent_loop),
		cmocka_unit_test(test_uniform_ints),
		cmocka_unit_test(test_maxent_grad),
		cmocka_unit_test(test_maxent_tree),
		cmocka_unit_test(test_maxent_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
