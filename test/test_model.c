/*
 * test_model.c - unit tests of the model half of the core: encoding,
 * backpropagation (finite differences), exact spectral norms, training
 * (marginals, Lipschitz certificate), interruption and the floating-point
 * state, deterministic release, and the binary format under corruption.
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
#include "lv_privacy.h"
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

/*
 * The synthetic table: one categorical column (3 listed categories with
 * probabilities .6/.3/.1) and an integer column on [0,20] with two modes
 * (around 4 and 15).
 */
static const lv_column table_cols[2] = {
	{LV_COL_CATEGORICAL, 0, 0, 0, 0, 3, 0.0, 0.0, 0},
	{LV_COL_NUMERIC, 0, 1, 21, 1, 0, 0.0, 20.0, 0}};

#define TABLE_ROWS 2000

/* make_table generates n cells rows (n x 2) from a fixed stream. */
static void
make_table(lv_cell *cells, int n)
{
	uint8_t key[LV_KEY_BYTES];
	lv_stream s;
	int i;

	fill_key(key, 77);
	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, 0);
	for (i = 0; i < n; i++)
	{
		double u = lv_stream_uniform(&s);
		double v;

		memset(&cells[2 * i], 0, 2 * sizeof(lv_cell));
		cells[2 * i].cat = u < 0.6 ? 0 : (u < 0.9 ? 1 : 2);
		if (lv_stream_uniform(&s) < 0.5)
			v = 4.0 + 1.0 * lv_stream_gaussian(&s);
		else
			v = 15.0 + 1.5 * lv_stream_gaussian(&s);
		v = round(v);
		cells[2 * i + 1].value = v < 0 ? 0 : (v > 20 ? 20 : v);
	}
}

/* encode_all encodes n rows into newly malloc'ed X and T. */
static void
encode_all(const lv_schema *s, const lv_cell *cells, int n, float **X,
		   int32_t **T)
{
	int d = lv_schema_input_dim(s);
	int i;

	*X = malloc(sizeof(float) * (size_t) n * d);
	*T = malloc(sizeof(int32_t) * (size_t) n * s->ncols);
	assert_non_null(*X);
	assert_non_null(*T);
	for (i = 0; i < n; i++)
		lv_encode_row(s, cells + (size_t) i * s->ncols, *X + (size_t) i * d,
					  *T + (size_t) i * s->ncols);
}

/* default_config returns a small, fast training configuration. */
static lv_train_config
default_config(void)
{
	lv_train_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = 20;
	cfg.batch = 64;
	cfg.latent = 4;
	cfg.hidden = 32;
	cfg.lr = 5e-3;
	fill_key(cfg.train_key, 5);
	return cfg;
}

/* Models trained once for the whole group. */
typedef struct fixture
{
	lv_cell *cells;
	float *X;
	int32_t *T;
	lv_model none; /* LV_MECH_NONE */
	lv_model priv; /* LV_MECH_LATENT, target 0.05 */
	lv_train_result res_none;
	unsigned int csr_before,
		csr_after; /* MXCSR around a successful training */
} fixture;

static fixture fx;

/* setup_models trains the two models on the synthetic table. */
static int
setup_models(void **state)
{
	lv_train_config cfg = default_config();
	int rc;

	fx.cells = calloc(2 * TABLE_ROWS, sizeof(lv_cell));
	make_table(fx.cells, TABLE_ROWS);

	memset(&fx.none, 0, sizeof(lv_model));
	new_schema(&fx.none.schema, table_cols, 2);
	encode_all(&fx.none.schema, fx.cells, TABLE_ROWS, &fx.X, &fx.T);
	fx.none.mechanism = LV_MECH_NONE;
	fx.none.passes = 10;
	fill_key(fx.none.key, 1);
#ifdef HAVE_MXCSR
	fx.csr_before = _mm_getcsr();
#endif
	rc = lv_model_train(&fx.none, fx.X, fx.T, TABLE_ROWS, &cfg, &fx.res_none);
#ifdef HAVE_MXCSR
	fx.csr_after = _mm_getcsr();
#endif
	if (rc != LV_OK)
		return -1;

	memset(&fx.priv, 0, sizeof(lv_model));
	new_schema(&fx.priv.schema, table_cols, 2);
	fx.priv.mechanism = LV_MECH_LATENT;
	fx.priv.passes = 10;
	fill_key(fx.priv.key, 2);
	cfg.lipschitz_target = 0.05;
	cfg.epochs = 5;
	rc = lv_model_train(&fx.priv, fx.X, fx.T, TABLE_ROWS, &cfg, NULL);
	if (rc != LV_OK)
		return -1;
	fx.priv.mu1 = lv_round_up(fx.priv.lipschitz_certified *
							  lv_schema_diameter(&fx.priv.schema) /
							  fx.priv.noise_sd);
	(void) state;
	return 0;
}

/* teardown_models frees the fixture. */
static int
teardown_models(void **state)
{
	lv_model_free(&fx.none);
	lv_model_free(&fx.priv);
	free(fx.cells);
	free(fx.X);
	free(fx.T);
	(void) state;
	return 0;
}

/* ---------- encoding ---------- */

