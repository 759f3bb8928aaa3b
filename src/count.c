/*
 * count.c - the SQL functions of the measure stage's counting query
 * (train_count.c): the database counts the AIM candidates' cells with one
 * GROUP BY over the training query, and these functions give each value
 * its slot in the model's encoding and each row its cells, exactly as the
 * C encoder (lv_encode_row, lv_target_cell) and lv_clique_add_counts do.
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"

#include "lipvae.h"
#include "lv_clique.h"
#include "lv_nn.h"

PG_FUNCTION_INFO_V1(lipvae_count_number_slot);
PG_FUNCTION_INFO_V1(lipvae_count_outside);
PG_FUNCTION_INFO_V1(lipvae_count_label_slot);
PG_FUNCTION_INFO_V1(lipvae_count_keys);

#define COUNT_MAX_BINS 100000

/* A label list, hashed once per call site. */
typedef struct LabelCache
{
	HTAB *index; /* label -> position */
	int ncat;
	bool stable; /* the list is a constant: keep it */
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

/* value_class returns the type class of argument arg of the call. */
static LipvaeTypeClass
value_class(FunctionCallInfo fcinfo, int arg, const char *fn)
{
	Oid typid = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, arg));
	LipvaeTypeClass c;

	if (!OidIsValid(typid) || !lipvae_type_class(typid, &c))
		bad_argument(fn, "The value's type is not one lipvae models.");
	return c;
}

/* number_column reads arguments 1 .. 5 (lo, hi, nbins, exact, nullable) into col. */
static void
number_column(FunctionCallInfo fcinfo, lv_column *col)
{
	int i;

	for (i = 1; i <= 5; i++)
		if (PG_ARGISNULL(i))
			bad_argument("count_number_slot", "Only the value may be NULL.");
	memset(col, 0, sizeof(*col));
	col->kind = LV_COL_NUMERIC;
	col->lo = PG_GETARG_FLOAT8(1);
	col->hi = PG_GETARG_FLOAT8(2);
	col->nbins = PG_GETARG_INT32(3);
	col->exact_bins = PG_GETARG_BOOL(4);
	col->nullable = PG_GETARG_BOOL(5);
	if (!isfinite(col->lo) || !isfinite(col->hi) || !(col->lo < col->hi))
		bad_argument("count_number_slot", "The bounds must be finite, low below high.");
	if (col->nbins < 1 || col->nbins > COUNT_MAX_BINS)
		bad_argument("count_number_slot", "The number of bins is out of range.");
}

/*
 * lipvae_count_number_slot (SQL: lipvae.count_number_slot(value anyelement,
 * lo float8, hi float8, nbins integer, exact_bins boolean, nullable
 * boolean) RETURNS integer) is the slot of a number, date or time in a
 * numeric column so encoded: its bin, the NULL slot (nbins) for a NULL in a
 * nullable column, else NULL (the row is in no cell of the column).
 */
Datum
lipvae_count_number_slot(PG_FUNCTION_ARGS)
{
	lv_column col;
	LipvaeTypeClass c;
	double v;

	number_column(fcinfo, &col);
	if (PG_ARGISNULL(0))
	{
		int t = lv_target_cell(&col, -1);

		if (t < 0)
			PG_RETURN_NULL();
		PG_RETURN_INT32(t);
	}
	c = value_class(fcinfo, 0, "count_number_slot");
	if (!lipvae_class_is_numeric(c))
		bad_argument("count_number_slot", "The value is not a number, date or time.");
	v = lipvae_datum_to_double(PG_GETARG_DATUM(0), c, "value");
	PG_RETURN_INT32(lv_target_cell(&col, lv_numeric_bin(&col, v)));
}

/*
 * lipvae_count_outside (SQL: lipvae.count_outside(value anyelement, lo
 * float8, hi float8) RETURNS integer) is 1 for a number outside [lo, hi]
 * (clipped by the encoding), else 0 (NULL too).
 */
Datum
lipvae_count_outside(PG_FUNCTION_ARGS)
{
	LipvaeTypeClass c;
	double v;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		bad_argument("count_outside", "Only the value may be NULL.");
	if (PG_ARGISNULL(0))
		PG_RETURN_INT32(0);
	c = value_class(fcinfo, 0, "count_outside");
	if (!lipvae_class_is_numeric(c))
		bad_argument("count_outside", "The value is not a number, date or time.");
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
		bad_argument("count_label_slot", "The labels must be a one-dimensional text array.");
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (n > LV_MAX_CATEGORIES)
		bad_argument("count_label_slot", "The list has more labels than a column may have.");
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
			bad_argument("count_label_slot", "A label is NULL.");
		s = MemoryContextStrdup(cxt, TextDatumGetCString(elems[i]));
		e = hash_search(lc->index, &s, HASH_ENTER, &found);
		if (!found)
			e->pos = i;
	}
	lc->ncat = n;
}

