/*
 * sample.c - lipvae_sample: the keyed deterministic release of synthetic
 * rows start .. start+n-1, as jsonb or with the training query's own column
 * types, each row with the guarantee that holds up to it. Rows are decoded
 * in chunks (one decoder GEMM per chunk) into the SRF's tuplestore, which
 * spills to disk past work_mem: memory stays flat in n.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/typcache.h"

#include "lipvae.h"

PG_FUNCTION_INFO_V1(lipvae_sample_jsonb);
PG_FUNCTION_INFO_V1(lipvae_sample_typed);

static void sample_rows(FunctionCallInfo fcinfo, LipvaeLoaded *lm, int64 start,
						int64 n, bool typed);
static void check_request(LipvaeLoaded *lm, int64 start, int64 n);
static void check_row_type(LipvaeLoaded *lm, TupleDesc td);

/* get_count reads the n and start arguments, refusing bad values. */
static void
get_count(FunctionCallInfo fcinfo, int64 *n, int64 *start)
{
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("number of rows must not be NULL")));
	*n = PG_GETARG_INT64(1);
	*start = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);
	if (*n < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("number of rows must not be negative, got " INT64_FORMAT, *n)));
	if (*n > lipvae_max_sample_rows)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("cannot return " INT64_FORMAT " rows in one call, the limit is %d",
							   *n, lipvae_max_sample_rows),
						errhint("Ask for the rows in several calls with start => ..., or raise lipvae.max_sample_rows.")));
	if (*start < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("start must not be negative, got " INT64_FORMAT, *start)));
	/* rows are numbered 0 .. 2^63 - 2: start + n must stay representable */
	if (*n > 0 && *start > PG_INT64_MAX - *n)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("the request for " INT64_FORMAT " rows from row " INT64_FORMAT " ends past the last row number",
							   *n, *start),
						errdetail("Synthetic rows are numbered from 0 to " INT64_FORMAT ".", PG_INT64_MAX - 1),
						errhint("Ask for rows with a smaller start.")));
}

/*
 * lipvae_sample_jsonb returns (row_no, row jsonb, epsilon, delta, scope) for
 * rows start .. start+n-1 of a model named by text.
 */
Datum
lipvae_sample_jsonb(PG_FUNCTION_ARGS)
{
	char *name;
	int64 n,
		start;
	LipvaeLoaded *lm;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("model name must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	lipvae_check_model_name(name);
	get_count(fcinfo, &n, &start);
	InitMaterializedSRF(fcinfo, 0);
	lm = lipvae_load_model(name, InvalidOid);
	check_request(lm, start, n);
	sample_rows(fcinfo, lm, start, n, false);
	return (Datum) 0;
}

/*
 * lipvae_sample_typed returns rows of the model whose row type is the type
 * of the first argument (NULL::lipvae_types.<model>), with the training
 * query's columns and types followed by epsilon, delta and scope.
 */
Datum
lipvae_sample_typed(PG_FUNCTION_ARGS)
{
	Oid typoid = get_fn_expr_argtype(fcinfo->flinfo, 0);
	int64 n,
		start;
	LipvaeLoaded *lm;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc td;

	if (!OidIsValid(typoid) || !type_is_rowtype(typoid))
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
						errmsg("the first argument of lipvae_sample must be a model's row type or a model name"),
						errhint("Use lipvae.lipvae_sample(NULL::lipvae_types.<model>, n) or lipvae.lipvae_sample('<model>', n).")));
	get_count(fcinfo, &n, &start);
	lm = lipvae_load_model(NULL, typoid);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	td = rsinfo->setDesc;
	check_row_type(lm, td);
	check_request(lm, start, n);
	sample_rows(fcinfo, lm, start, n, true);
	return (Datum) 0;
}

/*
 * check_row_type verifies that the row type still has exactly the model's
 * columns and types, then the three privacy columns.
 */
