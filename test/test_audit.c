/*
 * test_audit.c - unit tests of the canary membership-inference audit
 * (lv_audit.h): binomial tails and Clopper-Pearson bounds against published
 * values, the lower bound on epsilon, the threshold rule, the score, the
 * experiment's determinism and allocation hygiene, and the audit itself
 * (issue 5): DP-SGD at a claimed epsilon 1 must stay within it while the
 * same attack on the same trials without noise or clipping (the positive
 * control) must find an epsilon above 1, so that the audit can fail.
 *
 * The audit is small enough for CI (about 4 s on one core): 300 rows plus
 * the canary, 10 calibration and 40 evaluation trials per side and mode,
 * 20000 released rows per model. The control's margin was checked over
 * twelve base keys (eval/audit --calib 10 --trials 40 --eps 1, seeds 1-12:
 * control eps_lb 1.84 to 2.34, private eps_lb 0 in every case); the key
 * below is seed 1's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "lv_model.h"
#include "lv_dpsgd.h"
#include "lv_audit.h"

/* ---------- helpers ---------- */

/* Live allocations through the counting allocator. */
static long live_allocs;

/* count_alloc is a malloc that counts live blocks. */
static void *
count_alloc(size_t size, void *ctx)
{
	void *p = malloc(size ? size : 1);

	(void) ctx;
	if (p != NULL)
		live_allocs++;
	return p;
}

/* count_free is the matching free. */
static void
count_free(void *ptr, void *ctx)
{
	(void) ctx;
	if (ptr != NULL)
		live_allocs--;
	free(ptr);
}

static const lv_allocator counting = {count_alloc, count_free, NULL};

/* assert_rel checks |got - want| <= tol |want|. */
static void
assert_rel(double got, double want, double tol)
{
	if (!(fabs(got - want) <= tol * fabs(want)))
		fail_msg("got %.12g, want %.12g (relative tolerance %g)", got, want,
				 tol);
}

/*
 * ci_config returns the audit configuration of the CI test: claimed
 * epsilon 1 at delta 1e-5, the base key of eval/audit --seed 1.
 */
static lv_audit_config
ci_config(void)
{
	lv_audit_config cfg;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < LV_KEY_BYTES; i++)
		cfg.key[i] = (uint8_t) (131 + i);
	cfg.rows = 300;
	cfg.epsilon = 1.0;
	cfg.delta = 1e-5;
	cfg.control = LV_AUDIT_PRIVATE;
	cfg.calib_trials = 10;
	cfg.eval_trials = 40;
	cfg.release_rows = 20000;
	cfg.alpha = 0.05;
	cfg.match_cols = 1;
	cfg.train.epochs = 30;
	cfg.train.sample_rate = 64.0 / 300;
	cfg.train.clip = 1.0;
	cfg.train.latent = 4;
	cfg.train.hidden = 32;
	cfg.train.lr = 5e-3;
	cfg.train.ema = 0.0;
	return cfg;
}

/* ---------- (1) statistics ---------- */

/* Binomial CDF: closed forms and a value computed by hand. */
static void
test_binom_cdf(void **state)
{
	(void) state;
	/* P(X <= 0) = (1-p)^n, P(X <= n-1) = 1 - p^n */
	assert_rel(lv_binom_cdf(0, 10, 0.3), pow(0.7, 10), 1e-13);
	assert_rel(lv_binom_cdf(9, 10, 0.3), 1.0 - pow(0.3, 10), 1e-13);
	/* P(X <= 2), n = 5, p = 0.5: (1 + 5 + 10) / 32 */
	assert_rel(lv_binom_cdf(2, 5, 0.5), 0.5, 1e-13);
	/* P(X <= 3), n = 40, p = 0.1 (scipy.stats.binom.cdf) */
	assert_rel(lv_binom_cdf(3, 40, 0.1), 0.4231306530930026, 1e-12);
	assert_true(lv_binom_cdf(-1, 10, 0.3) == 0.0);
	assert_true(lv_binom_cdf(10, 10, 0.3) == 1.0);
	assert_true(lv_binom_cdf(3, 10, 0.0) == 1.0);
	assert_true(lv_binom_cdf(3, 10, 1.0) == 0.0);
	assert_true(isnan(lv_binom_cdf(3, 10, 1.5)));
	assert_true(isnan(lv_binom_cdf(3, -1, 0.5)));
	assert_true(isnan(lv_binom_cdf(3, 10, NAN)));
}

/*
 * Clopper-Pearson: the published two-sided 95% intervals of 5/10
 * (0.187086, 0.812914) and 1/10 (0.002529, 0.445016), the closed forms at
 * k = 0 and k = n, the rounding direction, and bad arguments.
 */
