/*
 * lv_release_ref.c - the release function of lipvae 0.1, verbatim except
 * for its name (lv_release_rows_ref): the reference that every faster
 * lv_release_rows must reproduce bit for bit (bench/check_release.c),
 * because row j of a model is promised to be a fixed function of (key, j).
 *
 * Original header:
 * lv_release.c - release of synthetic rows: row j is a fixed function of
 * (key, j). Its source row comes from the keyed permutation of pass
 * q = j / n, its latent noise and every head draw from the (key, RELEASE,
 * j) stream, and the decoder runs once per chunk of rows.
 *
 * Draws per row, in this order: k Gaussians for the latent noise, then per
 * column: numeric: [u_null if nullable], u_bin, u_pos; categorical: u_slot.
 * The number of draws per column never depends on the outcome.
 */
#include <math.h>
#include <string.h>

#include "lv_model.h"
#include "lv_nn.h"

/*
 * lv_sample_softmax returns the index drawn from the softmax over l[0..n)
 * by inverse CDF with the uniform u in (0,1). Overwrites l with the
 * unnormalised probabilities.
 */
static int
lv_sample_softmax(float *l, int n, double u)
{
	float mx = l[0];
	double sum = 0.0,
		   target,
		   acc = 0.0;
	int i;

	for (i = 1; i < n; i++)
		if (l[i] > mx)
			mx = l[i];
	for (i = 0; i < n; i++)
	{
		l[i] = expf(l[i] - mx);
		sum += l[i];
	}
	target = u * sum;
	for (i = 0; i < n - 1; i++)
	{
		acc += l[i];
		if (target < acc)
			return i;
	}
	return n - 1;
}

/* lv_sigmoid_d returns 1 / (1 + e^-x) in double without overflow. */
static double
lv_sigmoid_d(double x)
{
	if (x >= 0.0)
		return 1.0 / (1.0 + exp(-x));
	else
	{
		double e = exp(x);

		return e / (1.0 + e);
	}
}

/*
 * lv_decode_row samples the cells of one row from its logits with the
 * row's stream, in column order (the logits are overwritten).
 */
static void
lv_decode_row(const lv_schema *s, float *logits, lv_stream *rs,
			  lv_cell *out)
{
	int c,
		off = 0;

	for (c = 0; c < s->ncols; c++)
	{
		const lv_column *col = &s->cols[c];
		lv_cell *cell = &out[c];

		cell->value = 0.0;
		cell->cat = 0;
		cell->isnull = 0;
		if (col->kind == LV_COL_NUMERIC)
		{
			int nb = col->nbins;
			int isnull = 0;
			double u_bin,
				u_pos;
			int bin;
			double v;

			if (col->nullable)
			{
				double u_null = lv_stream_uniform(rs);

				isnull = u_null < lv_sigmoid_d((double) logits[off + nb]);
			}
			u_bin = lv_stream_uniform(rs);
			u_pos = lv_stream_uniform(rs);
			bin = lv_sample_softmax(logits + off, nb, u_bin);
			if (col->exact_bins)
				v = col->lo + bin;
			else
			{
				v = col->lo + (bin + u_pos) * (col->hi - col->lo) / nb;
				if (col->integer)
				{
					double ilo = ceil(col->lo),
						   ihi = floor(col->hi);

					v = round(v);
					if (ilo <= ihi)
					{
						if (v < ilo)
							v = ilo;
						if (v > ihi)
							v = ihi;
					}
				}
				if (v < col->lo)
					v = col->lo;
				if (v > col->hi)
					v = col->hi;
			}
			if (isnull)
			{
				cell->isnull = 1;
				cell->value = 0.0;
			}
			else
				cell->value = v;
			off += nb + (col->nullable ? 1 : 0);
		}
		else
		{
			int slots = lv_column_slots(col);
			int slot = lv_sample_softmax(logits + off, slots,
										 lv_stream_uniform(rs));

			if (slot < col->ncat)
				cell->cat = slot;
			else if (slot == col->ncat)
				cell->cat = -1;
			else
			{
				cell->cat = -1;
				cell->isnull = 1;
			}
			off += slots;
		}
	}
}

/*
 * lv_release_rows decodes synthetic rows start .. start+count-1 into out
 * (count x ncols cells); see lv_model.h. Returns LV_OK, LV_ERR_ARG or
 * LV_ERR_NOMEM.
 */
int
lv_release_rows_ref(const lv_model *m, int64_t start, int count, lv_cell *out)
{
	int k,
		o,
		mw,
		r,
		c;
	uint64_t n;
	float *z,
		*logits,
		*scratch;
	lv_stream *streams;
	char *block;
	size_t sz_z,
		sz_l,
		sz_s;

	if (m == NULL || out == NULL || start < 0 || count < 0 ||
		count > LV_RELEASE_CHUNK || start > INT64_MAX - count)
		return LV_ERR_ARG;
	if (count == 0)
		return LV_OK;
	if (m->nrows < 1 || m->means == NULL || m->center == NULL ||
		m->dec.nlayers < 1 || m->dec.layers == NULL || m->latent < 1 ||
		m->dec.layers[0].in != m->latent ||
		m->dec.layers[m->dec.nlayers - 1].out != lv_schema_output_dim(&m->schema))
		return LV_ERR_ARG;

	k = m->latent;
	o = lv_schema_output_dim(&m->schema);
	mw = lv_mlp_max_width(&m->dec);
	n = (uint64_t) m->nrows;

	/* one block per call: streams, z, logits, decoder scratch */
	sz_z = sizeof(float) * (size_t) count * k;
	sz_l = sizeof(float) * (size_t) count * o;
	sz_s = sizeof(float) * 2 * (size_t) count * mw;
	block = lv_alloc(sizeof(lv_stream) * count + sz_z + sz_l + sz_s);
	if (block == NULL)
		return LV_ERR_NOMEM;
	streams = (lv_stream *) block;
	z = (float *) (block + sizeof(lv_stream) * count);
	logits = (float *) ((char *) z + sz_z);
	scratch = (float *) ((char *) logits + sz_l);

	for (r = 0; r < count; r++)
	{
		uint64_t j = (uint64_t) start + (uint64_t) r;
		uint64_t src = lv_permute(m->key, j / n, n, j % n);
		const float *mean;
		float *zr = z + (size_t) r * k;

		if (src >= n) /* cannot happen with a correct permutation */
		{
			lv_free(block);
			return LV_ERR_ARG;
		}
		mean = m->means + (size_t) src * k;
		lv_stream_init(&streams[r], m->key, LV_DOMAIN_RELEASE, j);
		for (c = 0; c < k; c++)
			zr[c] = (float) (m->center[c] + (double) mean[c] +
							 m->noise_sd * lv_stream_gaussian(&streams[r]));
	}

	lv_mlp_infer(&m->dec, z, count, logits, scratch);

	for (r = 0; r < count; r++)
		lv_decode_row(&m->schema, logits + (size_t) r * o, &streams[r],
					  out + (size_t) r * m->schema.ncols);

	lv_free(block);
	return LV_OK;
}
