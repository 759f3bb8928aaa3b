/*
 * lv_domain.c - domain discovery by one joint discrete Gaussian release of
 * the columns' histograms (lv_domain.h has the mechanism and its proof).
 */
#include "lv_domain.h"

#include <math.h>
#include <stdlib.h>

#include "lv_exact.h"
#include "lv_model.h"
#include "lv_privacy.h"

/* lv_domain_bin returns x's bin (lv_domain.h). */
int
lv_domain_bin(double x)
{
	double ax = fabs(x),
		   f;
	int ex,
		e,
		s;

	if (isnan(x))
		return -1;
	if (ax < ldexp(1.0, LV_DOMAIN_EMIN))
		return LV_DOMAIN_ZERO;
	if (isinf(ax) || ax >= ldexp(1.0, LV_DOMAIN_EMAX + 1))
	{
		e = LV_DOMAIN_EMAX;
		s = LV_DOMAIN_SUB - 1;
	}
	else
	{
		f = frexp(ax, &ex); /* ax = f 2^ex, f in [0.5, 1) */
		e = ex - 1;         /* ax = 2f 2^e, 2f in [1, 2) */
		s = (int) floor((2.0 * f - 1.0) * LV_DOMAIN_SUB);
		if (s >= LV_DOMAIN_SUB)
			s = LV_DOMAIN_SUB - 1;
	}
	s += (e - LV_DOMAIN_EMIN) * LV_DOMAIN_SUB; /* 0 .. ZERO-1 */
	return x > 0 ? LV_DOMAIN_ZERO + 1 + s : LV_DOMAIN_ZERO - 1 - s;
}

/* lv_domain_edge returns the lower (upper = 0) or upper edge of bin j. */
double
lv_domain_edge(int j, int upper)
{
	int s,
		e,
		up;

	if (j == LV_DOMAIN_ZERO)
		return ldexp(upper ? 1.0 : -1.0, LV_DOMAIN_EMIN);
	/* magnitude index s and whether the edge asked for is the outer one */
	s = j > LV_DOMAIN_ZERO ? j - LV_DOMAIN_ZERO - 1 : LV_DOMAIN_ZERO - 1 - j;
	up = j > LV_DOMAIN_ZERO ? upper : !upper;
	e = LV_DOMAIN_EMIN + s / LV_DOMAIN_SUB;
	s = s % LV_DOMAIN_SUB + up;
	return (j > LV_DOMAIN_ZERO ? 1.0 : -1.0) * ldexp(1.0 + (double) s / LV_DOMAIN_SUB, e);
}

/* lv_domain_sd returns sqrt(k r^2 / (2 rho)), rounded up. */
double
lv_domain_sd(int k, int r, double rho)
{
	if (k < 1 || r < 1 || !(rho > 0.0) || !isfinite(rho))
		return NAN;
	return lv_round_up(sqrt((double) k * r * r / (2.0 * rho)));
}

/* lv_domain_rho returns k r^2 / (2 sd^2), rounded up. */
double
lv_domain_rho(int k, int r, double sd)
{
	if (k < 0 || r < 1 || !(sd > 0.0))
		return NAN;
	return lv_round_up((double) k * r * r / (2.0 * sd * sd));
}

/* lv_domain_threshold returns the category threshold tau (lv_domain.h). */
double
lv_domain_threshold(double sd, int r, int k_cat, double eps_max,
					double delta_dom)
{
	double lnv;

	if (!(sd > 0.0) || !isfinite(sd) || r < 1 || k_cat < 1 ||
		!(eps_max >= 0.0) || !isfinite(eps_max) ||
		!(delta_dom > 0.0 && delta_dom < 1.0))
		return NAN;
	/* ln(k_cat r (1 + e^eps_max) / delta_dom), with 1 + e^x <= 2 e^x */
	lnv = log((double) k_cat * r) + log(2.0) + eps_max - log(delta_dom);
	return (double) r + ceil(lv_round_up(sd * (1 + 1e-9) * sqrt(2.0 * lnv)));
}

