/*
 * train_measure.c - the measure stage of marginals => 'aim': the data is
 * read only to count. Without unit => the query runs twice as the caller
 * and no row is held: the first pass counts the domain's histograms and
 * labels and the rows, the second encodes each batch and adds it to the
 * counts of every AIM candidate (lv_aim_workload); memory is the
 * candidates' cells and the text columns' distinct labels, not the rows.
 * With unit => the rows are held (bound_units groups them by unit) and fed
 * to the same two sinks.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "portability/instr_time.h"

#include "train.h"
#include "lv_domain.h"

/* What the sinks share. */
typedef struct MeasureState
{
	TrainColumn *tc;
	int ncols;
	const lv_schema *schema; /* measure pass: the encoding */
	lv_aim_workload *w;
	int64 *clipped; /* per column: values outside DP bounds */
	int64 *values;  /* per column: non-NULL values of the measure pass */
	int32 *T;       /* FETCH_BATCH x ncols targets */
	float *xrow;    /* one row's network input (unused) */
} MeasureState;

/* domain_sink adds a batch to the histograms of columns without public bounds. */
static void
domain_sink(void *arg, lv_cell *rows, const uint64 *units, int64 n)
{
	MeasureState *st = arg;
	int64 r;
	int i;

	for (i = 0; i < st->ncols; i++)
	{
		double *h = st->tc[i].domain_counts;

		if (h == NULL)
			continue;
		for (r = 0; r < n; r++)
		{
			const lv_cell *c = &rows[r * st->ncols + i];
			int bin = c->isnull ? -1 : lv_domain_bin(c->value);

			if (bin >= 0)
				h[bin] += 1;
		}
	}
	CHECK_FOR_INTERRUPTS();
}

/*
 * encode_cell maps a cell to the model's domain in place: a text value's
 * raw id to its list index (-1: other, also for a label the first pass did
 * not see), and counts a value outside DP bounds.
 */
static void
encode_cell(MeasureState *st, int i, lv_cell *c)
{
	const TrainColumn *t = &st->tc[i];

	if (c->isnull)
		return;
	st->values[i]++;
	if (!t->numeric && t->raw_to_cat)
		c->cat = c->cat >= 0 ? t->raw_to_cat[c->cat] : -1;
	else if (t->numeric && t->noise_sd > 0 && (c->value < t->lo || c->value > t->hi))
		st->clipped[i]++;
}

/* measure_sink encodes a batch and adds it to every candidate's counts. */
static void
measure_sink(void *arg, lv_cell *rows, const uint64 *units, int64 n)
{
	MeasureState *st = arg;
	int64 done = 0;

	while (done < n)
	{
		int64 nb = Min(n - done, FETCH_BATCH),
			  r;
		int i;

		for (r = 0; r < nb; r++)
		{
			lv_cell *row = &rows[(done + r) * st->ncols];

			for (i = 0; i < st->ncols; i++)
				encode_cell(st, i, &row[i]);
			lv_encode_row(st->schema, row, st->xrow, &st->T[r * st->ncols]);
		}
		lipvae_core_error(lv_aim_workload_add(st->w, st->T, nb, interrupt_pending, NULL),
						  "counting the candidate marginals");
		done += nb;
	}
}

/* domain_histograms gives every column without public bounds its histogram. */
static void
domain_histograms(TrainColumn *tc, int ncols)
{
	int i;

	for (i = 0; i < ncols; i++)
		if (tc[i].numeric && !tc[i].have_bounds)
			tc[i].domain_counts = palloc0(sizeof(double) * LV_DOMAIN_NBINS);
}

/* start_workload lists the candidates of schema and the sinks' scratch. */
static void
start_workload(MeasureState *st, const lv_schema *schema, lv_aim_workload *w)
{
	st->schema = schema;
	st->w = w;
	/* the core's allocations count against lipvae.training_memory */
	lipvae_core_error(lv_aim_workload_init(w, schema, LIPVAE_AIM_MAX_K, LIPVAE_AIM_MAX_CELLS),
					  "listing the candidate marginals");
	st->clipped = palloc0(sizeof(int64) * st->ncols);
	st->values = palloc0(sizeof(int64) * st->ncols);
	st->T = palloc(sizeof(int32) * FETCH_BATCH * st->ncols);
	st->xrow = palloc(sizeof(float) * lv_schema_input_dim(schema));
}

/* measure_aim: see train.h. */
int64
measure_aim(LipvaeQuery *lq, const LipvaeSources *src, TrainColumn *tc, int ncols,
			TrainOptions *o, const uint8 *pkey, PrivacyPlan *pp, StringInfo components,
			lv_schema *schema, lv_aim_workload *w)
{
	MeasureState st = {tc, ncols};
	lv_cell *cells = NULL;
	int64 n;
	int i;
	instr_time t0,
		t1;

	INSTR_TIME_SET_CURRENT(t0);
	domain_histograms(tc, ncols);
	if (o->unit)
	{
		uint64 *uh;
		int64 *unit_start;

		cells = read_rows(lq, tc, ncols, o, &uh, &n);
		cells = bound_units(tc, ncols, cells, uh, &n, o->unit_rows, pkey, &unit_start, &pp->units);
		domain_sink(&st, cells, NULL, n);
	}
	else
		n = count_domain(lq, src, tc, ncols, o);
	ereport(NOTICE, (errmsg("lipvae_train: %s: the domain's counts and the row count",
							o->unit ? "the rows read (held, to group them by unit)" : "pass 1 of 2 over the query (a GROUP BY) done")));
	preprocess(tc, ncols, NULL, n, o, pkey, pp, components);
	dp_row_count(o, pp, n, pkey, components);
	build_schema(tc, ncols, o, schema);
	start_workload(&st, schema, w);
	if (cells)
	{
		measure_sink(&st, cells, NULL, n);
		pfree(cells);
	}
	else
	{
		instr_time c0,
			c1;

		INSTR_TIME_SET_CURRENT(c0);
		(void) count_candidates(lq, src, tc, ncols, o, w, st.clipped, st.values);
		INSTR_TIME_SET_CURRENT(c1);
		INSTR_TIME_SUBTRACT(c1, c0);
		pp->count_seconds = INSTR_TIME_GET_DOUBLE(c1);
	}
	ereport(NOTICE, (errmsg("lipvae_train: %s: %d candidate marginals counted",
							o->unit ? "the held rows encoded" : "pass 2 of 2 over the query (a GROUP BY) done", w->ncand)));
	for (i = 0; i < ncols; i++)
		if (tc[i].numeric && tc[i].noise_sd > 0)
			warn_clipped_share(&tc[i], st.clipped[i], st.values[i]);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	pp->measure_seconds = INSTR_TIME_GET_DOUBLE(t1);
	return n;
}
