/*
 * lv_train.c - training of the Lipschitz VAE (minibatch Adam on the
 * negative ELBO with a fixed posterior sd of 1), spectral projection of
 * every layer after each step, the exact Lipschitz certificate of the
 * encoder mean, and the stored encoder means of the training rows.
 *
 * Loss of one row: sum over columns of the head's cross-entropy
 *   numeric, non-NULL: softmax CE of the bin (+ BCE of "not NULL" if
 *                      nullable); numeric NULL: BCE of "NULL" only;
 *   categorical:       softmax CE of the slot;
 * plus KL(N(mu, I) || N(0, I)) = 0.5 ||mu||^2.
 */
#include <math.h>
#include <string.h>
#include <cblas.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define LV_HAVE_MXCSR 1
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LV_HAVE_AVX2_DISPATCH 1
#endif

#include "lv_model.h"
#include "lv_nn.h"
#include "lv_tree.h"

#define LV_POWER_ITERS_STEP 2  /* power iterations per layer and step */
#define LV_POWER_ITERS_INIT 30 /* at initialisation */
#define LV_MEANS_CHUNK 256     /* rows per double-precision GEMM chunk */
#define LV_MAX_TRAIN_ROWS ((int64_t) 1 << 40)

/* Everything lv_model_train allocates besides the model's own arrays. */
typedef struct lv_train_state
{
	lv_mlp genc,
		gdec; /* gradients */
	lv_mlp m1enc,
		m2enc,
		m1dec,
		m2dec; /* Adam moments */
	lv_vae_work work;
	float *Xb;      /* maxB x d minibatch */
	int32_t *Tb;    /* maxB x ncols targets */
	float *xi;      /* maxB x k latent noise */
	int64_t *order; /* n row indices */
	float *pv;      /* power-iteration vectors, all layers */
	float *pu;      /* power-iteration scratch */
} lv_train_state;

static int lv_poll(const lv_train_config *cfg, unsigned int saved);
static int lv_check_train_args(const lv_model *m, const float *X,
							   const int32_t *T, int64_t n,
							   const lv_train_config *cfg);
static int lv_train_state_alloc(lv_train_state *st, const lv_model *m,
								int maxB, int64_t n);
static void lv_train_state_free(lv_train_state *st);
static void lv_project_all(lv_model *m, const lv_train_config *cfg,
						   lv_train_state *st, int iters);
static int lv_enforce_certificate(lv_model *m);
static int lv_compute_means(lv_model *m, const float *X, int64_t n,
							int (*interrupted)(void *arg), void *arg);
static void lv_model_discard_training(lv_model *m);

/* lv_softplus returns log(1 + e^x) without overflow. */
static inline double
lv_softplus(double x)
{
	return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* lv_sigmoid returns 1 / (1 + e^-x) without overflow. */
static inline float
lv_sigmoid(float x)
{
	if (x >= 0.0f)
		return 1.0f / (1.0f + expf(-x));
	else
	{
		float e = expf(x);

		return e / (1.0f + e);
	}
}

#if defined(__SSE2__)
/*
 * lv_exp4 returns e^x for four x <= 0: Cephes' expf (range reduction by
 * ln 2 in two parts, degree-5 polynomial, 2^n from the exponent bits),
 * relative error below 2e-7. x below -87.34 gives about 1e-38 instead of
 * a denormal or 0; NaN stays NaN. Training only (the release keeps libm's
 * expf: released values must never change).
 */
static inline __m128
lv_exp4(__m128 x)
{
	const __m128 one = _mm_set1_ps(1.0f);
	__m128 fx,
		tmp,
		y,
		z;
	__m128i e;

	x = _mm_max_ps(_mm_set1_ps(-87.3365478515625f), x); /* NaN x: stays x */
	fx = _mm_add_ps(_mm_mul_ps(x, _mm_set1_ps(1.44269504088896341f)), _mm_set1_ps(0.5f));
	tmp = _mm_cvtepi32_ps(_mm_cvttps_epi32(fx));
	fx = _mm_sub_ps(tmp, _mm_and_ps(_mm_cmpgt_ps(tmp, fx), one)); /* floor */
	x = _mm_sub_ps(x, _mm_mul_ps(fx, _mm_set1_ps(0.693359375f)));
	x = _mm_sub_ps(x, _mm_mul_ps(fx, _mm_set1_ps(-2.12194440e-4f)));
	z = _mm_mul_ps(x, x);
	y = _mm_set1_ps(1.9875691500e-4f);
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(1.3981999507e-3f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(8.3334519073e-3f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(4.1665795894e-2f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(1.6666665459e-1f));
	y = _mm_add_ps(_mm_mul_ps(y, x), _mm_set1_ps(5.0000001201e-1f));
	y = _mm_add_ps(_mm_add_ps(_mm_mul_ps(y, z), x), one);
	e = _mm_slli_epi32(_mm_add_epi32(_mm_cvttps_epi32(fx), _mm_set1_epi32(0x7f)), 23);
	return _mm_mul_ps(y, _mm_castsi128_ps(e));
}
#endif

#ifdef LV_HAVE_AVX2_DISPATCH
/* lv_exp8 is lv_exp4 on eight lanes with FMA (AVX2 machines). */
__attribute__((target("avx2,fma"))) static inline __m256
lv_exp8(__m256 x)
{
	const __m256 one = _mm256_set1_ps(1.0f);
	__m256 fx,
		y,
		z;
	__m256i e;

	x = _mm256_max_ps(_mm256_set1_ps(-87.3365478515625f), x); /* NaN x: stays x */
	fx = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f),
										 _mm256_set1_ps(0.5f)));
	x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
	x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
	z = _mm256_mul_ps(x, x);
	y = _mm256_set1_ps(1.9875691500e-4f);
	y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
	y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
	y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
	y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
	y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
	y = _mm256_add_ps(_mm256_fmadd_ps(y, z, x), one);
	e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(0x7f)), 23);
	return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

