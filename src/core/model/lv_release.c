/*
 * lv_release.c - release of synthetic rows: row j is a fixed function of
 * (key, j). Its source row comes from the keyed permutation of pass
 * q = j / n, its latent noise and every head draw from the (key, RELEASE,
 * j) stream, and the decoder runs once per chunk of rows.
 *
 * Draws per row, in this order: k Gaussians for the latent noise, then per
 * column: numeric: [u_null if nullable], u_bin, u_pos; categorical: u_slot.
 * The number of draws per column never depends on the outcome.
 *
 * A central model with a mixture prior (prior_points = N > 0, model format
 * 3) draws no latent noise: row j decodes prior point
 * lv_permute(key, LV_PRIOR_TWEAK | (j / N), N, j mod N) (lv_prior_set), so
 * that each block of N rows decodes every point once, in a keyed order: a
 * stratified sample of the mixture, with less sampling noise than N iid
 * draws; then the column draws above.
 */
#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LV_HAVE_AVX2_DISPATCH 1
#endif

#include "lv_model.h"
#include "lv_tree.h"
#include "lv_nn.h"
#include "lv_marginals.h"

/*
 * Speed without changing a single released value. Row j is promised to be
 * a fixed function of (key, j): a release that changed for an existing
 * model would hand out a second, different copy of rows already released
 * (and accounted for once). So everything below computes bit for bit what
 * lv_permute, lv_stream_* and the scalar loops compute; it only computes it
 * faster:
 *  - ChaCha20 blocks are computed eight at a time (AVX2 lanes) or four
 *    (SSE2), the same 32-bit arithmetic as lv_chacha20_block;
 *  - each row's keystream blocks are computed ahead in such batches and
 *    handed to its lv_stream exactly as lv_stream_u32 would refill it
 *    (buf = block(counter), counter + 1, pos = 0); draws past the
 *    precomputed blocks fall back to lv_stream_u32's own refill;
 *  - the Feistel round function of lv_permute only depends on (tweak,
 *    right half), so for a small domain the whole table of round words is
 *    computed once per pass and chunk instead of one ChaCha20 block per
 *    round and row (12 rounds, about 20 blocks a row); the first row of
 *    every chunk is checked against lv_permute itself;
 *  - the inverse-CDF scan of a softmax head reuses the prefix sums of the
 *    normalising sum (the same double additions in the same order) and
 *    finds the bin by bisection; the heads of four rows are summed side by
 *    side in SIMD lanes (each lane its own row, in order), which hides the
 *    latency of the chain of additions.
 */

/* the tweaks of a mixture prior's permutations (no source-row pass reaches them) */
#define LV_PRIOR_TWEAK ((uint64_t) 1 << 62)
/* must equal LV_PERMUTE_ROUNDS in lv_rand.c (checked against lv_permute) */
#define LV_RELEASE_PERMUTE_ROUNDS 12
/* largest Feistel half width w whose round table (2^w x rounds words) is built */
#define LV_PERM_TABLE_MAX_W 12
/* keystream blocks computed ahead per row (more are drawn lazily) */
#define LV_PREFETCH_BLOCKS 16

/*
 * lv_chacha20_x4 computes the ChaCha20 blocks of lanes 0..3 (RFC 8439 2.3,
 * as lv_chacha20_block): one key, per lane a counter and a nonce;
 * out[l] receives lane l's 16 words.
 */
