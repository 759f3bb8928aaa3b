/*
 * lv_rand.c - keyed deterministic random streams (ChaCha20, RFC 8439) and a
 * keyed pseudo-random permutation (balanced Feistel network with cycle
 * walking). No PostgreSQL here.
 *
 * Stream layout: the ChaCha20 key is the 32 key bytes read as 8
 * little-endian words, the nonce is (domain, low 32 bits of index, high 32
 * bits of index), and the block counter starts at 0. Words are consumed in
 * order, 16 per block. A single stream can give 2^32 blocks (256 GiB); the
 * counter wraps after that, which no caller comes near.
 */
#include "lv_rand.h"

#include <math.h>

/* Feistel rounds of lv_permute (at most 16: one ChaCha20 word per round). */
#define LV_PERMUTE_ROUNDS 12

#define ROTL32(v, c) (((v) << (c)) | ((v) >> (32 - (c))))

#define QUARTERROUND(x, a, b, c, d) \
	do                              \
	{                               \
		x[a] += x[b];               \
		x[d] ^= x[a];               \
		x[d] = ROTL32(x[d], 16);    \
		x[c] += x[d];               \
		x[b] ^= x[c];               \
		x[b] = ROTL32(x[b], 12);    \
		x[a] += x[b];               \
		x[d] ^= x[a];               \
		x[d] = ROTL32(x[d], 8);     \
		x[c] += x[d];               \
		x[b] ^= x[c];               \
		x[b] = ROTL32(x[b], 7);     \
	} while (0)

/*
 * lv_chacha20_block computes one 64-byte ChaCha20 block (RFC 8439 2.3):
 * 20 rounds over (constants, key, counter, nonce) plus the input state.
 * out[i] is the i-th output word; serialise it little-endian for the bytes.
 */
void
lv_chacha20_block(const uint32_t key[8], uint32_t counter,
				  const uint32_t nonce[3], uint32_t out[16])
{
	uint32_t in[16];
	uint32_t x[16];
	int i;

	in[0] = 0x61707865; /* "expand 32-byte k" */
	in[1] = 0x3320646e;
	in[2] = 0x79622d32;
	in[3] = 0x6b206574;
	for (i = 0; i < 8; i++)
		in[4 + i] = key[i];
	in[12] = counter;
	in[13] = nonce[0];
	in[14] = nonce[1];
	in[15] = nonce[2];

	for (i = 0; i < 16; i++)
		x[i] = in[i];

	for (i = 0; i < 10; i++)
	{
		/* column round */
		QUARTERROUND(x, 0, 4, 8, 12);
		QUARTERROUND(x, 1, 5, 9, 13);
		QUARTERROUND(x, 2, 6, 10, 14);
		QUARTERROUND(x, 3, 7, 11, 15);
		/* diagonal round */
		QUARTERROUND(x, 0, 5, 10, 15);
		QUARTERROUND(x, 1, 6, 11, 12);
		QUARTERROUND(x, 2, 7, 8, 13);
		QUARTERROUND(x, 3, 4, 9, 14);
	}

	for (i = 0; i < 16; i++)
		out[i] = x[i] + in[i];
}

/* lv_key_words reads 32 key bytes as 8 little-endian 32-bit words. */
static void
lv_key_words(const uint8_t key[LV_KEY_BYTES], uint32_t words[8])
{
	int i;

	for (i = 0; i < 8; i++)
		words[i] = (uint32_t) key[4 * i] |
				   ((uint32_t) key[4 * i + 1] << 8) |
				   ((uint32_t) key[4 * i + 2] << 16) |
				   ((uint32_t) key[4 * i + 3] << 24);
}

/*
 * lv_stream_init positions a stream at (key, domain, index), counter 0:
 * nonce = (domain, index & 0xffffffff, index >> 32). No Box-Muller spare.
 */
