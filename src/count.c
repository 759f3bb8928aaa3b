/*
 * count.c - the SQL functions of the measure stage's counting query
 * (train_count.c): the database groups the training query's rows by their
 * encoding, and these functions give each value its target in the model's
 * encoding exactly as the C encoder does (lv_encode_row: a number's bin, -1
 * for NULL; a label's slot) and flag a value its DP bounds clip.
 *
 * They read no table and keep no state beyond a call's cache, so any role
 * may call them; every argument is checked, and a bad one is an error,
 * never a wrong slot read out of bounds.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "nodes/primnodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"

#include "lipvae.h"
#include "lv_domain.h"
#include "lv_nn.h"

PG_FUNCTION_INFO_V1(lipvae_encode_number);
PG_FUNCTION_INFO_V1(lipvae_encode_outside);
PG_FUNCTION_INFO_V1(lipvae_encode_label);
PG_FUNCTION_INFO_V1(lipvae_encode_domain);

#define COUNT_MAX_BINS 100000

/* A label list, hashed once per call site. */
typedef struct LabelCache
{
	HTAB *index; /* label -> position */
	int ncat;
} LabelCache;

typedef struct LabelEntry
{
	char *key;
	int pos;
} LabelEntry;

/* bad_argument reports a bad argument to one of these functions. */
static void
pg_attribute_noreturn()
	bad_argument(const char *fn, const char *detail)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("invalid argument to lipvae.%s", fn), errdetail("%s", detail),
					errhint("These functions serve lipvae_train's counting query; call lipvae_train instead.")));
}

/* What a call site keeps between calls: its value's type class, its constant label list. */
typedef struct CallCache
{
	bool have_class;
	LipvaeTypeClass c;
	bool bpchar;        /* the value is char(n) */
	LabelCache *labels; /* a constant label list, hashed once */
} CallCache;

/* call_cache returns the call site's cache. */
static CallCache *
call_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CallCache));
	return fcinfo->flinfo->fn_extra;
}

/* value_class returns the type class of the call's value (argument 0), looked up once. */
static LipvaeTypeClass
value_class(FunctionCallInfo fcinfo, const char *fn)
{
	CallCache *cc = call_cache(fcinfo);

	if (!cc->have_class)
	{
		Oid typid = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, 0));

		if (!OidIsValid(typid) || !lipvae_type_class(typid, &cc->c))
			bad_argument(fn, "The value's type is not one lipvae models.");
		cc->bpchar = typid == BPCHAROID;
		cc->have_class = true;
	}
	return cc->c;
}

/* number_column reads arguments 1 .. 4 (lo, hi, nbins, exact) into col. */
static void
number_column(FunctionCallInfo fcinfo, lv_column *col)
{
	int i;

	for (i = 1; i <= 4; i++)
		if (PG_ARGISNULL(i))
			bad_argument("encode_number", "Only the value may be NULL.");
	memset(col, 0, sizeof(*col));
	col->kind = LV_COL_NUMERIC;
	col->lo = PG_GETARG_FLOAT8(1);
	col->hi = PG_GETARG_FLOAT8(2);
	col->nbins = PG_GETARG_INT32(3);
	col->exact_bins = PG_GETARG_BOOL(4);
	if (!isfinite(col->lo) || !isfinite(col->hi) || !(col->lo < col->hi))
		bad_argument("encode_number", "The bounds must be finite, low below high.");
	if (col->nbins < 1 || col->nbins > COUNT_MAX_BINS)
		bad_argument("encode_number", "The number of bins is out of range.");
}

/*
 * lipvae_encode_number (SQL: lipvae.encode_number(value anyelement, lo
 * float8, hi float8, nbins integer, exact_bins boolean) RETURNS integer) is
 * the target of a number, date or time in a numeric column so encoded: its
 * bin (lv_numeric_bin: clamped to 0 .. nbins - 1), or -1 for NULL.
 */
