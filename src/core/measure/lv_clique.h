/*
 * lv_clique.h - marginals over sets of one to three columns (cliques): the
 * data's counts, a generator's expected marginal and its gradient. No
 * PostgreSQL here.
 *
 * A clique's cells are the product of its columns' slots (the decoder's
 * head layout, lv_marginals.h), row-major in the order of cols. One row
 * adds 1 to exactly one cell, so adding or removing a row moves a clique's
 * count vector by 1 in L1 and in L2 (a unit of k rows: k; replacing a row:
 * 2 in L1, sqrt 2 in L2).
 *
 * A generator draws the columns of a row independently given its latent z,
 * with slot probabilities p_c(z) (lv_column_probs). Its expected marginal of
 * a clique over S draws z_1..z_S is
 *     mu[i, j, l] = (1/S) sum_s p_a(z_s)[i] p_b(z_s)[j] p_c(z_s)[l],
 * the estimator GEM (Liu et al. 2021) fits to noisy measurements.
 */
#ifndef LV_CLIQUE_H
#define LV_CLIQUE_H

#include <stdint.h>
#include "lv_model.h"

#define LV_CLIQUE_MAX 3

typedef struct lv_clique
{
	int32_t k;                   /* columns: 1 .. LV_CLIQUE_MAX */
	int32_t cols[LV_CLIQUE_MAX]; /* ascending */
	int32_t width[LV_CLIQUE_MAX];
	int64_t cells; /* product of the widths */
} lv_clique;

/* lv_slot_offsets writes each column's first slot in a probability row. */
void lv_slot_offsets(const lv_schema *s, int *off);

/* lv_target_cell maps a target of T to its slot, or -1 (a numeric NULL is -1 in T). */
int lv_target_cell(const lv_column *col, int32_t t);

/*
 * lv_clique_make sets q to the clique of the k ascending columns cols of s.
 * Returns LV_OK or LV_ERR_ARG.
 */
int lv_clique_make(const lv_schema *s, int k, const int *cols, lv_clique *q);

/*
 * lv_clique_counts writes the counts of the n targets T (n x ncols, as
 * lv_encode_row writes them) in q's cells.
 */
void lv_clique_counts(const lv_schema *s, const lv_clique *q,
					  const int32_t *T, int64_t n, double *counts);

/* lv_clique_add_counts adds the counts of T to q's cells (a batch at a time). */
void lv_clique_add_counts(const lv_schema *s, const lv_clique *q,
						  const int32_t *T, int64_t n, double *counts);

/*
 * lv_clique_add_weighted adds row r of T wt[r] times (distinct rows with
 * their counts, as a GROUP BY returns them); wt NULL: once each.
 */
void lv_clique_add_weighted(const lv_schema *s, const lv_clique *q,
							const int32_t *T, const double *wt, int64_t n,
							double *counts);

/*
 * lv_clique_expect writes the generator's expected marginal of q (a
 * distribution over its cells) over the S probability rows P (S x o, each
 * lv_column_probs of a draw's logits; off from lv_slot_offsets).
 */
void lv_clique_expect(const lv_clique *q, const double *P, int S, int o,
					  const int *off, double *mu);

/*
 * lv_clique_grad adds to G (S x o) scale times the gradient, with respect
 * to P, of sum over cells of D * mu, mu as lv_clique_expect computes it:
 * with D = 2 (mu - y) it is the gradient of the squared error to y.
 */
void lv_clique_grad(const lv_clique *q, const double *P, int S, int o,
					const int *off, const double *D, double scale, double *G);

#endif
