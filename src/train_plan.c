/*
 * train_plan.c - the privacy plan of lipvae_train: what the summary says
 * will be spent, the DP row count of central models, the per-pass epsilon
 * of per-record models and the budget of the DP marginals.
 */
#include "postgres.h"

#include <math.h>

#include "train.h"
#include "lv_tree.h"
#include "lv_exact.h"
#include "lv_privacy.h"

/*
 * describe_plan names the mechanism, its scope and relation, and the ledger
 * total it counts in.
 */
void
describe_plan(TrainOptions *o, PrivacyPlan *pp)
{
	switch (o->mechanism)
	{
		case LV_MECH_CENTRAL:
			pp->mech_name = "central";
			pp->relation = o->unit ? "add/remove-one unit" : "add/remove-one";
			pp->scope = o->unit ? psprintf("central, add/remove-one unit (%s, at most %d rows each)",
										   o->unit, o->unit_rows)
								: pstrdup(LIPVAE_SCOPE_CENTRAL);
			pp->spend = LIPVAE_SPEND_CENTRAL;
			break;
		case LV_MECH_COMPOSED:
			pp->mech_name = "central+latent";
			pp->relation = "replace-one";
			pp->scope = pstrdup(LIPVAE_SCOPE_COMPOSED);
			pp->spend = LIPVAE_SPEND_CENTRAL;
			break;
		case LV_MECH_LATENT:
			pp->mech_name = "latent";
			pp->relation = "replace-one";
			pp->scope = pstrdup(LIPVAE_SCOPE_LATENT);
			pp->spend = LIPVAE_SPEND_PER_RECORD;
			break;
		default:
			pp->mech_name = "none";
			pp->relation = NULL;
			pp->scope = pstrdup(LIPVAE_SCOPE_NONE);
			pp->spend = LIPVAE_SPEND_NONE;
	}
	/*
	 * A seeded model's noise and release key are derived from its 64-bit
	 * seed: whoever knows or guesses the seed removes the noise. Its rows
	 * say so (and lipvae_grant refuses it).
	 */
	if (o->seeded && o->mechanism != LV_MECH_NONE)
		pp->scope = psprintf("%s%s", pp->scope, LIPVAE_SCOPE_SEEDED);
}

/*
 * dp_row_count spends a small part of the central budget on a Laplace
 * count of the rows: DP-SGD's sampling rate q = batch / n_hat and its
 * normaliser must not depend on the exact n (which stays hidden).
 */
void
dp_row_count(TrainOptions *o, PrivacyPlan *pp, int64 n, const uint8 *key,
			 StringInfo components)
{
	lv_stream s;
	int sens = o->unit ? o->unit_rows : 1; /* rows one unit moves */
	double e = lv_round_up(LIPVAE_COUNT_SHARE * o->epsilon);

	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, UINT64CONST(0x636f756e74)); /* "count" */
	pp->eps_count = e;
	pp->count_scale = sens / e;
	{
		/* exact discrete Laplace of scale >= sens/e: (sens/scale)-DP <= e */
		int64 x = 0;

		lipvae_check_noise(sens / e, "the DP row count");
		lipvae_core_error(lv_discrete_laplace_b(&s, sens / e, &x), "drawing the DP row count");
		pp->n_hat = (double) Max(1, n + x);
	}
	pp->eps_pre = lv_round_up(pp->eps_pre + e);
	/* components is a JSON array: append before its closing bracket */
	Assert(components->len > 0 && components->data[components->len - 1] == ']');
	components->len--;
	components->data[components->len] = '\0';
	appendStringInfo(components, "%s{\"what\": \"row count\", \"mechanism\": \"Laplace count\", \"epsilon\": ",
					 components->len > 1 ? ", " : "");
	json_num(components, e);
	appendStringInfoString(components, ", \"delta\": 0}]");
}

/* pass_epsilon returns the guarantee of the rows up to pass (per-record). */
double
pass_epsilon(const PrivacyPlan *pp, int64 pass)
{
	if (pp->sigma > 0)
		return lipvae_composed_pass_epsilon(pp->eps_pre, pp->delta_rest, pp->q,
											pp->sigma, pp->steps, pp->mu1, pass);
	return lipvae_pass_epsilon(pp->eps_pre, pp->delta_total, pp->delta_pre, pp->mu1, pass);
}

/*
 * composed_mu1 returns the largest per-pass GDP parameter mu (to a relative
 * 1e-9, from below) such that DP-SGD (q, sigma, steps; replace-one) composed
 * in RDP with passes releases of a mu-GDP mechanism stays within eps at
 * delta. NaN when even mu -> 0 does not.
 */
double
composed_mu1(const PrivacyPlan *pp, int passes, double eps, double delta)
{
	double lo = 0,
		   hi = 64;
	int it;

	if (!(lipvae_composed_pass_epsilon(0, delta, pp->q, pp->sigma, pp->steps, 1e-12, passes) <= eps))
		return NAN;
	for (it = 0; it < 200 && hi - lo > 1e-9 * hi; it++)
	{
		double mid = 0.5 * (lo + hi);

		if (lipvae_composed_pass_epsilon(0, delta, pp->q, pp->sigma, pp->steps, mid, passes) <= eps)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * plan_marginals splits the marginals' GDP parameter mu (the Gaussian
 * mechanisms and the exponential mechanism compose in RDP, where a
 * mechanism of zCDP rho counts as mu^2 = 2 rho): with the tree, 10% of
 * mu^2 to the one-way counts, 10% to the ncols - 1 selection rounds (each
 * eps_round-DP, rho = eps_round^2 / 8: Cesar & Rogers 2021, so
 * mu^2 = eps_round^2 / 4) and 80% to the pair counts (the split measured
 * best on gss_cat, eval/results/sweeps.md); without it, all to the
 * one-way counts. Sensitivities per row (k per unit): one-way counts
 * sqrt(ncols), pair counts sqrt(edges) <= sqrt(ncols - 1), selection
 * score 1. Under replace-one the Gaussian parts double their mu^2 and the
 * selection quadruples it (its score moves by 2).
 */
void
plan_marginals(const TrainOptions *o, PrivacyPlan *pp, int ncols)
{
	double mu2 = pp->mu_marginals * pp->mu_marginals;
	double k = o->unit ? o->unit_rows : 1;

	pp->tree_rounds = 0;
	pp->tree_eps_round = 0;
	pp->mu_pairs = 0;
	pp->pairs_sd = 0;
	pp->mu_one_way = pp->mu_marginals;
	if (o->marginals_tree && ncols >= 2 && ncols <= LV_TREE_MAX_COLUMNS)
	{
		pp->tree_rounds = ncols - 1;
		pp->mu_one_way = sqrt(mu2 * LIPVAE_TREE_ONE_WAY_SHARE);
		pp->mu_pairs = sqrt(mu2 * (1 - LIPVAE_TREE_ONE_WAY_SHARE - LIPVAE_TREE_SELECT_SHARE));
		pp->tree_eps_round = sqrt(4 * (mu2 * LIPVAE_TREE_SELECT_SHARE) / pp->tree_rounds);
		pp->pairs_sd = k * sqrt((double) pp->tree_rounds) / pp->mu_pairs;
	}
	pp->marginals_sd = k * sqrt((double) ncols) / pp->mu_one_way;
	pp->mu_marginals_ledger =
		sqrt(2 * pp->mu_one_way * pp->mu_one_way + 2 * pp->mu_pairs * pp->mu_pairs +
			 pp->tree_rounds * pp->tree_eps_round * pp->tree_eps_round);
}
