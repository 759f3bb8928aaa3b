/*
 * lv_maxent.c - the dependence a mixture has beyond a tree of its measured
 * pairs, and its gradient (lv_maxent.h).
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "lv_maxent.h"
#include "lv_nn.h"

#define LV_MAXENT_TINY 1e-300 /* probabilities are clamped here before a log */
#define LV_MAXENT_BLOCK 8     /* points gathered together (one cache line of doubles) */

/* lv_tiny clamps a probability at LV_MAXENT_TINY (NaN too); inlined, unlike fmax. */
static inline double
lv_tiny(double p)
{
	return p > LV_MAXENT_TINY ? p : LV_MAXENT_TINY;
}

/* lv_maxent_alloc sets up w (lv_maxent.h). */
int
lv_maxent_alloc(lv_maxent *w, int B, int o, int ncols, int S)
{
	memset(w, 0, sizeof(*w));
	w->S = S;
	w->B = B;
	w->o = o;
	w->U = o < S * ncols ? o : S * ncols;
	w->logP = lv_alloc(sizeof(double) * (size_t) w->U * B);
	w->Ic = lv_alloc(sizeof(double) * (size_t) w->U * B);
	w->slots = lv_alloc(sizeof(int) * (size_t) w->U);
	w->slot_of = lv_alloc(sizeof(int) * (size_t) o);
	w->L = lv_alloc(sizeof(double) * (size_t) S * B);
	w->W = lv_alloc(sizeof(double) * (size_t) S * B);
	w->E = lv_alloc(sizeof(double) * (size_t) S * B);
	w->mx = lv_alloc(sizeof(double) * (size_t) S);
	w->R = lv_alloc(sizeof(double) * (size_t) S * o);
	w->logmu = lv_alloc(sizeof(double) * (size_t) o);
	w->X = lv_alloc(sizeof(int) * (size_t) S * ncols);
	w->k = lv_alloc(sizeof(int) * (size_t) S);
	if (w->logP == NULL || w->Ic == NULL || w->slots == NULL || w->slot_of == NULL || w->L == NULL || w->W == NULL || w->E == NULL || w->mx == NULL || w->R == NULL ||
		w->logmu == NULL || w->X == NULL || w->k == NULL)
	{
		lv_maxent_free(w);
		return LV_ERR_NOMEM;
	}
	for (int q = 0; q < o; q++)
		w->slot_of[q] = -1;
	return LV_OK;
}

/* lv_maxent_free releases what w owns (lv_maxent.h). */
void
lv_maxent_free(lv_maxent *w)
{
	lv_free(w->logP);
	lv_free(w->Ic);
	lv_free(w->slots);
	lv_free(w->slot_of);
	lv_free(w->L);
	lv_free(w->W);
	lv_free(w->E);
	lv_free(w->mx);
	lv_free(w->R);
	lv_free(w->logmu);
	lv_free(w->X);
	lv_free(w->k);
	memset(w, 0, sizeof(*w));
}

/* lv_maxent_logmu fills logmu: the log of the mean of P's rows. */
static void
lv_maxent_logmu(lv_maxent *w, const double *P)
{
	int j,
		q;

	memset(w->logmu, 0, sizeof(double) * (size_t) w->o);
	for (j = 0; j < w->B; j++)
		for (q = 0; q < w->o; q++)
			w->logmu[q] += P[(size_t) j * w->o + q];
	for (q = 0; q < w->o; q++)
		w->logmu[q] = log(lv_tiny(w->logmu[q] / w->B));
}

/*
 * lv_maxent_rows fills, for the slots the S samples drew (at most U),
 * logP[u][j] = log P_j[slots[u]] and Ic[u][j] = 1 / P_j[slots[u]] (P
 * clamped), then L[t][j] = log prod_c P_j[c][x_t,c] (the slots' logs
 * added in column order, a whole row of B at a time: contiguous reads).
 */