/* Mixed schema: dims, diameter, encoded vectors and targets. */
static void
test_encode_row(void **state)
{
	static const lv_column cols[4] = {
		{LV_COL_NUMERIC, 1, 0, 5, 0, 0, 0.0, 10.0, 0},
		{LV_COL_NUMERIC, 0, 1, 4, 1, 0, 1.0, 4.0, 0},
		{LV_COL_CATEGORICAL, 1, 0, 0, 0, 3, 0.0, 0.0, 0},
		{LV_COL_CATEGORICAL, 0, 0, 0, 0, 2, 0.0, 0.0, 0}};
	lv_schema s = {4, (lv_column *) cols};
	lv_cell r1[4] = {{2.5, 0, 0}, {3.0, 0, 0}, {0, 1, 0}, {0, -1, 0}};
	lv_cell r2[4] = {{0, 0, 1}, {99.0, 0, 0}, {0, 0, 1}, {0, 5, 0}};
	lv_cell r3[4] = {{-4.0, 0, 0}, {1.4, 0, 0}, {0, 2, 0}, {0, 1, 0}};
	const float e1[11] = {0.25f, 0, 2.0f / 3.0f, 0, 1, 0, 0, 0, 0, 0, 1};
	const float e2[11] = {0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1};
	const float e3[11] = {0, 0, 0.4f / 3.0f, 0, 0, 1, 0, 0, 0, 1, 0};
	const int32_t t1[4] = {1, 2, 1, 2};
	const int32_t t2[4] = {-1, 3, 4, 2};
	const int32_t t3[4] = {0, 0, 2, 1};
	float x[11];
	int32_t t[4];
	int i;

	(void) state;
	assert_int_equal(lv_schema_check(&s), LV_OK);
	assert_int_equal(lv_schema_input_dim(&s), 2 + 1 + 5 + 3);
	assert_int_equal(lv_schema_output_dim(&s), 6 + 4 + 5 + 3);
	assert_true(fabs(lv_schema_diameter(&s) - sqrt(2 + 2 * 2 + 1)) < 1e-12);

	lv_encode_row(&s, r1, x, t);
	for (i = 0; i < 11; i++)
		assert_true(fabsf(x[i] - e1[i]) < 1e-6f);
	assert_memory_equal(t, t1, sizeof(t1));
	lv_encode_row(&s, r2, x, t);
	for (i = 0; i < 11; i++)
		assert_true(fabsf(x[i] - e2[i]) < 1e-6f);
	assert_memory_equal(t, t2, sizeof(t2));
	lv_encode_row(&s, r3, x, t);
	for (i = 0; i < 11; i++)
		assert_true(fabsf(x[i] - e3[i]) < 1e-6f);
	assert_memory_equal(t, t3, sizeof(t3));

	/* bin of the upper bound of a non-exact column is the last bin */
	assert_int_equal(lv_numeric_bin(&cols[0], 10.0), 4);
	assert_int_equal(lv_numeric_bin(&cols[0], 1.999), 0);
	assert_int_equal(lv_numeric_bin(&cols[0], 2.0), 1);

	/* invalid schemas */
	{
		lv_column bad = cols[1];
		lv_schema bs = {1, &bad};

		bad.nbins = 5; /* exact bins need hi - lo + 1 bins */
		assert_int_equal(lv_schema_check(&bs), LV_ERR_ARG);
		bad = cols[0];
		bad.lo = bad.hi;
		assert_int_equal(lv_schema_check(&bs), LV_ERR_ARG);
		bad = cols[0];
		bad.hi = NAN;
		assert_int_equal(lv_schema_check(&bs), LV_ERR_ARG);
		bad = cols[2];
		bad.ncat = LV_MAX_CATEGORIES + 1;
		assert_int_equal(lv_schema_check(&bs), LV_ERR_ARG);
	}
}

/* ---------- backpropagation ---------- */

/* mlp_param returns a pointer to parameter idx of net (W then b, per layer). */
static float *
mlp_param(lv_mlp *net, size_t idx)
{
	int l;

	for (l = 0; l < net->nlayers; l++)
	{
		size_t nw = (size_t) net->layers[l].out * net->layers[l].in;

		if (idx < nw)
			return &net->layers[l].W[idx];
		idx -= nw;
		if (idx < (size_t) net->layers[l].out)
			return &net->layers[l].b[idx];
		idx -= net->layers[l].out;
	}
	return NULL;
}

