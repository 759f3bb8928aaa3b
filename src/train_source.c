/*
 * train_source.c - the source stage of lipvae_train: the training query's
 * columns (kinds, types, domains the type fixes) and its rows, fetched
 * through SPI as the caller and encoded as cells; user-level bounding of
 * each unit's rows.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/catcache.h"
#include "utils/syscache.h"

#include "train.h"

typedef struct CatEntry
{
	char *key;
	int id;
} CatEntry;

/* A row's place in the unit bounding: its unit, a keyed tag, its index. */
typedef struct UnitRow
{
	uint64 unit;
	uint64 tag;
	int64 row;
} UnitRow;

static int cmp_unit_rows(const void *a, const void *b);
static bool temp_type(Oid typid);
static bool find_name(List *names, const char *name);
static uint32 cat_hash(const void *key, Size keysize);
static int cat_match(const void *a, const void *b, Size keysize);

/* cmp_unit_rows orders rows by unit, then by keyed tag. */
static int
cmp_unit_rows(const void *a, const void *b)
{
	const UnitRow *x = (const UnitRow *) a;
	const UnitRow *y = (const UnitRow *) b;

	if (x->unit != y->unit)
		return x->unit < y->unit ? -1 : 1;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

/*
 * bound_units keeps at most k rows of every unit (the k with the smallest
 * keyed pseudo-random tags: a reproducible choice for a given key and row
 * order) and returns the kept rows grouped by unit; unit_start gets the
 * first row of each unit (nunits + 1 entries). The category counts and
 * non-NULL counts of tc are recomputed over the kept rows.
 */
lv_cell *
bound_units(TrainColumn *tc, int ncols, lv_cell *cells, uint64 *uh, int64 *n,
			int k, const uint8 *key, int64 **unit_start, int64 *nunits)
{
	int64 rows = *n,
		  kept = 0,
		  units = 0,
		  r,
		  run = 0;
	UnitRow *ur = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(UnitRow) * rows);
	lv_cell *out;
	int64 *start;
	lv_stream s;
	int i;

	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, UINT64CONST(0x756e697473)); /* "units" */
	for (r = 0; r < rows; r++)
	{
		ur[r].unit = uh[r];
		ur[r].tag = lv_stream_u64(&s);
		ur[r].row = r;
	}
	qsort(ur, rows, sizeof(UnitRow), cmp_unit_rows);
	CHECK_FOR_INTERRUPTS();

	/* count kept rows and units */
	for (r = 0; r < rows; r++)
	{
		run = (r > 0 && ur[r].unit == ur[r - 1].unit) ? run + 1 : 0;
		if (run == 0)
			units++;
		if (run < k)
			kept++;
	}
	out = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(lv_cell) * kept * ncols);
	start = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * (units + 1));
	for (i = 0; i < ncols; i++)
	{
		tc[i].nonnull = 0;
		if (tc[i].raw_counts)
			memset(tc[i].raw_counts, 0, sizeof(double) * tc[i].nraw);
	}
	kept = 0;
	units = 0;
	for (r = 0; r < rows; r++)
	{
		lv_cell *src;

		run = (r > 0 && ur[r].unit == ur[r - 1].unit) ? run + 1 : 0;
		if (run == 0)
			start[units++] = kept;
		if (run >= k)
			continue;
		src = &cells[ur[r].row * ncols];
		memcpy(&out[kept * ncols], src, sizeof(lv_cell) * ncols);
		for (i = 0; i < ncols; i++)
			if (!src[i].isnull)
			{
				tc[i].nonnull++;
				if (tc[i].col.tclass == LVT_TEXT && tc[i].raw_counts)
					tc[i].raw_counts[src[i].cat] += 1;
			}
		kept++;
	}
	start[units] = kept;
	pfree(ur);
	pfree(cells);
	*n = kept;
	*unit_start = start;
	*nunits = units;
	return out;
}

