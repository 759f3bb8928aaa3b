/*
 * lv_tree.c - the tree of pairwise potentials over the decoder's columns:
 * DP selection of its edges, DP measurement of their pair counts, fitting,
 * and exact sampling by belief propagation (lv_tree.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "lv_tree.h"
#include "lv_clique.h"
#include "lv_marginals.h"
#include "lv_nn.h"

#define LV_TREE_FLOOR 1e-300     /* smallest probability a slot keeps */
#define LV_TREE_STEP 4.0         /* largest change of a log-potential per step */
#define LV_TREE_DAMPING 0.15     /* share of the proportional-fitting step taken */
#define LV_TREE_POOL 2048        /* prior draws the fit averages over */
#define LV_TREE_SELECT_POOL 1024 /* prior draws that estimate M_ab */
#define LV_TREE_ITERS 40

/* lv_col_width returns the number of slots of column c. */
static int
lv_col_width(const lv_column *c)
{
	return lv_column_out_width(c);
}

/* lv_tree_free releases what t owns and empties it. */
void
lv_tree_free(lv_tree *t)
{
	if (t == NULL)
		return;
	lv_free(t->parent);
	lv_free(t->order);
	lv_free(t->offset);
	lv_free(t->pot);
	memset(t, 0, sizeof(*t));
}

/*
 * lv_tree_build sets up t from parent: checks it (a forest over the
 * columns, tables within the cap), orders the columns root first and lays
 * out the tables; potentials start at 1.
 */
int
lv_tree_build(lv_tree *t, const lv_schema *s, const int32_t *parent)
{
	int n,
		c,
		placed = 0;
	int64_t tot = 0;
	int32_t *depth;

	if (t == NULL || s == NULL || parent == NULL || s->ncols < 1 ||
		s->ncols > LV_MAX_COLUMNS)
		return LV_ERR_ARG;
	memset(t, 0, sizeof(*t));
	n = s->ncols;
	for (c = 0; c < n; c++)
		if (parent[c] < -1 || parent[c] >= n || parent[c] == c)
			return LV_ERR_ARG;
	t->parent = lv_alloc(sizeof(int32_t) * n);
	t->order = lv_alloc(sizeof(int32_t) * n);
	t->offset = lv_alloc(sizeof(int64_t) * n);
	depth = lv_alloc(sizeof(int32_t) * n);
	if (t->parent == NULL || t->order == NULL || t->offset == NULL || depth == NULL)
	{
		lv_free(depth);
		lv_tree_free(t);
		return LV_ERR_NOMEM;
	}
	memcpy(t->parent, parent, sizeof(int32_t) * n);
	t->ncols = n;

	/* depth of every column by walking to its root (n steps at most: no cycle) */
	for (c = 0; c < n; c++)
	{
		int d = 0,
			v = c;

		while (parent[v] >= 0 && d <= n)
		{
			v = parent[v];
			d++;
		}
		if (d > n)
		{
			lv_free(depth);
			lv_tree_free(t);
			return LV_ERR_ARG;
		}
		depth[c] = d;
	}
	/* root first: columns by depth, each depth in column order */
	for (int d = 0; placed < n; d++)
		for (c = 0; c < n; c++)
			if (depth[c] == d)
				t->order[placed++] = c;
	lv_free(depth);

	for (c = 0; c < n; c++)
	{
		if (parent[c] < 0)
		{
			t->offset[c] = -1;
			continue;
		}
		{
			int64_t cells = (int64_t) lv_col_width(&s->cols[parent[c]]) *
							lv_col_width(&s->cols[c]);

			if (cells > LV_TREE_MAX_CELLS)
			{
				lv_tree_free(t);
				return LV_ERR_ARG;
			}
			t->offset[c] = tot;
			tot += cells;
		}
	}
	t->npot = tot;
	t->pot = lv_alloc(sizeof(float) * (size_t) (tot > 0 ? tot : 1));
	if (t->pot == NULL)
	{
		lv_tree_free(t);
		return LV_ERR_NOMEM;
	}
	for (int64_t i = 0; i < tot; i++)
		t->pot[i] = 1.0f;
	return LV_OK;
}

/*
 * lv_column_probs writes each column's slot distribution of one row of
 * logits into p (see lv_tree.h).
 */
