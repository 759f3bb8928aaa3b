/*
 * lv_domain.h - domain discovery for select-measure-generate (marginals =>
 * 'aim'): one joint release, with discrete Gaussian noise, of the histogram
 * of every column whose domain the user did not make public (numeric:
 * signed quarter-octave bins; categorical: one count per value present),
 * from which the bounds and the category lists follow. No PostgreSQL here.
 *
 *   sd   = sqrt(k r^2 / (2 rho_dom))              k columns, units of r rows
 *   h_c  = counts_c + N_Z(0, sd^2)                every column c, every cell
 *   [lo, hi] of a numeric column  = the outermost bins with h > sd sqrt(2 ln(585/0.01)),
 *                                   widened by adjacent runs with h >= a quarter of that
 *   the categories of a text column = those with h >= tau (at most max_keep, largest h)
 *
 * Privacy (zCDP: Bun & Steinke 2016; the discrete Gaussian: Canonne,
 * Kamath & Steinke 2020). Each row falls into one cell (or none: NULL) of
 * each of the k histograms, so adding or removing a unit of at most r rows
 * moves the joint count vector by at most r sqrt(k) in L2 (replace-one:
 * r sqrt(2k)); noise of variance >= sd^2 on every count is then
 * rho_dom = k r^2 / (2 sd^2)-zCDP (replace-one: twice that). This covers the
 * numeric bins (a fixed public list) and the categories both neighbours
 * hold. A category that only one neighbour holds (at most r per column,
 * r rows together) is released only if c + X >= tau, c <= r, so with
 * probability <= k_cat r exp(-(tau - r)^2 / (2 sd'^2)) =: delta_new (the
 * discrete Gaussian of variance parameter sd'^2 = lv_gaussian_var_up(sd),
 * sd' < sd (1 + 1e-9), is sd'-sub-Gaussian). Coupling the two runs outside that
 * event, the whole training, whose later stages may depend on the released
 * domain, is (eps, delta_rdp + (1 + e^eps) delta_new)-DP when the rest,
 * with rho_dom included, is (eps, delta_rdp)-DP: lv_domain_threshold picks
 * tau so that (1 + e^eps_max) delta_new <= delta_dom, eps_max a public
 * bound, fixed before the release, on the training's epsilon under either
 * relation (train_domain.c). Ties at the LV_MAX_CATEGORIES cap go to the
 * lower index: callers index the categories in a public order (by label).
 */
#ifndef LV_DOMAIN_H
#define LV_DOMAIN_H

#include <stdint.h>
#include "lv_rand.h"

#define LV_DOMAIN_SUB 4      /* bins per octave */
#define LV_DOMAIN_EMIN (-10) /* octaves 2^-10 .. 2^62 */
#define LV_DOMAIN_EMAX 62
#define LV_DOMAIN_NOCT (LV_DOMAIN_EMAX - LV_DOMAIN_EMIN + 1)
#define LV_DOMAIN_ZERO (LV_DOMAIN_NOCT * LV_DOMAIN_SUB) /* the bin |x| < 2^-10 */
#define LV_DOMAIN_NBINS (2 * LV_DOMAIN_ZERO + 1)        /* 585 */
#define LV_DOMAIN_BETA 0.01                             /* chance that an empty bin is taken as populated */

/*
 * lv_domain_bin returns x's bin, ordered from the most negative to the most
 * positive: LV_DOMAIN_ZERO for |x| < 2^-10, above it [2^e (1 + s/4),
 * 2^e (1 + (s+1)/4)) for e = -10..62 and s = 0..3, below it their mirror
 * images. Magnitudes >= 2^63 go to the end bins; NaN returns -1.
 */
int lv_domain_bin(double x);

/* lv_domain_edge returns the lower (upper = 0) or upper edge of bin j. */
double lv_domain_edge(int j, int upper);

/* lv_domain_sd returns sd = sqrt(k r^2 / (2 rho)), rounded up. */
double lv_domain_sd(int k, int r, double rho);

/* lv_domain_rho returns k r^2 / (2 sd^2), rounded up. */
double lv_domain_rho(int k, int r, double sd);

/*
 * lv_domain_threshold returns the integer tau = r + ceil(sd (1 + 1e-9)
 * sqrt(2 ln(2 k_cat r e^eps_max / delta_dom))): a category count c <= r plus noise
 * reaches it with probability <= delta_dom / ((1 + e^eps_max) k_cat r).
 * NaN on bad input.
 */
double lv_domain_threshold(double sd, int r, int k_cat, double eps_max,
						   double delta_dom);

/*
 * lv_domain_noise sets noisy[i] = counts[i] + X_i, X_i exact discrete
 * Gaussian draws of variance >= sd^2 from rng, in order. Returns LV_OK,
 * LV_ERR_ARG (a count not an integer in [0, 2^53), or a bad sd).
 */
int lv_domain_noise(lv_stream *rng, double sd, const double *counts, int k,
					double *noisy);

/*
 * lv_domain_bounds turns a noisy bin histogram (LV_DOMAIN_NBINS cells) into
 * bounds lo < hi (post-processing, see above; integer != 0 rounds lo up and
 * hi down to integers). When no bin clears the threshold but the largest
 * reaches 9/10 of it, the run around the largest whose counts reach a
 * quarter of it. Returns 0, or -1 (lo, hi untouched) when none does.
 */
int lv_domain_bounds(const double *noisy, double sd, int integer, double *lo,
					 double *hi);

/*
 * lv_domain_select sets keep[i] = 1 for the cells with noisy[i] >= tau, at
 * most max_keep of them (the largest; ties to the lower index). Returns how
 * many are kept.
 */
int lv_domain_select(const double *noisy, int k, double tau, int max_keep,
					 int *keep);

#endif
