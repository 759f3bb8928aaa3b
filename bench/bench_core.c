/*
 * bench_core.c - training benchmark of the lipvae numerical core, no
 * PostgreSQL: times lv_model_train on the encoded rows of a CSV file
 * (repeated to the requested row counts) and measures, in the same run,
 * OpenBLAS sgemm on exactly the GEMM shapes of one training step, so the
 * epoch time can be read against the hardware floor.
 *
 *   bench_core [--csv FILE] [--rows 10000,100000] [--hidden 64,128,256,512]
 *              [--big-rows 1000000] [--big-hidden 64,128]
 *              [--threads 1,2] [--epochs 5] [--batch 256] [--latent 8]
 *              [--dump DIR] [--release ROWS] [--no-train] [--no-big]
 *              [--no-sgemm-table] [--aim-fit ROUNDS]
 *
 * Schema: what lipvae_train builds for the same table when it is given the
 * data's min/max as public bounds and the distinct values as category
 * lists, and no not_null (so every column is nullable, lipvae's default):
 * numeric columns (every value unquoted and a number) get 32 bins, integer
 * columns with at most 128 values one bin per value; quoted columns are
 * categorical. The Lipschitz target is lipvae's calibration for epsilon 1,
 * delta 1e-6, passes 10 (all of epsilon to the mechanism: bounds and lists
 * are given): mu(1, 1e-6) / sqrt(10) / D. The decoder layers are bounded
 * by 4, as train.c does.
 *
 * Epoch time: the training callback (polled after every minibatch) is
 * timestamped; an epoch's time is the interval between the callbacks that
 * end consecutive epochs (shuffle, batch gather, forward, backward, Adam,
 * spectral projection; not the set-up, certificate or stored means). The
 * figure printed is the best (shortest) of epochs 2..E (epoch 1 carries
 * warm-up; on shared cores the shortest epoch is the least disturbed one);
 * the mean is in the RESULT line too. The floor uses the better of two
 * sgemm measurements, right before and right after the run.
 *
 * FLOPs: 2*m*n*k per GEMM that one step executes: per layer the forward
 * GEMM and the weight-gradient GEMM, and the input-gradient GEMM for every
 * layer but the encoder's first (its input needs no gradient; PyTorch
 * skips it too). Bias, ReLU, loss, Adam and power iteration are not
 * counted: they are the overhead the ratio to the floor shows.
 *
 * Machine-readable lines start with "RESULT" (tab-separated key=value).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <cblas.h>

#include "lv_aim.h"
#include "lv_model.h"
#include "lv_nn.h"
#include "lv_privacy.h"
#include "lv_rand.h"

extern void openblas_set_num_threads(int);
/* lipvae 0.1's release function (ref/lv_release_ref.c) */
int lv_release_rows_ref(const lv_model *m, int64_t start, int count, lv_cell *out);

#define MAX_LIST 16
#define EXACT_BINS_MAX 128
#define DEFAULT_BINS 32

/* ---------- small helpers ---------- */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		exit(1);
	}
	return p;
}

static int
parse_list(const char *s, long *out)
{
	int n = 0;
	char *end;

	while (*s && n < MAX_LIST)
	{
		out[n++] = strtol(s, &end, 10);
		if (end == s)
			break;
		s = (*end == ',') ? end + 1 : end;
	}
	return n;
}

/* ---------- CSV (RFC 4180; an unquoted empty field is NULL) ---------- */

typedef struct field
{
	char *text;
	int quoted;
} field;

typedef struct csv
{
	int ncols;
	char **names;
	int nrows;
	field *cells; /* nrows x ncols */
} csv;

/* read_field parses one field at *p; returns 1 at end of record. */
static int
read_field(char **pp, field *f)
{
	char *p = *pp,
		 *w;

	f->quoted = 0;
	if (*p == '"')
	{
		f->quoted = 1;
		p++;
		f->text = w = p;
		for (;;)
		{
			if (*p == '\0')
				break;
			if (*p == '"')
			{
				if (p[1] == '"')
				{
					*w++ = '"';
					p += 2;
					continue;
				}
				p++;
				break;
			}
			*w++ = *p++;
		}
		*w = '\0';
		/* skip to the delimiter */
		while (*p && *p != ',' && *p != '\n')
			p++;
	}
	else
	{
		f->text = p;
		while (*p && *p != ',' && *p != '\n' && *p != '\r')
			p++;
		if (*p == '\r')
		{
			*p++ = '\0';
			if (*p == '\n')
				p++;
			*pp = p;
			return 1;
		}
	}
	if (*p == ',')
	{
		*p++ = '\0';
		*pp = p;
		return 0;
	}
	if (*p == '\r')
		*p++ = '\0';
	if (*p == '\n')
		*p++ = '\0';
	*pp = p;
	return 1;
}