/*
 * lv_softmax_ce_avx2 is lv_softmax_ce on eight lanes; the last, partial
 * vector of a head is masked (its missing lanes read as -inf for the
 * maximum and are left out of the sum and the stores).
 */
__attribute__((target("avx2,fma"))) static double
lv_softmax_ce_avx2(const float *l, int n, int t, float scale, float *g)
{
	static const int32_t ramp[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	const __m256i vramp = _mm256_loadu_si256((const __m256i *) ramp);
	const __m256 ninf = _mm256_set1_ps(-INFINITY);
	__m256 vm = ninf,
		   vs = _mm256_setzero_ps(),
		   vmx,
		   vinv;
	__m128 h;
	float ebuf[LV_MAX_CATEGORIES + 16]; /* widest head, rounded up to 8 */
	float mx,
		sum;
	int i;

	for (i = 0; i < n; i += 8)
	{
		__m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), vramp);
		__m256 v = _mm256_maskload_ps(l + i, mask);

		v = _mm256_blendv_ps(ninf, v, _mm256_castsi256_ps(mask));
		vm = _mm256_max_ps(vm, v);
	}
	h = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
	mx = _mm_cvtss_f32(h);
	vmx = _mm256_set1_ps(mx);
	for (i = 0; i < n; i += 8)
	{
		__m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), vramp);
		__m256 e = lv_exp8(_mm256_sub_ps(_mm256_maskload_ps(l + i, mask), vmx));

		e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
		_mm256_storeu_ps(ebuf + i, e); /* unmasked: reloads forward fast */
		vs = _mm256_add_ps(vs, e);
	}
	h = _mm_add_ps(_mm256_castps256_ps128(vs), _mm256_extractf128_ps(vs, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	sum = _mm_cvtss_f32(h);
	vinv = _mm256_set1_ps(scale / sum);
	for (i = 0; i < n; i += 8)
	{
		__m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - i), vramp);

		_mm256_maskstore_ps(g + i, mask, _mm256_mul_ps(_mm256_loadu_ps(ebuf + i), vinv));
	}
	g[t] -= scale;
	return (double) mx + log((double) sum) - (double) l[t];
}

/* lv_use_avx2 is 1 when the CPU has AVX2 and FMA (checked once). */
static int
lv_use_avx2(void)
{
	static int have = -1;

	if (have < 0)
		have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	return have;
}
#endif

/*
 * lv_softmax_ce returns the cross-entropy of the softmax over l[0..n)
 * against class t and writes scale * (softmax - onehot(t)) into g.
 * Vectorised (eight lanes with AVX2 and FMA, else four with SSE2): the
 * maximum, the exponentials (a polynomial, relative error below 2e-7) and
 * their sum. A NaN or infinite logit makes the sum, and so the loss, NaN,
 * which stops training.
 */