void
lv_column_probs(const lv_schema *s, const float *logits, double *p)
{
	int off = 0,
		c,
		j;

	for (c = 0; c < s->ncols; c++)
	{
		const lv_column *col = &s->cols[c];
		int numeric = col->kind == LV_COL_NUMERIC;
		int w = numeric ? col->nbins : lv_column_slots(col);
		double mx = -INFINITY,
			   sum = 0.0,
			   keep = 1.0;

		for (j = 0; j < w; j++)
			if ((double) logits[off + j] > mx)
				mx = (double) logits[off + j];
		for (j = 0; j < w; j++)
		{
			p[off + j] = exp((double) logits[off + j] - mx);
			sum += p[off + j];
		}
		if (numeric && col->nullable)
		{
			double x = (double) logits[off + w];
			double pn = x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));

			p[off + w] = pn;
			keep = 1.0 - pn;
		}
		for (j = 0; j < w; j++)
			p[off + j] = p[off + j] / sum * keep;
		off += lv_col_width(col);
	}
}

/* lv_tree_work_size returns the scratch of lv_tree_sample (doubles). */
size_t
lv_tree_work_size(const lv_tree *t, const lv_schema *s, int count)
{
	int c,
		mw = 1;

	for (c = 0; c < s->ncols; c++)
		if (lv_col_width(&s->cols[c]) > mw)
			mw = lv_col_width(&s->cols[c]);
	return (size_t) t->npot + (size_t) count * mw + 1;
}

/* lv_col_offsets writes every column's first slot into off (ncols). */
static void
lv_col_offsets(const lv_schema *s, int *off)
{
	int c,
		o = 0;

	for (c = 0; c < s->ncols; c++)
	{
		off[c] = o;
		o += lv_col_width(&s->cols[c]);
	}
}

/*
 * lv_absorb normalises a child's message m (wp entries) to sum 1, floored,
 * multiplies it into its parent's inside vector inp and rescales that to a
 * maximum of 1, floored (no underflow however many children).
 */
static void
lv_absorb(double *m, int wp, double *inp)
{
	double sum = 0.0,
		   mx = 0.0;
	int i;

	for (i = 0; i < wp; i++)
		sum += m[i];
	for (i = 0; i < wp; i++)
	{
		m[i] = sum > 0.0 ? m[i] / sum : 1.0 / wp;
		if (!(m[i] > LV_TREE_FLOOR))
			m[i] = LV_TREE_FLOOR;
		inp[i] *= m[i];
		if (inp[i] > mx)
			mx = inp[i];
	}
	if (mx > 0.0)
		for (i = 0; i < wp; i++)
		{
			inp[i] /= mx;
			if (!(inp[i] > LV_TREE_FLOOR))
				inp[i] = LV_TREE_FLOOR;
		}
}

/*
 * lv_tree_upward turns p (slot distributions, floored) into every column's
 * inside vector: its own distribution times the messages of its children,
 * each message Sum_child psi(x_parent, x_child) inside_child(x_child),
 * absorbed by lv_absorb and kept, normalised, at msg + moff[c].
 */
static void
lv_tree_upward(const lv_tree *t, const lv_schema *s, const int *off,
			   double *p, double *msg, const int64_t *moff)
{
	int idx,
		j,
		i;

	for (i = 0; i < lv_schema_output_dim(s); i++)
		if (!(p[i] > LV_TREE_FLOOR))
			p[i] = LV_TREE_FLOOR;
	for (idx = s->ncols - 1; idx >= 0; idx--)
	{
		int c = t->order[idx],
			pa = t->parent[c],
			wc,
			wp;
		double *in = p + off[c],
			   *m;
		const float *psi;

		if (pa < 0)
			continue;
		wc = lv_col_width(&s->cols[c]);
		wp = lv_col_width(&s->cols[pa]);
		psi = t->pot + t->offset[c];
		m = msg + moff[c];
		for (i = 0; i < wp; i++)
		{
			const float *row = psi + (size_t) i * wc;
			double a = 0.0;

			for (j = 0; j < wc; j++)
				a += (double) row[j] * in[j];
			m[i] = a;
		}
		lv_absorb(m, wp, p + off[pa]);
	}
}

