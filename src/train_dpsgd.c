/*
 * train_dpsgd.c - the fit stage of the DP-SGD mechanisms (central, central+latent,
 * latent) and of non-private models: calibration, training, the accounting.
 */
#include "postgres.h"

#include <math.h>

#include "train.h"
#include "lv_accountant.h"
#include "lv_dpsgd.h"
#include "lv_marginals.h"
#include "lv_tree.h"
#include "lv_privacy.h"

/*
 * train_plain trains without DP-SGD: the per-record latent mechanism
 * (calibrated so that the row of the last pass meets the target) or the
 * non-private model.
 */
void
train_plain(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
			const int32 *T, int64 n, double diameter, const uint8 *tkey,
			lv_train_result *res)
{
	lv_train_config cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = o->epochs > 0 ? o->epochs : Min(1000, Max(5, (int) ceil(3000.0 * o->batch / (double) n)));
	cfg.batch = o->batch;
	cfg.latent = o->latent;
	cfg.hidden = o->hidden;
	cfg.lr = o->lr;
	cfg.decoder_layer_bound = 4.0;
	cfg.interrupted = interrupt_pending;
	cfg.interrupted_arg = NULL;
	memcpy(cfg.train_key, tkey, LV_KEY_BYTES);
	pp->epochs = cfg.epochs;
	if (o->mechanism == LV_MECH_LATENT)
	{
		double mu_total = lv_gdp_mu(o->epsilon - pp->eps_pre, o->delta - pp->delta_pre);

		if (!(mu_total > 0))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot calibrate the mechanism for epsilon %g and delta %g",
								   o->epsilon - pp->eps_pre, o->delta - pp->delta_pre)));
		/* mu of one pass, lowered a hair so rounding never overshoots */
		cfg.lipschitz_target = mu_total / sqrt((double) o->passes) / diameter * (1 - 1e-9);
	}
	else
		cfg.lipschitz_target = 0;

	rc = lv_model_train(m, X, T, n, &cfg, res);
	lipvae_core_error(rc, "training");

	if (o->mechanism == LV_MECH_LATENT)
	{
		if (!(m->lipschitz_certified <= cfg.lipschitz_target))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("certified Lipschitz bound %g exceeds the target %g",
								   m->lipschitz_certified, cfg.lipschitz_target)));
		m->mu1 = lv_round_up(m->lipschitz_certified * diameter / m->noise_sd);
		pp->mu1 = m->mu1;
		pp->delta_total = o->delta;
		pp->eps_total = pass_epsilon(pp, o->passes);
		pp->eps_release = pp->eps_total;
		pp->delta_release = o->delta - pp->delta_pre;
		pp->eps_ledger = pp->eps_total;
		pp->delta_ledger = pp->delta_total;
	}
	else
	{
		m->mu1 = 0;
		pp->eps_total = INFINITY;
	}
}

/*
 * calibrate_dpsgd fixes DP-SGD's sampling rate, steps and noise multiplier
 * for its share of (eps_avail, delta_avail), and the marginals' mu from
 * what it leaves.
 */
static void
calibrate_dpsgd(TrainOptions *o, PrivacyPlan *pp, const lv_model *m, int64 n,
				double eps_avail, double delta_avail)
{
	bool composed = o->mechanism == LV_MECH_COMPOSED;
	int relation = composed ? LV_REL_REPLACE_ONE : LV_REL_ADD_REMOVE;
	double eps_sgd_target;

	if (!(eps_avail > 0.0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("preprocessing leaves no budget for training"),
						errdetail("Bounds, category lists and the row count spent epsilon %g of %g.",
								  pp->eps_pre, o->epsilon),
						errhint("Give public bounds => and categories =>, or lower preprocess_share.")));
	pp->epochs = o->epochs > 0 ? o->epochs : LIPVAE_CENTRAL_EPOCHS;
	if (composed)
		pp->q = Min(1.0, (double) o->batch / (double) n);
	else
		pp->q = Min(1.0, (double) o->batch / pp->n_hat);
	/* units are sampled: the expected number of rows stays about batch */
	pp->steps = lv_dpsgd_steps(pp->epochs, pp->q);
	if (pp->steps < 1)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("too many DP-SGD steps for %d epochs at batch size %d", pp->epochs, o->batch),
						errhint("Use fewer epochs or a larger batch_size.")));
	eps_sgd_target = composed ? o->central_share * eps_avail : (1 - o->marginals_share) * eps_avail;
	pp->delta_sgd = delta_avail;
	pp->sigma = lv_dpsgd_sigma(pp->q, pp->steps, eps_sgd_target, delta_avail, relation);
	if (!(pp->sigma > 0) || !isfinite(pp->sigma))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot calibrate DP-SGD for epsilon %g and delta %g", eps_sgd_target, delta_avail),
						errdetail("No noise multiplier up to 1e6 reaches it with %d epochs at sampling rate %g.",
								  pp->epochs, pp->q),
						errhint("Raise epsilon or delta, or train fewer epochs.")));
	pp->clip = o->clip;
	pp->normalizer = pp->q * (composed ? (double) n : pp->n_hat);

	if (o->marginals_share > 0)
	{
		/* the marginals get what DP-SGD leaves, composed in RDP */
		double lo = lv_dpsgd_gaussian_mu(pp->q, pp->sigma, pp->steps, LV_REL_ADD_REMOVE,
										 eps_avail, delta_avail);

		pp->mu_marginals = lo;
		if (!(lo > 0))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot calibrate the marginal correction for epsilon %g", eps_avail),
							errhint("Lower marginals_share, or set it to 0.")));
		plan_marginals(o, pp, m->schema.ncols);
	}
}

