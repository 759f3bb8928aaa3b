/*
 * lv_nn.h - dense layers over minibatches (cblas_sgemm), Adam, spectral
 * projection and the exact spectral-norm certificate. No PostgreSQL here.
 * Internal to the core: the glue layer uses lv_model.h only.
 */
#ifndef LV_NN_H
#define LV_NN_H

#include "lv_model.h"

/*
 * lv_mlp_infer runs m on B rows of in (B x m->layers[0].in, row-major) and
 * writes out (B x last layer's out). scratch must hold 2 * B * maxwidth
 * floats, maxwidth the widest layer output. ReLU between layers.
 */
void		lv_mlp_infer(const lv_mlp *m, const float *in, int B, float *out,
						 float *scratch);

/* lv_mlp_max_width returns the widest layer output of m. */
int			lv_mlp_max_width(const lv_mlp *m);

/*
 * lv_spectral_norm_exact returns the largest singular value of the out x in
 * float matrix W computed by LAPACK dgesvd in double precision (negative on
 * failure).
 */
double		lv_spectral_norm_exact(const float *W, int out, int in);

/* lv_mlp_alloc allocates the layers of an MLP with widths[0..nlayers]. */
int			lv_mlp_alloc(lv_mlp *m, int nlayers, const int *widths);

/* lv_mlp_free releases an MLP's layers. */
void		lv_mlp_free(lv_mlp *m);

#endif
