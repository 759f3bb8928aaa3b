/*
 * lv_privacy.c - the privacy arithmetic of lipvae: Gaussian differential
 * privacy conversions (Dong, Roth & Su 2019; exact (eps, delta) profile of
 * the Gaussian mechanism, Balle & Wang 2018), the encoding diameter, DP
 * bounds for numeric columns and DP category selection. No PostgreSQL here.
 *
 * Every conversion rounds so that the privacy loss is overstated.
 */
#include "lv_privacy.h"
#include "lv_exact.h"
#include "lv_model.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* Bisection limits. */
#define LV_GDP_MAX_ITER 4000
#define LV_GDP_SEARCH_MAX 1e6

/* Stage-1 histogram of lv_dp_bounds: exponents -10..62 on each side. */
#define LV_BOUNDS_EMIN (-10)
#define LV_BOUNDS_EMAX 62
#define LV_BOUNDS_NEXP (LV_BOUNDS_EMAX - LV_BOUNDS_EMIN + 1) /* 73 */
#define LV_BOUNDS_NBINS1 (2 * LV_BOUNDS_NEXP + 1)            /* 147 */
#define LV_BOUNDS_ZERO LV_BOUNDS_NEXP                        /* index of the zero bin */
#define LV_BOUNDS_NBINS2 256
#define LV_BOUNDS_BETA 0.01
#define LV_BOUNDS_TAIL 0.005  /* quantiles used as bounds: 0.5% and 99.5% */
#define LV_EM_CANDIDATES 1025 /* real candidates of a quantile */
#define LV_EM_INT_MAX 4096    /* integer candidates up to this range */

/* lv_cmp_double orders doubles ascending for qsort. */
static int
lv_cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a,
		   y = *(const double *) b;

	return (x > y) - (x < y);
}

