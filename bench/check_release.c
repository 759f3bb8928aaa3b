/*
 * check_release.c - proves that lv_release_rows releases bit for bit what
 * lipvae 0.1's release function (ref/lv_release_ref.c) releases, on models
 * of many shapes (row counts from 1 to 10^5 for every permutation width
 * and both permutation paths, latent sizes 1 to 9, nullable and not,
 * exact and equal-width bins, categorical columns, requests spanning pass
 * boundaries, chunks of every size), and times both.
 *
 *   check_release [ROWS_PER_MODEL]     exit status 0 when every cell matches
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lv_model.h"
#include "lv_nn.h"
#include "lv_rand.h"

int lv_release_rows_ref(const lv_model *m, int64_t start, int count,
						lv_cell *out);

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* a mixed schema: numeric (exact and binned, nullable or not) and categorical */
static const lv_column mixed_cols[5] = {
	{LV_COL_NUMERIC, 1, 1, 21, 1, 0, 0.0, 20.0, 0},
	{LV_COL_CATEGORICAL, 0, 0, 0, 0, 3, 0.0, 0.0, 0},
	{LV_COL_NUMERIC, 0, 0, 32, 0, 0, -5.0, 7.5, 0},
	{LV_COL_CATEGORICAL, 1, 0, 0, 0, 40, 0.0, 0.0, 0},
	{LV_COL_NUMERIC, 1, 1, 32, 0, 0, 0.0, 100000.0, 0}};

/* train_model fits a small model on n random rows of the mixed schema. */
static int
train_model(lv_model *m, int64_t n, int k, int hidden, int seed)
{
	lv_train_config cfg;
	lv_stream s;
	uint8_t key[LV_KEY_BYTES];
	int ncols = 5,
		d,
		i,
		c,
		rc;
	float *X;
	int32_t *T;
	lv_cell cells[5];

	memset(m, 0, sizeof(*m));
	m->schema.ncols = ncols;
	m->schema.cols = lv_alloc(sizeof(mixed_cols));
	memcpy(m->schema.cols, mixed_cols, sizeof(mixed_cols));
	m->mechanism = LV_MECH_LATENT;
	m->passes = 10;
	for (i = 0; i < LV_KEY_BYTES; i++)
		m->key[i] = (uint8_t) (seed * 31 + i);
	d = lv_schema_input_dim(&m->schema);
	X = malloc(sizeof(float) * n * d);
	T = malloc(sizeof(int32_t) * n * ncols);
	memset(key, seed, sizeof(key));
	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, 0);
	for (i = 0; i < n; i++)
	{
		for (c = 0; c < ncols; c++)
		{
			memset(&cells[c], 0, sizeof(lv_cell));
			cells[c].isnull = m->schema.cols[c].nullable && lv_stream_uniform(&s) < 0.1;
			if (m->schema.cols[c].kind == LV_COL_NUMERIC)
				cells[c].value = m->schema.cols[c].lo + lv_stream_uniform(&s) *
														  (m->schema.cols[c].hi - m->schema.cols[c].lo);
			else
				cells[c].cat = (int) lv_stream_below(&s, m->schema.cols[c].ncat + 1) - 1;
			if (m->schema.cols[c].integer)
				cells[c].value = (double) (int64_t) cells[c].value;
		}
		lv_encode_row(&m->schema, cells, X + (size_t) i * d, T + (size_t) i * ncols);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = 1;
	cfg.batch = 256;
	cfg.latent = k;
	cfg.hidden = hidden;
	cfg.lr = 0.01;
	cfg.lipschitz_target = 0.5;
	cfg.decoder_layer_bound = 4.0;
	memset(cfg.train_key, seed + 1, sizeof(cfg.train_key));
	rc = lv_model_train(m, X, T, n, &cfg, NULL);
	free(X);
	free(T);
	return rc;
}

/* compare releases rows [start, start+count) in chunks of chunk; 0 if equal */
static long
compare(const lv_model *m, int64_t start, int64_t rows, int chunk,
		double *t_new, double *t_ref)
{
	int ncols = m->schema.ncols;
	lv_cell *a = malloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * ncols);
	lv_cell *b = malloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * ncols);
	long bad = 0;
	int64_t j;

	for (j = start; j < start + rows; j += chunk)
	{
		int cnt = (int) ((start + rows - j) < chunk ? (start + rows - j) : chunk);
		double t0;

		memset(a, 0x55, sizeof(lv_cell) * cnt * ncols);
		memset(b, 0x55, sizeof(lv_cell) * cnt * ncols);
		t0 = now();
		if (lv_release_rows(m, j, cnt, a) != LV_OK)
			return -1;
		*t_new += now() - t0;
		t0 = now();
		if (lv_release_rows_ref(m, j, cnt, b) != LV_OK)
			return -1;
		*t_ref += now() - t0;
		if (memcmp(a, b, sizeof(lv_cell) * cnt * ncols) != 0)
		{
			int r;

			for (r = 0; r < cnt; r++)
				if (memcmp(a + r * ncols, b + r * ncols, sizeof(lv_cell) * ncols) != 0)
				{
					if (bad < 5)
						fprintf(stderr, "  row %lld differs\n", (long long) (j + r));
					bad++;
				}
		}
	}
	free(a);
	free(b);
	return bad;
}

int
main(int argc, char **argv)
{
	static const int64_t ns[] = {1, 2, 3, 5, 17, 100, 255, 256, 257, 511, 512,
								 513, 1000, 4097, 9857, 16384, 16385, 70000, 100000,
								 1000000};
	static const int ks[] = {8, 1, 3, 9, 2};
	static const int chunks[] = {512, 1, 7, 100, 511};
	long per_model = argc > 1 ? atol(argv[1]) : 3000;
	long total_bad = 0,
		 total_rows = 0;
	double t_new = 0,
		   t_ref = 0;
	size_t i;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
	{
		lv_model m;
		int k = ks[i % 5];
		int chunk = chunks[i % 5];
		int64_t n = ns[i];
		int64_t starts[4];
		long bad = 0;
		int s;

		if (train_model(&m, n, k, 16 + 8 * (int) (i % 3), (int) i + 1) != LV_OK)
		{
			fprintf(stderr, "training failed for n=%lld\n", (long long) n);
			return 2;
		}
		starts[0] = 0;                       /* first pass */
		starts[1] = n > 300 ? n - 300 : 0;   /* across the first pass boundary */
		starts[2] = 7 * n + 3;               /* a later pass */
		starts[3] = 123456789LL * n % ((int64_t) 1 << 40); /* far away */
		for (s = 0; s < 4; s++)
		{
			long b = compare(&m, starts[s], per_model, chunk, &t_new, &t_ref);

			if (b < 0)
			{
				fprintf(stderr, "release failed\n");
				return 2;
			}
			bad += b;
			total_rows += per_model;
		}
		printf("n=%-7lld k=%d chunk=%-3d rows compared %ld: %s\n", (long long) n, k,
			   chunk, 4 * per_model, bad ? "DIFFERENT" : "identical");
		total_bad += bad;
		lv_model_free(&m);
	}
	printf("%ld rows compared, %ld different; release time new %.3f s, 0.1 reference %.3f s (%.2fx)\n",
		   total_rows, total_bad, t_new, t_ref, t_ref / t_new);
	return total_bad ? 1 : 0;
}