/* composed_target calibrates the per-record release: its GDP mu and the Lipschitz target. */
static double
composed_target(TrainOptions *o, PrivacyPlan *pp, double eps_avail, double delta_avail,
				double diameter)
{
	pp->delta_rest = delta_avail;
	pp->mu1 = composed_mu1(pp, o->passes, eps_avail, delta_avail);
	if (!(pp->mu1 > 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot calibrate the per-record release for epsilon %g", eps_avail),
						errhint("Lower central_share or raise epsilon.")));
	return pp->mu1 / diameter * (1 - 1e-9); /* posterior sd 1 */
}

/* dpsgd_config sets the core's DP-SGD configuration from the plan. */
static void
dpsgd_config(const TrainOptions *o, const PrivacyPlan *pp, const int64 *unit_start,
			 int64 nunits, double target, const uint8 *tkey, lv_dpsgd_config *cfg)
{
	bool composed = o->mechanism == LV_MECH_COMPOSED;

	memset(cfg, 0, sizeof(*cfg));
	cfg->epochs = pp->epochs;
	cfg->sample_rate = pp->q;
	cfg->clip = o->clip;
	cfg->noise_multiplier = pp->sigma;
	cfg->latent = o->latent;
	cfg->hidden = o->hidden;
	cfg->lr = o->lr;
	cfg->ema = o->ema;
	cfg->encoder_layer_bound = composed ? cbrt(target) * (1 - 1e-6) : o->layer_bound;
	if (composed && o->layer_bound > 0)
		cfg->encoder_layer_bound = Min(cfg->encoder_layer_bound, o->layer_bound);
	cfg->decoder_layer_bound = o->layer_bound;
	memcpy(cfg->train_key, tkey, LV_KEY_BYTES);
	cfg->interrupted = interrupt_pending;
	cfg->interrupted_arg = NULL;
	cfg->unit_start = unit_start;
	cfg->nunits = nunits;
	cfg->normalizer = pp->normalizer;
	cfg->max_unit_rows = o->unit ? o->unit_rows : 0;
	cfg->clip_mode = o->clip_mode ? LV_CLIP_DERIVED : LV_CLIP_NORM;
}

/* finish_composed certifies the encoder and fixes the per-record guarantee. */
static void
finish_composed(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X, int64 n,
				double target, double diameter, double delta_avail)
{
	int rc;

	m->lipschitz_target = target;
	rc = lv_model_attach_means(m, X, n, interrupt_pending, NULL);
	lipvae_core_error(rc, "computing the encoder means");
	if (!(m->lipschitz_certified <= target))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("certified Lipschitz bound %g exceeds the target %g",
							   m->lipschitz_certified, target)));
	m->mu1 = lv_round_up(m->lipschitz_certified * diameter / m->noise_sd);
	pp->mu1 = m->mu1;
	pp->delta_total = o->delta;
	pp->eps_total = pass_epsilon(pp, o->passes);
	pp->eps_release = lipvae_pass_epsilon(0, delta_avail, 0, pp->mu1, o->passes);
	pp->delta_release = delta_avail;
	pp->eps_ledger = pp->eps_total;
	pp->delta_ledger = pp->delta_total;
}

