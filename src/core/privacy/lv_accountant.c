/*
 * lv_accountant.c - the Renyi-DP accountant of DP-SGD: RDP of the
 * Poisson-subsampled Gaussian mechanism at integer orders (Mironov, Talwar
 * & Zhang 2019, Sec. 3.3), additive composition over steps, the conversion
 * to (eps, delta)-DP of Canonne, Kamath & Steinke 2020 / Balle et al. 2020,
 * and the noise multiplier that meets a target. No PostgreSQL here.
 *
 * Every value rounds so that the privacy loss is overstated: RDP values
 * carry a bound on their floating-point error, epsilons are rounded up.
 */
#include "lv_accountant.h"
#include "lv_privacy.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

/* Largest order lv_rdp_subsampled_gaussian accepts. */
#define LV_RDP_MAX_ORDER 100000
/* Largest order of lv_rdp_orders (size of the lgamma table). */
#define LV_RDP_TABLE_ORDER 1024
/* Integer orders 2..LV_RDP_NINT_TOP, then the large ones. */
#define LV_RDP_NINT_TOP 256
/* lv_dpsgd_sigma: search range and relative width of the final bracket. */
#define LV_SIGMA_MAX 1e6
#define LV_SIGMA_REL_WIDTH 1e-10
#define LV_SIGMA_MAX_ITER 400

static const int lv_rdp_large_orders[LV_RDP_NORDERS - (LV_RDP_NINT_TOP - 1)] = {
	384, 512, 768, 1024};

/*
 * lv_up returns x (>= 0) increased by k units of relative rounding error
 * and then to the next double: an upper bound on a value computed with at
 * most k roundings. NaN and +inf are returned unchanged.
 */
static double
lv_up(double x, double k)
{
	if (isnan(x) || isinf(x))
		return x;
	return nextafter(x * (1.0 + k * DBL_EPSILON), INFINITY);
}

/*
 * lv_log_expm1 returns log(e^x - 1) for x > 0 without overflow: x +
 * log1p(-e^-x) for large x.
 */
static double
lv_log_expm1(double x)
{
	if (x > 36.0)
		return x + log1p(-exp(-x));
	return log(expm1(x));
}

/* lv_valid_relation returns 1 when relation is a known neighbouring relation. */
static int
lv_valid_relation(int relation)
{
	return relation == LV_REL_ADD_REMOVE || relation == LV_REL_REPLACE_ONE;
}

/*
 * lv_rdp_gaussian returns alpha / (2 sigma^2), rounded up: the RDP of the
 * Gaussian mechanism with noise multiplier sigma at order alpha > 1.
 */
double
lv_rdp_gaussian(double sigma, double alpha)
{
	if (isnan(sigma) || isnan(alpha) || sigma < 0.0 || !(alpha > 1.0))
		return NAN;
	if (sigma == 0.0)
		return INFINITY;
	if (isinf(sigma))
		return 0.0;
	/* sigma^2, 2 sigma^2 (exact), the quotient: two roundings */
	return lv_up(alpha / (2.0 * (sigma * sigma)), 4.0);
}

/*
 * lv_rdp_sg returns the RDP of the subsampled Gaussian at integer order
 * alpha for 0 < q < 1 and 0 < sigma < inf (checked by the caller);
 * lgf[j] = lgamma(j + 1) for j <= alpha, or NULL to call lgamma.
 *
 * A_alpha - 1 = sum_{k=2}^{alpha} C(alpha,k) (1-q)^(alpha-k) q^k
 * expm1(c (k^2 - k)), c = 1/(2 sigma^2), is summed in log space (one pass,
 * running maximum); every term is positive, so there is no cancellation.
 * Each log term t_k carries an error bound of 16 ulps of the sum of the
 * magnitudes of its parts (lgamma is accurate to a few ulps, the rest to
 * one or two roundings each; the argument x of log(expm1(x)) has relative
 * error <= 4 ulps and the slope of log(expm1(x)) is <= 1 + 1/x, hence the
 * x + 1), and log(A - 1) is raised by the largest such bound plus the
 * rounding of the sum, before log1p(A - 1) / (alpha - 1) is rounded up.
 */
