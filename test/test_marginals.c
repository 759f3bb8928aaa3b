/*
 * test_marginals.c - unit tests of lv_marginals.c: slot counts, and the
 * correction of a decoder's output biases toward target marginals.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lv_marginals.h"
#include "lv_nn.h"

/* A schema: nullable numeric (4 bins), categorical (2 listed + other + NULL). */
static lv_column cols[2];

/* set_schema fills s with the two columns above. */
static void
set_schema(lv_schema *s)
{
	memset(cols, 0, sizeof(cols));
	cols[0].kind = LV_COL_NUMERIC;
	cols[0].nullable = 1;
	cols[0].nbins = 4;
	cols[0].lo = 0;
	cols[0].hi = 1;
	cols[1].kind = LV_COL_CATEGORICAL;
	cols[1].nullable = 1;
	cols[1].ncat = 2;
	s->ncols = 2;
	s->cols = cols;
}

/* random_model builds a model with a random decoder of the schema. */
static void
random_model(lv_model *m, const lv_schema *s, int k, int h, unsigned seed)
{
	int widths[4] = {k, h, h, 0};
	lv_stream st;
	uint8_t key[LV_KEY_BYTES];
	int l;
	size_t i;

	memset(m, 0, sizeof(*m));
	memset(key, (int) seed, sizeof(key));
	m->schema = *s;
	m->latent = k;
	m->hidden = h;
	m->noise_sd = 1.0;
	widths[3] = lv_schema_output_dim(s);
	assert_int_equal(lv_mlp_alloc(&m->dec, 3, widths), LV_OK);
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 7);
	for (l = 0; l < 3; l++)
	{
		lv_layer *L = &m->dec.layers[l];

		for (i = 0; i < (size_t) L->out * L->in; i++)
			L->W[i] = (float) (lv_stream_gaussian(&st) / sqrt((double) L->in));
		for (i = 0; i < (size_t) L->out; i++)
			L->b[i] = (float) (2.0 * lv_stream_gaussian(&st));
	}
}

/*
 * model_marginals estimates the model's expected slot marginals (bins
 * among non-NULL, NULL rate, categorical slots) with M fresh prior draws.
 */
static void
model_marginals(const lv_model *m, int M, double *out)
{
	int o = lv_schema_output_dim(&m->schema);
	int mw = lv_mlp_max_width(&m->dec);
	float *z = malloc(sizeof(float) * M * m->latent);
	float *L = malloc(sizeof(float) * M * o);
	float *scr = malloc(sizeof(float) * 2 * M * mw);
	uint8_t key[LV_KEY_BYTES];
	lv_stream st;
	int r,
		j;

	memset(key, 99, sizeof(key));
	lv_stream_init(&st, key, LV_DOMAIN_RELEASE, 1);
	for (j = 0; j < M * m->latent; j++)
		z[j] = (float) lv_stream_gaussian(&st);
	lv_mlp_infer(&m->dec, z, M, L, scr);
	memset(out, 0, sizeof(double) * o);
	for (r = 0; r < M; r++)
	{
		const float *l = L + (size_t) r * o;
		double zb = 0,
			   zc = 0;

		for (j = 0; j < 4; j++)
			zb += exp(l[j]);
		for (j = 0; j < 4; j++)
			out[j] += exp(l[j]) / zb / M;
		out[4] += 1.0 / (1.0 + exp(-l[4])) / M;
		for (j = 5; j < 9; j++)
			zc += exp(l[j]);
		for (j = 5; j < 9; j++)
			out[j] += exp(l[j]) / zc / M;
	}
	free(z);
	free(L);
	free(scr);
}

/* Slot counts follow lv_encode_row's targets; NULL numerics go to slot nbins. */
static void
test_counts(void **state)
{
	lv_schema s;
	int32_t T[] = {0, 0, 3, 1, -1, 2, 2, 3, -1, 3};
	double counts[9];
	double want[9] = {1, 0, 1, 1, 2, 1, 1, 1, 2};

	set_schema(&s);
	assert_int_equal(lv_marginal_width(&s), 9);
	lv_marginal_counts(&s, T, 5, counts);
	assert_memory_equal(counts, want, sizeof(want));
}

/*
 * The correction moves a random decoder's expected marginals onto the
 * targets (within sampling error of fresh draws), and a decoder already
 * on target stays there; the change is confined to the output biases.
 */
