/*
 * lv_nn.c - dense ReLU networks over minibatches (cblas_sgemm, row-major),
 * Adam, the spectral projection used during training and the exact
 * spectral norm (LAPACK dgesvd in double) used by the certificate.
 *
 * A layer computes Y = X W^T + b for a minibatch X (B x in, row-major) and
 * W (out x in, row-major): one sgemm per layer and minibatch.
 */
#include <math.h>
#include <string.h>
#include <cblas.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lv_model.h"
#include "lv_nn.h"

/*
 * LAPACK's Fortran dgesvd (OpenBLAS ships it; Debian has no lapacke.h).
 * The trailing size_t arguments are the hidden lengths of the two
 * character arguments in the gfortran calling convention.
 */
extern void dgesvd_(const char *jobu, const char *jobvt, const int *m,
					const int *n, double *a, const int *lda, double *s,
					double *u, const int *ldu, double *vt, const int *ldvt,
					double *work, const int *lwork, int *info,
					size_t jobu_len, size_t jobvt_len);

static void lv_fill_bias(float *y, const float *b, int B, int out);
static void lv_relu(float *y, size_t n);
static void lv_adam_array(float *w, const float *g, float *m, float *v,
						  size_t n, float beta1, float beta2, float step,
						  float inv_sqrt_bc2, float eps);

/* lv_mlp_alloc allocates the layers of an MLP with widths[0..nlayers]. */
int
lv_mlp_alloc(lv_mlp *m, int nlayers, const int *widths)
{
	int l;

	m->nlayers = 0;
	m->layers = NULL;
	if (nlayers < 1)
		return LV_ERR_ARG;
	for (l = 0; l <= nlayers; l++)
		if (widths[l] < 1)
			return LV_ERR_ARG;
	m->layers = lv_calloc((size_t) nlayers, sizeof(lv_layer));
	if (m->layers == NULL)
		return LV_ERR_NOMEM;
	m->nlayers = nlayers;
	for (l = 0; l < nlayers; l++)
	{
		lv_layer *L = &m->layers[l];

		L->in = widths[l];
		L->out = widths[l + 1];
		L->W = lv_calloc((size_t) L->out * (size_t) L->in, sizeof(float));
		L->b = lv_calloc((size_t) L->out, sizeof(float));
		if (L->W == NULL || L->b == NULL)
		{
			lv_mlp_free(m);
			return LV_ERR_NOMEM;
		}
	}
	return LV_OK;
}

/* lv_mlp_alloc_like allocates zeroed layers with the shapes of m. */
int
lv_mlp_alloc_like(lv_mlp *dst, const lv_mlp *m)
{
	int widths[64];
	int l;

	if (m->nlayers < 1 || m->nlayers >= 64)
		return LV_ERR_ARG;
	widths[0] = m->layers[0].in;
	for (l = 0; l < m->nlayers; l++)
		widths[l + 1] = m->layers[l].out;
	return lv_mlp_alloc(dst, m->nlayers, widths);
}

/* lv_mlp_free releases an MLP's layers. */
void
lv_mlp_free(lv_mlp *m)
{
	int l;

	if (m->layers != NULL)
	{
		for (l = 0; l < m->nlayers; l++)
		{
			lv_free(m->layers[l].W);
			lv_free(m->layers[l].b);
		}
		lv_free(m->layers);
	}
	m->layers = NULL;
	m->nlayers = 0;
}

/* lv_mlp_max_width returns the widest layer output of m. */
int
lv_mlp_max_width(const lv_mlp *m)
{
	int l,
		w = 0;

	for (l = 0; l < m->nlayers; l++)
		if (m->layers[l].out > w)
			w = m->layers[l].out;
	return w;
}

/*
 * lv_mlp_infer runs m on B rows of in and writes out (B x last layer's
 * out); scratch holds 2 * B * maxwidth floats. ReLU between layers.
 */
