/*
 * test_dpsgd.c - unit tests of DP-SGD training (lv_dpsgd.h): per-example
 * gradient norms from layer inputs and output gradients against explicit
 * per-example gradients, clipping, the noise's scale, Poisson sampling,
 * utility on a synthetic table with and without noise, interruption and
 * allocation hygiene, determinism and the spectral bounds; user-level
 * (unit) DP-SGD: per-unit norms, unit sampling, the normalizer; the
 * derived clip: spectral upper bounds, the gradient bound B_t against
 * actual norms, the noise at C_t and the report.
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
#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#endif

#include "lv_model.h"
#include "lv_nn.h"
#include "lv_dpsgd.h"
#include "lv_accountant.h"
#include "lv_rand.h"

/* ---------- helpers ---------- */

/* fill_key sets a key to bytes seed, seed+1, ... */
static void
fill_key(uint8_t key[LV_KEY_BYTES], int seed)
{
	int i;

	for (i = 0; i < LV_KEY_BYTES; i++)
		key[i] = (uint8_t) (seed + i);
}

/* new_schema returns an lv_alloc'ed copy of cols in s. */
static void
new_schema(lv_schema *s, const lv_column *cols, int ncols)
{
	s->ncols = ncols;
	s->cols = lv_alloc(sizeof(lv_column) * ncols);
	assert_non_null(s->cols);
	memcpy(s->cols, cols, sizeof(lv_column) * ncols);
}

/* Live allocations through the counting allocator. */
static long live_allocs;

/* count_alloc is a malloc that counts live blocks. */
static void *
count_alloc(size_t size, void *ctx)
{
	void *p = malloc(size ? size : 1);

	(void) ctx;
	if (p != NULL)
		live_allocs++;
	return p;
}

/* count_free is the matching free. */
static void
count_free(void *ptr, void *ctx)
{
	(void) ctx;
	if (ptr != NULL)
		live_allocs--;
	free(ptr);
}

static const lv_allocator counting = {count_alloc, count_free, NULL};

/* Allocations left before failing_alloc starts returning NULL. */
static long allocs_left;

/* failing_alloc is count_alloc until allocs_left runs out, then fails. */
static void *
failing_alloc(size_t size, void *ctx)
{
	if (allocs_left <= 0)
		return NULL;
	allocs_left--;
	return count_alloc(size, ctx);
}

static const lv_allocator failing = {failing_alloc, count_free, NULL};

/* mlp_norm2 returns the squared L2 norm of every parameter of g. */
static double
mlp_norm2(const lv_mlp *g)
{
	double s = 0.0;
	int l;
	size_t i;

	for (l = 0; l < g->nlayers; l++)
	{
		const lv_layer *L = &g->layers[l];

		for (i = 0; i < (size_t) L->out * L->in; i++)
			s += (double) L->W[i] * L->W[i];
		for (i = 0; i < (size_t) L->out; i++)
			s += (double) L->b[i] * L->b[i];
	}
	return s;
}

/* mlp_axpy sets y += a x over every parameter. */
static void
mlp_axpy(lv_mlp *y, double a, const lv_mlp *x)
{
	int l;
	size_t i;

	for (l = 0; l < y->nlayers; l++)
	{
		lv_layer *Y = &y->layers[l];
		const lv_layer *X = &x->layers[l];

		for (i = 0; i < (size_t) Y->out * Y->in; i++)
			Y->W[i] += (float) (a * X->W[i]);
		for (i = 0; i < (size_t) Y->out; i++)
			Y->b[i] += (float) (a * X->b[i]);
	}
}

/*
 * mlp_max_diff returns max |a - b| over every parameter and writes max |b|
 * into *bmax.
 */
static double
mlp_max_diff(const lv_mlp *a, const lv_mlp *b, double *bmax)
{
	double dm = 0.0,
		   bm = 0.0;
	int l;
	size_t i;

	for (l = 0; l < a->nlayers; l++)
	{
		const lv_layer *A = &a->layers[l],
					   *B = &b->layers[l];

		for (i = 0; i < (size_t) A->out * A->in; i++)
		{
			dm = fmax(dm, fabs((double) A->W[i] - B->W[i]));
			bm = fmax(bm, fabs((double) B->W[i]));
		}
		for (i = 0; i < (size_t) A->out; i++)
		{
			dm = fmax(dm, fabs((double) A->b[i] - B->b[i]));
			bm = fmax(bm, fabs((double) B->b[i]));
		}
	}
	*bmax = bm;
	return dm;
}

/* mlp_zero zeroes every parameter. */
static void
mlp_zero(lv_mlp *g)
{
	int l;

	for (l = 0; l < g->nlayers; l++)
	{
		memset(g->layers[l].W, 0,
			   sizeof(float) * g->layers[l].out * g->layers[l].in);
		memset(g->layers[l].b, 0, sizeof(float) * g->layers[l].out);
	}
}

/* mlp_equal says whether two networks have bitwise identical parameters. */
static int
mlp_equal(const lv_mlp *a, const lv_mlp *b)
{
	int l;

	if (a->nlayers != b->nlayers)
		return 0;
	for (l = 0; l < a->nlayers; l++)
	{
		const lv_layer *A = &a->layers[l],
					   *B = &b->layers[l];

		if (A->in != B->in || A->out != B->out ||
			memcmp(A->W, B->W, sizeof(float) * A->out * A->in) != 0 ||
			memcmp(A->b, B->b, sizeof(float) * A->out) != 0)
			return 0;
	}
	return 1;
}

/* ---------- a tiny network and data set for the gradient tests ---------- */

/* Every head kind: nullable binned numeric, nullable categorical, exact bins. */
static const lv_column tiny_cols[3] = {
	{LV_COL_NUMERIC, 1, 0, 5, 0, 0, 0.0, 10.0, 0},
	{LV_COL_CATEGORICAL, 1, 0, 0, 0, 3, 0.0, 0.0, 0},
	{LV_COL_NUMERIC, 0, 1, 5, 1, 0, 0.0, 4.0, 0}};

typedef struct tiny
{
	lv_schema s;
	lv_mlp enc,
		dec;
	int d,
		k,
		ncols,
		n;
	float *X;
	int32_t *T;
} tiny;

/*
 * tiny_make builds random networks (Xavier weights, random biases) of the
 * given widths and n random encoded rows with some NULLs.
 */
static void
tiny_make(tiny *t, int hidden, int latent, int n, int seed)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	int ew[4],
		dw[4],
		i,
		l;
	lv_cell cells[3];

	memset(t, 0, sizeof(*t));
	new_schema(&t->s, tiny_cols, 3);
	t->d = lv_schema_input_dim(&t->s);
	t->k = latent;
	t->ncols = 3;
	t->n = n;
	ew[0] = t->d;
	ew[1] = ew[2] = hidden;
	ew[3] = latent;
	dw[0] = latent;
	dw[1] = dw[2] = hidden;
	dw[3] = lv_schema_output_dim(&t->s);
	assert_int_equal(lv_mlp_alloc(&t->enc, 3, ew), LV_OK);
	assert_int_equal(lv_mlp_alloc(&t->dec, 3, dw), LV_OK);
	fill_key(key, seed);
	lv_stream_init(&rs, key, LV_DOMAIN_PREPROCESS, 0);
	lv_mlp_init_xavier(&t->enc, &rs);
	lv_mlp_init_xavier(&t->dec, &rs);
	for (l = 0; l < 3; l++)
	{
		for (i = 0; i < t->enc.layers[l].out; i++)
			t->enc.layers[l].b[i] = (float) (0.3 * lv_stream_gaussian(&rs));
		for (i = 0; i < t->dec.layers[l].out; i++)
			t->dec.layers[l].b[i] = (float) (0.3 * lv_stream_gaussian(&rs));
	}
	t->X = malloc(sizeof(float) * n * t->d);
	t->T = malloc(sizeof(int32_t) * n * 3);
	assert_non_null(t->X);
	assert_non_null(t->T);
	for (i = 0; i < n; i++)
	{
		memset(cells, 0, sizeof(cells));
		cells[0].value = 10.0 * lv_stream_uniform(&rs);
		cells[0].isnull = lv_stream_uniform(&rs) < 0.2;
		cells[1].cat = (int) lv_stream_below(&rs, 4) - 1; /* -1: other */
		cells[1].isnull = lv_stream_uniform(&rs) < 0.2;
		cells[2].value = (double) lv_stream_below(&rs, 5);
		lv_encode_row(&t->s, cells, t->X + (size_t) i * t->d,
					  t->T + (size_t) i * 3);
	}
}

/* tiny_free releases a tiny set-up. */
static void
tiny_free(tiny *t)
{
	lv_mlp_free(&t->enc);
	lv_mlp_free(&t->dec);
	lv_free(t->s.cols);
	free(t->X);
	free(t->T);
}

/*
 * explicit_grad computes the gradient of row i's own negative ELBO (with
 * noise xi) by the existing minibatch backward on a batch of one.
 */
static void
explicit_grad(const tiny *t, int i, const float *xi, lv_mlp *genc,
			  lv_mlp *gdec)
{
	lv_vae_work vw;

	assert_int_equal(lv_vae_work_alloc(&vw, &t->enc, &t->dec, 1), LV_OK);
	lv_vae_grad(&t->s, &t->enc, &t->dec, t->X + (size_t) i * t->d,
				t->T + (size_t) i * t->ncols, xi, 1, &vw, genc, gdec, NULL,
				NULL);
	lv_vae_work_free(&vw);
}

/* ---------- (1) per-example norms ---------- */

/*
 * The norms from layer inputs and output gradients equal the norms of
 * explicitly computed per-example gradients, and the unclipped sum equals
 * the sum of the explicit gradients.
 */