static void
test_fit(void **state)
{
	lv_schema s;
	lv_model m;
	double counts[9] = {500, 100, 300, 100, 250, 600, 200, 150, 50};
	double before[9],
		after[9],
		want[9];
	float W0;
	uint8_t key[LV_KEY_BYTES];
	int j;

	set_schema(&s);
	random_model(&m, &s, 4, 16, 3);
	want[0] = 0.5;
	want[1] = 0.1;
	want[2] = 0.3;
	want[3] = 0.1;
	want[4] = 250.0 / 1250.0;
	want[5] = 0.6;
	want[6] = 0.2;
	want[7] = 0.15;
	want[8] = 0.05;
	model_marginals(&m, 20000, before);
	W0 = m.dec.layers[2].W[0];
	memset(key, 5, sizeof(key));
	assert_int_equal(lv_model_fit_marginals(&m, counts, 4096, 30, key), LV_OK);
	assert_true(m.dec.layers[2].W[0] == W0);
	model_marginals(&m, 20000, after);
	for (j = 0; j < 9; j++)
		assert_true(fabs(after[j] - want[j]) < 0.02);
	/* it was not already there */
	{
		double err = 0;

		for (j = 0; j < 9; j++)
			err += fabs(before[j] - want[j]);
		assert_true(err > 0.2);
	}
	lv_mlp_free(&m.dec);
}

/* Negative noisy counts are clamped: the slot keeps only the floor. */
static void
test_negative_counts(void **state)
{
	lv_schema s;
	lv_model m;
	double counts[9] = {-50, 100, 100, 100, 0, -3, 100, 100, 0};
	double after[9];
	uint8_t key[LV_KEY_BYTES];

	set_schema(&s);
	random_model(&m, &s, 4, 16, 4);
	memset(key, 6, sizeof(key));
	assert_int_equal(lv_model_fit_marginals(&m, counts, 4096, 40, key), LV_OK);
	model_marginals(&m, 20000, after);
	assert_true(after[0] < 0.01);
	assert_true(fabs(after[1] - 1.0 / 3) < 0.02);
	assert_true(after[4] < 0.01);
	assert_true(after[5] < 0.01);
	assert_true(fabs(after[6] - 0.5) < 0.02);
	lv_mlp_free(&m.dec);
}

/* Bad arguments are refused without touching the model. */
static void
test_bad_args(void **state)
{
	lv_schema s;
	lv_model m;
	double counts[9] = {0};
	uint8_t key[LV_KEY_BYTES] = {0};
	float b0;

	set_schema(&s);
	random_model(&m, &s, 4, 8, 5);
	b0 = m.dec.layers[2].b[0];
	assert_int_equal(lv_model_fit_marginals(&m, counts, 0, 5, key), LV_ERR_ARG);
	assert_int_equal(lv_model_fit_marginals(&m, NULL, 10, 5, key), LV_ERR_ARG);
	assert_int_equal(lv_model_fit_marginals(NULL, counts, 10, 5, key), LV_ERR_ARG);
	assert_true(m.dec.layers[2].b[0] == b0);
	lv_mlp_free(&m.dec);
}

/*
 * Discrete Gaussian noise of the given sd, in order from the stream:
 * integer counts stay integers, mean 0, sd 3 (the discrete Gaussian's
 * variance equals sigma^2 to 1e-70 at sigma = 3); bad input is refused and
 * leaves only zeros.
 */
static void
test_noise(void **state)
{
	static double c[20000];
	uint8_t key[LV_KEY_BYTES] = {1};
	lv_stream st;
	double sum = 0,
		   sq = 0;
	int i;

	for (i = 0; i < 20000; i++)
		c[i] = (double) (i % 7);
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 1);
	assert_int_equal(lv_marginal_noise(c, 20000, 3.0, &st), LV_OK);
	for (i = 0; i < 20000; i++)
	{
		double x = c[i] - (double) (i % 7);

		assert_true(c[i] == floor(c[i]));
		sum += x;
		sq += x * x;
	}
	assert_true(fabs(sum / 20000) < 0.1);
	assert_true(fabs(sqrt(sq / 20000) - 3.0) < 0.1);

	c[0] = 4.0;
	c[1] = 2.5; /* not a count */
	assert_int_equal(lv_marginal_noise(c, 2, 3.0, &st), LV_ERR_ARG);
	assert_true(c[0] == 0.0 && c[1] == 0.0);
	c[0] = 4.0;
	assert_int_equal(lv_marginal_noise(c, 1, 0.0, &st), LV_OK); /* sd 0: no noise */
	assert_true(c[0] == 4.0);
	assert_int_equal(lv_marginal_noise(c, 1, -1.0, &st), LV_ERR_ARG);
	assert_true(c[0] == 0.0);
	c[0] = 4.0;
	assert_int_equal(lv_marginal_noise(c, 1, 1e-9, &st), LV_ERR_ARG);
	assert_true(c[0] == 0.0);
	c[0] = 4.0;
	assert_int_equal(lv_marginal_noise(c, 1, NAN, &st), LV_ERR_ARG);
	assert_true(c[0] == 0.0);
	assert_int_equal(lv_marginal_noise(c, -1, 1.0, &st), LV_ERR_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_fit),
		cmocka_unit_test(test_negative_counts),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_noise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