/* temp_type says whether a type lives in a temporary schema. */
static bool
temp_type(Oid typid)
{
	HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	bool temp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	temp = isAnyTempNamespace(((Form_pg_type) GETSTRUCT(tup))->typnamespace);
	ReleaseSysCache(tup);
	return temp;
}

/* find_name says whether name is in a list of C strings. */
static bool
find_name(List *names, const char *name)
{
	ListCell *lc;

	foreach (lc, names)
		if (strcmp((char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/* cat_hash hashes the string a category key points to. */
static uint32
cat_hash(const void *key, Size keysize)
{
	const char *s = *(char *const *) key;

	return hash_bytes((const unsigned char *) s, strlen(s));
}

/* cat_match compares the strings two category keys point to. */
static int
cat_match(const void *a, const void *b, Size keysize)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * count_columns finds the unit column (o->unit_att, o->unit_type) and
 * returns how many modelled columns the query has, within the limits.
 */
static int
count_columns(TupleDesc desc, TrainOptions *o)
{
	int n = 0,
		i;

	o->unit_att = -1;
	for (i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
		{
			if (o->unit && strcmp(NameStr(TupleDescAttr(desc, i)->attname), o->unit) == 0)
			{
				if (o->unit_att >= 0)
					ereport(ERROR, (errcode(ERRCODE_AMBIGUOUS_COLUMN),
									errmsg("the training query returns two columns named \"%s\"", o->unit)));
				o->unit_att = i;
				o->unit_type = TupleDescAttr(desc, i)->atttypid;
				continue;
			}
			n++;
		}
	if (o->unit && o->unit_att < 0)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
						errmsg("unit column \"%s\" is not a column of the training query", o->unit),
						errhint("Select the column that identifies a person, e.g. SELECT patient_id, age, bp FROM visits; it is used to bound each person's rows and is not modelled.")));
	if (n == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query returns no columns")));
	if (n > LV_MAX_COLUMNS)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("the training query returns %d columns, the limit is %d", n, LV_MAX_COLUMNS),
						errhint("Select fewer columns.")));
	return n;
}

/*
 * check_column sets column j's type class, and refuses an unsupported or
 * temporary type, a reserved name, or a name an earlier column has.
 */
static void
check_column(TrainColumn *tc, int j, Form_pg_attribute att, Oid base)
{
	TrainColumn *t = &tc[j];
	int k;

	if (!lipvae_type_class(base, &t->col.tclass))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("column \"%s\" has type %s, which lipvae does not support",
							   t->col.name, format_type_be(att->atttypid)),
						errhint("Cast it in the query to a number, date, timestamp, boolean, text or enum type, e.g. %s::text.",
								quote_identifier(t->col.name))));
	if (temp_type(att->atttypid) || temp_type(base))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("column \"%s\" has temporary type %s", t->col.name,
							   format_type_be(att->atttypid)),
						errdetail("A model outlives the session; its row type cannot use a type that goes with it."),
						errhint("Cast it in the query, e.g. %s::text.", quote_identifier(t->col.name))));
	if (strcmp(t->col.name, "epsilon") == 0 || strcmp(t->col.name, "delta") == 0 ||
		strcmp(t->col.name, "scope") == 0)
		ereport(ERROR, (errcode(ERRCODE_DUPLICATE_COLUMN),
						errmsg("column name \"%s\" is reserved for the privacy columns of sampled rows",
							   t->col.name),
						errhint("Rename it in the query, e.g. SELECT %s AS %s_value.",
								quote_identifier(t->col.name), t->col.name)));
	for (k = 0; k < j; k++)
		if (strcmp(tc[k].col.name, t->col.name) == 0)
			ereport(ERROR, (errcode(ERRCODE_DUPLICATE_COLUMN),
							errmsg("the training query returns two columns named \"%s\"", t->col.name),
							errhint("Give every column its own name with AS.")));
}