static void
test_clopper_pearson(void **state)
{
	int n;

	(void) state;
	assert_rel(lv_cp_lower(5, 10, 0.025), 0.18708602844739, 1e-9);
	assert_rel(lv_cp_upper(5, 10, 0.025), 0.81291397155261, 1e-9);
	assert_rel(lv_cp_lower(1, 10, 0.025), 0.0025285785444618, 1e-9);
	assert_rel(lv_cp_upper(1, 10, 0.025), 0.4450161170282, 1e-9);
	for (n = 1; n <= 100; n += 33)
	{
		double lo = lv_cp_lower(n, n, 0.025),
			   hi = lv_cp_upper(0, n, 0.025);

		assert_rel(lo, pow(0.025, 1.0 / n), 1e-12);
		assert_rel(hi, 1.0 - pow(0.025, 1.0 / n), 1e-10);
		/* rounded outwards: the tails at the bounds stay <= a (up to
		 * the rounding of pow) */
		assert_true(pow(lo, n) <= 0.025 * (1 + 1e-13));
		assert_true(lv_binom_cdf(0, n, hi) <= 0.025);
	}
	assert_true(lv_cp_lower(0, 10, 0.025) == 0.0);
	assert_true(lv_cp_upper(10, 10, 0.025) == 1.0);
	assert_true(isnan(lv_cp_lower(11, 10, 0.025)));
	assert_true(isnan(lv_cp_upper(-1, 10, 0.025)));
	assert_true(isnan(lv_cp_lower(1, 0, 0.025)));
	assert_true(isnan(lv_cp_upper(1, 10, 0.0)));
	assert_true(isnan(lv_cp_upper(1, 10, 1.0)));
}

/*
 * eps_lb: perfect separation of 40 + 40 trials gives log(a^(1/40) /
 * (1 - a^(1/40))) with a = 0.025; equal rates give 0; the second branch
 * (few false negatives) works alone; bad arguments give NaN.
 */
static void
test_eps_lb(void **state)
{
	double r = pow(0.025, 1.0 / 40),
		   tl,
		   fh,
		   e;

	(void) state;
	e = lv_audit_eps_lb(40, 40, 0, 40, 0.0, 0.05, &tl, &fh);
	assert_rel(tl, r, 1e-12);
	assert_rel(fh, 1.0 - r, 1e-10);
	assert_rel(e, log(r / (1.0 - r)), 1e-9);
	/* delta lowers it */
	assert_true(lv_audit_eps_lb(40, 40, 0, 40, 0.01, 0.05, NULL, NULL) < e);
	assert_true(lv_audit_eps_lb(20, 40, 20, 40, 1e-5, 0.05, NULL, NULL) ==
				0.0);
	assert_true(lv_audit_eps_lb(0, 40, 40, 40, 1e-5, 0.05, NULL, NULL) ==
				0.0);
	/* many positives everywhere: only 1 - FPR <= e^eps (1 - TPR) + delta */
	e = lv_audit_eps_lb(40, 40, 20, 40, 0.0, 0.05, &tl, &fh);
	assert_rel(e, log((1.0 - fh) / (1.0 - tl)), 1e-9);
	assert_true(e > 0.0 && log(tl / fh) < e);
	assert_true(isnan(lv_audit_eps_lb(41, 40, 0, 40, 1e-5, 0.05, NULL,
									  NULL)));
	assert_true(isnan(lv_audit_eps_lb(1, 40, 0, 40, -1.0, 0.05, NULL,
									  NULL)));
	assert_true(isnan(lv_audit_eps_lb(1, 40, 0, 40, 1e-5, 0.0, NULL,
									  NULL)));
}

/* The threshold separates separable scores and is a midpoint. */
static void
test_threshold(void **state)
{
	const double in[5] = {9, 12, 30, 8, 15},
				 out[5] = {1, 0, 3, 2, 2},
				 same[5] = {4, 4, 4, 4, 4},
				 mixed_in[6] = {5, 6, 7, 1, 8, 9},
				 mixed_out[6] = {0, 1, 2, 3, 1, 0};
	double e,
		t;

	(void) state;
	t = lv_audit_threshold(in, 5, out, 5, 1e-5, 0.05, &e);
	assert_true(t == 5.5);
	assert_rel(e, lv_audit_eps_lb(5, 5, 0, 5, 1e-5, 0.05, NULL, NULL),
			   1e-15);
	/* no information: a threshold that flags nothing, eps 0 */
	t = lv_audit_threshold(same, 5, same, 5, 1e-5, 0.05, &e);
	assert_true(e == 0.0);
	assert_true(t >= 4.0);
	/* one member below the non-members' top: 4 (5/6 flagged, 0/6) */
	t = lv_audit_threshold(mixed_in, 6, mixed_out, 6, 1e-5, 0.05, &e);
	assert_true(t == 4.0);
	assert_true(isnan(lv_audit_threshold(in, 0, out, 5, 1e-5, 0.05, NULL)));
}