static void
lv_chacha20_x4(const uint32_t key[8], const uint32_t counter[4],
			   const uint32_t nonce[4][3], uint32_t *const out[4])
{
#if defined(__SSE2__)
	__m128i in[16],
		x[16];
	uint32_t lanes[4];
	int i,
		l;

#define LV_ROTL4(v, c) _mm_or_si128(_mm_slli_epi32((v), (c)), _mm_srli_epi32((v), 32 - (c)))
#define LV_QR4(a, b, c, d)                \
	do                                    \
	{                                     \
		x[a] = _mm_add_epi32(x[a], x[b]); \
		x[d] = _mm_xor_si128(x[d], x[a]); \
		x[d] = LV_ROTL4(x[d], 16);        \
		x[c] = _mm_add_epi32(x[c], x[d]); \
		x[b] = _mm_xor_si128(x[b], x[c]); \
		x[b] = LV_ROTL4(x[b], 12);        \
		x[a] = _mm_add_epi32(x[a], x[b]); \
		x[d] = _mm_xor_si128(x[d], x[a]); \
		x[d] = LV_ROTL4(x[d], 8);         \
		x[c] = _mm_add_epi32(x[c], x[d]); \
		x[b] = _mm_xor_si128(x[b], x[c]); \
		x[b] = LV_ROTL4(x[b], 7);         \
	} while (0)

	in[0] = _mm_set1_epi32(0x61707865); /* "expand 32-byte k" */
	in[1] = _mm_set1_epi32(0x3320646e);
	in[2] = _mm_set1_epi32(0x79622d32);
	in[3] = _mm_set1_epi32(0x6b206574);
	for (i = 0; i < 8; i++)
		in[4 + i] = _mm_set1_epi32((int) key[i]);
	in[12] = _mm_loadu_si128((const __m128i *) counter);
	for (i = 0; i < 3; i++)
	{
		for (l = 0; l < 4; l++)
			lanes[l] = nonce[l][i];
		in[13 + i] = _mm_loadu_si128((const __m128i *) lanes);
	}
	for (i = 0; i < 16; i++)
		x[i] = in[i];
	for (i = 0; i < 10; i++)
	{
		LV_QR4(0, 4, 8, 12);
		LV_QR4(1, 5, 9, 13);
		LV_QR4(2, 6, 10, 14);
		LV_QR4(3, 7, 11, 15);
		LV_QR4(0, 5, 10, 15);
		LV_QR4(1, 6, 11, 12);
		LV_QR4(2, 7, 8, 13);
		LV_QR4(3, 4, 9, 14);
	}
	for (i = 0; i < 16; i++)
	{
		_mm_storeu_si128((__m128i *) lanes, _mm_add_epi32(x[i], in[i]));
		for (l = 0; l < 4; l++)
			out[l][i] = lanes[l];
	}
#undef LV_QR4
#undef LV_ROTL4
#else
	int l;

	for (l = 0; l < 4; l++)
		lv_chacha20_block(key, counter[l], nonce[l], out[l]);
#endif
}

#ifdef LV_HAVE_AVX2_DISPATCH
/* lv_chacha20_x8 is lv_chacha20_x4 on eight lanes (AVX2 machines). */
__attribute__((target("avx2"))) static void
lv_chacha20_x8(const uint32_t key[8], const uint32_t counter[8],
			   const uint32_t nonce[8][3], uint32_t *const out[8])
{
	/* byte shuffles rotating each 32-bit lane left by 16 and by 8 */
	const __m256i r16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
										 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
	const __m256i r8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
										3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
	__m256i in[16],
		x[16];
	uint32_t lanes[8];
	int i,
		l;

#define LV_ROTL8(v, c) _mm256_or_si256(_mm256_slli_epi32((v), (c)), _mm256_srli_epi32((v), 32 - (c)))
#define LV_QR8(a, b, c, d)                     \
	do                                         \
	{                                          \
		x[a] = _mm256_add_epi32(x[a], x[b]);   \
		x[d] = _mm256_xor_si256(x[d], x[a]);   \
		x[d] = _mm256_shuffle_epi8(x[d], r16); \
		x[c] = _mm256_add_epi32(x[c], x[d]);   \
		x[b] = _mm256_xor_si256(x[b], x[c]);   \
		x[b] = LV_ROTL8(x[b], 12);             \
		x[a] = _mm256_add_epi32(x[a], x[b]);   \
		x[d] = _mm256_xor_si256(x[d], x[a]);   \
		x[d] = _mm256_shuffle_epi8(x[d], r8);  \
		x[c] = _mm256_add_epi32(x[c], x[d]);   \
		x[b] = _mm256_xor_si256(x[b], x[c]);   \
		x[b] = LV_ROTL8(x[b], 7);              \
	} while (0)

	in[0] = _mm256_set1_epi32(0x61707865); /* "expand 32-byte k" */
	in[1] = _mm256_set1_epi32(0x3320646e);
	in[2] = _mm256_set1_epi32(0x79622d32);
	in[3] = _mm256_set1_epi32(0x6b206574);
	for (i = 0; i < 8; i++)
		in[4 + i] = _mm256_set1_epi32((int) key[i]);
	in[12] = _mm256_loadu_si256((const __m256i *) counter);
	for (i = 0; i < 3; i++)
	{
		for (l = 0; l < 8; l++)
			lanes[l] = nonce[l][i];
		in[13 + i] = _mm256_loadu_si256((const __m256i *) lanes);
	}
	for (i = 0; i < 16; i++)
		x[i] = in[i];
	for (i = 0; i < 10; i++)
	{
		LV_QR8(0, 4, 8, 12);
		LV_QR8(1, 5, 9, 13);
		LV_QR8(2, 6, 10, 14);
		LV_QR8(3, 7, 11, 15);
		LV_QR8(0, 5, 10, 15);
		LV_QR8(1, 6, 11, 12);
		LV_QR8(2, 7, 8, 13);
		LV_QR8(3, 4, 9, 14);
	}
	for (i = 0; i < 16; i++)
	{
		_mm256_storeu_si256((__m256i *) lanes, _mm256_add_epi32(x[i], in[i]));
		for (l = 0; l < 8; l++)
			out[l][i] = lanes[l];
	}
#undef LV_QR8
#undef LV_ROTL8
}