static double
lv_rdp_sg(double q, double sigma, int alpha, const double *lgf)
{
	double c = 0.5 / (sigma * sigma);
	double l1q = log1p(-q);
	double lq = log(q);
	double lga = lgf ? lgf[alpha] : lgamma(alpha + 1.0);
	double m = -INFINITY,
		   s = 0.0,
		   errmax = 0.0,
		   la1,
		   r;
	int k;

	if (isinf(c))
		return INFINITY;
	for (k = 2; k <= alpha; k++)
	{
		double lgk = lgf ? lgf[k] : lgamma(k + 1.0);
		double lgak = lgf ? lgf[alpha - k] : lgamma(alpha - k + 1.0);
		double x = c * ((double) k * (double) k - (double) k);
		double lem,
			p1,
			p2,
			t,
			err;

		if (isinf(x))
			return INFINITY;
		lem = lv_log_expm1(x);
		p1 = (double) (alpha - k) * l1q;
		p2 = (double) k * lq;
		t = lga - lgk - lgak + p1 + p2 + lem;
		err = 16.0 * DBL_EPSILON *
			  (fabs(lga) + fabs(lgk) + fabs(lgak) + fabs(p1) + fabs(p2) +
			   fabs(lem) + x + 1.0);
		if (err > errmax)
			errmax = err;
		if (t == -INFINITY)
			continue;
		if (t > m)
		{
			s = s * exp(m - t) + 1.0;
			m = t;
		}
		else
			s += exp(t - m);
	}
	if (m == -INFINITY)
		return 0.0; /* every term underflowed: c (k^2 - k) == 0 */

	/* log(A - 1), raised by the term errors and the summation's rounding */
	la1 = m + log(s);
	la1 += errmax + (4.0 * alpha + 8.0) * DBL_EPSILON * (1.0 + fabs(la1));

	/* log1p(A - 1) = log1p(e^la1), stable on both sides of 0 */
	if (la1 < 0.0)
		r = log1p(exp(la1));
	else
		r = la1 + log1p(exp(-la1));
	return lv_up(r / (alpha - 1.0), 8.0);
}

/*
 * lv_rdp_subsampled_gaussian returns the RDP at integer order alpha of one
 * step of the Poisson-subsampled Gaussian mechanism (add/remove-one), with
 * a bound on its floating-point error added (lv_rdp_sg).
 */
double
lv_rdp_subsampled_gaussian(double q, double sigma, int alpha)
{
	if (isnan(q) || isnan(sigma) || q < 0.0 || q > 1.0 || sigma < 0.0 ||
		alpha < 2 || alpha > LV_RDP_MAX_ORDER)
		return NAN;
	if (q == 0.0 || isinf(sigma))
		return 0.0;
	if (q == 1.0)
		return lv_rdp_gaussian(sigma, (double) alpha);
	if (sigma == 0.0)
		return INFINITY;
	return lv_rdp_sg(q, sigma, alpha, NULL);
}

/*
 * lv_rdp_orders writes the accountant's orders: 2..256, 384, 512, 768, 1024.
 */
void
lv_rdp_orders(double *orders)
{
	int i;

	for (i = 0; i < LV_RDP_NINT_TOP - 1; i++)
		orders[i] = (double) (i + 2);
	for (i = LV_RDP_NINT_TOP - 1; i < LV_RDP_NORDERS; i++)
		orders[i] = (double) lv_rdp_large_orders[i - (LV_RDP_NINT_TOP - 1)];
}

/*
 * lv_dpsgd_rdp writes the total RDP of steps DP-SGD steps at the orders of
 * lv_rdp_orders: steps times the per-step RDP (sigma halved for
 * replace-one), each product rounded up. Returns 0, or -1 on bad input.
 */
int
lv_dpsgd_rdp(double q, double sigma, long steps, int relation, double *rdp)
{
	double orders[LV_RDP_NORDERS];
	double lgf[LV_RDP_TABLE_ORDER + 1];
	double s;
	int i;

	if (isnan(q) || isnan(sigma) || q < 0.0 || q > 1.0 || sigma < 0.0 ||
		steps < 0 || !lv_valid_relation(relation) || rdp == NULL)
		return -1;

	/* replace-one: sensitivity 2C, i.e. noise multiplier sigma/2 (exact) */
	s = relation == LV_REL_REPLACE_ONE ? sigma / 2.0 : sigma;
	lv_rdp_orders(orders);
	for (i = 0; i <= LV_RDP_TABLE_ORDER; i++)
		lgf[i] = lgamma(i + 1.0);

	for (i = 0; i < LV_RDP_NORDERS; i++)
	{
		int alpha = (int) orders[i];
		double r;

		if (steps == 0 || q == 0.0 || isinf(s))
			r = 0.0;
		else if (q == 1.0)
			r = lv_rdp_gaussian(s, orders[i]);
		else if (s == 0.0)
			r = INFINITY;
		else
			r = lv_rdp_sg(q, s, alpha, lgf);

		if (r == 0.0 || isinf(r))
			rdp[i] = r;
		else
			rdp[i] = nextafter((double) steps * r, INFINITY);
	}
	return 0;
}

/*
 * lv_rdp_to_dp returns the smallest epsilon over the orders by the
 * conversion of Canonne, Kamath & Steinke 2020, each candidate raised by a
 * bound on its floating-point error (8 ulps of the sum of the magnitudes of
 * its parts; log((alpha-1)/alpha) is computed as log(alpha-1) - log(alpha),
 * alpha - 1 being exact for alpha <= 2), never below 0, rounded up; 0 at an
 * order where delta^2 >= 1 - e^-rdp (total variation <= delta).
 */
