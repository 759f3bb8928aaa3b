/*
 * lv_marginals.c - DP one-way marginals of the decoder heads and the
 * correction of the decoder's output biases toward them (lv_marginals.h).
 */
#include <math.h>
#include <string.h>

#include "lv_exact.h"
#include "lv_marginals.h"
#include "lv_nn.h"

#define LV_MARGINAL_FLOOR 1e-4
#define LV_MARGINAL_STEP 4.0

/* lv_marginal_width returns the number of slots of a schema. */
int
lv_marginal_width(const lv_schema *s)
{
	return lv_schema_output_dim(s);
}

/* lv_marginal_counts counts the targets per slot (see lv_marginals.h). */
void
lv_marginal_counts(const lv_schema *s, const int32_t *T, int64_t n,
				   double *counts)
{
	int w = lv_marginal_width(s);
	int64_t r;
	int c;

	memset(counts, 0, sizeof(double) * (size_t) w);
	for (r = 0; r < n; r++)
	{
		int off = 0;

		for (c = 0; c < s->ncols; c++)
		{
			const lv_column *col = &s->cols[c];
			int32_t t = T[(size_t) r * s->ncols + c];

			if (col->kind == LV_COL_NUMERIC)
			{
				if (t < 0)
				{
					if (col->nullable)
						counts[off + col->nbins] += 1.0;
				}
				else if (t < col->nbins)
					counts[off + t] += 1.0;
				off += col->nbins + (col->nullable ? 1 : 0);
			}
			else
			{
				int slots = lv_column_slots(col);

				if (t >= 0 && t < slots)
					counts[off + t] += 1.0;
				off += slots;
			}
		}
	}
}

/*
 * lv_marginal_noise adds exact discrete Gaussian noise (lv_exact.h) of
 * variance n/d = lv_gaussian_var_up(sd) >= sd^2 to every integer count, in
 * int64 (see lv_marginals.h). On any failure every count is set to 0, so
 * nothing data-dependent is left un-noised.
 */
int
lv_marginal_noise(double *counts, int w, double sd, lv_stream *s)
{
	uint64_t n = 0,
			 d = 0;
	int rc = LV_OK,
		i;

	if (w < 0 || (w > 0 && (counts == NULL || s == NULL)))
		return LV_ERR_ARG;
	if (sd == 0.0)
		return LV_OK; /* no noise: the audit's noiseless control only */
	rc = lv_gaussian_var_up(sd, &n, &d);
	for (i = 0; rc == LV_OK && i < w; i++)
		if (!(fabs(counts[i]) < 0x1p53) || counts[i] != floor(counts[i]))
			rc = LV_ERR_ARG;
	for (i = 0; rc == LV_OK && i < w; i++)
	{
		int64_t x;

		rc = lv_discrete_gaussian(s, n, d, &x);
		if (rc == LV_OK)
			counts[i] = (double) ((int64_t) counts[i] + x);
	}
	if (rc != LV_OK)
		for (i = 0; i < w; i++)
			counts[i] = 0.0;
	return rc;
}

/*
 * lv_marginal_normalise writes the distribution of w noisy counts to p: clamped at
 * 0, a floor of LV_MARGINAL_FLOOR of the mass per slot, summing to 1.
 * Returns the clamped mass (0 when every count is <= 0: uniform).
 */
double
lv_marginal_normalise(const double *counts, int w, double *p)
{
	double sum = 0.0,
		   tot = 0.0;
	int i;

	for (i = 0; i < w; i++)
	{
		p[i] = counts[i] > 0.0 ? counts[i] : 0.0;
		sum += p[i];
	}
	for (i = 0; i < w; i++)
	{
		p[i] = (sum > 0.0 ? p[i] / sum : 1.0 / w) + LV_MARGINAL_FLOOR / w;
		tot += p[i];
	}
	for (i = 0; i < w; i++)
		p[i] /= tot;
	return sum;
}

/* lv_clamp_step limits one fixed-point step. */
static double
lv_clamp_step(double x)
{
	if (!(x > -LV_MARGINAL_STEP))
		return -LV_MARGINAL_STEP;
	if (x > LV_MARGINAL_STEP)
		return LV_MARGINAL_STEP;
	return x;
}

/*
 * lv_fit_softmax_head fits the w bias shifts delta of one softmax head
 * (logits L + off, row stride o, M rows) to the target p.
 */
static void
lv_fit_softmax_head(const float *L, int o, int off, int w, int M,
					const double *p, int iters, double *delta,
					double *pm)
{
	int it,
		r,
		j;

	for (it = 0; it < iters; it++)
	{
		memset(pm, 0, sizeof(double) * (size_t) w);
		for (r = 0; r < M; r++)
		{
			const float *l = L + (size_t) r * o + off;
			double mx = -INFINITY,
				   z = 0.0;

			for (j = 0; j < w; j++)
				if ((double) l[j] + delta[j] > mx)
					mx = (double) l[j] + delta[j];
			for (j = 0; j < w; j++)
				z += exp((double) l[j] + delta[j] - mx);
			for (j = 0; j < w; j++)
				pm[j] += exp((double) l[j] + delta[j] - mx) / z;
		}
		for (j = 0; j < w; j++)
		{
			double m = pm[j] / M;

			delta[j] += lv_clamp_step(log(p[j]) - log(m > 1e-300 ? m : 1e-300));
		}
	}
}