/* lv_domain_noise adds exact discrete Gaussian noise to integer counts. */
int
lv_domain_noise(lv_stream *rng, double sd, const double *counts, int k,
				double *noisy)
{
	int i;

	if (!(sd > 0.0) || !(sd <= LV_EXACT_MAX_SCALE) || k < 0)
		return LV_ERR_ARG;
	for (i = 0; i < k; i++)
		if (!(counts[i] >= 0.0 && counts[i] < 0x1p53) || counts[i] != floor(counts[i]))
			return LV_ERR_ARG;
	for (i = 0; i < k; i++)
	{
		int64_t x;
		int rc = lv_discrete_gaussian_sd(rng, sd, &x);

		if (rc != LV_OK)
			return rc;
		noisy[i] = (double) ((int64_t) counts[i] + x);
	}
	return LV_OK;
}

/* lv_domain_run widens [*jlo, *jhi] by adjacent bins with counts >= floor_. */
static void
lv_domain_run(const double *h, double floor_, int *jlo, int *jhi)
{
	while (*jlo > 0 && h[*jlo - 1] >= floor_)
		(*jlo)--;
	while (*jhi < LV_DOMAIN_NBINS - 1 && h[*jhi + 1] >= floor_)
		(*jhi)++;
}

/* lv_domain_bounds turns the noisy histogram into bounds (lv_domain.h). */
int
lv_domain_bounds(const double *noisy, double sd, int integer, double *lo,
				 double *hi)
{
	double thr = sd * sqrt(2.0 * log(LV_DOMAIN_NBINS / LV_DOMAIN_BETA));
	double nmax = -INFINITY,
		   a,
		   b;
	int jlo = -1,
		jhi = -1,
		jmax = 0,
		j;

	for (j = 0; j < LV_DOMAIN_NBINS; j++)
	{
		if (noisy[j] > nmax)
		{
			nmax = noisy[j];
			jmax = j;
		}
		if (noisy[j] > thr)
		{
			if (jlo < 0)
				jlo = j;
			jhi = j;
		}
	}
	if (jlo >= 0)
		lv_domain_run(noisy, 0.25 * thr, &jlo, &jhi);
	else if (nmax >= 0.9 * thr)
	{
		jlo = jhi = jmax;
		lv_domain_run(noisy, 0.25 * nmax, &jlo, &jhi);
	}
	else
		return -1;
	a = lv_domain_edge(jlo, 0);
	b = lv_domain_edge(jhi, 1);
	if (integer)
	{
		a = ceil(a);
		b = floor(b);
	}
	if (!(b > a))
		b = a + 1.0;
	*lo = a + 0.0; /* no -0 */
	*hi = b;
	return 0;
}

/* One passing cell of lv_domain_select. */
typedef struct lv_domain_pass
{
	double noisy;
	int idx;
} lv_domain_pass;

/* lv_domain_pass_cmp orders by noisy count descending, then index. */
static int
lv_domain_pass_cmp(const void *pa, const void *pb)
{
	const lv_domain_pass *a = pa,
						 *b = pb;

	if (a->noisy != b->noisy)
		return a->noisy > b->noisy ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* lv_domain_select keeps the cells at or above tau (lv_domain.h). */
int
lv_domain_select(const double *noisy, int k, double tau, int max_keep,
				 int *keep)
{
	lv_domain_pass *pass;
	int npass = 0,
		i;

	for (i = 0; i < k; i++)
		keep[i] = 0;
	if (k <= 0 || isnan(tau))
		return 0;
	pass = lv_alloc(sizeof(lv_domain_pass) * (size_t) k);
	if (pass == NULL)
		return -1;
	for (i = 0; i < k; i++)
		if (noisy[i] >= tau)
		{
			pass[npass].noisy = noisy[i];
			pass[npass++].idx = i;
		}
	if (npass > max_keep)
	{
		qsort(pass, (size_t) npass, sizeof(lv_domain_pass), lv_domain_pass_cmp);
		npass = max_keep;
	}
	for (i = 0; i < npass; i++)
		keep[pass[i].idx] = 1;
	lv_free(pass);
	return npass;
}
