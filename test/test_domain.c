/*
 * test_domain.c - unit tests of lv_domain.c: the quarter-octave bins, the
 * noise, the bounds read off a noisy histogram, the category threshold
 * (its formula and its tail, by simulation) and the selection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "lv_domain.h"
#include "lv_model.h"

static const uint8_t test_key[LV_KEY_BYTES] = {
	0x11, 0x92, 0x07, 0xc4, 0x5e, 0x22, 0xf0, 0x18, 0x6b, 0xd3, 0x44,
	0x9a, 0x01, 0x7e, 0xb5, 0x2c, 0x88, 0x13, 0x6f, 0xe2, 0x4d, 0xa0,
	0x39, 0x57, 0xc1, 0x0e, 0x92, 0x7b, 0x25, 0xfd, 0x64, 0xa8};

/* every value lies in its bin, and bins are ordered like the values */
static void
test_bins(void **state)
{
	double xs[] = {-1e300, -5000.5, -1.25, -1.0, -0.3, -1e-4, 0.0, 1e-4,
				   0.3, 1.0, 1.2499, 1.25, 50.0, 101.0, 5215.0, 1e300};
	int n = (int) (sizeof(xs) / sizeof(xs[0])),
		i,
		prev = -1;

	for (i = 0; i < n; i++)
	{
		int j = lv_domain_bin(xs[i]);

		assert_true(j >= 0 && j < LV_DOMAIN_NBINS);
		assert_true(j >= prev);
		prev = j;
		if (fabs(xs[i]) < 1e18)
		{
			assert_true(lv_domain_edge(j, 0) <= xs[i]);
			assert_true(xs[i] <= lv_domain_edge(j, 1));
			assert_true(lv_domain_edge(j, 0) < lv_domain_edge(j, 1));
		}
	}
	/* quarter octaves: 50 in [48, 56), 101 in [96, 112), 1.25 starts a bin */
	assert_true(lv_domain_edge(lv_domain_bin(50.0), 0) == 48.0);
	assert_true(lv_domain_edge(lv_domain_bin(50.0), 1) == 56.0);
	assert_true(lv_domain_edge(lv_domain_bin(101.0), 1) == 112.0);
	assert_true(lv_domain_edge(lv_domain_bin(1.25), 0) == 1.25);
	assert_true(lv_domain_bin(-1.0) == 2 * LV_DOMAIN_ZERO - lv_domain_bin(1.0));
	assert_int_equal(lv_domain_bin(NAN), -1);
	/* adjacent bins share their edges */
	for (i = 0; i + 1 < LV_DOMAIN_NBINS; i++)
		assert_true(lv_domain_edge(i, 1) == lv_domain_edge(i + 1, 0));
}

/* rho and sd are inverse, each rounded to overstate the loss */
static void
test_sd_rho(void **state)
{
	double sd = lv_domain_sd(8, 3, 0.004);

	assert_true(sd >= sqrt(8.0 * 9.0 / 0.008));
	assert_true(lv_domain_rho(8, 3, sd) <= 0.004 * (1 + 1e-12));
	assert_true(lv_domain_rho(8, 3, sd) >= 0.004 * (1 - 1e-12));
	assert_true(isnan(lv_domain_sd(0, 1, 0.1)));
	assert_true(isnan(lv_domain_sd(3, 1, 0)));
}

/* the threshold's formula, and its tail: a count of r plus noise reaches it
 * no more often than the bound says (large delta_dom, so that it is seen) */
static void
test_threshold_tail(void **state)
{
	double sd = 2.0,
		   dd = 0.4,
		   tau = lv_domain_threshold(sd, 1, 1, 0.0, dd),
		   bound = dd / 2.0; /* (1 + e^0) delta_new <= dd */
	lv_stream s;
	int hits = 0,
		i,
		trials = 200000;

	assert_true(tau == 1.0 + ceil(sd * (1 + 1e-9) * sqrt(2.0 * log(2.0 / dd))));
	assert_true(lv_domain_threshold(sd, 3, 5, 1.0, 1e-6) >
				lv_domain_threshold(sd, 1, 5, 1.0, 1e-6));
	assert_true(isnan(lv_domain_threshold(sd, 1, 0, 1.0, 1e-6)));
	lv_stream_init(&s, test_key, 2, 7);
	for (i = 0; i < trials; i++)
	{
		double c = 1.0,
			   h;

		assert_int_equal(lv_domain_noise(&s, sd, &c, 1, &h), LV_OK);
		hits += h >= tau;
	}
	/* binomial: mean <= bound * trials, 5 sd of slack */
	assert_true(hits <= bound * trials + 5 * sqrt(bound * trials));
	assert_true(hits > 0); /* the threshold is not absurdly high */
}

