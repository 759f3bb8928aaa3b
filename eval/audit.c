/*
 * audit.c - the larger canary membership-inference audit of lipvae's
 * central mechanism (lv_audit.h; the CI version is test/test_audit.c).
 * It runs the positive control once (the same attack, trials and
 * hyperparameters, trained without noise or clipping), the clipped control
 * (no noise, clip kept) and then, for every claimed epsilon, the private
 * audit (DP-SGD with the noise of (epsilon, delta)), and prints one
 * markdown table row each. Built and run by eval/audit.sh.
 *
 *   audit [--eps 0.5,1,2,4] [--delta 1e-5] [--rows 300] [--batch 64]
 *         [--epochs 30] [--hidden 32] [--latent 4] [--lr 0.005]
 *         [--ema 0] [--clip 1] [--release 20000] [--match 1]
 *         [--calib 30] [--trials 300] [--alpha 0.05] [--seed 1]
 *         [--no-clipped] [--scores] [--marginals-share 0.5 [--tree]]
 *
 * The defaults are the CI test's setting with more trials. --match k
 * scores rows equal to the canary on the first k columns (0: all);
 * --no-clipped skips the second control (sigma 0 with the clip kept);
 * --scores prints every evaluation trial's score; --marginals-share s adds
 * the one-way marginal correction of lipvae's central mode on that share of
 * the budget, --tree the tree of pair marginals too (split 10% / 10% / 80%
 * as src/train.c does): together, lipvae's central default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "lv_model.h"
#include "lv_dpsgd.h"
#include "lv_audit.h"

#define MAX_EPS 16

/* usage prints the options and exits with status 2. */
static void
usage(void)
{
	fprintf(stderr,
			"usage: audit [--eps LIST] [--delta D] [--rows N] [--batch B]\n"
			"             [--epochs E] [--hidden H] [--latent K] [--lr LR]\n"
			"             [--ema E] [--clip C] [--release N] [--match K]\n"
			"             [--calib T] [--trials T] [--alpha A] [--seed S]\n"
			"             [--no-clipped] [--scores]\n");
	exit(2);
}

/* now_sec returns a monotonic time in seconds. */
static double
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* print_scores prints one side's evaluation scores on one line. */
static void
print_scores(const char *label, const double *sc, int n)
{
	int i;

	printf("  %s:", label);
	for (i = 0; i < n; i++)
		printf(" %g", sc[i]);
	printf("\n");
}

/*
 * run_one runs one audit (mode LV_AUDIT_*; eps is the claimed epsilon of
 * the private mode), prints its table row and returns its eps_lb, or NaN
 * on error. ctl_lb is the control's eps_lb for the private rows' last
 * column (NaN for the control rows).
 */
static double
run_one(lv_audit_config *cfg, int mode, double eps, double ctl_lb,
		int show_scores)
{
	static const char *names[] = {"private", "control", "ctl clip"};
	lv_audit_result r;
	double *in = malloc(sizeof(double) * cfg->eval_trials),
		   *out = malloc(sizeof(double) * cfg->eval_trials),
		   t0 = now_sec();
	char claim[32],
		clip[32],
		verdict[32];
	int rc;

	if (in == NULL || out == NULL)
	{
		fprintf(stderr, "out of memory\n");
		free(in);
		free(out);
		return NAN;
	}
	cfg->epsilon = eps;
	cfg->control = mode;
	rc = lv_audit_run(cfg, &r, in, out);
	if (rc != LV_OK)
	{
		fprintf(stderr, "audit failed: %s\n", lv_strerror(rc));
		free(in);
		free(out);
		return NAN;
	}
	if (mode == LV_AUDIT_PRIVATE)
	{
		snprintf(claim, sizeof(claim), "%g", eps);
		snprintf(verdict, sizeof(verdict), "%s / %s",
				 r.eps_lb <= eps ? "pass" : "FAIL",
				 ctl_lb > eps ? "yes" : "NO");
	}
	else
	{
		snprintf(claim, sizeof(claim), "none");
		snprintf(verdict, sizeof(verdict), "-");
	}
	snprintf(clip, sizeof(clip), "%g",
			 mode == LV_AUDIT_CONTROL ? 1e6 : cfg->train.clip);
	printf("| %-8s | %5s | %7.4f | %5s | %6.2f | %8.2f | %8.2f | %3d/%-3d "
		   "| %3d/%-3d | %6.4f | %6.4f | %6.3f | %-9s | %5.1f |\n",
		   names[mode], claim, r.sigma, clip, r.threshold, r.mean_in,
		   r.mean_out, r.tp, cfg->eval_trials, r.fp, cfg->eval_trials,
		   r.tpr_lo, r.fpr_hi, r.eps_lb, verdict, now_sec() - t0);
	if (show_scores)
	{
		print_scores("with canary", in, cfg->eval_trials);
		print_scores("without", out, cfg->eval_trials);
	}
	fflush(stdout);
	free(in);
	free(out);
	return r.eps_lb;
}