/* lv_draw returns the index drawn by inverse CDF from w unnormalised weights. */
static int
lv_draw(const double *v, int w, double u, const float *psi_row)
{
	double sum = 0.0,
		   acc = 0.0,
		   target;
	int j;

	for (j = 0; j < w; j++)
		sum += psi_row ? (double) psi_row[j] * v[j] : v[j];
	target = u * sum;
	for (j = 0; j < w - 1; j++)
	{
		acc += psi_row ? (double) psi_row[j] * v[j] : v[j];
		if (target < acc)
			return j;
	}
	return w - 1;
}

/*
 * lv_tree_sample draws count rows' slots exactly (see lv_tree.h): the
 * upward messages of every edge for all rows at once (one GEMM per edge:
 * messages = inside_child psi^T), each normalised and floored as in
 * lv_tree_upward, then each row top-down by inverse CDF.
 */
void
lv_tree_sample(const lv_tree *t, const lv_schema *s, double *P, int count,
			   const double *U, double *work, int32_t *slot)
{
	int off[LV_MAX_COLUMNS];
	int o = lv_schema_output_dim(s),
		nc = s->ncols,
		idx,
		r;
	double *psi = work,
		   *msg = work + t->npot;
	size_t k;

	lv_col_offsets(s, off);
	for (k = 0; k < (size_t) count * o; k++)
		if (!(P[k] > LV_TREE_FLOOR))
			P[k] = LV_TREE_FLOOR;
	for (k = 0; k < (size_t) t->npot; k++)
		psi[k] = (double) t->pot[k];
	for (idx = nc - 1; idx >= 0; idx--)
	{
		int c = t->order[idx],
			pa = t->parent[c],
			wc,
			wp;

		if (pa < 0)
			continue;
		wc = lv_col_width(&s->cols[c]);
		wp = lv_col_width(&s->cols[pa]);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, wp, wc, 1.0,
					P + off[c], o, psi + t->offset[c], wc, 0.0, msg, wp);
		for (r = 0; r < count; r++)
			lv_absorb(msg + (size_t) r * wp, wp, P + (size_t) r * o + off[pa]);
	}
	for (r = 0; r < count; r++)
	{
		const double *pr = P + (size_t) r * o;
		int32_t *sr = slot + (size_t) r * nc;

		for (idx = 0; idx < nc; idx++)
		{
			int c = t->order[idx],
				pa = t->parent[c],
				wc = lv_col_width(&s->cols[c]);
			const float *row = NULL;

			if (pa >= 0)
				row = t->pot + t->offset[c] + (size_t) sr[pa] * wc;
			sr[c] = lv_draw(pr + off[c], wc, U[(size_t) r * nc + c], row);
		}
	}
}

/*
 * lv_tree_pair_marginals averages, over the S decoder distributions P,
 * the model's exact pair distributions of every edge: an upward pass, then
 * a downward pass whose outside vectors give each pair
 * A(x_p) psi(x_p, x_c) inside_c(x_c), A = outside_p inside_p / msg_c.
 */