static void
lv_maxent_rows(lv_maxent *w, int ncols, const double *P)
{
	int n = 0,
		t,
		u,
		j,
		c;

	for (t = 0; t < w->S * ncols; t++)
		if (w->slot_of[w->X[t]] < 0)
		{
			w->slot_of[w->X[t]] = n;
			w->slots[n++] = w->X[t];
		}
	for (int j0 = 0; j0 < w->B; j0 += LV_MAXENT_BLOCK) /* a cache line of Ic at a time */
		for (u = 0; u < n; u++)
			for (j = j0; j < w->B && j < j0 + LV_MAXENT_BLOCK; j++)
				w->Ic[(size_t) u * w->B + j] = lv_tiny(P[(size_t) j * w->o + w->slots[u]]);
	for (size_t i = 0; i < (size_t) n * w->B; i++)
	{
		w->logP[i] = log(w->Ic[i]);
		w->Ic[i] = 1.0 / w->Ic[i];
	}
	memset(w->L, 0, sizeof(double) * (size_t) w->S * w->B);
	for (t = 0; t < w->S; t++)
		for (c = 0; c < ncols; c++)
		{
			const double *restrict lp = w->logP + (size_t) w->slot_of[w->X[t * ncols + c]] * w->B;
			double *restrict L = w->L + (size_t) t * w->B;

			for (j = 0; j < w->B; j++)
				L[j] += lp[j];
		}
}

/* lv_maxent_forget clears slot_of for the next call. */
static void
lv_maxent_forget(lv_maxent *w, int ncols)
{
	int t;

	for (t = 0; t < w->S * ncols; t++)
		w->slot_of[w->X[t]] = -1;
}

/*
 * lv_maxent_draw draws sample t: a point k uniformly and a row x ~ P_k
 * (each column's slot by inverse CDF).
 */
static void
lv_maxent_draw(lv_maxent *w, const lv_schema *s, const int *off, const double *P,
			   int t, lv_stream *rng)
{
	int *x = w->X + (size_t) t * s->ncols;
	int k = (int) (lv_stream_uniform(rng) * w->B),
		c,
		q;

	k = k < w->B ? k : w->B - 1;
	w->k[t] = k;
	for (c = 0; c < s->ncols; c++)
	{
		int wc = lv_column_out_width(&s->cols[c]);
		const double *p = P + (size_t) k * w->o + off[c];
		double u = lv_stream_uniform(rng),
			   acc = 0.0;

		for (q = 0; q < wc - 1 && (acc += p[q]) <= u; q++)
			;
		x[c] = off[c] + q;
	}
}

/*
 * lv_maxent_weights writes W[t][j] = prod_{c' != c} P_j[c'][x_t,c'] for
 * every sample t, scaled by exp(-max_j L[t][j]): the full product over
 * the sampled slot's probability, or (where the full product underflows)
 * its exponent.
 */
static void
lv_maxent_weights(lv_maxent *w, int c, int ncols)
{
	int t,
		j;

	for (t = 0; t < w->S; t++)
	{
		const double *L = w->L + (size_t) t * w->B;
		const double *restrict E = w->E + (size_t) t * w->B;
		double *restrict W = w->W + (size_t) t * w->B;
		int x = w->X[(size_t) t * ncols + c];
		const double *lp = w->logP + (size_t) w->slot_of[x] * w->B;
		const double *restrict ic = w->Ic + (size_t) w->slot_of[x] * w->B;

		for (j = 0; j < w->B; j++)
			W[j] = E[j] * ic[j];
		for (j = 0; j < w->B; j++)
			if (!(E[j] > 1e-290))
				W[j] = exp(L[j] - lp[j] - w->mx[t]);
	}
}

/*
 * lv_maxent_column adds column c's share of the TC gradient: R = W P_c =
 * p(x_c = s, x_-c) (scaled per sample), G[k_t][c, s] += lam/S (log R - log mu_c).
 */
static void
lv_maxent_column(lv_maxent *w, const int *off, int c, int wc, int ncols, const double *P,
				 double lam, double *G)
{
	int t,
		q;

	lv_maxent_weights(w, c, ncols);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w->S, wc, w->B, 1.0, w->W, w->B,
				P + off[c], w->o, 0.0, w->R, wc);
	for (t = 0; t < w->S; t++)
	{
		double *g = G + (size_t) w->k[t] * w->o + off[c];
		const double *r = w->R + (size_t) t * wc;

		for (q = 0; q < wc; q++)
			g[q] += lam / w->S * (log(lv_tiny(r[q])) - w->logmu[off[c] + q]);
	}
}