static void
test_ghost_norms(void **state)
{
	const int B = 9;
	tiny t;
	lv_dpsgd_work *w;
	lv_mlp genc,
		gdec,
		ge1,
		gd1,
		senc,
		sdec;
	float xi[9 * 3];
	double norms[9],
		bmax,
		loss;
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	int i;

	(void) state;
	tiny_make(&t, 7, 3, B, 11);
	fill_key(key, 12);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 99);
	lv_dpsgd_draw_xi(&rs, xi, (size_t) B * t.k);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, B);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ge1, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gd1, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&senc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&sdec, &t.dec), LV_OK);

	loss = lv_dpsgd_clip_accumulate(&t.s, &t.enc, &t.dec, t.X, t.T, xi, B,
									INFINITY, w, &genc, &gdec, 1, norms,
									NULL, NULL);
	assert_true(isfinite(loss) && loss > 0.0);
	for (i = 0; i < B; i++)
	{
		double ex;

		explicit_grad(&t, i, xi + (size_t) i * t.k, &ge1, &gd1);
		ex = sqrt(mlp_norm2(&ge1) + mlp_norm2(&gd1));
		print_message("row %d: ghost norm %.8f explicit %.8f\n", i, norms[i],
					  ex);
		assert_true(ex > 0.0);
		assert_true(fabs(norms[i] - ex) <= 1e-5 * ex);
		mlp_axpy(&senc, 1.0, &ge1);
		mlp_axpy(&sdec, 1.0, &gd1);
	}
	assert_true(mlp_max_diff(&genc, &senc, &bmax) <= 1e-5 * bmax);
	assert_true(mlp_max_diff(&gdec, &sdec, &bmax) <= 1e-5 * bmax);

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&ge1);
	lv_mlp_free(&gd1);
	lv_mlp_free(&senc);
	lv_mlp_free(&sdec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/* ---------- (2) clipping ---------- */

/* exact_norm returns the L2 norm of n floats in long double. */
static long double
exact_norm(const float *v, size_t n)
{
	long double s = 0.0L;
	size_t i;

	for (i = 0; i < n; i++)
		s += (long double) v[i] * v[i];
	return sqrtl(s);
}

/*
 * lv_dpsgd_clip_vector on adversarial vectors (up to 2^20 entries, norms
 * from 2^-40 to 2^100, every entry equal, one huge entry among tiny ones,
 * norms a hair above C): the clipped floats' exact norm is <= C, always;
 * vectors already within C / (1 + 2^-20) are unchanged; and a clipped norm
 * stays within a relative 1e-6 of C (the margin is small).
 */
static void
test_clip_vector_bound(void **state)
{
	static const size_t dims[] = {1, 2, 3, 17, 1000, 65537, 1 << 20};
	static const double clips[] = {1.0, 0.1, 3.7, 1e-5, 1e10, 0x1p-40};
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	size_t di,
		ci,
		i;
	float *v = malloc(sizeof(float) * ((size_t) 1 << 20));
	int kind,
		worst_hits = 0;
	long double worst = 0.0L;

	(void) state;
	assert_non_null(v);
	fill_key(key, 77);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 5);
	for (di = 0; di < sizeof(dims) / sizeof(dims[0]); di++)
		for (ci = 0; ci < sizeof(clips) / sizeof(clips[0]); ci++)
			for (kind = 0; kind < 5; kind++)
			{
				size_t n = dims[di];
				double C = clips[ci];
				long double before,
					after;

				for (i = 0; i < n; i++)
				{
					double g = lv_stream_gaussian(&rs);

					switch (kind)
					{
						case 0: /* norm a hair above C */
							v[i] = (float) (C / sqrt((double) n));
							break;
						case 1: /* huge */
							v[i] = (float) (g * 0x1p100 / sqrt((double) n));
							break;
						case 2: /* random, norm about 2 C */
							v[i] = (float) (2.0 * C * g / sqrt((double) n));
							break;
						case 3: /* one large entry among tiny ones */
							v[i] = (float) (i == n / 2 ? 5.0 * C : 1e-30 * g);
							break;
						default: /* random, norm just above C */
							v[i] = (float) (C * (1 + 1e-7) * g / sqrt((double) n));
							break;
					}
				}
				before = exact_norm(v, n);
				lv_dpsgd_clip_vector(v, n, C);
				after = exact_norm(v, n);
				if (after / C > worst)
					worst = after / C;
				assert_true(after <= (long double) C);
				/* clipped near C (unless the factor is a subnormal float) */
				if (before > C)
				{
					assert_true(after >= (long double) C * (1 - 1e-6L) ||
								before < C * (1 + 1e-6) || C / before < 0x1p-120);
					worst_hits++;
				}
			}
	print_message("worst clipped norm %.12Lf C over %d clipped vectors\n", worst, worst_hits);
	assert_true(worst_hits > 100);

	/* within C / (1 + 2^-20): untouched */
	for (i = 0; i < 1000; i++)
		v[i] = (float) (0.999 / sqrt(1000.0));
	{
		float keep = v[0];

		lv_dpsgd_clip_vector(v, 1000, 1.0);
		assert_true(v[0] == keep);
	}
	/* the scale: 1 inside the margin, below 1 outside it, never above clip / norm */
	assert_true(lv_dpsgd_clip_scale(0.5, 1.0) == 1.0f);
	assert_true(lv_dpsgd_clip_scale(1.0, 1.0) < 1.0f);
	assert_true(lv_dpsgd_clip_scale(1.0, 1.0) >= 1.0f - 0x1p-20f);
	assert_true((double) lv_dpsgd_clip_scale(3.0, 1.0) * 3.0 <= 1.0);
	free(v);
}

/*
 * The DP-SGD clipping itself: every row of a network with 300-wide layers,
 * one at a time (B = 1, so genc and gdec hold exactly that row's clipped
 * gradient as float products), clipped at C equal to, a hair below and far
 * below its own ghost norm: the float gradient's exact norm is <= C.
 */
static void
test_clip_float_bound(void **state)
{
	const int n = 40;
	static const double frac[] = {1.0, 1.0 - 1e-8, 1.0 + 1e-8, 0.5, 1e-3, 0.999999};
	tiny t;
	lv_dpsgd_work *w;
	lv_mlp genc,
		gdec;
	float xi[16];
	double nr;
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	long double worst = 0.0L;
	int i,
		f,
		clipped = 0;

	(void) state;
	tiny_make(&t, 300, 16, n, 5);
	fill_key(key, 6);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 3);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 1);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	for (i = 0; i < n; i++)
	{
		const float *x = t.X + (size_t) i * t.d;
		const int32_t *tg = t.T + (size_t) i * t.ncols;

		lv_dpsgd_draw_xi(&rs, xi, (size_t) t.k);
		lv_dpsgd_clip_accumulate(&t.s, &t.enc, &t.dec, x, tg, xi, 1, INFINITY,
								 w, &genc, &gdec, 1, &nr, NULL, NULL);
		for (f = 0; f < (int) (sizeof(frac) / sizeof(frac[0])); f++)
		{
			double C = nr * frac[f];
			long double g2 = 0.0L,
						g;
			int l;

			lv_dpsgd_clip_accumulate(&t.s, &t.enc, &t.dec, x, tg, xi, 1, C, w,
									 &genc, &gdec, 1, NULL, NULL, NULL);
			for (l = 0; l < 3; l++)
			{
				g = exact_norm(genc.layers[l].W, (size_t) genc.layers[l].out * genc.layers[l].in);
				g2 += g * g;
				g = exact_norm(genc.layers[l].b, (size_t) genc.layers[l].out);
				g2 += g * g;
				g = exact_norm(gdec.layers[l].W, (size_t) gdec.layers[l].out * gdec.layers[l].in);
				g2 += g * g;
				g = exact_norm(gdec.layers[l].b, (size_t) gdec.layers[l].out);
				g2 += g * g;
			}
			g = sqrtl(g2);
			if (g / C > worst)
				worst = g / C;
			assert_true(g <= (long double) C);
			assert_true(g >= (long double) C * (1 - 1e-4L)); /* clipped, not destroyed */
			clipped++;
		}
	}
	print_message("worst float norm of a clipped gradient %.12Lf C (%d cases)\n", worst, clipped);
	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/*
 * With sigma = 0 and a tiny C, the privatised gradient of a step is the
 * sum over the step's Poisson sample of the per-example gradients each
 * scaled to norm C, divided by q n (the batch spans several chunks).
 */