/* lv_fit_null_head fits the bias shift of one Bernoulli NULL head. */
static double
lv_fit_null_head(const float *L, int o, int off, int M, double p, int iters)
{
	double delta = 0.0;
	int it,
		r;

	for (it = 0; it < iters; it++)
	{
		double m = 0.0;

		for (r = 0; r < M; r++)
			m += 1.0 / (1.0 + exp(-((double) L[(size_t) r * o + off] + delta)));
		m /= M;
		if (m < 1e-12)
			m = 1e-12;
		if (m > 1.0 - 1e-12)
			m = 1.0 - 1e-12;
		delta += lv_clamp_step((log(p) - log1p(-p)) - (log(m) - log1p(-m)));
	}
	return delta;
}

/* lv_prior_set writes points first .. first+S-1 of the mixture prior (lv_marginals.h). */
void
lv_prior_set(const lv_model *m, int64_t first, int S, float *z)
{
	int r,
		c;

	for (r = 0; r < S; r++)
	{
		lv_stream st;

		lv_stream_init(&st, m->key, LV_DOMAIN_PRIOR_SET, (uint64_t) (first + r));
		for (c = 0; c < m->latent; c++)
			z[(size_t) r * m->latent + c] = (float) (m->noise_sd * lv_stream_gaussian(&st));
	}
}

/*
 * lv_prior_logits decodes S draws z ~ N(0, noise_sd^2 I) from the (key,
 * TRAIN, stream) stream into L (S x output dim). Returns LV_OK or
 * LV_ERR_NOMEM.
 */
int
lv_prior_logits(const lv_model *m, int S, const uint8_t key[LV_KEY_BYTES],
				uint64_t stream, float *L)
{
	int k = m->latent;
	float *z = lv_alloc(sizeof(float) * (size_t) S * k);
	float *scratch = lv_alloc(sizeof(float) * 2 * (size_t) S * lv_mlp_max_width(&m->dec));
	lv_stream st;
	size_t i;

	if (z == NULL || scratch == NULL || (m->prior_points > 0 && S != m->prior_points))
	{
		lv_free(z);
		lv_free(scratch);
		return z == NULL || scratch == NULL ? LV_ERR_NOMEM : LV_ERR_ARG;
	}
	lv_stream_init(&st, key, LV_DOMAIN_TRAIN, stream);
	if (m->prior_points > 0)
		lv_prior_set(m, 0, S, z);
	else
		for (i = 0; i < (size_t) S * k; i++)
			z[i] = (float) (m->noise_sd * lv_stream_gaussian(&st));
	lv_mlp_infer(&m->dec, z, S, L, scratch);
	lv_free(z);
	lv_free(scratch);
	return LV_OK;
}

/* lv_model_fit_marginals corrects the output biases (see lv_marginals.h). */
int
lv_model_fit_marginals(lv_model *m, const double *noisy_counts, int nsamples,
					   int iters, const uint8_t key[LV_KEY_BYTES])
{
	const lv_schema *s;
	lv_layer *last;
	float *L = NULL;
	double *delta = NULL,
		   *p = NULL,
		   *pm = NULL;
	int k,
		o,
		w,
		c,
		off = 0;
	size_t i;

	if (m == NULL || noisy_counts == NULL || key == NULL || nsamples < 1 ||
		nsamples > (1 << 20) || iters < 0 || m->dec.nlayers < 1 ||
		m->dec.layers == NULL || m->latent < 1 || m->prior_points != 0)
		return LV_ERR_ARG;
	s = &m->schema;
	k = m->latent;
	o = lv_schema_output_dim(s);
	w = lv_marginal_width(s);
	last = &m->dec.layers[m->dec.nlayers - 1];
	if (last->out != o || m->dec.layers[0].in != k)
		return LV_ERR_ARG;

	L = lv_alloc(sizeof(float) * (size_t) nsamples * o);
	delta = lv_calloc((size_t) w, sizeof(double));
	p = lv_alloc(sizeof(double) * (size_t) w);
	pm = lv_alloc(sizeof(double) * (size_t) w);
	/* the prior draws and the decoder's logits on them */
	if (L == NULL || delta == NULL || p == NULL || pm == NULL ||
		lv_prior_logits(m, nsamples, key, LV_MARGINALS_STREAM, L) != LV_OK)
	{
		lv_free(L);
		lv_free(delta);
		lv_free(p);
		lv_free(pm);
		return LV_ERR_NOMEM;
	}

	for (c = 0; c < s->ncols; c++)
	{
		const lv_column *col = &s->cols[c];

		if (col->kind == LV_COL_NUMERIC)
		{
			int nb = col->nbins;

			lv_marginal_normalise(noisy_counts + off, nb, p);
			lv_fit_softmax_head(L, o, off, nb, nsamples, p, iters, delta + off, pm);
			if (col->nullable)
			{
				double cnt[2],
					q[2],
					nonnull = 0.0;
				int j;

				for (j = 0; j < nb; j++)
					nonnull += noisy_counts[off + j];
				cnt[0] = noisy_counts[off + nb];
				cnt[1] = nonnull;
				lv_marginal_normalise(cnt, 2, q);
				delta[off + nb] = lv_fit_null_head(L, o, off + nb, nsamples, q[0], iters);
			}
			off += nb + (col->nullable ? 1 : 0);
		}
		else
		{
			int slots = lv_column_slots(col);

			lv_marginal_normalise(noisy_counts + off, slots, p);
			lv_fit_softmax_head(L, o, off, slots, nsamples, p, iters, delta + off, pm);
			off += slots;
		}
	}

	for (i = 0; i < (size_t) o; i++)
		last->b[i] = (float) ((double) last->b[i] + delta[i]);

	lv_free(L);
	lv_free(delta);
	lv_free(p);
	lv_free(pm);
	return LV_OK;
}
