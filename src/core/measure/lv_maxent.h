/*
 * lv_maxent.h - the fit's preference for maximum entropy: the dependence a
 * mixture generator has beyond a tree of its measured pairs. No PostgreSQL
 * here.
 *
 * A mixture of B points (lv_genfit.h), p(x) = (1/B) sum_k prod_c P_k[c][x_c],
 * fitted exactly to noisy marginals, invents dependence among columns that
 * no measurement covers (measured on gss_cat at epsilon 1: its unmeasured
 * pairs had 0.092 2-way TVD where private-pgm's estimate from the very same
 * measurements had 0.056). Private-pgm prefers, among the models that fit,
 * the one of maximum entropy. For fixed one-way marginals that is the one
 * of least total correlation
 *     TC(X) = sum_c H(X_c) - H(X).
 * Penalising TC alone would also fight the dependence the measurements
 * demand (a near-deterministic measured pair costs several nats), so the
 * penalty is the part of TC that a tree of measured pairs does not explain:
 *     R(X) = TC(X) - sum over edges (a, b) of T of I(X_a; X_b)
 *          = KL(p || p_T),  p_T = prod_T p_ab / prod_c p_c^(deg_T(c) - 1),
 * the model's distance from its own tree factorisation (entropy algebra:
 * an identity for every p, so R >= 0), T the maximum spanning forest of the
 * measured pairs weighted by the model's I(X_a; X_b) (Chow & Liu 1968; MST,
 * McKenna et al. 2021, fits such a tree). R is zero exactly when the model
 * is Markov on a tree of measured pairs, as MST's model is.
 *
 * Gradients, with respect to the points' slot probabilities:
 *   d TC / d P_k[c][s] = (1/B) E_{x ~ P_k} [log p(x_c = s, x_-c) - log mu_c[s]]
 *   (mu_c the model's marginal of c; constants in s drop out in the heads'
 *   softmax), estimated with S points k drawn uniformly and one row x from
 *   each (unbiased; the cost is S B o, not B^2 o), and
 *   d I(X_a; X_b) / d mu_ab[i, j] = log mu_ab[i, j] - log mu_a[i] - log mu_b[j] (+ const),
 *   exact, through the clique's marginal (lv_clique_grad).
 * Post-processing of DP measurements: no privacy cost. The draws come from
 * the caller's stream, so a seed gives the same model.
 */
#ifndef LV_MAXENT_H
#define LV_MAXENT_H

#include <stdint.h>
#include "lv_clique.h"
#include "lv_rand.h"

typedef struct lv_maxent
{
	int S;         /* sampled points per step */
	int B, o;      /* points, slots per point */
	int U;         /* min(o, S ncols): the most distinct slots S samples draw */
	double *logP;  /* U x B: log P_j[slots[u]] */
	double *Ic;    /* U x B: 1 / P_j[slots[u]], P clamped at LV_MAXENT_TINY */
	int *slots;    /* U: the slots drawn this step */
	int *slot_of;  /* o: each slot's u, or -1 */
	double *L;     /* S x B: log prod_c P_j[c][x_t,c] */
	double *E;     /* S x B: exp(L - mx) */
	double *mx;    /* S: max_j L[t][j] */
	double *W;     /* S x B: weights of one column's leave-one-out */
	double *R;     /* S x (widest column) */
	double *logmu; /* o: log of the model's one-way marginals */
	int *X;        /* S x ncols: each sampled row's slots (offsets in a row of P) */
	int *k;        /* S: the sampled points */
} lv_maxent;

/* lv_maxent_alloc sets up w for B points of o slots, S samples. Returns LV_OK or LV_ERR_NOMEM. */
int lv_maxent_alloc(lv_maxent *w, int B, int o, int ncols, int S);

/* lv_maxent_free releases what w owns (w zeroed or allocated). */
void lv_maxent_free(lv_maxent *w);

/*
 * lv_maxent_tc_grad adds lam times the Monte Carlo gradient of TC(X) to G
 * (B x o), the mixture's points' probabilities P (B x o); draws from rng.
 */
void lv_maxent_tc_grad(lv_maxent *w, const lv_schema *s, const double *P,
					   double lam, lv_stream *rng, double *G);

/*
 * lv_pair_mi returns I(X_a; X_b) of the pair marginal mu (wa x wb cells,
 * row-major, a distribution); with D (wa x wb) not NULL it also writes
 * dI/dmu: log mu - log mu_a - log mu_b. scratch: wa + wb doubles.
 */
double lv_pair_mi(const double *mu, int wa, int wb, double *D, double *scratch);

/*
 * lv_maxent_tree marks in edge[] (n entries, 0 or 1) a maximum spanning
 * forest, by weight mi[], of the pairs (a[i], b[i]) over ncols columns
 * (Kruskal; an entry with a[i] < 0, and a repeat of an edge, is never
 * marked; ties go to the lower index).
 */
void lv_maxent_tree(const int *a, const int *b, const double *mi, int n, int ncols,
					int *edge);

#endif