double
lv_rdp_to_dp(const double *orders, const double *rdp, int n, double delta,
			 double *opt_order)
{
	double best = INFINITY,
		   best_order = NAN,
		   ld;
	int i;

	if (opt_order != NULL)
		*opt_order = NAN;
	if (orders == NULL || rdp == NULL || n < 1 || isnan(delta) ||
		!(delta > 0.0 && delta < 1.0))
		return NAN;
	for (i = 0; i < n; i++)
		if (isnan(orders[i]) || !(orders[i] > 1.0) || isnan(rdp[i]) ||
			rdp[i] < 0.0)
			return NAN;

	ld = log(delta);
	for (i = 0; i < n; i++)
	{
		double a = orders[i],
			   r = rdp[i];
		double lam1,
			la,
			e,
			err;

		if (isinf(r) || isinf(a))
			continue;
		/* Bretagnolle-Huber: TV <= sqrt(1 - e^-KL), KL <= rdp */
		if (delta * delta * (1.0 - 4.0 * DBL_EPSILON) >=
			-expm1(-r) * (1.0 + 4.0 * DBL_EPSILON))
		{
			best = 0.0;
			best_order = a;
			break;
		}
		lam1 = log(a - 1.0);
		la = log(a);
		e = r + (lam1 - la) - (ld + la) / (a - 1.0);
		err = 8.0 * DBL_EPSILON *
			  (r + fabs(lam1) + fabs(la) + (fabs(ld) + fabs(la)) / (a - 1.0) +
			   fabs(e));
		e += err;
		if (e < best)
		{
			best = e;
			best_order = a;
		}
	}
	if (isinf(best))
		return INFINITY;
	if (opt_order != NULL)
		*opt_order = best_order;
	if (best <= 0.0)
		return 0.0;
	return nextafter(best, INFINITY);
}

/*
 * lv_dpsgd_epsilon returns the epsilon at delta of steps DP-SGD steps:
 * lv_dpsgd_rdp at the default orders, then lv_rdp_to_dp.
 */
double
lv_dpsgd_epsilon(double q, double sigma, long steps, double delta,
				 int relation)
{
	double orders[LV_RDP_NORDERS];
	double rdp[LV_RDP_NORDERS];

	if (isnan(delta) || !(delta > 0.0 && delta < 1.0))
		return NAN;
	if (lv_dpsgd_rdp(q, sigma, steps, relation, rdp) != 0)
		return NAN;
	lv_rdp_orders(orders);
	return lv_rdp_to_dp(orders, rdp, LV_RDP_NORDERS, delta, NULL);
}

/*
 * lv_dpsgd_sigma returns the smallest noise multiplier meeting (eps, delta)
 * (bisection keeping epsilon(lo) > eps >= epsilon(hi), starting from
 * lo = 0, where the epsilon is infinite; returns hi).
 */
double
lv_dpsgd_sigma(double q, long steps, double eps, double delta,
			   int relation)
{
	double lo = 0.0,
		   hi = 1.0;
	int iter;

	if (isnan(q) || q < 0.0 || q > 1.0 || steps < 0 || isnan(eps) ||
		!isfinite(eps) || !(eps > 0.0) || isnan(delta) ||
		!(delta > 0.0 && delta < 1.0) || !lv_valid_relation(relation))
		return NAN;
	if (q == 0.0 || steps == 0)
		return 0.0;

	while (!(lv_dpsgd_epsilon(q, hi, steps, delta, relation) <= eps))
	{
		lo = hi;
		hi *= 2.0;
		if (hi > LV_SIGMA_MAX)
			return NAN;
	}
	for (iter = 0; iter < LV_SIGMA_MAX_ITER; iter++)
	{
		double mid = lo + (hi - lo) / 2.0;

		if (hi - lo <= LV_SIGMA_REL_WIDTH * hi || mid <= lo || mid >= hi)
			break;
		if (lv_dpsgd_epsilon(q, mid, steps, delta, relation) <= eps)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

/* lv_dpsgd_gaussian_epsilon composes DP-SGD with a Gaussian (lv_accountant.h). */
double
lv_dpsgd_gaussian_epsilon(double q, double sigma, long steps, int relation,
						  double mu, double delta)
{
	double orders[LV_RDP_NORDERS];
	double rdp[LV_RDP_NORDERS];
	int i;

	lv_rdp_orders(orders);
	if (lv_dpsgd_rdp(q, sigma, steps, relation, rdp) != 0 || isnan(mu) || mu < 0.0)
		return NAN;
	if (mu > 0)
	{
		/* the Gaussian mechanism of sensitivity 1 and sd 1/mu, sd rounded down */
		double sd = nextafter(1.0 / mu, 0.0);

		for (i = 0; i < LV_RDP_NORDERS; i++)
			rdp[i] = lv_round_up(rdp[i] + lv_rdp_gaussian(sd, orders[i]));
	}
	return lv_rdp_to_dp(orders, rdp, LV_RDP_NORDERS, delta, NULL);
}

/* lv_dpsgd_gaussian_mu: the Gaussian that fills a budget (lv_accountant.h). */
double
lv_dpsgd_gaussian_mu(double q, double sigma, long steps, int relation,
					 double eps, double delta)
{
	double lo = 0,
		   hi = 64;
	int it;

	for (it = 0; it < 200 && hi - lo > 1e-9 * hi; it++)
	{
		double mid = 0.5 * (lo + hi);

		if (lv_dpsgd_gaussian_epsilon(q, sigma, steps, relation, mid, delta) <= eps)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}