/* lv_maxent_scale sets mx[t] = max_j L[t][j] and E[t][j] = exp(L[t][j] - mx[t]). */
static void
lv_maxent_scale(lv_maxent *w)
{
	int t,
		j;

	for (t = 0; t < w->S; t++)
	{
		const double *L = w->L + (size_t) t * w->B;
		double *E = w->E + (size_t) t * w->B;
		double mx = -INFINITY;

		for (j = 0; j < w->B; j++)
			mx = L[j] > mx ? L[j] : mx;
		for (j = 0; j < w->B; j++)
			E[j] = exp(L[j] - mx);
		w->mx[t] = mx;
	}
}

/* lv_maxent_tc_grad adds lam times the gradient of TC(X) to G (lv_maxent.h). */
void
lv_maxent_tc_grad(lv_maxent *w, const lv_schema *s, const double *P,
				  double lam, lv_stream *rng, double *G)
{
	int off[LV_MAX_COLUMNS];
	int t,
		c;

	lv_slot_offsets(s, off);
	lv_maxent_logmu(w, P);
	for (t = 0; t < w->S; t++)
		lv_maxent_draw(w, s, off, P, t, rng);
	lv_maxent_rows(w, s->ncols, P);
	lv_maxent_scale(w);
	for (c = 0; c < s->ncols; c++)
		lv_maxent_column(w, off, c, lv_column_out_width(&s->cols[c]), s->ncols, P, lam, G);
	lv_maxent_forget(w, s->ncols);
}

/* lv_pair_mi returns I(X_a; X_b) of mu, and dI/dmu in D (lv_maxent.h). */
double
lv_pair_mi(const double *mu, int wa, int wb, double *D, double *scratch)
{
	double *ma = scratch,
		   *mb = scratch + wa,
		   mi = 0.0;
	int i,
		j;

	memset(scratch, 0, sizeof(double) * (size_t) (wa + wb));
	for (i = 0; i < wa; i++)
		for (j = 0; j < wb; j++)
		{
			ma[i] += mu[i * wb + j];
			mb[j] += mu[i * wb + j];
		}
	for (i = 0; i < wa + wb; i++)
		scratch[i] = log(lv_tiny(scratch[i]));
	for (i = 0; i < wa; i++)
		for (j = 0; j < wb; j++)
		{
			double v = mu[i * wb + j],
				   d = log(lv_tiny(v)) - ma[i] - mb[j];

			mi += v > 0 ? v * d : 0.0;
			if (D)
				D[i * wb + j] = d;
		}
	return fmax(mi, 0.0);
}

/* lv_maxent_root finds c's root in the union-find parent[] (path halving). */
static int
lv_maxent_root(int *parent, int c)
{
	while (parent[c] != c)
		c = parent[c] = parent[parent[c]];
	return c;
}

/* lv_maxent_tree marks a maximum spanning forest of the pairs (lv_maxent.h). */
void
lv_maxent_tree(const int *a, const int *b, const double *mi, int n, int ncols, int *edge)
{
	int parent[LV_MAX_COLUMNS];
	int i,
		c;

	for (c = 0; c < ncols; c++)
		parent[c] = c;
	memset(edge, 0, sizeof(int) * (size_t) n);
	for (;;)
	{
		int best = -1;

		/* the heaviest pair not yet marked that joins two trees */
		for (i = 0; i < n; i++)
			if (a[i] >= 0 && !edge[i] &&
				lv_maxent_root(parent, a[i]) != lv_maxent_root(parent, b[i]) &&
				(best < 0 || mi[i] > mi[best]))
				best = i;
		if (best < 0)
			return;
		edge[best] = 1;
		parent[lv_maxent_root(parent, a[best])] = lv_maxent_root(parent, b[best]);
	}
}