static double
lv_softmax_ce(const float *l, int n, int t, float scale, float *g)
{
	float mx = l[0],
		  sum = 0.0f,
		  inv;
	int i = 1;

#ifdef LV_HAVE_AVX2_DISPATCH
	if (lv_use_avx2())
		return lv_softmax_ce_avx2(l, n, t, scale, g);
#endif
#if defined(__SSE2__)
	if (n >= 4)
	{
		__m128 vs = _mm_setzero_ps(),
			   vmx;
		float lanes[4];

		mx = lv_max_float(l, n);
		vmx = _mm_set1_ps(mx);
		for (i = 0; i + 4 <= n; i += 4)
		{
			__m128 e = lv_exp4(_mm_sub_ps(_mm_loadu_ps(l + i), vmx));

			_mm_storeu_ps(g + i, e);
			vs = _mm_add_ps(vs, e);
		}
		_mm_storeu_ps(lanes, vs);
		sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
		for (; i < n; i++)
		{
			g[i] = expf(l[i] - mx);
			sum += g[i];
		}
	}
	else
#endif
	{
		for (i = 1; i < n; i++)
			if (l[i] > mx)
				mx = l[i];
		for (i = 0; i < n; i++)
		{
			g[i] = expf(l[i] - mx);
			sum += g[i];
		}
	}
	inv = scale / sum;
	for (i = 0; i < n; i++)
		g[i] *= inv;
	g[t] -= scale;
	return (double) mx + log((double) sum) - (double) l[t];
}

/*
 * lv_heads_loss computes the summed reconstruction loss of B rows of
 * logits against targets T (B x ncols) and writes scale times its
 * gradient with respect to the logits into dlogits (B x output dim).
 */
double
lv_heads_loss(const lv_schema *s, const float *logits, const int32_t *T,
			  int B, float scale, float *dlogits)
{
	int o = lv_schema_output_dim(s);
	double total = 0.0;
	int r,
		c;

	for (r = 0; r < B; r++)
	{
		const float *l = logits + (size_t) r * o;
		float *g = dlogits + (size_t) r * o;
		const int32_t *t = T + (size_t) r * s->ncols;
		int off = 0;

		for (c = 0; c < s->ncols; c++)
		{
			const lv_column *col = &s->cols[c];

			if (col->kind == LV_COL_NUMERIC)
			{
				int nb = col->nbins;

				if (t[c] < 0)
				{
					memset(g + off, 0, sizeof(float) * nb);
					if (col->nullable)
					{
						float x = l[off + nb];

						total += lv_softplus(-(double) x);
						g[off + nb] = (lv_sigmoid(x) - 1.0f) * scale;
					}
				}
				else
				{
					total += lv_softmax_ce(l + off, nb, t[c], scale, g + off);
					if (col->nullable)
					{
						float x = l[off + nb];

						total += lv_softplus((double) x);
						g[off + nb] = lv_sigmoid(x) * scale;
					}
				}
				off += nb + (col->nullable ? 1 : 0);
			}
			else
			{
				int slots = lv_column_slots(col);

				total += lv_softmax_ce(l + off, slots, t[c], scale, g + off);
				off += slots;
			}
		}
	}
	return total;
}

/* lv_vae_work_alloc allocates the workspace of lv_vae_grad. */
int
lv_vae_work_alloc(lv_vae_work *w, const lv_mlp *enc, const lv_mlp *dec,
				  int maxB)
{
	int k = enc->layers[enc->nlayers - 1].out;
	int o = dec->layers[dec->nlayers - 1].out;
	int rc;

	memset(w, 0, sizeof(*w));
	w->maxB = maxB;
	if ((rc = lv_mlp_cache_alloc(&w->enc_cache, enc, maxB)) != LV_OK ||
		(rc = lv_mlp_cache_alloc(&w->dec_cache, dec, maxB)) != LV_OK)
	{
		lv_vae_work_free(w);
		return rc;
	}
	w->z = lv_calloc((size_t) maxB * k, sizeof(float));
	w->dz = lv_calloc((size_t) maxB * k, sizeof(float));
	w->dlogits = lv_calloc((size_t) maxB * o, sizeof(float));
	if (w->z == NULL || w->dz == NULL || w->dlogits == NULL)
	{
		lv_vae_work_free(w);
		return LV_ERR_NOMEM;
	}
	return LV_OK;
}

/* lv_vae_work_free releases the workspace of lv_vae_grad. */
void
lv_vae_work_free(lv_vae_work *w)
{
	lv_mlp_cache_free(&w->enc_cache);
	lv_mlp_cache_free(&w->dec_cache);
	lv_free(w->z);
	lv_free(w->dz);
	lv_free(w->dlogits);
	memset(w, 0, sizeof(*w));
}

/*
 * lv_vae_grad computes the mean negative ELBO of B rows X (B x d) with
 * targets T, z = mu(x) + xi (xi: B x k; NULL means 0), and the gradients of
 * that mean with respect to every parameter into genc and gdec. recon and
 * kl (if not NULL) receive the summed parts. Returns the mean loss.
 */