void
lv_stream_init(lv_stream *s, const uint8_t key[LV_KEY_BYTES],
			   uint32_t domain, uint64_t index)
{
	int i;

	lv_key_words(key, s->key);
	s->nonce[0] = domain;
	s->nonce[1] = (uint32_t) (index & 0xffffffffu);
	s->nonce[2] = (uint32_t) (index >> 32);
	s->counter = 0;
	for (i = 0; i < 16; i++)
		s->buf[i] = 0;
	s->pos = 16;
	s->have_spare = 0;
	s->spare = 0.0;
}

/* lv_stream_u32 returns the next 32 random bits (next keystream word). */
uint32_t
lv_stream_u32(lv_stream *s)
{
	if (s->pos >= 16)
	{
		lv_chacha20_block(s->key, s->counter, s->nonce, s->buf);
		s->counter++;
		s->pos = 0;
	}
	return s->buf[s->pos++];
}

/*
 * lv_stream_u64 returns the next 64 random bits: the first word drawn is the
 * low half, the second the high half.
 */
uint64_t
lv_stream_u64(lv_stream *s)
{
	uint64_t lo = lv_stream_u32(s);
	uint64_t hi = lv_stream_u32(s);

	return lo | (hi << 32);
}

/*
 * lv_stream_uniform returns a double uniform on the open interval (0,1):
 * k * 2^-53 for k the top 53 bits of a u64, drawing again when k = 0, so the
 * result lies in [2^-53, 1 - 2^-53] and is never exactly 0 or 1.
 */
double
lv_stream_uniform(lv_stream *s)
{
	uint64_t k;

	do
	{
		k = lv_stream_u64(s) >> 11;
	} while (k == 0);
	return (double) k * (1.0 / 9007199254740992.0); /* 2^-53, exact */
}

/*
 * lv_stream_below returns an unbiased integer uniform on [0, bound) by
 * rejection: 64-bit draws below 2^64 mod bound are rejected, so the
 * remaining range is a multiple of bound. bound 0 or 1 returns 0 without
 * drawing.
 */
uint64_t
lv_stream_below(lv_stream *s, uint64_t bound)
{
	uint64_t threshold;
	uint64_t r;

	if (bound <= 1)
		return 0;
	threshold = (0 - bound) % bound; /* = 2^64 mod bound */
	for (;;)
	{
		r = lv_stream_u64(s);
		if (r >= threshold)
			return r % bound;
	}
}

/*
 * lv_stream_uniform_tail returns a double uniform on (0,1) whose resolution
 * keeps up near 0: k 2^-53 for k the top 53 bits of a u64 as in
 * lv_stream_uniform (the same value from the same bits), but when k = 0
 * (probability 2^-53) it descends into (0, 2^-53) with the next u64 instead
 * of drawing again, and so on, 53 bits per level, down to k 2^-1060 (after
 * 20 zero draws, probability 2^-1060, it returns 2^-1060). P(u <= x) is
 * x up to the grid step at every scale, so log(u) has an exact tail down to
 * -734 instead of stopping at -36.7 (= ln 2^-53).
 */
double
lv_stream_uniform_tail(lv_stream *s)
{
	double scale = 1.0;
	uint64_t k;
	int level;

	for (level = 0; level < 20; level++)
	{
		k = lv_stream_u64(s) >> 11;
		if (k != 0)
			return (double) k * (1.0 / 9007199254740992.0) * scale;
		scale *= 1.0 / 9007199254740992.0; /* 2^-53, exact down to 2^-1007 */
	}
	return 0x1p-1060;
}

/*
 * lv_stream_gaussian returns a standard normal variate by Box-Muller: each
 * pair of uniforms gives two normals, the second is kept as the spare and
 * returned by the next call. The radius uses lv_stream_uniform_tail, so
 * |z| is no longer cut at sqrt(2 ln 2^53) = 8.57 (the classic 53-bit
 * Box-Muller) but at sqrt(2 ln 2^1060) = 38.3, beyond which the normal has
 * mass below 2^-1000; the values are the classic ones whenever the first
 * uniform is >= 2^-53. These continuous normals are used only for
 * floating-point vectors (DP-SGD gradient noise, latent noise, weight
 * initialisation): released counts use the exact discrete samplers of
 * lv_exact.h.
 */