static void
read_csv(const char *path, csv *c)
{
	FILE *fp = fopen(path, "rb");
	long len;
	char *buf,
		*p;
	int cap = 1024,
		col;
	field f;

	if (fp == NULL)
	{
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc(len + 1);
	if (fread(buf, 1, len, fp) != (size_t) len)
	{
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf[len] = '\0';
	fclose(fp);

	p = buf;
	c->ncols = 0;
	c->names = xmalloc(sizeof(char *) * LV_MAX_COLUMNS);
	for (;;)
	{
		int end = read_field(&p, &f);

		if (c->ncols >= LV_MAX_COLUMNS)
		{
			fprintf(stderr, "too many columns\n");
			exit(1);
		}
		c->names[c->ncols++] = f.text;
		if (end)
			break;
	}
	c->nrows = 0;
	c->cells = xmalloc(sizeof(field) * (size_t) cap * c->ncols);
	while (*p)
	{
		if (*p == '\n' || *p == '\r')
		{
			p++;
			continue;
		}
		if (c->nrows == cap)
		{
			cap *= 2;
			c->cells = realloc(c->cells, sizeof(field) * (size_t) cap * c->ncols);
			if (c->cells == NULL)
				exit(1);
		}
		for (col = 0; col < c->ncols; col++)
		{
			int end = read_field(&p, &c->cells[(size_t) c->nrows * c->ncols + col]);

			if (end && col != c->ncols - 1)
			{
				fprintf(stderr, "row %d has %d fields, expected %d\n",
						c->nrows + 2, col + 1, c->ncols);
				exit(1);
			}
		}
		c->nrows++;
	}
}

static int
is_null(const field *f)
{
	return !f->quoted && f->text[0] == '\0';
}

/* ---------- schema and encoding ---------- */

typedef struct colinfo
{
	int numeric;
	int integer;
	double lo,
		hi;
	int ncat;
	char **cats;
} colinfo;

static int
cat_index(const colinfo *ci, const char *s)
{
	int i;

	for (i = 0; i < ci->ncat; i++)
		if (strcmp(ci->cats[i], s) == 0)
			return i;
	return -1;
}

/*
 * build_schema infers the columns of the CSV and the lipvae schema (every
 * column nullable, lipvae's default without not_null).
 */
static void
build_schema(const csv *c, colinfo *ci, lv_schema *s)
{
	int j,
		r;

	s->ncols = c->ncols;
	s->cols = lv_calloc(c->ncols, sizeof(lv_column));
	for (j = 0; j < c->ncols; j++)
	{
		colinfo *k = &ci[j];
		lv_column *col = &s->cols[j];
		int numeric = 1,
			integer = 1,
			seen = 0;

		memset(k, 0, sizeof(*k));
		for (r = 0; r < c->nrows; r++)
		{
			const field *f = &c->cells[(size_t) r * c->ncols + j];
			char *end;
			double v;

			if (is_null(f))
				continue;
			if (f->quoted)
			{
				numeric = 0;
				break;
			}
			v = strtod(f->text, &end);
			if (end == f->text || *end != '\0' || !isfinite(v))
			{
				numeric = 0;
				break;
			}
			if (strpbrk(f->text, ".eE") != NULL)
				integer = 0;
			if (!seen || v < k->lo)
				k->lo = v;
			if (!seen || v > k->hi)
				k->hi = v;
			seen = 1;
		}
		col->nullable = 1;
		if (numeric && seen)
		{
			k->numeric = 1;
			k->integer = integer;
			if (!(k->hi > k->lo))
				k->hi = k->lo + 1;
			col->kind = LV_COL_NUMERIC;
			col->integer = integer;
			col->lo = k->lo;
			col->hi = k->hi;
			if (integer && k->hi - k->lo + 1 <= EXACT_BINS_MAX)
			{
				col->exact_bins = 1;
				col->nbins = (int) (k->hi - k->lo) + 1;
			}
			else
				col->nbins = DEFAULT_BINS;
		}
		else
		{
			k->cats = xmalloc(sizeof(char *) * LV_MAX_CATEGORIES);
			for (r = 0; r < c->nrows; r++)
			{
				const field *f = &c->cells[(size_t) r * c->ncols + j];

				if (is_null(f) || cat_index(k, f->text) >= 0)
					continue;
				if (k->ncat < LV_MAX_CATEGORIES)
					k->cats[k->ncat++] = f->text;
			}
			col->kind = LV_COL_CATEGORICAL;
			col->ncat = k->ncat;
		}
	}
}

static void
encode_all(const csv *c, const colinfo *ci, const lv_schema *s, float *X,
		   int32_t *T)
{
	int d = lv_schema_input_dim(s);
	lv_cell *cells = xmalloc(sizeof(lv_cell) * c->ncols);
	int r,
		j;

	for (r = 0; r < c->nrows; r++)
	{
		for (j = 0; j < c->ncols; j++)
		{
			const field *f = &c->cells[(size_t) r * c->ncols + j];

			memset(&cells[j], 0, sizeof(lv_cell));
			if (is_null(f))
				cells[j].isnull = 1;
			else if (ci[j].numeric)
				cells[j].value = strtod(f->text, NULL);
			else
				cells[j].cat = cat_index(&ci[j], f->text);
		}
		lv_encode_row(s, cells, X + (size_t) r * d, T + (size_t) r * c->ncols);
	}
	free(cells);
}

/* ---------- GEMM shapes of one step ---------- */

typedef struct gemm_shape
{
	int ta,
		tb; /* 0: NoTrans, 1: Trans */
	int m,
		n,
		k;
} gemm_shape;

/*
 * step_shapes lists the sgemm calls of one training step with minibatch B
 * (lv_mlp_forward / lv_mlp_backward on encoder d-h-h-k and decoder
 * k-h-h-o). Returns the count.
 */
static int
step_shapes(int B, int d, int h, int k, int o, gemm_shape *g)
{
	int enc[4] = {d, h, h, k},
		dec[4] = {k, h, h, o};
	int ng = 0,
		l;

	/* forward: Y (B x out) = X (B x in) W^T */
	for (l = 0; l < 3; l++)
		g[ng++] = (gemm_shape){0, 1, B, enc[l + 1], enc[l]};
	for (l = 0; l < 3; l++)
		g[ng++] = (gemm_shape){0, 1, B, dec[l + 1], dec[l]};
	/* decoder backward: dW (out x in) = dY^T X; dX (B x in) = dY W */
	for (l = 2; l >= 0; l--)
	{
		g[ng++] = (gemm_shape){1, 0, dec[l + 1], dec[l], B};
		g[ng++] = (gemm_shape){0, 0, B, dec[l], dec[l + 1]};
	}
	/* encoder backward: no input gradient at the first layer */
	for (l = 2; l >= 0; l--)
	{
		g[ng++] = (gemm_shape){1, 0, enc[l + 1], enc[l], B};
		if (l > 0)
			g[ng++] = (gemm_shape){0, 0, B, enc[l], enc[l + 1]};
	}
	return ng;
}

static double
shapes_flops(const gemm_shape *g, int ng)
{
	double f = 0;
	int i;

	for (i = 0; i < ng; i++)
		f += 2.0 * g[i].m * g[i].n * g[i].k;
	return f;
}

/*
 * sgemm_rate times a loop of cblas_sgemm over the shapes (row-major,
 * the transposes and leading dimensions lipvae uses) for at least
 * min_seconds; returns GFLOP/s.
 */
static double
sgemm_rate(const gemm_shape *g, int ng, double min_seconds)
{
	float *A[32],
		*Bm[32],
		*C[32];
	double flops = shapes_flops(g, ng),
		   t0,
		   t;
	long reps = 0;
	int i;
	size_t j;

	for (i = 0; i < ng; i++)
	{
		size_t na = (size_t) g[i].m * g[i].k,
			   nb = (size_t) g[i].k * g[i].n,
			   nc = (size_t) g[i].m * g[i].n;

		A[i] = xmalloc(sizeof(float) * na);
		Bm[i] = xmalloc(sizeof(float) * nb);
		C[i] = xmalloc(sizeof(float) * nc);
		for (j = 0; j < na; j++)
			A[i][j] = (float) ((j * 7919 % 1000) / 1000.0 - 0.5);
		for (j = 0; j < nb; j++)
			Bm[i][j] = (float) ((j * 104729 % 1000) / 1000.0 - 0.5);
		memset(C[i], 0, sizeof(float) * nc);
	}
	/* warm-up */
	for (i = 0; i < ng; i++)
		cblas_sgemm(CblasRowMajor, g[i].ta ? CblasTrans : CblasNoTrans,
					g[i].tb ? CblasTrans : CblasNoTrans, g[i].m, g[i].n,
					g[i].k, 1.0f, A[i], g[i].ta ? g[i].m : g[i].k, Bm[i],
					g[i].tb ? g[i].k : g[i].n, 0.0f, C[i], g[i].n);
	t0 = now();
	do
	{
		for (i = 0; i < ng; i++)
			cblas_sgemm(CblasRowMajor, g[i].ta ? CblasTrans : CblasNoTrans,
						g[i].tb ? CblasTrans : CblasNoTrans, g[i].m, g[i].n,
						g[i].k, 1.0f, A[i], g[i].ta ? g[i].m : g[i].k, Bm[i],
						g[i].tb ? g[i].k : g[i].n, 0.0f, C[i], g[i].n);
		reps++;
		t = now() - t0;
	} while (t < min_seconds);
	for (i = 0; i < ng; i++)
	{
		free(A[i]);
		free(Bm[i]);
		free(C[i]);
	}
	return flops * reps / t / 1e9;
}

/* ---------- training run ---------- */

typedef struct timer_arg
{
	long calls;
	long steps_per_epoch;
	int epochs;
	double *stamps; /* epochs + 1 */
} timer_arg;

static int
timer_cb(void *p)
{
	timer_arg *a = p;

	a->calls++;
	if (a->calls % a->steps_per_epoch == 0 &&
		a->calls / a->steps_per_epoch <= a->epochs)
		a->stamps[a->calls / a->steps_per_epoch] = now();
	return 0;
}

typedef struct train_figs
{
	double epoch_s;   /* best (shortest) of epochs 2..E */
	double mean_s;    /* mean of epochs 2..E */
	double total_s;   /* whole lv_model_train call */
	double loss;
	double certified;
} train_figs;

static int
run_train(const lv_schema *schema, const float *X, const int32_t *T,
		  int64_t n, int h, int epochs, int batch, int latent, double target,
		  train_figs *out)
{
	lv_model m;
	lv_train_config cfg;
	lv_train_result res;
	timer_arg ta;
	double t0;
	int rc,
		e;

	memset(&m, 0, sizeof(m));
	m.schema.ncols = schema->ncols;
	m.schema.cols = lv_alloc(sizeof(lv_column) * schema->ncols);
	memcpy(m.schema.cols, schema->cols, sizeof(lv_column) * schema->ncols);
	m.mechanism = LV_MECH_LATENT;
	m.passes = 10;
	memset(m.key, 7, sizeof(m.key));

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = epochs;
	cfg.batch = batch;
	cfg.latent = latent;
	cfg.hidden = h;
	cfg.lr = 0.002;
	cfg.lipschitz_target = target;
	cfg.decoder_layer_bound = 4.0;
	memset(cfg.train_key, 11, sizeof(cfg.train_key));
	ta.calls = 0;
	ta.steps_per_epoch = (n + batch - 1) / batch;
	ta.epochs = epochs;
	ta.stamps = xmalloc(sizeof(double) * (epochs + 1));
	cfg.interrupted = timer_cb;
	cfg.interrupted_arg = &ta;

	t0 = now();
	ta.stamps[0] = t0;
	rc = lv_model_train(&m, X, T, n, &cfg, &res);
	out->total_s = now() - t0;
	if (rc != LV_OK)
	{
		fprintf(stderr, "lv_model_train: %s\n", lv_strerror(rc));
		free(ta.stamps);
		lv_model_free(&m);
		return rc;
	}
	if (epochs >= 2)
	{
		out->mean_s = 0;
		out->epoch_s = INFINITY;
		for (e = 2; e <= epochs; e++)
		{
			double dt = ta.stamps[e] - ta.stamps[e - 1];

			out->mean_s += dt;
			if (dt < out->epoch_s)
				out->epoch_s = dt;
		}
		out->mean_s /= (epochs - 1);
	}
	else
		out->epoch_s = out->mean_s = ta.stamps[1] - ta.stamps[0];
	out->loss = res.final_loss;
	out->certified = m.lipschitz_certified;
	free(ta.stamps);
	lv_model_free(&m);
	return LV_OK;
}

/* ---------- select, measure, generate (marginals => 'aim') ---------- */

/*
 * run_aim_fit times lv_model_fit_aim on the CSV's encoded rows as
 * lipvae_train configures it (1,024 mixture points, 200 Adam steps per
 * round, pairs of at most 4,096 cells), limited to `rounds` rounds and 200
 * final steps, at rho 0.02 (about epsilon 1, delta 1e-5), with R (kappa_R
 * 1, 64 samples) and without: seconds per Adam step, and R's share.
 */
static void
run_aim_fit(const lv_schema *s, const int32_t *T, int n, int rounds)
{
	double per_step[2];

	for (int with = 1; with >= 0; with--)
	{
		lv_model m;
		lv_aim_config c;
		lv_aim_result r;
		double t0;
		int rc,
			steps;

		memset(&m, 0, sizeof(m));
		m.schema.ncols = s->ncols;
		m.schema.cols = lv_alloc(sizeof(lv_column) * (size_t) s->ncols);
		memcpy(m.schema.cols, s->cols, sizeof(lv_column) * (size_t) s->ncols);
		m.mechanism = LV_MECH_CENTRAL;
		memset(m.key, 7, LV_KEY_BYTES);
		memset(&c, 0, sizeof(c));
		c.rho = 0.02;
		c.sens = 1;
		c.n_hat = n;
		c.max_k = 2;
		c.max_cells = 4096;
		c.max_rounds = rounds;
		c.latent = 8;
		c.hidden = 128;
		c.prior_points = 1024;
		c.fit.steps = 200;
		c.fit.batch = 1024;
		c.fit.lr = 0.005;
		c.fit.maxent = with ? 1.0 : 0.0;
		c.fit.maxent_samples = 64;
		c.final_steps = 200;
		c.final_lr = 0.002;
		memset(c.key, 9, LV_KEY_BYTES);
		t0 = now();
		rc = lv_model_fit_aim(&m, T, n, &c, &r);
		if (rc != LV_OK)
		{
			fprintf(stderr, "lv_model_fit_aim failed: %d\n", rc);
			exit(1);
		}
		steps = c.fit.steps * (1 + r.nmeasured - s->ncols) + c.final_steps;
		per_step[with] = (now() - t0) / steps;
		printf("aim fit %s R: %d measurements, %d Adam steps, %.2f ms per step\n",
			   with ? "with" : "without", r.nmeasured, steps, 1e3 * per_step[with]);
		printf("RESULT\tkind=aim_fit\tmaxent=%d\tsteps=%d\tms_per_step=%.4f\n", with, steps,
			   1e3 * per_step[with]);
		lv_aim_result_free(&r);
		lv_model_free(&m);
	}
	printf("aim fit: R's gradient is %.0f%% of a step\n", 100 * (1 - per_step[0] / per_step[1]));
}

/* ---------- release (core only, no PostgreSQL) ---------- */

static void
run_release(const lv_schema *schema, const float *X, const int32_t *T,
			int64_t n, int h, int latent, double target, int64_t rows)
{
	lv_model m;
	lv_train_config cfg;
	lv_cell *cells;
	double t0,
		t_rel,
		t_ref,
		t_perm;
	int64_t j;
	uint64_t sink = 0;
	int rc;

	memset(&m, 0, sizeof(m));
	m.schema.ncols = schema->ncols;
	m.schema.cols = lv_alloc(sizeof(lv_column) * schema->ncols);
	memcpy(m.schema.cols, schema->cols, sizeof(lv_column) * schema->ncols);
	m.mechanism = LV_MECH_LATENT;
	m.passes = (int32_t) ((rows + n - 1) / n);
	memset(m.key, 7, sizeof(m.key));
	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = 1;
	cfg.batch = 256;
	cfg.latent = latent;
	cfg.hidden = h;
	cfg.lr = 0.002;
	cfg.lipschitz_target = target;
	cfg.decoder_layer_bound = 4.0;
	memset(cfg.train_key, 11, sizeof(cfg.train_key));
	if ((rc = lv_model_train(&m, X, T, n, &cfg, NULL)) != LV_OK)
	{
		fprintf(stderr, "lv_model_train: %s\n", lv_strerror(rc));
		exit(1);
	}
	cells = xmalloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * schema->ncols);
	t0 = now();
	for (j = 0; j < rows; j += LV_RELEASE_CHUNK)
	{
		int cnt = (int) (rows - j < LV_RELEASE_CHUNK ? rows - j : LV_RELEASE_CHUNK);

		if ((rc = lv_release_rows(&m, j, cnt, cells)) != LV_OK)
		{
			fprintf(stderr, "lv_release_rows: %s\n", lv_strerror(rc));
			exit(1);
		}
		sink += (uint64_t) cells[0].cat;
	}
	t_rel = now() - t0;
	/* the release function of lipvae 0.1, for the before/after figure */
	t0 = now();
	for (j = 0; j < rows; j += LV_RELEASE_CHUNK)
	{
		int cnt = (int) (rows - j < LV_RELEASE_CHUNK ? rows - j : LV_RELEASE_CHUNK);

		if ((rc = lv_release_rows_ref(&m, j, cnt, cells)) != LV_OK)
			exit(1);
		sink += (uint64_t) cells[0].cat;
	}
	t_ref = now() - t0;
	t0 = now();
	for (j = 0; j < rows; j++)
		sink += lv_permute(m.key, (uint64_t) j / (uint64_t) n, (uint64_t) n,
						   (uint64_t) j % (uint64_t) n);
	t_perm = now() - t0;
	printf("release (core only, hidden %d, model of %lld rows): %lld rows in %.3f s = %.0f rows/s"
		   " (lipvae 0.1's release function: %.3f s = %.0f rows/s);"
		   " lv_permute alone, row by row: %.3f s%s\n",
		   h, (long long) n, (long long) rows, t_rel, rows / t_rel, t_ref, rows / t_ref, t_perm,
		   sink == 42 ? " " : "");
	printf("RESULT\tkind=release\thidden=%d\tnrows=%lld\trows=%lld\tseconds=%.4f\trows_per_s=%.1f"
		   "\tref_seconds=%.4f\tref_rows_per_s=%.1f\tpermute_s=%.4f\n",
		   h, (long long) n, (long long) rows, t_rel, rows / t_rel, t_ref, rows / t_ref, t_perm);
	free(cells);
	lv_model_free(&m);
}

/* ---------- dump for the PyTorch reference ---------- */

static void
dump(const char *dir, const lv_schema *s, const float *X, const int32_t *T,
	 int n0, double target)
{
	char path[4096];
	FILE *fp;
	int d = lv_schema_input_dim(s),
		j;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/X.f32", dir);
	fp = fopen(path, "wb");
	if (!fp || fwrite(X, sizeof(float), (size_t) n0 * d, fp) != (size_t) n0 * d)
		exit(1);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/T.i32", dir);
	fp = fopen(path, "wb");
	if (!fp || fwrite(T, sizeof(int32_t), (size_t) n0 * s->ncols, fp) != (size_t) n0 * s->ncols)
		exit(1);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/layout.json", dir);
	fp = fopen(path, "w");
	if (!fp)
		exit(1);
	fprintf(fp, "{\"rows\": %d, \"d\": %d, \"o\": %d, \"lipschitz_target\": %.17g, "
				"\"decoder_layer_bound\": 4.0, \"columns\": [",
			n0, d, lv_schema_output_dim(s), target);
	for (j = 0; j < s->ncols; j++)
	{
		const lv_column *c = &s->cols[j];

		fprintf(fp, "%s{\"kind\": \"%s\", \"nullable\": %d, \"width\": %d}",
				j ? ", " : "",
				c->kind == LV_COL_NUMERIC ? "numeric" : "categorical",
				c->nullable,
				c->kind == LV_COL_NUMERIC ? c->nbins : lv_column_slots(c));
	}
	fprintf(fp, "]}\n");
	fclose(fp);
}

/* ---------- main ---------- */

int
main(int argc, char **argv)
{
	const char *csvpath = "../data/lending_club.csv";
	const char *dumpdir = NULL;
	long rows[MAX_LIST] = {10000, 100000},
		 hidden[MAX_LIST] = {64, 128, 256, 512},
		 big_rows[MAX_LIST] = {1000000},
		 big_hidden[MAX_LIST] = {64, 128},
		 threads[MAX_LIST] = {1, 2};
	int nrows_list = 2,
		nhidden = 4,
		nbig_rows = 1,
		nbig_hidden = 2,
		nthreads = 2;
	int epochs = 5,
		batch = 256,
		latent = 8,
		do_train = 1,
		sgemm_table = 1;
	long release_rows = 0;
	int aim_rounds = 0;
	csv c;
	colinfo *ci;
	lv_schema s;
	float *X0;
	int32_t *T0;
	int d,
		o,
		ncols,
		i,
		a,
		nnum = 0,
		nint = 0,
		ncat = 0;
	double D,
		target;

	for (a = 1; a < argc; a++)
	{
		const char *v = (a + 1 < argc) ? argv[a + 1] : "";

		if (strcmp(argv[a], "--csv") == 0)
			csvpath = v, a++;
		else if (strcmp(argv[a], "--rows") == 0)
			nrows_list = parse_list(v, rows), a++;
		else if (strcmp(argv[a], "--hidden") == 0)
			nhidden = parse_list(v, hidden), a++;
		else if (strcmp(argv[a], "--big-rows") == 0)
			nbig_rows = parse_list(v, big_rows), a++;
		else if (strcmp(argv[a], "--big-hidden") == 0)
			nbig_hidden = parse_list(v, big_hidden), a++;
		else if (strcmp(argv[a], "--threads") == 0)
			nthreads = parse_list(v, threads), a++;
		else if (strcmp(argv[a], "--epochs") == 0)
			epochs = atoi(v), a++;
		else if (strcmp(argv[a], "--batch") == 0)
			batch = atoi(v), a++;
		else if (strcmp(argv[a], "--latent") == 0)
			latent = atoi(v), a++;
		else if (strcmp(argv[a], "--dump") == 0)
			dumpdir = v, a++;
		else if (strcmp(argv[a], "--release") == 0)
			release_rows = atol(v), a++;
		else if (strcmp(argv[a], "--aim-fit") == 0)
			aim_rounds = atoi(v), a++;
		else if (strcmp(argv[a], "--no-train") == 0)
			do_train = 0;
		else if (strcmp(argv[a], "--no-big") == 0)
			nbig_rows = 0;
		else if (strcmp(argv[a], "--no-sgemm-table") == 0)
			sgemm_table = 0;
		else
		{
			fprintf(stderr, "unknown argument %s (see the comment at the top of bench_core.c)\n", argv[a]);
			return 2;
		}
	}

	read_csv(csvpath, &c);
	ncols = c.ncols;
	ci = xmalloc(sizeof(colinfo) * ncols);
	build_schema(&c, ci, &s);
	if (lv_schema_check(&s) != LV_OK)
	{
		fprintf(stderr, "schema check failed\n");
		return 1;
	}
	d = lv_schema_input_dim(&s);
	o = lv_schema_output_dim(&s);
	D = lv_schema_diameter(&s);
	target = lv_gdp_mu(1.0, 1e-6) / sqrt(10.0) / D * (1 - 1e-9);
	for (i = 0; i < ncols; i++)
	{
		if (!ci[i].numeric)
			ncat++;
		else if (ci[i].integer)
			nint++;
		else
			nnum++;
	}
	X0 = xmalloc(sizeof(float) * (size_t) c.nrows * d);
	T0 = xmalloc(sizeof(int32_t) * (size_t) c.nrows * ncols);
	encode_all(&c, ci, &s, X0, T0);
	printf("data: %s, %d rows x %d columns (%d continuous, %d integer, %d categorical:",
		   csvpath, c.nrows, ncols, nnum, nint, ncat);
	for (i = 0; i < ncols; i++)
		if (!ci[i].numeric)
			printf(" %s=%d", c.names[i], ci[i].ncat);
	printf("); encoded d=%d, decoder output %d, diameter %.3f, Lipschitz target %.5f\n",
		   d, o, D, target);
	printf("RESULT\tkind=schema\trows=%d\tcols=%d\td=%d\to=%d\ttarget=%.6g\n",
		   c.nrows, ncols, d, o, target);
	if (dumpdir)
		dump(dumpdir, &s, X0, T0, c.nrows, target);
	if (aim_rounds > 0)
		run_aim_fit(&s, T0, c.nrows, aim_rounds);

	if (do_train)
	{
		long all_rows[2 * MAX_LIST];
		int nall = 0,
			ri,
			hi,
			ti;
		int64_t maxn = 0;
		float *X;
		int32_t *T;

		for (i = 0; i < nrows_list; i++)
			all_rows[nall++] = rows[i];
		for (i = 0; i < nbig_rows; i++)
			all_rows[nall++] = big_rows[i];
		for (i = 0; i < nall; i++)
			if (all_rows[i] > maxn)
				maxn = all_rows[i];
		/* the largest table by repeating the CSV rows; smaller ones are prefixes */
		X = xmalloc(sizeof(float) * (size_t) maxn * d);
		T = xmalloc(sizeof(int32_t) * (size_t) maxn * ncols);
		for (i = 0; i < maxn; i++)
		{
			memcpy(X + (size_t) i * d, X0 + (size_t) (i % c.nrows) * d, sizeof(float) * d);
			memcpy(T + (size_t) i * ncols, T0 + (size_t) (i % c.nrows) * ncols, sizeof(int32_t) * ncols);
		}

		/* sgemm floor per hidden width and thread count */
		if (sgemm_table)
		{
			printf("\n%-8s %-7s %-10s %-12s\n", "hidden", "threads", "step MFLOP", "sgemm GFLOP/s");
			long hs[2 * MAX_LIST];
			int nh = 0;

			for (i = 0; i < nhidden; i++)
				hs[nh++] = hidden[i];
			for (i = 0; nbig_rows > 0 && i < nbig_hidden; i++)
			{
				int k,
					dup = 0;

				for (k = 0; k < nh; k++)
					dup |= hs[k] == big_hidden[i];
				if (!dup)
					hs[nh++] = big_hidden[i];
			}
			for (hi = 0; hi < nh; hi++)
				for (ti = 0; ti < nthreads; ti++)
				{
					gemm_shape g[32];
					int ng = step_shapes(batch, d, (int) hs[hi], latent, o, g);
					double rate;

					openblas_set_num_threads((int) threads[ti]);
					rate = sgemm_rate(g, ng, 1.0);
					printf("%-8ld %-7ld %-10.2f %-12.1f\n", hs[hi], threads[ti],
						   shapes_flops(g, ng) / 1e6, rate);
					printf("RESULT\tkind=sgemm\thidden=%ld\tthreads=%ld\tstep_flops=%.0f\tgflops=%.3f\n",
						   hs[hi], threads[ti], shapes_flops(g, ng), rate);
					fflush(stdout);
				}
		}

		printf("\n%-8s %-7s %-7s %-10s %-11s %-12s %-9s %-9s %-9s %-8s\n",
			   "rows", "hidden", "threads", "s/epoch", "rows/s", "epoch GFLOP",
			   "GFLOP/s", "sgemm", "floor s", "ratio");
		for (ri = 0; ri < nall; ri++)
		{
			int big = ri >= nrows_list;
			long *hl = big ? big_hidden : hidden;
			int nhl = big ? nbig_hidden : nhidden;

			for (hi = 0; hi < nhl; hi++)
				for (ti = 0; ti < nthreads; ti++)
				{
					gemm_shape g[32];
					int ng = step_shapes(batch, d, (int) hl[hi], latent, o, g);
					double per_row = shapes_flops(g, ng) / batch;
					double ep_flops = per_row * all_rows[ri];
					double rate,
						rate2,
						floor_s;
					train_figs tf;

					openblas_set_num_threads((int) threads[ti]);
					/*
					 * The floor: sgemm on the step's shapes measured right
					 * before and right after the run, the better of the two
					 * (the hardware limit; the cores are shared).
					 */
					rate = sgemm_rate(g, ng, 0.5);
					if (run_train(&s, X, T, all_rows[ri], (int) hl[hi], epochs, batch,
								  latent, target, &tf) != LV_OK)
						return 1;
					rate2 = sgemm_rate(g, ng, 0.5);
					if (rate2 > rate)
						rate = rate2;
					floor_s = ep_flops / (rate * 1e9);
					printf("%-8ld %-7ld %-7ld %-10.4f %-11.0f %-12.2f %-9.1f %-9.1f %-9.4f %-8.2f\n",
						   all_rows[ri], hl[hi], threads[ti], tf.epoch_s,
						   all_rows[ri] / tf.epoch_s, ep_flops / 1e9,
						   ep_flops / tf.epoch_s / 1e9, rate, floor_s,
						   tf.epoch_s / floor_s);
					printf("RESULT\tkind=train\trows=%ld\thidden=%ld\tthreads=%ld\tepoch_s=%.6f\tmean_s=%.6f"
						   "\trows_per_s=%.1f\tepoch_flops=%.0f\tgflops=%.3f\tsgemm_gflops=%.3f\tfloor_s=%.6f"
						   "\tratio=%.4f\ttotal_s=%.4f\tloss=%.4f\tcertified=%.6g\n",
						   all_rows[ri], hl[hi], threads[ti], tf.epoch_s, tf.mean_s,
						   all_rows[ri] / tf.epoch_s, ep_flops,
						   ep_flops / tf.epoch_s / 1e9, rate, floor_s,
						   tf.epoch_s / floor_s, tf.total_s, tf.loss, tf.certified);
					fflush(stdout);
				}
		}
		free(X);
		free(T);
	}
	if (release_rows > 0)
	{
		openblas_set_num_threads(1);
		run_release(&s, X0, T0, c.nrows, 128, latent, target, release_rows);
	}
	return 0;
}