double
lv_vae_grad(const lv_schema *s, const lv_mlp *enc, const lv_mlp *dec,
			const float *X, const int32_t *T, const float *xi, int B,
			lv_vae_work *w, lv_mlp *genc, lv_mlp *gdec, double *recon,
			double *kl)
{
	int k = enc->layers[enc->nlayers - 1].out;
	size_t i,
		nk = (size_t) B * k;
	const float *mu;
	const float *logits;
	float scale = 1.0f / (float) B;
	double rec,
		klsum = 0.0;

	lv_mlp_forward(enc, X, B, &w->enc_cache);
	mu = w->enc_cache.act[enc->nlayers - 1];
	for (i = 0; i < nk; i++)
	{
		w->z[i] = xi ? mu[i] + xi[i] : mu[i];
		klsum += (double) mu[i] * mu[i];
	}
	klsum *= 0.5;
	lv_mlp_forward(dec, w->z, B, &w->dec_cache);
	logits = w->dec_cache.act[dec->nlayers - 1];
	rec = lv_heads_loss(s, logits, T, B, scale, w->dlogits);
	lv_mlp_backward(dec, w->z, B, &w->dec_cache, w->dlogits, gdec, w->dz);
	for (i = 0; i < nk; i++)
		w->dz[i] += mu[i] * scale;
	lv_mlp_backward(enc, X, B, &w->enc_cache, w->dz, genc, NULL);
	if (recon)
		*recon = rec;
	if (kl)
		*kl = klsum;
	return (rec + klsum) / (double) B;
}

/*
 * lv_model_train fits model m (schema, mechanism, passes and key set by the
 * caller; enc, dec, center and means empty) on n encoded rows X with
 * targets T. See lv_model.h. On failure m's trained parts are released
 * and left empty; the floating-point environment is always restored.
 */