/* enum_labels lists an enum column's labels in their sort order. */
static void
enum_labels(TrainColumn *t, Oid base)
{
	CatCList *list = SearchSysCacheList1(ENUMTYPOIDNAME, ObjectIdGetDatum(base));
	float4 *orders;
	int m = list->n_members,
		a,
		b;

	if (m > LV_MAX_CATEGORIES)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("enum column \"%s\" has %d labels, the limit is %d",
							   t->col.name, m, LV_MAX_CATEGORIES)));
	t->col.ncat = m;
	t->col.labels = palloc(sizeof(char *) * Max(m, 1));
	t->enum_oids = palloc(sizeof(Oid) * Max(m, 1));
	orders = palloc(sizeof(float4) * Max(m, 1));
	for (a = 0; a < m; a++)
	{
		Form_pg_enum e = (Form_pg_enum) GETSTRUCT(&list->members[a]->tuple);

		t->enum_oids[a] = e->oid;
		t->col.labels[a] = pstrdup(NameStr(e->enumlabel));
		orders[a] = e->enumsortorder;
	}
	ReleaseSysCacheList(list);
	/* sort by enumsortorder (insertion sort: lists are short) */
	for (a = 1; a < m; a++)
		for (b = a; b > 0 && orders[b - 1] > orders[b]; b--)
		{
			float4 tf = orders[b];
			Oid to = t->enum_oids[b];
			char *tl = t->col.labels[b];

			orders[b] = orders[b - 1];
			orders[b - 1] = tf;
			t->enum_oids[b] = t->enum_oids[b - 1];
			t->enum_oids[b - 1] = to;
			t->col.labels[b] = t->col.labels[b - 1];
			t->col.labels[b - 1] = tl;
		}
	t->categories_source = "type";
}

