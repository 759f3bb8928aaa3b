/*
 * test_rand.c - unit tests of lv_rand.c: ChaCha20 against the RFC 8439 test
 * vectors, stream layout and determinism, distribution checks of the
 * uniform, integer, Gaussian and Laplace draws, and the keyed permutation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "lv_rand.h"

/* key 00 01 02 ... 1f, used by the RFC 8439 vectors */
static void
rfc_key(uint8_t key[LV_KEY_BYTES])
{
	int i;

	for (i = 0; i < LV_KEY_BYTES; i++)
		key[i] = (uint8_t) i;
}

/* key words of rfc_key, little-endian */
static void
rfc_key_words(uint32_t kw[8])
{
	int i;

	for (i = 0; i < 8; i++)
		kw[i] = (uint32_t) (4 * i) | ((uint32_t) (4 * i + 1) << 8) |
				((uint32_t) (4 * i + 2) << 16) | ((uint32_t) (4 * i + 3) << 24);
}

/* serialise words little-endian */
static void
words_to_bytes(const uint32_t *w, int nwords, uint8_t *out)
{
	int i;

	for (i = 0; i < nwords; i++)
	{
		out[4 * i] = (uint8_t) (w[i] & 0xff);
		out[4 * i + 1] = (uint8_t) ((w[i] >> 8) & 0xff);
		out[4 * i + 2] = (uint8_t) ((w[i] >> 16) & 0xff);
		out[4 * i + 3] = (uint8_t) ((w[i] >> 24) & 0xff);
	}
}