int
lv_tree_pair_marginals(const lv_tree *t, const lv_schema *s, const double *P,
					   int S, double *out)
{
	int off[LV_MAX_COLUMNS];
	int64_t moff[LV_MAX_COLUMNS];
	int o = lv_schema_output_dim(s),
		c,
		r,
		idx,
		i,
		j;
	int64_t mtot = 0;
	double *p,
		*msg,
		*outside,
		*A,
		*pair;

	lv_col_offsets(s, off);
	for (c = 0; c < s->ncols; c++)
	{
		moff[c] = mtot;
		if (t->parent[c] >= 0)
			mtot += lv_col_width(&s->cols[t->parent[c]]);
	}
	p = lv_alloc(sizeof(double) * (size_t) o);
	outside = lv_alloc(sizeof(double) * (size_t) o);
	msg = lv_alloc(sizeof(double) * (size_t) (mtot + 1));
	A = lv_alloc(sizeof(double) * (size_t) o);
	pair = lv_alloc(sizeof(double) * LV_TREE_MAX_CELLS);
	if (p == NULL || outside == NULL || msg == NULL || A == NULL || pair == NULL)
	{
		lv_free(p);
		lv_free(outside);
		lv_free(msg);
		lv_free(A);
		lv_free(pair);
		return LV_ERR_NOMEM;
	}
	memset(out, 0, sizeof(double) * (size_t) t->npot);
	for (r = 0; r < S; r++)
	{
		memcpy(p, P + (size_t) r * o, sizeof(double) * (size_t) o);
		lv_tree_upward(t, s, off, p, msg, moff);
		for (idx = 0; idx < s->ncols; idx++)
		{
			int cc = t->order[idx],
				pa = t->parent[cc],
				wc = lv_col_width(&s->cols[cc]),
				wp;
			double *oc = outside + off[cc],
				   sum = 0.0,
				   mx = 0.0;
			const float *psi;

			if (pa < 0)
			{
				for (j = 0; j < wc; j++)
					oc[j] = 1.0;
				continue;
			}
			wp = lv_col_width(&s->cols[pa]);
			psi = t->pot + t->offset[cc];
			for (i = 0; i < wp; i++)
				A[i] = outside[off[pa] + i] * p[off[pa] + i] / msg[moff[cc] + i];
			for (j = 0; j < wc; j++)
				oc[j] = 0.0;
			for (i = 0; i < wp; i++)
			{
				const float *row = psi + (size_t) i * wc;
				double *pr = pair + (size_t) i * wc;

				for (j = 0; j < wc; j++)
				{
					double a = A[i] * (double) row[j];

					oc[j] += a;
					pr[j] = a * p[off[cc] + j];
					sum += pr[j];
				}
			}
			for (i = 0; i < wp * wc; i++)
				out[t->offset[cc] + i] += sum > 0.0 ? pair[i] / sum : 0.0;
			for (j = 0; j < wc; j++)
				if (oc[j] > mx)
					mx = oc[j];
			for (j = 0; j < wc; j++)
				oc[j] = mx > 0.0 ? oc[j] / mx : 1.0;
		}
	}
	for (i = 0; i < t->npot; i++)
		out[i] /= S;
	lv_free(p);
	lv_free(outside);
	lv_free(msg);
	lv_free(A);
	lv_free(pair);
	return LV_OK;
}

/*
 * lv_tree_fit fits the potentials by damped proportional fitting: every
 * step multiplies each cell's potential by (target / model)^damping, all
 * edges at once, then rescales each table to a maximum of 1. Simultaneous
 * steps on edges that share a column can overshoot: a step that raises the
 * largest cell error is undone and the damping halved (backtracking), so
 * the error never grows.
 */
double
lv_tree_fit(lv_tree *t, const lv_schema *s, const double *P, int S,
			const double *target, int iters)
{
	size_t np = (size_t) (t->npot > 0 ? t->npot : 1);
	double *model = lv_alloc(sizeof(double) * np);
	double *accepted = lv_alloc(sizeof(double) * np); /* model of saved */
	float *saved = lv_alloc(sizeof(float) * np);
	double err = INFINITY,
		   damping = LV_TREE_DAMPING;
	int it,
		c;
	int64_t i;

	if (model == NULL || accepted == NULL || saved == NULL)
	{
		err = -1.0;
		goto done;
	}
	for (it = 0; it <= iters; it++)
	{
		double e = 0.0;

		if (lv_tree_pair_marginals(t, s, P, S, model) != LV_OK)
		{
			err = -1.0;
			goto done;
		}
		for (i = 0; i < t->npot; i++)
			if (fabs(model[i] - target[i]) > e)
				e = fabs(model[i] - target[i]);
		if (e > err && it > 0)
		{
			/* undo the last step, retry it at half the damping */
			memcpy(t->pot, saved, sizeof(float) * (size_t) t->npot);
			memcpy(model, accepted, sizeof(double) * (size_t) t->npot);
			damping *= 0.5;
		}
		else
		{
			err = e;
			memcpy(accepted, model, sizeof(double) * (size_t) t->npot);
		}
		if (it == iters || damping < 1e-3)
			break;
		memcpy(saved, t->pot, sizeof(float) * (size_t) t->npot);
		for (c = 0; c < s->ncols; c++)
		{
			int64_t cells,
				b;
			double mx = 0.0;

			if (t->parent[c] < 0)
				continue;
			b = t->offset[c];
			cells = (int64_t) lv_col_width(&s->cols[t->parent[c]]) *
					lv_col_width(&s->cols[c]);
			for (i = 0; i < cells; i++)
			{
				double step = damping *
							  (log(target[b + i]) - log(model[b + i] > 1e-300 ? model[b + i] : 1e-300));
				double v;

				if (step > LV_TREE_STEP)
					step = LV_TREE_STEP;
				if (!(step > -LV_TREE_STEP))
					step = -LV_TREE_STEP;
				v = (double) t->pot[b + i] * exp(step);
				t->pot[b + i] = (float) v;
				if (v > mx)
					mx = v;
			}
			for (i = 0; i < cells; i++)
			{
				double v = mx > 0.0 ? (double) t->pot[b + i] / mx : 1.0;

				t->pot[b + i] = (float) (v > 1e-30 ? v : 1e-30);
			}
		}
	}
done:
	lv_free(model);
	lv_free(accepted);
	lv_free(saved);
	return err;
}