static void
test_clipping(void **state)
{
	const int n = 40;
	const int t_step = 5;
	tiny t;
	lv_dpsgd_config cfg;
	lv_dpsgd_work *w;
	lv_dpsgd_sampler smp;
	lv_stream rxi;
	lv_mlp genc,
		gdec,
		ge1,
		gd1,
		senc,
		sdec;
	float xi[3];
	int64_t got,
		i,
		count = 0;
	double bmax,
		loss[3];

	(void) state;
	tiny_make(&t, 7, 3, n, 21);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sample_rate = 0.3;
	cfg.clip = 1e-3;
	cfg.noise_multiplier = 0.0;
	fill_key(cfg.train_key, 22);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 4);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ge1, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gd1, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&senc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&sdec, &t.dec), LV_OK);

	got = lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n, &cfg, t_step,
							  w, &genc, &gdec, loss);

	/* the same sample and noise, explicitly */
	lv_dpsgd_sampler_init(&smp, cfg.train_key, t_step, n, cfg.sample_rate);
	lv_stream_init(&rxi, cfg.train_key, LV_DOMAIN_TRAIN,
				   LV_DPSGD_STREAM(LV_DPSGD_XI, t_step));
	while ((i = lv_dpsgd_sampler_next(&smp)) >= 0)
	{
		double nr;

		lv_dpsgd_draw_xi(&rxi, xi, 3);
		explicit_grad(&t, (int) i, xi, &ge1, &gd1);
		nr = sqrt(mlp_norm2(&ge1) + mlp_norm2(&gd1));
		assert_true(nr > 100 * cfg.clip);
		mlp_axpy(&senc, cfg.clip / nr / (cfg.sample_rate * n), &ge1);
		mlp_axpy(&sdec, cfg.clip / nr / (cfg.sample_rate * n), &gd1);
		count++;
	}
	print_message("step %d: batch %ld (chunks of 4)\n", t_step, (long) got);
	assert_int_equal(got, count);
	assert_true(count > 4); /* several chunks */
	assert_true(mlp_max_diff(&genc, &senc, &bmax) <= 1e-5 * bmax);
	assert_true(mlp_max_diff(&gdec, &sdec, &bmax) <= 1e-5 * bmax);
	assert_true(sqrt(mlp_norm2(&genc) + mlp_norm2(&gdec)) <=
				count * cfg.clip / (cfg.sample_rate * n) * (1 + 1e-5));

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&ge1);
	lv_mlp_free(&gd1);
	lv_mlp_free(&senc);
	lv_mlp_free(&sdec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/* ---------- (3) noise ---------- */

/*
 * The privatised gradient with sigma > 0 minus the one with sigma = 0 (same
 * key and step: same sample and latent noise) is Gaussian noise of sd
 * sigma C / (q n) per coordinate; an empty batch gives pure noise.
 */
static void
test_noise(void **state)
{
	const int n = 50;
	tiny t;
	lv_dpsgd_config cfg;
	lv_dpsgd_work *w;
	lv_mlp genc,
		gdec,
		nenc,
		ndec;
	double s1 = 0.0,
		   s2 = 0.0,
		   within = 0.0,
		   cnt = 0.0,
		   expect,
		   mean,
		   sd,
		   bmax;
	int step,
		l,
		net;
	int64_t b;

	(void) state;
	tiny_make(&t, 24, 4, n, 31);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sample_rate = 0.2;
	cfg.clip = 0.5;
	fill_key(cfg.train_key, 32);
	expect = 2.0 * cfg.clip / (cfg.sample_rate * n);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 16);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&nenc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ndec, &t.dec), LV_OK);

	for (step = 0; step < 4; step++)
	{
		cfg.noise_multiplier = 0.0;
		b = lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n, &cfg, step,
								w, &genc, &gdec, NULL);
		cfg.noise_multiplier = 2.0;
		assert_int_equal(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T,
											 n, &cfg, step, w, &nenc, &ndec,
											 NULL),
						 b);
		mlp_axpy(&nenc, -1.0, &genc);
		mlp_axpy(&ndec, -1.0, &gdec);
		for (net = 0; net < 2; net++)
		{
			const lv_mlp *g = net ? &ndec : &nenc;

			for (l = 0; l < g->nlayers; l++)
			{
				const lv_layer *L = &g->layers[l];
				size_t i,
					nw = (size_t) L->out * L->in;

				for (i = 0; i < nw + (size_t) L->out; i++)
				{
					double v = i < nw ? L->W[i] : L->b[i - nw];

					s1 += v;
					s2 += v * v;
					within += fabs(v) < expect;
					cnt += 1.0;
				}
			}
		}
	}
	mean = s1 / cnt;
	sd = sqrt(s2 / cnt - mean * mean);
	print_message("noise: %.0f coordinates, mean %.5f, sd %.5f (expected %.5f), "
				  "within 1 sd %.4f\n",
				  cnt, mean, sd, expect, within / cnt);
	assert_true(cnt > 5000);
	assert_true(fabs(mean) < 5.0 * expect / sqrt(cnt));
	assert_true(fabs(sd / expect - 1.0) < 0.04);
	assert_true(fabs(within / cnt - 0.6827) < 0.03);

	/* an empty batch (n = 1, the row not sampled): zero, or pure noise */
	{
		lv_dpsgd_sampler smp;
		int64_t tt = 0;

		cfg.sample_rate = 0.01;
		for (;; tt++)
		{
			lv_dpsgd_sampler_init(&smp, cfg.train_key, tt, 1, cfg.sample_rate);
			if (lv_dpsgd_sampler_next(&smp) < 0)
				break;
		}
		cfg.noise_multiplier = 0.0;
		assert_int_equal(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, 1,
											 &cfg, tt, w, &genc, &gdec, NULL),
						 0);
		assert_true(mlp_norm2(&genc) + mlp_norm2(&gdec) == 0.0);
		cfg.noise_multiplier = 1.0;
		assert_int_equal(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, 1,
											 &cfg, tt, w, &genc, &gdec, NULL),
						 0);
		assert_true(mlp_norm2(&genc) + mlp_norm2(&gdec) > 0.0);
		mlp_zero(&nenc);
		assert_true(mlp_max_diff(&genc, &nenc, &bmax) > 0.0);
	}

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&nenc);
	lv_mlp_free(&ndec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/* ---------- (4) Poisson sampling ---------- */

/*
 * Realised batch sizes over many steps have mean q n and variance
 * q (1-q) n; rows come in increasing order; q = 1 takes every row.
 */
static void
test_poisson(void **state)
{
	const int64_t n = 1000;
	const double q = 0.05;
	const int steps = 3000;
	uint8_t key[LV_KEY_BYTES];
	lv_dpsgd_sampler smp;
	double s1 = 0.0,
		   s2 = 0.0,
		   mean,
		   var,
		   first = 0.0;
	int t;
	int64_t i,
		prev,
		c;

	(void) state;
	fill_key(key, 41);
	for (t = 0; t < steps; t++)
	{
		lv_dpsgd_sampler_init(&smp, key, t, n, q);
		c = 0;
		prev = -1;
		while ((i = lv_dpsgd_sampler_next(&smp)) >= 0)
		{
			assert_true(i > prev && i < n);
			if (i == 0)
				first += 1.0;
			prev = i;
			c++;
		}
		s1 += (double) c;
		s2 += (double) c * c;
	}
	mean = s1 / steps;
	var = (s2 - s1 * s1 / steps) / (steps - 1);
	print_message("batch size: mean %.3f (expected %.1f), variance %.3f "
				  "(expected %.3f); row 0 chosen %.4f\n",
				  mean, q * n, var, q * (1 - q) * n, first / steps);
	assert_true(fabs(mean - q * n) < 4.0 * sqrt(q * (1 - q) * n / steps));
	/* sd of the sample variance: about var sqrt(2 / steps) */
	assert_true(fabs(var - q * (1 - q) * n) <
				4.0 * q * (1 - q) * n * sqrt(2.0 / steps));
	assert_true(fabs(first / steps - q) < 4.0 * sqrt(q * (1 - q) / steps));

	lv_dpsgd_sampler_init(&smp, key, 0, 7, 1.0);
	for (c = 0; c < 7; c++)
		assert_int_equal(lv_dpsgd_sampler_next(&smp), c);
	assert_int_equal(lv_dpsgd_sampler_next(&smp), -1);

	assert_int_equal(lv_dpsgd_steps(30, 512.0 / 20000.0), 1172);
	assert_int_equal(lv_dpsgd_steps(30, 0.03), 1000);
	assert_int_equal(lv_dpsgd_steps(1, 1.0), 1);
	assert_int_equal(lv_dpsgd_steps(3, 0.7), 5);
	assert_int_equal(lv_dpsgd_steps(0, 0.5), -1);
	assert_int_equal(lv_dpsgd_steps(1, 0.0), -1);
	assert_int_equal(lv_dpsgd_steps(1, 1.5), -1);
	assert_int_equal(lv_dpsgd_steps(1, NAN), -1);
}

/* ---------- (4b) units (user-level DP-SGD) ---------- */

/*
 * unit_explicit sets genc, gdec to the sum of the explicit gradients of
 * rows lo .. hi-1 with noise xi (row r's noise at xi + (r - lo) k).
 */
static void
unit_explicit(const tiny *t, int lo, int hi, const float *xi, lv_mlp *genc,
			  lv_mlp *gdec, lv_mlp *ge1, lv_mlp *gd1)
{
	int r;

	mlp_zero(genc);
	mlp_zero(gdec);
	for (r = lo; r < hi; r++)
	{
		explicit_grad(t, r, xi + (size_t) (r - lo) * t->k, ge1, gd1);
		mlp_axpy(genc, 1.0, ge1);
		mlp_axpy(gdec, 1.0, gd1);
	}
}

/*
 * Per-unit norms from the pairwise identity equal the norms of the summed
 * explicit per-example gradients; the clipped sum weights every row of a
 * unit by min(1, C / ||G_u||); ustart = NULL and units of one row give
 * bitwise the same norms and sums.
 */
static void
test_unit_norms(void **state)
{
	const int B = 11;
	const int ustart[6] = {0, 1, 4, 6, 10, 11};
	const int nu = 5;
	int ones[12];
	tiny t;
	lv_dpsgd_work *w;
	lv_mlp genc,
		gdec,
		ge1,
		gd1,
		uenc,
		udec,
		senc,
		sdec,
		renc,
		rdec;
	float xi[11 * 3];
	double norms[11],
		norms2[11],
		bmax,
		clip;
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	int u,
		i;

	(void) state;
	tiny_make(&t, 7, 3, B, 13);
	fill_key(key, 14);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 98);
	lv_dpsgd_draw_xi(&rs, xi, (size_t) B * t.k);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, B);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ge1, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gd1, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&uenc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&udec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&senc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&sdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&renc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&rdec, &t.dec), LV_OK);

	/* unclipped: norms against brute force */
	lv_dpsgd_clip_accumulate_units(&t.s, &t.enc, &t.dec, t.X, t.T, xi, B,
								   ustart, nu, INFINITY, w, &genc, &gdec, 1,
								   norms, NULL, NULL);
	for (u = 0; u < nu; u++)
	{
		double ex;

		unit_explicit(&t, ustart[u], ustart[u + 1],
					  xi + (size_t) ustart[u] * t.k, &uenc, &udec, &ge1,
					  &gd1);
		ex = sqrt(mlp_norm2(&uenc) + mlp_norm2(&udec));
		print_message("unit %d (%d rows): pairwise norm %.8f explicit %.8f\n",
					  u, ustart[u + 1] - ustart[u], norms[u], ex);
		assert_true(ex > 0.0);
		assert_true(fabs(norms[u] - ex) <= 1e-4 * ex);
	}

	/* clipped at a C between the norms: sum_u c_u G_u */
	clip = 0.5 * (norms[0] + norms[2]);
	lv_dpsgd_clip_accumulate_units(&t.s, &t.enc, &t.dec, t.X, t.T, xi, B,
								   ustart, nu, clip, w, &genc, &gdec, 1,
								   norms2, NULL, NULL);
	mlp_zero(&senc);
	mlp_zero(&sdec);
	for (u = 0; u < nu; u++)
	{
		double ex,
			cu;

		unit_explicit(&t, ustart[u], ustart[u + 1],
					  xi + (size_t) ustart[u] * t.k, &uenc, &udec, &ge1,
					  &gd1);
		ex = sqrt(mlp_norm2(&uenc) + mlp_norm2(&udec));
		cu = ex > clip ? clip / ex : 1.0;
		assert_true(norms2[u] == norms[u]);
		mlp_axpy(&senc, cu, &uenc);
		mlp_axpy(&sdec, cu, &udec);
	}
	assert_true(mlp_max_diff(&genc, &senc, &bmax) <= 1e-5 * bmax);
	assert_true(mlp_max_diff(&gdec, &sdec, &bmax) <= 1e-5 * bmax);

	/* units of one row: bitwise the row-level computation */
	for (i = 0; i <= B; i++)
		ones[i] = i;
	lv_dpsgd_clip_accumulate(&t.s, &t.enc, &t.dec, t.X, t.T, xi, B, 0.3, w,
							 &renc, &rdec, 1, norms, NULL, NULL);
	lv_dpsgd_clip_accumulate_units(&t.s, &t.enc, &t.dec, t.X, t.T, xi, B,
								   ones, B, 0.3, w, &genc, &gdec, 1, norms2,
								   NULL, NULL);
	assert_memory_equal(norms, norms2, sizeof(double) * B);
	assert_true(mlp_equal(&genc, &renc));
	assert_true(mlp_equal(&gdec, &rdec));

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&ge1);
	lv_mlp_free(&gd1);
	lv_mlp_free(&uenc);
	lv_mlp_free(&udec);
	lv_mlp_free(&senc);
	lv_mlp_free(&sdec);
	lv_mlp_free(&renc);
	lv_mlp_free(&rdec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/*
 * A unit holding one row five times (same noise) has gradient 5 g, and
 * its clipped contribution has norm C, where five separate rows would
 * contribute 5 C.
 */
static void
test_unit_duplicates(void **state)
{
	const int ustart[2] = {0, 5};
	tiny t;
	lv_dpsgd_work *w;
	lv_mlp genc,
		gdec,
		ge1,
		gd1;
	float X5[5 * 16],
		xi5[5 * 3];
	int32_t T5[5 * 3];
	double norm1,
		norms[5],
		clip,
		contrib;
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	int r;

	(void) state;
	tiny_make(&t, 7, 3, 4, 15);
	assert_true(t.d <= 16);
	fill_key(key, 16);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 97);
	lv_dpsgd_draw_xi(&rs, xi5, (size_t) t.k);
	for (r = 0; r < 5; r++)
	{
		memcpy(X5 + (size_t) r * t.d, t.X + 2 * t.d, sizeof(float) * t.d);
		memcpy(T5 + (size_t) r * 3, t.T + 2 * 3, sizeof(int32_t) * 3);
		memcpy(xi5 + (size_t) r * t.k, xi5, sizeof(float) * t.k);
	}
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 5);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ge1, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gd1, &t.dec), LV_OK);
	explicit_grad(&t, 2, xi5, &ge1, &gd1);
	norm1 = sqrt(mlp_norm2(&ge1) + mlp_norm2(&gd1));
	clip = 0.5 * norm1;

	lv_dpsgd_clip_accumulate_units(&t.s, &t.enc, &t.dec, X5, T5, xi5, 5,
								   ustart, 1, clip, w, &genc, &gdec, 1, norms,
								   NULL, NULL);
	contrib = sqrt(mlp_norm2(&genc) + mlp_norm2(&gdec));
	print_message("one row %.6f, unit of 5 copies %.6f; clipped unit "
				  "contribution %.6f (C %.6f)\n",
				  norm1, norms[0], contrib, clip);
	assert_true(fabs(norms[0] - 5.0 * norm1) <= 1e-4 * 5.0 * norm1);
	assert_true(contrib <= clip * (1.0 + 1e-5));
	assert_true(contrib >= clip * (1.0 - 1e-4));

	/* the same rows as five units */
	lv_dpsgd_clip_accumulate(&t.s, &t.enc, &t.dec, X5, T5, xi5, 5, clip, w,
							 &genc, &gdec, 1, norms, NULL, NULL);
	contrib = sqrt(mlp_norm2(&genc) + mlp_norm2(&gdec));
	assert_true(fabs(contrib - 5.0 * clip) <= 1e-4 * 5.0 * clip);

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&ge1);
	lv_mlp_free(&gd1);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/*
 * lv_dpsgd_noisy_grad in the unit mode samples units with the sampler over
 * nunits and takes every row of a sampled unit (noise drawn row after row),
 * clips per unit over chunks that never split a unit, and divides by the
 * normalizer; the noise then has sd sigma C / normalizer. A unit larger
 * than the workspace is refused.
 */