int
lv_model_train(lv_model *m, const float *X, const int32_t *T, int64_t n,
			   const lv_train_config *cfg, lv_train_result *res)
{
	lv_train_state st;
	lv_stream rinit,
		rorder,
		rnoise;
	int d,
		o,
		k,
		h,
		ncols,
		maxB,
		rc,
		epoch;
	int enc_w[4],
		dec_w[4];
	int64_t t = 0;
	double ep_loss = 0.0,
		   ep_rec = 0.0,
		   ep_kl = 0.0;
	unsigned int saved_fp;

	if ((rc = lv_check_train_args(m, X, T, n, cfg)) != LV_OK)
		return rc;
	d = lv_schema_input_dim(&m->schema);
	o = lv_schema_output_dim(&m->schema);
	k = cfg->latent;
	h = cfg->hidden;
	ncols = m->schema.ncols;
	maxB = (int64_t) cfg->batch < n ? cfg->batch : (int) n;

	m->enc.nlayers = 0;
	m->enc.layers = NULL;
	m->dec.nlayers = 0;
	m->dec.layers = NULL;
	m->center = NULL;
	m->means = NULL;
	m->latent = k;
	m->hidden = h;
	m->noise_sd = 1.0;
	m->lipschitz_target = (cfg->lipschitz_target > 0.0) ? cfg->lipschitz_target : 0.0;
	m->lipschitz_certified = 0.0;
	m->nrows = n;
	m->prior_points = 0;

	enc_w[0] = d;
	enc_w[1] = h;
	enc_w[2] = h;
	enc_w[3] = k;
	dec_w[0] = k;
	dec_w[1] = h;
	dec_w[2] = h;
	dec_w[3] = o;
	memset(&st, 0, sizeof(st));
	if ((rc = lv_mlp_alloc(&m->enc, 3, enc_w)) != LV_OK ||
		(rc = lv_mlp_alloc(&m->dec, 3, dec_w)) != LV_OK ||
		(rc = lv_train_state_alloc(&st, m, maxB, n)) != LV_OK)
	{
		lv_train_state_free(&st);
		lv_model_discard_training(m);
		return rc;
	}

	/* initialisation: weights, power-iteration vectors, first projection */
	lv_stream_init(&rinit, cfg->train_key, LV_DOMAIN_TRAIN, 0);
	lv_stream_init(&rorder, cfg->train_key, LV_DOMAIN_TRAIN, 1);
	lv_stream_init(&rnoise, cfg->train_key, LV_DOMAIN_TRAIN, 2);
	lv_mlp_init_xavier(&m->enc, &rinit);
	lv_mlp_init_xavier(&m->dec, &rinit);
	{
		int l,
			off = 0;

		for (l = 0; l < 6; l++)
		{
			const lv_layer *L = l < 3 ? &m->enc.layers[l] : &m->dec.layers[l - 3];
			double ss = 0.0;
			int i;

			for (i = 0; i < L->in; i++)
			{
				st.pv[off + i] = (float) lv_stream_gaussian(&rinit);
				ss += (double) st.pv[off + i] * st.pv[off + i];
			}
			ss = ss > 0.0 ? 1.0 / sqrt(ss) : 0.0;
			for (i = 0; i < L->in; i++)
				st.pv[off + i] *= (float) ss;
			off += L->in;
		}
	}
	{
		int64_t i;

		for (i = 0; i < n; i++)
			st.order[i] = i;
	}

	saved_fp = lv_fp_enter();
	lv_project_all(m, cfg, &st, LV_POWER_ITERS_INIT);

	for (epoch = 0; epoch < cfg->epochs; epoch++)
	{
		int64_t i,
			off;

		/* Fisher-Yates shuffle of the row order */
		for (i = n - 1; i > 0; i--)
		{
			int64_t j = (int64_t) lv_stream_below(&rorder, (uint64_t) i + 1);
			int64_t tmp = st.order[i];

			st.order[i] = st.order[j];
			st.order[j] = tmp;
		}
		ep_loss = ep_rec = ep_kl = 0.0;
		for (off = 0; off < n; off += maxB)
		{
			int B = (n - off < maxB) ? (int) (n - off) : maxB;
			int r;
			size_t q;
			double loss,
				rec,
				kl;

			for (r = 0; r < B; r++)
			{
				int64_t src = st.order[off + r];

				memcpy(st.Xb + (size_t) r * d, X + (size_t) src * d,
					   sizeof(float) * d);
				memcpy(st.Tb + (size_t) r * ncols, T + (size_t) src * ncols,
					   sizeof(int32_t) * ncols);
			}
			for (q = 0; q < (size_t) B * k; q++)
				st.xi[q] = (float) lv_stream_gaussian(&rnoise);

			loss = lv_vae_grad(&m->schema, &m->enc, &m->dec, st.Xb, st.Tb,
							   st.xi, B, &st.work, &st.genc, &st.gdec,
							   &rec, &kl);
			if (!isfinite(loss))
			{
				lv_fp_leave(saved_fp);
				lv_train_state_free(&st);
				lv_model_discard_training(m);
				return LV_ERR_NUMERIC;
			}
			ep_loss += loss * B;
			ep_rec += rec;
			ep_kl += kl;

			t++;
			lv_adam_step(&m->enc, &st.genc, &st.m1enc, &st.m2enc, cfg->lr,
						 0.9, 0.999, 1e-8, t);
			lv_adam_step(&m->dec, &st.gdec, &st.m1dec, &st.m2dec, cfg->lr,
						 0.9, 0.999, 1e-8, t);
			lv_project_all(m, cfg, &st, LV_POWER_ITERS_STEP);

			if (lv_poll(cfg, saved_fp))
			{
				lv_fp_leave(saved_fp);
				lv_train_state_free(&st);
				lv_model_discard_training(m);
				return LV_ERR_INTERRUPTED;
			}
		}
	}
	lv_fp_leave(saved_fp);
	lv_train_state_free(&st);

	lv_mlp_flush_tiny(&m->enc);
	lv_mlp_flush_tiny(&m->dec);

	/* certificate (rescaling the last encoder layer if needed) */
	if ((rc = lv_enforce_certificate(m)) != LV_OK ||
		(rc = lv_compute_means(m, X, n, cfg->interrupted,
							   cfg->interrupted_arg)) != LV_OK)
	{
		lv_model_discard_training(m);
		return rc;
	}

	if (res)
	{
		res->epochs_run = cfg->epochs;
		res->final_loss = cfg->epochs > 0 ? ep_loss / (double) n : 0.0;
		res->final_recon = cfg->epochs > 0 ? ep_rec / (double) n : 0.0;
		res->final_kl = cfg->epochs > 0 ? ep_kl / (double) n : 0.0;
	}
	return LV_OK;
}

/*
 * lv_model_certify returns an upper bound on the Lipschitz constant of the
 * encoder mean: the product of the exact largest singular values of its
 * layers times (1 + 1e-4), rounded up. Negative on LAPACK failure.
 */
double
lv_model_certify(const lv_model *m)
{
	double prod = 1.0;
	int l;

	if (m == NULL || m->enc.nlayers < 1 || m->enc.layers == NULL)
		return -1.0;
	for (l = 0; l < m->enc.nlayers; l++)
	{
		const lv_layer *L = &m->enc.layers[l];
		double sv = lv_spectral_norm_exact(L->W, L->out, L->in);

		if (sv < 0.0)
			return -1.0;
		prod *= sv;
	}
	prod *= 1.0 + 1e-4;
	return nextafter(prod, INFINITY);
}

/* lv_model_free releases everything m owns (not m itself). */
void
lv_model_free(lv_model *m)
{
	if (m == NULL)
		return;
	lv_mlp_free(&m->enc);
	lv_mlp_free(&m->dec);
	lv_free(m->center);
	lv_free(m->means);
	lv_free(m->schema.cols);
	lv_tree_free(&m->tree);
	m->center = NULL;
	m->means = NULL;
	m->schema.cols = NULL;
	m->schema.ncols = 0;
	m->prior_points = 0;
}