/* ---------- (2) table, score, trial ---------- */

/*
 * The table: the canary's category of column a is used by no row of D, the
 * columns follow each other; the score counts exact matches on the first
 * match_cols columns, NULLs never matching a non-NULL cell.
 */
static void
test_table_and_score(void **state)
{
	uint8_t key[LV_KEY_BYTES] = {1, 2, 3};
	lv_schema s;
	lv_cell cells[600 * LV_AUDIT_NCOLS],
		canary[LV_AUDIT_NCOLS],
		rows[4 * LV_AUDIT_NCOLS];
	int i,
		same = 0,
		count0 = 0;

	(void) state;
	assert_int_equal(lv_audit_table(key, 600, &s, cells, canary), LV_OK);
	assert_int_equal(s.ncols, LV_AUDIT_NCOLS);
	assert_int_equal(canary[0].cat, 3);
	for (i = 0; i < 600; i++)
	{
		const lv_cell *r = cells + i * LV_AUDIT_NCOLS;

		assert_true(r[0].cat >= 0 && r[0].cat <= 2);
		assert_true(r[1].cat >= 0 && r[1].cat <= 2);
		assert_true(r[2].cat >= 0 && r[2].cat <= 2);
		same += r[0].cat == r[1].cat && r[1].cat == r[2].cat;
		count0 += r[0].cat == 0;
	}
	assert_true(same > 450);                   /* about 0.93^2 */
	assert_true(count0 > 240 && count0 < 360); /* about 0.5 */

	memset(rows, 0, sizeof(rows));
	memcpy(rows, canary, sizeof(canary));     /* exact */
	memcpy(rows + 3, canary, sizeof(canary)); /* last cell differs */
	rows[3 + 2].cat = canary[2].cat == 0 ? 1 : 0;
	memcpy(rows + 6, canary, sizeof(canary)); /* NULL in column b */
	rows[6 + 1].isnull = 1;
	rows[9].cat = 0; /* nothing in common */
	assert_int_equal(lv_audit_score(&s, rows, 4, canary, 0), 1);
	assert_int_equal(lv_audit_score(&s, rows, 4, canary, 2), 2);
	assert_int_equal(lv_audit_score(&s, rows, 4, canary, 1), 3);
	lv_free(s.cols);
}

/*
 * A trial is a fixed function of its key and index, other indices give
 * other models; the whole audit leaves no allocation behind.
 */
static void
test_trial_determinism_and_memory(void **state)
{
	lv_audit_config cfg = ci_config();
	uint8_t key[LV_KEY_BYTES];
	lv_schema s;
	lv_cell cells[51 * LV_AUDIT_NCOLS];
	float X[51 * 16];
	int32_t T[51 * LV_AUDIT_NCOLS];
	double a,
		b,
		c;
	lv_audit_result res;
	int i,
		d;

	(void) state;
	memset(key, 7, sizeof(key));
	cfg.rows = 50;
	cfg.train.epochs = 2;
	cfg.train.sample_rate = 0.5;
	cfg.release_rows = 1500;
	cfg.match_cols = 0;
	assert_int_equal(lv_audit_table(key, 50, &s, cells, cells + 50 * 3),
					 LV_OK);
	d = lv_schema_input_dim(&s);
	assert_true(d <= 16);
	for (i = 0; i < 51; i++)
		lv_encode_row(&s, cells + i * 3, X + i * d, T + i * 3);
	assert_int_equal(lv_audit_trial(&cfg, &s, X, T, cells + 150, 2.0, NULL, 0,
									1, 4, &a),
					 LV_OK);
	assert_int_equal(lv_audit_trial(&cfg, &s, X, T, cells + 150, 2.0, NULL, 0,
									1, 4, &b),
					 LV_OK);
	assert_true(a == b);
	assert_int_equal(lv_audit_trial(&cfg, &s, X, T, cells + 150, 2.0, NULL, 0,
									1, 5, &c),
					 LV_OK);
	print_message("scores of trial 4 (twice) and 5: %g %g %g\n", a, b, c);
	lv_free(s.cols);

	lv_set_allocator(&counting);
	live_allocs = 0;
	cfg.calib_trials = 2;
	cfg.eval_trials = 2;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_OK);
	assert_int_equal(live_allocs, 0);
	lv_set_allocator(NULL);
}