void
lv_mlp_infer(const lv_mlp *m, const float *in, int B, float *out,
			 float *scratch)
{
	size_t half = (size_t) B * (size_t) lv_mlp_max_width(m);
	const float *x = in;
	int l;

	if (B <= 0)
		return;
	for (l = 0; l < m->nlayers; l++)
	{
		const lv_layer *L = &m->layers[l];
		int last = (l == m->nlayers - 1);
		float *y = last ? out : scratch + (size_t) (l % 2) * half;

		lv_fill_bias(y, L->b, B, L->out);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in,
					1.0f, x, L->in, L->W, L->in, 1.0f, y, L->out);
		if (!last)
			lv_relu(y, (size_t) B * L->out);
		x = y;
	}
}

/* lv_mlp_cache_alloc allocates a training cache for minibatches of maxB. */
int
lv_mlp_cache_alloc(lv_mlp_cache *c, const lv_mlp *m, int maxB)
{
	size_t mw;
	int l;

	memset(c, 0, sizeof(*c));
	if (maxB < 1 || m->nlayers < 1)
		return LV_ERR_ARG;
	mw = (size_t) lv_mlp_max_width(m);
	if ((size_t) m->layers[0].in > mw)
		mw = (size_t) m->layers[0].in;
	c->maxB = maxB;
	c->act = lv_calloc((size_t) m->nlayers, sizeof(float *));
	if (c->act == NULL)
		return LV_ERR_NOMEM;
	c->nlayers = m->nlayers;
	for (l = 0; l < m->nlayers; l++)
	{
		c->act[l] = lv_calloc((size_t) maxB * m->layers[l].out, sizeof(float));
		if (c->act[l] == NULL)
			goto nomem;
	}
	c->d0 = lv_calloc((size_t) maxB * mw, sizeof(float));
	c->d1 = lv_calloc((size_t) maxB * mw, sizeof(float));
	c->ones = lv_calloc((size_t) maxB, sizeof(float));
	if (c->d0 == NULL || c->d1 == NULL || c->ones == NULL)
		goto nomem;
	for (l = 0; l < maxB; l++)
		c->ones[l] = 1.0f;
	return LV_OK;

nomem:
	lv_mlp_cache_free(c);
	return LV_ERR_NOMEM;
}

/* lv_mlp_cache_free releases a training cache. */
void
lv_mlp_cache_free(lv_mlp_cache *c)
{
	int l;

	if (c->act != NULL)
	{
		for (l = 0; l < c->nlayers; l++)
			lv_free(c->act[l]);
		lv_free(c->act);
	}
	lv_free(c->d0);
	lv_free(c->d1);
	lv_free(c->ones);
	memset(c, 0, sizeof(*c));
}

/* lv_mlp_forward runs B rows through m; the output is c->act[nlayers-1]. */
void
lv_mlp_forward(const lv_mlp *m, const float *in, int B, lv_mlp_cache *c)
{
	const float *x = in;
	int l;

	for (l = 0; l < m->nlayers; l++)
	{
		const lv_layer *L = &m->layers[l];
		float *y = c->act[l];

		lv_fill_bias(y, L->b, B, L->out);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in,
					1.0f, x, L->in, L->W, L->in, 1.0f, y, L->out);
		if (l < m->nlayers - 1)
			lv_relu(y, (size_t) B * L->out);
		x = y;
	}
}

/*
 * lv_mlp_backward writes the parameter gradients for dout into grad and,
 * if din is not NULL, the input gradient (three GEMM-like calls a layer:
 * dW = dY^T X, db = dY^T 1, dX = dY W).
 */