double
lv_stream_gaussian(lv_stream *s)
{
	double u1,
		u2,
		r,
		theta;

	if (s->have_spare)
	{
		s->have_spare = 0;
		return s->spare;
	}
	u1 = lv_stream_uniform_tail(s);
	u2 = lv_stream_uniform(s);
	r = sqrt(-2.0 * log(u1));
	theta = 2.0 * M_PI * u2;
	s->spare = r * sin(theta);
	s->have_spare = 1;
	return r * cos(theta);
}

/*
 * lv_stream_laplace returns a continuous Laplace(0, b) variate (no release
 * uses it any more: noisy counts and thresholds draw the exact discrete
 * Laplace of lv_exact.h) by the inverse CDF of
 * one uniform u in (0,1): b ln(2u) below 1/2, -b ln(2(1-u)) above (1-u is
 * exact there), so both tails keep full precision and the result is finite.
 */
double
lv_stream_laplace(lv_stream *s, double b)
{
	double u = lv_stream_uniform(s);

	if (u < 0.5)
		return b * log(2.0 * u);
	return -b * log(2.0 * (1.0 - u));
}

/*
 * lv_permute_round is the Feistel round function: word `round` of the
 * ChaCha20 block keyed by the key, with counter = half (the right half,
 * at most 32 bits) and nonce = (LV_DOMAIN_PERMUTE, tweak low, tweak high),
 * masked to the half width.
 */
static uint32_t
lv_permute_round(const uint32_t key[8], const uint32_t nonce[3], int round,
				 uint32_t half, uint32_t mask)
{
	uint32_t block[16];

	lv_chacha20_block(key, half, nonce, block);
	return block[round] & mask;
}

/*
 * lv_permute maps i in [0, n) to its image under a keyed pseudo-random
 * permutation of [0, n) selected by (key, tweak): a balanced Feistel network
 * of LV_PERMUTE_ROUNDS rounds on the smallest domain [0, 2^(2w)) covering n,
 * applied repeatedly (cycle walking) until the value falls below n. Since
 * 2^(2w) < 4n the expected number of walks is below 4. n = 0 or 1 returns
 * 0; i >= n (outside the contract) is reduced mod n first. Any n up to
 * 2^64 - 1 works (w <= 32).
 */
uint64_t
lv_permute(const uint8_t key[LV_KEY_BYTES], uint64_t tweak,
		   uint64_t n, uint64_t i)
{
	uint32_t kw[8];
	uint32_t nonce[3];
	uint32_t mask;
	uint64_t x;
	int w;
	int r;

	if (n <= 1)
		return 0;
	if (i >= n)
		i %= n;

	/* smallest w with 2^(2w) >= n */
	w = 1;
	while (w < 32 && ((uint64_t) 1 << (2 * w)) < n)
		w++;
	mask = (w == 32) ? 0xffffffffu : (((uint32_t) 1 << w) - 1);

	lv_key_words(key, kw);
	nonce[0] = LV_DOMAIN_PERMUTE;
	nonce[1] = (uint32_t) (tweak & 0xffffffffu);
	nonce[2] = (uint32_t) (tweak >> 32);

	x = i;
	do
	{
		uint32_t left = (uint32_t) (x >> w) & mask;
		uint32_t right = (uint32_t) x & mask;

		for (r = 0; r < LV_PERMUTE_ROUNDS; r++)
		{
			uint32_t t = left ^ lv_permute_round(kw, nonce, r, right, mask);

			left = right;
			right = t;
		}
		x = ((uint64_t) left << w) | right;
	} while (x >= n);

	return x;
}