/* Backward gradients of the full VAE loss agree with central differences. */
static void
test_gradient_check(void **state)
{
	static const lv_column cols[3] = {
		{LV_COL_NUMERIC, 1, 0, 3, 0, 0, 0.0, 1.0, 0},
		{LV_COL_CATEGORICAL, 1, 0, 0, 0, 2, 0.0, 0.0, 0},
		{LV_COL_NUMERIC, 0, 0, 2, 0, 0, 0.0, 1.0, 0}};
	lv_schema s = {3, (lv_column *) cols};
	const int B = 5,
			  k = 2,
			  h = 6;
	int d = lv_schema_input_dim(&s),
		o = lv_schema_output_dim(&s);
	int ew[4] = {d, h, h, k},
		dw[4] = {k, h, h, o};
	lv_mlp enc,
		dec,
		genc,
		gdec,
		genc2,
		gdec2;
	lv_vae_work w;
	lv_stream rs;
	uint8_t key[LV_KEY_BYTES];
	float X[5 * 7],
		xi[5 * 2];
	int32_t T[5 * 3] = {0, 0, 1, 2, 3, 0, -1, 1, 1, 1, 2, 0, 2, 1, 1};
	double num = 0.0,
		   den = 0.0,
		   maxerr = 0.0;
	int net,
		i,
		l;

	(void) state;
	assert_int_equal(d, 7);
	fill_key(key, 9);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 0);
	assert_int_equal(lv_mlp_alloc(&enc, 3, ew), LV_OK);
	assert_int_equal(lv_mlp_alloc(&dec, 3, dw), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&genc, &enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec, &dec), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&genc2, &enc), LV_OK);
	assert_int_equal(lv_mlp_alloc_like(&gdec2, &dec), LV_OK);
	lv_mlp_init_xavier(&enc, &rs);
	lv_mlp_init_xavier(&dec, &rs);
	for (l = 0; l < 3; l++)
	{
		for (i = 0; i < enc.layers[l].out; i++)
			enc.layers[l].b[i] = (float) (0.2 * lv_stream_gaussian(&rs));
		for (i = 0; i < dec.layers[l].out; i++)
			dec.layers[l].b[i] = (float) (0.2 * lv_stream_gaussian(&rs));
	}
	for (i = 0; i < B * d; i++)
		X[i] = (float) lv_stream_uniform(&rs);
	for (i = 0; i < B * k; i++)
		xi[i] = (float) lv_stream_gaussian(&rs);
	assert_int_equal(lv_vae_work_alloc(&w, &enc, &dec, B), LV_OK);

	lv_vae_grad(&s, &enc, &dec, X, T, xi, B, &w, &genc, &gdec, NULL, NULL);

	for (net = 0; net < 2; net++)
	{
		lv_mlp *p = net == 0 ? &enc : &dec;
		lv_mlp *g = net == 0 ? &genc : &gdec;
		size_t idx;
		float *wp;

		for (idx = 0; (wp = mlp_param(p, idx)) != NULL; idx++)
		{
			const float hstep = 2e-3f;
			float saved = *wp;
			double lp,
				lm,
				fd,
				an = *mlp_param(g, idx);

			*wp = saved + hstep;
			lp = lv_vae_grad(&s, &enc, &dec, X, T, xi, B, &w, &genc2, &gdec2,
							 NULL, NULL);
			*wp = saved - hstep;
			lm = lv_vae_grad(&s, &enc, &dec, X, T, xi, B, &w, &genc2, &gdec2,
							 NULL, NULL);
			*wp = saved;
			fd = (lp - lm) / (2.0 * hstep);
			num += (fd - an) * (fd - an);
			den += an * an;
			if (fabs(fd - an) > maxerr)
				maxerr = fabs(fd - an);
		}
	}
	print_message("gradient check: relative error %.3g, max abs error %.3g\n",
				  sqrt(num / den), maxerr);
	/* relative error of the whole gradient vector, and no wild entry */
	assert_true(den > 1e-4);
	assert_true(sqrt(num / den) < 2e-3);
	assert_true(maxerr < 1e-3);

	lv_vae_work_free(&w);
	lv_mlp_free(&enc);
	lv_mlp_free(&dec);
	lv_mlp_free(&genc);
	lv_mlp_free(&gdec);
	lv_mlp_free(&genc2);
	lv_mlp_free(&gdec2);
}

/* lv_mlp_infer and the training forward pass agree. */
static void
test_infer_matches_forward(void **state)
{
	const lv_mlp *enc = &fx.none.enc;
	int d = enc->layers[0].in,
		k = fx.none.latent,
		B = 37,
		i;
	lv_mlp_cache c;
	float *out = malloc(sizeof(float) * B * k);
	float *scratch = malloc(sizeof(float) * 2 * B * lv_mlp_max_width(enc));

	(void) state;
	assert_int_equal(lv_mlp_cache_alloc(&c, enc, B), LV_OK);
	lv_mlp_forward(enc, fx.X + 5 * d, B, &c);
	lv_mlp_infer(enc, fx.X + 5 * d, B, out, scratch);
	for (i = 0; i < B * k; i++)
		assert_true(fabsf(out[i] - c.act[2][i]) <= 1e-5f * (1 + fabsf(out[i])));
	lv_mlp_cache_free(&c);
	free(out);
	free(scratch);
}

/* ---------- spectral norms ---------- */

/* Exact norms of matrices with known singular values; projection. */
static void
test_spectral_norm_exact(void **state)
{
	float D[3 * 4] = {0};
	float R[5 * 7];
	float u[5] = {1, -2, 0.5f, 3, 0.25f},
		  v[7] = {0.5f, 1, -1, 2, 0, 0.125f, -3};
	double nu = 0,
		   nv = 0;
	int i,
		j;
	lv_layer L;
	float *W,
		pv[40],
		pu[30];
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;
	double exact,
		est;

	(void) state;
	D[0 * 4 + 0] = 2.0f;
	D[1 * 4 + 1] = -3.0f;
	D[2 * 4 + 2] = 0.5f;
	assert_true(fabs(lv_spectral_norm_exact(D, 3, 4) - 3.0) < 1e-12);
	/* the same 12 floats read as 4 x 3: orthogonal columns of norm 2, .5, 3 */
	assert_true(fabs(lv_spectral_norm_exact(D, 4, 3) - 3.0) < 1e-12);

	for (i = 0; i < 5; i++)
		nu += (double) u[i] * u[i];
	for (j = 0; j < 7; j++)
		nv += (double) v[j] * v[j];
	for (i = 0; i < 5; i++)
		for (j = 0; j < 7; j++)
			R[i * 7 + j] = u[i] * v[j];
	assert_true(fabs(lv_spectral_norm_exact(R, 5, 7) - sqrt(nu * nv)) <
				1e-6 * sqrt(nu * nv));
	{
		float bad[2] = {1.0f, NAN};

		assert_true(lv_spectral_norm_exact(bad, 1, 2) < 0.0);
	}

	/* power iteration approaches the exact norm from below; projection */
	fill_key(key, 3);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 0);
	W = malloc(sizeof(float) * 30 * 40);
	for (i = 0; i < 30 * 40; i++)
		W[i] = (float) lv_stream_gaussian(&rs);
	for (i = 0; i < 40; i++)
		pv[i] = (float) lv_stream_gaussian(&rs);
	L.in = 40;
	L.out = 30;
	L.W = W;
	L.b = NULL;
	exact = lv_spectral_norm_exact(W, 30, 40);
	est = lv_power_iterate(&L, pv, pu, 500);
	assert_true(est <= exact * (1 + 1e-5));
	assert_true(est >= exact * (1 - 1e-3));
	lv_spectral_project(&L, pv, pu, 5, 1.5);
	assert_true(fabs(lv_spectral_norm_exact(W, 30, 40) - 1.5) < 1.5e-3);
	free(W);
}

