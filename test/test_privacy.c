/*
 * test_privacy.c - unit tests of lv_privacy.c: the normal CDF, the GDP
 * conversions (against privacy.md's table, high-precision references
 * computed with mpmath, and an independently written formula), rounding
 * directions, the encoding diameter, DP bounds and DP category selection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

/*
 * valgrind runs long double arithmetic in 64-bit precision (a documented
 * limitation of its x87 emulation); the checks of the long-double GDP
 * conversions to 1e-9 and 1e-10 need the real 80-bit format, so they skip
 * themselves under valgrind (make -C test valgrind) and run everywhere else.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LV_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef LV_UNDER_VALGRIND
#define LV_UNDER_VALGRIND() 0
#endif

#include "lv_privacy.h"
#include "lv_exact.h"

static const uint8_t test_key[LV_KEY_BYTES] = {
	0x3a, 0x91, 0x07, 0xc4, 0x5e, 0x22, 0xf0, 0x18,
	0x6b, 0xd3, 0x44, 0x9a, 0x01, 0x7e, 0xb5, 0x2c,
	0x88, 0x13, 0x6f, 0xe2, 0x4d, 0xa0, 0x39, 0x57,
	0xc1, 0x0e, 0x92, 0x7b, 0x25, 0xfd, 0x64, 0xa8};

/* rel_err returns |a - b| / |b|. */
static double
rel_err(double a, double b)
{
	return fabs(a - b) / fabs(b);
}

/*
 * ref_delta is the Balle-Wang formula written independently, in long
 * double (range to e^11356, so no overflow for the eps used here).
 */
static long double
ref_delta(long double mu, long double eps)
{
	long double s = sqrtl(2.0L);
	long double t1 = 0.5L * erfcl((eps / mu - mu / 2) / s);
	long double t2 = expl(eps) * 0.5L * erfcl((eps / mu + mu / 2) / s);

	return t1 - t2;
}

/* lv_phi against reference values (mpmath, 40 digits). */
static void
test_phi(void **state)
{
	assert_true(lv_phi(0.0) == 0.5);
	assert_true(rel_err(lv_phi(-1.96), 0.024997895148220436213) < 1e-10);
	assert_true(rel_err(lv_phi(1.96), 0.97500210485177956379) < 1e-12);
	assert_true(rel_err(lv_phi(-5.0), 2.8665157187919391167e-7) < 1e-10);
	assert_true(rel_err(lv_phi(-10.0), 7.61985302416047e-24) < 1e-10);
	assert_true(rel_err(lv_phi(-20.0), 2.7536241186062336951e-89) < 1e-10);
	assert_true(rel_err(lv_phi(-37.0), 5.7255712225245768227e-300) < 1e-9);
	assert_true(lv_phi(40.0) == 1.0);
	assert_true(lv_phi(-INFINITY) == 0.0);
	assert_true(lv_phi(INFINITY) == 1.0);
	/* symmetry */
	assert_true(fabs(lv_phi(0.7) + lv_phi(-0.7) - 1.0) < 1e-15);
}

/* privacy.md: at delta = 1e-5, mu 0.142 0.268 0.502 0.925 1.666 -> eps 0.5 1 2 4 8. */
static void
test_gdp_epsilon_table(void **state)
{
	static const double mu[] = {0.142, 0.268, 0.502, 0.925, 1.666};
	static const double eps[] = {0.5, 1.0, 2.0, 4.0, 8.0};
	/* the same, to 17 digits with mpmath bisection */
	static const double exact[] = {
		0.49919287153347658, 0.99979056336727166, 2.0019966304464531,
		4.0003441898447341, 7.9998224541174082};
	int i;

	for (i = 0; i < 5; i++)
	{
		double e = lv_gdp_epsilon(mu[i], 1e-5);

		assert_true(rel_err(e, eps[i]) < 0.02);
		assert_true(rel_err(e, exact[i]) < 1e-9);
		assert_true(e >= exact[i] * (1 - 1e-12));
	}
	/* beyond the table: large mu, where e^eps * Phi(.) leaves double range */
	assert_true(rel_err(lv_gdp_epsilon(5.0, 1e-5), 33.103732335922465) < 1e-9);
	assert_true(rel_err(lv_gdp_epsilon(40.0, 1e-5), 969.64559193241359) < 1e-9);
	assert_true(rel_err(lv_gdp_mu(1.0, 1e-5), 0.26805112321129422) < 1e-9);
	assert_true(rel_err(lv_gdp_mu(1000.0, 1e-6), 40.24085489753497) < 1e-9);
}