static void
check_row_type(LipvaeLoaded *lm, TupleDesc td)
{
	int i,
		j = 0;
	static const char *const priv[3] = {"epsilon", "delta", "scope"};
	static const Oid privtype[3] = {FLOAT8OID, FLOAT8OID, TEXTOID};

	for (i = 0; i < td->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(td, i);
		const char *want;
		Oid wtype;

		if (a->attisdropped)
			continue;
		if (j < lm->ncols)
		{
			want = lm->cols[j].name;
			wtype = lm->cols[j].typid;
		}
		else if (j < lm->ncols + 3)
		{
			want = priv[j - lm->ncols];
			wtype = privtype[j - lm->ncols];
		}
		else
			break;
		if (strcmp(NameStr(a->attname), want) != 0 || a->atttypid != wtype)
			break;
		j++;
	}
	if (j != lm->ncols + 3 || i != td->natts)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
						errmsg("row type does not match lipvae model \"%s\"", lm->name),
						errdetail("The type was changed after training."),
						errhint("Train the model again with replace => true to recreate its row type.")));
}

/*
 * check_request refuses rows beyond the model's allowed passes (per-record
 * models: each pass releases every source row once more).
 */
static void
check_request(LipvaeLoaded *lm, int64 start, int64 n)
{
	int64 limit;

	if (!lv_mech_per_record(lm->model.mechanism))
		return;
	if (pg_mul_s64_overflow((int64) lm->model.passes, lm->model.nrows, &limit))
		limit = PG_INT64_MAX;
	if (start > limit || n > limit - start)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("lipvae model \"%s\" releases at most " INT64_FORMAT " rows", lm->name, limit),
						errdetail("The model allows %d passes over its " INT64_FORMAT " source rows; the request ends at row " INT64_FORMAT " (rows are numbered from 0).",
								  lm->model.passes, lm->model.nrows,
								  (n > PG_INT64_MAX - start) ? PG_INT64_MAX : start + n - 1),
						errhint("Ask for fewer rows, or train with more passes (passes => ...): each pass costs privacy.")));
}

/* push_key appends an object key to a jsonb under construction. */
static void
push_key(JsonbParseState **st, const char *key)
{
	JsonbValue k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

/* json_value converts one typed value to its jsonb scalar. */
static void
json_value(JsonbValue *v, LipvaeColumn *c, Datum d)
{
	switch (c->tclass)
	{
		case LVT_INT2:
		case LVT_INT4:
		case LVT_INT8:
		case LVT_FLOAT4:
		case LVT_FLOAT8:
		case LVT_NUMERIC:
			v->type = jbvNumeric;
			if (c->tclass == LVT_NUMERIC)
				v->val.numeric = DatumGetNumeric(d);
			else if (c->tclass == LVT_INT2)
				v->val.numeric = int64_to_numeric(DatumGetInt16(d));
			else if (c->tclass == LVT_INT4)
				v->val.numeric = int64_to_numeric(DatumGetInt32(d));
			else if (c->tclass == LVT_INT8)
				v->val.numeric = int64_to_numeric(DatumGetInt64(d));
			else
				v->val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
																	 Float8GetDatum(c->tclass == LVT_FLOAT4 ? (double) DatumGetFloat4(d) : DatumGetFloat8(d))));
			break;
		case LVT_BOOL:
			v->type = jbvBool;
			v->val.boolean = DatumGetBool(d);
			break;
		case LVT_DATE:
		case LVT_TIMESTAMP:
		case LVT_TIMESTAMPTZ:
		{
			/* ISO 8601 whatever the session's DateStyle, as to_jsonb */
			char *s = JsonEncodeDateTime(NULL, d, c->typid, NULL);

			v->type = jbvString;
			v->val.string.val = s;
			v->val.string.len = strlen(s);
		}
		break;
		default:
		{
			char *s = OidOutputFunctionCall(c->typoutput, d);

			v->type = jbvString;
			v->val.string.val = s;
			v->val.string.len = strlen(s);
		}
	}
}

/*
 * sample_rows decodes the requested rows chunk by chunk and appends them to
 * the SRF's tuplestore.
 */
