/*
 * lv_exact.c - exact discrete Laplace and discrete Gaussian samplers
 * (Canonne, Kamath & Steinke 2020, Algorithms 1-3; lv_exact.h). Every
 * probability is a ratio of integers decided by an unbiased uniform
 * integer from the ChaCha20 stream: no floating point until the wrappers
 * at the end, which only round a double scale up to a dyadic rational.
 */
#include <math.h>

#include "lv_exact.h"
#include "lv_model.h"

typedef unsigned __int128 u128;

#define LV_U128_2_127 ((u128) 1 << 127)

/* lv_below128 returns an unbiased uniform integer on [0, bound), bound >= 1. */
static u128
lv_below128(lv_stream *s, u128 bound)
{
	u128 threshold,
		r;

	if (bound <= UINT64_MAX)
		return lv_stream_below(s, (uint64_t) bound);
	threshold = (0 - bound) % bound; /* 2^128 mod bound: reject below it */
	for (;;)
	{
		r = (u128) lv_stream_u64(s) << 64;
		r |= lv_stream_u64(s);
		if (r >= threshold)
			return r % bound;
	}
}

/* lv_bern_ratio returns a Bernoulli(num/den) draw, 0 <= num <= den, den >= 1. */
static int
lv_bern_ratio(lv_stream *s, u128 num, u128 den)
{
	return lv_below128(s, den) < num;
}

/*
 * lv_bern_exp_le1 is CKS20 Algorithm 1 for gamma = num/den in [0, 1]:
 * K <- 1; loop { A ~ Bernoulli(gamma/K); if A = 0 break; K <- K + 1 };
 * return 1 iff K is odd. Bernoulli(gamma/K) is drawn as Bernoulli(1/K)
 * and Bernoulli(num/den), independent, so den * K never overflows.
 */
static int
lv_bern_exp_le1(lv_stream *s, u128 num, u128 den)
{
	uint64_t k = 1;

	while (lv_stream_below(s, k) == 0 && lv_bern_ratio(s, num, den))
		k++; /* P(K > k) = gamma^k / k!: k stays tiny */
	return (int) (k & 1);
}

/*
 * lv_bern_exp_split is CKS20 Algorithm 1 for gamma = q + r/den > 1
 * (q = q_hi 2^128 + q_lo, r < den): q draws of Bernoulli(exp(-1)), any 0
 * returns 0; then Bernoulli(exp(-r/den)).
 */
static int
lv_bern_exp_split(lv_stream *s, u128 q_hi, u128 q_lo, u128 r, u128 den)
{
	while (q_hi != 0 || q_lo != 0)
	{
		if (!lv_bern_exp_le1(s, 1, 1))
			return 0; /* exits after 1.58 draws on average */
		if (q_lo-- == 0)
			q_hi--;
	}
	return lv_bern_exp_le1(s, r, den);
}

/*
 * lv_divmod256 divides hi 2^128 + lo by den (1 <= den <= 2^127) into the
 * quotient q_hi 2^128 + q_lo and the remainder: schoolbook binary long
 * division (the remainder stays below 2^127, so doubling it cannot wrap).
 */
static void
lv_divmod256(u128 hi, u128 lo, u128 den, u128 *q_hi, u128 *q_lo, u128 *rem)
{
	u128 r = 0;
	int i;

	*q_hi = 0;
	*q_lo = 0;
	for (i = 255; i >= 0; i--)
	{
		int bit = (int) ((i >= 128 ? hi >> (i - 128) : lo >> i) & 1);

		r = (r << 1) | (u128) bit;
		if (r >= den)
		{
			r -= den;
			if (i >= 128)
				*q_hi |= (u128) 1 << (i - 128);
			else
				*q_lo |= (u128) 1 << i;
		}
	}
	*rem = r;
}