void
lv_mlp_backward(const lv_mlp *m, const float *in, int B, lv_mlp_cache *c,
				const float *dout, lv_mlp *grad, float *din)
{
	const float *dy = dout;
	int l;

	for (l = m->nlayers - 1; l >= 0; l--)
	{
		const lv_layer *L = &m->layers[l];
		lv_layer *G = &grad->layers[l];
		const float *x = (l == 0) ? in : c->act[l - 1];

		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B,
					1.0f, dy, L->out, x, L->in, 0.0f, G->W, L->in);
		cblas_sgemv(CblasRowMajor, CblasTrans, B, L->out, 1.0f, dy, L->out,
					c->ones, 1, 0.0f, G->b, 1);
		if (l > 0)
		{
			float *dx = (dy == c->d0) ? c->d1 : c->d0;
			const float *a = c->act[l - 1];

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in,
						L->out, 1.0f, dy, L->out, L->W, L->in, 0.0f, dx, L->in);
			lv_relu_mask(dx, a, (size_t) B * L->in);
			dy = dx;
		}
		else if (din != NULL)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in,
						L->out, 1.0f, dy, L->out, L->W, L->in, 0.0f, din,
						L->in);
	}
}

/* lv_mlp_init_xavier fills W with Xavier-uniform values and zeroes b. */
void
lv_mlp_init_xavier(lv_mlp *m, lv_stream *rng)
{
	int l;

	for (l = 0; l < m->nlayers; l++)
	{
		lv_layer *L = &m->layers[l];
		double a = sqrt(6.0 / (double) (L->in + L->out));
		size_t i,
			n = (size_t) L->out * L->in;

		for (i = 0; i < n; i++)
			L->W[i] = (float) ((2.0 * lv_stream_uniform(rng) - 1.0) * a);
		memset(L->b, 0, sizeof(float) * L->out);
	}
}

/*
 * lv_adam_step applies one Adam step (PyTorch's formulation, bias
 * corrected; t counts steps from 1) to every parameter of m.
 */
void
lv_adam_step(lv_mlp *m, const lv_mlp *grad, lv_mlp *m1, lv_mlp *m2,
			 double lr, double beta1, double beta2, double eps, int64_t t)
{
	double bc1 = 1.0 - pow(beta1, (double) t);
	double bc2 = 1.0 - pow(beta2, (double) t);
	float step = (float) (lr / bc1);
	float inv = (float) (1.0 / sqrt(bc2));
	int l;

	for (l = 0; l < m->nlayers; l++)
	{
		lv_layer *L = &m->layers[l];
		size_t n = (size_t) L->out * L->in;

		lv_adam_array(L->W, grad->layers[l].W, m1->layers[l].W,
					  m2->layers[l].W, n, (float) beta1, (float) beta2, step,
					  inv, (float) eps);
		lv_adam_array(L->b, grad->layers[l].b, m1->layers[l].b,
					  m2->layers[l].b, (size_t) L->out, (float) beta1,
					  (float) beta2, step, inv, (float) eps);
	}
}

/*
 * lv_adam_array updates n parameters: m = b1 m + (1-b1) g,
 * v = b2 v + (1-b2) g^2, w -= step m / (sqrt(v) inv_sqrt_bc2 + eps).
 */
static void
lv_adam_array(float *w, const float *g, float *m, float *v, size_t n,
			  float beta1, float beta2, float step, float inv_sqrt_bc2,
			  float eps)
{
	float c1 = 1.0f - beta1;
	float c2 = 1.0f - beta2;
	size_t i = 0;

#if defined(__SSE2__)
	{
		__m128 vb1 = _mm_set1_ps(beta1),
			   vb2 = _mm_set1_ps(beta2),
			   vc1 = _mm_set1_ps(c1),
			   vc2 = _mm_set1_ps(c2),
			   vstep = _mm_set1_ps(step),
			   vinv = _mm_set1_ps(inv_sqrt_bc2),
			   veps = _mm_set1_ps(eps);

		for (; i + 4 <= n; i += 4)
		{
			__m128 gi = _mm_loadu_ps(g + i);
			__m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)),
								   _mm_mul_ps(vc1, gi));
			__m128 vi = _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)),
								   _mm_mul_ps(vc2, _mm_mul_ps(gi, gi)));
			__m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), vinv),
									veps);

			_mm_storeu_ps(m + i, mi);
			_mm_storeu_ps(v + i, vi);
			_mm_storeu_ps(w + i,
						  _mm_sub_ps(_mm_loadu_ps(w + i),
									 _mm_div_ps(_mm_mul_ps(vstep, mi), den)));
		}
	}
