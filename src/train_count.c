/*
 * train_count.c - the measure stage's counting query (marginals => 'aim',
 * no unit): the database, not lipvae, counts every AIM candidate's cells,
 * in one GROUP BY over the training query run as the caller:
 *
 *   SELECT k.key, pg_catalog.count(*)
 *     FROM (SELECT pg_catalog.unnest(lipvae.count_keys(
 *                    ARRAY[<slot of each column>, <outside flags>],
 *                    '<candidates>'::pg_catalog.int8[])) AS key
 *             FROM (<the training query>) AS lipvae_source(a1, ...)) k
 *    GROUP BY k.key
 *
 * A slot is the value's place in the model's encoding (count.c); a key is
 * a cell of one candidate (its offset in the workload's counts plus the
 * cell), a clipped value of a column, or the row itself. Only the groups
 * come back, at most the candidates' cells: memory does not grow with the
 * rows, and a distributed engine can count where the rows are.
 *
 * The training query is not parsed again: its checked tree takes the
 * placeholder's place (lipvae_query_wrap), and the plan that runs is
 * checked against the ledger's sources. Every name in the text is
 * qualified, every literal cast, and no user value is cast in SQL (the
 * functions read each type themselves): nothing on the search_path, no
 * cast or operator another role defines, takes part.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "train.h"

/* append_float appends v as an exact float8 literal. */
static void
append_float(StringInfo s, double v)
{
	appendStringInfo(s, "'%.17g'::pg_catalog.float8", v);
}

/* append_labels appends a column's list as a text[] literal. */
static void
append_labels(StringInfo s, const TrainColumn *t)
{
	int j;

	appendStringInfoString(s, "ARRAY[");
	for (j = 0; j < t->col.ncat; j++)
		appendStringInfo(s, "%s%s", j ? ", " : "", quote_literal_cstr(t->col.labels[j]));
	appendStringInfoString(s, "]::pg_catalog.text[]");
}

/* append_slot appends the slot expression of column i (attribute att) of schema s. */
static void
append_slot(StringInfo sql, const TrainColumn *t, const lv_column *c, int att)
{
	if (c->kind == LV_COL_NUMERIC)
	{
		appendStringInfo(sql, "lipvae.count_number_slot(%s.a%d, ", LIPVAE_SOURCE, att + 1);
		append_float(sql, c->lo);
		appendStringInfoString(sql, ", ");
		append_float(sql, c->hi);
		appendStringInfo(sql, ", %d::pg_catalog.int4, %s::pg_catalog.bool, %s::pg_catalog.bool)",
						 c->nbins, c->exact_bins ? "true" : "false", c->nullable ? "true" : "false");
	}
	else
	{
		appendStringInfo(sql, "lipvae.count_label_slot(%s.a%d, ", LIPVAE_SOURCE, att + 1);
		append_labels(sql, t);
		appendStringInfo(sql, ", %s::pg_catalog.bool)", c->nullable ? "true" : "false");
	}
}

/* column_atts maps each modelled column to its attribute (the unit's and dropped ones skipped). */
static int *
column_atts(TupleDesc desc, int ncols, const TrainOptions *o)
{
	int *atts = palloc(sizeof(int) * ncols);
	int att = 0,
		i;

	for (i = 0; i < ncols; i++)
	{
		while (TupleDescAttr(desc, att)->attisdropped || att == o->unit_att)
			att++;
		atts[i] = att++;
	}
	return atts;
}

/*
 * count_spec writes the candidates and flags for lipvae.count_keys: the
 * rows' key (total + ncols), each candidate (k, slots, widths, offset), and
 * for each column with DP bounds a flag (0, its outside slot, total + i).
 */
static void
count_spec(StringInfo sql, const TrainColumn *tc, int ncols, const lv_aim_workload *w)
{
	int i,
		j,
		f = ncols;

	appendStringInfo(sql, "'{" INT64_FORMAT, w->total + ncols);
	for (i = 0; i < w->ncand; i++)
	{
		const lv_clique *q = &w->cand[i];

		appendStringInfo(sql, ",%d", q->k);
		for (j = 0; j < q->k; j++)
			appendStringInfo(sql, ",%d", q->cols[j]);
		for (j = 0; j < q->k; j++)
			appendStringInfo(sql, ",%d", q->width[j]);
		appendStringInfo(sql, "," INT64_FORMAT, w->at[i]);
	}
	for (i = 0; i < ncols; i++)
		if (tc[i].numeric && tc[i].noise_sd > 0)
			appendStringInfo(sql, ",0,%d," INT64_FORMAT, f++, w->total + i);
	appendStringInfoString(sql, "}'::pg_catalog.int8[]");
}