/* lv_bernoulli_exp_wide: Bernoulli(exp(-num/den)), 256-bit num (lv_exact.h). */
int
lv_bernoulli_exp_wide(lv_stream *s, u128 num_hi, u128 num_lo, u128 den,
					  int *out)
{
	u128 q_hi,
		q_lo,
		r;

	if (s == NULL || out == NULL || den == 0 || den > LV_U128_2_127)
		return LV_ERR_ARG;
	if (num_hi == 0 && num_lo <= den)
	{
		*out = lv_bern_exp_le1(s, num_lo, den);
		return LV_OK;
	}
	if (num_hi == 0)
	{
		q_hi = 0;
		q_lo = num_lo / den;
		r = num_lo % den;
	}
	else
		lv_divmod256(num_hi, num_lo, den, &q_hi, &q_lo, &r);
	*out = lv_bern_exp_split(s, q_hi, q_lo, r, den);
	return LV_OK;
}

/* lv_bernoulli_exp: Bernoulli(exp(-num/den)), CKS20 Algorithm 1 (lv_exact.h). */
int
lv_bernoulli_exp(lv_stream *s, u128 num, u128 den, int *out)
{
	if (num >= LV_U128_2_127 || den >= LV_U128_2_127)
		return LV_ERR_ARG;
	return lv_bernoulli_exp_wide(s, 0, num, den, out);
}

/*
 * lv_discrete_laplace is CKS20 Algorithm 2, a draw of Lap_Z(t/s):
 * loop { U ~ Uniform{0..t-1}; D ~ Bernoulli(exp(-U/t)); if D = 0 reject;
 *        V <- 0; while Bernoulli(exp(-1)) { V <- V + 1 };
 *        X <- U + t V; Y <- floor(X/s); B ~ Bernoulli(1/2);
 *        if B = 1 and Y = 0 reject; return (1 - 2B) Y }.
 * X = U + t V is geometric with ratio e^(-1/t), Y = floor(X/s) geometric
 * with ratio e^(-s/t), and the sign with the rejected -0 makes it two-sided.
 * |Y| > 2^62 needs V >= 2^12 - 1 (t/s <= 2^50): probability < e^-4095.
 */
int
lv_discrete_laplace(lv_stream *st, uint64_t t, uint64_t s, int64_t *out)
{
	if (st == NULL || out == NULL || t < 1 || s < 1 || t > LV_EXACT_MAX ||
		s > LV_EXACT_MAX || (u128) t > ((u128) s << 50))
		return LV_ERR_ARG;
	for (;;)
	{
		uint64_t u = lv_stream_below(st, t);
		uint64_t v = 0;
		u128 y;
		int b;

		if (!lv_bern_exp_le1(st, u, t))
			continue;
		while (lv_bern_exp_le1(st, 1, 1))
			if (++v > LV_EXACT_MAX)
				return LV_ERR_NUMERIC;
		y = ((u128) u + (u128) t * v) / s;
		b = (int) (lv_stream_u32(st) & 1);
		if (b && y == 0)
			continue;
		if (y > LV_EXACT_MAX)
			return LV_ERR_NUMERIC;
		*out = b ? -(int64_t) y : (int64_t) y;
		return LV_OK;
	}
}

/* lv_isqrt returns floor(sqrt(m)) by the binary digit-by-digit method. */
static uint64_t
lv_isqrt(uint64_t m)
{
	uint64_t r = 0,
			 bit = (uint64_t) 1 << 62;

	while (bit > m)
		bit >>= 2;
	while (bit != 0)
	{
		if (m >= r + bit)
		{
			m -= r + bit;
			r = (r >> 1) + bit;
		}
		else
			r >>= 1;
		bit >>= 2;
	}
	return r;
}

/*
 * lv_square128 writes w^2 = hi 2^128 + lo for w < 2^127: with w = a 2^64 + b,
 * w^2 = a^2 2^128 + 2ab 2^64 + b^2.
 */
static void
lv_square128(u128 w, u128 *hi, u128 *lo)
{
	u128 a = w >> 64,
		 b = (uint64_t) w;
	u128 cross = a * b; /* < 2^127 */
	u128 low = b * b;

	*lo = low + (cross << 65);
	*hi = a * a + (cross >> 63) + (*lo < low ? 1 : 0);
}

