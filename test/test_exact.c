/*
 * test_exact.c - unit tests of lv_exact.c, the exact discrete samplers of
 * Canonne, Kamath & Steinke (2020): Bernoulli(exp(-gamma)) frequencies,
 * the discrete Laplace and discrete Gaussian against their exact pmfs
 * (chi-square with a fixed seed, means, variances, tails, symmetry), the
 * parameter limits (huge and tiny scales, bad input), the dyadic rounding
 * up, and determinism per seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "lv_exact.h"
#include "lv_model.h"

typedef unsigned __int128 u128;

/* test_stream positions a stream at a fixed test key, domain 9, index i. */
static void
test_stream(lv_stream *s, uint64_t i)
{
	uint8_t key[LV_KEY_BYTES];
	int j;

	for (j = 0; j < LV_KEY_BYTES; j++)
		key[j] = (uint8_t) (7 * j + 3);
	lv_stream_init(s, key, 9, i);
}

/* binomial_close asserts |hits/n - p| <= 5 standard errors (plus a hair). */
static void
binomial_close(long hits, long n, double p, const char *what)
{
	double f = (double) hits / n;
	double se = sqrt(p * (1 - p) / n);

	print_message("%s: frequency %.6f, exact %.6f (5 se = %.6f)\n", what, f, p, 5 * se);
	assert_true(fabs(f - p) <= 5 * se + 1e-12);
}

/*
 * chi_square compares counts of x in [-K, K] (index x + K) plus two tail
 * bins (index 2K+1: x < -K, 2K+2: x > K) against the probabilities p (same
 * layout), pooling bins whose expectation is below 5 into the tails' sum;
 * asserts chi^2 <= df + 6 sqrt(2 df) (p-value about 1e-7 for the fixed
 * seed's single outcome) and returns chi^2.
 */
static double
chi_square(const long *cnt, const double *p, int K, long n)
{
	double chi = 0,
		   pool_e = 0,
		   pool_o = 0;
	int df = -1,
		i;

	for (i = 0; i < 2 * K + 3; i++)
	{
		double e = p[i] * n;

		if (e < 5)
		{
			pool_e += e;
			pool_o += (double) cnt[i];
			if (e == 0)
				assert_int_equal(cnt[i], 0);
			continue;
		}
		chi += ((double) cnt[i] - e) * ((double) cnt[i] - e) / e;
		df++;
	}
	if (pool_e >= 5)
	{
		chi += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
		df++;
	}
	print_message("chi^2 %.2f on %d df\n", chi, df);
	assert_true(df >= 1);
	assert_true(chi <= df + 6 * sqrt(2.0 * df));
	return chi;
}

/* tally adds draw x to the chi_square layout of counts. */
static void
tally(long *cnt, int K, int64_t x)
{
	if (x < -K)
		cnt[2 * K + 1]++;
	else if (x > K)
		cnt[2 * K + 2]++;
	else
		cnt[x + K]++;
}

/* Bernoulli(exp(-gamma)) frequencies for gamma below, at and above 1. */
static void
test_bernoulli_exp_freq(void **state)
{
	static const struct
	{
		uint64_t num,
			den;
	} g[] = {{1, 3}, {1, 1}, {5, 2}, {7, 1}, {1, 1000}, {999, 1000}};
	lv_stream s;
	long n = 200000;
	size_t j;

	test_stream(&s, 1);
	for (j = 0; j < sizeof(g) / sizeof(g[0]); j++)
	{
		long hits = 0,
			 i;
		char what[64];

		for (i = 0; i < n; i++)
		{
			int b;

			assert_int_equal(lv_bernoulli_exp(&s, g[j].num, g[j].den, &b), LV_OK);
			assert_true(b == 0 || b == 1);
			hits += b;
		}
		snprintf(what, sizeof(what), "Bernoulli(exp(-%lu/%lu))",
				 (unsigned long) g[j].num, (unsigned long) g[j].den);
		binomial_close(hits, n, exp(-(double) g[j].num / g[j].den), what);
	}
}

