/*
 * train_aim.c - the fit stage of marginals => 'aim' (select, measure,
 * generate: lv_aim.h) and its catalog record.
 */
#include "postgres.h"

#include <math.h>

#include "utils/json.h"

#include "train.h"
#include "lv_accountant.h"
#include "lv_privacy.h"

/*
 * train_aim fits a central model by select-measure-generate (lv_aim.h):
 * the whole budget left after preprocessing, as zCDP rho = mu^2 / 2 with
 * mu the Gaussian that fills (epsilon - eps_pre, delta - delta_pre) in the
 * accountant's RDP conversion, goes to AIM's rounds; no DP-SGD runs. The
 * guarantee is recomputed from the rho the rounds report (never above the
 * budget): eps = eps_pre + eps_RDP(mu = sqrt(2 (rho + rho_domain))),
 * rho_domain the joint domain release's (train_domain.c), which took its
 * share of the same rho before the marginals. Under replace-one
 * (the ledger) each Gaussian's rho doubles (L2 sensitivity sqrt 2) and each
 * selection's quadruples (its score moves by 2).
 */
void
train_aim(TrainOptions *o, PrivacyPlan *pp, lv_model *m,
		  const lv_aim_workload *w, const uint8 *tkey, lv_train_result *res)
{
	double eps_avail = o->epsilon - pp->eps_pre;
	double delta_avail = o->delta - pp->delta_pre;
	lv_aim_config c;
	double mu;
	int rc;

	if (!(eps_avail > 0.0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("preprocessing leaves no budget for the marginals"),
						errdetail("Bounds, category lists and the row count spent epsilon %g of %g.",
								  pp->eps_pre, o->epsilon),
						errhint("Give public bounds => and categories =>, or lower preprocess_share.")));
	mu = lv_dpsgd_gaussian_mu(0, 0, 0, LV_REL_ADD_REMOVE, eps_avail, delta_avail);
	if (!(mu > 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot calibrate the marginals for epsilon %g and delta %g", eps_avail, delta_avail),
						errhint("Raise epsilon or delta.")));
	memset(&c, 0, sizeof(c));
	c.rho = mu * mu / 2 * (1 - 1e-9) - pp->rho_domain; /* the domain's share is spent */
	c.sens = o->unit ? o->unit_rows : 1;
	c.n_hat = pp->n_hat;
	c.max_k = LIPVAE_AIM_MAX_K;
	c.max_cells = LIPVAE_AIM_MAX_CELLS;
	c.latent = o->latent;
	c.hidden = o->hidden;
	c.prior_points = LIPVAE_AIM_PRIOR_POINTS;
	c.fit.steps = LIPVAE_AIM_ROUND_STEPS;
	c.fit.batch = LIPVAE_AIM_BATCH;
	c.fit.lr = o->lr_given ? o->lr : LIPVAE_AIM_ROUND_LR;
	c.fit.layer_bound = o->layer_bound;
	c.fit.maxent = LIPVAE_AIM_MAXENT;
	c.fit.maxent_samples = LIPVAE_AIM_MAXENT_SAMPLES;
	c.fit.interrupted = interrupt_pending;
	c.final_steps = LIPVAE_AIM_FINAL_STEPS;
	c.final_lr = o->lr_given ? o->lr : LIPVAE_AIM_LR;
	memcpy(c.key, tkey, LV_KEY_BYTES);
	lipvae_check_noise(lv_aim_first_sd(&c, m->schema.ncols), "the marginals");
	pp->aim = palloc0(sizeof(lv_aim_result));
	ereport(NOTICE, (errmsg("lipvae_train: selecting, measuring and fitting the generator: at most %d rounds",
							16 * m->schema.ncols)));
	rc = lv_model_fit_aim_counts(m, w, &c, pp->aim);
	lipvae_core_error(rc, "fitting the model to the DP marginals");
	m->lipschitz_certified = lv_model_certify(m);

	pp->aim_rho = lv_aim_rho(pp->aim->ms, pp->aim->nmeasured, c.sens);
	pp->aim_rho_ledger = lv_round_up(2 * pp->aim->rho_measure + 4 * pp->aim->rho_select);
	pp->mu_marginals = lv_round_up(sqrt(2 * lv_round_up(pp->aim_rho + pp->rho_domain)));
	pp->mu_marginals_ledger = lv_round_up(sqrt(2 * lv_round_up(pp->aim_rho_ledger + 2 * pp->rho_domain)));
	pp->delta_sgd = delta_avail;
	pp->epochs = 0;
	pp->eps_total = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, 0, 0, 0, LV_REL_ADD_REMOVE, pp->mu_marginals);
	pp->delta_total = o->delta;
	pp->eps_ledger = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, 0, 0, 0, LV_REL_ADD_REMOVE,
										pp->mu_marginals_ledger);
	pp->delta_ledger = o->delta;
	res->final_loss = pp->aim->final_loss;
	if (pp->domain_tau > 0 && !(pp->eps_ledger <= pp->domain_eps_max))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("the replace-one guarantee %.17g exceeds what the category threshold covers (%g)",
							   pp->eps_ledger, pp->domain_eps_max)));
	if (!(pp->eps_total <= o->epsilon * (1 + 1e-9)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("the calibrated guarantee %.17g exceeds the requested epsilon %g",
							   pp->eps_total, o->epsilon)));
}