/* ---------- training ---------- */

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

/* A non-private model reproduces both marginals of the table. */
static void
test_train_marginals(void **state)
{
	const int nsyn = 5000;
	lv_cell *syn = calloc((size_t) nsyn * 2, sizeof(lv_cell));
	double rc_[4] = {0},
		   sc[4] = {0},
		   rv[21] = {0},
		   sv[21] = {0};
	int i,
		start;
	double t1,
		t2;

	(void) state;
	assert_int_equal(fx.res_none.epochs_run, 20);
	assert_true(isfinite(fx.res_none.final_loss));
	assert_true(fabs(fx.res_none.final_loss -
					 (fx.res_none.final_recon + fx.res_none.final_kl)) < 1e-6);
	assert_true(fx.none.lipschitz_certified > 0.0);
	assert_int_equal(fx.none.nrows, TABLE_ROWS);
	/* control bits (rounding, FTZ, DAZ, masks); the status flags are sticky */
	assert_int_equal(fx.csr_before & ~0x3fu, fx.csr_after & ~0x3fu);

	for (start = 0; start < nsyn; start += LV_RELEASE_CHUNK)
	{
		int cnt = nsyn - start;

		if (cnt > LV_RELEASE_CHUNK)
			cnt = LV_RELEASE_CHUNK;

		assert_int_equal(lv_release_rows(&fx.none, start, cnt,
										 syn + (size_t) start * 2),
						 LV_OK);
	}
	for (i = 0; i < TABLE_ROWS; i++)
	{
		rc_[fx.cells[2 * i].cat] += 1;
		rv[(int) fx.cells[2 * i + 1].value] += 1;
	}
	for (i = 0; i < nsyn; i++)
	{
		double v = syn[2 * i + 1].value;

		assert_false(syn[2 * i].isnull);
		assert_false(syn[2 * i + 1].isnull);
		assert_true(syn[2 * i].cat >= -1 && syn[2 * i].cat < 3);
		assert_true(v == floor(v) && v >= 0 && v <= 20);
		sc[syn[2 * i].cat < 0 ? 3 : syn[2 * i].cat] += 1;
		sv[(int) v] += 1;
	}
	t1 = tvd(rc_, sc, 4);
	t2 = tvd(rv, sv, 21);
	print_message("marginal TVD: categorical %.4f, integer %.4f\n", t1, t2);
	assert_true(t1 < 0.1);
	assert_true(t2 < 0.1);
	free(syn);
}

/* encoder_mu computes mu(x) for B rows with the float network. */
static void
encoder_mu(const lv_model *m, const float *X, int B, float *mu)
{
	float *scratch = malloc(sizeof(float) * 2 * B * lv_mlp_max_width(&m->enc));

	lv_mlp_infer(&m->enc, X, B, mu, scratch);
	free(scratch);
}

/* A private model's certificate meets the target and bounds real pairs. */
static void
test_train_private_certificate(void **state)
{
	const lv_model *m = &fx.priv;
	int d = lv_schema_input_dim(&m->schema),
		k = m->latent,
		l,
		i,
		c;
	double prod = 1.0,
		   worst = 0.0;
	float *mu = malloc(sizeof(float) * TABLE_ROWS * k);
	float *zero = calloc(d, sizeof(float));
	float mu0[16];
	uint8_t key[LV_KEY_BYTES];
	lv_stream rs;

	(void) state;
	assert_true(m->lipschitz_certified > 0.0);
	assert_true(m->lipschitz_certified <= 0.05);
	assert_true(m->lipschitz_target == 0.05);
	for (l = 0; l < 3; l++)
		prod *= lv_spectral_norm_exact(m->enc.layers[l].W,
									   m->enc.layers[l].out,
									   m->enc.layers[l].in);
	assert_true(m->lipschitz_certified >= prod * (1 + 1e-4));
	assert_true(m->lipschitz_certified <= prod * (1 + 1e-4) * (1 + 1e-12));
	assert_true(lv_model_certify(m) == m->lipschitz_certified);
	/* the projection kept the constraint nearly tight before rescaling */
	assert_true(m->lipschitz_certified > 0.05 * 0.5);

	encoder_mu(m, fx.X, TABLE_ROWS, mu);
	encoder_mu(m, zero, 1, mu0);
	/* stored means are mu(x) - mu(0) */
	for (i = 0; i < TABLE_ROWS; i++)
		for (c = 0; c < k; c++)
		{
			assert_true(fabs(m->center[c] - mu0[c]) < 1e-5);
			assert_true(fabsf(m->means[i * k + c] -
							  (mu[i * k + c] - mu0[c])) < 1e-5f);
		}

	/* ||mu(x) - mu(x')|| <= L ||x - x'|| on random pairs, and <= L D */
	fill_key(key, 11);
	lv_stream_init(&rs, key, LV_DOMAIN_TRAIN, 0);
	for (i = 0; i < 2000; i++)
	{
		int a = (int) lv_stream_below(&rs, TABLE_ROWS),
			b = (int) lv_stream_below(&rs, TABLE_ROWS);
		double dx = 0,
			   dm = 0;

		for (c = 0; c < d; c++)
			dx += (double) (fx.X[a * d + c] - fx.X[b * d + c]) *
				  (fx.X[a * d + c] - fx.X[b * d + c]);
		for (c = 0; c < k; c++)
			dm += (double) (m->means[a * k + c] - m->means[b * k + c]) *
				  (m->means[a * k + c] - m->means[b * k + c]);
		assert_true(sqrt(dm) <= m->lipschitz_certified * sqrt(dx) + 1e-6);
		assert_true(sqrt(dm) <= m->lipschitz_certified *
										lv_schema_diameter(&m->schema) +
									1e-6);
		if (dx > 0 && sqrt(dm / dx) > worst)
			worst = sqrt(dm / dx);
	}
	print_message("certified %.6g, worst observed ratio %.6g\n",
				  m->lipschitz_certified, worst);
	free(mu);
	free(zero);
}

