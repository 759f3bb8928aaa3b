/*
 * lv_genfit.c - the decoder fitted to noisy marginals (lv_genfit.h).
 */
#include <math.h>
#include <string.h>

#include "lv_genfit.h"
#include "lv_marginals.h"
#include "lv_maxent.h"
#include "lv_nn.h"
#include "lv_rand.h"
#include "lv_tree.h"

/* lv_heads_backward: d/dlogits from d/dprobabilities (lv_genfit.h). */
void
lv_heads_backward(const lv_schema *s, const double *P, const double *G, int B,
				  float *dlogits)
{
	int o = lv_schema_output_dim(s);
	int b,
		c,
		j;

	for (b = 0; b < B; b++)
	{
		const double *p = P + (size_t) b * o;
		const double *g = G + (size_t) b * o;
		float *d = dlogits + (size_t) b * o;
		int off = 0;

		for (c = 0; c < s->ncols; c++)
		{
			const lv_column *col = &s->cols[c];
			int nul = col->kind == LV_COL_NUMERIC && col->nullable;
			int w = col->kind == LV_COL_NUMERIC ? col->nbins : lv_column_slots(col);
			double keep = nul ? 1.0 - p[off + w] : 1.0;
			double mean = 0.0;

			/* bins: p_j = keep q_j, q the softmax; d/dl_j = p_j (g_j - E_q g) */
			for (j = 0; j < w; j++)
				mean += p[off + j] * g[off + j];
			mean = keep > 1e-300 ? mean / keep : 0.0;
			for (j = 0; j < w; j++)
				d[off + j] = (float) (p[off + j] * (g[off + j] - mean));
			/* the NULL slot: p_n = sigmoid(l_n), the bins share 1 - p_n */
			if (nul)
				d[off + w] = (float) (p[off + w] * keep * (g[off + w] - mean));
			off += lv_column_out_width(col);
		}
	}
}

/* Work of lv_genfit: the cache, gradients, Adam moments, power vectors. */
typedef struct lv_genfit_work
{
	lv_mlp_cache cache;
	lv_mlp grad,
		m1,
		m2;
	float *z,
		*dlogits,
		*pv,
		*pu;
	double *P,
		*G,
		*mu,
		*slot_mu, /* o: scratch of lv_pair_mi (a pair's two one-way marginals) */
		*dmi,     /* cells: dI/dmu of a tree edge */
		*mi;      /* nm: each measured pair's I(X_a; X_b) at the last step */
	int *pa,
		*pb,      /* nm: each measurement's pair (-1: not a pair) */
		*edge;    /* nm: 1 on the tree's edges (lv_maxent_tree) */
	lv_maxent me; /* maxent > 0 */
} lv_genfit_work;

/* lv_genfit_free releases w. */
static void
lv_genfit_free(lv_genfit_work *w)
{
	lv_mlp_cache_free(&w->cache);
	lv_mlp_free(&w->grad);
	lv_mlp_free(&w->m1);
	lv_mlp_free(&w->m2);
	lv_free(w->z);
	lv_free(w->dlogits);
	lv_free(w->pv);
	lv_free(w->pu);
	lv_free(w->P);
	lv_free(w->G);
	lv_free(w->mu);
	lv_free(w->slot_mu);
	lv_free(w->dmi);
	lv_free(w->mi);
	lv_free(w->pa);
	lv_free(w->pb);
	lv_free(w->edge);
	lv_maxent_free(&w->me);
}

