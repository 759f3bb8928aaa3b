/*
 * lv_tree.h - a tree of pairwise potentials over the decoder's columns,
 * fitted to DP two-way marginals. No PostgreSQL here.
 *
 * A DP-SGD-trained decoder draws the columns of a row independently given
 * its latent z, and at small epsilon it gets the two-way structure of the
 * data wrong (the prototype's lesson 6: an MST-style marginal tree beats
 * it). The tree correction keeps the decoder and adds, on the pairs it
 * gets most wrong, a pairwise potential psi_e(x_parent, x_child) > 0: a row
 * is drawn from
 *
 *     P(x | z) = prod_c p_c(x_c | z) prod_e psi_e(x_pa(e), x_e) / Z(z)
 *
 * (exactly, by belief propagation on the tree, one decoder pass per row).
 * Training, after DP-SGD and the one-way correction:
 *   1. selection: the tree's edges are chosen one at a time, as in MST
 *      (McKenna, Miklau, Sheldon 2021), by the exponential mechanism among
 *      the pairs joining two components, with the score
 *      || counts_ab(data) - n_hat * M_ab(model) ||_1, where M_ab is the
 *      decoder's own expected pair marginal under the prior (DP already):
 *      the pairs the DP decoder gets most wrong. Sensitivity 1 per row
 *      (k per unit of k rows) under add/remove-one, 2 under replace-one.
 *   2. measurement: the Gaussian mechanism on the selected pairs' counts
 *      (each row adds 1 to one cell of every table: L2 sensitivity
 *      sqrt(#edges) per row).
 *   3. fitting: the potentials are fitted, by damped iterative proportional
 *      fitting over a fixed pool of prior draws, so that the model's pair
 *      marginals match the noisy ones: post-processing of DP outputs.
 *
 * Slots of a column are its decoder logits' layout (lv_column_out_width):
 * numeric: bins, then NULL if nullable; categorical: lv_column_slots.
 * Targets T use the same slots except that a numeric NULL is -1.
 */
#ifndef LV_TREE_H
#define LV_TREE_H

#include <stdint.h>
#include "lv_model.h"

/* Largest pair table (parent slots x child slots) an edge may have. */
#define LV_TREE_MAX_CELLS 16384
/* Widest table the tree correction accepts (columns). */
#define LV_TREE_MAX_COLUMNS 64

/* The stream indexes of the selection and of the two pools of prior draws. */
#define LV_TREE_SELECT_STREAM ((uint64_t) 0x7472656531ULL) /* "tree1" */
#define LV_TREE_POOL_STREAM ((uint64_t) 0x7472656532ULL)
#define LV_TREE_FIT_STREAM ((uint64_t) 0x7472656533ULL)
#define LV_TREE_NOISE_STREAM ((uint64_t) 0x7472656534ULL)

/*
 * lv_tree_build sets up t over schema s from parent (ncols entries: the
 * parent column or -1): every column reachable from a root, no cycle,
 * every table within LV_TREE_MAX_CELLS. Potentials start at 1 (no
 * correction). Returns LV_OK, LV_ERR_ARG or LV_ERR_NOMEM (t empty on error).
 */
int lv_tree_build(lv_tree *t, const lv_schema *s, const int32_t *parent);

/* lv_tree_free releases what t owns and empties it. */
void lv_tree_free(lv_tree *t);

/*
 * lv_column_probs writes, for one row of decoder logits (width
 * lv_schema_output_dim), each column's distribution over its slots into p
 * (same width): softmax heads; a nullable numeric column's NULL slot is
 * the sigmoid of its NULL logit and its bins share the rest.
 */
void lv_column_probs(const lv_schema *s, const float *logits, double *p);

/*
 * lv_tree_sample draws the slots of count rows (slot, count x ncols) from
 * the decoder's distributions P (count x lv_schema_output_dim, each row
 * lv_column_probs of the row's logits; overwritten) times the tree's
 * potentials, exactly, with the uniform U[r * ncols + c] in [0,1) for
 * column c of row r. work holds lv_tree_work_size(t, s, count) doubles.
 */
void lv_tree_sample(const lv_tree *t, const lv_schema *s, double *P, int count,
					const double *U, double *work, int32_t *slot);

/* lv_tree_work_size returns the scratch lv_tree_sample needs (doubles). */
size_t lv_tree_work_size(const lv_tree *t, const lv_schema *s, int count);

/*
 * lv_model_fit_tree runs the three steps above on m (a central model whose
 * decoder is trained): selection over up to ncols - 1 rounds, each
 * eps_round-DP with score sensitivity sens; measurement with noise sd
 * noise_sd; fitting over pool draws. n_hat is the DP row count, T the n x
 * ncols targets. Every draw comes from key (LV_DOMAIN_TRAIN). Sets
 * m->tree; *edges gets the number of edges chosen. Polls interrupted(arg)
 * between pairs and iterations when it is not NULL.
 * Returns LV_OK, LV_ERR_ARG, LV_ERR_NOMEM or LV_ERR_INTERRUPTED.
 */
int lv_model_fit_tree(lv_model *m, const int32_t *T, int64_t n, double n_hat,
					  double eps_round, double sens, double noise_sd,
					  const uint8_t key[LV_KEY_BYTES], int *edges,
					  int (*interrupted)(void *arg), void *arg);

/*
 * lv_tree_fit fits t's potentials to the target pair distributions target
 * (one table per non-root column, laid out like t->pot, each summing to 1)
 * over the S decoder distributions P (S x lv_schema_output_dim), by iters
 * damped proportional-fitting steps. Returns the largest absolute
 * difference between a model and a target cell after the last step, or a
 * negative value on allocation failure.
 */
double lv_tree_fit(lv_tree *t, const lv_schema *s, const double *P, int S,
				   const double *target, int iters);

/*
 * lv_tree_pair_marginals writes the model's pair distributions (laid out
 * like t->pot) averaged over the S decoder distributions P.
 * Returns LV_OK or LV_ERR_NOMEM.
 */
int lv_tree_pair_marginals(const lv_tree *t, const lv_schema *s,
						   const double *P, int S, double *out);

/*
 * lv_simplex_project replaces the w noisy counts v by their Euclidean
 * projection onto {x >= 0, sum x = total} (work: w doubles).
 */
void lv_simplex_project(double *v, int w, double total, double *work);

#endif