/* RFC 8439 section 2.3.2: the block function test vector. */
static void
test_chacha20_block_rfc_2_3_2(void **state)
{
	static const uint32_t expect_words[16] = {
		0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3,
		0xc7f4d1c7, 0x0368c033, 0x9aaa2204, 0x4e6cd4c3,
		0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9,
		0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2};
	static const uint8_t expect_bytes[64] = {
		0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15,
		0x50, 0x0f, 0xdd, 0x1f, 0xa3, 0x20, 0x71, 0xc4,
		0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03,
		0x04, 0x22, 0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e,
		0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa, 0x09,
		0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2,
		0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9,
		0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
	/* nonce bytes 00 00 00 09 00 00 00 4a 00 00 00 00, little-endian words */
	const uint32_t nonce[3] = {0x09000000, 0x4a000000, 0x00000000};
	uint32_t kw[8];
	uint32_t out[16];
	uint8_t bytes[64];
	int i;

	rfc_key_words(kw);
	lv_chacha20_block(kw, 1, nonce, out);
	for (i = 0; i < 16; i++)
		assert_int_equal(out[i], expect_words[i]);
	words_to_bytes(out, 16, bytes);
	assert_memory_equal(bytes, expect_bytes, 64);
}

/* RFC 8439 section 2.4.2: keystream (counter 1, 2) and the encryption. */
static void
test_chacha20_keystream_rfc_2_4_2(void **state)
{
	static const char plaintext[] =
		"Ladies and Gentlemen of the class of '99: If I could offer you "
		"only one tip for the future, sunscreen would be it.";
	static const uint8_t expect_ks1[64] = {
		0x22, 0x4f, 0x51, 0xf3, 0x40, 0x1b, 0xd9, 0xe1,
		0x2f, 0xde, 0x27, 0x6f, 0xb8, 0x63, 0x1d, 0xed,
		0x8c, 0x13, 0x1f, 0x82, 0x3d, 0x2c, 0x06, 0xe2,
		0x7e, 0x4f, 0xca, 0xec, 0x9e, 0xf3, 0xcf, 0x78,
		0x8a, 0x3b, 0x0a, 0xa3, 0x72, 0x60, 0x0a, 0x92,
		0xb5, 0x79, 0x74, 0xcd, 0xed, 0x2b, 0x93, 0x34,
		0x79, 0x4c, 0xba, 0x40, 0xc6, 0x3e, 0x34, 0xcd,
		0xea, 0x21, 0x2c, 0x4c, 0xf0, 0x7d, 0x41, 0xb7};
	static const uint8_t expect_ks2_head[50] = {
		0x69, 0xa6, 0x74, 0x9f, 0x3f, 0x63, 0x0f, 0x41,
		0x22, 0xca, 0xfe, 0x28, 0xec, 0x4d, 0xc4, 0x7e,
		0x26, 0xd4, 0x34, 0x6d, 0x70, 0xb9, 0x8c, 0x73,
		0xf3, 0xe9, 0xc5, 0x3a, 0xc4, 0x0c, 0x59, 0x45,
		0x39, 0x8b, 0x6e, 0xda, 0x1a, 0x83, 0x2c, 0x89,
		0xc1, 0x67, 0xea, 0xcd, 0x90, 0x1d, 0x7e, 0x2b,
		0xf3, 0x63};
	static const uint8_t expect_ct[114] = {
		0x6e, 0x2e, 0x35, 0x9a, 0x25, 0x68, 0xf9, 0x80,
		0x41, 0xba, 0x07, 0x28, 0xdd, 0x0d, 0x69, 0x81,
		0xe9, 0x7e, 0x7a, 0xec, 0x1d, 0x43, 0x60, 0xc2,
		0x0a, 0x27, 0xaf, 0xcc, 0xfd, 0x9f, 0xae, 0x0b,
		0xf9, 0x1b, 0x65, 0xc5, 0x52, 0x47, 0x33, 0xab,
		0x8f, 0x59, 0x3d, 0xab, 0xcd, 0x62, 0xb3, 0x57,
		0x16, 0x39, 0xd6, 0x24, 0xe6, 0x51, 0x52, 0xab,
		0x8f, 0x53, 0x0c, 0x35, 0x9f, 0x08, 0x61, 0xd8,
		0x07, 0xca, 0x0d, 0xbf, 0x50, 0x0d, 0x6a, 0x61,
		0x56, 0xa3, 0x8e, 0x08, 0x8a, 0x22, 0xb6, 0x5e,
		0x52, 0xbc, 0x51, 0x4d, 0x16, 0xcc, 0xf8, 0x06,
		0x81, 0x8c, 0xe9, 0x1a, 0xb7, 0x79, 0x37, 0x36,
		0x5a, 0xf9, 0x0b, 0xbf, 0x74, 0xa3, 0x5b, 0xe6,
		0xb4, 0x0b, 0x8e, 0xed, 0xf2, 0x78, 0x5e, 0x42,
		0x87, 0x4d};
	/* nonce bytes 00 00 00 00 00 00 00 4a 00 00 00 00 */
	const uint32_t nonce[3] = {0x00000000, 0x4a000000, 0x00000000};
	uint32_t kw[8];
	uint32_t out[16];
	uint8_t ks[128];
	uint8_t ct[114];
	int i;

	assert_int_equal(strlen(plaintext), 114);
	rfc_key_words(kw);
	lv_chacha20_block(kw, 1, nonce, out);
	words_to_bytes(out, 16, ks);
	lv_chacha20_block(kw, 2, nonce, out);
	words_to_bytes(out, 16, ks + 64);
	assert_memory_equal(ks, expect_ks1, 64);
	assert_memory_equal(ks + 64, expect_ks2_head, 50);
	for (i = 0; i < 114; i++)
		ct[i] = (uint8_t) plaintext[i] ^ ks[i];
	assert_memory_equal(ct, expect_ct, 114);
}

/*
 * The stream is the keystream with key = key bytes as LE words, nonce =
 * (domain, index lo, index hi), counter from 0, words in order.
 */
static void
test_stream_layout(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	uint32_t kw[8];
	uint32_t blk[16];
	uint64_t index = 0x0123456789abcdefULL;
	const uint32_t nonce[3] = {LV_DOMAIN_RELEASE, 0x89abcdef, 0x01234567};
	lv_stream s;
	uint32_t c;
	int i;

	rfc_key(key);
	rfc_key_words(kw);
	lv_stream_init(&s, key, LV_DOMAIN_RELEASE, index);
	for (c = 0; c < 3; c++)
	{
		lv_chacha20_block(kw, c, nonce, blk);
		for (i = 0; i < 16; i++)
			assert_int_equal(lv_stream_u32(&s), blk[i]);
	}

	/* u64: first word is the low half */
	lv_stream_init(&s, key, LV_DOMAIN_RELEASE, index);
	lv_chacha20_block(kw, 0, nonce, blk);
	assert_true(lv_stream_u64(&s) ==
				((uint64_t) blk[0] | ((uint64_t) blk[1] << 32)));
	assert_true(lv_stream_u64(&s) ==
				((uint64_t) blk[2] | ((uint64_t) blk[3] << 32)));
}

/* Same (key, domain, index) gives the same numbers; any change differs. */
static void
test_stream_determinism(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	uint8_t key2[LV_KEY_BYTES];
	lv_stream a,
		b,
		c,
		d,
		e;
	int i,
		same_idx = 0,
		same_dom = 0,
		same_key = 0;

	rfc_key(key);
	memcpy(key2, key, LV_KEY_BYTES);
	key2[31] ^= 1;
	lv_stream_init(&a, key, LV_DOMAIN_TRAIN, 42);
	lv_stream_init(&b, key, LV_DOMAIN_TRAIN, 42);
	lv_stream_init(&c, key, LV_DOMAIN_TRAIN, 43);
	lv_stream_init(&d, key, LV_DOMAIN_RELEASE, 42);
	lv_stream_init(&e, key2, LV_DOMAIN_TRAIN, 42);
	for (i = 0; i < 1000; i++)
	{
		uint64_t va = lv_stream_u64(&a);

		assert_true(va == lv_stream_u64(&b));
		same_idx += (va == lv_stream_u64(&c));
		same_dom += (va == lv_stream_u64(&d));
		same_key += (va == lv_stream_u64(&e));
	}
	assert_int_equal(same_idx, 0);
	assert_int_equal(same_dom, 0);
	assert_int_equal(same_key, 0);

	/* the derived draws are deterministic too, including the spare */
	lv_stream_init(&a, key, LV_DOMAIN_RELEASE, 7);
	lv_stream_init(&b, key, LV_DOMAIN_RELEASE, 7);
	for (i = 0; i < 101; i++)
	{
		assert_true(lv_stream_uniform(&a) == lv_stream_uniform(&b));
		assert_true(lv_stream_gaussian(&a) == lv_stream_gaussian(&b));
		assert_true(lv_stream_laplace(&a, 2.0) == lv_stream_laplace(&b, 2.0));
		assert_true(lv_stream_below(&a, 1000) == lv_stream_below(&b, 1000));
	}

	/* re-initialising forgets the Box-Muller spare */
	lv_stream_init(&a, key, LV_DOMAIN_RELEASE, 8);
	{
		double g1 = lv_stream_gaussian(&a);

		assert_true(a.have_spare);
		lv_stream_init(&a, key, LV_DOMAIN_RELEASE, 8);
		assert_false(a.have_spare);
		assert_true(lv_stream_gaussian(&a) == g1);
	}
}

/* Uniform: strictly inside (0,1), mean 1/2, variance 1/12. */
static void
test_uniform_moments(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream s;
	const int n = 200000;
	double sum = 0,
		   sum2 = 0,
		   mean,
		   var;
	int i,
		low_decile = 0;

	rfc_key(key);
	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 1);
	for (i = 0; i < n; i++)
	{
		double u = lv_stream_uniform(&s);

		assert_true(u > 0.0 && u < 1.0);
		sum += u;
		sum2 += u * u;
		low_decile += (u < 0.1);
	}
	mean = sum / n;
	var = sum2 / n - mean * mean;
	/* sd of the mean 6.5e-4, of the variance 1.7e-4: about 5 sd */
	assert_true(fabs(mean - 0.5) < 0.0033);
	assert_true(fabs(var - 1.0 / 12.0) < 0.001);
	/* sd of the decile count 134 */
	assert_true(abs(low_decile - n / 10) < 700);
}