static void
test_unit_sampling(void **state)
{
	const int n = 30;
	int64_t ustart[31];
	int64_t nunits = 0,
			got,
			count = 0,
			u;
	tiny t;
	lv_dpsgd_config cfg;
	lv_dpsgd_work *w;
	lv_dpsgd_sampler smp;
	lv_stream rxi;
	lv_mlp genc,
		gdec,
		ge1,
		gd1,
		uenc,
		udec,
		senc,
		sdec;
	float xi[4 * 3];
	double bmax,
		s1 = 0.0,
		s2 = 0.0,
		cnt = 0.0,
		sd,
		expect;
	int step,
		l,
		net,
		r;

	(void) state;
	tiny_make(&t, 7, 3, n, 23);
	/* unit sizes 1, 2, 3, 4, 1, 2, 3, 4, ... */
	ustart[0] = 0;
	while (ustart[nunits] < n)
	{
		int64_t sz = nunits % 4 + 1;

		ustart[nunits + 1] = ustart[nunits] + sz > n ? n : ustart[nunits] + sz;
		nunits++;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.sample_rate = 0.5;
	cfg.clip = 0.02;
	cfg.noise_multiplier = 0.0;
	cfg.unit_start = ustart;
	cfg.nunits = nunits;
	cfg.normalizer = 3.7;
	fill_key(cfg.train_key, 24);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 5);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ge1, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gd1, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&uenc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&udec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&senc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&sdec, &t.dec), LV_OK);

	got = lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n, &cfg, 3, w,
							  &genc, &gdec, NULL);

	/* the same sample of units and noise, explicitly */
	lv_dpsgd_sampler_init(&smp, cfg.train_key, 3, nunits, cfg.sample_rate);
	lv_stream_init(&rxi, cfg.train_key, LV_DOMAIN_TRAIN,
				   LV_DPSGD_STREAM(LV_DPSGD_XI, 3));
	while ((u = lv_dpsgd_sampler_next(&smp)) >= 0)
	{
		int lo = (int) ustart[u],
			hi = (int) ustart[u + 1];
		double nr,
			cu;

		for (r = lo; r < hi; r++)
			lv_dpsgd_draw_xi(&rxi, xi + (size_t) (r - lo) * t.k, 3);
		unit_explicit(&t, lo, hi, xi, &uenc, &udec, &ge1, &gd1);
		nr = sqrt(mlp_norm2(&uenc) + mlp_norm2(&udec));
		cu = nr > cfg.clip ? cfg.clip / nr : 1.0;
		mlp_axpy(&senc, cu / cfg.normalizer, &uenc);
		mlp_axpy(&sdec, cu / cfg.normalizer, &udec);
		count += hi - lo;
	}
	print_message("units: %ld of %d rows sampled in whole units\n",
				  (long) got, n);
	assert_int_equal(got, count);
	assert_true(count > 5); /* several chunks of 5 rows */
	assert_true(mlp_max_diff(&genc, &senc, &bmax) <= 1e-5 * bmax);
	assert_true(mlp_max_diff(&gdec, &sdec, &bmax) <= 1e-5 * bmax);

	/* noise sd sigma C / normalizer */
	expect = 2.0 * cfg.clip / cfg.normalizer;
	for (step = 0; step < 40; step++)
	{
		cfg.noise_multiplier = 0.0;
		got = lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n, &cfg,
								  step, w, &senc, &sdec, NULL);
		cfg.noise_multiplier = 2.0;
		assert_int_equal(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T,
											 n, &cfg, step, w, &genc, &gdec,
											 NULL),
						 got);
		mlp_axpy(&genc, -1.0, &senc);
		mlp_axpy(&gdec, -1.0, &sdec);
		for (net = 0; net < 2; net++)
		{
			const lv_mlp *g = net ? &gdec : &genc;

			for (l = 0; l < g->nlayers; l++)
			{
				const lv_layer *L = &g->layers[l];
				size_t i,
					nw = (size_t) L->out * L->in;

				for (i = 0; i < nw + (size_t) L->out; i++)
				{
					double v = i < nw ? L->W[i] : L->b[i - nw];

					s1 += v;
					s2 += v * v;
					cnt += 1.0;
				}
			}
		}
	}
	sd = sqrt(s2 / cnt - (s1 / cnt) * (s1 / cnt));
	print_message("units: noise sd %.6f (expected %.6f) over %.0f\n", sd,
				  expect, cnt);
	assert_true(fabs(sd / expect - 1.0) < 0.05);

	/* a sampled unit of 4 rows does not fit a workspace of 3 */
	lv_dpsgd_work_free(w);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 3);
	assert_non_null(w);
	cfg.sample_rate = 1.0;
	assert_int_equal(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n,
										 &cfg, 0, w, &genc, &gdec, NULL),
					 -1);

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&ge1);
	lv_mlp_free(&gd1);
	lv_mlp_free(&uenc);
	lv_mlp_free(&udec);
	lv_mlp_free(&senc);
	lv_mlp_free(&sdec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/* ---------- (4c) the derived clip bound ---------- */

/* random_layer fills an out x in layer with N(0, 1) weights from rs. */
static void
random_layer(lv_layer *L, float *W, int out, int in, lv_stream *rs)
{
	size_t i;

	L->out = out;
	L->in = in;
	L->W = W;
	L->b = NULL;
	for (i = 0; i < (size_t) out * in; i++)
		W[i] = (float) lv_stream_gaussian(rs);
}

/*
 * lv_dpsgd_spectral_bound lies between the exact spectral norm (LAPACK)
 * and the Frobenius norm, within r^(1/8) of the exact norm, is exact for
 * rank one, and falls back to the Frobenius norm without enough scratch.
 */
static void
test_spectral_bound(void **state)
{
	static const int shapes[][2] = {{7, 12}, {12, 7}, {30, 30}, {1, 5}, {5, 1}, {64, 200}, {200, 64}, {3, 64}};
	const size_t slen = lv_dpsgd_spectral_scratch(64);
	double *scratch = malloc(sizeof(double) * slen);
	float *W = malloc(sizeof(float) * 200 * 64);
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	lv_layer L;
	size_t c,
		i;
	double ex,
		ub,
		fro;

	(void) state;
	assert_non_null(scratch);
	assert_non_null(W);
	fill_key(key, 51);
	lv_stream_init(&rs, key, LV_DOMAIN_PREPROCESS, 5);
	for (c = 0; c < sizeof(shapes) / sizeof(shapes[0]); c++)
	{
		int out = shapes[c][0],
			in = shapes[c][1],
			r = out < in ? out : in;

		random_layer(&L, W, out, in, &rs);
		ex = lv_spectral_norm_exact(W, out, in);
		ub = lv_dpsgd_spectral_bound(&L, scratch, slen);
		fro = 0.0;
		for (i = 0; i < (size_t) out * in; i++)
			fro += (double) W[i] * W[i];
		fro = sqrt(fro);
		print_message("%3d x %3d: exact %.5f, bound %.5f (ratio %.4f, "
					  "limit %.4f), Frobenius %.5f\n",
					  out, in, ex, ub, ub / ex, pow(r, 0.125), fro);
		assert_true(ex > 0.0);
		assert_true(ub >= ex);
		assert_true(ub <= fro * (1.0 + 1e-9));
		assert_true(ub <= ex * pow(r, 0.125) * (1.0 + 1e-5));
		/* too little scratch: the Frobenius norm */
		assert_true(lv_dpsgd_spectral_bound(&L, scratch, 0) >= fro);
		assert_true(lv_dpsgd_spectral_bound(&L, NULL, 0) <=
					fro * (1.0 + 2e-9));
	}

	/* rank one: the Schatten-8 norm is the spectral norm */
	random_layer(&L, W, 40, 50, &rs);
	for (i = 0; i < 40 * 50; i++)
		W[i] = W[i % 50] * W[40 + i / 50]; /* u_i v_j */
	ex = lv_spectral_norm_exact(W, 40, 50);
	ub = lv_dpsgd_spectral_bound(&L, scratch, slen);
	print_message("rank one: exact %.6f bound %.6f\n", ex, ub);
	assert_true(ub >= ex && ub <= ex * (1.0 + 1e-5));

	/* zero and non-finite */
	memset(W, 0, sizeof(float) * 40 * 50);
	assert_true(lv_dpsgd_spectral_bound(&L, scratch, slen) == 0.0);
	W[7] = NAN;
	assert_true(lv_dpsgd_spectral_bound(&L, scratch, slen) < 0.0);
	free(scratch);
	free(W);
}

/* scale_mlp multiplies every weight by fw and every bias by fb. */
static void
scale_mlp(lv_mlp *m, float fw, float fb)
{
	int l;
	size_t i;

	for (l = 0; l < m->nlayers; l++)
	{
		for (i = 0; i < (size_t) m->layers[l].out * m->layers[l].in; i++)
			m->layers[l].W[i] *= fw;
		for (i = 0; i < (size_t) m->layers[l].out; i++)
			m->layers[l].b[i] *= fb;
	}
}

/*
 * domain_rows overwrites the rows of t with random points of the domain
 * (entries in [0, 1], norm <= D; a third of them with entries in {0, 1})
 * and random valid targets (NULLs included), and fills xi with truncated
 * normals, every fourth row at a corner (+-4).
 */
static void
domain_rows(tiny *t, float *xi, lv_stream *rs)
{
	double D = lv_schema_diameter(&t->s);
	int i,
		j;

	for (i = 0; i < t->n; i++)
	{
		float *x = t->X + (size_t) i * t->d;
		int32_t *tg = t->T + (size_t) i * 3;
		double nx = 0.0;

		if (i % 4 != 0) /* keep every fourth encoded row */
		{
			for (j = 0; j < t->d; j++)
			{
				x[j] = (float) lv_stream_uniform(rs);
				if (i % 3 == 0)
					x[j] = x[j] < 0.5f ? 0.0f : 1.0f;
				nx += (double) x[j] * x[j];
			}
			if (sqrt(nx) > D)
				for (j = 0; j < t->d; j++)
					x[j] = (float) (x[j] * (D / sqrt(nx)) * (1.0 - 1e-6));
		}
		tg[0] = (int32_t) lv_stream_below(rs, 6) - 1; /* -1: NULL */
		tg[1] = (int32_t) lv_stream_below(rs, 5);
		tg[2] = (int32_t) lv_stream_below(rs, 5);
		if (i % 4 == 1)
			for (j = 0; j < t->k; j++)
				xi[(size_t) i * t->k + j] =
					lv_stream_uniform(rs) < 0.5 ? -4.0f : 4.0f;
		else
			lv_dpsgd_draw_xi(rs, xi + (size_t) i * t->k, (size_t) t->k);
	}
}

/*
 * On random networks (several widths and weight scales) and random points
 * of the domain with random targets and latent noise, every per-example
 * gradient norm is at most B_t = lv_dpsgd_grad_bound(.., 1, ..), and every
 * norm of a unit of at most 3 rows at most the bound for m = 3 (= 3 B_t).
 */
static void
test_derived_bound(void **state)
{
	static const struct
	{
		int hidden,
			latent,
			seed;
		float fw,
			fb;
	} nets[] = {{7, 3, 61, 1.0f, 1.0f}, {24, 5, 62, 1.0f, 1.0f}, {24, 2, 63, 2.5f, 3.0f}, {16, 4, 64, 0.3f, 0.1f}, {32, 1, 65, 1.5f, 0.0f}};
	const int n = 400;
	double worst = 0.0,
		   worst_u = 0.0;
	size_t c;

	(void) state;
	for (c = 0; c < sizeof(nets) / sizeof(nets[0]); c++)
	{
		tiny t;
		lv_dpsgd_work *w;
		lv_mlp genc,
			gdec;
		float *xi;
		double *norms = malloc(sizeof(double) * n);
		int *ustart = malloc(sizeof(int) * (n + 1));
		uint8_t key[LV_KEY_BYTES];
		lv_stream rs;
		double b1,
			b3,
			mx = 0.0,
			mxu = 0.0;
		int i,
			nu = 0;

		tiny_make(&t, nets[c].hidden, nets[c].latent, n, nets[c].seed);
		scale_mlp(&t.enc, nets[c].fw, nets[c].fb);
		scale_mlp(&t.dec, nets[c].fw, nets[c].fb);
		xi = malloc(sizeof(float) * n * t.k);
		assert_non_null(xi);
		assert_non_null(norms);
		assert_non_null(ustart);
		fill_key(key, nets[c].seed + 100);
		lv_stream_init(&rs, key, LV_DOMAIN_PREPROCESS, 7);
		domain_rows(&t, xi, &rs);
		w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, n);
		assert_non_null(w);
		assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
		assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);

		b1 = lv_dpsgd_grad_bound(&t.s, &t.enc, &t.dec, 1, w);
		b3 = lv_dpsgd_grad_bound(&t.s, &t.enc, &t.dec, 3, w);
		assert_true(b1 > 0.0 && isfinite(b1));
		assert_true(fabs(b3 - 3.0 * b1) <= 1e-12 * b3);
		assert_true(lv_dpsgd_grad_bound(&t.s, &t.enc, &t.dec, 0, w) < 0.0);

		lv_dpsgd_clip_accumulate(&t.s, &t.enc, &t.dec, t.X, t.T, xi, n,
								 INFINITY, w, &genc, &gdec, 1, norms, NULL,
								 NULL);
		for (i = 0; i < n; i++)
		{
			assert_true(norms[i] <= b1);
			mx = fmax(mx, norms[i]);
		}

		/* units of 1, 2, 3 rows */
		ustart[0] = 0;
		while (ustart[nu] < n)
		{
			int e = ustart[nu] + nu % 3 + 1;

			ustart[++nu] = e > n ? n : e;
		}
		lv_dpsgd_clip_accumulate_units(&t.s, &t.enc, &t.dec, t.X, t.T, xi, n,
									   ustart, nu, INFINITY, w, &genc, &gdec,
									   1, norms, NULL, NULL);
		for (i = 0; i < nu; i++)
		{
			assert_true(norms[i] <= b3);
			mxu = fmax(mxu, norms[i]);
		}
		print_message("hidden %2d latent %d scale %.1f/%.1f: B_t %.3f, "
					  "largest row norm %.3f (%.3f), unit %.3f (%.3f)\n",
					  nets[c].hidden, nets[c].latent, nets[c].fw, nets[c].fb,
					  b1, mx, mx / b1, mxu, mxu / b3);
		worst = fmax(worst, mx / b1);
		worst_u = fmax(worst_u, mxu / b3);

		lv_mlp_free(&genc);
		lv_mlp_free(&gdec);
		lv_dpsgd_work_free(w);
		free(xi);
		free(norms);
		free(ustart);
		tiny_free(&t);
	}
	assert_true(worst <= 1.0 && worst_u <= 1.0);
}