/* lv_use_avx2 is 1 when the CPU has AVX2 (checked once). */
static int
lv_use_avx2(void)
{
	static int have = -1;

	if (have < 0)
		have = __builtin_cpu_supports("avx2") ? 1 : 0;
	return have;
}
#endif

/*
 * lv_blocks computes cnt ChaCha20 blocks (counter[i], nonce[i]) into
 * out + 16 i, eight (AVX2) or four at a time.
 */
static void
lv_blocks(const uint32_t key[8], int cnt, const uint32_t *counter,
		  const uint32_t (*nonce)[3], uint32_t *out)
{
	int i = 0,
		l;

#ifdef LV_HAVE_AVX2_DISPATCH
	if (lv_use_avx2())
	{
		for (; i + 8 <= cnt; i += 8)
		{
			uint32_t *dst[8];

			for (l = 0; l < 8; l++)
				dst[l] = out + (size_t) 16 * (i + l);
			lv_chacha20_x8(key, counter + i, nonce + i, dst);
		}
	}
#endif
	for (; i < cnt; i += 4)
	{
		uint32_t ctr[4],
			nc[4][3],
			dummy[4][16];
		uint32_t *dst[4];

		for (l = 0; l < 4; l++)
		{
			int q = (i + l < cnt) ? i + l : i; /* pad with a repeat */

			ctr[l] = counter[q];
			memcpy(nc[l], nonce[q], sizeof(nc[l]));
			dst[l] = (i + l < cnt) ? out + (size_t) 16 * (i + l) : dummy[l];
		}
		lv_chacha20_x4(key, ctr, (const uint32_t(*)[3]) nc, dst);
	}
}

/*
 * lv_perm_table: the Feistel round words of lv_permute for one (key,
 * tweak) and half width w: F[right * ROUNDS + r] = word r of the ChaCha20
 * block (counter = right, nonce = (PERMUTE, tweak)), masked.
 */
typedef struct lv_perm_table
{
	int w;
	uint32_t mask;
	uint64_t tweak;
	int filled;
	uint32_t *F;
} lv_perm_table;

/* lv_perm_width returns lv_permute's half width w for a domain of n. */
static int
lv_perm_width(uint64_t n)
{
	int w = 1;

	while (w < 32 && ((uint64_t) 1 << (2 * w)) < n)
		w++;
	return w;
}

/* lv_perm_fill computes the round table of tweak into t (t->w set). */
static void
lv_perm_fill(lv_perm_table *t, const uint32_t kw[8], uint64_t tweak,
			 uint32_t *scratch_ctr, uint32_t (*scratch_nonce)[3],
			 uint32_t *scratch_blocks)
{
	uint32_t size = (uint32_t) 1 << t->w;
	uint32_t v;
	int r;

	for (v = 0; v < size; v++)
	{
		scratch_ctr[v] = v;
		scratch_nonce[v][0] = LV_DOMAIN_PERMUTE;
		scratch_nonce[v][1] = (uint32_t) (tweak & 0xffffffffu);
		scratch_nonce[v][2] = (uint32_t) (tweak >> 32);
	}
	lv_blocks(kw, (int) size, scratch_ctr, (const uint32_t(*)[3]) scratch_nonce,
			  scratch_blocks);
	for (v = 0; v < size; v++)
		for (r = 0; r < LV_RELEASE_PERMUTE_ROUNDS; r++)
			t->F[(size_t) v * LV_RELEASE_PERMUTE_ROUNDS + r] =
				scratch_blocks[(size_t) v * 16 + r] & t->mask;
	t->tweak = tweak;
	t->filled = 1;
}

/* lv_perm_apply is lv_permute(key, t->tweak, n, i) through the table. */
static uint64_t
lv_perm_apply(const lv_perm_table *t, uint64_t n, uint64_t i)
{
	int w = t->w;
	uint32_t mask = t->mask;
	uint64_t x;
	int r;

	if (n <= 1)
		return 0;
	if (i >= n)
		i %= n;
	x = i;
	do
	{
		uint32_t left = (uint32_t) (x >> w) & mask;
		uint32_t right = (uint32_t) x & mask;

		for (r = 0; r < LV_RELEASE_PERMUTE_ROUNDS; r++)
		{
			uint32_t tmp = left ^ t->F[(size_t) right * LV_RELEASE_PERMUTE_ROUNDS + r];

			left = right;
			right = tmp;
		}
		x = ((uint64_t) left << w) | right;
	} while (x >= n);
	return x;
}