/* main parses the options and runs the audits. */
int
main(int argc, char **argv)
{
	lv_audit_config cfg;
	double eps[MAX_EPS] = {0.5, 1, 2, 4},
		   ctl;
	int neps = 4,
		batch = 64,
		seed = 1,
		no_clipped = 0,
		fails = 0,
		weak = 0,
		show = 0,
		bad = 0,
		i,
		e;

	memset(&cfg, 0, sizeof(cfg));
	cfg.rows = 300;
	cfg.delta = 1e-5;
	cfg.calib_trials = 30;
	cfg.eval_trials = 300;
	cfg.release_rows = 20000;
	cfg.match_cols = 1;
	cfg.alpha = 0.05;
	cfg.train.epochs = 30;
	cfg.train.clip = 1.0;
	cfg.train.latent = 4;
	cfg.train.hidden = 32;
	cfg.train.lr = 5e-3;
	cfg.train.ema = 0.0;
	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i],
				   *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--tree") == 0)
		{
			cfg.tree = 1;
			cfg.one_way_share = 0.1;
			cfg.select_share = 0.1;
			continue;
		}
		if (strcmp(a, "--scores") == 0 || strcmp(a, "--no-clipped") == 0)
		{
			*(a[2] == 's' ? &show : &no_clipped) = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--eps") == 0)
		{
			char *p = (char *) v,
				 *end;

			for (neps = 0; neps < MAX_EPS && *p;)
			{
				eps[neps++] = strtod(p, &end);
				if (end == p)
					usage();
				p = *end == ',' ? end + 1 : end;
			}
		}
		else if (strcmp(a, "--delta") == 0)
			cfg.delta = atof(v);
		else if (strcmp(a, "--rows") == 0)
			cfg.rows = atoi(v);
		else if (strcmp(a, "--calib") == 0)
			cfg.calib_trials = atoi(v);
		else if (strcmp(a, "--trials") == 0)
			cfg.eval_trials = atoi(v);
		else if (strcmp(a, "--release") == 0)
			cfg.release_rows = atoi(v);
		else if (strcmp(a, "--epochs") == 0)
			cfg.train.epochs = atoi(v);
		else if (strcmp(a, "--batch") == 0)
			batch = atoi(v);
		else if (strcmp(a, "--hidden") == 0)
			cfg.train.hidden = atoi(v);
		else if (strcmp(a, "--latent") == 0)
			cfg.train.latent = atoi(v);
		else if (strcmp(a, "--lr") == 0)
			cfg.train.lr = atof(v);
		else if (strcmp(a, "--ema") == 0)
			cfg.train.ema = atof(v);
		else if (strcmp(a, "--clip") == 0)
			cfg.train.clip = atof(v);
		else if (strcmp(a, "--match") == 0)
			cfg.match_cols = atoi(v);
		else if (strcmp(a, "--alpha") == 0)
			cfg.alpha = atof(v);
		else if (strcmp(a, "--seed") == 0)
			seed = atoi(v);
		else if (strcmp(a, "--marginals-share") == 0)
			cfg.marginals_share = atof(v);
		else
			usage();
	}
	if (cfg.rows < 1 || batch < 1 || cfg.eval_trials < 1)
		usage();
	cfg.train.sample_rate = fmin(1.0, (double) batch / cfg.rows);
	for (i = 0; i < LV_KEY_BYTES; i++)
		cfg.key[i] = (uint8_t) (seed * 131 + i);

	printf("canary audit: rows %d (+ canary), batch %d (q %.4f), epochs %d, "
		   "steps %ld, hidden %d, latent %d, lr %g, release %d rows, "
		   "calibration %d + evaluation %d trials per side, delta %g, "
		   "confidence %g, seed %d\n\n",
		   cfg.rows, batch, cfg.train.sample_rate, cfg.train.epochs,
		   (long) lv_dpsgd_steps(cfg.train.epochs, cfg.train.sample_rate),
		   cfg.train.hidden, cfg.train.latent, cfg.train.lr, cfg.release_rows,
		   cfg.calib_trials, cfg.eval_trials, cfg.delta, 1 - cfg.alpha, seed);
	if (cfg.marginals_share > 0)
		printf("marginal correction: %g of the budget, %s\n\n", cfg.marginals_share,
			   cfg.tree ? "one-way and the tree of pair marginals (10% / 10% / 80% of mu^2)"
					   : "one-way only");
	printf("| model    | eps   | sigma   | clip  | thresh | mean in  | mean out "
		   "| TP      | FP      | TPR lo | FPR hi | eps lb | ok / ctl  | secs  |\n"
		   "|----------|-------|---------|-------|--------|----------|----------"
		   "|---------|---------|--------|--------|--------|-----------|-------|\n");
	ctl = run_one(&cfg, LV_AUDIT_CONTROL, eps[0], NAN, show);
	bad |= isnan(ctl);
	if (!no_clipped)
		bad |= isnan(run_one(&cfg, LV_AUDIT_CONTROL_CLIPPED, eps[0], NAN,
							 show));
	for (e = 0; e < neps; e++)
	{
		double lb = run_one(&cfg, LV_AUDIT_PRIVATE, eps[e], ctl, show);

		bad |= isnan(lb);
		if (!isnan(lb) && lb > eps[e])
			fails++;
		if (!(ctl > eps[e]))
			weak++;
	}
	printf("\nScore: released rows equal to the canary on the first %d "
		   "column(s) (0: all); member when score > thresh (chosen on the "
		   "calibration trials). eps lb: max(0, log((TPR_lo - delta) / "
		   "FPR_hi), log((1 - FPR_hi - delta) / (1 - TPR_lo))), "
		   "Clopper-Pearson at %g each. ok / ctl: private eps lb <= eps, "
		   "and control eps lb > eps (the audit could have failed).\n\n"
		   "private eps lb above the claim: %d of %d; claims the control "
		   "cannot refute (control eps lb %.3f <= eps): %d of %d\n",
		   cfg.match_cols, cfg.alpha / 2, fails, neps, ctl, weak, neps);
	return bad;
}
