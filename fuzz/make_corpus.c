/*
 * make_corpus.c - writes the seed corpus of fuzz_model: real models of
 * every kind, trained by the core on a small table (a nullable numeric
 * column, a nullable categorical column, an integer column): non-private,
 * per-record (latent), central (DP-SGD), central with a tree of pair
 * potentials (format version 2), central with a mixture prior (format 3),
 * and that one with its first column's bins decoding uniformly to integers
 * (format 4).
 * Usage: make_corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lv_model.h"
#include "lv_dpsgd.h"
#include "lv_privacy.h"
#include "lv_tree.h"

#define ROWS 300

static const lv_column cols[3] = {
	{LV_COL_NUMERIC, 1, 0, 6, 0, 0, 0.0, 10.0, 0},
	{LV_COL_CATEGORICAL, 1, 0, 0, 0, 3, 0.0, 0.0, 0},
	{LV_COL_NUMERIC, 0, 1, 5, 1, 0, 1.0, 5.0, 0}};

/* set_schema gives m an lv_alloc'ed copy of the three columns. */
static void
set_schema(lv_model *m)
{
	m->schema.ncols = 3;
	m->schema.cols = lv_alloc(sizeof(cols));
	memcpy(m->schema.cols, cols, sizeof(cols));
}

/* write_model serializes m into DIR/NAME. */
static void
write_model(const lv_model *m, const char *dir, const char *name)
{
	uint8_t *buf;
	size_t len;
	char path[4096];
	FILE *f;

	if (lv_model_serialize(m, &buf, &len) != LV_OK)
	{
		fprintf(stderr, "make_corpus: cannot serialize %s\n", name);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
	{
		fprintf(stderr, "make_corpus: cannot write %s\n", path);
		exit(1);
	}
	printf("%s: %zu bytes\n", path, len);
	lv_free(buf);
}

/* main trains the four models and writes them. */
int
main(int argc, char **argv)
{
	lv_schema s = {3, (lv_column *) cols};
	int d = lv_schema_input_dim(&s);
	float *X = malloc(sizeof(float) * ROWS * d);
	int32_t *T = malloc(sizeof(int32_t) * ROWS * 3);
	lv_cell cells[3];
	lv_stream st;
	uint8_t key[LV_KEY_BYTES];
	lv_train_config cfg;
	lv_dpsgd_config dc;
	lv_model m;
	int i,
		edges;

	if (argc != 2 || X == NULL || T == NULL)
	{
		fprintf(stderr, "usage: make_corpus DIR\n");
		return 2;
	}
	memset(key, 7, sizeof(key));
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 1);
	for (i = 0; i < ROWS; i++)
	{
		double u = lv_stream_uniform(&st);

		memset(cells, 0, sizeof(cells));
		cells[0].isnull = u < 0.1;
		cells[0].value = 10.0 * lv_stream_uniform(&st);
		cells[1].cat = u < 0.4 ? 0 : (u < 0.7 ? 1 : (u < 0.9 ? 2 : -1));
		cells[1].isnull = u > 0.97;
		cells[2].value = 1 + (int) (5 * u) % 5;
		lv_encode_row(&s, cells, X + (size_t) i * d, T + (size_t) i * 3);
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = 2;
	cfg.batch = 64;
	cfg.latent = 2;
	cfg.hidden = 8;
	cfg.lr = 5e-3;
	memcpy(cfg.train_key, key, LV_KEY_BYTES);

	/* non-private and per-record */
	memset(&m, 0, sizeof(m));
	set_schema(&m);
	m.mechanism = LV_MECH_NONE;
	if (lv_model_train(&m, X, T, 40, &cfg, NULL) != LV_OK)
		return 1;
	write_model(&m, argv[1], "none.bin");
	lv_model_free(&m);

	memset(&m, 0, sizeof(m));
	set_schema(&m);
	m.mechanism = LV_MECH_LATENT;
	m.passes = 3;
	cfg.lipschitz_target = 0.1;
	if (lv_model_train(&m, X, T, 40, &cfg, NULL) != LV_OK)
		return 1;
	m.mu1 = lv_round_up(m.lipschitz_certified * lv_schema_diameter(&m.schema) / m.noise_sd);
	write_model(&m, argv[1], "latent.bin");
	lv_model_free(&m);

	/* central, then with a tree */
	memset(&dc, 0, sizeof(dc));
	dc.epochs = 2;
	dc.sample_rate = 0.2;
	dc.clip = 1.0;
	dc.noise_multiplier = 1.0;
	dc.latent = 2;
	dc.hidden = 8;
	dc.lr = 5e-3;
	dc.ema = 0.9;
	memcpy(dc.train_key, key, LV_KEY_BYTES);
	memset(&m, 0, sizeof(m));
	set_schema(&m);
	m.mechanism = LV_MECH_CENTRAL;
	if (lv_model_train_dpsgd(&m, X, T, ROWS, &dc, NULL) != LV_OK)
		return 1;
	m.lipschitz_certified = lv_model_certify(&m);
	write_model(&m, argv[1], "central.bin");
	m.prior_points = 1024; /* format 3: a mixture prior (as marginals => 'aim' stores) */
	write_model(&m, argv[1], "central_mixture.bin");
	m.schema.cols[0].integer = m.schema.cols[0].uniform_ints = 1; /* format 4 */
	write_model(&m, argv[1], "central_uniform_ints.bin");
	m.schema.cols[0].integer = m.schema.cols[0].uniform_ints = 0;
	m.prior_points = 0;
	if (lv_model_fit_tree(&m, T, ROWS, ROWS, 1.0, 1.0, 2.0, key, &edges, NULL, NULL) != LV_OK ||
		edges < 1)
		return 1;
	write_model(&m, argv[1], "central_tree.bin");
	lv_model_free(&m);
	free(X);
	free(T);
	return 0;
}
