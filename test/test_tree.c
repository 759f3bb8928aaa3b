/*
 * test_tree.c - unit tests of lv_tree.c: building and checking a tree,
 * the exact pair marginals, the fit to target pair distributions, the DP
 * selection and correction of a decoder on data whose columns depend on
 * each other, the release through the tree, and the format with a tree.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lv_tree.h"
#include "lv_nn.h"

/*
 * Three columns: a nullable numeric (4 bins, slots 0-3, NULL slot 4), a
 * categorical of 2 listed values (+ other + NULL: 4 slots), a categorical
 * of 3 listed values (+ other: 4 slots, not nullable).
 */
static lv_column cols[3];

/* set_schema fills s with the three columns above. */
static void
set_schema(lv_schema *s)
{
	memset(cols, 0, sizeof(cols));
	cols[0].kind = LV_COL_NUMERIC;
	cols[0].nullable = 1;
	cols[0].nbins = 4;
	cols[0].lo = 0;
	cols[0].hi = 4;
	cols[1].kind = LV_COL_CATEGORICAL;
	cols[1].nullable = 1;
	cols[1].ncat = 2;
	cols[2].kind = LV_COL_CATEGORICAL;
	cols[2].ncat = 3;
	s->ncols = 3;
	s->cols = cols;
}

/* central_model builds a central model with a random decoder (malloc'd cols). */
static void
central_model(lv_model *m, int k, int h, unsigned seed)
{
	int widths[4] = {k, h, h, 0};
	lv_stream st;
	uint8_t key[LV_KEY_BYTES];
	lv_schema s;
	int l;
	size_t i;

	set_schema(&s);
	memset(m, 0, sizeof(*m));
	memset(key, (int) seed, sizeof(key));
	m->schema.ncols = s.ncols;
	m->schema.cols = lv_alloc(sizeof(lv_column) * s.ncols);
	memcpy(m->schema.cols, s.cols, sizeof(lv_column) * s.ncols);
	m->mechanism = LV_MECH_CENTRAL;
	m->latent = k;
	m->hidden = h;
	m->noise_sd = 1.0;
	memcpy(m->key, key, LV_KEY_BYTES);
	widths[3] = lv_schema_output_dim(&s);
	assert_int_equal(lv_mlp_alloc(&m->dec, 3, widths), LV_OK);
	widths[0] = lv_schema_input_dim(&s);
	widths[3] = k;
	assert_int_equal(lv_mlp_alloc(&m->enc, 3, widths), LV_OK);
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 7);
	for (l = 0; l < 3; l++)
	{
		lv_layer *L = &m->dec.layers[l];

		for (i = 0; i < (size_t) L->out * L->in; i++)
			L->W[i] = (float) (0.3 * lv_stream_gaussian(&st) / sqrt((double) L->in));
		for (i = 0; i < (size_t) L->out; i++)
			L->b[i] = 0.0f;
	}
	for (l = 0; l < 3; l++)
	{
		lv_layer *L = &m->enc.layers[l];

		for (i = 0; i < (size_t) L->out * L->in; i++)
			L->W[i] = (float) (0.1 * lv_stream_gaussian(&st) / sqrt((double) L->in));
	}
	m->lipschitz_certified = lv_model_certify(m);
}

/*
 * make_data writes n target rows in which the columns depend on each
 * other: column 1 follows column 0's bin, column 2 follows column 1.
 */
static int32_t *
make_data(int64_t n)
{
	int32_t *T = malloc(sizeof(int32_t) * 3 * n);
	uint8_t key[LV_KEY_BYTES];
	lv_stream st;
	int64_t r;

	memset(key, 5, sizeof(key));
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, 1);
	for (r = 0; r < n; r++)
	{
		double u = lv_stream_uniform(&st);
		int a = u < 0.05 ? -1 : (int) (lv_stream_uniform(&st) * 4);
		int b = a < 0 ? 3 : (a < 2 ? 0 : 1); /* NULL slot 3 when a is NULL */
		int c = b == 3 ? 3 : (b == 0 ? 2 : (lv_stream_uniform(&st) < 0.5 ? 0 : 1));

		T[3 * r] = a;
		T[3 * r + 1] = b;
		T[3 * r + 2] = c;
	}
	return T;
}

/* slot_of maps a released cell to its slot (as make_data's targets). */
static int
slot_of(const lv_column *col, const lv_cell *c)
{
	if (col->kind == LV_COL_NUMERIC)
		return c->isnull ? -1 : (int) floor(c->value < 4 ? c->value : 3.999);
	if (c->isnull)
		return col->ncat + 1;
	return c->cat < 0 ? col->ncat : c->cat;
}

/*
 * pair_tvd returns the total variation distance between the data's and
 * the released rows' joint distribution of columns a and b (5 x 5 codes).
 */
