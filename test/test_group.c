/*
 * test_group.c - unit tests of lv_group.c: group privacy of (eps, delta).
 * Reference values are computed here from the formula in long double
 * (k eps and k e^((k-1) eps) delta), which the library must never be below.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "lv_group.h"

/* test_one_row: k = 1 keeps the guarantee exactly. */
static void
test_one_row(void **state)
{
	double e, d;

	assert_int_equal(lv_group_privacy(1.25, 1e-6, 1, &e, &d), 0);
	assert_true(e == 1.25 && d == 1e-6);
}

/* test_formula: k eps and k e^((k-1) eps) delta, rounded up, tight. */
static void
test_formula(void **state)
{
	static const double eps[] = {0.1, 1, 2.5};
	static const long ks[] = {2, 3, 7, 20};
	int i, j;

	for (i = 0; i < 3; i++)
		for (j = 0; j < 4; j++)
		{
			long double re = (long double) ks[j] * eps[i];
			long double rd = (long double) ks[j] * expl((ks[j] - 1) * (long double) eps[i]) * 1e-9L;
			double e, d;
			int rc = lv_group_privacy(eps[i], 1e-9, ks[j], &e, &d);

			if (rd >= 1)
			{
				assert_int_equal(rc, -1);
				continue;
			}
			assert_int_equal(rc, 0);
			assert_true((long double) e >= re && (long double) e <= re * (1 + 1e-14L));
			assert_true((long double) d >= rd && (long double) d <= rd * (1 + 1e-12L));
		}
}

/* test_no_guarantee: delta_k >= 1, unbounded k or bad input give -1, inf. */
static void
test_no_guarantee(void **state)
{
	double e, d;

	/* 20 e^19 1e-6 = 3.6e3 */
	assert_int_equal(lv_group_privacy(1, 1e-6, 20, &e, &d), -1);
	assert_true(isinf(e) && d == 1);
	assert_int_equal(lv_group_privacy(1, 1e-6, 0, &e, &d), -1);
	assert_int_equal(lv_group_privacy(NAN, 1e-6, 2, &e, &d), -1);
	assert_int_equal(lv_group_privacy(INFINITY, 1e-6, 2, &e, &d), -1);
	assert_int_equal(lv_group_privacy(1, 1, 2, &e, &d), -1);
	assert_int_equal(lv_group_privacy(1, 1e-6, 2147483647L, &e, &d), -1);
	assert_true(isinf(e) && d == 1);
}

/* test_pure: delta 0 stays 0; eps grows linearly. */
static void
test_pure(void **state)
{
	double e, d;

	assert_int_equal(lv_group_privacy(0.5, 0, 4, &e, &d), 0);
	assert_true(e >= 2.0 && e < 2.0 + 1e-12 && d == 0);
}

/* test_monotone: larger groups never get a smaller epsilon or delta. */
static void
test_monotone(void **state)
{
	double pe = 0, pd = 0;
	long k;

	for (k = 1; k <= 12; k++)
	{
		double e, d;

		assert_int_equal(lv_group_privacy(0.7, 1e-8, k, &e, &d), 0);
		assert_true(e > pe && d > pd);
		pe = e;
		pd = d;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_row),
		cmocka_unit_test(test_formula),
		cmocka_unit_test(test_no_guarantee),
		cmocka_unit_test(test_pure),
		cmocka_unit_test(test_monotone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