/* gamma = 0 is always 1, a huge gamma always 0; the 256-bit numerator path. */
static void
test_bernoulli_exp_extremes(void **state)
{
	lv_stream s;
	long hits = 0,
		 n = 200000,
		 i;
	int b;

	test_stream(&s, 2);
	for (i = 0; i < 1000; i++)
	{
		assert_int_equal(lv_bernoulli_exp(&s, 0, 12345, &b), LV_OK);
		assert_int_equal(b, 1);
		assert_int_equal(lv_bernoulli_exp(&s, (u128) 1 << 120, 1, &b), LV_OK);
		assert_int_equal(b, 0);
		/* gamma = 2^-126: 1 but for probability 2^-126 */
		assert_int_equal(lv_bernoulli_exp(&s, 1, (u128) 1 << 126, &b), LV_OK);
		assert_int_equal(b, 1);
	}
	/* (2^128 + 2^126) / 2^127 = 2.5 through the 256-bit division */
	for (i = 0; i < n; i++)
	{
		assert_int_equal(lv_bernoulli_exp_wide(&s, 1, (u128) 1 << 126,
											   (u128) 1 << 127, &b),
						 LV_OK);
		hits += b;
	}
	binomial_close(hits, n, exp(-2.5), "wide Bernoulli(exp(-2.5))");
	/* (3 2^128 + 1) / (2^127 - 1): gamma just above 6 */
	hits = 0;
	for (i = 0; i < n; i++)
	{
		assert_int_equal(lv_bernoulli_exp_wide(&s, 3, 1, ((u128) 1 << 127) - 1, &b),
						 LV_OK);
		hits += b;
	}
	binomial_close(hits, n, exp(-6.0), "wide Bernoulli(exp(-6))");
	/* bad input */
	assert_int_equal(lv_bernoulli_exp(&s, 1, 0, &b), LV_ERR_ARG);
	assert_int_equal(lv_bernoulli_exp(&s, (u128) 1 << 127, 1, &b), LV_ERR_ARG);
	assert_int_equal(lv_bernoulli_exp_wide(&s, 1, 0, ((u128) 1 << 127) + 1, &b), LV_ERR_ARG);
	assert_int_equal(lv_bernoulli_exp(&s, 1, 1, NULL), LV_ERR_ARG);
}

/* lap_pmf is the discrete Laplace pmf of scale tau at x. */
static double
lap_pmf(double tau, int64_t x)
{
	double q = exp(-1.0 / tau);

	return (1 - q) / (1 + q) * pow(q, (double) llabs(x));
}

/*
 * Discrete Laplace of scale t/s against its pmf: chi-square (symmetry
 * included: x and -x are separate bins), mean 0, variance 2q/(1-q)^2, the
 * tail P(X >= k) = q^k / (1+q) (not the continuous e^(-k/t)/2).
 */
static void
test_discrete_laplace_pmf(void **state)
{
	static const uint64_t ts[][2] = {{1, 1}, {3, 1}, {7, 2}, {1, 4}, {40, 1}};
	lv_stream s;
	long n = 200000;
	size_t j;

	test_stream(&s, 3);
	for (j = 0; j < sizeof(ts) / sizeof(ts[0]); j++)
	{
		double tau = (double) ts[j][0] / ts[j][1];
		double q = exp(-1.0 / tau);
		int K = (int) ceil(12 * tau) + 2;
		long *cnt = calloc(2 * K + 3, sizeof(long));
		double *p = calloc(2 * K + 3, sizeof(double));
		double sum = 0,
			   sum2 = 0,
			   var = 2 * q / ((1 - q) * (1 - q));
		long tail1 = 0,
			 tail3 = 0,
			 i;
		int x;

		for (i = 0; i < n; i++)
		{
			int64_t y;

			assert_int_equal(lv_discrete_laplace(&s, ts[j][0], ts[j][1], &y), LV_OK);
			tally(cnt, K, y);
			sum += (double) y;
			sum2 += (double) y * (double) y;
			tail1 += y >= 1;
			tail3 += y >= 3;
		}
		for (x = -K; x <= K; x++)
			p[x + K] = lap_pmf(tau, x);
		p[2 * K + 1] = p[2 * K + 2] = pow(q, K + 1) / (1 + q);
		print_message("discrete Laplace scale %g: mean %.4f, var %.4f (exact %.4f)\n",
					  tau, sum / n, sum2 / n, var);
		chi_square(cnt, p, K, n);
		assert_true(fabs(sum / n) <= 5 * sqrt(var / n));
		assert_true(fabs(sum2 / n - var) <= 0.05 * var + 1e-3);
		binomial_close(tail1, n, q / (1 + q), "P(X >= 1)");
		binomial_close(tail3, n, q * q * q / (1 + q), "P(X >= 3)");
		free(cnt);
		free(p);
	}
}