static double
pair_tvd(const int32_t *T, int64_t n, const lv_cell *rows, int m, int a, int b)
{
	double p[36] = {0},
		   q[36] = {0},
		   d = 0;
	int64_t r;
	int i;

	for (r = 0; r < n; r++)
		p[(T[3 * r + a] + 1) * 6 + T[3 * r + b] + 1] += 1.0 / n;
	for (r = 0; r < m; r++)
		q[(slot_of(&cols[a], &rows[3 * r + a]) + 1) * 6 +
		  slot_of(&cols[b], &rows[3 * r + b]) + 1] += 1.0 / m;
	for (i = 0; i < 36; i++)
		d += fabs(p[i] - q[i]);
	return d / 2;
}

/* release releases m rows from row 0. */
static lv_cell *
release(const lv_model *mod, int m)
{
	lv_cell *out = malloc(sizeof(lv_cell) * 3 * m);
	int r;

	for (r = 0; r < m; r += LV_RELEASE_CHUNK)
		assert_int_equal(lv_release_rows(mod, r, LV_RELEASE_CHUNK, out + 3 * r), LV_OK);
	return out;
}

/* A cycle, a self-loop, an unknown parent and an oversized table are refused. */
static void
test_build_refuses(void **state)
{
	lv_schema s;
	lv_tree t;
	int32_t cyc[3] = {1, 2, 0},
			self[3] = {-1, 1, 0},
			bad[3] = {-1, 7, 0},
			ok[3] = {-1, 0, 1},
			forest[3] = {-1, -1, 1};
	lv_column big[2];
	lv_schema sb = {2, big};
	int32_t pb[2] = {-1, 0};

	set_schema(&s);
	assert_int_equal(lv_tree_build(&t, &s, cyc), LV_ERR_ARG);
	assert_int_equal(lv_tree_build(&t, &s, self), LV_ERR_ARG);
	assert_int_equal(lv_tree_build(&t, &s, bad), LV_ERR_ARG);
	assert_int_equal(lv_tree_build(&t, &s, ok), LV_OK);
	/* tables: 5 x 4 (column 1 under 0) and 4 x 4 (column 2 under 1) */
	assert_int_equal(t.npot, 5 * 4 + 4 * 4);
	assert_int_equal(t.order[0], 0);
	assert_int_equal(t.order[2], 2);
	lv_tree_free(&t);
	assert_int_equal(lv_tree_build(&t, &s, forest), LV_OK);
	assert_int_equal(t.npot, 4 * 4);
	lv_tree_free(&t);
	memset(big, 0, sizeof(big));
	big[0].kind = big[1].kind = LV_COL_CATEGORICAL;
	big[0].ncat = big[1].ncat = 200; /* 201 x 201 > LV_TREE_MAX_CELLS */
	assert_int_equal(lv_tree_build(&t, &sb, pb), LV_ERR_ARG);
}

/*
 * Pair marginals with unit potentials are the pool's average of outer
 * products; the fit then reaches target pair distributions that the
 * independent pool is far from.
 */
static void
test_pair_marginals_and_fit(void **state)
{
	lv_model m;
	lv_schema *s;
	int32_t parent[3] = {-1, 0, 1};
	int S = 256,
		o,
		r,
		i,
		j;
	double *P,
		*pm,
		*target;
	float *z,
		*L,
		*scr;
	lv_stream st;
	int32_t *T = make_data(20000);
	double err;

	central_model(&m, 4, 16, 3);
	s = &m.schema;
	o = lv_schema_output_dim(s);
	P = malloc(sizeof(double) * S * o);
	z = malloc(sizeof(float) * S * 4);
	L = malloc(sizeof(float) * S * o);
	scr = malloc(sizeof(float) * 2 * S * 16);
	lv_stream_init(&st, m.key, LV_DOMAIN_TRAIN, 11);
	for (i = 0; i < S * 4; i++)
		z[i] = (float) lv_stream_gaussian(&st);
	lv_mlp_infer(&m.dec, z, S, L, scr);
	for (r = 0; r < S; r++)
		lv_column_probs(s, L + (size_t) r * o, P + (size_t) r * o);
	/* every column's probabilities sum to 1 */
	for (r = 0; r < S; r++)
	{
		double a = 0, b = 0, c = 0;

		for (j = 0; j < 5; j++)
			a += P[r * o + j];
		for (j = 5; j < 9; j++)
			b += P[r * o + j];
		for (j = 9; j < 13; j++)
			c += P[r * o + j];
		assert_true(fabs(a - 1) < 1e-12 && fabs(b - 1) < 1e-12 && fabs(c - 1) < 1e-12);
	}
	assert_int_equal(lv_tree_build(&m.tree, s, parent), LV_OK);
	pm = malloc(sizeof(double) * m.tree.npot);
	target = malloc(sizeof(double) * m.tree.npot);
	assert_int_equal(lv_tree_pair_marginals(&m.tree, s, P, S, pm), LV_OK);
	/* unit potentials: the (0,1) table is the average outer product */
	for (i = 0; i < 5; i++)
		for (j = 0; j < 4; j++)
		{
			double e = 0;

			for (r = 0; r < S; r++)
				e += P[r * o + i] * P[r * o + 5 + j] / S;
			assert_true(fabs(pm[m.tree.offset[1] + i * 4 + j] - e) < 1e-12);
		}
	/* targets: the data's pair distributions (numeric NULL at slot 4) */
	memset(target, 0, sizeof(double) * m.tree.npot);
	for (r = 0; r < 20000; r++)
	{
		int a = T[3 * r] < 0 ? 4 : T[3 * r], b = T[3 * r + 1], c = T[3 * r + 2];

		target[m.tree.offset[1] + a * 4 + b] += 1.0 / 20000;
		target[m.tree.offset[2] + b * 4 + c] += 1.0 / 20000;
	}
	for (i = 0; i < m.tree.npot; i++)
		target[i] = (target[i] + 1e-6) / (1 + 1e-6 * m.tree.npot);
	err = 0;
	for (i = 0; i < m.tree.npot; i++)
		err = fmax(err, fabs(pm[i] - target[i]));
	assert_true(err > 0.1); /* the random decoder is far from the data */
	err = lv_tree_fit(&m.tree, s, P, S, target, 60);
	assert_true(err >= 0 && err < 0.01);
	lv_model_free(&m);
	free(P);
	free(pm);
	free(target);
	free(z);
	free(L);
	free(scr);
	free(T);
}