static void
sample_rows(FunctionCallInfo fcinfo, LipvaeLoaded *lm, int64 start, int64 n,
			bool typed)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc td = rsinfo->setDesc;
	MemoryContext chunk_cxt;
	MemoryContext old;
	int ncols = lm->ncols;
	int nout = typed ? ncols + 3 : 5;
	Datum *values = palloc(sizeof(Datum) * nout);
	bool *nulls = palloc(sizeof(bool) * nout);
	lv_cell *cells = palloc(sizeof(lv_cell) * LV_RELEASE_CHUNK * ncols);
	bool per_record = lv_mech_per_record(lm->model.mechanism);
	Datum scope = CStringGetTextDatum(lm->scope);
	int64 cur_pass = -1;
	double cur_eps = INFINITY;
	int64 done = 0;

	lipvae_set_blas_threads();
	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "lipvae sample chunk",
									  ALLOCSET_DEFAULT_SIZES);
	while (done < n)
	{
		/* aligned chunks: lv_release_rows decodes whole ones */
		int cnt = (int) Min((int64) (LV_RELEASE_CHUNK - (start + done) % LV_RELEASE_CHUNK), n - done);
		int rc,
			r,
			i;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(chunk_cxt);
		lipvae_use_palloc();
		rc = lv_release_rows(&lm->model, start + done, cnt, cells);
		lv_set_allocator(NULL);
		lipvae_core_error(rc, "sampling");
		for (r = 0; r < cnt; r++)
		{
			int64 j = start + done + r;
			lv_cell *row = &cells[r * ncols];
			JsonbParseState *st = NULL;

			/*
			 * The guarantee of the pass this row belongs to (per-record);
			 * of the whole output (central: every row carries the model's).
			 */
			if (per_record)
			{
				int64 pass = j / lm->model.nrows + 1;

				if (pass != cur_pass)
				{
					cur_pass = pass;
					if (lm->model.mechanism == LV_MECH_COMPOSED)
						cur_eps = lipvae_composed_pass_epsilon(lm->eps_pre, lm->delta_rest, lm->q,
															   lm->sigma, lm->steps, lm->model.mu1, pass);
					else
						cur_eps = lipvae_pass_epsilon(lm->eps_pre, lm->delta, lm->delta_pre,
													  lm->model.mu1, pass);
				}
			}
			else if (lm->model.mechanism == LV_MECH_CENTRAL)
				cur_eps = lm->epsilon;
			if (!typed)
				pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
			for (i = 0; i < ncols; i++)
			{
				LipvaeColumn *c = &lm->cols[i];
				Datum d = (Datum) 0;
				bool isnull = row[i].isnull != 0;

				if (!isnull)
				{
					if (lipvae_class_is_numeric(c->tclass))
						d = lipvae_double_to_datum(row[i].value, c);
					else if (row[i].cat >= 0 && row[i].cat < c->ncat)
						d = c->cat_datums[row[i].cat];
					else if (c->other)
						d = c->other_datum;
					else
						isnull = true;
				}
				if (typed)
				{
					values[i] = d;
					nulls[i] = isnull;
				}
				else
				{
					JsonbValue v;

					push_key(&st, c->name);
					if (isnull)
						v.type = jbvNull;
					else
						json_value(&v, c, d);
					pushJsonbValue(&st, WJB_VALUE, &v);
				}
			}
			if (typed)
			{
				values[ncols] = Float8GetDatum(cur_eps);
				nulls[ncols] = false;
				values[ncols + 1] = Float8GetDatum(lm->delta);
				nulls[ncols + 1] = lm->model.mechanism == LV_MECH_NONE;
				values[ncols + 2] = scope;
				nulls[ncols + 2] = false;
			}
			else
			{
				JsonbValue *res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);

				values[0] = Int64GetDatum(j);
				nulls[0] = false;
				values[1] = JsonbPGetDatum(JsonbValueToJsonb(res));
				nulls[1] = false;
				values[2] = Float8GetDatum(cur_eps);
				nulls[2] = false;
				values[3] = Float8GetDatum(lm->delta);
				nulls[3] = lm->model.mechanism == LV_MECH_NONE;
				values[4] = scope;
				nulls[4] = false;
			}
			tuplestore_putvalues(rsinfo->setResult, td, values, nulls);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunk_cxt);
		done += cnt;
	}
	MemoryContextDelete(chunk_cxt);
}