/* text_labels starts a text column's raw label table (label -> raw id, count). */
static void
text_labels(TrainColumn *t)
{
	HASHCTL ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(char *);
	ctl.entrysize = sizeof(CatEntry);
	ctl.hash = cat_hash;
	ctl.match = cat_match;
	ctl.hcxt = CurrentMemoryContext;
	t->raw = hash_create("lipvae categories", 64, &ctl,
						 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	t->raw_cap = 64;
	t->raw_labels = palloc(sizeof(char *) * t->raw_cap);
	t->raw_counts = palloc0(sizeof(double) * t->raw_cap);
}

/* describe_column fills t from the query's attribute att (j columns before it). */
static void
describe_column(TrainColumn *tc, int j, Form_pg_attribute att, const TrainOptions *o)
{
	TrainColumn *t = &tc[j];
	int32 typmod = att->atttypmod;
	Oid base;

	t->col.name = pstrdup(NameStr(att->attname));
	base = getBaseTypeAndTypmod(att->atttypid, &typmod);
	t->col.typid = base;
	t->col.typmod = typmod;
	check_column(tc, j, att, base);
	t->numeric = lipvae_class_is_numeric(t->col.tclass);
	t->integer = lipvae_class_is_integer(t->col.tclass, typmod);
	t->not_null = find_name(o->not_null, t->col.name);
	if (t->col.tclass == LVT_BOOL)
	{
		t->col.ncat = 2;
		t->col.labels = palloc(sizeof(char *) * 2);
		t->col.labels[0] = "false";
		t->col.labels[1] = "true";
		t->categories_source = "type";
	}
	else if (t->col.tclass == LVT_ENUM)
		enum_labels(t, base);
	else if (t->col.tclass == LVT_TEXT)
		text_labels(t);
}

/*
 * describe_columns checks the query's result columns (supported types,
 * unique names, no clash with the privacy columns, limits) and prepares the
 * per-column state.
 */
TrainColumn *
describe_columns(TupleDesc desc, TrainOptions *o, int *ncols)
{
	int n = count_columns(desc, o);
	TrainColumn *tc = palloc0(sizeof(TrainColumn) * n);
	int i,
		j;
	ListCell *lc;

	for (i = 0, j = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && i != o->unit_att)
			describe_column(tc, j++, TupleDescAttr(desc, i), o);
	foreach (lc, o->not_null)
	{
		char *nm = lfirst(lc);

		for (i = 0; i < n; i++)
			if (strcmp(tc[i].col.name, nm) == 0)
				break;
		if (i == n)
			bad_option("not_null", psprintf("The query has no column named \"%s\".", nm), NULL);
	}
	*ncols = n;
	return tc;
}

/* raw_category: see train.h. */
int
raw_category(TrainColumn *t, const char *s, double count)
{
	CatEntry *e;
	bool found;

	e = hash_search(t->raw, &s, HASH_ENTER, &found);
	if (!found)
	{
		/* distinct labels grow with the rows: they count against training_memory */
		lipvae_check_memory(strlen(s) + 1 + sizeof(CatEntry) + 2 * sizeof(double));
		if (t->nraw >= t->raw_cap)
		{
			t->raw_cap *= 2;
			t->raw_labels = repalloc_huge(t->raw_labels, sizeof(char *) * t->raw_cap);
			t->raw_counts = repalloc_huge(t->raw_counts, sizeof(double) * t->raw_cap);
		}
		/* the list's context, not the batch's (conversion runs in a short-lived one) */
		e->key = MemoryContextStrdup(GetMemoryChunkContext(t->raw_labels), s);
		e->id = t->nraw;
		t->raw_labels[t->nraw] = e->key;
		t->raw_counts[t->nraw] = 0;
		t->nraw++;
	}
	t->raw_counts[e->id] += count;
	return e->id;
}

/* raw_lookup returns the raw id of a text value seen before, or -1. */
static int
raw_lookup(TrainColumn *t, char *s)
{
	CatEntry *e = hash_search(t->raw, &s, HASH_FIND, NULL);

	return e ? e->id : -1;
}

/* unit_hash returns a 64-bit hash of the unit column's text form. */
static uint64
unit_hash(HeapTuple tup, TupleDesc desc, const TrainOptions *o, Oid unit_out)
{
	bool isnull;
	Datum v = SPI_getbinval(tup, desc, o->unit_att + 1, &isnull);
	char *s;
	uint64 h;

	if (isnull)
		ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
						errmsg("unit column \"%s\" contains NULL", o->unit),
						errhint("Every row must name its unit (person); filter or coalesce NULLs in the query.")));
	/* a 64-bit hash of the text form: a collision merges two units */
	s = OidOutputFunctionCall(unit_out, v);
	h = hash_bytes_extended((const unsigned char *) s, strlen(s), 0x6c697076u);
	pfree(s);
	return h;
}

/*
 * value_cell converts one non-NULL value of column t into *cell: a number,
 * a boolean or enum index, or a text value's raw id (lookup: only labels
 * the first pass saw, -1 for a new one; else added and counted).
 */
static void
value_cell(TrainColumn *t, Datum v, bool lookup, lv_cell *cell)
{
	switch (t->col.tclass)
	{
		case LVT_BOOL:
			cell->cat = DatumGetBool(v) ? 1 : 0;
			break;
		case LVT_ENUM:
		{
			Oid eo = DatumGetObjectId(v);
			int c;

			for (c = 0; c < t->col.ncat; c++)
				if (t->enum_oids[c] == eo)
					break;
			if (c == t->col.ncat)
				elog(ERROR, "lipvae: enum value of column \"%s\" not found", t->col.name);
			cell->cat = c;
		}
		break;
		case LVT_TEXT:
		{
			char *s = TextDatumGetCString(v);

			/* char(n): trailing blanks are padding, not part of the label */
			if (t->col.typid == BPCHAROID)
				s[bpchartruelen(s, strlen(s))] = '\0';
			cell->cat = lookup ? raw_lookup(t, s) : raw_category(t, s, 1);
			pfree(s);
		}
		break;
		default:
			cell->value = lipvae_datum_to_double(v, t->col.tclass, t->col.name);
	}
}

