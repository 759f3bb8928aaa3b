/*
 * train_count.c - the measure stage's counting query (marginals => 'aim',
 * no unit): the database, not lipvae, counts. One GROUP BY over the
 * training query, run as the caller, groups its rows by their encoding:
 *
 *   SELECT e.t1, ..., e.td, e.o1, ..., pg_catalog.count(*)
 *     FROM (SELECT lipvae.encode_number(lipvae_source.a1, <lo>, <hi>, ...) AS t1,
 *                  lipvae.encode_label(lipvae_source.a2, ARRAY[...], ...) AS t2, ...,
 *                  lipvae.encode_outside(lipvae_source.a1, <lo>, <hi>) AS o1, ...
 *             FROM (<the training query>) AS lipvae_source(a1, ...)) e
 *    GROUP BY e.t1, ..., e.td, e.o1, ...
 *
 * t is a column's target in the model's encoding (count.c), o flags a
 * value the DP bounds clip. Each group, an encoded row with its count,
 * is added to every AIM candidate's cells (lv_aim_workload_add_weighted),
 * a batch of groups at a time: lipvae holds no row and no group beyond a
 * batch, the database's aggregate keeps to work_mem (spilling to temporary
 * files beyond it), and a distributed engine can count where the rows are.
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
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "train.h"
#include "lv_domain.h"

/* What the groups add up to besides the candidates' cells. */
typedef struct CountTotals
{
	int64 *clipped; /* per column: values outside its DP bounds */
	int64 *values;  /* per column: non-NULL values (numeric columns) */
	int64 rows;
} CountTotals;

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