/* Uniform edge cases: all-zero bits are redrawn, all-one bits stay below 1. */
static void
test_uniform_edges(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream s;
	double u;
	int i;

	rfc_key(key);
	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 2);
	for (i = 0; i < 16; i++)
		s.buf[i] = 0xffffffffu;
	s.pos = 0;
	u = lv_stream_uniform(&s);
	assert_true(u < 1.0);
	assert_true(u == 1.0 - ldexp(1.0, -53));

	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 2);
	for (i = 0; i < 16; i++)
		s.buf[i] = 0;
	s.buf[2] = 0;
	s.buf[3] = 0x80000000u; /* second u64 = 2^63: k = 2^52 */
	s.pos = 0;
	u = lv_stream_uniform(&s);
	assert_true(u == 0.5); /* first (zero) draw was rejected */
	assert_int_equal(s.pos, 4);

	/* the smallest value is 2^-53 > 0 */
	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 2);
	for (i = 0; i < 16; i++)
		s.buf[i] = 0;
	s.buf[0] = 1u << 11;
	s.pos = 0;
	u = lv_stream_uniform(&s);
	assert_true(u == ldexp(1.0, -53));
}

/* lv_stream_below: range, chi-square on small bounds, no modulo bias. */
static void
test_below_unbiased(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream s;
	const int n = 100000;
	long cnt[10];
	double chi2;
	uint64_t big = (uint64_t) 3 << 62; /* 2^64 mod big = 2^62 */
	int i,
		j,
		below_quarter = 0;

	rfc_key(key);
	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, 3);

	assert_true(lv_stream_below(&s, 1) == 0);
	assert_true(lv_stream_below(&s, 0) == 0);

	/* bound 10: chi-square with 9 df, p(chi2 > 40) ~ 7e-6 */
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < n; i++)
	{
		uint64_t v = lv_stream_below(&s, 10);

		assert_true(v < 10);
		cnt[v]++;
	}
	chi2 = 0;
	for (j = 0; j < 10; j++)
		chi2 += (cnt[j] - n / 10.0) * (cnt[j] - n / 10.0) / (n / 10.0);
	assert_true(chi2 < 40.0);

	/* bound 3: every value appears, chi-square with 2 df */
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < 30000; i++)
		cnt[lv_stream_below(&s, 3)]++;
	chi2 = 0;
	for (j = 0; j < 3; j++)
		chi2 += (cnt[j] - 10000.0) * (cnt[j] - 10000.0) / 10000.0;
	assert_true(chi2 < 25.0);

	/*
	 * bound 3*2^62: plain r % bound would put half the draws below 2^62
	 * instead of a third.
	 */
	for (i = 0; i < 30000; i++)
	{
		uint64_t v = lv_stream_below(&s, big);

		assert_true(v < big);
		below_quarter += (v < ((uint64_t) 1 << 62));
	}
	/* sd 82 */
	assert_true(abs(below_quarter - 10000) < 500);
}