/* Round trips mu <-> eps keep the loss overstated and are tight. */
static void
test_gdp_round_trip(void **state)
{
	static const double epss[] = {0.01, 0.1, 0.5, 1, 2, 4, 8, 16, 50, 300};
	static const double deltas[] = {1e-3, 1e-5, 1e-6, 1e-9, 1e-12};
	size_t a,
		b;

	if (LV_UNDER_VALGRIND())
		skip();
	for (a = 0; a < sizeof(epss) / sizeof(epss[0]); a++)
		for (b = 0; b < sizeof(deltas) / sizeof(deltas[0]); b++)
		{
			double eps = epss[a];
			double delta = deltas[b];
			double mu = lv_gdp_mu(eps, delta);
			double e2 = lv_gdp_epsilon(mu, delta);

			assert_true(mu > 0 && isfinite(mu));
			assert_true(e2 <= eps);
			assert_true((eps - e2) / eps <= 1e-9);
			/* the returned mu satisfies (eps, delta) */
			assert_true(lv_gdp_delta(mu, eps) <= delta);
			/* and is tight: a slightly larger mu does not */
			assert_true(lv_gdp_delta(mu * (1 + 1e-9), eps) > delta);
		}
}

/*
 * Rounding direction of lv_gdp_epsilon: the returned eps satisfies delta,
 * a slightly smaller one does not; checked with the library's own delta
 * and with the independent long-double formula.
 */
static void
test_gdp_rounding_direction(void **state)
{
	static const double mus[] = {0.05, 0.142, 0.268, 0.5, 1.0, 1.666, 3.0, 10.0};
	static const double deltas[] = {1e-3, 1e-5, 1e-6, 1e-10};
	size_t a,
		b;

	for (a = 0; a < sizeof(mus) / sizeof(mus[0]); a++)
		for (b = 0; b < sizeof(deltas) / sizeof(deltas[0]); b++)
		{
			double mu = mus[a];
			double delta = deltas[b];
			double e = lv_gdp_epsilon(mu, delta);
			long double d_ref;

			assert_true(e > 0 && isfinite(e));
			assert_true(lv_gdp_delta(mu, e) <= delta);
			assert_true(lv_gdp_delta(mu, e * (1 - 1e-9)) > delta);

			d_ref = ref_delta(mu, e);
			assert_true(d_ref <= delta * (1 + 1e-9L));
			assert_true(ref_delta(mu, e * (1 - 1e-6)) > delta);
			/* the two delta formulas agree */
			assert_true(fabsl(d_ref - lv_gdp_delta(mu, e)) <= 1e-9L * delta);
		}

	/* mu: the returned value satisfies delta, a slightly larger one not */
	{
		double mu = lv_gdp_mu(2.0, 1e-6);

		assert_true(ref_delta(mu, 2.0) <= 1e-6 * (1 + 1e-9L));
		assert_true(ref_delta(mu * (1 + 1e-6), 2.0) > 1e-6);
	}
}

/* lv_gdp_delta against the independent formula, including large eps. */
static void
test_gdp_delta(void **state)
{
	static const double mus[] = {0.1, 0.5, 1.0, 3.0, 20.0, 40.0};
	static const double epss[] = {0.0, 0.3, 1.0, 5.0, 50.0, 200.0, 800.0, 1000.0};
	size_t a,
		b;

	if (LV_UNDER_VALGRIND())
		skip();
	for (a = 0; a < sizeof(mus) / sizeof(mus[0]); a++)
		for (b = 0; b < sizeof(epss) / sizeof(epss[0]); b++)
		{
			double d = lv_gdp_delta(mus[a], epss[b]);
			long double r = ref_delta(mus[a], epss[b]);

			assert_true(d >= 0.0 && d <= 1.0);
			if (r > 1e-250L)
				assert_true(fabsl(d - r) <= 1e-10L * r + 1e-300L);
			else
				assert_true(d < 1e-240);
		}
	/* eps = 0: delta = 2 Phi(mu/2) - 1 */
	assert_true(rel_err(lv_gdp_delta(1.0, 0.0), 2 * lv_phi(0.5) - 1) < 1e-14);
	assert_true(lv_gdp_delta(0.0, 1.0) == 0.0);
	assert_true(lv_gdp_delta(-1.0, 1.0) == 0.0);
	assert_true(lv_gdp_delta(INFINITY, 1.0) == 1.0);
	assert_true(isnan(lv_gdp_delta(NAN, 1.0)));
}

