/*
 * lv_schema.c - the encoding of a row into the input vector x in [0,1]^d,
 * the training targets of the decoder heads, and the layout of the
 * decoder's logit vector.
 *
 * Input coordinates, per column in order:
 *   numeric:     1 coordinate, (clip(v, lo, hi) - lo) / (hi - lo), 0 when
 *                NULL; then, if nullable, an indicator (1 when NULL).
 *   categorical: one-hot over ncat listed slots, "other", and (if
 *                nullable) NULL.
 * Output logits, per column in order:
 *   numeric:     nbins bin logits (softmax), then, if nullable, one NULL
 *                logit (Bernoulli through a sigmoid).
 *   categorical: one logit per slot (softmax).
 */
#include <math.h>
#include <string.h>

#include "lv_model.h"
#include "lv_nn.h"
#include "lv_privacy.h"

/* lv_column_slots returns the number of one-hot slots of a categorical column. */
int
lv_column_slots(const lv_column *c)
{
	return c->ncat + 1 + (c->nullable ? 1 : 0);
}

/* lv_column_in_width returns the number of input coordinates of a column. */
int
lv_column_in_width(const lv_column *c)
{
	if (c->kind == LV_COL_NUMERIC)
		return 1 + (c->nullable ? 1 : 0);
	return lv_column_slots(c);
}

/* lv_column_out_width returns the number of decoder logits of a column. */
int
lv_column_out_width(const lv_column *c)
{
	if (c->kind == LV_COL_NUMERIC)
		return c->nbins + (c->nullable ? 1 : 0);
	return lv_column_slots(c);
}

/*
 * lv_schema_check validates a schema: column count, kinds, flags, finite
 * bounds with lo < hi, bin counts (exact bins: integral bounds and
 * nbins == hi - lo + 1) and category counts. Returns LV_OK or LV_ERR_ARG.
 */
int
lv_schema_check(const lv_schema *s)
{
	int i;

	if (s == NULL || s->ncols < 1 || s->ncols > LV_MAX_COLUMNS ||
		s->cols == NULL)
		return LV_ERR_ARG;
	for (i = 0; i < s->ncols; i++)
	{
		const lv_column *c = &s->cols[i];

		if ((c->nullable != 0 && c->nullable != 1) ||
			(c->integer != 0 && c->integer != 1) ||
			(c->exact_bins != 0 && c->exact_bins != 1) ||
			(c->uniform_ints != 0 && (c->uniform_ints != 1 || !lv_column_binned_int(c))))
			return LV_ERR_ARG;
		if (!isfinite(c->lo) || !isfinite(c->hi))
			return LV_ERR_ARG;
		if (c->kind == LV_COL_NUMERIC)
		{
			if (!(c->lo < c->hi))
				return LV_ERR_ARG;
			if (c->nbins < 1 || c->nbins > LV_MAX_BINS)
				return LV_ERR_ARG;
			if (c->exact_bins)
			{
				if (c->lo != floor(c->lo) || c->hi != floor(c->hi))
					return LV_ERR_ARG;
				if (c->hi - c->lo + 1.0 != (double) c->nbins)
					return LV_ERR_ARG;
			}
		}
		else if (c->kind == LV_COL_CATEGORICAL)
		{
			if (c->ncat < 0 || c->ncat > LV_MAX_CATEGORIES)
				return LV_ERR_ARG;
		}
		else
			return LV_ERR_ARG;
	}
	return LV_OK;
}

/* lv_column_binned_int: an integer numeric column with equal-width bins. */
int
lv_column_binned_int(const lv_column *c)
{
	return c->kind == LV_COL_NUMERIC && c->integer && !c->exact_bins;
}

/*
 * lv_schema_uniform_ints returns 1 when s has integer columns with
 * equal-width bins and every one decodes uniformly to its bin's integers,
 * 0 when none does (or s has none), -1 when some do and some do not.
 */