/*
 * lv_feed hands a stream its next precomputed block when its buffer is
 * used up: the state lv_stream_u32's refill would produce.
 */
static inline void
lv_feed(lv_stream *s, const uint32_t *pre, int npre)
{
	if (s->pos >= 16 && s->counter < (uint32_t) npre)
	{
		memcpy(s->buf, pre + (size_t) 16 * s->counter, sizeof(s->buf));
		s->counter++;
		s->pos = 0;
	}
}

#define LV_DECODE_GROUP 4 /* rows whose heads are sampled side by side */

static double lv_numeric_value(const lv_column *col, int bin, double u_pos);

/*
 * lv_sample_softmax_group draws, for each of the G <= LV_DECODE_GROUP rows
 * whose head logits start at l[g], the index from the softmax over
 * l[g][0..n) by inverse CDF with the uniform u[g] in (0,1), into idx[g].
 * Overwrites the logits with the unnormalised probabilities. Bit for bit,
 * per row, what lipvae 0.1 computed: mx = max; l[i] = expf(l[i] - mx);
 * sum += l[i] (double, in order); target = u * sum; the first i < n-1
 * whose running sum exceeds target, else n-1. The running sums are the
 * partial sums of that same loop: they are kept (pre, n x G) and searched
 * by bisection, and the G rows' additions run side by side in SIMD lanes
 * (each lane adds its own row's terms in the same order, so every sum is
 * the same double).
 */
static void
lv_sample_softmax_group(float *const *l, int G, int n, const double *u,
						int *idx, double *pre)
{
	int g,
		i;

	for (g = 0; g < G; g++)
	{
		float *lg = l[g];
		float mx = lv_max_float(lg, n);

		for (i = 0; i < n; i++)
			lg[i] = expf(lg[i] - mx);
	}
#if defined(__SSE2__)
	if (G == 4)
	{
		__m128d s01 = _mm_setzero_pd(),
				s23 = _mm_setzero_pd();

		for (i = 0; i < n; i++)
		{
			__m128 v = _mm_set_ps(l[3][i], l[2][i], l[1][i], l[0][i]);

			s01 = _mm_add_pd(s01, _mm_cvtps_pd(v));
			s23 = _mm_add_pd(s23, _mm_cvtps_pd(_mm_movehl_ps(v, v)));
			_mm_storeu_pd(pre + 4 * i, s01);
			_mm_storeu_pd(pre + 4 * i + 2, s23);
		}
	}
	else
#endif
	{
		for (g = 0; g < G; g++)
		{
			double sum = 0.0;

			for (i = 0; i < n; i++)
			{
				sum += l[g][i];
				pre[(size_t) LV_DECODE_GROUP * i + g] = sum;
			}
		}
	}
	for (g = 0; g < G; g++)
	{
		double target = u[g] * pre[(size_t) LV_DECODE_GROUP * (n - 1) + g];
		int lo = 0,
			hi = n - 1;

		/* first i in [0, n-2] with target < pre[i]; n-1 if none */
		while (lo < hi)
		{
			int mid = lo + (hi - lo) / 2;

			if (target < pre[(size_t) LV_DECODE_GROUP * mid + g])
				hi = mid;
			else
				lo = mid + 1;
		}
		idx[g] = lo;
	}
}

/* lv_sigmoid_d returns 1 / (1 + e^-x) in double without overflow. */
static double
lv_sigmoid_d(double x)
{
	if (x >= 0.0)
		return 1.0 / (1.0 + exp(-x));
	else
	{
		double e = exp(x);

		return e / (1.0 + e);
	}
}

/*
 * lv_decode_rows samples the cells of `count` rows (logits: count x o,
 * overwritten) with each row's stream, every row's draws in column order
 * as lipvae 0.1 drew them; rows are taken LV_DECODE_GROUP at a time (all
 * columns of a group, then the next group: the group's logits stay in
 * cache). pre holds the rows' npre precomputed keystream blocks each;
 * scan is scratch of LV_DECODE_GROUP x the widest head.
 */
