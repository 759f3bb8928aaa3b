/*
 * lv_accountant.h - the Renyi-DP accountant of DP-SGD (Poisson-subsampled
 * Gaussian mechanism) of lipvae. No PostgreSQL here.
 *
 * A step of DP-SGD samples every record independently with probability q
 * (Poisson sampling), clips each sampled record's gradient to L2 norm C,
 * sums, and adds N(0, (sigma C)^2) noise per coordinate; sigma is the noise
 * multiplier. Under add/remove-one neighbours its Renyi-DP (Mironov 2017)
 * at order alpha is the Renyi divergence of (1-q) N(0, sigma^2) + q N(1,
 * sigma^2) from N(0, sigma^2), computed for integer alpha by the exact
 * binomial expansion of Mironov, Talwar & Zhang 2019 (Sec. 3.3):
 *     A_alpha = sum_k C(alpha, k) (1-q)^(alpha-k) q^k e^((k^2-k)/(2 sigma^2)),
 *     rdp(alpha) = log(A_alpha) / (alpha - 1).
 * RDP composes additively over steps; the total converts to (eps, delta)-DP
 * with the conversion of Canonne, Kamath & Steinke 2020 / Balle et al. 2020
 * (as in Opacus and TF-Privacy):
 *     eps = min_alpha rdp(alpha) + log((alpha-1)/alpha)
 *                     - (log(delta) + log(alpha)) / (alpha - 1).
 * Orders used: the integers 2..256 and 384, 512, 768, 1024 (no fractional
 * orders: Opacus also tries orders such as 8.1, so its epsilons can be
 * lower by a few parts in 10^4).
 *
 * Neighbouring relations. LV_REL_ADD_REMOVE: add or remove one record (the
 * relation of the formulas above). LV_REL_REPLACE_ONE: replace one record by
 * another. A replace is a removal plus an addition, so the summed clipped
 * gradient moves by up to 2C instead of C: the replace-one accountant is the
 * add/remove accountant with sensitivity 2C, i.e. with the noise multiplier
 * relative to 2C, sigma/2 (privacy.md: rerun the accountant for replace-one
 * with sensitivity 2C). The Renyi divergence of the replace-one pair
 * ((1-q) N(0) + q N(C) against (1-q) N(0) + q N(-C)) was checked numerically
 * to be below that of the add/remove pair at 2C for q in 0.01..0.9, sigma
 * in 0.7..4, alpha in 2..16.
 *
 * Every value here is rounded so that the privacy loss is overstated, never
 * understated: each RDP value carries a bound on its floating-point error,
 * and every epsilon is rounded up.
 */
#ifndef LV_ACCOUNTANT_H
#define LV_ACCOUNTANT_H

/* Neighbouring relations of an accounted guarantee. */
#define LV_REL_ADD_REMOVE 0
#define LV_REL_REPLACE_ONE 1

/* Number of RDP orders of lv_rdp_orders (255 integers 2..256 and 4 large). */
#define LV_RDP_NORDERS 259

/*
 * lv_rdp_gaussian returns the RDP of the Gaussian mechanism with noise
 * multiplier sigma (sensitivity 1) at order alpha > 1: alpha / (2 sigma^2),
 * rounded up. A mu-GDP mechanism (for example the per-record latent release)
 * has the RDP of sigma = 1/mu. sigma = 0 gives +inf, sigma = +inf gives 0;
 * NaN, sigma < 0 or alpha <= 1 give NaN.
 */
double lv_rdp_gaussian(double sigma, double alpha);

/*
 * lv_rdp_subsampled_gaussian returns the RDP at integer order alpha
 * (2 <= alpha <= 100000) of one step of the Poisson-subsampled Gaussian
 * mechanism with sampling rate q in [0, 1] and noise multiplier sigma
 * (sensitivity 1), add/remove-one neighbours: log(A_alpha) / (alpha - 1)
 * evaluated in log space as log1p(A_alpha - 1), with A_alpha - 1 =
 * sum_{k>=2} C(alpha,k) (1-q)^(alpha-k) q^k expm1((k^2-k)/(2 sigma^2)) (the
 * terms k = 0, 1 of A_alpha sum with the others' 1s to 1), so that it stays
 * accurate for tiny q and large alpha, plus a bound on its floating-point
 * error. q = 0 gives 0, q = 1 gives alpha / (2 sigma^2) (lv_rdp_gaussian),
 * sigma = 0 with q > 0 gives +inf. NaN for NaN input, q outside [0, 1],
 * sigma < 0 or alpha outside [2, 100000].
 */