/* Monotonicity of every conversion. */
static void
test_gdp_monotone(void **state)
{
	double prev;
	double x;

	/* eps increases with mu */
	prev = 0;
	for (x = 0.05; x < 20; x *= 1.3)
	{
		double e = lv_gdp_epsilon(x, 1e-6);

		assert_true(e > prev);
		prev = e;
	}
	/* eps decreases as delta grows */
	prev = INFINITY;
	for (x = 1e-14; x < 0.5; x *= 10)
	{
		double e = lv_gdp_epsilon(1.0, x);

		assert_true(e < prev);
		prev = e;
	}
	/* mu increases with eps */
	prev = 0;
	for (x = 0.01; x < 100; x *= 1.5)
	{
		double m = lv_gdp_mu(x, 1e-6);

		assert_true(m > prev);
		prev = m;
	}
	/* delta decreases with eps, increases with mu */
	prev = 1.0;
	for (x = 0.0; x < 10; x += 0.25)
	{
		double d = lv_gdp_delta(1.0, x);

		assert_true(d < prev);
		prev = d;
	}
	prev = 0.0;
	for (x = 0.1; x < 10; x += 0.25)
	{
		double d = lv_gdp_delta(x, 1.0);

		assert_true(d > prev);
		prev = d;
	}
}

/* Edge cases of the conversions. */
static void
test_gdp_edges(void **state)
{
	assert_true(lv_gdp_epsilon(0.0, 1e-5) == 0.0);
	assert_true(lv_gdp_epsilon(-1.0, 1e-5) == 0.0);
	assert_true(isnan(lv_gdp_epsilon(1.0, 0.0)));
	assert_true(isnan(lv_gdp_epsilon(1.0, 1.0)));
	assert_true(isnan(lv_gdp_epsilon(1.0, -0.1)));
	assert_true(isnan(lv_gdp_epsilon(NAN, 1e-5)));
	assert_true(isinf(lv_gdp_epsilon(INFINITY, 1e-5)));
	/* tiny mu with large delta: eps = 0 suffices */
	assert_true(lv_gdp_epsilon(1e-6, 0.1) == 0.0);

	assert_true(isnan(lv_gdp_mu(1.0, 0.0)));
	assert_true(isnan(lv_gdp_mu(1.0, 1.0)));
	assert_true(isnan(lv_gdp_mu(-1.0, 1e-5)));
	assert_true(isnan(lv_gdp_mu(NAN, 1e-5)));
	assert_true(isnan(lv_gdp_mu(INFINITY, 1e-5)));
	/* eps = 0: mu = 2 Phi^-1((1 + delta)/2), tiny but positive */
	{
		double m = lv_gdp_mu(0.0, 1e-5);

		assert_true(m > 0 && m < 1e-4);
		assert_true(lv_gdp_delta(m, 0.0) <= 1e-5);
	}
}

/* D = sqrt(#numeric + 2 #categorical + #nullable numeric). */
static void
test_encoding_diameter(void **state)
{
	assert_true(lv_encoding_diameter(0, 0, 0) == 0.0);
	assert_true(lv_encoding_diameter(1, 0, 0) == 1.0);
	assert_true(lv_encoding_diameter(0, 1, 0) == sqrt(2.0));
	assert_true(lv_encoding_diameter(0, 0, 1) == 1.0);
	assert_true(lv_encoding_diameter(3, 2, 1) == sqrt(8.0));
	assert_true(lv_encoding_diameter(5, 0, 5) == sqrt(10.0));
	assert_true(lv_encoding_diameter(4, 6, 0) == 4.0);
}

/* lv_round_up is the next double above. */
static void
test_round_up(void **state)
{
	assert_true(lv_round_up(1.0) == 1.0 + ldexp(1.0, -52));
	assert_true(lv_round_up(0.0) > 0.0);
	assert_true(lv_round_up(0.0) == ldexp(1.0, -1074));
	assert_true(lv_round_up(-1.0) == -1.0 + ldexp(1.0, -53));
	assert_true(lv_round_up(0.268) > 0.268);
	assert_true(nextafter(lv_round_up(0.268), 0.0) == 0.268);
	assert_true(isinf(lv_round_up(INFINITY)));
	assert_true(isnan(lv_round_up(NAN)));
}

/* run_bounds runs lv_dp_bounds with a fresh PREPROCESS stream at index idx. */
static int
run_bounds(const double *v, size_t m, double eps, int integer, uint64_t idx,
		   double *lo, double *hi)
{
	lv_stream rng;

	lv_stream_init(&rng, test_key, LV_DOMAIN_PREPROCESS, idx);
	return lv_dp_bounds(v, m, eps, integer, &rng, lo, hi);
}