/* lv_genfit_alloc sets up w for a decoder, B rows and cells of scratch. */
static int
lv_genfit_alloc(lv_genfit_work *w, const lv_model *m, int B, int64_t cells,
				const lv_measurement *ms, int nm, const lv_genfit_config *cfg, lv_stream *rng)
{
	int o = lv_schema_output_dim(&m->schema);
	int widest = lv_mlp_max_width(&m->dec);
	int l,
		i,
		vin = 0;

	memset(w, 0, sizeof(*w));
	for (l = 0; l < m->dec.nlayers; l++)
		vin += m->dec.layers[l].in;
	w->z = lv_alloc(sizeof(float) * (size_t) B * m->latent);
	w->dlogits = lv_alloc(sizeof(float) * (size_t) B * o);
	w->pv = lv_alloc(sizeof(float) * (size_t) vin);
	w->pu = lv_alloc(sizeof(float) * (size_t) widest);
	w->P = lv_alloc(sizeof(double) * (size_t) B * o);
	w->G = lv_alloc(sizeof(double) * (size_t) B * o);
	w->mu = lv_alloc(sizeof(double) * (size_t) cells);
	w->slot_mu = lv_alloc(sizeof(double) * (size_t) o);
	w->dmi = lv_alloc(sizeof(double) * (size_t) cells);
	w->mi = lv_alloc(sizeof(double) * (size_t) nm);
	w->pa = lv_alloc(sizeof(int) * (size_t) nm);
	w->pb = lv_alloc(sizeof(int) * (size_t) nm);
	w->edge = lv_alloc(sizeof(int) * (size_t) nm);
	if (w->dmi == NULL || w->mi == NULL || w->pa == NULL || w->pb == NULL || w->edge == NULL ||
		(cfg->maxent > 0 && lv_maxent_alloc(&w->me, B, o, m->schema.ncols, cfg->maxent_samples) != LV_OK))
		return LV_ERR_NOMEM;
	for (i = 0; i < nm; i++)
	{
		w->pa[i] = ms[i].q.k == 2 ? ms[i].q.cols[0] : -1;
		w->pb[i] = ms[i].q.k == 2 ? ms[i].q.cols[1] : -1;
		w->edge[i] = 0;
		w->mi[i] = 0.0;
	}
	if (w->slot_mu == NULL || w->z == NULL || w->dlogits == NULL || w->pv == NULL || w->pu == NULL ||
		w->P == NULL || w->G == NULL || w->mu == NULL ||
		lv_mlp_cache_alloc(&w->cache, &m->dec, B) != LV_OK ||
		lv_mlp_alloc_like(&w->grad, &m->dec) != LV_OK ||
		lv_mlp_alloc_like(&w->m1, &m->dec) != LV_OK ||
		lv_mlp_alloc_like(&w->m2, &m->dec) != LV_OK)
		return LV_ERR_NOMEM;
	for (i = 0; i < vin; i++)
		w->pv[i] = (float) lv_stream_gaussian(rng);
	if (m->prior_points > 0) /* B = prior_points: the whole prior, every step */
		lv_prior_set(m, 0, B, w->z);
	return LV_OK;
}

/*
 * lv_genfit_measured adds measurement i's term to G: wt || mu - y ||^2 and,
 * on a tree edge, -lam_r I(X_a; X_b) (lv_maxent.h); with lam_r > 0 it keeps
 * a pair's I for the next step's tree. Returns its squared error.
 */
static double
lv_genfit_measured(const lv_measurement *ms, int i, double wt, double lam_r, int B, int o,
				   const int *off, lv_genfit_work *w)
{
	const lv_clique *q = &ms[i].q;
	int tree = lam_r > 0 && w->edge[i];
	double loss = 0.0;
	int64_t c;

	lv_clique_expect(q, w->P, B, o, off, w->mu);
	if (lam_r > 0 && q->k == 2)
		w->mi[i] = lv_pair_mi(w->mu, q->width[0], q->width[1], tree ? w->dmi : NULL, w->slot_mu);
	for (c = 0; c < q->cells; c++)
	{
		double e = w->mu[c] - ms[i].y[c];

		loss += wt * e * e;
		w->mu[c] = 2.0 * e - (tree ? lam_r / wt * w->dmi[c] : 0.0); /* now D */
	}
	lv_clique_grad(q, w->P, B, o, off, w->mu, wt, w->G);
	return loss;
}

/*
 * lv_genfit_step runs one step: prior draws (a mixture prior: all its
 * points, so mu_m is exact), probabilities, the loss and its gradient at
 * the logits. Returns L.
 */