/* count_sql writes the counting query of the workload over lq. */
static char *
count_sql(const LipvaeQuery *lq, const TrainColumn *tc, int ncols, const TrainOptions *o,
		  const lv_aim_workload *w)
{
	StringInfoData sql;
	int *atts = column_atts(lq->desc, ncols, o);
	int i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT k.key, pg_catalog.count(*) FROM (SELECT pg_catalog.unnest("
								 "lipvae.count_keys(ARRAY[");
	for (i = 0; i < ncols; i++)
	{
		if (i)
			appendStringInfoString(&sql, ", ");
		append_slot(&sql, &tc[i], &w->s->cols[i], atts[i]);
	}
	for (i = 0; i < ncols; i++)
		if (tc[i].numeric && tc[i].noise_sd > 0)
		{
			appendStringInfo(&sql, ", lipvae.count_outside(%s.a%d, ", LIPVAE_SOURCE, atts[i] + 1);
			append_float(&sql, tc[i].lo);
			appendStringInfoString(&sql, ", ");
			append_float(&sql, tc[i].hi);
			appendStringInfoChar(&sql, ')');
		}
	appendStringInfoString(&sql, "]::pg_catalog.int4[], ");
	count_spec(&sql, tc, ncols, w);
	appendStringInfo(&sql, ")) AS key FROM %s) k GROUP BY k.key", lipvae_query_source_sql(lq));
	pfree(atts);
	return sql.data;
}

/* add_group adds one group (key, n) of the counting query to w, clipped or rows. */
static void
add_group(lv_aim_workload *w, int ncols, int64 key, int64 n, int64 *clipped, int64 *rows)
{
	if (key >= 0 && key < w->total)
		w->cnt[key] += (double) n;
	else if (key >= w->total && key < w->total + ncols)
		clipped[key - w->total] += n;
	else if (key == w->total + ncols)
		*rows += n;
	else
		elog(ERROR, "lipvae: the counting query returned key " INT64_FORMAT " of no cell", key);
}

/* column_values sets values[i] to column i's non-NULL rows, from its one-way counts. */
static void
column_values(const lv_aim_workload *w, int ncols, int64 *values)
{
	int r,
		j;

	for (r = 0; r < w->ncand; r++)
		if (w->cand[r].k == 1)
		{
			int i = w->cand[r].cols[0];
			const lv_column *c = &w->s->cols[i];
			int slots = c->kind == LV_COL_NUMERIC ? c->nbins : c->ncat + 1;

			values[i] = 0;
			for (j = 0; j < slots; j++)
				values[i] += (int64) w->cnt[w->at[r] + j];
		}
}

/*
 * count_candidates runs the counting query of w over lq (planned and
 * checked against src) and fills w's counts, clipped[i] (values outside
 * column i's DP bounds) and values[i] (its non-NULL values). Returns the
 * rows counted.
 */
int64
count_candidates(const LipvaeQuery *lq, const LipvaeSources *src, const TrainColumn *tc,
				 int ncols, const TrainOptions *o, lv_aim_workload *w, int64 *clipped,
				 int64 *values)
{
	LipvaeQuery *cq = lipvae_query_wrap(lq, count_sql(lq, tc, ncols, o, w));
	int64 rows = 0;
	HeapTuple *tups;
	uint64 nt,
		k;

	/* one fetch of every group (few: the cells), so that the plan may run in parallel */
	lipvae_query_plan(cq, src, true);
	lipvae_query_open(cq);
	nt = lipvae_query_fetch_all(cq, &tups);
	for (k = 0; k < nt; k++)
	{
		bool null0,
			null1;
		Datum key = heap_getattr(tups[k], 1, cq->desc, &null0);
		Datum n = heap_getattr(tups[k], 2, cq->desc, &null1);

		if (null0 || null1)
			elog(ERROR, "lipvae: the counting query returned a NULL group");
		add_group(w, ncols, DatumGetInt64(key), DatumGetInt64(n), clipped, &rows);
	}
	lipvae_query_close(cq);
	w->rows = rows;
	column_values(w, ncols, values);
	return rows;
}