/* Years 2000..2014 and ages 18..89: bounds near the truth. */
static void
test_dp_bounds_integer(void **state)
{
	const size_t m = 20000;
	double *v = malloc(m * sizeof(double));
	lv_stream g;
	double lo,
		hi;
	size_t i;
	uint64_t idx;

	assert_non_null(v);
	lv_stream_init(&g, test_key, LV_DOMAIN_TRAIN, 99);
	for (i = 0; i < m; i++)
		v[i] = 2000 + (double) lv_stream_below(&g, 15);
	for (idx = 0; idx < 5; idx++)
	{
		assert_int_equal(run_bounds(v, m, 1.0, 1, idx, &lo, &hi), 0);
		/* the 0.5% and 99.5% quantiles are the atoms 2000 and 2014 */
		assert_true(lo == 2000);
		assert_true(hi == 2014);
		assert_true(lo == floor(lo) && hi == floor(hi));
		assert_true(hi > lo);
	}

	for (i = 0; i < m; i++)
		v[i] = 18 + (double) lv_stream_below(&g, 72);
	for (idx = 0; idx < 5; idx++)
	{
		assert_int_equal(run_bounds(v, m, 1.0, 1, idx, &lo, &hi), 0);
		assert_true(lo >= 18 && lo <= 19);
		assert_true(hi >= 88 && hi <= 89);
		assert_true(lo == floor(lo) && hi == floor(hi));
	}

	/* negative integers -500..-100 */
	for (i = 0; i < m; i++)
		v[i] = -500 + (double) lv_stream_below(&g, 401);
	assert_int_equal(run_bounds(v, m, 1.0, 1, 0, &lo, &hi), 0);
	assert_true(lo >= -500 && lo <= -496);
	assert_true(hi >= -104 && hi <= -100);

	/* deterministic given the stream */
	{
		double lo2,
			hi2;

		assert_int_equal(run_bounds(v, m, 1.0, 1, 3, &lo, &hi), 0);
		assert_int_equal(run_bounds(v, m, 1.0, 1, 3, &lo2, &hi2), 0);
		assert_true(lo == lo2 && hi == hi2);
	}
	free(v);
}

/* Real values around zero and huge values. */
static void
test_dp_bounds_real(void **state)
{
	const size_t m = 20000;
	double *v = malloc(m * sizeof(double));
	lv_stream g;
	double lo,
		hi;
	size_t i;

	assert_non_null(v);
	lv_stream_init(&g, test_key, LV_DOMAIN_TRAIN, 98);
	for (i = 0; i < m; i++)
		v[i] = 2.0 * lv_stream_uniform(&g) - 1.0;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo >= -1.1 && lo <= -0.9);
	assert_true(hi >= 0.9 && hi <= 1.1);

	/* beyond 2^63 in magnitude: the extreme bins, finite bounds */
	for (i = 0; i < m; i++)
		v[i] = (i % 2) ? 1e300 : INFINITY;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo == ldexp(1.0, 63) && hi > lo && isfinite(hi));
	for (i = 0; i < m; i++)
		v[i] = -1e300;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo == -ldexp(1.0, 63) && hi > lo && hi < -ldexp(1.0, 62));

	/* NaNs are ignored */
	for (i = 0; i < m; i++)
		v[i] = (i % 4) ? 5.0 : NAN;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo <= 5.0 && hi > 5.0 && hi < 6.0);
	free(v);
}

/*
 * Few rows for the budget: the quantile stage would be close to a uniform
 * draw and is skipped, so the bounds are stage 1's power-of-two range (a
 * skewed column of 2000 values in (0.01, 20.5) at eps 0.3: its rank error
 * bound 2.01 / 0.1 ln(409700) = 259 exceeds 200, a tenth of the rows).
 * With a larger budget the quantile stage runs and the bounds are tighter
 * than the power-of-two range.
 */
static void
test_dp_bounds_uninformative_quantiles(void **state)
{
	const size_t m = 2000;
	double *v = malloc(m * sizeof(double));
	lv_stream g;
	double lo,
		hi;
	size_t i;
	int k;

	assert_non_null(v);
	lv_stream_init(&g, test_key, LV_DOMAIN_TRAIN, 97);
	for (i = 0; i < m; i++)
		v[i] = 0.01 + 20.49 * pow(lv_stream_uniform(&g), 3.0);
	for (k = 0; k < 5; k++)
	{
		lv_stream r;

		lv_stream_init(&r, test_key, LV_DOMAIN_PREPROCESS, 300 + k);
		assert_int_equal(lv_dp_bounds(v, m, 0.3, 0, &r, &lo, &hi), 0);
		/* powers of two: lo and hi are 0 or +-2^e */
		assert_true(lo == 0.0 || fabs(log2(fabs(lo)) - round(log2(fabs(lo)))) < 1e-12);
		assert_true(fabs(log2(fabs(hi)) - round(log2(fabs(hi)))) < 1e-12);
		assert_true(hi > lo);
	}
	/* at eps 5 the quantiles run: 20.5 is not rounded up to 32 */
	{
		lv_stream r;

		lv_stream_init(&r, test_key, LV_DOMAIN_PREPROCESS, 400);
		assert_int_equal(lv_dp_bounds(v, m, 5.0, 0, &r, &lo, &hi), 0);
		assert_true(hi < 21.0 && hi > 15.0);
	}
	free(v);
}