static double
lv_genfit_step(lv_model *m, const lv_measurement *ms, int nm, const double *wt,
			   double lam_r, int B, lv_genfit_work *w, lv_stream *rng)
{
	const lv_schema *s = &m->schema;
	int o = lv_schema_output_dim(s);
	int off[LV_MAX_COLUMNS];
	const float *logits;
	double loss = 0.0;
	int i,
		r;

	for (i = 0; m->prior_points == 0 && i < B * m->latent; i++)
		w->z[i] = (float) (m->noise_sd * lv_stream_gaussian(rng));
	lv_mlp_forward(&m->dec, w->z, B, &w->cache);
	logits = w->cache.act[m->dec.nlayers - 1];
	for (r = 0; r < B; r++)
		lv_column_probs(s, logits + (size_t) r * o, w->P + (size_t) r * o);
	lv_slot_offsets(s, off);
	memset(w->G, 0, sizeof(double) * (size_t) B * o);
	for (i = 0; i < nm; i++)
		loss += lv_genfit_measured(ms, i, wt[i], lam_r, B, o, off, w);
	if (lam_r > 0)
	{
		lv_maxent_tree(w->pa, w->pb, w->mi, nm, s->ncols, w->edge);
		lv_maxent_tc_grad(&w->me, s, w->P, lam_r, rng, w->G);
	}
	lv_heads_backward(s, w->P, w->G, B, w->dlogits);
	lv_mlp_backward(&m->dec, w->z, B, &w->cache, w->dlogits, &w->grad, NULL);
	return loss;
}

/* lv_genfit_project keeps every decoder layer within bound. */
static void
lv_genfit_project(lv_model *m, lv_genfit_work *w, double bound)
{
	int l,
		vo = 0;

	if (!(bound > 0))
		return;
	for (l = 0; l < m->dec.nlayers; l++)
	{
		lv_spectral_project(&m->dec.layers[l], w->pv + vo, w->pu, 2, bound);
		vo += m->dec.layers[l].in;
	}
}

/* lv_genfit fits m's decoder to the measurements (lv_genfit.h). */
int
lv_genfit(lv_model *m, const lv_measurement *ms, int nm,
		  const lv_genfit_config *cfg, double *loss)
{
	lv_genfit_work w;
	lv_stream rng;
	double *wt;
	double sd_min = INFINITY,
		   L = 0.0,
		   lam_r;
	int64_t cells = 1;
	int i,
		t,
		B,
		rc = LV_OK;
	unsigned int fp;

	if (m == NULL || ms == NULL || nm < 1 || cfg == NULL || cfg->steps < 0 ||
		cfg->batch < 1 || m->dec.nlayers < 1 || !lv_prior_ok(m) ||
		!(cfg->maxent >= 0) || !isfinite(cfg->maxent) ||
		(cfg->maxent > 0 && (m->prior_points < 1 || cfg->maxent_samples < 1 || !(cfg->n_hat > 0))))
		return LV_ERR_ARG;
	B = m->prior_points > 0 ? m->prior_points : cfg->batch;
	for (i = 0; i < nm; i++)
	{
		if (!(ms[i].sd > 0) || !isfinite(ms[i].sd) || ms[i].y == NULL)
			return LV_ERR_ARG;
		sd_min = fmin(sd_min, ms[i].sd);
		if (ms[i].q.cells > cells)
			cells = ms[i].q.cells;
	}
	memset(&w, 0, sizeof(w)); /* lv_genfit_free may run before lv_genfit_alloc */
	wt = lv_alloc(sizeof(double) * (size_t) nm);
	lv_stream_init(&rng, cfg->key, LV_DOMAIN_TRAIN, cfg->stream);
	if (wt == NULL || lv_genfit_alloc(&w, m, B, cells, ms, nm, cfg, &rng) != LV_OK)
	{
		lv_free(wt);
		lv_genfit_free(&w);
		return LV_ERR_NOMEM;
	}
	for (i = 0; i < nm; i++)
		wt[i] = (sd_min / ms[i].sd) * (sd_min / ms[i].sd);
	lam_r = cfg->maxent > 0 ? cfg->maxent * sd_min / cfg->n_hat : 0.0;
	fp = lv_fp_enter();
	for (t = 1; t <= cfg->steps; t++)
	{
		/* the callback may longjmp: it runs in the caller's float mode */
		if (lv_poll_callback(cfg->interrupted, cfg->arg, fp))
		{
			rc = LV_ERR_INTERRUPTED;
			break;
		}
		L = lv_genfit_step(m, ms, nm, wt, lam_r, B, &w, &rng);
		lv_adam_step(&m->dec, &w.grad, &w.m1, &w.m2, cfg->lr, 0.9, 0.999, 1e-8, t);
		lv_genfit_project(m, &w, cfg->layer_bound);
	}
	lv_fp_leave(fp);
	lv_mlp_flush_tiny(&m->dec);
	if (loss)
		*loss = L;
	lv_free(wt);
	lv_genfit_free(&w);
	return rc;
}