/* Gaussian: mean 0, variance 1, 95% inside +-1.96, kurtosis 3. */
static void
test_gaussian_moments(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream s;
	const int n = 200000;
	double sum = 0,
		   sum2 = 0,
		   sum4 = 0,
		   mean,
		   var;
	int i,
		inside = 0;

	rfc_key(key);
	lv_stream_init(&s, key, LV_DOMAIN_RELEASE, 4);
	for (i = 0; i < n; i++)
	{
		double z = lv_stream_gaussian(&s);

		assert_true(isfinite(z));
		sum += z;
		sum2 += z * z;
		sum4 += z * z * z * z;
		inside += (fabs(z) < 1.959963984540054);
	}
	mean = sum / n;
	var = sum2 / n - mean * mean;
	assert_true(fabs(mean) < 0.011);                        /* sd 0.0022 */
	assert_true(fabs(var - 1.0) < 0.016);                   /* sd 0.0032 */
	assert_true(fabs(sum4 / n - 3.0) < 0.12);               /* sd 0.022 */
	assert_true(fabs((double) inside / n - 0.95) < 0.0025); /* sd 0.0005 */
}

/* Laplace(b): mean 0, variance 2 b^2, E|X| = b, median of |X| = b ln 2. */
static void
test_laplace_moments(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream s;
	const int n = 200000;
	const double b = 1.5;
	double sum = 0,
		   sum2 = 0,
		   sumabs = 0,
		   mean,
		   var;
	int i,
		small = 0,
		positive = 0;

	rfc_key(key);
	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, 5);
	for (i = 0; i < n; i++)
	{
		double x = lv_stream_laplace(&s, b);

		assert_true(isfinite(x));
		sum += x;
		sum2 += x * x;
		sumabs += fabs(x);
		small += (fabs(x) < b * M_LN2);
		positive += (x > 0);
	}
	mean = sum / n;
	var = sum2 / n - mean * mean;
	assert_true(fabs(mean) < 0.025);           /* sd 0.0047 */
	assert_true(fabs(var - 2 * b * b) < 0.12); /* sd 0.0225 */
	assert_true(fabs(sumabs / n - b) < 0.017); /* sd 0.0034 */
	assert_true(abs(small - n / 2) < 1200);    /* sd 224 */
	assert_true(abs(positive - n / 2) < 1200);
}