/* dg_pmf fills p (chi_square layout, K) with the N_Z(0, v) pmf. */
static void
dg_pmf(double v, int K, double *p)
{
	int M = K + (int) ceil(40 * sqrt(v)) + 10;
	double z = 0;
	int x;

	for (x = -M; x <= M; x++)
		z += exp(-(double) x * x / (2 * v));
	p[2 * K + 1] = p[2 * K + 2] = 0;
	for (x = -M; x <= M; x++)
	{
		double px = exp(-(double) x * x / (2 * v)) / z;

		if (x < -K)
			p[2 * K + 1] += px;
		else if (x > K)
			p[2 * K + 2] += px;
		else
			p[x + K] = px;
	}
}

/*
 * Discrete Gaussian of variance n/d against its pmf: chi-square, mean 0,
 * the exact variance (below n/d for small sigma: the lattice), symmetry,
 * and the tail frequency P(|X| >= 3 sigma).
 */
static void
test_discrete_gaussian_pmf(void **state)
{
	static const uint64_t nd[][2] = {{1, 1}, {9, 4}, {1, 10}, {1, 5}, {100, 1}, {1000003, 1000}};
	lv_stream s;
	long n = 200000;
	size_t j;

	test_stream(&s, 4);
	for (j = 0; j < sizeof(nd) / sizeof(nd[0]); j++)
	{
		double v = (double) nd[j][0] / nd[j][1];
		int K = (int) ceil(7 * sqrt(v)) + 2;
		long *cnt = calloc(2 * K + 3, sizeof(long));
		double *p = calloc(2 * K + 3, sizeof(double));
		double sum = 0,
			   sum2 = 0,
			   var = 0,
			   ptail = 0;
		long tail = 0,
			 pos = 0,
			 neg = 0,
			 i;
		int x,
			k3 = (int) ceil(3 * sqrt(v));

		for (i = 0; i < n; i++)
		{
			int64_t y;

			assert_int_equal(lv_discrete_gaussian(&s, nd[j][0], nd[j][1], &y), LV_OK);
			tally(cnt, K, y);
			sum += (double) y;
			sum2 += (double) y * (double) y;
			tail += llabs(y) >= k3;
			pos += y > 0;
			neg += y < 0;
		}
		dg_pmf(v, K, p);
		for (x = -K; x <= K; x++)
		{
			var += p[x + K] * x * x;
			if (llabs(x) >= k3)
				ptail += p[x + K];
		}
		print_message("discrete Gaussian var %g: mean %.4f, var %.4f (exact %.4f)\n",
					  v, sum / n, sum2 / n, var);
		chi_square(cnt, p, K, n);
		assert_true(fabs(sum / n) <= 5 * sqrt(var / n) + 1e-9);
		assert_true(fabs(sum2 / n - var) <= 0.05 * var + 1e-3);
		if (ptail > 0)
			binomial_close(tail, n, ptail + p[2 * K + 1] + p[2 * K + 2], "P(|X| >= 3 sigma)");
		assert_true(labs(pos - neg) <= 5 * sqrt((double) (pos + neg)) + 1);
		free(cnt);
		free(p);
	}
}