Datum
lipvae_encode_number(PG_FUNCTION_ARGS)
{
	lv_column col;
	LipvaeTypeClass c;
	double v;

	number_column(fcinfo, &col);
	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(-1);
	c = value_class(fcinfo, "encode_number");
	if (!lipvae_class_is_numeric(c))
		bad_argument("encode_number", "The value is not a number, date or time.");
	v = lipvae_datum_to_double(PG_GETARG_DATUM(0), c, "value");
	PG_RETURN_INT32(lv_numeric_bin(&col, v));
}

/*
 * lipvae_encode_outside (SQL: lipvae.encode_outside(value anyelement, lo
 * float8, hi float8) RETURNS integer) is 1 for a number outside [lo, hi]
 * (clipped by the encoding), else 0 (NULL too).
 */
Datum
lipvae_encode_outside(PG_FUNCTION_ARGS)
{
	LipvaeTypeClass c;
	double v;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		bad_argument("encode_outside", "Only the value may be NULL.");
	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(0);
	c = value_class(fcinfo, "encode_outside");
	if (!lipvae_class_is_numeric(c))
		bad_argument("encode_outside", "The value is not a number, date or time.");
	v = lipvae_datum_to_double(PG_GETARG_DATUM(0), c, "value");
	PG_RETURN_INT32(v < PG_GETARG_FLOAT8(1) || v > PG_GETARG_FLOAT8(2) ? 1 : 0);
}

/* label_hash hashes a label. */
static uint32
label_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, (int) strlen(s));
}

/* label_match compares two labels byte for byte (strcmp: 0 when equal). */
static int
label_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* build_labels hashes the list arr in cxt (the first of two equal labels wins). */
static void
build_labels(LabelCache *lc, ArrayType *arr, MemoryContext cxt)
{
	HASHCTL ctl;
	Datum *elems;
	bool *nulls;
	int n,
		i;

	if (ARR_NDIM(arr) > 1 || ARR_ELEMTYPE(arr) != TEXTOID)
		bad_argument("encode_label", "The labels must be a one-dimensional text array.");
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n > LV_MAX_CATEGORIES)
		bad_argument("encode_label", "The list has more labels than a column may have.");
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(LabelEntry);
	ctl.hash = label_hash;
	ctl.match = label_match;
	ctl.hcxt = cxt;
	lc->index = hash_create("lipvae labels", Max(n, 16), &ctl,
							HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	for (i = 0; i < n; i++)
	{
		char *s;
		LabelEntry *e;
		bool found;

		if (nulls[i])
			bad_argument("encode_label", "A label is NULL.");
		s = MemoryContextStrdup(cxt, TextDatumGetCString(elems[i]));
		e = hash_search(lc->index, &s, HASH_ENTER, &found);
		if (!found)
			e->pos = i;
	}
	lc->ncat = n;
}

/*
 * arg_is_const says whether argument argnum of the call is a constant of
 * its expression (not a parameter: plpgsql keeps an expression's state
 * while its parameters change).
 */
static bool
arg_is_const(FmgrInfo *flinfo, int argnum)
{
	List *args;

	if (flinfo->fn_expr == NULL || !IsA(flinfo->fn_expr, FuncExpr))
		return false;
	args = ((FuncExpr *) flinfo->fn_expr)->args;
	return argnum < list_length(args) && IsA(list_nth(args, argnum), Const);
}

/*
 * label_cache returns the hashed label list (argument 1): a constant one (in the
 * expression) is hashed once and kept for the call site; one that may change from row
 * to row is hashed for this call only, in the call's own context.
 */