static void
lv_decode_rows(const lv_schema *s, float *logits, int o, int count,
			   lv_stream *streams, lv_cell *out, const uint32_t *pre,
			   int npre, double *scan)
{
	int c,
		r0,
		g,
		off = 0,
		ncols = s->ncols;

	for (r0 = 0; r0 < count; r0 += LV_DECODE_GROUP)
	{
		int G = (count - r0 < LV_DECODE_GROUP) ? count - r0 : LV_DECODE_GROUP;

		off = 0;
		for (c = 0; c < ncols; c++)
		{
			const lv_column *col = &s->cols[c];
			int numeric = col->kind == LV_COL_NUMERIC;
			int width = numeric ? col->nbins : lv_column_slots(col);
			float *heads[LV_DECODE_GROUP];
			double u_draw[LV_DECODE_GROUP],
				u_pos[LV_DECODE_GROUP];
			int isnull[LV_DECODE_GROUP],
				idx[LV_DECODE_GROUP];

			/* every row's draws for this column, in lipvae 0.1's order */
			for (g = 0; g < G; g++)
			{
				int r = r0 + g;
				lv_stream *rs = &streams[r];
				const uint32_t *rpre = pre + (size_t) 16 * npre * r;
				float *lr = logits + (size_t) r * o + off;

				heads[g] = lr;
				isnull[g] = 0;
				if (numeric)
				{
					if (col->nullable)
					{
						double u_null;

						lv_feed(rs, rpre, npre);
						u_null = lv_stream_uniform(rs);
						isnull[g] = u_null < lv_sigmoid_d((double) lr[col->nbins]);
					}
					lv_feed(rs, rpre, npre);
					u_draw[g] = lv_stream_uniform(rs);
					lv_feed(rs, rpre, npre);
					u_pos[g] = lv_stream_uniform(rs);
				}
				else
				{
					lv_feed(rs, rpre, npre);
					u_draw[g] = lv_stream_uniform(rs);
				}
			}
			lv_sample_softmax_group(heads, G, width, u_draw, idx, scan);

			for (g = 0; g < G; g++)
			{
				lv_cell *cell = &out[(size_t) (r0 + g) * ncols + c];

				cell->value = 0.0;
				cell->cat = 0;
				cell->isnull = 0;
				if (numeric)
				{
					double v = lv_numeric_value(col, idx[g], u_pos[g]);

					if (isnull[g])
					{
						cell->isnull = 1;
						cell->value = 0.0;
					}
					else
						cell->value = v;
				}
				else
				{
					int slot = idx[g];

					if (slot < col->ncat)
						cell->cat = slot;
					else if (slot == col->ncat)
						cell->cat = -1;
					else
					{
						cell->cat = -1;
						cell->isnull = 1;
					}
				}
			}
			off += numeric ? col->nbins + (col->nullable ? 1 : 0) : width;
		}
	}
}

#define LV_BIN_INTEGER_MAX 0x1p52 /* beyond: x + 1 may round back to x */
#define LV_BIN_INTEGER_STEPS 8    /* the edges' guesses are off by 1 or 2 */

/*
 * lv_bin_integer returns the integer of position u_pos in [0, 1) among the
 * integers whose bin (lv_numeric_bin) is bin, uniformly; NAN when the bin
 * holds none, when the bounds pass 2^52 in magnitude, or when an edge is
 * not found in LV_BIN_INTEGER_STEPS steps (the caller then rounds a
 * position, as format 3 does): bounded work for any blob.
 */
static double
lv_bin_integer(const lv_column *col, int bin, double u_pos)
{
	double w = (col->hi - col->lo) / col->nbins,
		   first = fmax(ceil(col->lo), ceil(col->lo + bin * w) - 1.0),
		   last = fmin(floor(col->hi), floor(col->lo + (bin + 1) * w) + 1.0);
	int k;

	if (!(fabs(col->lo) <= LV_BIN_INTEGER_MAX && fabs(col->hi) <= LV_BIN_INTEGER_MAX))
		return NAN;
	/* the edges round both ways: step in until the bin is the bin */
	for (k = 0; k < LV_BIN_INTEGER_STEPS && first <= last && lv_numeric_bin(col, first) != bin; k++)
		first += 1.0;
	for (k = 0; k < LV_BIN_INTEGER_STEPS && last >= first && lv_numeric_bin(col, last) != bin; k++)
		last -= 1.0;
	if (first > last || lv_numeric_bin(col, first) != bin || lv_numeric_bin(col, last) != bin)
		return NAN;
	return fmin(last, first + floor(u_pos * (last - first + 1.0)));
}

/*
 * lv_numeric_value returns the value of a numeric column's bin: the bin's
 * integer for exact bins; one of the bin's integers, uniformly, for
 * uniform_ints (position u_pos); else uniform inside the bin, rounded for
 * integer columns, within the bounds.
 */