/* fit_correction measures the noisy one-way marginals (and the tree) and fits the decoder to them. */
static void
fit_correction(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const int32 *T, int64 n,
			   const uint8 *tkey)
{
	/* noisy one-way marginals, then the decoder's output biases */
	int w = lv_marginal_width(&m->schema);
	double *counts = palloc(sizeof(double) * w);
	lv_stream ns;
	int rc;

	lipvae_check_noise(pp->marginals_sd, "the one-way marginals");
	if (pp->tree_rounds > 0)
		lipvae_check_noise(pp->pairs_sd, "the tree's pair marginals");
	lv_marginal_counts(&m->schema, T, n, counts);
	lv_stream_init(&ns, tkey, LV_DOMAIN_TRAIN, LV_MARGINALS_STREAM + 1);
	lipvae_core_error(lv_marginal_noise(counts, w, pp->marginals_sd, &ns), "noising the one-way marginals");
	rc = lv_model_fit_marginals(m, counts, LIPVAE_MARGINAL_DRAWS, 30, tkey);
	lipvae_core_error(rc, "fitting the marginals");
	pfree(counts);
	if (pp->tree_rounds > 0)
	{
		/* the pairs the decoder gets most wrong, measured and fitted */
		rc = lv_model_fit_tree(m, T, n, pp->n_hat, pp->tree_eps_round,
							   o->unit ? o->unit_rows : 1, pp->pairs_sd, tkey,
							   &pp->tree_edges, interrupt_pending, NULL);
		lipvae_core_error(rc, "fitting the tree of pair marginals");
	}
}

/* finish_central fixes the central guarantee, under both relations. */
static void
finish_central(TrainOptions *o, PrivacyPlan *pp, lv_model *m, double delta_avail)
{
	m->mu1 = 0;
	pp->delta_total = o->delta;
	pp->eps_total = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, pp->q, pp->sigma, pp->steps,
									   LV_REL_ADD_REMOVE, pp->mu_marginals);
	/* the ledger's relation: replace-one (the accountant at 2C, the counts at sqrt 2) */
	pp->eps_ledger = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, pp->q, pp->sigma / 2, pp->steps,
										LV_REL_ADD_REMOVE, pp->mu_marginals_ledger);
	pp->delta_ledger = o->delta;
}

/*
 * train_dpsgd calibrates and runs DP-SGD (mechanisms central and
 * central+latent): the sampling rate from the batch size and the DP row
 * count (central) or the public n (central+latent: replace-one, where n is
 * public anyway), the noise multiplier from the accountant, then for
 * central+latent the encoder bound and the per-record release calibrated in
 * RDP together with DP-SGD.
 */
void
train_dpsgd(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
			const int32 *T, int64 n, const int64 *unit_start, int64 nunits,
			double diameter, const uint8 *tkey, lv_train_result *res)
{
	lv_dpsgd_config cfg;
	lv_dpsgd_report rep;
	bool composed = o->mechanism == LV_MECH_COMPOSED;
	int relation = composed ? LV_REL_REPLACE_ONE : LV_REL_ADD_REMOVE;
	double eps_avail = o->epsilon - pp->eps_pre;
	double delta_avail = o->delta - pp->delta_pre;
	double target = 0;
	int rc;

	calibrate_dpsgd(o, pp, m, n, eps_avail, delta_avail);
	if (composed)
		target = composed_target(o, pp, eps_avail, delta_avail, diameter);
	dpsgd_config(o, pp, unit_start, nunits, target, tkey, &cfg);
	rc = lv_model_train_dpsgd_report(m, X, T, n, &cfg, res, &rep);
	lipvae_core_error(rc, "DP-SGD training");
	pp->clip_mean = rep.clip_mean;
	pp->clip_max = rep.clip_max;
	pp->bound_steps = rep.bound_steps;

	pp->eps_sgd = lv_dpsgd_epsilon(pp->q, pp->sigma, pp->steps, delta_avail, relation);
	if (composed)
		finish_composed(o, pp, m, X, n, target, diameter, delta_avail);
	else
	{
		if (pp->mu_marginals > 0)
			fit_correction(o, pp, m, T, n, tkey);
		finish_central(o, pp, m, delta_avail);
	}
	if (!(pp->eps_total <= o->epsilon * (1 + 1e-9)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("the calibrated guarantee %.17g exceeds the requested epsilon %g",
							   pp->eps_total, o->epsilon)));
}