static LabelCache *
label_cache(FunctionCallInfo fcinfo)
{
	CallCache *cc = call_cache(fcinfo);
	LabelCache *lc;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		bad_argument("encode_label", "Only the value may be NULL.");
	if (cc->labels != NULL)
		return cc->labels;
	if (arg_is_const(fcinfo->flinfo, 1))
	{
		lc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(LabelCache));
		build_labels(lc, PG_GETARG_ARRAYTYPE_P(1), fcinfo->flinfo->fn_mcxt);
		cc->labels = lc; /* kept only once complete */
		return lc;
	}
	lc = palloc0(sizeof(LabelCache));
	build_labels(lc, PG_GETARG_ARRAYTYPE_P(1), CurrentMemoryContext);
	return lc;
}

/* value_label returns the label of a boolean, enum or text value, as train_source.c reads it. */
static char *
value_label(FunctionCallInfo fcinfo, Datum v)
{
	LipvaeTypeClass c = value_class(fcinfo, "encode_label");
	char *s;

	if (c == LVT_BOOL)
		return DatumGetBool(v) ? "true" : "false";
	if (c == LVT_ENUM)
		return DatumGetCString(DirectFunctionCall1(enum_out, v));
	if (c != LVT_TEXT)
		bad_argument("encode_label", "The value is not a boolean, enum or text.");
	s = TextDatumGetCString(v);
	/* char(n): trailing blanks are padding, not part of the label */
	if (call_cache(fcinfo)->bpchar)
		s[bpchartruelen(s, strlen(s))] = '\0';
	return s;
}

/*
 * lipvae_encode_label (SQL: lipvae.encode_label(value anyelement, labels
 * text[], nullable boolean) RETURNS integer) is the target (slot) of a
 * boolean, enum or text value in a categorical column with that list: its
 * position, the "other" slot (the list's length) for a label not in it,
 * and for NULL the NULL slot (length + 1) if nullable, else "other".
 */
Datum
lipvae_encode_label(PG_FUNCTION_ARGS)
{
	LabelCache *lc = label_cache(fcinfo);
	bool nullable = PG_GETARG_BOOL(2);
	char *s;
	LabelEntry *e;

	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(nullable ? lc->ncat + 1 : lc->ncat);
	s = value_label(fcinfo, PG_GETARG_DATUM(0));
	e = hash_search(lc->index, &s, HASH_FIND, NULL);
	PG_RETURN_INT32(e ? e->pos : lc->ncat);
}

/* bytes_result returns a bytea of the n bytes at p. */
static bytea *
bytes_result(const char *p, size_t n)
{
	bytea *b = palloc(VARHDRSZ + n);

	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), p, n);
	return b;
}

/*
 * lipvae_encode_domain (SQL: lipvae.encode_domain(value anyelement, name
 * text, histogram boolean) RETURNS bytea) is what the first pass counts of
 * a value (name: its column, for errors): a number's domain bin
 * (lv_domain_bin, in decimal) when histogram, else nothing (empty); a text
 * value's label (char(n) padding removed); nothing for a boolean or enum;
 * NULL for NULL. Bytes, so that grouping compares them byte for byte, as
 * lipvae's label table does, whatever the column's collation.
 */
Datum
lipvae_encode_domain(PG_FUNCTION_ARGS)
{
	LipvaeTypeClass c;
	char *s;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		bad_argument("encode_domain", "Only the value may be NULL.");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	c = value_class(fcinfo, "encode_domain");
	if (lipvae_class_is_numeric(c))
	{
		char *name = text_to_cstring(PG_GETARG_TEXT_PP(1));
		double v = lipvae_datum_to_double(PG_GETARG_DATUM(0), c, name);
		char buf[16];

		if (!PG_GETARG_BOOL(2))
			PG_RETURN_BYTEA_P(bytes_result("", 0));
		snprintf(buf, sizeof(buf), "%d", lv_domain_bin(v));
		PG_RETURN_BYTEA_P(bytes_result(buf, strlen(buf)));
	}
	if (c != LVT_TEXT)
		PG_RETURN_BYTEA_P(bytes_result("", 0));
	s = value_label(fcinfo, PG_GETARG_DATUM(0));
	PG_RETURN_BYTEA_P(bytes_result(s, strlen(s)));
}