/*
 * tuple_cells converts one row of the query into its ncols cells (the
 * unit column and dropped attributes skipped; the tuple deformed once into
 * the caller's scratch vals and nulls, natts each); counts non-NULL values
 * unless lookup (a later pass over rows already counted).
 */
static void
tuple_cells(HeapTuple tup, TupleDesc desc, TrainColumn *tc, int ncols,
			const TrainOptions *o, bool lookup, Datum *vals, bool *nulls, lv_cell *row)
{
	int att = 0,
		i;

	heap_deform_tuple(tup, desc, vals, nulls);
	for (i = 0; i < ncols; i++)
	{
		TrainColumn *t = &tc[i];
		bool isnull;
		Datum v;

		while (TupleDescAttr(desc, att)->attisdropped || att == o->unit_att)
			att++;
		v = vals[att];
		isnull = nulls[att];
		att++;
		row[i].value = 0;
		row[i].cat = 0;
		row[i].isnull = isnull;
		if (isnull)
		{
			if (t->not_null)
				refuse_null(t);
			continue;
		}
		if (!lookup)
			t->nonnull++;
		value_cell(t, v, lookup, &row[i]);
	}
}

/* refuse_null: see train.h. */
void
refuse_null(const TrainColumn *t)
{
	ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
					errmsg("column \"%s\" was declared not_null but contains NULL", t->col.name),
					errhint("Remove it from not_null, or filter NULLs in the query.")));
}

/* check_rows: see train.h. */
void
check_rows(const TrainColumn *tc, int ncols, int64 n)
{
	int i;

	if (n == 0)
		ereport(ERROR, (errcode(ERRCODE_NO_DATA),
						errmsg("the training query returned no rows"),
						errhint("A model needs training rows; check the query's WHERE clause.")));
	if (n < 2)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query returned only one row"),
						errhint("Train on at least two rows; a useful model needs thousands.")));
	for (i = 0; i < ncols; i++)
		if (tc[i].nonnull == 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("column \"%s\" is NULL in every row", tc[i].col.name),
							errhint("Leave the column out of the query.")));
}

/* too_many_rows refuses rows above lipvae.max_training_rows, by mechanism. */
static void
too_many_rows(const TrainOptions *o)
{
	if (lv_mech_per_record(o->mechanism))
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("the training query returns more than %d rows", lipvae_max_training_rows),
						errdetail("A per-record model stores one latent vector per training row."),
						errhint("Sample rows in the query (TABLESAMPLE, LIMIT) or raise lipvae.max_training_rows.")));
	if (o->marginals_aim)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("the training query returns more than %d rows", lipvae_max_training_rows),
						errdetail("With unit => the rows are held in memory to group them by unit; without it marginals => 'aim' reads them in a stream and has no such limit."),
						errhint("Sample units in the query, or raise lipvae.max_training_rows.")));
	ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					errmsg("the training query returns more than %d rows", lipvae_max_training_rows),
					errdetail("This training holds every row in memory; marginals => 'aim' without unit => reads them in a stream and has no such limit."),
					errhint("Use marginals => 'aim', sample rows in the query (TABLESAMPLE, LIMIT), or raise lipvae.max_training_rows.")));
}

/* grow_rows makes room for need rows of cells (and unit hashes). */
static void
grow_rows(const TrainOptions *o, lv_cell **cells, uint64 **uh, int64 *cap, int64 need, int ncols)
{
	if (need > lipvae_max_training_rows)
		too_many_rows(o);
	while (need > *cap)
	{
		*cap *= 2;
		lipvae_check_memory(sizeof(lv_cell) * *cap * ncols);
		*cells = repalloc_huge(*cells, sizeof(lv_cell) * *cap * ncols);
		if (*uh)
			*uh = repalloc_huge(*uh, sizeof(uint64) * *cap);
	}
}