/* Bad arguments are refused before anything is allocated. */
static void
test_train_bad_args(void **state)
{
	lv_train_config cfg = default_config();
	lv_model m;
	int32_t T2[2 * 2];

	(void) state;
	memset(&m, 0, sizeof(m));
	new_schema(&m.schema, table_cols, 2);
	m.mechanism = LV_MECH_LATENT;
	cfg.lipschitz_target = 0.0; /* private needs a target */
	assert_int_equal(lv_model_train(&m, fx.X, fx.T, 2, &cfg, NULL), LV_ERR_ARG);
	cfg.lipschitz_target = 1.0;
	cfg.lr = NAN;
	assert_int_equal(lv_model_train(&m, fx.X, fx.T, 2, &cfg, NULL), LV_ERR_ARG);
	cfg.lr = 1e-3;
	memcpy(T2, fx.T, sizeof(T2));
	T2[1] = 21; /* bin out of range */
	assert_int_equal(lv_model_train(&m, fx.X, T2, 2, &cfg, NULL), LV_ERR_ARG);
	assert_int_equal(lv_model_train(&m, fx.X, fx.T, 0, &cfg, NULL), LV_ERR_ARG);
	assert_null(m.enc.layers);
	lv_model_free(&m);
}

/* ---------- interruption ---------- */

typedef struct poll_state
{
	int calls;
	int ftz_seen;
} poll_state;

/* stop_after_3 asks to stop on its third call; notes FTZ/DAZ if set. */
static int
stop_after_3(void *arg)
{
	poll_state *ps = arg;

#ifdef HAVE_MXCSR
	if (_mm_getcsr() & 0x8040)
		ps->ftz_seen = 1;
#endif
	return ++ps->calls >= 3;
}

/* Interrupted training returns INTERRUPTED, frees, restores MXCSR. */
static void
test_train_interrupted(void **state)
{
	lv_train_config cfg = default_config();
	lv_model m;
	poll_state ps = {0, 0};
	int rc;
#ifdef HAVE_MXCSR
	unsigned int before = _mm_getcsr();
#endif

	(void) state;
	memset(&m, 0, sizeof(m));
	new_schema(&m.schema, table_cols, 2);
	m.mechanism = LV_MECH_LATENT;
	cfg.lipschitz_target = 0.5;
	cfg.interrupted = stop_after_3;
	cfg.interrupted_arg = &ps;
	rc = lv_model_train(&m, fx.X, fx.T, TABLE_ROWS, &cfg, NULL);
	assert_int_equal(rc, LV_ERR_INTERRUPTED);
	assert_int_equal(ps.calls, 3);
	assert_int_equal(ps.ftz_seen, 0);
	assert_null(m.enc.layers);
	assert_null(m.dec.layers);
	assert_null(m.means);
	assert_null(m.center);
#ifdef HAVE_MXCSR
	assert_int_equal(_mm_getcsr(), before);
#endif
	lv_model_free(&m);
}

/* A diverging run stops with NUMERIC, frees, restores MXCSR. */
static void
test_train_diverges(void **state)
{
	lv_train_config cfg = default_config();
	lv_model m;
#ifdef HAVE_MXCSR
	unsigned int before = _mm_getcsr();
#endif

	(void) state;
	memset(&m, 0, sizeof(m));
	new_schema(&m.schema, table_cols, 2);
	m.mechanism = LV_MECH_NONE;
	cfg.lr = 1e30;
	assert_int_equal(lv_model_train(&m, fx.X, fx.T, TABLE_ROWS, &cfg, NULL),
					 LV_ERR_NUMERIC);
	assert_null(m.enc.layers);
	assert_null(m.means);
#ifdef HAVE_MXCSR
	assert_int_equal(_mm_getcsr(), before);
#endif
	lv_model_free(&m);
}

/* ---------- release ---------- */

/* cells_equal compares two cell arrays field by field. */
static int
cells_equal(const lv_cell *a, const lv_cell *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (a[i].value != b[i].value || a[i].cat != b[i].cat ||
			a[i].isnull != b[i].isnull)
			return 0;
	return 1;
}

