/*
 * lv_group.c - group privacy of an (eps, delta) guarantee (lv_group.h).
 */
#include <math.h>

#include "lv_group.h"

/* up returns x moved up by a few ulps: a bound on a rounded result. */
static double
up(double x)
{
	return nextafter(nextafter(x + fabs(x) * 4 * 2.220446049250313e-16, INFINITY), INFINITY);
}

/* lv_group_privacy returns (k eps, k e^((k-1) eps) delta), rounded up. */
int
lv_group_privacy(double eps, double delta, long k, double *eps_k,
				 double *delta_k)
{
	double log_delta_k;

	*eps_k = INFINITY;
	*delta_k = 1;
	if (k < 1 || !isfinite(eps) || eps < 0 || !(delta >= 0 && delta < 1))
		return -1;
	if (k == 1)
	{
		*eps_k = eps;
		*delta_k = delta;
		return 0;
	}
	if (delta == 0)
	{
		*eps_k = up((double) k * eps);
		*delta_k = 0;
		return isfinite(*eps_k) ? 0 : -1;
	}
	log_delta_k = up(log((double) k) + (double) (k - 1) * eps + log(delta));
	if (!(log_delta_k < 0))
	{
		*eps_k = INFINITY;
		return -1;
	}
	*eps_k = up((double) k * eps);
	*delta_k = up(exp(log_delta_k));
	if (!(*delta_k < 1) || !isfinite(*eps_k))
	{
		*eps_k = INFINITY;
		*delta_k = 1;
		return -1;
	}
	return 0;
}