/*
 * append_aim appends the marginals' privacy parameters to the catalog's
 * JSON: the budget, and every measured clique with its noise and its
 * selection's epsilon, from which an auditor recomputes rho and epsilon.
 */
void
append_aim(StringInfo j, const PrivacyPlan *pp, const TrainColumn *tc)
{
	int i,
		c;

	appendStringInfoString(j, ", \"dpsgd\": {\"method\": \"aim\", \"rho\": ");
	json_num(j, pp->aim_rho);
	appendStringInfoString(j, ", \"rho_replace_one\": ");
	json_num(j, pp->aim_rho_ledger);
	appendStringInfoString(j, ", \"rho_domain\": ");
	json_num(j, pp->rho_domain);
	appendStringInfoString(j, ", \"mu\": ");
	json_num(j, pp->mu_marginals);
	appendStringInfoString(j, ", \"n_hat\": ");
	json_num(j, pp->n_hat);
	appendStringInfo(j, ", \"relation\": \"%s\", \"delta\": ", pp->relation);
	json_num(j, pp->delta_sgd);
	appendStringInfoString(j, ", \"count_scale\": ");
	json_num(j, pp->count_scale);
	appendStringInfoString(j, ", \"bound_confidence\": ");
	json_num(j, 1 - LIPVAE_AIM_BOUND_LAMBDA);
	appendStringInfo(j, ", \"prior_points\": %d, \"bound_draws\": %d, \"bound_terms\": %d",
					 pp->aim->prior_points, pp->aim->bound_draws, pp->aim->max_measurements);
	appendStringInfo(j, ", \"candidates\": %d, \"measurements\": [", pp->aim->candidates);
	for (i = 0; i < pp->aim->nmeasured; i++)
	{
		const lv_measurement *ms = &pp->aim->ms[i];

		appendStringInfoString(j, i ? ", {\"columns\": [" : "{\"columns\": [");
		for (c = 0; c < ms->q.k; c++)
		{
			if (c)
				appendStringInfoString(j, ", ");
			escape_json(j, tc[ms->q.cols[c]].col.name);
		}
		appendStringInfo(j, "], \"cells\": " INT64_FORMAT ", \"noise_sd\": ", ms->q.cells);
		json_num(j, ms->sd);
		appendStringInfoString(j, ", \"epsilon_select\": ");
		json_num(j, ms->eps_select);
		appendStringInfoString(j, ", \"fit_l1\": ");
		json_num(j, ms->fit_l1);
		appendStringInfoString(j, ", \"fit_tvd\": ");
		json_num(j, ms->fit_l1 / (2 * pp->n_hat));
		appendStringInfoString(j, ", \"tvd_bound\": ");
		json_num(j, lv_aim_tvd_bound(ms->sd, ms->q.cells, ms->fit_l1, pp->n_hat, pp->count_scale,
									 pp->aim->max_measurements, LIPVAE_AIM_BOUND_LAMBDA, pp->aim->bound_draws));
		appendStringInfoChar(j, '}');
	}
	appendStringInfoString(j, "]}");
}