/*
 * lv_prior_probs decodes S draws z ~ N(0, noise_sd^2 I) from the (key,
 * TRAIN, stream) stream and writes their slot distributions to P
 * (S x output dim). Returns LV_OK or LV_ERR_NOMEM.
 */
static int
lv_prior_probs(const lv_model *m, int S, const uint8_t key[LV_KEY_BYTES],
			   uint64_t stream, double *P)
{
	int o = lv_schema_output_dim(&m->schema),
		r;
	float *L = lv_alloc(sizeof(float) * (size_t) S * o);

	if (L == NULL || lv_prior_logits(m, S, key, stream, L) != LV_OK)
	{
		lv_free(L);
		return LV_ERR_NOMEM;
	}
	for (r = 0; r < S; r++)
		lv_column_probs(&m->schema, L + (size_t) r * o, P + (size_t) r * o);
	lv_free(L);
	return LV_OK;
}

/* lv_pair_counts counts the rows of T in the wa x wb table of columns a, b. */
static void
lv_pair_counts(const lv_schema *s, const int32_t *T, int64_t n, int a, int b,
			   double *counts)
{
	int wa = lv_col_width(&s->cols[a]),
		wb = lv_col_width(&s->cols[b]);
	int64_t r;

	memset(counts, 0, sizeof(double) * (size_t) wa * wb);
	for (r = 0; r < n; r++)
	{
		int x = lv_target_cell(&s->cols[a], T[(size_t) r * s->ncols + a]),
			y = lv_target_cell(&s->cols[b], T[(size_t) r * s->ncols + b]);

		if (x >= 0 && x < wa && y >= 0 && y < wb)
			counts[(size_t) x * wb + y] += 1.0;
	}
}

/* lv_cmp_desc orders doubles from the largest down. */
static int
lv_cmp_desc(const void *a, const void *b)
{
	double x = *(const double *) a,
		   y = *(const double *) b;

	return (x < y) - (x > y);
}

/*
 * lv_simplex_project replaces the w noisy counts v by their Euclidean
 * projection onto {x >= 0, sum x = total}: v_i - theta clamped at 0, with
 * the theta that makes the sum right (the least-squares estimate under the
 * constraints; clamping alone would keep the positive half of the noise of
 * every empty cell). work holds w doubles.
 */
void
lv_simplex_project(double *v, int w, double total, double *work)
{
	double cs = 0.0,
		   theta = 0.0;
	int j;

	memcpy(work, v, sizeof(double) * (size_t) w);
	qsort(work, (size_t) w, sizeof(double), lv_cmp_desc);
	for (j = 0; j < w; j++)
	{
		cs += work[j];
		if (work[j] - (cs - total) / (j + 1) > 0.0)
			theta = (cs - total) / (j + 1);
	}
	for (j = 0; j < w; j++)
		v[j] = v[j] - theta > 0.0 ? v[j] - theta : 0.0;
}

/* lv_find returns the component of v (union-find with path halving). */
static int
lv_find(int *comp, int v)
{
	while (comp[v] != v)
	{
		comp[v] = comp[comp[v]];
		v = comp[v];
	}
	return v;
}