/* label_cache returns the call site's hashed label list (argument 1). */
static LabelCache *
label_cache(FunctionCallInfo fcinfo)
{
	LabelCache *lc = fcinfo->flinfo->fn_extra;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		bad_argument("count_label_slot", "Only the value may be NULL.");
	if (lc != NULL && lc->stable)
		return lc;
	if (lc == NULL)
	{
		lc = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(LabelCache));
		lc->stable = get_fn_expr_arg_stable(fcinfo->flinfo, 1);
		fcinfo->flinfo->fn_extra = lc;
	}
	else
		hash_destroy(lc->index);
	/* a list that may change from row to row is hashed again each time */
	build_labels(lc, PG_GETARG_ARRAYTYPE_P(1),
				 lc->stable ? fcinfo->flinfo->fn_mcxt : CurrentMemoryContext);
	return lc;
}

/* value_label returns the label of a boolean, enum or text value, as train_source.c reads it. */
static char *
value_label(FunctionCallInfo fcinfo, Datum v)
{
	Oid typid = getBaseType(get_fn_expr_argtype(fcinfo->flinfo, 0));
	LipvaeTypeClass c = value_class(fcinfo, 0, "count_label_slot");
	char *s;

	if (c == LVT_BOOL)
		return DatumGetBool(v) ? "true" : "false";
	if (c == LVT_ENUM)
		return DatumGetCString(DirectFunctionCall1(enum_out, v));
	if (c != LVT_TEXT)
		bad_argument("count_label_slot", "The value is not a boolean, enum or text.");
	s = TextDatumGetCString(v);
	/* char(n): trailing blanks are padding, not part of the label */
	if (typid == BPCHAROID)
		s[bpchartruelen(s, strlen(s))] = '\0';
	return s;
}

/*
 * lipvae_count_label_slot (SQL: lipvae.count_label_slot(value anyelement,
 * labels text[], nullable boolean) RETURNS integer) is the slot of a
 * boolean, enum or text value in a categorical column with that list: its
 * position, the "other" slot (the list's length) for a label not in it,
 * and for NULL the NULL slot (length + 1) if nullable, else "other".
 */
Datum
lipvae_count_label_slot(PG_FUNCTION_ARGS)
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

/* The cells a row adds 1 to: the candidates, the flags, the row itself. */
typedef struct KeySpec
{
	int64 rows_key; /* every row's key */
	int nq;
	lv_clique *q;  /* a candidate's columns (slot indices) and widths */
	int64 *offset; /* its first cell's key */
	int nflag;
	int *flag_slot;  /* a flag: slot index whose value 1 ... */
	int64 *flag_key; /* ... adds this key */
	int max_slot;    /* the largest slot index read */
	bool stable;
} KeySpec;

/* spec_clique reads one candidate at v[*at] (k, k slots, k widths, offset). */
static void
spec_clique(KeySpec *ks, const int64 *v, int n, int *at)
{
	lv_clique *q = &ks->q[ks->nq];
	int k = (int) v[*at],
		i;

	if (*at + 2 * k + 1 >= n)
		bad_argument("count_keys", "A candidate is cut short.");
	q->k = k;
	q->cells = 1;
	for (i = 0; i < k; i++)
	{
		int64 c = v[*at + 1 + i],
			  w = v[*at + 1 + k + i];

		if (c < 0 || c >= 4 * LV_MAX_COLUMNS || w < 1 || w > COUNT_MAX_BINS + 2)
			bad_argument("count_keys", "A candidate's slot or width is out of range.");
		q->cols[i] = (int32) c;
		q->width[i] = (int32) w;
		q->cells *= w;
		ks->max_slot = Max(ks->max_slot, (int) c);
	}
	ks->offset[ks->nq] = v[*at + 1 + 2 * k];
	if (ks->offset[ks->nq] < 0 || q->cells > PG_INT32_MAX)
		bad_argument("count_keys", "A candidate's offset or size is out of range.");
	ks->nq++;
	*at += 2 * k + 2;
}