/* the noise: integer, mean 0, variance about sd^2; bad counts refused */
static void
test_noise(void **state)
{
	enum
	{
		N = 40000
	};
	static double c[N], h[N];
	double mean = 0,
		   var = 0,
		   bad = 1.5;
	lv_stream s;
	int i;

	lv_stream_init(&s, test_key, 2, 9);
	assert_int_equal(lv_domain_noise(&s, 7.0, c, N, h), LV_OK);
	for (i = 0; i < N; i++)
	{
		assert_true(h[i] == floor(h[i]));
		mean += h[i] / N;
	}
	for (i = 0; i < N; i++)
		var += (h[i] - mean) * (h[i] - mean) / (N - 1);
	assert_true(fabs(mean) < 5 * 7.0 / sqrt(N));
	assert_true(fabs(var / 49.0 - 1) < 0.05);
	assert_int_equal(lv_domain_noise(&s, 7.0, &bad, 1, h), LV_ERR_ARG);
	assert_int_equal(lv_domain_noise(&s, 0.0, c, 1, h), LV_ERR_ARG);
}

/* bounds of flchain-like ages (50..101, 8,000 rows) at sd 30: about
 * [48, 112) or one quarter octave more, nothing clipped but a thin tail; pure noise gives -1 */
static void
test_bounds(void **state)
{
	static double counts[LV_DOMAIN_NBINS], h[LV_DOMAIN_NBINS];
	double lo = 0,
		   hi = 0,
		   clipped = 0;
	lv_stream s;
	int i;

	for (i = 0; i < 8000; i++)
	{
		double age = 50 + (i * 7919) % 52; /* spread over 50..101 */

		counts[lv_domain_bin(age)] += 1;
	}
	lv_stream_init(&s, test_key, 2, 11);
	assert_int_equal(lv_domain_noise(&s, 30.0, counts, LV_DOMAIN_NBINS, h), LV_OK);
	assert_int_equal(lv_domain_bounds(h, 30.0, 1, &lo, &hi), 0);
	/* the margin may take one empty neighbour (noise above a quarter of the
	 * threshold: about 12% per side at this sd) */
	assert_true(lo == 48.0 || lo == 40.0);
	assert_true(hi >= 96.0 && hi <= 128.0);
	for (i = 0; i < 8000; i++)
	{
		double age = 50 + (i * 7919) % 52;

		clipped += age < lo || age > hi;
	}
	assert_true(clipped / 8000 < 0.12);
	/* integer rounding: a column of 0/1 gets [0, 1] */
	memset(counts, 0, sizeof(counts));
	counts[lv_domain_bin(0.0)] = 4000;
	counts[lv_domain_bin(1.0)] = 4000;
	assert_int_equal(lv_domain_noise(&s, 30.0, counts, LV_DOMAIN_NBINS, h), LV_OK);
	assert_int_equal(lv_domain_bounds(h, 30.0, 1, &lo, &hi), 0);
	assert_true(lo == 0.0 && hi == 1.0);
	/* no rows: nothing clears the threshold */
	memset(counts, 0, sizeof(counts));
	assert_int_equal(lv_domain_noise(&s, 30.0, counts, LV_DOMAIN_NBINS, h), LV_OK);
	assert_int_equal(lv_domain_bounds(h, 30.0, 0, &lo, &hi), -1);
}

/* the selection keeps cells at or above tau, the largest when capped */
static void
test_select(void **state)
{
	double h[] = {5, 200, 199, 12, 300, 200};
	int keep[6];

	assert_int_equal(lv_domain_select(h, 6, 199, 10, keep), 4);
	assert_true(!keep[0] && keep[1] && keep[2] && !keep[3] && keep[4] && keep[5]);
	assert_int_equal(lv_domain_select(h, 6, 199, 2, keep), 2);
	assert_true(keep[4] && keep[1] && !keep[5] && !keep[2]);
	assert_int_equal(lv_domain_select(h, 6, NAN, 2, keep), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bins),
		cmocka_unit_test(test_sd_rho),
		cmocka_unit_test(test_threshold_tail),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