/* Huge and tiny parameters run without overflow; bad ones are refused. */
static void
test_extreme_parameters(void **state)
{
	lv_stream s;
	int64_t y;
	int i;

	test_stream(&s, 5);
	for (i = 0; i < 2000; i++)
	{
		/* sigma^2 = 2^62 - 1: sigma about 2^31 */
		assert_int_equal(lv_discrete_gaussian(&s, LV_EXACT_MAX - 1, 1, &y), LV_OK);
		assert_true(llabs(y) < 12LL * (1LL << 31));
		/* sigma^2 = 1 / (2^62 - 1): always 0 */
		assert_int_equal(lv_discrete_gaussian(&s, 1, LV_EXACT_MAX - 1, &y), LV_OK);
		assert_int_equal(y, 0);
		/* sigma^2 = (2^62 - 1) / (2^62 - 3): just above 1 */
		assert_int_equal(lv_discrete_gaussian(&s, LV_EXACT_MAX - 1, LV_EXACT_MAX - 3, &y), LV_OK);
		assert_true(llabs(y) < 12);
		/* Laplace of scale 2^50 and of scale 2^-62 */
		assert_int_equal(lv_discrete_laplace(&s, LV_EXACT_MAX, (uint64_t) 1 << 12, &y), LV_OK);
		assert_true(llabs(y) < 60LL * (1LL << 50));
		assert_int_equal(lv_discrete_laplace(&s, 1, LV_EXACT_MAX, &y), LV_OK);
		assert_int_equal(y, 0);
	}
	assert_int_equal(lv_discrete_laplace(&s, 0, 1, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_laplace(&s, 1, 0, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_laplace(&s, LV_EXACT_MAX + 1, 1, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_laplace(&s, LV_EXACT_MAX, 1, &y), LV_ERR_ARG); /* scale > 2^50 */
	assert_int_equal(lv_discrete_laplace(NULL, 1, 1, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_laplace(&s, 1, 1, NULL), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian(&s, 0, 1, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian(&s, 1, 0, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian(&s, LV_EXACT_MAX, 1, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian(&s, 1, LV_EXACT_MAX, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian_sd(&s, 0.0, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian_sd(&s, NAN, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian_sd(&s, INFINITY, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_gaussian_sd(&s, 1e-9, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_laplace_b(&s, -1.0, &y), LV_ERR_ARG);
	assert_int_equal(lv_discrete_laplace_b(&s, 1e20, &y), LV_ERR_ARG);
}

/* lv_dyadic_up: num/den >= x, minimal at 32 bits, den a power of two. */
static void
test_dyadic_up(void **state)
{
	static const double xs[] = {1.0, 0.1, 1.0 / 3, 2.0 / 0.02, 12345.678, 3e9,
								2.0 / 3e-7, 0.7071067811865476, 0x1p-30, 0x1p61};
	uint64_t num,
		den,
		n,
		d;
	size_t i;

	for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
	{
		long double x = xs[i];

		assert_int_equal(lv_dyadic_up(xs[i], &num, &den), LV_OK);
		assert_true((den & (den - 1)) == 0);
		/* smallest numerator for this den: ceil of the exact x den (integer compare) */
		assert_true(num == (uint64_t) ceil(ldexp(xs[i], __builtin_ctzll(den))));
		assert_true(den == 1 || (num >= (1ULL << 31) && num <= (1ULL << 32)));
		assert_true((long double) num / den >= x);
		assert_true((long double) num / den <= x * (1 + 0x1p-31L));
	}
	assert_int_equal(lv_dyadic_up(1.0, &num, &den), LV_OK);
	assert_true(num == den);
	assert_int_equal(lv_dyadic_up(3e9, &num, &den), LV_OK);
	assert_true(den == 1 && num == 3000000000ULL);
	assert_int_equal(lv_dyadic_up(0.0, &num, &den), LV_ERR_ARG);
	assert_int_equal(lv_dyadic_up(-1.0, &num, &den), LV_ERR_ARG);
	assert_int_equal(lv_dyadic_up(NAN, &num, &den), LV_ERR_ARG);
	assert_int_equal(lv_dyadic_up(0x1p62, &num, &den), LV_ERR_ARG);
	/* the variance is rounded up above sd^2 (the range ends left out) */
	for (i = 0; i < sizeof(xs) / sizeof(xs[0]) - 2; i++)
	{
		double sd = sqrt(xs[i]);

		assert_int_equal(lv_gaussian_var_up(sd, &n, &d), LV_OK);
		assert_true((long double) n / d >= (long double) sd * sd);
		assert_true((long double) n / d <= (long double) sd * sd * (1 + 0x1p-30L));
	}
}

/* The same seed gives the same draws, another index other draws. */
static void
test_determinism(void **state)
{
	lv_stream a,
		b,
		c;
	int i,
		same = 0;

	test_stream(&a, 6);
	test_stream(&b, 6);
	test_stream(&c, 7);
	for (i = 0; i < 500; i++)
	{
		int64_t x,
			y,
			z;

		assert_int_equal(lv_discrete_gaussian_sd(&a, 3.7, &x), LV_OK);
		assert_int_equal(lv_discrete_gaussian_sd(&b, 3.7, &y), LV_OK);
		assert_int_equal(lv_discrete_gaussian_sd(&c, 3.7, &z), LV_OK);
		assert_true(x == y);
		same += x == z;
		assert_int_equal(lv_discrete_laplace_b(&a, 2.5, &x), LV_OK);
		assert_int_equal(lv_discrete_laplace_b(&b, 2.5, &y), LV_OK);
		assert_true(x == y);
	}
	assert_true(same < 200); /* P(x = z) is about 0.1 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bernoulli_exp_freq),
		cmocka_unit_test(test_bernoulli_exp_extremes),
		cmocka_unit_test(test_discrete_laplace_pmf),
		cmocka_unit_test(test_discrete_gaussian_pmf),
		cmocka_unit_test(test_extreme_parameters),
		cmocka_unit_test(test_dyadic_up),
		cmocka_unit_test(test_determinism),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