/*
 * In LV_CLIP_DERIVED mode the step clips at and adds noise for C_t =
 * min(clip, B_t): with clip = +inf the noise has sd sigma B_t / (q n),
 * with a clip below B_t sigma clip / (q n), and the unit mode multiplies
 * B_t by max_unit_rows.
 */
static void
test_derived_noise(void **state)
{
	const int n = 50;
	tiny t;
	lv_dpsgd_config cfg;
	lv_dpsgd_work *w;
	lv_mlp genc,
		gdec,
		nenc,
		ndec;
	int64_t us[51];
	double bt,
		ct,
		b;
	int pass,
		i;

	(void) state;
	tiny_make(&t, 24, 4, n, 71);
	memset(&cfg, 0, sizeof(cfg));
	cfg.sample_rate = 0.2;
	cfg.clip_mode = LV_CLIP_DERIVED;
	fill_key(cfg.train_key, 72);
	w = lv_dpsgd_work_new(&t.s, &t.enc, &t.dec, 16);
	assert_non_null(w);
	assert_int_equal(lv_mlp_alloc_like(&genc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &t.dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&nenc, &t.enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&ndec, &t.dec), LV_OK);
	bt = lv_dpsgd_grad_bound(&t.s, &t.enc, &t.dec, 1, w);
	assert_true(bt > 0.0);

	for (pass = 0; pass < 3; pass++)
	{
		double s1 = 0.0,
			   s2 = 0.0,
			   cnt = 0.0,
			   sd,
			   expect;
		int step,
			l,
			net;

		cfg.clip = pass == 1 ? 1e-3 : INFINITY;
		if (pass == 2)
		{
			/* units of two rows, k = 2 */
			for (i = 0; i <= 25; i++)
				us[i] = 2 * i;
			cfg.unit_start = us;
			cfg.nunits = 25;
			cfg.max_unit_rows = 2;
		}
		ct = lv_dpsgd_step_clip(&t.s, &t.enc, &t.dec, &cfg, w, &b);
		if (pass == 2)
			assert_true(fabs(b - 2.0 * bt) <= 1e-12 * b);
		else
			assert_true(b == bt);
		assert_true(ct == (pass == 1 ? 1e-3 : b));
		expect = 2.0 * ct / (cfg.sample_rate * n);
		for (step = 0; step < 4; step++)
		{
			cfg.noise_multiplier = 0.0;
			assert_true(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n,
											&cfg, step, w, &genc, &gdec,
											NULL) >= 0);
			cfg.noise_multiplier = 2.0;
			assert_true(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n,
											&cfg, step, w, &nenc, &ndec,
											NULL) >= 0);
			mlp_axpy(&nenc, -1.0, &genc);
			mlp_axpy(&ndec, -1.0, &gdec);
			for (net = 0; net < 2; net++)
			{
				const lv_mlp *g = net ? &ndec : &nenc;

				for (l = 0; l < g->nlayers; l++)
				{
					const lv_layer *L = &g->layers[l];
					size_t j,
						nw = (size_t) L->out * L->in;

					for (j = 0; j < nw + (size_t) L->out; j++)
					{
						double v = j < nw ? L->W[j] : L->b[j - nw];

						s1 += v;
						s2 += v * v;
						cnt += 1.0;
					}
				}
			}
		}
		sd = sqrt(s2 / cnt - (s1 / cnt) * (s1 / cnt));
		print_message("derived, pass %d: C_t %.5f (B_t %.5f), noise sd %.6f "
					  "(expected %.6f)\n",
					  pass, ct, b, sd, expect);
		assert_true(fabs(sd / expect - 1.0) < 0.04);
	}

	/* norm mode: C_t = clip, B_t not computed */
	cfg.clip_mode = LV_CLIP_NORM;
	cfg.clip = 0.7;
	assert_true(lv_dpsgd_step_clip(&t.s, &t.enc, &t.dec, &cfg, w, &b) == 0.7);
	assert_true(b == 0.0);
	/* non-finite weights: no clip, no step */
	cfg.clip_mode = LV_CLIP_DERIVED;
	t.dec.layers[1].W[3] = INFINITY;
	assert_true(lv_dpsgd_step_clip(&t.s, &t.enc, &t.dec, &cfg, w, &b) < 0.0);
	assert_int_equal(lv_dpsgd_noisy_grad(&t.s, &t.enc, &t.dec, t.X, t.T, n,
										 &cfg, 0, w, &genc, &gdec, NULL),
					 -2);

	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&nenc);
	lv_mlp_free(&ndec);
	lv_dpsgd_work_free(w);
	tiny_free(&t);
}