/*
 * The margin: 4000 values in [1, 2) and 900 in each of [0.5, 1) and [2, 4)
 * at a budget whose threshold (about 1,500) only the middle bin clears:
 * the neighbours, above a quarter of it, stay inside the bounds (without
 * the margin the bounds were [1, 2), clipping 31% of the values).
 */
static void
test_dp_bounds_margin(void **state)
{
	const size_t m = 5800;
	double *v = malloc(m * sizeof(double));
	double lo,
		hi;
	size_t i;
	int k;

	assert_non_null(v);
	for (i = 0; i < m; i++)
		v[i] = i < 4000 ? 1.0 + i / 4000.0 : i < 4900 ? 0.5 + (i - 4000) / 1800.0
													  : 2.0 + (i - 4900) / 450.0;
	for (k = 0; k < 8; k++)
	{
		assert_int_equal(run_bounds(v, m, 0.04, 0, 700 + k, &lo, &hi), 0);
		assert_true(lo <= 0.5);
		assert_true(hi >= 4.0);
		assert_true(lo >= 0.0 && hi <= 16.0); /* not stretched far */
	}
	free(v);
}

/* A constant column gives hi > lo, around the constant. */
static void
test_dp_bounds_constant(void **state)
{
	const size_t m = 5000;
	double *v = malloc(m * sizeof(double));
	double lo,
		hi;
	size_t i;

	assert_non_null(v);
	for (i = 0; i < m; i++)
		v[i] = 7.0;
	assert_int_equal(run_bounds(v, m, 1.0, 1, 0, &lo, &hi), 0);
	assert_true(lo <= 7.0 && hi >= 7.0 && hi > lo);
	assert_true(lo >= 4.0 && hi <= 8.0);
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	/* 7 is itself a candidate of the quantiles' grid: hi = 7 clips nothing */
	assert_true(lo <= 7.0 && hi >= 7.0 && hi > lo);
	/* few rows for the budget: loose (never clipping) inside stage 1's bin */
	assert_true(lo >= 4.0 && hi <= 8.0);

	for (i = 0; i < m; i++)
		v[i] = 0.0;
	assert_int_equal(run_bounds(v, m, 1.0, 1, 0, &lo, &hi), 0);
	assert_true(lo <= 0.0 && hi >= 0.0 && hi > lo);
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo <= 0.0 && hi > 0.0 && hi > lo);
	assert_true(lo >= -ldexp(1.0, -10) && hi <= ldexp(1.0, -10));

	/* tiny values of either sign fall in the zero bin (-2^-10, 2^-10) */
	for (i = 0; i < m; i++)
		v[i] = (i % 2) ? 1e-6 : -3e-5;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo <= -3e-5 && hi > 1e-6);
	assert_true(lo >= -ldexp(1.0, -10) && hi <= ldexp(1.0, -10));

	/* a power of two opens its bin: 1.0 is in [1, 2), -1.0 in (-2, -1] */
	for (i = 0; i < m; i++)
		v[i] = 1.0;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(lo == 1.0 && hi > 1.0 && hi <= 2.0);
	for (i = 0; i < m; i++)
		v[i] = -1.0;
	assert_int_equal(run_bounds(v, m, 1.0, 0, 0, &lo, &hi), 0);
	assert_true(hi == -1.0 && lo >= -2.0 && lo < -1.0);
	free(v);
}