/* Rows are a fixed function of (key, j). */
static void
test_release_determinism(void **state)
{
	lv_cell a[100 * 2],
		b[100 * 2],
		c[10 * 2];
	lv_model other = fx.none;
	int differ = 0,
		i;

	(void) state;
	assert_int_equal(lv_release_rows(&fx.none, 0, 100, a), LV_OK);
	assert_int_equal(lv_release_rows(&fx.none, 0, 100, b), LV_OK);
	assert_true(cells_equal(a, b, 200));
	assert_int_equal(lv_release_rows(&fx.none, 10, 10, c), LV_OK);
	assert_true(cells_equal(a + 20, c, 20));
	/* across a pass boundary (n = 2000) */
	assert_int_equal(lv_release_rows(&fx.none, 1995, 10, c), LV_OK);
	assert_int_equal(lv_release_rows(&fx.none, 1990, 100, a), LV_OK);
	assert_true(cells_equal(a + 10, c, 20));

	/* a different key gives different rows */
	fill_key(other.key, 99);
	assert_int_equal(lv_release_rows(&fx.none, 0, 100, a), LV_OK);
	assert_int_equal(lv_release_rows(&other, 0, 100, b), LV_OK);
	for (i = 0; i < 100; i++)
		if (!cells_equal(a + 2 * i, b + 2 * i, 2))
			differ++;
	assert_true(differ > 50);

	/* arguments */
	assert_int_equal(lv_release_rows(&fx.none, -1, 1, a), LV_ERR_ARG);
	assert_int_equal(lv_release_rows(&fx.none, 0, LV_RELEASE_CHUNK + 1, NULL),
					 LV_ERR_ARG);
	assert_int_equal(lv_release_rows(&fx.none, INT64_MAX, 2, a), LV_ERR_ARG);
	assert_int_equal(lv_release_rows(&fx.none, 0, 0, a), LV_OK);
}

/* Nullable columns and non-exact bins decode into their domains. */
static void
test_release_nullable(void **state)
{
	static const lv_column cols[2] = {
		{LV_COL_NUMERIC, 1, 0, 8, 0, 0, -1.0, 3.0, 0},
		{LV_COL_CATEGORICAL, 1, 0, 0, 0, 2, 0.0, 0.0, 0}};
	enum
	{
		N = 400
	};
	lv_cell *cells = calloc(N * 2, sizeof(lv_cell));
	lv_cell out[LV_RELEASE_CHUNK * 2];
	float *X;
	int32_t *T;
	lv_model m;
	lv_train_config cfg = default_config();
	int i,
		nnull0 = 0,
		nnull1 = 0,
		nother = 0;

	(void) state;
	for (i = 0; i < N; i++)
	{
		cells[2 * i].isnull = (i % 4 == 0);
		cells[2 * i].value = -1.0 + 4.0 * (i % 7) / 7.0;
		cells[2 * i + 1].isnull = (i % 5 == 0);
		cells[2 * i + 1].cat = (i % 3) - 1;
	}
	memset(&m, 0, sizeof(m));
	new_schema(&m.schema, cols, 2);
	encode_all(&m.schema, cells, N, &X, &T);
	m.mechanism = LV_MECH_NONE;
	fill_key(m.key, 4);
	cfg.epochs = 40;
	assert_int_equal(lv_model_train(&m, X, T, N, &cfg, NULL), LV_OK);
	assert_int_equal(lv_release_rows(&m, 0, LV_RELEASE_CHUNK, out), LV_OK);
	for (i = 0; i < LV_RELEASE_CHUNK; i++)
	{
		if (out[2 * i].isnull)
			nnull0++;
		else
			assert_true(out[2 * i].value >= -1.0 && out[2 * i].value <= 3.0);
		if (out[2 * i + 1].isnull)
			nnull1++;
		else if (out[2 * i + 1].cat == -1)
			nother++;
		else
			assert_true(out[2 * i + 1].cat >= 0 && out[2 * i + 1].cat < 2);
	}
	/* 25% and 20% NULLs, a third "other" among non-NULL */
	assert_true(nnull0 > 80 && nnull0 < 180);
	assert_true(nnull1 > 60 && nnull1 < 150);
	assert_true(nother > 80 && nother < 220);
	lv_model_free(&m);
	free(cells);
	free(X);
	free(T);
}

/* ---------- binary format ---------- */

/* The IEEE CRC-32 check value. */
static void
test_crc32(void **state)
{
	uint8_t big[1000];
	uint32_t slow = 0xFFFFFFFFu;
	int i,
		j;

	(void) state;
	assert_int_equal(lv_crc32((const uint8_t *) "123456789", 9), 0xCBF43926u);
	assert_int_equal(lv_crc32(NULL, 0), 0);
	for (i = 0; i < 1000; i++)
		big[i] = (uint8_t) (i * 7 + 3);
	for (i = 0; i < 1000; i++)
	{
		slow ^= big[i];
		for (j = 0; j < 8; j++)
			slow = (slow & 1) ? (slow >> 1) ^ 0xEDB88320u : slow >> 1;
	}
	assert_int_equal(lv_crc32(big, 1000), slow ^ 0xFFFFFFFFu);
}

/* small_private_model trains a tiny private model for the format tests. */
static void
small_private_model(lv_model *m, int rows)
{
	lv_train_config cfg = default_config();

	memset(m, 0, sizeof(*m));
	new_schema(&m->schema, table_cols, 2);
	m->mechanism = LV_MECH_LATENT;
	m->passes = 3;
	fill_key(m->key, 21);
	cfg.hidden = 6;
	cfg.latent = 2;
	cfg.epochs = 2;
	cfg.batch = 16;
	cfg.lipschitz_target = 0.3;
	assert_int_equal(lv_model_train(m, fx.X, fx.T, rows, &cfg, NULL), LV_OK);
	m->mu1 = lv_round_up(m->lipschitz_certified *
						 lv_schema_diameter(&m->schema) / m->noise_sd);
}