/* lv_fp_enter sets flush-to-zero and denormals-are-zero; returns the old state. */
unsigned int
lv_fp_enter(void)
{
#ifdef LV_HAVE_MXCSR
	unsigned int saved = _mm_getcsr();

	_mm_setcsr(saved | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
	return saved;
#else
	return 0;
#endif
}

/* lv_fp_leave restores the floating-point state saved by lv_fp_enter. */
void
lv_fp_leave(unsigned int saved)
{
#ifdef LV_HAVE_MXCSR
	_mm_setcsr(saved);
#else
	(void) saved;
#endif
}

/*
 * lv_poll_callback calls an interruption callback (if any) with the
 * caller's floating-point state restored (so a callback that longjmps
 * leaves it intact); returns nonzero to stop.
 */
int
lv_poll_callback(int (*cb)(void *), void *arg, unsigned int saved)
{
	int stop;

	if (cb == NULL)
		return 0;
	lv_fp_leave(saved);
	stop = cb(arg);
	(void) lv_fp_enter();
	return stop;
}

/* lv_poll polls lv_model_train's interruption callback. */
static int
lv_poll(const lv_train_config *cfg, unsigned int saved)
{
	return lv_poll_callback(cfg->interrupted, cfg->interrupted_arg, saved);
}

/* lv_check_train_args validates the arguments of lv_model_train. */
static int
lv_check_train_args(const lv_model *m, const float *X, const int32_t *T,
					int64_t n, const lv_train_config *cfg)
{
	int d,
		ncols,
		c;
	int64_t i;

	if (m == NULL || X == NULL || T == NULL || cfg == NULL)
		return LV_ERR_ARG;
	if (lv_schema_check(&m->schema) != LV_OK)
		return LV_ERR_ARG;
	if (m->mechanism != LV_MECH_NONE && m->mechanism != LV_MECH_LATENT)
		return LV_ERR_ARG;
	if (n < 1 || n > LV_MAX_TRAIN_ROWS)
		return LV_ERR_ARG;
	if (cfg->epochs < 0 || cfg->batch < 1 ||
		cfg->latent < 1 || cfg->latent > 256 ||
		cfg->hidden < 1 || cfg->hidden > 4096 ||
		!isfinite(cfg->lr) || !(cfg->lr > 0.0) ||
		!isfinite(cfg->lipschitz_target) ||
		!isfinite(cfg->decoder_layer_bound))
		return LV_ERR_ARG;
	if (m->mechanism == LV_MECH_LATENT && !(cfg->lipschitz_target > 0.0))
		return LV_ERR_ARG;
	d = lv_schema_input_dim(&m->schema);
	ncols = m->schema.ncols;
	for (i = 0; i < n * d; i++)
		if (!isfinite(X[i]))
			return LV_ERR_ARG;
	for (i = 0; i < n; i++)
	{
		for (c = 0; c < ncols; c++)
		{
			const lv_column *col = &m->schema.cols[c];
			int32_t t = T[i * ncols + c];

			if (col->kind == LV_COL_NUMERIC)
			{
				if (t < -1 || t >= col->nbins)
					return LV_ERR_ARG;
			}
			else if (t < 0 || t >= lv_column_slots(col))
				return LV_ERR_ARG;
		}
	}
	return LV_OK;
}

/* lv_train_state_alloc allocates gradients, moments and minibatch buffers. */
static int
lv_train_state_alloc(lv_train_state *st, const lv_model *m, int maxB,
					 int64_t n)
{
	int d = m->enc.layers[0].in;
	int k = m->latent;
	size_t nv = 0,
		   nu = 0;
	int l,
		rc;

	if ((rc = lv_mlp_alloc_like(&st->genc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->gdec, &m->dec)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m1enc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m2enc, &m->enc)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m1dec, &m->dec)) != LV_OK ||
		(rc = lv_mlp_alloc_like(&st->m2dec, &m->dec)) != LV_OK ||
		(rc = lv_vae_work_alloc(&st->work, &m->enc, &m->dec, maxB)) != LV_OK)
		return rc;
	for (l = 0; l < 3; l++)
	{
		nv += (size_t) m->enc.layers[l].in + m->dec.layers[l].in;
		if ((size_t) m->enc.layers[l].out > nu)
			nu = (size_t) m->enc.layers[l].out;
		if ((size_t) m->dec.layers[l].out > nu)
			nu = (size_t) m->dec.layers[l].out;
	}
	st->Xb = lv_calloc((size_t) maxB * d, sizeof(float));
	st->Tb = lv_calloc((size_t) maxB * m->schema.ncols, sizeof(int32_t));
	st->xi = lv_calloc((size_t) maxB * k, sizeof(float));
	st->order = lv_calloc((size_t) n, sizeof(int64_t));
	st->pv = lv_calloc(nv, sizeof(float));
	st->pu = lv_calloc(nu, sizeof(float));
	if (st->Xb == NULL || st->Tb == NULL || st->xi == NULL ||
		st->order == NULL || st->pv == NULL || st->pu == NULL)
		return LV_ERR_NOMEM;
	return LV_OK;
}

