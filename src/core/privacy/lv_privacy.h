/*
 * lv_privacy.h - the privacy arithmetic of lipvae (docs: README "Privacy").
 * No PostgreSQL here.
 *
 * Gaussian differential privacy (Dong, Roth & Su 2019): the Gaussian
 * mechanism with sensitivity Delta and noise s is mu-GDP, mu = Delta/s, and
 * mu-GDP is (eps, delta)-DP exactly when
 *     delta >= Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2)
 * (Balle & Wang 2018). Every conversion here rounds so that the privacy
 * loss is overstated, never understated.
 */
#ifndef LV_PRIVACY_H
#define LV_PRIVACY_H

#include <stddef.h>
#include "lv_rand.h"

/* lv_phi returns the standard normal CDF, accurate in both tails. */
double lv_phi(double x);

/* lv_gdp_delta returns the smallest delta for which mu-GDP is (eps,delta)-DP. */
double lv_gdp_delta(double mu, double eps);

/*
 * lv_gdp_epsilon returns an epsilon >= the smallest eps for which mu-GDP is
 * (eps, delta)-DP (bisection; returns the upper end of the final bracket,
 * relative width <= 1e-12). mu <= 0 gives 0; delta outside (0,1) gives NaN.
 */
double lv_gdp_epsilon(double mu, double delta);

/*
 * lv_gdp_mu returns a mu <= the largest mu for which mu-GDP is (eps, delta)-DP
 * (bisection; lower end of the final bracket). Returns NaN on bad input.
 */
double lv_gdp_mu(double eps, double delta);

/*
 * lv_encoding_diameter returns the L2 diameter of the encoded domain:
 * sqrt(n_numeric + 2 n_categorical + n_nullable_numeric).
 */
double lv_encoding_diameter(int n_numeric, int n_categorical,
							int n_nullable_numeric);

/*
 * lv_round_up returns the next double above x (used to overstate a privacy
 * loss after floating-point arithmetic).
 */
double lv_round_up(double x);

/*
 * lv_dp_bounds estimates public bounds [lo, hi] for a numeric column from
 * its m non-NULL values with pure eps-DP under replace-one neighbours, in
 * three parts of eps/3 each:
 *  stage 1: a noisy histogram over signed powers of two (a zero bin for
 *           |x| < 2^-10, bins [2^e, 2^(e+1)) for e in -10..62, both signs;
 *           exact discrete Laplace noise Lap_Z(t), t >= 2/(eps/3) the scale
 *           rounded up to a dyadic rational, on every integer bin count);
 *           [A, B] spans the lowest to highest bin whose noisy count exceeds
 *           t ln(147/0.01) (an empty bin does with probability < 0.01/147),
 *           widened by each adjacent run of bins whose noisy counts reach a
 *           quarter of that threshold (a margin: populated neighbours of the
 *           fullest bins are not clipped)
 *           (when none does but the largest reaches 9/10 of the threshold:
 *           the run of adjacent bins around the largest whose noisy
 *           counts reach a quarter of it);
 *  stage 2: the 0.5% and 99.5% quantiles of the values (clamped to [A, B]),
 *           each by the exponential mechanism over public candidates of
 *           [A, B] (every integer for integer columns spanning at most 4096,
 *           else 1025 equally spaced points) with a rank score of
 *           sensitivity 1.005; skipped (the bounds are then [A, B]) when
 *           its rank error bound (2 * 1.005 / (eps/3)) ln(4097 / 0.01)
 *           exceeds a tenth of stage 1's noisy row count, since its answer
 *           would then be close to uniform on [A, B] and clip real values.
 *           With few rows for the budget the bounds come out loose rather
 *           than tight.
 * integer != 0 moves lo up and hi down to the integers inside [lo, hi] (no
 * integer value is clipped by this). Guarantees hi > lo.
 * vals need not be sorted. Returns 0 on success, -1 when no noisy count of
 * stage 1 reaches 9/10 of the threshold (too few rows for the budget: the
 * caller must then ask for bounds) or memory runs out.
 */
int lv_dp_bounds(const double *vals, size_t m, double eps, int integer,
				 lv_stream *rng, double *lo, double *hi);

/*
 * lv_dp_category_threshold returns the integer T = 1 + k, k the smallest
 * integer >= t (ln(2/delta) - ln(1 + e^(-1/t))) for the discrete Laplace
 * scale t >= 2/eps: a category whose integer count plus Lap_Z(t) noise
 * reaches T is kept. Releasing the kept labels is (eps, delta)-DP under
 * replace-one neighbours. NaN on bad input.
 */
double lv_dp_category_threshold(double eps, double delta);

/*
 * lv_dp_select_categories adds exact discrete Laplace noise Lap_Z(t),
 * t >= 2/eps (lv_exact.h), to each of the k integer counts and sets
 * keep[i] = 1 for those whose noisy count reaches the threshold, keeping at
 * most max_keep of them (largest noisy counts). Returns the number kept, -1
 * on bad input (including a count that is not an integer in [0, 2^53)).
 */
int lv_dp_select_categories(const double *counts, int k, double eps,
							double delta, int max_keep,
							lv_stream *rng, int *keep);

/*
 * Unit-level versions (user-level privacy: each unit, a person, contributes
 * at most r rows). Replacing one unit moves the vector of counts by at most
 * 2r in L1, so the noise is Lap_Z(t) with t >= 2r/eps ((2r/t)-DP, pure); a
 * unit can add at most r new categories holding at most r rows together,
 * each passing the integer T = r + k with probability
 * <= P(X >= k) = e^(-k/t) / (1 + e^(-1/t)) (the discrete tail: heavier than
 * the continuous e^(-k/t)/2), so k = ceil(t (ln(2r/delta) - ln(1 + e^(-1/t))))
 * keeps the chance that any of them is released <= delta/2. r = 1 gives
 * the row-level functions above.
 */
double lv_dp_category_threshold_units(double eps, double delta, int r);
int lv_dp_select_categories_units(const double *counts, int k, double eps,
								  double delta, int r, int max_keep,
								  lv_stream *rng, int *keep);

#endif