/* Round trip: identical bytes after re-serialization, identical rows. */
static void
test_format_roundtrip(void **state)
{
	uint8_t *blob,
		*blob2;
	size_t len,
		len2;
	lv_model m;
	lv_cell a[50 * 2],
		b[50 * 2];

	(void) state;
	assert_int_equal(lv_model_serialize(&fx.priv, &blob, &len), LV_OK);
	assert_int_equal(lv_model_deserialize(blob, len, &m), LV_OK);
	assert_int_equal(lv_model_serialize(&m, &blob2, &len2), LV_OK);
	assert_int_equal(len, len2);
	assert_memory_equal(blob, blob2, len);
	assert_int_equal(m.nrows, TABLE_ROWS);
	assert_int_equal(m.passes, 10);
	assert_true(m.mu1 == fx.priv.mu1);
	assert_memory_equal(m.key, fx.priv.key, LV_KEY_BYTES);
	assert_int_equal(lv_release_rows(&fx.priv, 1234, 50, a), LV_OK);
	assert_int_equal(lv_release_rows(&m, 1234, 50, b), LV_OK);
	assert_true(cells_equal(a, b, 100));
	lv_model_free(&m);
	lv_free(blob);
	lv_free(blob2);

	/* non-private model round trip */
	assert_int_equal(lv_model_serialize(&fx.none, &blob, &len), LV_OK);
	assert_int_equal(lv_model_deserialize(blob, len, &m), LV_OK);
	assert_int_equal(m.mechanism, LV_MECH_NONE);
	lv_model_free(&m);
	lv_free(blob);
}

/* set_crc rewrites the trailing checksum of a blob. */
static void
set_crc(uint8_t *blob, size_t len)
{
	uint32_t c = lv_crc32(blob, len - 4);

	blob[len - 4] = (uint8_t) c;
	blob[len - 3] = (uint8_t) (c >> 8);
	blob[len - 2] = (uint8_t) (c >> 16);
	blob[len - 1] = (uint8_t) (c >> 24);
}

/* Every single-byte flip and every truncation is refused, never a crash. */
static void
test_format_corruption(void **state)
{
	lv_model src,
		m;
	uint8_t *blob,
		*copy;
	size_t len,
		pos;
	int bit,
		rc,
		accepted = 0,
		refused = 0;

	(void) state;
	small_private_model(&src, 40);
	assert_int_equal(lv_model_serialize(&src, &blob, &len), LV_OK);
	copy = malloc(len);

	for (pos = 0; pos < len; pos++)
	{
		memcpy(copy, blob, len);
		copy[pos] ^= 0x5A;
		rc = lv_model_deserialize(copy, len, &m);
		assert_true(rc < 0);
		assert_null(m.enc.layers);
		assert_null(m.schema.cols);
	}
	for (pos = 0; pos < len; pos++)
	{
		rc = lv_model_deserialize(blob, pos, &m);
		assert_true(rc < 0);
	}
	/* trailing garbage */
	{
		uint8_t *longer = malloc(len + 4);

		memcpy(longer, blob, len - 4);
		memset(longer + len - 4, 0, 4);
		set_crc(longer, len + 4);
		assert_int_equal(lv_model_deserialize(longer, len + 4, &m), LV_ERR_FORMAT);
		free(longer);
	}

	/*
	 * Flips with a recomputed checksum reach the parser: each must be
	 * refused or accepted cleanly (a flip in the key or a mean is valid).
	 */
	for (pos = 12; pos < len - 4; pos++)
		for (bit = 0; bit < 8; bit += 3)
		{
			memcpy(copy, blob, len);
			copy[pos] ^= (uint8_t) (1u << bit);
			set_crc(copy, len);
			rc = lv_model_deserialize(copy, len, &m);
			if (rc == LV_OK)
			{
				accepted++;
				lv_model_free(&m);
			}
			else
			{
				assert_true(rc == LV_ERR_FORMAT || rc == LV_ERR_CERTIFICATE);
				assert_null(m.enc.layers);
				refused++;
			}
		}
	assert_true(refused > 0 && accepted > 0);

	/* bad magic, bad version (with a valid CRC) */
	memcpy(copy, blob, len);
	copy[0] = 'X';
	set_crc(copy, len);
	assert_int_equal(lv_model_deserialize(copy, len, &m), LV_ERR_FORMAT);
	memcpy(copy, blob, len);
	copy[8] = 2;
	set_crc(copy, len);
	assert_int_equal(lv_model_deserialize(copy, len, &m), LV_ERR_FORMAT);
	memcpy(copy, blob, len);
	copy[len - 1] ^= 1;
	assert_int_equal(lv_model_deserialize(copy, len, &m), LV_ERR_CHECKSUM);

	free(copy);
	lv_free(blob);
	lv_model_free(&src);
}

/* Scaled-up weights or a too-small mu1 fail the certificate. */
static void
test_format_certificate(void **state)
{
	lv_model src,
		m;
	uint8_t *blob;
	size_t len,
		i;
	lv_layer *L;

	(void) state;
	small_private_model(&src, 40);

	/* weights scaled up by 1.01: the stored certificate no longer holds */
	L = &src.enc.layers[1];
	for (i = 0; i < (size_t) L->in * L->out; i++)
		L->W[i] *= 1.01f;
	assert_int_equal(lv_model_serialize(&src, &blob, &len), LV_OK);
	assert_int_equal(lv_model_deserialize(blob, len, &m), LV_ERR_CERTIFICATE);
	assert_null(m.enc.layers);
	lv_free(blob);
	for (i = 0; i < (size_t) L->in * L->out; i++)
		L->W[i] /= 1.01f;

	/* mu1 below L D / s */
	src.mu1 = src.lipschitz_certified * lv_schema_diameter(&src.schema) * 0.999;
	assert_int_equal(lv_model_serialize(&src, &blob, &len), LV_OK);
	assert_int_equal(lv_model_deserialize(blob, len, &m), LV_ERR_CERTIFICATE);
	lv_free(blob);

	/* a larger stored certificate without a matching mu1 also fails */
	src.mu1 = lv_round_up(src.lipschitz_certified *
						  lv_schema_diameter(&src.schema));
	src.lipschitz_certified *= 2;
	assert_int_equal(lv_model_serialize(&src, &blob, &len), LV_OK);
	assert_int_equal(lv_model_deserialize(blob, len, &m), LV_ERR_CERTIFICATE);
	lv_free(blob);

	lv_model_free(&src);
}