/* Too few rows for the budget: -1; and hi > lo on many random inputs. */
static void
test_dp_bounds_failure_and_order(void **state)
{
	const double three[3] = {1.0, 2.0, 3.0};
	double v[2000];
	lv_stream g;
	double lo = -123,
		   hi = -456;
	uint64_t idx;
	int trial,
		ok = 0;

	/* far too few rows for the budget: mostly -1 (a noise bin rarely passes) */
	for (idx = 0; idx < 200; idx++)
		ok += (run_bounds(three, 3, 0.01, (int) (idx % 2), idx, &lo, &hi) == 0);
	assert_true(ok < 12);
	ok = 0;
	lo = -123;
	hi = -456;
	assert_int_equal(run_bounds(three, 3, 0.0, 0, 2, &lo, &hi), -1);
	assert_int_equal(run_bounds(three, 3, NAN, 0, 2, &lo, &hi), -1);
	assert_true(lo == -123 && hi == -456);

	lv_stream_init(&g, test_key, LV_DOMAIN_TRAIN, 97);
	for (trial = 0; trial < 60; trial++)
	{
		double scale = ldexp(1.0, (int) lv_stream_below(&g, 60) - 20);
		double shift = lv_stream_gaussian(&g) * scale;
		int i;

		for (i = 0; i < 2000; i++)
			v[i] = shift + scale * lv_stream_gaussian(&g);
		for (idx = 0; idx < 2; idx++)
		{
			double eps = (trial % 3 == 0) ? 0.1 : 1.0;

			if (run_bounds(v, 2000, eps, trial % 2, idx, &lo, &hi) == 0)
			{
				assert_true(hi > lo);
				assert_true(isfinite(lo) && isfinite(hi));
				ok++;
			}
		}
	}
	assert_true(ok > 60);

	/*
	 * 60 values spread thinly over [1024, 2048): whenever stage 1 finds
	 * that bin, the bounds cover it and stay within its neighbours (the
	 * margin takes in an empty neighbour with probability < 0.1).
	 */
	for (trial = 0; trial < 60; trial++)
		v[trial] = 1025 + 17 * trial;
	for (idx = 0; idx < 20; idx++)
		if (run_bounds(v, 60, 1.0, 0, idx, &lo, &hi) == 0)
			assert_true(lo >= 512.0 && hi <= 4096.0 && hi > lo);
}

/*
 * Stage 1's noise scale and threshold: m copies of one value fill one bin;
 * below the threshold T = t ln(147/0.01) (t = 6/eps rounded up), stage 1
 * still succeeds when the bin's noisy count reaches 0.9 T, i.e. with
 * probability P(m + X >= 0.9 T), X ~ Lap_Z(t): q^j / (1 + q) for
 * j = ceil(0.9 T - m) >= 1, else 1 - q^(1-j) / (1 + q) (plus about 1.3% for
 * a noise bin).
 */
static void
test_dp_bounds_stage1_threshold(void **state)
{
	const double eps = 1.0;
	uint64_t tn,
		ts;
	double b,
		thr,
		q;

	assert_int_equal(lv_laplace_scale_up(6.0 / eps, &tn, &ts), 0); /* stage 1 spends eps/3 */
	b = (double) tn / ts;
	assert_true(b >= 6.0 / eps && b <= 6.0 / eps * (1 + 1e-9));
	thr = b * log(147 / 0.01);
	q = exp(-1.0 / b);
	const int trials = 2000;
	double v[64];
	int a,
		i;

	for (i = 0; i < 64; i++)
		v[i] = 5.0;
	for (a = 0; a < 3; a++)
	{
		int m = (int) floor(0.9 * thr) + 4 * (a - 1); /* 47, 51, 55 */
		double j = ceil(0.9 * thr - m);
		double p = j >= 1 ? pow(q, j) / (1 + q) : 1 - pow(q, 1 - j) / (1 + q);
		int found = 0,
			t;
		double lo,
			hi;

		for (t = 0; t < trials; t++)
			found += (run_bounds(v, (size_t) m, eps, 0, 1000 + (uint64_t) t,
								 &lo, &hi) == 0);
		/* sd <= 0.0112; noise bins add up to about 0.013 */
		assert_true((double) found / trials - p > -0.04);
		assert_true((double) found / trials - p < 0.06);
	}
}

/*
 * The category threshold T = r + k against the discrete Laplace tail,
 * recomputed here in long double: the r new categories of a unit (counts
 * <= r) are all kept with probability <= r P(X >= k) = r q^k / (1 + q)
 * <= delta/2, k is the smallest integer with that property, and T is above
 * the continuous formula r + t ln(r/delta) (the discrete tail is heavier).
 * Bad input gives NaN.
 */