/* check_bijection asserts lv_permute(key, tweak, n, .) is a bijection of [0,n). */
static void
check_bijection(const uint8_t *key, uint64_t tweak, uint64_t n)
{
	unsigned char *seen = calloc(n, 1);
	uint64_t i;

	assert_non_null(seen);
	for (i = 0; i < n; i++)
	{
		uint64_t p = lv_permute(key, tweak, n, i);

		assert_true(p < n);
		assert_int_equal(seen[p], 0);
		seen[p] = 1;
	}
	free(seen);
}

/* lv_permute is a bijection of [0, n) for several n and tweaks. */
static void
test_permute_bijection(void **state)
{
	static const uint64_t ns[] = {1, 2, 3, 4, 5, 10, 17, 1000, 4096, 4097};
	uint8_t key[LV_KEY_BYTES];
	size_t a;
	uint64_t t;

	rfc_key(key);
	for (a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
		for (t = 0; t < 3; t++)
			check_bijection(key, t * 0x9e3779b97f4a7c15ULL, ns[a]);
	assert_true(lv_permute(key, 5, 1, 0) == 0);
}

/* Different tweak or key gives a different permutation; same gives same. */
static void
test_permute_keyed(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	uint8_t key2[LV_KEY_BYTES];
	const uint64_t n = 1000;
	uint64_t i;
	int diff_tweak = 0,
		diff_key = 0,
		fixed = 0,
		seen_swap = 0,
		seen_id = 0,
		t;

	rfc_key(key);
	memcpy(key2, key, LV_KEY_BYTES);
	key2[0] ^= 0x80;
	for (i = 0; i < n; i++)
	{
		uint64_t p = lv_permute(key, 1, n, i);

		assert_true(p == lv_permute(key, 1, n, i));
		diff_tweak += (p != lv_permute(key, 2, n, i));
		diff_key += (p != lv_permute(key2, 1, n, i));
		fixed += (p == i);
	}
	/* a random permutation agrees with another in about 1 place */
	assert_true(diff_tweak > 980);
	assert_true(diff_key > 980);
	assert_true(fixed < 10);

	/* n = 2: both permutations occur over tweaks */
	for (t = 0; t < 64; t++)
	{
		if (lv_permute(key, (uint64_t) t, 2, 0) == 0)
			seen_id = 1;
		else
			seen_swap = 1;
	}
	assert_true(seen_id && seen_swap);
}

/* Large n (2^62 and beyond): images in range, distinct, deterministic. */
static void
test_permute_large(void **state)
{
	static const uint64_t ns[] = {
		(uint64_t) 1 << 62, ((uint64_t) 1 << 62) - 3, ((uint64_t) 1 << 40) + 1,
		UINT64_MAX};
	uint8_t key[LV_KEY_BYTES];
	uint64_t img[512];
	size_t a;
	int i,
		j;

	rfc_key(key);
	for (a = 0; a < sizeof(ns) / sizeof(ns[0]); a++)
	{
		uint64_t n = ns[a];

		for (i = 0; i < 512; i++)
		{
			uint64_t x = (i < 256) ? (uint64_t) i : n - 1 - (uint64_t) (i - 256);

			img[i] = lv_permute(key, 77, n, x);
			assert_true(img[i] < n);
			assert_true(img[i] == lv_permute(key, 77, n, x));
		}
		for (i = 0; i < 512; i++)
			for (j = i + 1; j < 512; j++)
				assert_true(img[i] != img[j]);
		/* images spread over the range, not clustered near the inputs */
		{
			int high = 0;

			for (i = 0; i < 256; i++)
				high += (img[i] > n / 2);
			assert_true(high > 80 && high < 176);
		}
	}
}

/*
 * The Gaussian has no 8.6-sigma tail cut: a stream whose next keystream
 * words are forced (buffer set by hand) to k = 0 for the first uniform and
 * then a small k makes lv_stream_uniform_tail descend below 2^-53, and the
 * Box-Muller radius exceeds what a 53-bit uniform allows (8.57); without
 * zero words the tail uniform equals lv_stream_uniform bit for bit.
 */
static void
test_gaussian_tail(void **state)
{
	uint8_t key[LV_KEY_BYTES] = {9};
	lv_stream s,
		t;
	double u,
		g,
		h,
		r;
	int i;

	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 1);
	memset(s.buf, 0, sizeof(s.buf));
	s.pos = 0;
	/* word pairs: (0, 0) -> k = 0; then k = 1 (u64 = 2^11); then u2's bits */
	s.buf[2] = 1u << 11;
	s.buf[4] = 0x12345678u;
	s.buf[5] = 0x9abcdef0u;
	u = lv_stream_uniform_tail(&s);
	assert_true(u == 0x1p-106);
	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 1);
	memset(s.buf, 0, sizeof(s.buf));
	s.pos = 0;
	s.buf[2] = 1u << 11;
	s.buf[4] = 0x12345678u;
	s.buf[5] = 0x9abcdef0u;
	g = lv_stream_gaussian(&s);
	h = lv_stream_gaussian(&s); /* the spare */
	r = sqrt(g * g + h * h);
	print_message("radius %.4f from u1 = 2^-106\n", r);
	assert_true(fabs(r - sqrt(2.0 * 106.0 * log(2.0))) < 1e-9);
	assert_true(r > 12.0); /* beyond the 8.57 of a 53-bit uniform */
	/* same values as lv_stream_uniform when no zero word shows up */
	lv_stream_init(&s, key, LV_DOMAIN_TRAIN, 2);
	lv_stream_init(&t, key, LV_DOMAIN_TRAIN, 2);
	for (i = 0; i < 100000; i++)
		assert_true(lv_stream_uniform_tail(&s) == lv_stream_uniform(&t));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chacha20_block_rfc_2_3_2),
		cmocka_unit_test(test_chacha20_keystream_rfc_2_4_2),
		cmocka_unit_test(test_stream_layout),
		cmocka_unit_test(test_stream_determinism),
		cmocka_unit_test(test_uniform_moments),
		cmocka_unit_test(test_uniform_edges),
		cmocka_unit_test(test_below_unbiased),
		cmocka_unit_test(test_gaussian_moments),
		cmocka_unit_test(test_laplace_moments),
		cmocka_unit_test(test_gaussian_tail),
		cmocka_unit_test(test_permute_bijection),
		cmocka_unit_test(test_permute_keyed),
		cmocka_unit_test(test_permute_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