double lv_rdp_subsampled_gaussian(double q, double sigma, int alpha);

/*
 * lv_rdp_orders writes the LV_RDP_NORDERS orders of the accountant to
 * orders: 2, 3, ..., 256, 384, 512, 768, 1024.
 */
void lv_rdp_orders(double *orders);

/*
 * lv_dpsgd_rdp writes to rdp[0 .. LV_RDP_NORDERS) the total RDP of steps
 * steps of DP-SGD with sampling rate q and noise multiplier sigma at the
 * orders of lv_rdp_orders, under relation (LV_REL_ADD_REMOVE, or
 * LV_REL_REPLACE_ONE: sigma / 2, see above). Add the result element-wise
 * to other RDP curves at the same orders to compose (for example
 * lv_rdp_gaussian(1/mu, order) for a mu-GDP release), then convert with
 * lv_rdp_to_dp. Returns 0, or -1 (rdp untouched) on bad input: q outside
 * [0, 1], sigma < 0, steps < 0, an unknown relation or NaN.
 */
int lv_dpsgd_rdp(double q, double sigma, long steps, int relation,
				 double *rdp);

/*
 * lv_rdp_to_dp returns the epsilon for which an RDP curve (rdp[i] at
 * orders[i] > 1, i < n) gives (eps, delta)-DP: the minimum over the orders
 * of rdp + log((alpha-1)/alpha) - (log(delta) + log(alpha)) / (alpha-1)
 * (Canonne, Kamath & Steinke 2020; Balle et al. 2020), each candidate plus
 * a bound on its floating-point error, never below 0, and 0 when
 * delta^2 >= 1 - exp(-rdp) at some order (then the total variation
 * distance, bounded through the KL divergence by Bretagnolle-Huber, is at
 * most delta); the result is rounded up. Writes the optimal order to
 * *opt_order when opt_order is not NULL (NaN when the result is NaN or
 * +inf). Returns NaN for delta outside (0, 1), n < 1, an order <= 1 or NaN,
 * or an rdp value < 0 or NaN; +inf when every rdp value is +inf.
 */
double lv_rdp_to_dp(const double *orders, const double *rdp, int n,
					double delta, double *opt_order);

/*
 * lv_dpsgd_epsilon returns the epsilon at delta of steps steps of DP-SGD
 * with sampling rate q and noise multiplier sigma under relation:
 * lv_dpsgd_rdp then lv_rdp_to_dp (rounded up). NaN on bad input (as
 * lv_dpsgd_rdp, or delta outside (0, 1)).
 */
double lv_dpsgd_epsilon(double q, double sigma, long steps, double delta,
						int relation);

/*
 * lv_dpsgd_gaussian_epsilon returns the epsilon at delta of DP-SGD (q,
 * sigma, steps) under relation composed in RDP with a mu-GDP Gaussian
 * mechanism (its RDP at order a is a mu^2 / 2, computed as the Gaussian of
 * sensitivity 1 and sd 1/mu rounded down; mu = 0: none), one conversion
 * (lv_rdp_to_dp). Rounded up at every step; NaN on bad input.
 */
double lv_dpsgd_gaussian_epsilon(double q, double sigma, long steps,
								 int relation, double mu, double delta);

/*
 * lv_dpsgd_gaussian_mu returns the largest mu (to a relative 1e-9, from
 * below) for which lv_dpsgd_gaussian_epsilon(q, sigma, steps, relation,
 * mu, delta) <= eps, 0 when none up to 64 does.
 */
double lv_dpsgd_gaussian_mu(double q, double sigma, long steps, int relation,
							double eps, double delta);

/*
 * lv_dpsgd_sigma returns the smallest noise multiplier (to a relative
 * 1e-10) for which steps steps of DP-SGD at sampling rate q are
 * (eps, delta)-DP under relation: a bisection that keeps
 * lv_dpsgd_epsilon(upper end) <= eps and returns the upper end, so the
 * achieved epsilon never exceeds eps. Returns 0 when q = 0 or steps = 0 (no
 * record is ever used), NaN on bad input (q outside [0, 1], steps < 0, eps
 * not finite and > 0, delta outside (0, 1), an unknown relation) and NaN
 * when no sigma <= 1e6 reaches eps (eps too small for delta and the
 * orders: as sigma grows the conversion tends to about
 * (log(1/delta) - log 1024) / 1023, 0.0035 at delta = 1e-5, and goes to 0
 * only by the total-variation rule of lv_rdp_to_dp, which needs the RDP
 * below about delta^2).
 */
double lv_dpsgd_sigma(double q, long steps, double eps, double delta,
					  int relation);

#endif