/* lv_train_state_free releases what lv_train_state_alloc allocated. */
static void
lv_train_state_free(lv_train_state *st)
{
	lv_mlp_free(&st->genc);
	lv_mlp_free(&st->gdec);
	lv_mlp_free(&st->m1enc);
	lv_mlp_free(&st->m2enc);
	lv_mlp_free(&st->m1dec);
	lv_mlp_free(&st->m2dec);
	lv_vae_work_free(&st->work);
	lv_free(st->Xb);
	lv_free(st->Tb);
	lv_free(st->xi);
	lv_free(st->order);
	lv_free(st->pv);
	lv_free(st->pu);
	memset(st, 0, sizeof(*st));
}

/*
 * lv_project_all applies the spectral constraints: encoder hidden layers
 * <= 1 and last layer <= lipschitz_target when the target is positive;
 * every decoder layer <= decoder_layer_bound when that is positive.
 */
static void
lv_project_all(lv_model *m, const lv_train_config *cfg, lv_train_state *st,
			   int iters)
{
	size_t off = 0;
	int l;

	for (l = 0; l < m->enc.nlayers; l++)
	{
		lv_layer *L = &m->enc.layers[l];

		if (cfg->lipschitz_target > 0.0)
			lv_spectral_project(L, st->pv + off, st->pu, iters,
								l == m->enc.nlayers - 1 ? cfg->lipschitz_target : 1.0);
		off += L->in;
	}
	for (l = 0; l < m->dec.nlayers; l++)
	{
		lv_layer *L = &m->dec.layers[l];

		if (cfg->decoder_layer_bound > 0.0)
			lv_spectral_project(L, st->pv + off, st->pu, iters,
								cfg->decoder_layer_bound);
		off += L->in;
	}
}

/*
 * lv_enforce_certificate computes the exact certificate; for a private
 * model whose certificate exceeds the target it rescales the last encoder
 * layer by target / certified * (1 - 1e-6) and re-certifies (bounded loop).
 */
static int
lv_enforce_certificate(lv_model *m)
{
	double cert = lv_model_certify(m);
	int iter;

	if (cert < 0.0)
		return LV_ERR_LAPACK;
	for (iter = 0; lv_mech_per_record(m->mechanism) &&
				   cert > m->lipschitz_target;
		 iter++)
	{
		lv_layer *L = &m->enc.layers[m->enc.nlayers - 1];
		double f = m->lipschitz_target / cert * (1.0 - 1e-6);
		size_t i,
			nw = (size_t) L->out * L->in;

		if (iter >= 50)
			return LV_ERR_NUMERIC;
		if (iter > 0)
			f *= (1.0 - 1e-4); /* float rounding defeated us: step harder */
		for (i = 0; i < nw; i++)
		{
			float w = (float) (L->W[i] * f);

			L->W[i] = (fabsf(w) < 1e-30f) ? 0.0f : w;
		}
		cert = lv_model_certify(m);
		if (cert < 0.0)
			return LV_ERR_LAPACK;
	}
	m->lipschitz_certified = cert;
	return LV_OK;
}

/*
 * lv_dmlp_forward runs the double copy of a ReLU MLP (Wd/bd per layer,
 * widths from net) on C rows; ping-pongs through a and b (C x maxwidth
 * each) and returns the buffer holding the output.
 */
static double *
lv_dmlp_forward(const lv_mlp *net, double *const *Wd, double *const *bd,
				const double *in, int C, double *a, double *b)
{
	const double *x = in;
	double *y = a;
	int l,
		r;

	for (l = 0; l < net->nlayers; l++)
	{
		const lv_layer *L = &net->layers[l];

		y = (l % 2 == 0) ? a : b;
		for (r = 0; r < C; r++)
			memcpy(y + (size_t) r * L->out, bd[l], sizeof(double) * L->out);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, L->out, L->in,
					1.0, x, L->in, Wd[l], L->in, 1.0, y, L->out);
		if (l < net->nlayers - 1)
		{
			size_t i,
				nn = (size_t) C * L->out;

			for (i = 0; i < nn; i++)
				y[i] = y[i] > 0.0 ? y[i] : 0.0;
		}
		x = y;
	}
	return y;
}

/*
 * lv_compute_means sets center = mu(0) and means[i] = mu(x_i) - center,
 * with the encoder evaluated in double precision in chunks of rows.
 */