/* ---------- the synthetic table ---------- */

/*
 * One categorical column (3 listed categories with probabilities
 * .6/.3/.1) and an integer column on [0,20] with two modes (4 and 15), as
 * in test_model.c.
 */
static const lv_column table_cols[2] = {
	{LV_COL_CATEGORICAL, 0, 0, 0, 0, 3, 0.0, 0.0, 0},
	{LV_COL_NUMERIC, 0, 1, 21, 1, 0, 0.0, 20.0, 0}};

#define TABLE_ROWS 2000

typedef struct table
{
	lv_cell *cells;
	float *X;
	int32_t *T;
	int d;
} table;

static table tab;

/* setup_table generates and encodes the table. */
static int
setup_table(void **state)
{
	uint8_t key[LV_KEY_BYTES];
	lv_schema s;
	lv_stream rs;
	int i;

	(void) state;
	tab.cells = calloc(2 * TABLE_ROWS, sizeof(lv_cell));
	fill_key(key, 77);
	lv_stream_init(&rs, key, LV_DOMAIN_PREPROCESS, 0);
	for (i = 0; i < TABLE_ROWS; i++)
	{
		double u = lv_stream_uniform(&rs);
		double v;

		tab.cells[2 * i].cat = u < 0.6 ? 0 : (u < 0.9 ? 1 : 2);
		if (lv_stream_uniform(&rs) < 0.5)
			v = 4.0 + 1.0 * lv_stream_gaussian(&rs);
		else
			v = 15.0 + 1.5 * lv_stream_gaussian(&rs);
		v = round(v);
		tab.cells[2 * i + 1].value = v < 0 ? 0 : (v > 20 ? 20 : v);
	}
	s.ncols = 2;
	s.cols = (lv_column *) table_cols;
	tab.d = lv_schema_input_dim(&s);
	tab.X = malloc(sizeof(float) * TABLE_ROWS * tab.d);
	tab.T = malloc(sizeof(int32_t) * TABLE_ROWS * 2);
	if (tab.cells == NULL || tab.X == NULL || tab.T == NULL)
		return -1;
	for (i = 0; i < TABLE_ROWS; i++)
		lv_encode_row(&s, tab.cells + 2 * i, tab.X + (size_t) i * tab.d,
					  tab.T + 2 * i);
	return 0;
}

/* teardown_table frees the table. */
static int
teardown_table(void **state)
{
	(void) state;
	free(tab.cells);
	free(tab.X);
	free(tab.T);
	return 0;
}

/* table_config returns the DP-SGD configuration of the table tests. */
static lv_dpsgd_config
table_config(void)
{
	lv_dpsgd_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = 30;
	cfg.sample_rate = 128.0 / TABLE_ROWS;
	cfg.clip = 1.0;
	cfg.noise_multiplier = 0.0;
	cfg.latent = 4;
	cfg.hidden = 32;
	cfg.lr = 5e-3;
	cfg.ema = 0.99;
	fill_key(cfg.train_key, 5);
	return cfg;
}

/* new_model starts a model on the table's schema. */
static void
new_model(lv_model *m)
{
	memset(m, 0, sizeof(*m));
	new_schema(&m->schema, table_cols, 2);
	m->mechanism = LV_MECH_NONE;
	m->passes = 1;
	fill_key(m->key, 3);
}

/* tvd returns the total variation distance of two count vectors. */
static double
tvd(const double *a, const double *b, int n)
{
	double sa = 0,
		   sb = 0,
		   t = 0;
	int i;

	for (i = 0; i < n; i++)
	{
		sa += a[i];
		sb += b[i];
	}
	for (i = 0; i < n; i++)
		t += fabs(a[i] / sa - b[i] / sb);
	return t / 2;
}

/*
 * prior_tvd samples nsyn rows from the prior z ~ N(0, I) through the
 * existing release path (a single source row whose mean and center are 0,
 * so z = s xi with s = 1) and returns the larger of the two marginal TVDs.
 */
static double
prior_tvd(lv_model *m, const char *label)
{
	const int nsyn = 5000;
	lv_cell *syn = calloc((size_t) nsyn * 2, sizeof(lv_cell));
	double rc_[4] = {0},
		   sc[4] = {0},
		   rv[21] = {0},
		   sv[21] = {0},
		   t1,
		   t2;
	int i,
		start;

	assert_non_null(syn);
	assert_int_equal(m->nrows, 0);
	assert_null(m->means);
	assert_null(m->center);
	m->nrows = 1;
	m->means = lv_calloc((size_t) m->latent, sizeof(float));
	m->center = lv_calloc((size_t) m->latent, sizeof(double));
	assert_non_null(m->means);
	assert_non_null(m->center);
	for (start = 0; start < nsyn; start += LV_RELEASE_CHUNK)
	{
		int cnt = nsyn - start < LV_RELEASE_CHUNK ? nsyn - start
												  : LV_RELEASE_CHUNK;

		assert_int_equal(lv_release_rows(m, start, cnt, syn + (size_t) start * 2),
						 LV_OK);
	}
	for (i = 0; i < TABLE_ROWS; i++)
	{
		rc_[tab.cells[2 * i].cat] += 1;
		rv[(int) tab.cells[2 * i + 1].value] += 1;
	}
	for (i = 0; i < nsyn; i++)
	{
		sc[syn[2 * i].cat < 0 ? 3 : syn[2 * i].cat] += 1;
		sv[(int) syn[2 * i + 1].value] += 1;
	}
	t1 = tvd(rc_, sc, 4);
	t2 = tvd(rv, sv, 21);
	print_message("%s: marginal TVD categorical %.4f, integer %.4f\n", label,
				  t1, t2);
	free(syn);
	return t1 > t2 ? t1 : t2;
}

/* ---------- (5) utility ---------- */

/* Without noise (C large) DP-SGD learns both marginals from the prior. */
static void
test_utility_no_noise(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_train_result res;
	lv_model m;
	unsigned int csr = 0;

	(void) state;
	cfg.clip = 1e6;
	new_model(&m);
#ifdef HAVE_MXCSR
	csr = _mm_getcsr();
#endif
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  &res),
					 LV_OK);
#ifdef HAVE_MXCSR
	assert_int_equal(csr & ~0x3fu, _mm_getcsr() & ~0x3fu);
#endif
	(void) csr;
	print_message("no noise: final loss %.4f (recon %.4f, kl %.4f), "
				  "certified %.3f\n",
				  res.final_loss, res.final_recon, res.final_kl,
				  m.lipschitz_certified);
	assert_int_equal(res.epochs_run, 30);
	assert_true(isfinite(res.final_loss));
	assert_true(fabs(res.final_loss - (res.final_recon + res.final_kl)) <
				1e-9 * fabs(res.final_loss) + 1e-12);
	assert_true(m.lipschitz_certified > 0.0);
	assert_int_equal(m.mechanism, LV_MECH_NONE);
	assert_true(m.noise_sd == 1.0);
	assert_true(prior_tvd(&m, "DP-SGD, sigma 0") < 0.1);
	lv_model_free(&m);
}