/* append_target appends the target expression of column t (attribute att), encoded as c. */
static void
append_target(StringInfo sql, const TrainColumn *t, const lv_column *c, int att)
{
	if (c->kind == LV_COL_NUMERIC)
	{
		appendStringInfo(sql, "lipvae.encode_number(%s.a%d, ", LIPVAE_SOURCE, att + 1);
		append_float(sql, c->lo);
		appendStringInfoString(sql, ", ");
		append_float(sql, c->hi);
		appendStringInfo(sql, ", %d::pg_catalog.int4, %s::pg_catalog.bool)", c->nbins,
						 c->exact_bins ? "true" : "false");
	}
	else
	{
		appendStringInfo(sql, "lipvae.encode_label(%s.a%d, ", LIPVAE_SOURCE, att + 1);
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

/* clipped_column says whether column t has DP bounds (its clipped values are counted). */
static bool
clipped_column(const TrainColumn *t)
{
	return t->numeric && t->noise_sd > 0;
}

/* count_sql writes the counting query of the columns of schema s over lq. */
static char *
count_sql(const LipvaeQuery *lq, const TrainColumn *tc, int ncols, const TrainOptions *o,
		  const lv_schema *s)
{
	StringInfoData sql,
		keys;
	int *atts = column_atts(lq->desc, ncols, o);
	int i;

	initStringInfo(&sql);
	initStringInfo(&keys);
	appendStringInfoString(&sql, "SELECT ");
	for (i = 0; i < ncols; i++)
		appendStringInfo(&keys, "%se.t%d", i ? ", " : "", i + 1);
	for (i = 0; i < ncols; i++)
		if (clipped_column(&tc[i]))
			appendStringInfo(&keys, ", e.o%d", i + 1);
	appendStringInfo(&sql, "%s, pg_catalog.count(*) FROM (SELECT ", keys.data);
	for (i = 0; i < ncols; i++)
	{
		if (i)
			appendStringInfoString(&sql, ", ");
		append_target(&sql, &tc[i], &s->cols[i], atts[i]);
		appendStringInfo(&sql, " AS t%d", i + 1);
	}
	for (i = 0; i < ncols; i++)
		if (clipped_column(&tc[i]))
		{
			appendStringInfo(&sql, ", lipvae.encode_outside(%s.a%d, ", LIPVAE_SOURCE, atts[i] + 1);
			append_float(&sql, tc[i].lo);
			appendStringInfoString(&sql, ", ");
			append_float(&sql, tc[i].hi);
			appendStringInfo(&sql, ") AS o%d", i + 1);
		}
	appendStringInfo(&sql, " FROM %s) e GROUP BY %s", lipvae_query_source_sql(lq), keys.data);
	pfree(atts);
	return sql.data;
}

/* int_attr reads a non-NULL integer attribute of a group. */
static int64
int_attr(HeapTuple tup, TupleDesc desc, int att)
{
	bool isnull;
	Datum d = heap_getattr(tup, att, desc, &isnull);

	if (isnull)
		elog(ERROR, "lipvae: the counting query returned a NULL group");
	return TupleDescAttr(desc, att - 1)->atttypid == INT8OID ? DatumGetInt64(d)
															 : (int64) DatumGetInt32(d);
}

/*
 * add_groups reads nt groups into T (targets) and wt (counts), counts the
 * clipped and non-NULL values and the rows, and adds them to w.
 */
static void
add_groups(HeapTuple *tups, uint64 nt, TupleDesc desc, const TrainColumn *tc, int ncols,
		   lv_aim_workload *w, int32 *T, double *wt, CountTotals *ct)
{
	uint64 k;
	int i,
		att;

	for (k = 0; k < nt; k++)
	{
		int64 n = int_attr(tups[k], desc, desc->natts);

		for (i = 0; i < ncols; i++)
		{
			T[k * ncols + i] = (int32) int_attr(tups[k], desc, i + 1);
			if (tc[i].numeric && T[k * ncols + i] >= 0)
				ct->values[i] += n;
		}
		for (i = 0, att = ncols + 1; i < ncols; i++)
			if (clipped_column(&tc[i]) && int_attr(tups[k], desc, att++) == 1)
				ct->clipped[i] += n;
		wt[k] = (double) n;
		ct->rows += n;
	}
	lipvae_core_error(lv_aim_workload_add_weighted(w, T, wt, (int64) nt, interrupt_pending, NULL),
					  "counting the candidate marginals");
}

/*
 * count_candidates runs the counting query over lq (planned and checked
 * against src) and adds its groups to w; fills clipped[i] (values outside
 * column i's DP bounds) and values[i] (its non-NULL values). Returns the
 * rows counted.
 */
int64
count_candidates(const LipvaeQuery *lq, const LipvaeSources *src, const TrainColumn *tc,
				 int ncols, const TrainOptions *o, lv_aim_workload *w, int64 *clipped,
				 int64 *values)
{
	LipvaeQuery *cq = lipvae_query_wrap(lq, count_sql(lq, tc, ncols, o, w->s));
	int32 *T = palloc(sizeof(int32) * FETCH_BATCH * ncols);
	double *wt = palloc(sizeof(double) * FETCH_BATCH);
	CountTotals ct = {clipped, values, 0};
	HeapTuple *tups;
	uint64 nt;

	lipvae_query_plan(cq, src, false);
	lipvae_query_open(cq);
	while ((nt = lipvae_query_fetch(cq, FETCH_BATCH, &tups)) > 0)
		add_groups(tups, nt, cq->desc, tc, ncols, w, T, wt, &ct);
	lipvae_query_close(cq);
	pfree(T);
	pfree(wt);
	return ct.rows;
}

/*
 * domain_sql writes the first pass's query over lq: one group per column
 * and value it counts (k the 1-based column, v encode_domain's bytes):
 *
 *   SELECT d.k, d.v, pg_catalog.count(*) FROM (SELECT
 *          pg_catalog.unnest('{1, ..., d}'::pg_catalog.int4[]) AS k,
 *          pg_catalog.unnest(ARRAY[lipvae.encode_domain(lipvae_source.a1, ...), ...]) AS v
 *     FROM (<the training query>) AS lipvae_source(a1, ...)) d GROUP BY d.k, d.v
 */
static char *
domain_sql(const LipvaeQuery *lq, const TrainColumn *tc, int ncols, const TrainOptions *o)
{
	StringInfoData sql;
	int *atts = column_atts(lq->desc, ncols, o);
	int i;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT d.k, d.v, pg_catalog.count(*) FROM (SELECT pg_catalog.unnest('{");
	for (i = 0; i < ncols; i++)
		appendStringInfo(&sql, "%s%d", i ? "," : "", i + 1);
	appendStringInfoString(&sql, "}'::pg_catalog.int4[]) AS k, pg_catalog.unnest(ARRAY[");
	for (i = 0; i < ncols; i++)
		appendStringInfo(&sql, "%slipvae.encode_domain(%s.a%d, %s::pg_catalog.text, %s::pg_catalog.bool)",
						 i ? ", " : "", LIPVAE_SOURCE, atts[i] + 1, quote_literal_cstr(tc[i].col.name),
						 tc[i].domain_counts ? "true" : "false");
	appendStringInfo(&sql, "]::pg_catalog.bytea[]) AS v FROM %s) d GROUP BY d.k, d.v",
					 lipvae_query_source_sql(lq));
	pfree(atts);
	return sql.data;
}

/* domain_group adds one group (column t, value v or NULL, n rows) of the first pass. */
static void
domain_group(TrainColumn *t, bytea *v, int64 n)
{
	char *s;

	if (v == NULL)
	{
		if (t->not_null)
			refuse_null(t);
		return;
	}
	t->nonnull += n;
	s = text_to_cstring((text *) v); /* the bytes of a label or a bin: no NUL in them */
	if (t->domain_counts)
	{
		int bin = atoi(s);

		if (bin < 0 || bin >= LV_DOMAIN_NBINS)
			elog(ERROR, "lipvae: the first pass returned domain bin %d", bin);
		t->domain_counts[bin] += (double) n;
	}
	else if (t->col.tclass == LVT_TEXT)
		(void) raw_category(t, s, (double) n);
	pfree(s);
}

/* count_domain: see train.h. */
int64
count_domain(const LipvaeQuery *lq, const LipvaeSources *src, TrainColumn *tc, int ncols,
			 const TrainOptions *o)
{
	LipvaeQuery *dq = lipvae_query_wrap(lq, domain_sql(lq, tc, ncols, o));
	int64 rows = 0;
	HeapTuple *tups;
	uint64 nt,
		k;

	lipvae_query_plan(dq, src, false);
	lipvae_query_open(dq);
	while ((nt = lipvae_query_fetch(dq, FETCH_BATCH, &tups)) > 0)
		for (k = 0; k < nt; k++)
		{
			int64 col = int_attr(tups[k], dq->desc, 1);
			int64 n = int_attr(tups[k], dq->desc, 3);
			bool isnull;
			Datum v = heap_getattr(tups[k], 2, dq->desc, &isnull);

			if (col < 1 || col > ncols)
				elog(ERROR, "lipvae: the first pass returned column " INT64_FORMAT, col);
			domain_group(&tc[col - 1], isnull ? NULL : DatumGetByteaPP(v), n);
			if (col == 1)
				rows += n;
		}
	lipvae_query_close(dq);
	check_rows(tc, ncols, rows);
	return rows;
}