static void
test_category_threshold(void **state)
{
	static const struct
	{
		double eps,
			delta;
		int r;
	} c[] = {{1.0, 1e-6, 1}, {0.5, 1e-5, 1}, {2.0, 1e-9, 1}, {1.0, 1e-6, 5}, {0.1, 1e-8, 3}, {2.0, 0.3, 1}, {8.0, 1e-6, 1}, {0.01, 1e-7, 10}};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
	{
		double T = lv_dp_category_threshold_units(c[i].eps, c[i].delta, c[i].r);
		uint64_t tn,
			ts;
		long double t,
			q,
			k,
			half = (long double) c[i].delta / 2;

		assert_int_equal(lv_laplace_scale_up(2.0 * c[i].r / c[i].eps, &tn, &ts), 0);
		t = (long double) tn / ts;
		assert_true(t >= 2.0L * c[i].r / c[i].eps);
		q = expl(-1.0L / t);
		k = (long double) T - c[i].r;
		print_message("eps %g delta %g r %d: T = %.0f (continuous %.3f)\n", c[i].eps,
					  c[i].delta, c[i].r, T,
					  (double) (c[i].r + t * logl(c[i].r / (long double) c[i].delta)));
		assert_true(T == floor(T) && k >= 1);
		assert_true(c[i].r * powl(q, k) / (1 + q) <= half);
		if (k > 1)
			assert_true(c[i].r * powl(q, k - 1) / (1 + q) > half);
		assert_true(T >= c[i].r + t * logl(c[i].r / (long double) c[i].delta));
	}
	assert_true(lv_dp_category_threshold(1.0, 1e-6) ==
				lv_dp_category_threshold_units(1.0, 1e-6, 1));
	assert_true(isnan(lv_dp_category_threshold(0.0, 1e-6)));
	assert_true(isnan(lv_dp_category_threshold(1.0, 1.0)));
	assert_true(isnan(lv_dp_category_threshold_units(1.0, 1e-6, 0)));
}

/*
 * The documented delta share holds empirically: categories whose count is
 * r (the largest count a unit's new category can have) are each kept with
 * probability P(X >= T - r) <= delta/(2r), the exact discrete value.
 */
static void
test_category_threshold_frequency(void **state)
{
	static const struct
	{
		double eps,
			delta;
		int r;
	} c[] = {{2.0, 0.3, 1}, {1.0, 0.2, 3}, {4.0, 0.05, 2}};
	const int k = 20000;
	double *cnt = malloc(k * sizeof(double));
	int *keep = malloc(k * sizeof(int));
	size_t j;
	int i;

	assert_non_null(cnt);
	assert_non_null(keep);
	for (j = 0; j < sizeof(c) / sizeof(c[0]); j++)
	{
		double T = lv_dp_category_threshold_units(c[j].eps, c[j].delta, c[j].r);
		uint64_t tn,
			ts;
		double t,
			q,
			p,
			f,
			se;
		lv_stream rng;
		int n;

		assert_int_equal(lv_laplace_scale_up(2.0 * c[j].r / c[j].eps, &tn, &ts), 0);
		t = (double) tn / ts;
		q = exp(-1.0 / t);
		p = pow(q, T - c[j].r) / (1 + q);
		for (i = 0; i < k; i++)
			cnt[i] = c[j].r;
		lv_stream_init(&rng, test_key, LV_DOMAIN_PREPROCESS, 500 + j);
		n = lv_dp_select_categories_units(cnt, k, c[j].eps, c[j].delta, c[j].r, -1,
										  &rng, keep);
		f = (double) n / k;
		se = sqrt(p * (1 - p) / k);
		print_message("r %d: kept %.4f, exact %.4f, delta/(2r) %.4f\n", c[j].r, f, p,
					  c[j].delta / (2 * c[j].r));
		assert_true(p <= c[j].delta / (2 * c[j].r));
		assert_true(fabs(f - p) <= 5 * se);
	}
	/* counts must be integers: the noise is */
	cnt[0] = 1.5;
	assert_int_equal(lv_dp_select_categories(cnt, 2, 1.0, 1e-6, -1, NULL, keep), -1);
	cnt[0] = -1.0;
	assert_int_equal(lv_dp_select_categories(cnt, 2, 1.0, 1e-6, -1, NULL, keep), -1);
	free(cnt);
	free(keep);
}

/* run_select runs lv_dp_select_categories with a fresh PREPROCESS stream. */
static int
run_select(const double *c, int k, double eps, double delta, int max_keep,
		   uint64_t idx, int *keep)
{
	lv_stream rng;

	lv_stream_init(&rng, test_key, LV_DOMAIN_PREPROCESS, idx);
	return lv_dp_select_categories(c, k, eps, delta, max_keep, &rng, keep);
}