static double
lv_numeric_value(const lv_column *col, int bin, double u_pos)
{
	double v;

	if (col->exact_bins)
		return col->lo + bin;
	if (col->uniform_ints && !isnan(v = lv_bin_integer(col, bin, u_pos)))
		return v;
	v = col->lo + (bin + u_pos) * (col->hi - col->lo) / col->nbins;
	if (col->integer)
	{
		double ilo = ceil(col->lo),
			   ihi = floor(col->hi);

		v = round(v);
		if (ilo <= ihi)
		{
			if (v < ilo)
				v = ilo;
			if (v > ihi)
				v = ihi;
		}
	}
	if (v < col->lo)
		v = col->lo;
	if (v > col->hi)
		v = col->hi;
	return v;
}

/*
 * lv_decode_rows_tree samples the cells of `count` rows of a model with a
 * tree of pairwise potentials (lv_tree.h): per row, every column's slot
 * distribution from its logits, one uniform per column (in column order)
 * for the slot and one per numeric column for the position inside its
 * bin, both from the row's stream; then the rows' joint draws by belief
 * propagation (lv_tree_sample, all rows at once). tb holds
 * count * (lv_schema_output_dim + 2 ncols) + lv_tree_work_size doubles,
 * slots count * ncols.
 */
static void
lv_decode_rows_tree(const lv_model *m, const float *logits, int o, int count,
					lv_stream *streams, lv_cell *out, const uint32_t *pre,
					int npre, double *tb, int32_t *slots)
{
	const lv_schema *s = &m->schema;
	int nc = s->ncols,
		r,
		c;
	double *probs = tb,
		   *u = probs + (size_t) count * o,
		   *u_pos = u + (size_t) count * nc,
		   *work = u_pos + (size_t) count * nc;

	for (r = 0; r < count; r++)
	{
		lv_stream *rs = &streams[r];
		const uint32_t *rpre = pre + (size_t) 16 * npre * r;

		for (c = 0; c < nc; c++)
		{
			lv_feed(rs, rpre, npre);
			u[(size_t) r * nc + c] = lv_stream_uniform(rs);
		}
		for (c = 0; c < nc; c++)
			if (s->cols[c].kind == LV_COL_NUMERIC)
			{
				lv_feed(rs, rpre, npre);
				u_pos[(size_t) r * nc + c] = lv_stream_uniform(rs);
			}
		lv_column_probs(s, logits + (size_t) r * o, probs + (size_t) r * o);
	}
	lv_tree_sample(&m->tree, s, probs, count, u, work, slots);
	for (r = 0; r < count; r++)
		for (c = 0; c < nc; c++)
		{
			const lv_column *col = &s->cols[c];
			lv_cell *cell = &out[(size_t) r * nc + c];
			int32_t slot = slots[(size_t) r * nc + c];

			cell->value = 0.0;
			cell->cat = 0;
			cell->isnull = 0;
			if (col->kind == LV_COL_NUMERIC)
			{
				if (col->nullable && slot == col->nbins)
					cell->isnull = 1;
				else
					cell->value = lv_numeric_value(col, slot, u_pos[(size_t) r * nc + c]);
			}
			else if (slot < col->ncat)
				cell->cat = slot;
			else
			{
				cell->cat = -1;
				cell->isnull = slot > col->ncat;
			}
		}
}

/*
 * lv_release_aligned decodes rows start .. start+count-1, all inside one
 * aligned chunk (start mod LV_RELEASE_CHUNK + count <= LV_RELEASE_CHUNK),
 * into out. The decoder always runs on the whole chunk, each row at its
 * own position j mod LV_RELEASE_CHUNK (the other positions zero): a
 * matrix product's rounding may depend on the batch and the position, and
 * this way row j is computed the same whatever range is asked for.
 */