/* With the noise of epsilon 8 (delta 1e-5) the marginals stay close. */
static void
test_utility_eps8(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_model m;
	int64_t steps = lv_dpsgd_steps(cfg.epochs, cfg.sample_rate);
	double eps;

	(void) state;
	cfg.noise_multiplier = lv_dpsgd_sigma(cfg.sample_rate, (long) steps, 8.0,
										  1e-5, LV_REL_ADD_REMOVE);
	eps = lv_dpsgd_epsilon(cfg.sample_rate, cfg.noise_multiplier, (long) steps,
						   1e-5, LV_REL_ADD_REMOVE);
	print_message("epsilon 8: q %.4f, steps %ld, sigma %.4f (epsilon %.4f)\n",
				  cfg.sample_rate, (long) steps, cfg.noise_multiplier, eps);
	assert_true(cfg.noise_multiplier > 0.3 && eps <= 8.0);
	new_model(&m);
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_OK);
	assert_true(prior_tvd(&m, "DP-SGD, epsilon 8") < 0.2);
	lv_model_free(&m);
}

/* ---------- (6) interruption and allocation hygiene ---------- */

typedef struct poll_state
{
	int calls;
	int stop_at;
	int ftz_seen; /* flush-to-zero was on during a callback */
} poll_state;

/* stop_after counts polls and asks to stop at stop_at. */
static int
stop_after(void *arg)
{
	poll_state *ps = arg;

#ifdef HAVE_MXCSR
	if (_mm_getcsr() & 0x8040)
		ps->ftz_seen = 1;
#endif
	return ++ps->calls >= ps->stop_at;
}

/*
 * An interrupted training returns LV_ERR_INTERRUPTED after the requested
 * poll, with the caller's floating-point state during callbacks, and
 * leaves no allocation behind; a completed one owns exactly its networks.
 */
static void
test_interrupt(void **state)
{
	lv_dpsgd_config cfg = table_config();
	poll_state ps = {0, 3, 0};
	lv_model m;
	long before;

	(void) state;
	lv_set_allocator(&counting);
	before = live_allocs;
	new_model(&m);
	cfg.epochs = 2;
	cfg.interrupted = stop_after;
	cfg.interrupted_arg = &ps;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_INTERRUPTED);
	assert_int_equal(ps.calls, 3);
	assert_int_equal(ps.ftz_seen, 0);
	assert_null(m.enc.layers);
	assert_null(m.dec.layers);
	assert_int_equal(live_allocs, before + 1); /* the schema */

	/* completed: one poll per step, the model owns 2 x 7 blocks */
	ps.calls = 0;
	ps.stop_at = 1 << 30;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_OK);
	assert_int_equal(ps.calls, lv_dpsgd_steps(cfg.epochs, cfg.sample_rate));
	assert_int_equal(live_allocs, before + 1 + 14);
	lv_model_free(&m);
	assert_int_equal(live_allocs, before);

	/* bad arguments allocate nothing */
	new_model(&m);
	cfg.sample_rate = 0.0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.sample_rate = 0.1;
	cfg.clip = 0.0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.clip = 1.0;
	cfg.noise_multiplier = -1.0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.noise_multiplier = 1.0;
	cfg.ema = 1.0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.ema = 0.0;
	cfg.epochs = 0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, 0, &cfg, NULL),
					 LV_ERR_ARG);
	assert_int_equal(live_allocs, before + 1);
	lv_model_free(&m);
	assert_int_equal(live_allocs, before);
	lv_set_allocator(NULL);
}

/*
 * An allocation failure at any point returns LV_ERR_NOMEM (LV_ERR_LAPACK
 * when it hits the certificate's SVD) and leaves no allocation behind.
 */
static void
test_nomem(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_model m;
	long before,
		budget;
	int rc = LV_ERR_NOMEM;

	(void) state;
	cfg.epochs = 1;
	cfg.hidden = 8;
	cfg.noise_multiplier = 1.0;
	cfg.decoder_layer_bound = 2.0;
	new_model(&m);
	for (budget = 0; budget < 1000 && rc != LV_OK; budget++)
	{
		before = live_allocs;
		allocs_left = budget;
		lv_set_allocator(&failing);
		rc = lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg, NULL);
		if (rc != LV_OK)
		{
			assert_true(rc == LV_ERR_NOMEM || rc == LV_ERR_LAPACK);
			assert_int_equal(live_allocs, before);
			assert_null(m.enc.layers);
			assert_null(m.dec.layers);
		}
		else
			assert_int_equal(live_allocs, before + 14);
		lv_set_allocator(NULL);
	}
	print_message("training succeeded with %ld allocations\n", budget - 1);
	assert_int_equal(rc, LV_OK);
	lv_set_allocator(&counting);
	lv_model_free(&m);
	lv_set_allocator(NULL);
}

/* ---------- (7) determinism and spectral bounds ---------- */

/*
 * The same key gives bitwise identical weights, another key other
 * weights; with layer bounds every layer's exact spectral norm (of the
 * EMA weights) stays within them.
 */