#endif
	for (; i < n; i++)
	{
		m[i] = beta1 * m[i] + c1 * g[i];
		v[i] = beta2 * v[i] + c2 * g[i] * g[i];
		w[i] -= step * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
	}
}

/*
 * lv_power_iterate runs iters power iterations on layer L with the
 * persistent unit vector v (L->in) and scratch u (L->out); returns the
 * estimate of ||W||_2. A degenerate v is reset to a constant unit vector.
 */
double
lv_power_iterate(const lv_layer *L, float *v, float *u, int iters)
{
	double sigma = 0.0;
	int it;

	for (it = 0; it < iters; it++)
	{
		float nu,
			nv;

		cblas_sgemv(CblasRowMajor, CblasNoTrans, L->out, L->in, 1.0f, L->W,
					L->in, v, 1, 0.0f, u, 1);
		nu = cblas_snrm2(L->out, u, 1);
		if (!(nu > 0.0f) || !isfinite(nu))
			goto reset;
		cblas_sscal(L->out, 1.0f / nu, u, 1);
		cblas_sgemv(CblasRowMajor, CblasTrans, L->out, L->in, 1.0f, L->W,
					L->in, u, 1, 0.0f, v, 1);
		nv = cblas_snrm2(L->in, v, 1);
		if (!(nv > 0.0f) || !isfinite(nv))
			goto reset;
		cblas_sscal(L->in, 1.0f / nv, v, 1);
		sigma = nv;
	}
	return sigma;

reset:
{
	float c = (float) (1.0 / sqrt((double) L->in));
	int i;

	for (i = 0; i < L->in; i++)
		v[i] = c;
}
	return sigma;
}

/*
 * lv_spectral_project estimates ||W||_2 by power iteration and, if the
 * estimate exceeds bound, scales W by bound / estimate, flushing entries
 * with |w| < 1e-30 to zero. Returns the estimate before scaling.
 */
double
lv_spectral_project(lv_layer *L, float *v, float *u, int iters, double bound)
{
	double sigma = lv_power_iterate(L, v, u, iters);

	if (sigma > bound)
	{
		float scale = (float) (bound / sigma);
		size_t i,
			n = (size_t) L->out * L->in;

		for (i = 0; i < n; i++)
		{
			float w = L->W[i] * scale;

			L->W[i] = (fabsf(w) < 1e-30f) ? 0.0f : w;
		}
	}
	return sigma;
}

/* lv_mlp_flush_tiny sets every weight and bias with |w| < 1e-30 to zero. */
void
lv_mlp_flush_tiny(lv_mlp *m)
{
	int l;

	for (l = 0; l < m->nlayers; l++)
	{
		lv_layer *L = &m->layers[l];
		size_t i,
			n = (size_t) L->out * L->in;

		for (i = 0; i < n; i++)
			if (fabsf(L->W[i]) < 1e-30f)
				L->W[i] = 0.0f;
		for (i = 0; i < (size_t) L->out; i++)
			if (fabsf(L->b[i]) < 1e-30f)
				L->b[i] = 0.0f;
	}
}

/*
 * lv_spectral_norm_exact returns the largest singular value of the out x in
 * float matrix W computed by LAPACK dgesvd in double precision (negative on
 * failure or non-finite entries).
 */