/*
 * lv_discrete_gaussian is CKS20 Algorithm 3, a draw of N_Z(0, sigma^2),
 * sigma^2 = n/d: t <- floor(sigma) + 1; loop { Y ~ Lap_Z(t);
 * C ~ Bernoulli(exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2))); if C = 1 return Y }.
 * In integers the exponent is (|Y| t d - n)^2 / (2 n d t^2). Sizes for
 * n, d < 2^62: t d <= sqrt(n d) + d < 2^63, so |Y| t d < 2^125 and the
 * square fits 256 bits; 2 n d t^2 <= 8 n^2 < 2^127 when n >= d (t <=
 * 2 sqrt(n/d)) and = 2 n d < 2^125 when n < d (t = 1).
 */
int
lv_discrete_gaussian(lv_stream *st, uint64_t n, uint64_t d, int64_t *out)
{
	uint64_t t;
	u128 den;

	if (st == NULL || out == NULL || n < 1 || d < 1 || n >= LV_EXACT_MAX ||
		d >= LV_EXACT_MAX)
		return LV_ERR_ARG;
	t = lv_isqrt(n / d) + 1; /* floor(sqrt(n/d)) = floor(sqrt(floor(n/d))) */
	den = 2 * ((u128) n * d) * ((u128) t * t);
	for (;;)
	{
		int64_t y;
		u128 a,
			w,
			hi,
			lo;
		int c,
			rc;

		rc = lv_discrete_laplace(st, t, 1, &y);
		if (rc != LV_OK)
			return rc;
		a = (u128) (uint64_t) (y < 0 ? -y : y) * t * d;
		w = a > n ? a - n : n - a;
		lv_square128(w, &hi, &lo);
		rc = lv_bernoulli_exp_wide(st, hi, lo, den, &c);
		if (rc != LV_OK)
			return rc;
		if (c)
		{
			*out = y;
			return LV_OK;
		}
	}
}

/* lv_dyadic_up: the smallest num/2^k >= x with 32 significant bits (lv_exact.h). */
int
lv_dyadic_up(double x, uint64_t *num, uint64_t *den)
{
	int e,
		k;

	if (num == NULL || den == NULL || !isfinite(x) || !(x >= 0x1p-30) ||
		!(x <= 0x1p61))
		return LV_ERR_ARG;
	(void) frexp(x, &e); /* x = f 2^e, f in [1/2, 1) */
	k = 32 - e;          /* x 2^k in [2^31, 2^32) */
	if (k < 0)
		k = 0;
	*num = (uint64_t) ceil(ldexp(x, k)); /* exact: power-of-two scaling, ceil */
	*den = (uint64_t) 1 << k;
	return LV_OK;
}

/* lv_laplace_scale_up sets t/s = lv_dyadic_up(b) >= b. */
int
lv_laplace_scale_up(double b, uint64_t *t, uint64_t *s)
{
	return lv_dyadic_up(b, t, s);
}

/*
 * lv_gaussian_var_up sets n/d >= sd^2: sd * sd is correctly rounded, so the
 * next double above it is >= the exact square; then lv_dyadic_up.
 */
int
lv_gaussian_var_up(double sd, uint64_t *n, uint64_t *d)
{
	if (!(sd > 0.0) || !isfinite(sd))
		return LV_ERR_ARG;
	return lv_dyadic_up(nextafter(sd * sd, INFINITY), n, d);
}

/* lv_discrete_laplace_b draws Lap_Z(t), t = lv_laplace_scale_up(b) >= b. */
int
lv_discrete_laplace_b(lv_stream *st, double b, int64_t *out)
{
	uint64_t t,
		s;
	int rc = lv_laplace_scale_up(b, &t, &s);

	return rc != LV_OK ? rc : lv_discrete_laplace(st, t, s, out);
}

/* lv_discrete_gaussian_sd draws N_Z(0, n/d), n/d = lv_gaussian_var_up(sd) >= sd^2. */
int
lv_discrete_gaussian_sd(lv_stream *st, double sd, int64_t *out)
{
	uint64_t n,
		d;
	int rc = lv_gaussian_var_up(sd, &n, &d);

	return rc != LV_OK ? rc : lv_discrete_gaussian(st, n, d, out);
}
