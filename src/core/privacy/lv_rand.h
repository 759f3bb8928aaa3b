/*
 * lv_rand.h - keyed deterministic random streams (ChaCha20, RFC 8439) and a
 * keyed pseudo-random permutation. No PostgreSQL here.
 *
 * Every random number lipvae uses for privacy comes from a ChaCha20 stream
 * keyed with a 32-byte secret key (from pg_strong_random in production). A
 * stream is addressed by (domain, index): the same key, domain and index
 * always give the same numbers, so synthetic row j is a fixed function of
 * (key, j).
 */
#ifndef LV_RAND_H
#define LV_RAND_H

#include <stddef.h>
#include <stdint.h>

#define LV_KEY_BYTES 32

/* Stream domains: distinct uses of one key never share a keystream. */
enum
{
	LV_DOMAIN_TRAIN = 1,      /* weight init, minibatch order, training noise */
	LV_DOMAIN_PREPROCESS = 2, /* DP bounds and category selection */
	LV_DOMAIN_RELEASE = 3,    /* latent noise and head sampling of row j */
	LV_DOMAIN_PERMUTE = 4,    /* round keys of the source-row permutation */
	LV_DOMAIN_PRIOR_SET = 5   /* the fixed latent points of a mixture prior */
};

typedef struct lv_stream
{
	uint32_t key[8];
	uint32_t nonce[3];
	uint32_t counter;
	uint32_t buf[16];
	int pos;        /* next unused word of buf; 16 = empty */
	int have_spare; /* Box-Muller keeps its second normal */
	double spare;
} lv_stream;

/* lv_chacha20_block computes one 64-byte ChaCha20 block (RFC 8439 2.3). */
void lv_chacha20_block(const uint32_t key[8], uint32_t counter,
					   const uint32_t nonce[3], uint32_t out[16]);

/* lv_stream_init positions a stream at (key, domain, index), counter 0. */
void lv_stream_init(lv_stream *s, const uint8_t key[LV_KEY_BYTES],
					uint32_t domain, uint64_t index);

/* lv_stream_u32 returns the next 32 random bits. */
uint32_t lv_stream_u32(lv_stream *s);

/* lv_stream_u64 returns the next 64 random bits. */
uint64_t lv_stream_u64(lv_stream *s);

/* lv_stream_uniform returns a double uniform on the open interval (0,1). */
double lv_stream_uniform(lv_stream *s);

/*
 * lv_stream_uniform_tail is lv_stream_uniform (same value from the same
 * bits) except that it keeps resolution near 0 (down to 2^-1060) instead of
 * redrawing k = 0.
 */
double lv_stream_uniform_tail(lv_stream *s);

/* lv_stream_below returns an unbiased integer uniform on [0, bound). */
uint64_t lv_stream_below(lv_stream *s, uint64_t bound);

/*
 * lv_stream_gaussian returns a standard normal variate (Box-Muller, radius
 * from lv_stream_uniform_tail: no tail cut at 8.6 sigma). Continuous: for
 * floating-point vectors only, never for released counts (lv_exact.h).
 */
double lv_stream_gaussian(lv_stream *s);

/* lv_stream_laplace returns a continuous Laplace(0, b) variate (not used for releases). */
double lv_stream_laplace(lv_stream *s, double b);

/*
 * lv_permute maps i in [0, n) to its image under a keyed pseudo-random
 * permutation of [0, n) selected by (key, tweak): a balanced Feistel network
 * on the smallest even-bit-width domain covering n, with cycle walking.
 */
uint64_t lv_permute(const uint8_t key[LV_KEY_BYTES], uint64_t tweak,
					uint64_t n, uint64_t i);

#endif