static int
lv_release_aligned(const lv_model *m, int64_t start, int count, lv_cell *out)
{
	int k,
		o,
		mw,
		ncols,
		r,
		c,
		words,
		npre,
		maxslots,
		w = 0,
		use_table = 0;
	uint64_t n,
		pn,
		tbase;
	int pos = (int) (start % LV_RELEASE_CHUNK);
	float *z,
		*zpad,
		*logits,
		*lpad,
		*scratch;
	lv_stream *streams;
	lv_stream ks;
	lv_perm_table pt;
	uint64_t *src;
	uint32_t *pre,
		*ctr,
		(*nonce)[3],
		*pblocks = NULL;
	double *scan;
	char *block;
	size_t nb,
		nbatch,
		tsize = 0,
		sz_z,
		sz_l,
		sz_s,
		off;

	if (m == NULL || out == NULL || start < 0 || count < 0 ||
		count > LV_RELEASE_CHUNK || start > INT64_MAX - count)
		return LV_ERR_ARG;
	if (count == 0)
		return LV_OK;
	if ((m->mechanism == LV_MECH_CENTRAL
			 ? (m->nrows != 0 || m->means != NULL)
			 : (m->nrows < 1 || m->means == NULL || m->center == NULL)) ||
		!lv_prior_ok(m) ||
		m->dec.nlayers < 1 || m->dec.layers == NULL || m->latent < 1 ||
		m->dec.layers[0].in != m->latent ||
		m->dec.layers[m->dec.nlayers - 1].out != lv_schema_output_dim(&m->schema))
		return LV_ERR_ARG;

	k = m->latent;
	o = lv_schema_output_dim(&m->schema);
	mw = lv_mlp_max_width(&m->dec);
	ncols = m->schema.ncols;
	n = (uint64_t) m->nrows;
	/* the permutation's domain: the source rows, or a mixture's points */
	pn = n > 0 ? n : (uint64_t) m->prior_points;
	tbase = n > 0 ? 0 : LV_PRIOR_TWEAK;

	/* keystream words a row draws (without the 2^-53 redraws of a zero) */
	words = m->prior_points > 0 ? 0 : 4 * ((k + 1) / 2);
	maxslots = 1;
	for (c = 0; c < ncols; c++)
	{
		const lv_column *col = &m->schema.cols[c];
		int width = (col->kind == LV_COL_NUMERIC) ? col->nbins : lv_column_slots(col);

		words += (col->kind == LV_COL_NUMERIC) ? 2 * (2 + (col->nullable ? 1 : 0)) : 2;
		if (width > maxslots)
			maxslots = width;
	}
	npre = (words + 15) / 16;
	if (npre > LV_PREFETCH_BLOCKS)
		npre = LV_PREFETCH_BLOCKS;

	/*
	 * The permutation through a round table when the table (2^w blocks,
	 * four at a time) costs less than the blocks of direct evaluation
	 * (12 or more per row).
	 */
	if (pn > 1)
	{
		w = lv_perm_width(pn);
		if (w <= LV_PERM_TABLE_MAX_W &&
			((size_t) 1 << w) <= (size_t) 4 * LV_RELEASE_PERMUTE_ROUNDS * count)
		{
			use_table = 1;
			tsize = (size_t) 1 << w;
		}
	}

	/* one block per call: streams, z, logits, decoder scratch, keystream */
	nb = (size_t) count * npre;
	nbatch = nb > tsize ? nb : tsize;
	sz_z = sizeof(float) * (size_t) LV_RELEASE_CHUNK * k;
	sz_l = sizeof(float) * (size_t) LV_RELEASE_CHUNK * o;
	sz_s = sizeof(float) * 2 * (size_t) LV_RELEASE_CHUNK * mw;
	block = lv_alloc(sizeof(lv_stream) * count + sz_z + sz_l + sz_s +
					 sizeof(uint64_t) * count + sizeof(uint32_t) * 16 * nb +
					 (sizeof(uint32_t) * 4) * nbatch +
					 sizeof(double) * LV_DECODE_GROUP * maxslots +
					 (sizeof(uint32_t) * (16 + LV_RELEASE_PERMUTE_ROUNDS)) * tsize);
	if (block == NULL)
		return LV_ERR_NOMEM;
	/* the parts of 8-byte types first, then those of 4-byte types */
	memset(&pt, 0, sizeof(pt));
	streams = (lv_stream *) block;
	off = sizeof(lv_stream) * count;
	src = (uint64_t *) (block + off);
	off += sizeof(uint64_t) * count;
	scan = (double *) (block + off);
	off += sizeof(double) * LV_DECODE_GROUP * maxslots;
	zpad = (float *) (block + off);
	memset(zpad, 0, sz_z);
	z = zpad + (size_t) pos * k;
	off += sz_z;
	lpad = (float *) (block + off);
	logits = lpad + (size_t) pos * o;
	off += sz_l;
	scratch = (float *) (block + off);
	off += sz_s;
	pre = (uint32_t *) (block + off);
	off += sizeof(uint32_t) * 16 * nb;
	nonce = (uint32_t(*)[3])(block + off);
	off += sizeof(uint32_t) * 3 * nbatch;
	ctr = (uint32_t *) (block + off);
	off += sizeof(uint32_t) * nbatch;
	if (use_table)
	{
		pblocks = (uint32_t *) (block + off);
		off += sizeof(uint32_t) * 16 * tsize;
		pt.F = (uint32_t *) (block + off);
		pt.w = w;
		pt.mask = ((uint32_t) 1 << w) - 1; /* w <= LV_PERM_TABLE_MAX_W */
	}
	lv_stream_init(&ks, m->key, LV_DOMAIN_PERMUTE, 0); /* ks.key: the key words */

	/* source rows, or prior points (neither for a Gaussian prior: pn = 0) */
	for (r = 0; pn > 0 && r < count; r++)
	{
		uint64_t j = (uint64_t) start + (uint64_t) r;
		uint64_t q = tbase | (j / pn);

		if (use_table)
		{
			if (!pt.filled || pt.tweak != q)
				lv_perm_fill(&pt, ks.key, q, ctr, nonce, pblocks);
			src[r] = lv_perm_apply(&pt, pn, j % pn);
			if (r == 0 && src[0] != lv_permute(m->key, q, pn, j % pn))
				use_table = 0; /* rounds out of step with lv_rand.c */
		}
		if (!use_table)
			src[r] = lv_permute(m->key, q, pn, j % pn);
		if (src[r] >= pn) /* cannot happen with a correct permutation */
		{
			lv_free(block);
			return LV_ERR_ARG;
		}
	}

	/* the first npre keystream blocks of every row */
	for (r = 0; r < count; r++)
	{
		uint64_t j = (uint64_t) start + (uint64_t) r;
		int b;

		for (b = 0; b < npre; b++)
		{
			size_t i = (size_t) r * npre + b;

			ctr[i] = (uint32_t) b;
			nonce[i][0] = LV_DOMAIN_RELEASE;
			nonce[i][1] = (uint32_t) (j & 0xffffffffu);
			nonce[i][2] = (uint32_t) (j >> 32);
		}
	}
	lv_blocks(ks.key, (int) nb, ctr, (const uint32_t(*)[3]) nonce, pre);

	for (r = 0; r < count; r++)
	{
		uint64_t j = (uint64_t) start + (uint64_t) r;
		const float *mean = n > 0 ? m->means + (size_t) src[r] * k : NULL;
		const uint32_t *rpre = pre + (size_t) 16 * npre * r;
		float *zr = z + (size_t) r * k;

		lv_stream_init(&streams[r], m->key, LV_DOMAIN_RELEASE, j);
		if (m->prior_points > 0)
			lv_prior_set(m, (int64_t) src[r], 1, zr);
		for (c = 0; m->prior_points == 0 && c < k; c++)
		{
			lv_feed(&streams[r], rpre, npre);
			if (mean == NULL) /* central: the prior */
				zr[c] = (float) (m->noise_sd * lv_stream_gaussian(&streams[r]));
			else
				zr[c] = (float) (m->center[c] + (double) mean[c] +
								 m->noise_sd * lv_stream_gaussian(&streams[r]));
		}
	}

	lv_mlp_infer(&m->dec, zpad, LV_RELEASE_CHUNK, lpad, scratch);

	if (m->tree.ncols != 0)
	{
		size_t tw = (size_t) count * (o + 2 * (size_t) ncols) +
					lv_tree_work_size(&m->tree, &m->schema, count);
		double *tb = lv_alloc(sizeof(double) * tw);
		int32_t *slots = lv_alloc(sizeof(int32_t) * (size_t) count * ncols);

		if (tb == NULL || slots == NULL)
		{
			lv_free(tb);
			lv_free(slots);
			lv_free(block);
			return LV_ERR_NOMEM;
		}
		lv_decode_rows_tree(m, logits, o, count, streams, out, pre, npre, tb, slots);
		lv_free(tb);
		lv_free(slots);
	}
	else
		lv_decode_rows(&m->schema, logits, o, count, streams, out, pre, npre, scan);

	lv_free(block);
	return LV_OK;
}

/*
 * lv_release_rows decodes synthetic rows start .. start+count-1 into out
 * (count x ncols cells), split at the aligned chunks; see lv_model.h.
 * Returns LV_OK, LV_ERR_ARG or LV_ERR_NOMEM.
 */
int
lv_release_rows(const lv_model *m, int64_t start, int count, lv_cell *out)
{
	int first;
	int rc;

	if (m == NULL || out == NULL || start < 0 || count < 0 ||
		count > LV_RELEASE_CHUNK || start > INT64_MAX - count)
		return LV_ERR_ARG;
	first = (int) (LV_RELEASE_CHUNK - start % LV_RELEASE_CHUNK);
	if (count <= first)
		return lv_release_aligned(m, start, count, out);
	rc = lv_release_aligned(m, start, first, out);
	if (rc == LV_OK)
		rc = lv_release_aligned(m, start + first, count - first,
								out + (size_t) first * m->schema.ncols);
	return rc;
}