/* Bad configurations are refused before any training. */
static void
test_bad_config(void **state)
{
	lv_audit_config cfg;
	lv_audit_result res;

	(void) state;
	cfg = ci_config();
	cfg.epsilon = 0.0;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_ERR_ARG);
	cfg = ci_config();
	cfg.epsilon = INFINITY;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_ERR_ARG);
	cfg = ci_config();
	cfg.delta = 1.0;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_ERR_ARG);
	cfg = ci_config();
	cfg.eval_trials = 0;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_ERR_ARG);
	cfg = ci_config();
	cfg.control = 3;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_ERR_ARG);
	cfg = ci_config();
	cfg.train.sample_rate = 0.0;
	assert_int_equal(lv_audit_run(&cfg, &res, NULL, NULL), LV_ERR_ARG);
	assert_int_equal(lv_audit_run(NULL, &res, NULL, NULL), LV_ERR_ARG);
}

/* ---------- (3) the audit ---------- */

/* print_result prints one audit's figures. */
static void
print_result(const char *label, const lv_audit_config *cfg,
			 const lv_audit_result *r)
{
	print_message("%s: sigma %.4f, steps %ld, threshold %.1f (calibration "
				  "eps_lb %.3f), mean score %.2f with / %.2f without, "
				  "TP %d/%d, FP %d/%d, TPR_lo %.4f, FPR_hi %.4f, "
				  "eps_lb %.3f (claimed %g)\n",
				  label, r->sigma, (long) r->steps, r->threshold, r->eps_cal,
				  r->mean_in, r->mean_out, r->tp, cfg->eval_trials, r->fp,
				  cfg->eval_trials, r->tpr_lo, r->fpr_hi, r->eps_lb,
				  cfg->epsilon);
}

/*
 * The positive control: without noise or clipping the attack must find an
 * epsilon above the claimed 1 (else the audit below proves nothing).
 */
static void
test_audit_positive_control(void **state)
{
	lv_audit_config cfg = ci_config();
	lv_audit_result r;

	(void) state;
	cfg.control = LV_AUDIT_CONTROL;
	assert_int_equal(lv_audit_run(&cfg, &r, NULL, NULL), LV_OK);
	print_result("positive control (sigma 0, no clipping)", &cfg, &r);
	assert_true(r.sigma == 0.0);
	assert_true(r.eps_lb > cfg.epsilon);
}

/* DP-SGD at the claimed epsilon 1: the lower bound must not exceed it. */
static void
test_audit_private(void **state)
{
	lv_audit_config cfg = ci_config();
	lv_audit_result r;

	(void) state;
	assert_int_equal(lv_audit_run(&cfg, &r, NULL, NULL), LV_OK);
	print_result("DP-SGD at epsilon 1", &cfg, &r);
	assert_true(r.sigma > 1.0);
	assert_true(r.eps_accounted <= cfg.epsilon);
	assert_true(r.eps_lb <= cfg.epsilon);
}

/*
 * lipvae's central default: DP-SGD plus the one-way and tree corrections
 * (half the budget, split 10% / 10% / 80% as src/train.c does). The
 * canary's category of column a reaches the one-way and pair counts, so
 * without noise the correction itself gives it away (the control must
 * exceed the claim); with the accounted noise the bound must stay within
 * epsilon 1, and the parts must compose to at most the claim.
 */
static void
test_audit_central_default(void **state)
{
	lv_audit_config cfg = ci_config();
	lv_audit_result r;

	(void) state;
	cfg.marginals_share = 0.5;
	cfg.tree = 1;
	cfg.one_way_share = 0.1;
	cfg.select_share = 0.1;
	assert_int_equal(lv_audit_run(&cfg, &r, NULL, NULL), LV_OK);
	print_result("DP-SGD and the tree correction at epsilon 1", &cfg, &r);
	assert_true(r.mu_marginals > 0.0 && r.one_way_sd > 0.0 && r.pairs_sd > 0.0 &&
				r.eps_round > 0.0);
	assert_true(r.eps_accounted <= cfg.epsilon * (1 + 1e-9));
	assert_true(r.eps_accounted > 0.99 * cfg.epsilon);
	assert_true(r.eps_lb <= cfg.epsilon);

	cfg.control = LV_AUDIT_CONTROL;
	assert_int_equal(lv_audit_run(&cfg, &r, NULL, NULL), LV_OK);
	print_result("its positive control (no noise anywhere)", &cfg, &r);
	assert_true(r.eps_lb > cfg.epsilon);
}

/* main runs the tests. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binom_cdf),
		cmocka_unit_test(test_clopper_pearson),
		cmocka_unit_test(test_eps_lb),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_table_and_score),
		cmocka_unit_test(test_trial_determinism_and_memory),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_audit_positive_control),
		cmocka_unit_test(test_audit_private),
		cmocka_unit_test(test_audit_central_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