/* lv_count_below returns #{x <= c} (strict: #{x < c}) in sorted[0..m). */
static size_t
lv_count_below(const double *sorted, size_t m, double c, int strict)
{
	size_t lo = 0,
		   hi = m;

	while (lo < hi)
	{
		size_t mid = lo + (hi - lo) / 2;

		if (strict ? sorted[mid] < c : sorted[mid] <= c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * lv_em_candidate returns candidate i of nc over [A, B]: every integer from
 * ceil(A) when step == 1, else A + i (B - A) / (nc - 1).
 */
static double
lv_em_candidate(double A, double B, int nc, int integer_grid, int i)
{
	if (integer_grid)
		return ceil(A) + i;
	return (i == nc - 1) ? B : A + (B - A) * i / (nc - 1);
}

/*
 * lv_em_quantile picks the q-quantile of sorted[0..m) (from_top: the
 * (1-q)-quantile, counting from above) among public
 * candidates of [A, B] (every integer when integer != 0 and B - A <=
 * LV_EM_INT_MAX, else LV_EM_CANDIDATES equally spaced points) with the
 * exponential mechanism: score u(c) = -max(0, t - #{x <= c}, #{x < c} - t)
 * (from_top: with #{x >= c} and #{x > c}), t = q m, whose sensitivity under replace-one neighbours (where m, the
 * number of non-NULL values, may change by one) is at most 1 + q; a
 * candidate is drawn with probability proportional to exp(eps u / (2 (1+q))),
 * which is eps-DP. Returns NaN when out of memory.
 */
static double
lv_em_quantile(const double *sorted, size_t m, double A, double B, double q,
			   int from_top, double eps, int integer, lv_stream *rng)
{
	int integer_grid = integer && (floor(B) - ceil(A)) <= LV_EM_INT_MAX;
	int nc = integer_grid ? (int) (floor(B) - ceil(A)) + 1 : LV_EM_CANDIDATES;
	double *logw;
	double t = q * (double) m;
	double scale = eps / (2.0 * (1.0 + q));
	double mx = -INFINITY,
		   sum = 0.0,
		   u,
		   acc;
	int i;

	if (nc < 1)
	{
		integer_grid = 0;
		nc = LV_EM_CANDIDATES;
	}
	logw = (double *) malloc(nc * sizeof(double));
	if (logw == NULL)
		return NAN;
	for (i = 0; i < nc; i++)
	{
		double c = lv_em_candidate(A, B, nc, integer_grid, i);
		double le = (double) lv_count_below(sorted, m, c, 0);
		double lt = (double) lv_count_below(sorted, m, c, 1);
		double bad;

		if (from_top)
		{
			/* counted from above: #{x >= c} = m - lt, #{x > c} = m - le */
			double ge = (double) m - lt,
				   gt = (double) m - le;

			bad = fmax(0.0, fmax(t - ge, gt - t));
		}
		else
			bad = fmax(0.0, fmax(t - le, lt - t));

		logw[i] = -scale * bad;
		if (logw[i] > mx)
			mx = logw[i];
	}
	for (i = 0; i < nc; i++)
		sum += exp(logw[i] - mx);
	u = lv_stream_uniform(rng) * sum;
	acc = 0.0;
	for (i = 0; i < nc - 1; i++)
	{
		acc += exp(logw[i] - mx);
		if (u <= acc)
			break;
	}
	free(logw);
	return lv_em_candidate(A, B, nc, integer_grid, i);
}

/* lv_phi returns the standard normal CDF, 0.5 erfc(-x/sqrt 2), accurate in both tails. */
double
lv_phi(double x)
{
	return 0.5 * erfc(-x * M_SQRT1_2);
}

/*
 * lv_phil is lv_phi in long double: the GDP conversions evaluate delta in
 * long double, because Phi(a) - e^eps Phi(b) cancels heavily for small mu.
 */
static long double
lv_phil(long double x)
{
	return 0.5L * erfcl(-x * 0.707106781186547524400844362104849039L);
}

/*
 * lv_log_phil returns log Phi(x) without underflow: log(lv_phil(x)) for
 * x > -30, else, with t = -x, -t^2/2 - log sqrt(2 pi) - log CF from the
 * Laplace continued fraction of the Mills ratio,
 * Phi(-t) = phi(t) / CF, CF = t + 1/(t + 2/(t + 3/(t + ...))),
 * which has full precision for t >= 30 with 60 terms.
 */
static long double
lv_log_phil(long double x)
{
	long double t,
		cf;
	int k;

	if (x > -30.0L)
		return logl(lv_phil(x));
	if (isinf(x))
		return -INFINITY;
	t = -x;
	cf = t;
	for (k = 60; k >= 1; k--)
		cf = t + k / cf;
	return -0.5L * t * t - logl(cf) -
		   0.918938533204672741780329736405617640L; /* log sqrt(2 pi) */
}

/*
 * lv_gdp_deltal returns Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2) in
 * long double for mu > 0 and finite eps >= 0, the second term computed as
 * exp(eps + log Phi(.)) when e^eps or Phi(.) could leave the range of a
 * double, and sets *err to a bound on its floating-point error: each term
 * has relative error at most 8 ulps times (1 + (|b| + 1)(eps/mu + mu)
 * + eps + b^2) (rounding of the arguments amplified by the slope of log
 * Phi, which is at most |x| + 1, and of exp's argument), taken with a
 * factor 4 to spare. Not clamped.
 */
static long double
lv_gdp_deltal(long double mu, long double eps, long double *err)
{
	long double a = -eps / mu + mu / 2;
	long double b = -eps / mu - mu / 2;
	long double t1,
		t2;

	t1 = lv_phil(a);
	if (eps <= 700.0L && b > -30.0L)
		t2 = expl(eps) * lv_phil(b);
	else
		t2 = expl(eps + lv_log_phil(b));
	if (t1 + t2 == 0.0L)
		*err = 0.0L;
	else
		*err = 32.0L * LDBL_EPSILON * (t1 + t2) *
			   (1.0L + (fabsl(b) + 1.0L) * (fabsl(eps) / mu + mu) +
				fabsl(eps) + b * b);
	return t1 - t2;
}

/*
 * lv_gdp_delta_upper returns lv_gdp_deltal plus slack times its error bound:
 * an upper bound on the exact delta (slack >= 1). Used by the bisections.
 */
static long double
lv_gdp_delta_upper(double mu, double eps, long double slack)
{
	long double err;
	long double d = lv_gdp_deltal(mu, eps, &err);

	d += slack * err;
	if (isnan(d))
		return 1.0L; /* cannot evaluate: assume the worst */
	return d;
}

/*
 * lv_gdp_delta returns the smallest delta for which mu-GDP is (eps,delta)-DP:
 * Phi(-eps/mu + mu/2) - e^eps Phi(-eps/mu - mu/2), evaluated in long double
 * without overflow for large eps, plus a bound on the floating-point error
 * of that evaluation (so it is never understated). mu <= 0 gives 0,
 * mu = +inf gives 1, eps = +inf gives 0, NaN input gives NaN; the result is
 * clamped to [0, 1].
 */
double
lv_gdp_delta(double mu, double eps)
{
	long double d;

	if (isnan(mu) || isnan(eps))
		return NAN;
	if (mu <= 0.0)
		return 0.0;
	if (isinf(mu))
		return 1.0;
	if (isinf(eps))
		return eps > 0 ? 0.0 : 1.0;

	d = lv_gdp_delta_upper(mu, eps, 1.0L);
	if (d < 0.0L)
		d = 0.0L;
	if (d > 1.0L)
		d = 1.0L;
	return (double) d;
}

/*
 * lv_gdp_epsilon returns an epsilon >= the smallest eps for which mu-GDP is
 * (eps, delta)-DP: bisection on the decreasing function eps -> delta(mu,
 * eps) (as lv_gdp_delta, error bound included), keeping delta(lo) > delta
 * >= delta(hi), run until the bracket is one ulp wide (relative width well
 * below 1e-12); returns hi. mu <= 0 gives 0, delta outside (0,1) or NaN
 * input gives NaN, mu = +inf gives +inf, and a mu so large that no
 * eps <= 1e6 suffices gives +inf (overstated).
 */
double
lv_gdp_epsilon(double mu, double delta)
{
	double lo,
		hi;
	int iter;

	if (isnan(mu) || isnan(delta) || !(delta > 0.0 && delta < 1.0))
		return NAN;
	if (mu <= 0.0)
		return 0.0;
	if (isinf(mu))
		return INFINITY;
	if (lv_gdp_delta_upper(mu, 0.0, 1.0L) <= delta)
		return 0.0;

	lo = 0.0;
	hi = 1.0;
	while (lv_gdp_delta_upper(mu, hi, 1.0L) > delta)
	{
		lo = hi;
		hi *= 2.0;
		if (hi > LV_GDP_SEARCH_MAX)
			return INFINITY;
	}

	for (iter = 0; iter < LV_GDP_MAX_ITER; iter++)
	{
		double mid = lo + (hi - lo) / 2.0;

		if (mid <= lo || mid >= hi)
			break;
		if (lv_gdp_delta_upper(mu, mid, 1.0L) > delta)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

/*
 * lv_gdp_mu returns a mu <= the largest mu for which mu-GDP is
 * (eps, delta)-DP: bisection on the increasing function mu -> delta(mu, eps),
 * keeping delta(lo) <= delta < delta(hi), until the bracket is one ulp
 * wide; returns lo. delta(mu) here includes 5 times the error bound (lv_gdp_delta
 * includes it once), so that lv_gdp_epsilon(lv_gdp_mu(eps, delta), delta)
 * <= eps even though the computed delta is not exactly monotone. NaN for
 * eps < 0, non-finite eps, delta outside (0,1) or NaN.
 */
double
lv_gdp_mu(double eps, double delta)
{
	double lo,
		hi;
	int iter;

	if (isnan(eps) || isnan(delta) || !isfinite(eps) || eps < 0.0 ||
		!(delta > 0.0 && delta < 1.0))
		return NAN;

	lo = 0.0;
	hi = 1.0;
	while (lv_gdp_delta_upper(hi, eps, 5.0L) <= delta)
	{
		lo = hi;
		hi *= 2.0;
		if (hi > LV_GDP_SEARCH_MAX)
			return lo; /* understated mu: overstated loss */
	}

	for (iter = 0; iter < LV_GDP_MAX_ITER; iter++)
	{
		double mid = lo + (hi - lo) / 2.0;

		if (mid <= lo || mid >= hi)
			break;
		if (lv_gdp_delta_upper(mid, eps, 5.0L) <= delta)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * lv_encoding_diameter returns the L2 diameter of the encoded domain:
 * sqrt(n_numeric + 2 n_categorical + n_nullable_numeric).
 */
double
lv_encoding_diameter(int n_numeric, int n_categorical,
					 int n_nullable_numeric)
{
	return sqrt((double) n_numeric + 2.0 * (double) n_categorical +
				(double) n_nullable_numeric);
}

/* lv_round_up returns the next double above x (NaN and +inf unchanged). */
double
lv_round_up(double x)
{
	return nextafter(x, INFINITY);
}

/*
 * lv_bounds_bin1 returns the stage-1 bin of x, bins ordered from the most
 * negative to the most positive: 0..72 are (-2^(e+1), -2^e] for e = 62
 * down to -10, 73 is the zero bin (-2^-10, 2^-10), 74..146 are
 * [2^e, 2^(e+1)) for e = -10..62. Magnitudes >= 2^63 (and infinities) go
 * to the extreme bins. NaN returns -1.
 */
static int
lv_bounds_bin1(double x)
{
	double ax = fabs(x);
	int ex,
		e;

	if (isnan(x))
		return -1;
	if (ax < ldexp(1.0, LV_BOUNDS_EMIN))
		return LV_BOUNDS_ZERO;
	if (isinf(ax))
		e = LV_BOUNDS_EMAX;
	else
	{
		(void) frexp(ax, &ex); /* ax = f 2^ex, f in [0.5, 1) */
		e = ex - 1;            /* ax in [2^e, 2^(e+1)) */
		if (e > LV_BOUNDS_EMAX)
			e = LV_BOUNDS_EMAX;
	}
	if (x > 0)
		return LV_BOUNDS_ZERO + 1 + (e - LV_BOUNDS_EMIN);
	return LV_BOUNDS_ZERO - 1 - (e - LV_BOUNDS_EMIN);
}

/* lv_bounds_edge1 returns the lower (upper = 0) or upper (upper = 1) edge of stage-1 bin j. */
static double
lv_bounds_edge1(int j, int upper)
{
	int e;

	if (j == LV_BOUNDS_ZERO)
		return upper ? ldexp(1.0, LV_BOUNDS_EMIN) : -ldexp(1.0, LV_BOUNDS_EMIN);
	if (j > LV_BOUNDS_ZERO)
	{
		e = LV_BOUNDS_EMIN + (j - LV_BOUNDS_ZERO - 1);
		return upper ? ldexp(1.0, e + 1) : ldexp(1.0, e);
	}
	e = LV_BOUNDS_EMIN + (LV_BOUNDS_ZERO - 1 - j);
	return upper ? -ldexp(1.0, e) : -ldexp(1.0, e + 1);
}

/*
 * lv_dp_bounds estimates public bounds [lo, hi] for a numeric column from
 * its m non-NULL values with pure eps-DP under replace-one neighbours: two
 * noisy histograms (stage 1 over signed powers of two, stage 2 over 256
 * equal-width bins of the stage-1 range), each with eps/3; see lv_privacy.h.
 * Stage 1 adds exact discrete Laplace noise Lap_Z(t) to each integer bin
 * count, t = lv_laplace_scale_up(2/(eps/3)) >= 2/(eps/3) (a replaced row
 * moves two counts by one: L1 sensitivity 2, so (2/t)-DP <= eps/3-DP), drawn
 * from rng in bin order; the threshold is t ln(147/0.01): a bin whose true
 * count is 0 clears it with probability P(X > thr) <= e^(-thr/t)/(1 + e^(-1/t))
 * < 0.01/147 (the discrete tail, lv_exact.h), so with probability > 0.99 no
 * empty bin is taken for a populated one (a utility statement; the privacy
 * of stage 1 does not depend on the threshold). NaN values
 * are ignored (they fall in no bin). Stage-2 values outside [A, B] are
 * clamped to the end bins. Returns -1 (lo, hi untouched) when stage 1 finds
 * no bin, or when eps is not finite and positive.
 */
int
lv_dp_bounds(const double *vals, size_t m, double eps, int integer,
			 lv_stream *rng, double *lo, double *hi)
{
	double count1[LV_BOUNDS_NBINS1];
	int64_t exact1[LV_BOUNDS_NBINS1];
	double *sorted;
	size_t ms;
	double b,
		nmax,
		thr1,
		A,
		B,
		rlo,
		rhi;
	int jlo,
		jhi,
		j;
	size_t i;

	uint64_t tn,
		ts;

	if (!(eps > 0.0) || !isfinite(eps))
		return -1;
	if (lv_laplace_scale_up(2.0 / (eps / 3.0), &tn, &ts) != LV_OK)
		return -1;
	b = (double) tn / (double) ts; /* exact: a 33-bit dyadic, >= 2/(eps/3) */

	/* stage 1 (eps/3): signed powers of two, integer counts */
	for (j = 0; j < LV_BOUNDS_NBINS1; j++)
		exact1[j] = 0;
	for (i = 0; i < m; i++)
	{
		j = lv_bounds_bin1(vals[i]);
		if (j >= 0)
			exact1[j]++;
	}
	thr1 = b * log(LV_BOUNDS_NBINS1 / LV_BOUNDS_BETA);
	jlo = -1;
	jhi = -1;
	nmax = -INFINITY;
	for (j = 0; j < LV_BOUNDS_NBINS1; j++)
	{
		int64_t x;

		if (lv_discrete_laplace(rng, tn, ts, &x) != LV_OK)
			return -1;                        /* probability < e^-4095 */
		count1[j] = (double) (exact1[j] + x); /* now noisy */
		if (count1[j] > nmax)
			nmax = count1[j];
		if (count1[j] > thr1)
		{
			if (jlo < 0)
				jlo = j;
			jhi = j;
		}
	}
	if (jlo < 0)
	{
		/*
		 * No bin clears the threshold (few rows for the budget): if the
		 * largest noisy count reaches 9/10 of it (pure noise rarely does),
		 * fall back to the run of adjacent bins around the largest whose
		 * noisy counts reach a quarter of it: post-processing of the same
		 * noisy histogram.
		 */
		if (!(nmax >= 0.9 * thr1))
			return -1;
		for (j = 0; j < LV_BOUNDS_NBINS1; j++)
			if (count1[j] == nmax)
				break;
		jlo = jhi = j;
		while (jlo > 0 && count1[jlo - 1] >= 0.25 * nmax)
			jlo--;
		while (jhi < LV_BOUNDS_NBINS1 - 1 && count1[jhi + 1] >= 0.25 * nmax)
			jhi++;
	}
	else
	{
		/*
		 * The margin: at a small budget only the fullest bins clear the
		 * threshold, and the range would clip populated neighbours (kappa
		 * to [1, 2)); take in each adjacent run whose noisy counts reach a
		 * quarter of the threshold (post-processing; an empty bin does with
		 * probability < (0.01/147)^(1/4) < 0.1, and widens by one bin).
		 */
		while (jlo > 0 && count1[jlo - 1] >= 0.25 * thr1)
			jlo--;
		while (jhi < LV_BOUNDS_NBINS1 - 1 && count1[jhi + 1] >= 0.25 * thr1)
			jhi++;
	}
	A = lv_bounds_edge1(jlo, 0);
	B = lv_bounds_edge1(jhi, 1);

	/*
	 * Stage 2 only when it can be informative: the exponential mechanism's
	 * rank error, (2 * 1.005 / (eps/3)) ln(candidates / beta) with
	 * probability 1 - beta, must stay within a tenth of the noisy row count
	 * of stage 1 (post-processing of its histogram). Otherwise its answer
	 * is close to a uniform draw from [A, B] and would clip real values:
	 * keep stage 1's range, loose but never clipping the populated bins.
	 */
	{
		double ntot = 0.0;

		for (j = 0; j < LV_BOUNDS_NBINS1; j++)
			ntot += count1[j];
		if (!((2.0 * 1.005 / (eps / 3.0)) * log(4097.0 / LV_BOUNDS_BETA) <= 0.1 * ntot))
		{
			rlo = A;
			rhi = B;
			goto finish;
		}
	}

	/*
	 * stage 2 (eps/3 each): the LV_BOUNDS_TAIL and 1 - LV_BOUNDS_TAIL
	 * quantiles by the exponential mechanism over candidates of [A, B].
	 */
	sorted = (double *) malloc((m > 0 ? m : 1) * sizeof(double));
	if (sorted == NULL)
		return -1;
	ms = 0;
	for (i = 0; i < m; i++)
		if (!isnan(vals[i]))
			sorted[ms++] = fmin(fmax(vals[i], A), B); /* stage 1's range */
	qsort(sorted, ms, sizeof(double), lv_cmp_double);
	rlo = lv_em_quantile(sorted, ms, A, B, LV_BOUNDS_TAIL, 0, eps / 3.0, integer, rng);
	rhi = lv_em_quantile(sorted, ms, A, B, LV_BOUNDS_TAIL, 1, eps / 3.0, integer, rng);
	if (isnan(rlo) || isnan(rhi))
	{
		free(sorted);
		return -1;
	}
	free(sorted);
	if (rhi < rlo)
	{
		double t = rlo;

		rlo = rhi;
		rhi = t;
	}

finish:
	if (integer)
	{
		/*
		 * The integers inside [rlo, rhi] are those inside [ceil, floor]: no
		 * integer is clipped, and a bin edge at -2^-10 does not become -1.
		 */
		double ilo = ceil(rlo),
			   ihi = floor(rhi);

		if (ihi > ilo)
		{
			rlo = ilo;
			rhi = ihi;
		}
		else
		{
			rlo = floor(rlo);
			rhi = ceil(rhi);
		}
	}
	if (!(rhi > rlo))
	{
		if (integer)
			rhi = rlo + 1.0;
		else
			rhi = rlo + fmax(1e-9 * fabs(rlo), 1e-9);
		if (!(rhi > rlo))
			rhi = nextafter(rlo, INFINITY);
	}
	*lo = rlo;
	*hi = rhi;
	return 0;
}

/*
 * lv_dp_category_threshold returns the threshold of the row-level category
 * selection: lv_dp_category_threshold_units with r = 1.
 */
double
lv_dp_category_threshold(double eps, double delta)
{
	return lv_dp_category_threshold_units(eps, delta, 1);
}

/*
 * lv_dp_category_threshold_units returns the integer threshold T = r + k
 * for units of at most r rows, noise Lap_Z(t), t = lv_laplace_scale_up(
 * 2r/eps) >= 2r/eps, q = e^(-1/t). A unit's new categories (at most r,
 * each with an integer count c in [1, r]) are each kept with probability
 * P(c + X >= T) <= P(X >= k) = q^k / (1 + q) (k >= 1), so all of them
 * with probability <= r q^k / (1 + q), which is <= delta/2 exactly when
 * k >= t (ln(2r/delta) - ln(1 + q)); k is the smallest such integer, the
 * double evaluation raised by a relative 1e-12 (far above its rounding
 * error) so that it is never below the exact bound. NaN on bad input.
 */
double
lv_dp_category_threshold_units(double eps, double delta, int r)
{
	uint64_t tn,
		ts;
	double t,
		k;

	if (!(eps > 0.0) || !isfinite(eps) || !(delta > 0.0 && delta < 1.0) ||
		r < 1 || lv_laplace_scale_up(2.0 * r / eps, &tn, &ts) != LV_OK)
		return NAN;
	t = (double) tn / (double) ts; /* exact */
	k = t * (log(2.0 * r / delta) - log1p(exp(-1.0 / t)));
	k = ceil(k * (1.0 + 1e-12));
	if (k < 1.0)
		k = 1.0;
	return (double) r + k;
}

/* One passing category of lv_dp_select_categories. */
typedef struct lv_cat_noisy
{
	double noisy;
	int idx;
} lv_cat_noisy;

/* lv_cat_cmp orders categories by noisy count descending, then index ascending. */
static int
lv_cat_cmp(const void *pa, const void *pb)
{
	const lv_cat_noisy *a = (const lv_cat_noisy *) pa;
	const lv_cat_noisy *b = (const lv_cat_noisy *) pb;

	if (a->noisy > b->noisy)
		return -1;
	if (a->noisy < b->noisy)
		return 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/*
 * lv_dp_select_categories adds discrete Laplace noise Lap_Z(t), t >= 2/eps,
 * to each of the k integer counts (drawn from rng in order 0..k-1; see
 * lv_dp_select_categories_units) and sets keep[i] = 1 for those whose noisy
 * count reaches the threshold, keeping at most max_keep of them (largest
 * noisy counts, ties to the lower index); keep[i] = 0 otherwise. max_keep < 0
 * means no limit. Returns the number kept, or -1 (all keep[] = 0) on bad
 * input (k < 0, eps not finite positive, delta outside (0,1), a count that
 * is not an integer in [0, 2^53)) or when out of memory.
 */
int
lv_dp_select_categories(const double *counts, int k, double eps,
						double delta, int max_keep,
						lv_stream *rng, int *keep)
{
	return lv_dp_select_categories_units(counts, k, eps, delta, 1, max_keep,
										 rng, keep);
}

/*
 * lv_dp_select_categories_units is lv_dp_select_categories for units of at
 * most r rows (see lv_privacy.h); r = 1 is the row-level mechanism. The
 * counts are integers and so is the noise (exact discrete Laplace of scale
 * t >= 2r/eps: a replaced unit moves the counts by at most 2r in L1, so the
 * noisy counts of the categories present on both sides are (2r/t)-DP, pure),
 * and the noisy count c + X is formed in int64 before it is compared with
 * the integer threshold (lv_dp_category_threshold_units), so the release is
 * a function of c + X alone.
 */
int
lv_dp_select_categories_units(const double *counts, int k, double eps,
							  double delta, int r, int max_keep,
							  lv_stream *rng, int *keep)
{
	lv_cat_noisy *pass;
	uint64_t tn,
		ts;
	double thr;
	int npass = 0;
	int i;

	if (k < 0)
		return -1;
	for (i = 0; i < k; i++)
		keep[i] = 0;
	if (!(eps > 0.0) || !isfinite(eps) || !(delta > 0.0 && delta < 1.0) ||
		r < 1)
		return -1;
	for (i = 0; i < k; i++)
		if (!(counts[i] >= 0.0 && counts[i] < 0x1p53) ||
			counts[i] != floor(counts[i]))
			return -1;
	if (k == 0)
		return 0;
	thr = lv_dp_category_threshold_units(eps, delta, r);
	if (lv_laplace_scale_up(2.0 * r / eps, &tn, &ts) != LV_OK || isnan(thr))
		return -1;

	pass = (lv_cat_noisy *) malloc(sizeof(lv_cat_noisy) * (size_t) k);
	if (pass == NULL)
		return -1;

	for (i = 0; i < k; i++)
	{
		int64_t x;
		double noisy;

		if (lv_discrete_laplace(rng, tn, ts, &x) != LV_OK)
		{
			free(pass); /* probability < e^-4095, data-independent */
			return -1;
		}
		noisy = (double) ((int64_t) counts[i] + x);
		if (noisy >= thr)
		{
			pass[npass].noisy = noisy;
			pass[npass].idx = i;
			npass++;
		}
	}

	if (max_keep >= 0 && npass > max_keep)
	{
		qsort(pass, (size_t) npass, sizeof(lv_cat_noisy), lv_cat_cmp);
		npass = max_keep;
	}
	for (i = 0; i < npass; i++)
		keep[pass[i].idx] = 1;

	free(pass);
	return npass;
}