int
lv_schema_uniform_ints(const lv_schema *s)
{
	int i,
		yes = 0,
		no = 0;

	for (i = 0; i < s->ncols; i++)
	{
		const lv_column *c = &s->cols[i];

		if (lv_column_binned_int(c))
		{
			yes += c->uniform_ints != 0;
			no += c->uniform_ints == 0;
		}
	}
	return yes > 0 && no > 0 ? -1 : yes > 0;
}

/* lv_schema_input_dim returns d, the width of an encoded row. */
int
lv_schema_input_dim(const lv_schema *s)
{
	int i,
		d = 0;

	for (i = 0; i < s->ncols; i++)
		d += lv_column_in_width(&s->cols[i]);
	return d;
}

/* lv_schema_output_dim returns the width of the decoder's logit vector. */
int
lv_schema_output_dim(const lv_schema *s)
{
	int i,
		o = 0;

	for (i = 0; i < s->ncols; i++)
		o += lv_column_out_width(&s->cols[i]);
	return o;
}

/*
 * lv_schema_diameter returns the L2 diameter D of the encoded domain:
 * sqrt(#numeric + 2 #categorical + #nullable numeric) (privacy.md).
 */
double
lv_schema_diameter(const lv_schema *s)
{
	int i,
		nnum = 0,
		ncat = 0,
		nnull = 0;

	for (i = 0; i < s->ncols; i++)
	{
		if (s->cols[i].kind == LV_COL_NUMERIC)
		{
			nnum++;
			if (s->cols[i].nullable)
				nnull++;
		}
		else
			ncat++;
	}
	return lv_encoding_diameter(nnum, ncat, nnull);
}

/*
 * lv_numeric_bin returns the bin of a non-NULL numeric value: exact bins
 * round(v) - lo, else floor((v - lo) / (hi - lo) * nbins), clipped to
 * [0, nbins - 1] (NaN goes to bin 0).
 */
int
lv_numeric_bin(const lv_column *c, double v)
{
	double b;

	if (c->exact_bins)
		b = round(v) - c->lo;
	else
		b = floor((v - c->lo) / (c->hi - c->lo) * c->nbins);
	if (!(b >= 0.0))
		return 0;
	if (b > (double) (c->nbins - 1))
		return c->nbins - 1;
	return (int) b;
}

/*
 * lv_encode_row encodes one row of cells into x (d floats in [0,1]) and
 * target (ncols ints: numeric bin index or -1 for NULL; categorical slot).
 * A categorical cat outside [0, ncat) goes to "other"; a NULL in a column
 * that is not nullable is encoded as 0 (numeric, target -1) or "other".
 */
void
lv_encode_row(const lv_schema *s, const lv_cell *cells, float *x,
			  int32_t *target)
{
	int i,
		off = 0;

	for (i = 0; i < s->ncols; i++)
	{
		const lv_column *c = &s->cols[i];
		const lv_cell *cell = &cells[i];

		if (c->kind == LV_COL_NUMERIC)
		{
			if (cell->isnull)
			{
				x[off] = 0.0f;
				target[i] = -1;
			}
			else
			{
				double v = cell->value;

				if (!(v >= c->lo))
					v = c->lo;
				if (v > c->hi)
					v = c->hi;
				x[off] = (float) ((v - c->lo) / (c->hi - c->lo));
				target[i] = lv_numeric_bin(c, cell->value);
			}
			if (c->nullable)
				x[off + 1] = cell->isnull ? 1.0f : 0.0f;
			off += lv_column_in_width(c);
		}
		else
		{
			int slots = lv_column_slots(c);
			int slot;

			if (cell->isnull)
				slot = c->nullable ? c->ncat + 1 : c->ncat;
			else if (cell->cat >= 0 && cell->cat < c->ncat)
				slot = cell->cat;
			else
				slot = c->ncat;
			memset(x + off, 0, sizeof(float) * slots);
			x[off + slot] = 1.0f;
			target[i] = slot;
			off += slots;
		}
	}
}