/* The rows read_rows holds. */
typedef struct HeldRows
{
	const TrainOptions *o;
	int ncols;
	lv_cell *cells;
	uint64 *uh; /* unit hashes, with unit => */
	int64 n,
		cap;
} HeldRows;

/* hold_sink appends a batch (and its unit hashes) to the held rows. */
static void
hold_sink(void *arg, lv_cell *rows, const uint64 *units, int64 n)
{
	HeldRows *h = arg;

	grow_rows(h->o, &h->cells, &h->uh, &h->cap, h->n + n, h->ncols);
	memcpy(&h->cells[h->n * h->ncols], rows, sizeof(lv_cell) * n * h->ncols);
	if (h->uh)
		memcpy(&h->uh[h->n], units, sizeof(uint64) * n);
	h->n += n;
}

/*
 * read_rows runs the checked plan of the query as the caller and converts
 * every value into a cell (numbers, raw category ids, NULL flags), holding
 * every row (and with unit => its unit's hash in *units).
 */
lv_cell *
read_rows(LipvaeQuery *lq, TrainColumn *tc, int ncols, TrainOptions *o,
		  uint64 **units, int64 *nrows)
{
	HeldRows h = {o, ncols, NULL, NULL, 0, 1024};

	h.cells = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(lv_cell) * h.cap * ncols);
	if (o->unit_att >= 0)
		h.uh = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * h.cap);
	(void) scan_rows(lq, tc, ncols, o, true, hold_sink, &h);
	*nrows = h.n;
	*units = h.uh;
	return h.cells;
}

/*
 * scan_rows runs the checked plan of the query as the caller and hands its
 * rows (and with unit => their units' hashes) to sink a batch of at most
 * FETCH_BATCH at a time, holding no more (first: counts values and labels,
 * and checks the row count; later passes look labels up). Returns how many
 * rows it read.
 */
int64
scan_rows(LipvaeQuery *lq, TrainColumn *tc, int ncols, TrainOptions *o,
		  bool first, RowSink sink, void *arg)
{
	lv_cell *cells = palloc(sizeof(lv_cell) * FETCH_BATCH * ncols);
	uint64 *uh = o->unit_att >= 0 ? palloc(sizeof(uint64) * FETCH_BATCH) : NULL;
	Datum *vals = palloc(sizeof(Datum) * lq->desc->natts);
	bool *nulls = palloc(sizeof(bool) * lq->desc->natts);
	MemoryContext cxt = CurrentMemoryContext;
	MemoryContext conv = AllocSetContextCreate(cxt, "lipvae row conversion", ALLOCSET_DEFAULT_SIZES);
	Oid unit_out = InvalidOid;
	bool isvarlena;
	int64 n = 0;

	if (uh)
		getTypeOutputInfo(o->unit_type, &unit_out, &isvarlena);
	lipvae_query_open(lq);
	for (;;)
	{
		uint64 k;
		HeapTuple *tups;
		uint64 nt = lipvae_query_fetch(lq, FETCH_BATCH, &tups);

		if (nt == 0)
			break;
		MemoryContextSwitchTo(conv);
		for (k = 0; k < nt; k++)
		{
			if (uh)
				uh[k] = unit_hash(tups[k], lq->desc, o, unit_out);
			tuple_cells(tups[k], lq->desc, tc, ncols, o, !first, vals, nulls, &cells[k * ncols]);
		}
		MemoryContextSwitchTo(cxt);
		MemoryContextReset(conv);
		sink(arg, cells, uh, (int64) nt);
		n += (int64) nt;
	}
	lipvae_query_close(lq);
	MemoryContextSwitchTo(cxt);
	if (first)
		check_rows(tc, ncols, n);
	pfree(cells);
	pfree(vals);
	pfree(nulls);
	if (uh)
		pfree(uh);
	MemoryContextDelete(conv);
	return n;
}
