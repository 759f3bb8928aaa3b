/*
 * lv_group.h - group privacy: what a guarantee for one row says about a
 * group of k rows (a base row that the training query repeats k times).
 * No PostgreSQL here.
 */
#ifndef LV_GROUP_H
#define LV_GROUP_H

/*
 * lv_group_privacy: an (eps, delta)-DP mechanism is (k eps, delta_k)-DP for
 * groups of k rows, delta_k = k e^((k-1) eps) delta (Vadhan, The Complexity
 * of Differential Privacy, 2017, Lemma 2.2; a chain of k neighbours). The
 * result is rounded up. Returns 0, or -1 when no guarantee remains (k < 1,
 * a non-finite input, or delta_k >= 1): then *eps_k = +inf, *delta_k = 1.
 */
int lv_group_privacy(double eps, double delta, long k, double *eps_k,
					 double *delta_k);

#endif