double
lv_spectral_norm_exact(const float *W, int out, int in)
{
	size_t i,
		n;
	double *a,
		*s,
		*work;
	double wq,
		dummy = 0.0,
		result;
	int mm = in, /* row-major out x in = column-major in x out */
		nn = out,
		lda = in,
		one = 1,
		lwork = -1,
		info = 0;

	if (W == NULL || out < 1 || in < 1)
		return -1.0;
	n = (size_t) out * (size_t) in;
	for (i = 0; i < n; i++)
		if (!isfinite(W[i]))
			return -1.0;
	a = lv_alloc(sizeof(double) * n);
	s = lv_alloc(sizeof(double) * (size_t) (in < out ? in : out));
	if (a == NULL || s == NULL)
	{
		lv_free(a);
		lv_free(s);
		return -1.0;
	}
	for (i = 0; i < n; i++)
		a[i] = (double) W[i];
	dgesvd_("N", "N", &mm, &nn, a, &lda, s, &dummy, &one, &dummy, &one,
			&wq, &lwork, &info, 1, 1);
	if (info != 0 || !(wq >= 1.0) || wq > 1e9)
	{
		lv_free(a);
		lv_free(s);
		return -1.0;
	}
	lwork = (int) wq;
	work = lv_alloc(sizeof(double) * (size_t) lwork);
	if (work == NULL)
	{
		lv_free(a);
		lv_free(s);
		return -1.0;
	}
	dgesvd_("N", "N", &mm, &nn, a, &lda, s, &dummy, &one, &dummy, &one,
			work, &lwork, &info, 1, 1);
	result = (info == 0 && isfinite(s[0]) && s[0] >= 0.0) ? s[0] : -1.0;
	lv_free(work);
	lv_free(a);
	lv_free(s);
	return result;
}

/* lv_fill_bias sets each of the B rows of y (B x out) to b. */
static void
lv_fill_bias(float *y, const float *b, int B, int out)
{
	int r;

	for (r = 0; r < B; r++)
		memcpy(y + (size_t) r * out, b, sizeof(float) * out);
}

/* lv_relu applies max(0, y) in place to n floats (branch-free, SSE). */
static void
lv_relu(float *y, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	__m128 zero = _mm_setzero_ps();

	for (; i + 8 <= n; i += 8)
	{
		_mm_storeu_ps(y + i, _mm_max_ps(_mm_loadu_ps(y + i), zero));
		_mm_storeu_ps(y + i + 4, _mm_max_ps(_mm_loadu_ps(y + i + 4), zero));
	}
#endif
	for (; i < n; i++)
		y[i] = (y[i] > 0.0f) ? y[i] : 0.0f;
}

/*
 * lv_relu_mask zeroes the gradients g[i] whose ReLU output a[i] is not
 * positive (branch-free, SSE).
 */
void
lv_relu_mask(float *g, const float *a, size_t n)
{
	size_t i = 0;

#if defined(__SSE2__)
	__m128 zero = _mm_setzero_ps();

	for (; i + 8 <= n; i += 8)
	{
		__m128 m0 = _mm_cmpgt_ps(_mm_loadu_ps(a + i), zero);
		__m128 m1 = _mm_cmpgt_ps(_mm_loadu_ps(a + i + 4), zero);

		_mm_storeu_ps(g + i, _mm_and_ps(_mm_loadu_ps(g + i), m0));
		_mm_storeu_ps(g + i + 4, _mm_and_ps(_mm_loadu_ps(g + i + 4), m1));
	}
#endif
	for (; i < n; i++)
		g[i] = (a[i] > 0.0f) ? g[i] : 0.0f;
}

/* lv_max_float returns the largest of l[0..n) (exact: the order does not matter). */
float
lv_max_float(const float *l, int n)
{
	float mx = l[0];
	int i = 1;

#if defined(__SSE2__)
	if (n >= 8)
	{
		__m128 vm = _mm_loadu_ps(l);
		float lanes[4];

		for (i = 4; i + 4 <= n; i += 4)
			vm = _mm_max_ps(vm, _mm_loadu_ps(l + i));
		_mm_storeu_ps(lanes, vm);
		mx = lanes[0];
		if (lanes[1] > mx)
			mx = lanes[1];
		if (lanes[2] > mx)
			mx = lanes[2];
		if (lanes[3] > mx)
			mx = lanes[3];
	}
#endif
	for (; i < n; i++)
		if (l[i] > mx)
			mx = l[i];
	return mx;
}
