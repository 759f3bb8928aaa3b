/*
 * lv_exact.h - exact discrete noise samplers (Canonne, Kamath & Steinke,
 * "The Discrete Gaussian for Differential Privacy", NeurIPS 2020,
 * arXiv 2004.00010, Algorithms 1-3), driven only by the uniform integer
 * bits of an lv_stream. No floating point inside the samplers and no
 * PostgreSQL here.
 *
 * Why: a Laplace variate b ln(2u) on a 53-bit u, or a Box-Muller Gaussian,
 * lives on an irregular floating-point lattice whose gaps reveal the value
 * under the noise (Mironov, CCS 2012), and its tails are cut where u runs
 * out of bits. Every released noisy count and threshold decision of lipvae
 * is an integer plus integer noise drawn here instead:
 *  - discrete Laplace Lap_Z(t), P(x) = (1 - q)/(1 + q) q^|x|, q = e^(-1/t):
 *    on integer queries of L1 sensitivity D it is (D/t)-DP (pure);
 *    its tail is P(X >= k) = q^k / (1 + q) for integers k >= 1.
 *  - discrete Gaussian N_Z(0, sigma^2), P(x) proportional to
 *    e^(-x^2/(2 sigma^2)): independent coordinates on integer queries of L2
 *    sensitivity D give (D^2 / (2 sigma^2))-zCDP (CKS20 Thm 4 and 14), i.e.
 *    Renyi DP alpha D^2 / (2 sigma^2) at every order alpha, the same curve as
 *    the continuous Gaussian (but NOT its exact GDP / (eps, delta) profile).
 * Scales given as doubles are rounded UP to dyadic rationals
 * (lv_dyadic_up), so the privacy loss is never understated.
 *
 * Every function returns LV_OK or an LV_ERR_* code (lv_model.h): LV_ERR_ARG
 * on parameters outside the documented ranges, LV_ERR_NUMERIC when a draw
 * would leave the int64 range (probability below e^-4096 in the allowed
 * ranges; it depends only on the noise, never on the data).
 */
#ifndef LV_EXACT_H
#define LV_EXACT_H

#include <stdint.h>
#include "lv_rand.h"

/* Largest numerator or denominator of the rational parameters below. */
#define LV_EXACT_MAX ((uint64_t) 1 << 62)
/* the largest Laplace scale or Gaussian sd both samplers below accept */
#define LV_EXACT_MAX_SCALE 1e9

/*
 * lv_bernoulli_exp sets *out to a Bernoulli(exp(-num/den)) draw (CKS20
 * Algorithm 1), num >= 0, den >= 1, both below 2^127.
 */
int lv_bernoulli_exp(lv_stream *s, unsigned __int128 num,
					 unsigned __int128 den, int *out);

/*
 * lv_bernoulli_exp_wide is lv_bernoulli_exp for the 256-bit numerator
 * num_hi 2^128 + num_lo (den below 2^127); exposed for the tests.
 */
int lv_bernoulli_exp_wide(lv_stream *s, unsigned __int128 num_hi,
						  unsigned __int128 num_lo, unsigned __int128 den,
						  int *out);

/*
 * lv_discrete_laplace sets *out to a draw of Lap_Z(t/s) (CKS20 Algorithm
 * 2): 1 <= t, s <= LV_EXACT_MAX and t/s <= 2^50.
 */
int lv_discrete_laplace(lv_stream *st, uint64_t t, uint64_t s, int64_t *out);

/*
 * lv_discrete_gaussian sets *out to a draw of N_Z(0, sigma^2) with
 * sigma^2 = n/d (CKS20 Algorithm 3): 1 <= n, d < LV_EXACT_MAX.
 */
int lv_discrete_gaussian(lv_stream *st, uint64_t n, uint64_t d, int64_t *out);

/*
 * lv_dyadic_up sets num/den (den a power of two) to the smallest such
 * fraction >= x with 2^31 <= num <= 2^32, or den = 1 and num = ceil(x) when
 * x >= 2^31: relative excess at most 2^-31. x must be finite, in
 * [2^-30, 2^61]; else LV_ERR_ARG.
 */
int lv_dyadic_up(double x, uint64_t *num, uint64_t *den);

/*
 * lv_laplace_scale_up sets t/s >= b (lv_dyadic_up of b), the scale that
 * lv_discrete_laplace_b uses.
 */
int lv_laplace_scale_up(double b, uint64_t *t, uint64_t *s);

/*
 * lv_gaussian_var_up sets n/d >= sd^2 (lv_dyadic_up of the square rounded
 * up), the variance that lv_discrete_gaussian_sd uses.
 */
int lv_gaussian_var_up(double sd, uint64_t *n, uint64_t *d);

/* lv_discrete_laplace_b draws Lap_Z(t) for t = lv_laplace_scale_up(b) >= b. */
int lv_discrete_laplace_b(lv_stream *st, double b, int64_t *out);

/* lv_discrete_gaussian_sd draws N_Z(0, sigma'^2), sigma'^2 = lv_gaussian_var_up(sd) >= sd^2. */
int lv_discrete_gaussian_sd(lv_stream *st, double sd, int64_t *out);

#endif