/*
 * lv_model_fit_tree selects the edges (exponential mechanism on the L1
 * error of the decoder's pair marginals), measures their counts with
 * exact discrete Gaussian noise (lv_marginal_noise), orients the forest from column 0 of each component, and
 * fits the potentials (see lv_tree.h).
 */
int
lv_model_fit_tree(lv_model *m, const int32_t *T, int64_t n, double n_hat,
				  double eps_round, double sens, double noise_sd,
				  const uint8_t key[LV_KEY_BYTES], int *edges,
				  int (*interrupted)(void *arg), void *arg)
{
	const lv_schema *s;
	int nc,
		o,
		npairs = 0,
		a,
		b,
		i,
		rc = LV_OK,
		nedges = 0;
	int off[LV_MAX_COLUMNS];
	int comp[LV_MAX_COLUMNS],
		adj[LV_TREE_MAX_COLUMNS][LV_TREE_MAX_COLUMNS],
		nadj[LV_MAX_COLUMNS];
	int32_t parent[LV_MAX_COLUMNS];
	int *pa = NULL,
		*pb = NULL,
		*used = NULL;
	double *score = NULL,
		   *P = NULL,
		   *cnt = NULL,
		   *M = NULL,
		   *target = NULL;
	lv_stream rng;

	if (m == NULL || T == NULL || n < 1 || edges == NULL || key == NULL ||
		m->mechanism != LV_MECH_CENTRAL || !(eps_round > 0) || !(sens > 0) ||
		!(noise_sd >= 0) || !(n_hat > 0) || m->prior_points != 0)
		return LV_ERR_ARG;
	s = &m->schema;
	nc = s->ncols;
	*edges = 0;
	lv_tree_free(&m->tree);
	if (nc < 2 || nc > LV_TREE_MAX_COLUMNS)
		return LV_ERR_ARG;
	o = lv_schema_output_dim(s);
	lv_col_offsets(s, off);

	pa = lv_alloc(sizeof(int) * nc * nc);
	pb = lv_alloc(sizeof(int) * nc * nc);
	used = lv_calloc((size_t) nc * nc, sizeof(int));
	score = lv_alloc(sizeof(double) * nc * nc);
	P = lv_alloc(sizeof(double) * (size_t) LV_TREE_POOL * o);
	cnt = lv_alloc(sizeof(double) * LV_TREE_MAX_CELLS);
	M = lv_alloc(sizeof(double) * LV_TREE_MAX_CELLS);
	if (pa == NULL || pb == NULL || used == NULL || score == NULL ||
		P == NULL || cnt == NULL || M == NULL)
	{
		rc = LV_ERR_NOMEM;
		goto done;
	}

	/* 1. scores of every pair whose table fits, against the decoder's own */
	rc = lv_prior_probs(m, LV_TREE_SELECT_POOL, key, LV_TREE_POOL_STREAM, P);
	if (rc != LV_OK)
		goto done;
	for (a = 0; a < nc; a++)
		for (b = a + 1; b < nc; b++)
		{
			int wa = lv_col_width(&s->cols[a]),
				wb = lv_col_width(&s->cols[b]);
			double l1 = 0.0;

			if ((int64_t) wa * wb > LV_TREE_MAX_CELLS)
				continue;
			if (interrupted != NULL && interrupted(arg))
			{
				rc = LV_ERR_INTERRUPTED;
				goto done;
			}
			lv_pair_counts(s, T, n, a, b, cnt);
			/* M = P_a^T P_b / S */
			cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, wa, wb,
						LV_TREE_SELECT_POOL, n_hat / LV_TREE_SELECT_POOL,
						P + off[a], o, P + off[b], o, 0.0, M, wb);
			for (i = 0; i < wa * wb; i++)
				l1 += fabs(cnt[i] - M[i]);
			pa[npairs] = a;
			pb[npairs] = b;
			/*
			 * less the L1 error the measurement's own noise is expected to
			 * add (as MST): a large table is worth measuring only when the
			 * decoder is wrong about it by more than the noise
			 */
			score[npairs] = l1 - sqrt(2.0 / M_PI) * noise_sd * wa * wb;
			npairs++;
		}

	/* 2. Kruskal with the exponential mechanism, at most nc - 1 rounds */
	for (i = 0; i < nc; i++)
	{
		comp[i] = i;
		nadj[i] = 0;
		parent[i] = -1;
	}
	lv_stream_init(&rng, key, LV_DOMAIN_TRAIN, LV_TREE_SELECT_STREAM);
	for (int round = 0; round < nc - 1; round++)
	{
		double mx = -INFINITY,
			   sum = 0.0,
			   u,
			   acc = 0.0;
		int pick = -1,
			last = -1;

		for (i = 0; i < npairs; i++)
			if (!used[i] && lv_find(comp, pa[i]) != lv_find(comp, pb[i]) &&
				score[i] > mx)
				mx = score[i];
		if (mx == -INFINITY)
			break; /* no pair joins two components (tables too large) */
		for (i = 0; i < npairs; i++)
			if (!used[i] && lv_find(comp, pa[i]) != lv_find(comp, pb[i]))
				sum += exp(eps_round * (score[i] - mx) / (2.0 * sens));
		u = lv_stream_uniform(&rng) * sum;
		for (i = 0; i < npairs; i++)
			if (!used[i] && lv_find(comp, pa[i]) != lv_find(comp, pb[i]))
			{
				acc += exp(eps_round * (score[i] - mx) / (2.0 * sens));
				last = i;
				if (u < acc)
				{
					pick = i;
					break;
				}
			}
		if (pick < 0)
			pick = last;
		used[pick] = 1;
		comp[lv_find(comp, pa[pick])] = lv_find(comp, pb[pick]);
		adj[pa[pick]][nadj[pa[pick]]++] = pb[pick];
		adj[pb[pick]][nadj[pb[pick]]++] = pa[pick];
		nedges++;
	}
	if (nedges == 0)
		goto done;

	/* orient: breadth-first from the lowest column of every component */
	{
		int queue[LV_MAX_COLUMNS],
			seen[LV_MAX_COLUMNS] = {0};

		for (a = 0; a < nc; a++)
		{
			int qh = 0,
				qt = 0;

			if (seen[a])
				continue;
			seen[a] = 1;
			queue[qt++] = a;
			while (qh < qt)
			{
				int v = queue[qh++];

				for (i = 0; i < nadj[v]; i++)
					if (!seen[adj[v][i]])
					{
						seen[adj[v][i]] = 1;
						parent[adj[v][i]] = v;
						queue[qt++] = adj[v][i];
					}
			}
		}
	}
	rc = lv_tree_build(&m->tree, s, parent);
	if (rc != LV_OK)
		goto done;

	/* 3. noisy counts of the chosen pairs, as distributions */
	target = lv_alloc(sizeof(double) * (size_t) m->tree.npot);
	if (target == NULL)
	{
		rc = LV_ERR_NOMEM;
		goto done;
	}
	{
		lv_stream ns;

		lv_stream_init(&ns, key, LV_DOMAIN_TRAIN, LV_TREE_NOISE_STREAM);
		for (i = 0; i < nc; i++)
		{
			int cells;

			if (parent[i] < 0)
				continue;
			cells = lv_col_width(&s->cols[parent[i]]) * lv_col_width(&s->cols[i]);
			lv_pair_counts(s, T, n, parent[i], i, cnt);
			rc = lv_marginal_noise(cnt, cells, noise_sd, &ns);
			if (rc != LV_OK)
				goto done;
			lv_simplex_project(cnt, cells, n_hat, M);
			lv_marginal_normalise(cnt, cells, target + m->tree.offset[i]);
		}
	}

	/* 4. the potentials, over a fresh pool of prior draws */
	rc = lv_prior_probs(m, LV_TREE_POOL, key, LV_TREE_FIT_STREAM, P);
	if (rc != LV_OK)
		goto done;
	if (interrupted != NULL && interrupted(arg))
	{
		rc = LV_ERR_INTERRUPTED;
		goto done;
	}
	if (lv_tree_fit(&m->tree, s, P, LV_TREE_POOL, target, LV_TREE_ITERS) < 0)
		rc = LV_ERR_NOMEM;
	else
		*edges = nedges;

done:
	if (rc != LV_OK)
		lv_tree_free(&m->tree);
	lv_free(pa);
	lv_free(pb);
	lv_free(used);
	lv_free(score);
	lv_free(P);
	lv_free(cnt);
	lv_free(M);
	lv_free(target);
	return rc;
}