/*
 * The whole correction on a random decoder: with a large budget the tree
 * joins the dependent pairs and the released rows reproduce their joint
 * distributions (the decoder alone does not); the same model survives
 * the binary format and releases the same rows; a tampered potential is
 * refused.
 */
static void
test_fit_tree_release(void **state)
{
	lv_model m,
		back;
	int64_t n = 20000;
	int32_t *T = make_data(n);
	int edges = 0,
		M = 16 * LV_RELEASE_CHUNK;
	lv_cell *before,
		*after,
		*again;
	uint8_t *blob;
	size_t len;
	double t01,
		t12;

	central_model(&m, 4, 16, 9);
	before = release(&m, M);
	assert_int_equal(lv_model_fit_tree(&m, T, n, (double) n, 1000.0, 1.0, 1.0, m.key,
									   &edges, NULL, NULL),
					 LV_OK);
	assert_int_equal(edges, 2);
	/* any spanning tree carries this data (column 0 fixes column 1) */
	after = release(&m, M);
	t01 = pair_tvd(T, n, after, M, 0, 1);
	t12 = pair_tvd(T, n, after, M, 1, 2);
	assert_true(pair_tvd(T, n, before, M, 0, 1) > 0.3);
	assert_true(pair_tvd(T, n, before, M, 1, 2) > 0.3);
	assert_true(t01 < 0.04);
	assert_true(t12 < 0.04);
	assert_true(pair_tvd(T, n, after, M, 0, 2) < 0.06);

	assert_int_equal(lv_model_serialize(&m, &blob, &len), LV_OK);
	assert_int_equal(blob[8], 2); /* format version 2: a tree */
	assert_int_equal(lv_model_deserialize(blob, len, &back), LV_OK);
	assert_int_equal(back.tree.ncols, 3);
	again = release(&back, M);
	assert_memory_equal(after, again, sizeof(lv_cell) * 3 * M);
	lv_model_free(&back);
	{
		/* the last potential made negative, the checksum recomputed */
		size_t at = len - 8;
		uint32_t crc;

		blob[at + 3] |= 0x80;
		crc = lv_crc32(blob, len - 4);
		blob[len - 4] = (uint8_t) crc;
		blob[len - 3] = (uint8_t) (crc >> 8);
		blob[len - 2] = (uint8_t) (crc >> 16);
		blob[len - 1] = (uint8_t) (crc >> 24);
		assert_int_equal(lv_model_deserialize(blob, len, &back), LV_ERR_FORMAT);
	}
	lv_free(blob);

	/* without a tree the format stays version 1 */
	lv_tree_free(&m.tree);
	assert_int_equal(lv_model_serialize(&m, &blob, &len), LV_OK);
	assert_int_equal(blob[8], 1);
	lv_free(blob);

	lv_model_free(&m);
	free(before);
	free(after);
	free(again);
	free(T);
}

/*
 * The exponential mechanism at a tiny budget picks edges close to
 * uniformly: over many keys every one of the three pairs is chosen.
 */
static void
test_selection_random_at_small_budget(void **state)
{
	int64_t n = 2000;
	int32_t *T = make_data(n);
	int seen02 = 0,
		k;

	for (k = 0; k < 24; k++)
	{
		lv_model m;
		int edges;
		uint8_t key[LV_KEY_BYTES];

		central_model(&m, 4, 16, 9);
		memset(key, 40 + k, sizeof(key));
		assert_int_equal(lv_model_fit_tree(&m, T, n, (double) n, 1e-6, 1.0, 1e6, key, &edges,
										   NULL, NULL),
						 LV_OK);
		assert_int_equal(edges, 2);
		if (m.tree.parent[2] == 0 || m.tree.parent[0] == 2)
			seen02 = 1;
		lv_model_free(&m);
	}
	assert_true(seen02);
	free(T);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_pair_marginals_and_fit),
		cmocka_unit_test(test_fit_tree_release),
		cmocka_unit_test(test_selection_random_at_small_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
