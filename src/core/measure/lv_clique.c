/*
 * lv_clique.c - marginals over cliques of columns (lv_clique.h).
 */
#include <string.h>
#include <cblas.h>

#include "lv_clique.h"
#include "lv_nn.h"

/* lv_slot_offsets writes each column's first slot in a probability row. */
void
lv_slot_offsets(const lv_schema *s, int *off)
{
	int c,
		o = 0;

	for (c = 0; c < s->ncols; c++)
	{
		off[c] = o;
		o += lv_column_out_width(&s->cols[c]);
	}
}

/* lv_clique_make sets q to the clique of k ascending columns (lv_clique.h). */
int
lv_clique_make(const lv_schema *s, int k, const int *cols, lv_clique *q)
{
	int i;

	if (s == NULL || cols == NULL || q == NULL || k < 1 || k > LV_CLIQUE_MAX)
		return LV_ERR_ARG;
	memset(q, 0, sizeof(*q));
	q->k = k;
	q->cells = 1;
	for (i = 0; i < k; i++)
	{
		if (cols[i] < 0 || cols[i] >= s->ncols || (i > 0 && cols[i] <= cols[i - 1]))
			return LV_ERR_ARG;
		q->cols[i] = cols[i];
		q->width[i] = lv_column_out_width(&s->cols[cols[i]]);
		q->cells *= q->width[i];
	}
	return LV_OK;
}

/* lv_target_cell maps a target to its slot (lv_clique.h). */
int
lv_target_cell(const lv_column *col, int32_t t)
{
	if (col->kind == LV_COL_NUMERIC && t < 0)
		return col->nullable ? col->nbins : -1;
	return t;
}

/* lv_clique_counts writes the counts of T in q's cells (lv_clique.h). */
void
lv_clique_counts(const lv_schema *s, const lv_clique *q, const int32_t *T,
				 int64_t n, double *counts)
{
	memset(counts, 0, sizeof(double) * (size_t) q->cells);
	lv_clique_add_counts(s, q, T, n, counts);
}

/* lv_clique_add_counts adds the counts of T to q's cells (lv_clique.h). */
void
lv_clique_add_counts(const lv_schema *s, const lv_clique *q, const int32_t *T,
					 int64_t n, double *counts)
{
	lv_clique_add_weighted(s, q, T, NULL, n, counts);
}

/* lv_clique_add_weighted adds the rows of T, row r wt[r] times (lv_clique.h). */
void
lv_clique_add_weighted(const lv_schema *s, const lv_clique *q, const int32_t *T,
					   const double *wt, int64_t n, double *counts)
{
	int64_t r;

	for (r = 0; r < n; r++)
	{
		int64_t cell = 0;
		int i;

		for (i = 0; i < q->k; i++)
		{
			int c = q->cols[i];
			int x = lv_target_cell(&s->cols[c], T[(size_t) r * s->ncols + c]);

			if (x < 0 || x >= q->width[i])
				break;
			cell = cell * q->width[i] + x;
		}
		if (i == q->k)
			counts[cell] += wt ? wt[r] : 1.0;
	}
}

/* lv_clique_expect writes the generator's expected marginal (lv_clique.h). */
void
lv_clique_expect(const lv_clique *q, const double *P, int S, int o,
				 const int *off, double *mu)
{
	const double inv = 1.0 / S;
	int s,
		i,
		j;

	if (q->k == 2)
	{
		/* mu = P_a^T P_b / S */
		cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->width[0],
					q->width[1], S, inv, P + off[q->cols[0]], o,
					P + off[q->cols[1]], o, 0.0, mu, q->width[1]);
		return;
	}
	memset(mu, 0, sizeof(double) * (size_t) q->cells);
	for (s = 0; s < S; s++)
	{
		const double *pa = P + (size_t) s * o + off[q->cols[0]];

		if (q->k == 1)
		{
			for (i = 0; i < q->width[0]; i++)
				mu[i] += inv * pa[i];
			continue;
		}
		for (i = 0; i < q->width[0]; i++)
		{
			const double *pb = P + (size_t) s * o + off[q->cols[1]];
			const double *pc = P + (size_t) s * o + off[q->cols[2]];

			for (j = 0; j < q->width[1]; j++)
			{
				double w = inv * pa[i] * pb[j];
				double *row = mu + ((size_t) i * q->width[1] + j) * q->width[2];
				int l;

				for (l = 0; l < q->width[2]; l++)
					row[l] += w * pc[l];
			}
		}
	}
}

/* lv_clique_grad3 is lv_clique_grad for a clique of three columns. */
static void
lv_clique_grad3(const lv_clique *q, const double *P, int S, int o,
				const int *off, const double *D, double f, double *G)
{
	int wa = q->width[0],
		wb = q->width[1],
		wc = q->width[2];
	int s,
		i,
		j,
		l;

	for (s = 0; s < S; s++)
	{
		const double *pa = P + (size_t) s * o + off[q->cols[0]];
		const double *pb = P + (size_t) s * o + off[q->cols[1]];
		const double *pc = P + (size_t) s * o + off[q->cols[2]];
		double *ga = G + (size_t) s * o + off[q->cols[0]];
		double *gb = G + (size_t) s * o + off[q->cols[1]];
		double *gc = G + (size_t) s * o + off[q->cols[2]];

		for (i = 0; i < wa; i++)
			for (j = 0; j < wb; j++)
			{
				const double *d = D + ((size_t) i * wb + j) * wc;
				double dc = 0.0;

				for (l = 0; l < wc; l++)
				{
					dc += d[l] * pc[l];
					gc[l] += f * pa[i] * pb[j] * d[l];
				}
				ga[i] += f * pb[j] * dc;
				gb[j] += f * pa[i] * dc;
			}
	}
}

/* lv_clique_grad adds scale times d(sum D mu)/dP to G (lv_clique.h). */
void
lv_clique_grad(const lv_clique *q, const double *P, int S, int o,
			   const int *off, const double *D, double scale, double *G)
{
	const double f = scale / S;
	int s,
		i;

	if (q->k == 1)
	{
		for (s = 0; s < S; s++)
			for (i = 0; i < q->width[0]; i++)
				G[(size_t) s * o + off[q->cols[0]] + i] += f * D[i];
		return;
	}
	if (q->k == 3)
	{
		lv_clique_grad3(q, P, S, o, off, D, f, G);
		return;
	}
	/* G_a += f P_b D^T, G_b += f P_a D */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, S, q->width[0],
				q->width[1], f, P + off[q->cols[1]], o, D, q->width[1], 1.0,
				G + off[q->cols[0]], o);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, S, q->width[1],
				q->width[0], f, P + off[q->cols[0]], o, D, q->width[1], 1.0,
				G + off[q->cols[1]], o);
}