static void
test_determinism(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_model a,
		b,
		c;
	int l;

	(void) state;
	cfg.epochs = 3;
	cfg.noise_multiplier = 1.0;
	cfg.encoder_layer_bound = 1.5;
	cfg.decoder_layer_bound = 2.0;
	new_model(&a);
	new_model(&b);
	new_model(&c);
	assert_int_equal(lv_model_train_dpsgd(&a, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_OK);
	assert_int_equal(lv_model_train_dpsgd(&b, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_OK);
	cfg.train_key[0] ^= 1;
	assert_int_equal(lv_model_train_dpsgd(&c, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_OK);
	assert_true(mlp_equal(&a.enc, &b.enc));
	assert_true(mlp_equal(&a.dec, &b.dec));
	assert_false(mlp_equal(&a.enc, &c.enc));
	assert_false(mlp_equal(&a.dec, &c.dec));
	for (l = 0; l < 3; l++)
	{
		double se = lv_spectral_norm_exact(a.enc.layers[l].W,
										   a.enc.layers[l].out,
										   a.enc.layers[l].in);
		double sd = lv_spectral_norm_exact(a.dec.layers[l].W,
										   a.dec.layers[l].out,
										   a.dec.layers[l].in);

		print_message("layer %d: encoder %.4f (bound 1.5), decoder %.4f "
					  "(bound 2)\n",
					  l, se, sd);
		assert_true(se <= 1.5 * 1.02);
		assert_true(sd <= 2.0 * 1.02);
	}
	assert_true(fabs(a.lipschitz_target - 1.5 * 1.5 * 1.5) < 1e-12);
	assert_true(a.lipschitz_certified <= 1.5 * 1.5 * 1.5 * 1.07);
	lv_model_free(&a);
	lv_model_free(&b);
	lv_model_free(&c);
}

/* ---------- (8) units in training ---------- */

/*
 * Units of one row each train bitwise the same model as the row-level
 * mode (same chunks, sample, noise and clipping), with and without noise.
 */
static void
test_unit_rows_identical(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_train_result ra,
		rb;
	lv_model a,
		b;
	int64_t *us = malloc(sizeof(int64_t) * (TABLE_ROWS + 1));
	int i;

	(void) state;
	assert_non_null(us);
	for (i = 0; i <= TABLE_ROWS; i++)
		us[i] = i;
	cfg.epochs = 2;
	cfg.noise_multiplier = 1.0;
	cfg.clip = 0.5;
	cfg.decoder_layer_bound = 2.0;
	new_model(&a);
	new_model(&b);
	assert_int_equal(lv_model_train_dpsgd(&a, tab.X, tab.T, TABLE_ROWS, &cfg,
										  &ra),
					 LV_OK);
	cfg.unit_start = us;
	cfg.nunits = TABLE_ROWS;
	assert_int_equal(lv_model_train_dpsgd(&b, tab.X, tab.T, TABLE_ROWS, &cfg,
										  &rb),
					 LV_OK);
	assert_true(mlp_equal(&a.enc, &b.enc));
	assert_true(mlp_equal(&a.dec, &b.dec));
	assert_true(ra.final_loss == rb.final_loss);
	lv_model_free(&a);
	lv_model_free(&b);
	free(us);
}

/*
 * Training over units of 1 to 5 rows (q over units) works and learns the
 * marginals without noise; bad unit boundaries and normalizers are
 * refused.
 */
static void
test_unit_training(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_model m;
	int64_t *us = malloc(sizeof(int64_t) * (TABLE_ROWS + 1));
	int64_t nunits = 0,
			save;

	(void) state;
	assert_non_null(us);
	us[0] = 0;
	while (us[nunits] < TABLE_ROWS)
	{
		int64_t e = us[nunits] + nunits % 5 + 1;

		us[++nunits] = e > TABLE_ROWS ? TABLE_ROWS : e;
	}
	cfg.clip = 1e6;
	cfg.unit_start = us;
	cfg.nunits = nunits;
	cfg.sample_rate = 40.0 / nunits;
	cfg.normalizer = 40.0 * 3.0; /* q times a public row count */
	new_model(&m);
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_OK);
	assert_true(prior_tvd(&m, "DP-SGD over units, sigma 0") < 0.1);
	lv_model_free(&m);

	new_model(&m);
	cfg.epochs = 1;
	cfg.nunits = 0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.nunits = nunits - 1; /* unit_start[nunits] != n */
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.nunits = nunits;
	save = us[3];
	us[3] = us[2]; /* an empty unit */
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	us[3] = save;
	us[0] = 1;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	us[0] = 0;
	cfg.normalizer = -1.0;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.normalizer = NAN;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	assert_null(m.enc.layers);
	lv_model_free(&m);
	free(us);
}

/* ---------- (9) the derived clip in training ---------- */

/*
 * Training steps in LV_CLIP_DERIVED mode with clip = +inf (the loop of
 * lv_model_train_dpsgd: noisy gradient, Adam): at every step every sampled
 * row's gradient norm is at most B_t, and C_t = B_t.
 */
static void
test_derived_steps(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_schema s;
	lv_mlp enc,
		dec,
		genc,
		gdec,
		m1e,
		m2e,
		m1d,
		m2d,
		tenc,
		tdec;
	lv_dpsgd_work *w;
	lv_stream rinit;
	float *Xb,
		*xi;
	int32_t *Tb;
	double *norms;
	int ew[4],
		dw[4];
	double worst = 0.0;
	int64_t t;
	const int maxB = 400;

	(void) state;
	s.ncols = 2;
	s.cols = (lv_column *) table_cols;
	cfg.clip_mode = LV_CLIP_DERIVED;
	cfg.clip = INFINITY;
	cfg.noise_multiplier = 1.0;
	ew[0] = tab.d;
	ew[1] = ew[2] = cfg.hidden;
	ew[3] = cfg.latent;
	dw[0] = cfg.latent;
	dw[1] = dw[2] = cfg.hidden;
	dw[3] = lv_schema_output_dim(&s);
	assert_int_equal(lv_mlp_alloc(&enc, 3, ew), LV_OK);
	assert_int_equal(lv_mlp_alloc(&dec, 3, dw), LV_OK);
	lv_stream_init(&rinit, cfg.train_key, LV_DOMAIN_TRAIN, 1234);
	lv_mlp_init_xavier(&enc, &rinit);
	lv_mlp_init_xavier(&dec, &rinit);
	assert_int_equal(lv_mlp_alloc_like(&genc, &enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&tenc, &enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&tdec, &dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&m1e, &enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&m2e, &enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&m1d, &dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&m2d, &dec), LV_OK);
	w = lv_dpsgd_work_new(&s, &enc, &dec, maxB);
	assert_non_null(w);
	Xb = malloc(sizeof(float) * maxB * tab.d);
	Tb = malloc(sizeof(int32_t) * maxB * 2);
	xi = malloc(sizeof(float) * maxB * cfg.latent);
	norms = malloc(sizeof(double) * maxB);
	assert_true(Xb && Tb && xi && norms);

	for (t = 0; t < 60; t++)
	{
		lv_dpsgd_sampler smp;
		lv_stream rxi;
		double bt,
			ct;
		int64_t i;
		int B = 0,
			r;

		ct = lv_dpsgd_step_clip(&s, &enc, &dec, &cfg, w, &bt);
		assert_true(ct == bt && bt > 0.0 && isfinite(bt));

		/* the step's sample and latent noise, and their norms */
		lv_dpsgd_sampler_init(&smp, cfg.train_key, t, TABLE_ROWS,
							  cfg.sample_rate);
		lv_stream_init(&rxi, cfg.train_key, LV_DOMAIN_TRAIN,
					   LV_DPSGD_STREAM(LV_DPSGD_XI, t));
		while ((i = lv_dpsgd_sampler_next(&smp)) >= 0)
		{
			assert_true(B < maxB);
			memcpy(Xb + (size_t) B * tab.d, tab.X + (size_t) i * tab.d,
				   sizeof(float) * tab.d);
			memcpy(Tb + (size_t) B * 2, tab.T + (size_t) i * 2,
				   sizeof(int32_t) * 2);
			lv_dpsgd_draw_xi(&rxi, xi + (size_t) B * cfg.latent,
							 (size_t) cfg.latent);
			B++;
		}
		lv_dpsgd_clip_accumulate(&s, &enc, &dec, Xb, Tb, xi, B, INFINITY, w,
								 &tenc, &tdec, 1, norms, NULL, NULL);
		for (r = 0; r < B; r++)
		{
			assert_true(norms[r] <= bt);
			worst = fmax(worst, norms[r] / bt);
		}
		if (t % 20 == 0)
			print_message("step %ld: B_t %.3f, batch %d, largest norm %.3f\n",
						  (long) t, bt, B, B ? norms[0] : 0.0);

		assert_true(lv_dpsgd_noisy_grad(&s, &enc, &dec, tab.X, tab.T,
										TABLE_ROWS, &cfg, t, w, &genc, &gdec,
										NULL) == B);
		lv_adam_step(&enc, &genc, &m1e, &m2e, cfg.lr, 0.9, 0.999, 1e-8, t + 1);
		lv_adam_step(&dec, &gdec, &m1d, &m2d, cfg.lr, 0.9, 0.999, 1e-8, t + 1);
	}
	print_message("derived steps: largest norm / B_t %.4f\n", worst);
	assert_true(worst <= 1.0);

	free(Xb);
	free(Tb);
	free(xi);
	free(norms);
	lv_dpsgd_work_free(w);
	lv_mlp_free(&enc);
	lv_mlp_free(&dec);
	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&tenc);
	lv_mlp_free(&tdec);
	lv_mlp_free(&m1e);
	lv_mlp_free(&m2e);
	lv_mlp_free(&m1d);
	lv_mlp_free(&m2d);
}

/*
 * lv_model_train_dpsgd_report in both clip modes: the report's clips,
 * derived training with layer bounds, over units, and the argument checks
 * of the new fields.
 */
static void
test_derived_report(void **state)
{
	lv_dpsgd_config cfg = table_config();
	lv_dpsgd_report rep;
	lv_model m;
	int64_t steps;
	int64_t *us = malloc(sizeof(int64_t) * (TABLE_ROWS + 1));
	int64_t nunits = 0;

	(void) state;
	assert_non_null(us);
	cfg.epochs = 3;
	steps = lv_dpsgd_steps(cfg.epochs, cfg.sample_rate);

	/* norm mode */
	cfg.noise_multiplier = 1.0;
	new_model(&m);
	assert_int_equal(lv_model_train_dpsgd_report(&m, tab.X, tab.T, TABLE_ROWS,
												 &cfg, NULL, &rep),
					 LV_OK);
	assert_int_equal(rep.steps, steps);
	assert_true(rep.clip_min == 1.0 && rep.clip_max == 1.0 &&
				rep.clip_last == 1.0 && fabs(rep.clip_mean - 1.0) < 1e-12);
	assert_int_equal(rep.bound_steps, 0);
	lv_model_free(&m);

	/* derived, clip = +inf, tight layer bounds */
	cfg.clip_mode = LV_CLIP_DERIVED;
	cfg.clip = INFINITY;
	cfg.encoder_layer_bound = 1.0;
	cfg.decoder_layer_bound = 1.0;
	new_model(&m);
	assert_int_equal(lv_model_train_dpsgd_report(&m, tab.X, tab.T, TABLE_ROWS,
												 &cfg, NULL, &rep),
					 LV_OK);
	print_message("derived, clip inf, layer bounds 1: C_t mean %.4f, min "
				  "%.4f, max %.4f, last %.4f\n",
				  rep.clip_mean, rep.clip_min, rep.clip_max, rep.clip_last);
	assert_int_equal(rep.steps, steps);
	assert_int_equal(rep.bound_steps, steps);
	assert_true(rep.clip_min > 0.0 && rep.clip_min <= rep.clip_mean &&
				rep.clip_mean <= rep.clip_max && isfinite(rep.clip_max));
	lv_model_free(&m);

	/* derived, clip below every B_t: the norm mode's clip */
	cfg.clip = 1e-3;
	new_model(&m);
	assert_int_equal(lv_model_train_dpsgd_report(&m, tab.X, tab.T, TABLE_ROWS,
												 &cfg, NULL, &rep),
					 LV_OK);
	assert_true(rep.clip_max == 1e-3 && rep.clip_min == 1e-3);
	assert_int_equal(rep.bound_steps, 0);
	lv_model_free(&m);

	/* derived over units of up to 4 rows, k = 4 */
	us[0] = 0;
	while (us[nunits] < TABLE_ROWS)
	{
		int64_t e = us[nunits] + nunits % 4 + 1;

		us[++nunits] = e > TABLE_ROWS ? TABLE_ROWS : e;
	}
	cfg.clip = INFINITY;
	cfg.unit_start = us;
	cfg.nunits = nunits;
	cfg.max_unit_rows = 4;
	new_model(&m);
	assert_int_equal(lv_model_train_dpsgd_report(&m, tab.X, tab.T, TABLE_ROWS,
												 &cfg, NULL, &rep),
					 LV_OK);
	print_message("derived over units (k 4): C_t mean %.4f\n", rep.clip_mean);
	assert_true(rep.clip_min > 0.0 && isfinite(rep.clip_max));
	lv_model_free(&m);

	/* argument checks */
	new_model(&m);
	cfg.max_unit_rows = 3; /* a unit has 4 rows */
	assert_int_equal(lv_model_train_dpsgd_report(&m, tab.X, tab.T, TABLE_ROWS,
												 &cfg, NULL, &rep),
					 LV_ERR_ARG);
	assert_int_equal(rep.steps, 0);
	cfg.max_unit_rows = 0; /* derived over units needs k */
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.max_unit_rows = -1;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.unit_start = NULL;
	cfg.max_unit_rows = 0;
	cfg.clip_mode = 2;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.clip_mode = LV_CLIP_NORM; /* +inf only with the derived clip */
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	cfg.clip_mode = LV_CLIP_DERIVED;
	cfg.clip = NAN;
	assert_int_equal(lv_model_train_dpsgd(&m, tab.X, tab.T, TABLE_ROWS, &cfg,
										  NULL),
					 LV_ERR_ARG);
	assert_null(m.enc.layers);
	lv_model_free(&m);
	free(us);
}

int
main(void)
{
	const struct CMUnitTest grad_tests[] = {
		cmocka_unit_test(test_ghost_norms),
		cmocka_unit_test(test_clip_vector_bound),
		cmocka_unit_test(test_clip_float_bound),
		cmocka_unit_test(test_clipping),
		cmocka_unit_test(test_noise),
		cmocka_unit_test(test_poisson),
		cmocka_unit_test(test_unit_norms),
		cmocka_unit_test(test_unit_duplicates),
		cmocka_unit_test(test_unit_sampling),
		cmocka_unit_test(test_spectral_bound),
		cmocka_unit_test(test_derived_bound),
		cmocka_unit_test(test_derived_noise),
	};
	const struct CMUnitTest train_tests[] = {
		cmocka_unit_test(test_utility_no_noise),
		cmocka_unit_test(test_utility_eps8),
		cmocka_unit_test(test_interrupt),
		cmocka_unit_test(test_nomem),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_unit_rows_identical),
		cmocka_unit_test(test_unit_training),
		cmocka_unit_test(test_derived_steps),
		cmocka_unit_test(test_derived_report),
	};
	int failed;

	failed = cmocka_run_group_tests_name("dpsgd gradients", grad_tests, NULL,
										 NULL);
	failed += cmocka_run_group_tests_name("dpsgd training", train_tests,
										  setup_table, teardown_table);
	return failed;
}