/* Live allocations through the hooks. */
static long live_allocs = 0;

/* count_alloc is a malloc hook that counts live blocks. */
static void *
count_alloc(size_t size, void *ctx)
{
	(void) ctx;
	live_allocs++;
	return malloc(size);
}

/* count_free is the matching free hook. */
static void
count_free(void *p, void *ctx)
{
	(void) ctx;
	live_allocs--;
	free(p);
}

/* Everything goes through the hooks and nothing leaks on any path. */
static void
test_allocator_hooks(void **state)
{
	lv_allocator a = {count_alloc, count_free, NULL};
	lv_model src,
		m;
	uint8_t *blob;
	size_t len,
		pos;
	lv_cell out[20];

	(void) state;
	lv_set_allocator(&a);
	live_allocs = 0;
	small_private_model(&src, 40);
	assert_int_equal(lv_model_serialize(&src, &blob, &len), LV_OK);
	for (pos = 12; pos < len - 4; pos += 7)
	{
		blob[pos] ^= 0x40;
		set_crc(blob, len);
		if (lv_model_deserialize(blob, len, &m) == LV_OK)
			lv_model_free(&m);
		blob[pos] ^= 0x40;
	}
	set_crc(blob, len);
	assert_int_equal(lv_model_deserialize(blob, len, &m), LV_OK);
	assert_int_equal(lv_release_rows(&m, 0, 10, out), LV_OK);
	lv_model_free(&m);
	lv_free(blob);
	lv_model_free(&src);
	assert_int_equal(live_allocs, 0);
	lv_set_allocator(NULL);
	assert_null(lv_calloc((size_t) 1 << 62, 16)); /* overflow */
	assert_string_equal(lv_strerror(LV_ERR_CERTIFICATE),
						"model Lipschitz certificate check failed");
}

/*
 * test_release_chunking: row j does not depend on the range asked for. A
 * matrix product's rounding may depend on the batch size and the row's
 * position in it; data/mixture_chunk.bin (the corpus' central model with
 * a mixture prior of 1,024 points) once decoded one cell of row 9,916,146
 * differently when it was asked for as part of [s, s+3) + [s+3, s+512)
 * instead of [s, s+512). Now the decoder always runs on whole aligned
 * chunks.
 */
static void
test_release_chunking(void **state)
{
	static uint8_t buf[1 << 16];
	FILE *f = fopen("data/mixture_chunk.bin", "rb");
	size_t len;
	lv_model m;
	int64_t s0 = (int64_t) 9916146 / LV_RELEASE_CHUNK * LV_RELEASE_CHUNK - 4 * LV_RELEASE_CHUNK;
	lv_cell *a,
		*b;
	int nc,
		diffs = 0;

	(void) state;
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_int_equal(lv_model_deserialize(buf, len, &m), LV_OK);
	assert_int_equal(m.prior_points, 1024);
	nc = m.schema.ncols;
	a = lv_alloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * nc);
	b = lv_alloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * nc);
	for (int64_t s = s0; s < s0 + 8 * LV_RELEASE_CHUNK; s += LV_RELEASE_CHUNK)
	{
		assert_int_equal(lv_release_rows(&m, s, LV_RELEASE_CHUNK, a), LV_OK);
		assert_int_equal(lv_release_rows(&m, s, 3, b), LV_OK);
		assert_int_equal(lv_release_rows(&m, s + 3, LV_RELEASE_CHUNK - 3, b + 3 * nc), LV_OK);
		for (int r = 0; r < LV_RELEASE_CHUNK * nc; r++)
			diffs += a[r].cat != b[r].cat || a[r].isnull != b[r].isnull || a[r].value != b[r].value;
		/* and a range across two chunks is the two chunks' rows */
		assert_int_equal(lv_release_rows(&m, s + 100, LV_RELEASE_CHUNK, b), LV_OK);
		for (int r = 0; r < (LV_RELEASE_CHUNK - 100) * nc; r++)
			diffs += a[100 * nc + r].cat != b[r].cat || a[100 * nc + r].isnull != b[r].isnull ||
					 a[100 * nc + r].value != b[r].value;
	}
	assert_int_equal(diffs, 0);
	lv_free(a);
	lv_free(b);
	lv_model_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_row),
		cmocka_unit_test(test_gradient_check),
		cmocka_unit_test(test_spectral_norm_exact),
		cmocka_unit_test(test_crc32),
		cmocka_unit_test(test_infer_matches_forward),
		cmocka_unit_test(test_train_marginals),
		cmocka_unit_test(test_train_private_certificate),
		cmocka_unit_test(test_train_bad_args),
		cmocka_unit_test(test_train_interrupted),
		cmocka_unit_test(test_train_diverges),
		cmocka_unit_test(test_release_determinism),
		cmocka_unit_test(test_release_nullable),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_corruption),
		cmocka_unit_test(test_format_certificate),
		cmocka_unit_test(test_allocator_hooks),
		cmocka_unit_test(test_release_chunking),
	};

	return cmocka_run_group_tests(tests, setup_models, teardown_models);
}