/* Large counts kept, singletons dropped, max_keep respected. */
static void
test_select_categories(void **state)
{
	const double counts[8] = {10000, 1, 5000, 1, 1, 300, 1, 2};
	int keep[8];
	int n;

	n = run_select(counts, 8, 1.0, 1e-6, 100, 0, keep);
	assert_int_equal(n, 3);
	assert_int_equal(keep[0], 1);
	assert_int_equal(keep[1], 0);
	assert_int_equal(keep[2], 1);
	assert_int_equal(keep[3], 0);
	assert_int_equal(keep[4], 0);
	assert_int_equal(keep[5], 1);
	assert_int_equal(keep[6], 0);
	assert_int_equal(keep[7], 0);

	n = run_select(counts, 8, 1.0, 1e-6, 2, 0, keep);
	assert_int_equal(n, 2);
	assert_int_equal(keep[0], 1);
	assert_int_equal(keep[2], 1);
	assert_int_equal(keep[5], 0);

	n = run_select(counts, 8, 1.0, 1e-6, 1, 0, keep);
	assert_int_equal(n, 1);
	assert_int_equal(keep[0], 1);
	assert_int_equal(keep[2], 0);

	n = run_select(counts, 8, 1.0, 1e-6, 0, 0, keep);
	assert_int_equal(n, 0);
	assert_int_equal(keep[0], 0);

	/* max_keep < 0: no limit */
	n = run_select(counts, 8, 1.0, 1e-6, -1, 0, keep);
	assert_int_equal(n, 3);

	/* bad input */
	keep[0] = 7;
	assert_int_equal(run_select(counts, 8, 0.0, 1e-6, 10, 0, keep), -1);
	assert_int_equal(keep[0], 0);
	assert_int_equal(run_select(counts, 8, 1.0, 0.0, 10, 0, keep), -1);
	assert_int_equal(run_select(counts, 0, 1.0, 1e-6, 10, 0, keep), 0);
}

/* Many singleton categories: none survive at eps = 1, delta = 1e-6. */
static void
test_select_singletons_dropped(void **state)
{
	const int k = 2000;
	double *c = malloc(k * sizeof(double));
	int *keep = malloc(k * sizeof(int));
	int i;

	assert_non_null(c);
	assert_non_null(keep);
	for (i = 0; i < k; i++)
		c[i] = 1.0;
	assert_int_equal(run_select(c, k, 1.0, 1e-6, k, 0, keep), 0);
	for (i = 0; i < k; i++)
		assert_int_equal(keep[i], 0);
	free(c);
	free(keep);
}

/*
 * The noise is Lap_Z(t), t = 2/eps = 4 here, around the count and the rule
 * is >= T: counts at T are kept with probability P(X >= 0) = 1/(1+q)
 * (q = e^(-1/4); not 1/2 as for the continuous Laplace), counts t below T
 * with P(X >= t) = e^-1/(1+q), t above with 1 - q^(t+1)/(1+q).
 */
static void
test_select_noise_scale(void **state)
{
	const int k = 4000;
	const double eps = 0.5;
	const double T = lv_dp_category_threshold(eps, 1e-6);
	const double b = 2.0 / eps;
	const double q = exp(-1.0 / b);
	const double off[3] = {0.0, -b, b};
	const double expect[3] = {1.0 / (1 + q), exp(-1.0) / (1 + q),
							  1.0 - pow(q, b + 1) / (1 + q)};
	double *c = malloc(k * sizeof(double));
	int *keep = malloc(k * sizeof(int));
	int i,
		j,
		n;

	assert_non_null(c);
	assert_non_null(keep);
	for (j = 0; j < 3; j++)
	{
		for (i = 0; i < k; i++)
			c[i] = T + off[j];
		n = run_select(c, k, eps, 1e-6, k, (uint64_t) j + 10, keep);
		/* sd <= 0.008 */
		assert_true(fabs((double) n / k - expect[j]) < 0.03);
	}
	free(c);
	free(keep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phi),
		cmocka_unit_test(test_gdp_epsilon_table),
		cmocka_unit_test(test_gdp_round_trip),
		cmocka_unit_test(test_gdp_rounding_direction),
		cmocka_unit_test(test_gdp_delta),
		cmocka_unit_test(test_gdp_monotone),
		cmocka_unit_test(test_gdp_edges),
		cmocka_unit_test(test_encoding_diameter),
		cmocka_unit_test(test_round_up),
		cmocka_unit_test(test_dp_bounds_integer),
		cmocka_unit_test(test_dp_bounds_real),
		cmocka_unit_test(test_dp_bounds_margin),
		cmocka_unit_test(test_dp_bounds_constant),
		cmocka_unit_test(test_dp_bounds_failure_and_order),
		cmocka_unit_test(test_dp_bounds_stage1_threshold),
		cmocka_unit_test(test_category_threshold),
		cmocka_unit_test(test_category_threshold_frequency),
		cmocka_unit_test(test_dp_bounds_uninformative_quantiles),
		cmocka_unit_test(test_select_categories),
		cmocka_unit_test(test_select_singletons_dropped),
		cmocka_unit_test(test_select_noise_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