static int
lv_compute_means(lv_model *m, const float *X, int64_t n,
				 int (*interrupted)(void *arg), void *arg)
{
	const lv_mlp *enc = &m->enc;
	int d = enc->layers[0].in;
	int k = m->latent;
	int mw = lv_mlp_max_width(enc);
	double *Wd[3] = {NULL, NULL, NULL};
	double *bd[3] = {NULL, NULL, NULL};
	double *xin = NULL,
		   *a = NULL,
		   *b = NULL,
		   *mu;
	int l,
		rc = LV_OK;
	int64_t r0;
	size_t i;

	if (enc->nlayers != 3)
		return LV_ERR_ARG;
	for (l = 0; l < 3; l++)
	{
		const lv_layer *L = &enc->layers[l];
		size_t nw = (size_t) L->out * L->in;

		Wd[l] = lv_alloc(sizeof(double) * nw);
		bd[l] = lv_alloc(sizeof(double) * L->out);
		if (Wd[l] == NULL || bd[l] == NULL)
		{
			rc = LV_ERR_NOMEM;
			goto done;
		}
		for (i = 0; i < nw; i++)
			Wd[l][i] = L->W[i];
		for (i = 0; i < (size_t) L->out; i++)
			bd[l][i] = L->b[i];
	}
	xin = lv_calloc((size_t) LV_MEANS_CHUNK * d, sizeof(double));
	a = lv_alloc(sizeof(double) * LV_MEANS_CHUNK * (size_t) mw);
	b = lv_alloc(sizeof(double) * LV_MEANS_CHUNK * (size_t) mw);
	m->center = lv_alloc(sizeof(double) * k);
	m->means = lv_alloc(sizeof(float) * (size_t) n * k);
	if (xin == NULL || a == NULL || b == NULL || m->center == NULL ||
		m->means == NULL)
	{
		rc = LV_ERR_NOMEM;
		goto done;
	}

	/* center: the encoder on the zero vector (xin is zeroed) */
	mu = lv_dmlp_forward(enc, Wd, bd, xin, 1, a, b);
	memcpy(m->center, mu, sizeof(double) * k);

	for (r0 = 0; r0 < n; r0 += LV_MEANS_CHUNK)
	{
		int C = (n - r0 < LV_MEANS_CHUNK) ? (int) (n - r0) : LV_MEANS_CHUNK;
		const float *xs = X + (size_t) r0 * d;
		float *dst = m->means + (size_t) r0 * k;
		size_t nn = (size_t) C * d;
		int r,
			c;

		for (i = 0; i < nn; i++)
			xin[i] = xs[i];
		mu = lv_dmlp_forward(enc, Wd, bd, xin, C, a, b);
		for (r = 0; r < C; r++)
			for (c = 0; c < k; c++)
				dst[(size_t) r * k + c] =
					(float) (mu[(size_t) r * k + c] - m->center[c]);
		if (interrupted != NULL && interrupted(arg))
		{
			rc = LV_ERR_INTERRUPTED;
			goto done;
		}
	}

done:
	for (l = 0; l < 3; l++)
	{
		lv_free(Wd[l]);
		lv_free(bd[l]);
	}
	lv_free(xin);
	lv_free(a);
	lv_free(b);
	return rc;
}

/*
 * lv_model_attach_means certifies (rescaling to the target) and computes
 * the encoder means of the rows X for the per-record release; see
 * lv_model.h.
 */
int
lv_model_attach_means(lv_model *m, const float *X, int64_t n,
					  int (*interrupted)(void *arg), void *arg)
{
	int rc;

	if (m == NULL || X == NULL || n < 1 || m->enc.nlayers != 3 ||
		m->enc.layers == NULL || m->means != NULL || m->center != NULL ||
		!lv_mech_per_record(m->mechanism) || !(m->lipschitz_target > 0.0) ||
		m->prior_points != 0)
		return LV_ERR_ARG;
	rc = lv_enforce_certificate(m);
	if (rc == LV_OK)
		rc = lv_compute_means(m, X, n, interrupted, arg);
	if (rc != LV_OK)
	{
		lv_free(m->center);
		lv_free(m->means);
		m->center = NULL;
		m->means = NULL;
		return rc;
	}
	m->nrows = n;
	return LV_OK;
}

/*
 * lv_model_discard_training releases the parts of m that lv_model_train
 * allocates (networks, center, means) and leaves them empty.
 */
static void
lv_model_discard_training(lv_model *m)
{
	lv_mlp_free(&m->enc);
	lv_mlp_free(&m->dec);
	lv_free(m->center);
	lv_free(m->means);
	m->center = NULL;
	m->means = NULL;
	m->lipschitz_certified = 0.0;
	m->nrows = 0;
}