/* parse_spec reads spec: rows key, then records (k 1..3: a candidate; 0: slot, key). */
static void
parse_spec(KeySpec *ks, ArrayType *arr)
{
	int n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)),
		at = 1;
	const int64 *v;

	if (ARR_NDIM(arr) != 1 || ARR_ELEMTYPE(arr) != INT8OID || ARR_HASNULL(arr) || n < 1)
		bad_argument("count_keys", "The specification must be a one-dimensional bigint array without NULLs.");
	v = (const int64 *) ((char *) arr + ARR_OVERHEAD_NONULLS(1));
	ks->rows_key = v[0];
	ks->q = palloc(sizeof(lv_clique) * n);
	ks->offset = palloc(sizeof(int64) * n);
	ks->flag_slot = palloc(sizeof(int) * n);
	ks->flag_key = palloc(sizeof(int64) * n);
	while (at < n)
	{
		if (v[at] >= 1 && v[at] <= LV_CLIQUE_MAX)
			spec_clique(ks, v, n, &at);
		else if (v[at] == 0 && at + 2 < n && v[at + 1] >= 0 && v[at + 1] < 4 * LV_MAX_COLUMNS)
		{
			ks->flag_slot[ks->nflag] = (int) v[at + 1];
			ks->flag_key[ks->nflag++] = v[at + 2];
			ks->max_slot = Max(ks->max_slot, (int) v[at + 1]);
			at += 3;
		}
		else
			bad_argument("count_keys", "A record of the specification is malformed.");
	}
}

/* key_spec returns the call site's parsed specification (argument 1). */
static KeySpec *
key_spec(FunctionCallInfo fcinfo)
{
	KeySpec *ks = fcinfo->flinfo->fn_extra;
	MemoryContext old;
	bool stable;

	if (ks != NULL)
		return ks;
	stable = get_fn_expr_arg_stable(fcinfo->flinfo, 1);
	old = MemoryContextSwitchTo(stable ? fcinfo->flinfo->fn_mcxt : CurrentMemoryContext);
	ks = palloc0(sizeof(KeySpec));
	parse_spec(ks, PG_GETARG_ARRAYTYPE_P_COPY(1));
	MemoryContextSwitchTo(old);
	if (stable)
		fcinfo->flinfo->fn_extra = ks;
	return ks;
}

/* clique_key returns the key of q's cell of a row's slots, or -1 (a slot NULL or out of range). */
static int64
clique_key(const lv_clique *q, int64 offset, const Datum *slots, const bool *nulls)
{
	int64 cell = 0;
	int i;

	for (i = 0; i < q->k; i++)
	{
		int c = q->cols[i];
		int32 x;

		if (nulls[c])
			return -1;
		x = DatumGetInt32(slots[c]);
		if (x < 0 || x >= q->width[i])
			return -1;
		cell = cell * q->width[i] + x;
	}
	return offset + cell;
}

/*
 * lipvae_count_keys (SQL: lipvae.count_keys(slots integer[], spec
 * bigint[]) RETURNS bigint[]) lists the keys of the cells one row adds 1
 * to, given its slots: the row's key, each candidate's cell whose slots
 * are all in range (as lv_clique_add_counts counts it), and each flag's
 * key whose slot is 1.
 */
Datum
lipvae_count_keys(PG_FUNCTION_ARGS)
{
	KeySpec *ks;
	ArrayType *arr;
	Datum *slots,
		*out;
	bool *nulls;
	int n,
		m = 0,
		i;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		bad_argument("count_keys", "The slots and the specification must not be NULL.");
	ks = key_spec(fcinfo);
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(arr) > 1 || ARR_ELEMTYPE(arr) != INT4OID)
		bad_argument("count_keys", "The slots must be a one-dimensional integer array.");
	deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &slots, &nulls, &n);
	if (ks->max_slot >= n)
		bad_argument("count_keys", "The specification reads a slot the row does not have.");
	out = palloc(sizeof(Datum) * (1 + ks->nq + ks->nflag));
	out[m++] = Int64GetDatum(ks->rows_key);
	for (i = 0; i < ks->nq; i++)
	{
		int64 key = clique_key(&ks->q[i], ks->offset[i], slots, nulls);

		if (key >= 0)
			out[m++] = Int64GetDatum(key);
	}
	for (i = 0; i < ks->nflag; i++)
		if (!nulls[ks->flag_slot[i]] && DatumGetInt32(slots[ks->flag_slot[i]]) == 1)
			out[m++] = Int64GetDatum(ks->flag_key[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, m, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
