/*
 * train.c - lipvae_train: check the arguments and the query, run the query
 * through SPI as the caller, fix public bounds and category lists (from the
 * user, the type, or a DP mechanism that spends a stated share of the
 * budget), calibrate the per-record mechanism, train, certify and store.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/catcache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "lipvae.h"
#include "lv_privacy.h"

PG_FUNCTION_INFO_V1(lipvae_train);

#define LIPVAE_MAX_EPSILON 100.0
#define LIPVAE_EXACT_BINS_MAX 128
#define FETCH_BATCH 10000

/* Training options after validation. */
typedef struct TrainOptions
{
	char *model;
	char *query;
	double epsilon;
	double delta;
	int passes;
	int mechanism; /* LV_MECH_* */
	Jsonb *bounds;
	Jsonb *categories;
	List *not_null; /* of char * */
	int epochs;     /* 0 = default */
	int batch;
	int latent;
	int hidden;
	double lr;
	int bins;
	double share;
	bool seeded;
	int64 seed;
	bool replace;
} TrainOptions;

/* Per-column training state: what the glue learns about each column. */
typedef struct TrainColumn
{
	LipvaeColumn col;
	bool numeric;
	bool not_null;
	bool integer;
	bool have_bounds;
	double lo,
		hi;
	const char *bounds_source;
	const char *categories_source;
	/* categorical raw values: label -> raw id */
	HTAB *raw;
	int nraw;
	char **raw_labels;
	double *raw_counts;
	int raw_cap;
	int *raw_to_cat;
	/* enum: enum value oid -> index */
	Oid *enum_oids;
	int64 nonnull;
	double eps_used;
	double delta_used;
} TrainColumn;

typedef struct CatEntry
{
	char *key;
	int id;
} CatEntry;

static void parse_options(FunctionCallInfo fcinfo, TrainOptions *o);
static SPIPlanPtr prepare_query(const char *query, TupleDesc *desc);
static TrainColumn *describe_columns(TupleDesc desc, TrainOptions *o, int *ncols);
static lv_cell *read_rows(SPIPlanPtr plan, TrainColumn *tc, int ncols, int64 *nrows);
static void apply_user_settings(TrainColumn *tc, int ncols, TrainOptions *o);
static void preprocess(TrainColumn *tc, int ncols, lv_cell *cells, int64 n,
					   TrainOptions *o, const uint8 *pkey, double *eps_pre,
					   double *delta_pre, StringInfo components);
static void existing_model(const char *name, bool replace, bool *exists);
static Oid store_model(TrainOptions *o, TrainColumn *tc, int ncols, bool exists,
					   const char *columns_json, const char *settings_json,
					   const char *preprocess_json, const char *training_json,
					   lv_model *m, double eps_last, double eps_pre,
					   double delta_pre, double diameter, bytea *blob);
static int interrupt_pending(void *arg);
static void json_num(StringInfo s, double v);

/*
 * lipvae_train is the SQL entry point: it trains and stores a model and
 * returns a jsonb summary of what it did.
 */
Datum
lipvae_train(PG_FUNCTION_ARGS)
{
	TrainOptions o;
	MemoryContext cxt;
	MemoryContext old;
	TupleDesc desc;
	SPIPlanPtr plan;
	TrainColumn *tc;
	int ncols;
	int64 n;
	lv_cell *cells;
	lv_schema schema;
	lv_model m;
	lv_train_config cfg;
	lv_train_result res;
	float *X;
	int32 *T;
	int d;
	int i;
	int64 r;
	uint8 pkey[LV_KEY_BYTES];
	double eps_pre = 0,
		   delta_pre = 0,
		   diameter,
		   eps_last = 0,
		   mu_total,
		   mu1 = 0;
	StringInfoData components,
		cols_json,
		settings_json,
		training_json,
		summary;
	bool exists;
	instr_time t0,
		t1;
	int rc;
	uint8 *blob_bytes;
	size_t blob_len;
	bytea *blob;
	Jsonb *result;

	INSTR_TIME_SET_CURRENT(t0);
	parse_options(fcinfo, &o);

	cxt = AllocSetContextCreate(CurrentMemoryContext, "lipvae training",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	lipvae_use_palloc();
	lipvae_set_blas_threads();

	existing_model(o.model, o.replace, &exists);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);

	plan = prepare_query(o.query, &desc);
	tc = describe_columns(desc, &o, &ncols);
	apply_user_settings(tc, ncols, &o);
	cells = read_rows(plan, tc, ncols, &n);

	/* keys: cryptographic, or derived from the test seed */
	if (o.seeded)
	{
		lipvae_seed_key(o.seed, "preprocess", pkey);
		lipvae_seed_key(o.seed, "train", cfg.train_key);
		lipvae_seed_key(o.seed, "release", m.key);
	}
	else
	{
		lipvae_strong_key(pkey);
		lipvae_strong_key(cfg.train_key);
		lipvae_strong_key(m.key);
	}

	initStringInfo(&components);
	preprocess(tc, ncols, cells, n, &o, pkey, &eps_pre, &delta_pre, &components);

	/* the encoding schema */
	schema.ncols = ncols;
	schema.cols = palloc0(sizeof(lv_column) * ncols);
	for (i = 0; i < ncols; i++)
	{
		lv_column *c = &schema.cols[i];

		if (tc[i].numeric)
		{
			double range = tc[i].hi - tc[i].lo;

			c->kind = LV_COL_NUMERIC;
			c->nullable = !tc[i].not_null;
			c->integer = tc[i].integer;
			c->lo = tc[i].lo;
			c->hi = tc[i].hi;
			if (tc[i].integer && range + 1 <= LIPVAE_EXACT_BINS_MAX)
			{
				c->exact_bins = 1;
				c->nbins = (int) range + 1;
			}
			else
				c->nbins = o.bins;
		}
		else
		{
			c->kind = LV_COL_CATEGORICAL;
			c->nullable = !tc[i].not_null;
			c->ncat = tc[i].col.ncat;
		}
	}
	d = lv_schema_input_dim(&schema);
	diameter = lv_schema_diameter(&schema);

	/* encode: raw category ids become list indices, other = -1 */
	X = MemoryContextAllocHuge(cxt, sizeof(float) * (Size) n * d);
	T = MemoryContextAllocHuge(cxt, sizeof(int32) * (Size) n * ncols);
	for (r = 0; r < n; r++)
	{
		lv_cell *row = &cells[r * ncols];

		for (i = 0; i < ncols; i++)
			if (!tc[i].numeric && !row[i].isnull && tc[i].raw_to_cat)
				row[i].cat = tc[i].raw_to_cat[row[i].cat];
		lv_encode_row(&schema, row, &X[r * d], &T[r * ncols]);
		if ((r & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(cells);

	/* calibrate the mechanism */
	m.schema = schema;
	m.mechanism = o.mechanism;
	m.passes = o.passes;
	cfg.epochs = o.epochs > 0 ? o.epochs : Min(1000, Max(5, (int) ceil(3000.0 * o.batch / (double) n)));
	cfg.batch = o.batch;
	cfg.latent = o.latent;
	cfg.hidden = o.hidden;
	cfg.lr = o.lr;
	cfg.decoder_layer_bound = 4.0;
	cfg.interrupted = interrupt_pending;
	cfg.interrupted_arg = NULL;
	if (o.mechanism == LV_MECH_LATENT)
	{
		mu_total = lv_gdp_mu(o.epsilon - eps_pre, o.delta - delta_pre);
		if (!(mu_total > 0))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot calibrate the mechanism for epsilon %g and delta %g",
								   o.epsilon - eps_pre, o.delta - delta_pre)));
		/* mu of one pass, lowered a hair so rounding never overshoots */
		cfg.lipschitz_target = mu_total / sqrt((double) o.passes) / diameter * (1 - 1e-9);
	}
	else
		cfg.lipschitz_target = 0;

	rc = lv_model_train(&m, X, T, n, &cfg, &res);
	lipvae_core_error(rc, "training");

	if (o.mechanism == LV_MECH_LATENT)
	{
		if (!(m.lipschitz_certified <= cfg.lipschitz_target))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("certified Lipschitz bound %g exceeds the target %g",
								   m.lipschitz_certified, cfg.lipschitz_target)));
		mu1 = lv_round_up(m.lipschitz_certified * diameter / m.noise_sd);
		m.mu1 = mu1;
		eps_last = lipvae_pass_epsilon(eps_pre, o.delta, delta_pre, mu1, o.passes);
	}
	else
	{
		m.mu1 = 0;
		eps_last = INFINITY;
	}

	rc = lv_model_serialize(&m, &blob_bytes, &blob_len);
	lipvae_core_error(rc, "serializing the model");
	blob = palloc(VARHDRSZ + blob_len);
	SET_VARSIZE(blob, VARHDRSZ + blob_len);
	memcpy(VARDATA(blob), blob_bytes, blob_len);

	/* catalog descriptions */
	initStringInfo(&cols_json);
	appendStringInfoChar(&cols_json, '[');
	for (i = 0; i < ncols; i++)
	{
		TrainColumn *t = &tc[i];
		lv_column *c = &schema.cols[i];
		int j;

		if (i > 0)
			appendStringInfoString(&cols_json, ", ");
		appendStringInfoString(&cols_json, "{\"name\": ");
		escape_json(&cols_json, t->col.name);
		appendStringInfoString(&cols_json, ", \"type\": ");
		escape_json(&cols_json, format_type_extended(t->col.typid, t->col.typmod,
													 FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		appendStringInfo(&cols_json, ", \"base_type\": ");
		escape_json(&cols_json, format_type_extended(t->col.typid, -1, FORMAT_TYPE_FORCE_QUALIFY));
		appendStringInfo(&cols_json, ", \"typmod\": %d, \"kind\": \"%s\", \"nullable\": %s",
						 t->col.typmod, t->numeric ? "numeric" : "categorical",
						 t->not_null ? "false" : "true");
		if (t->numeric)
		{
			appendStringInfoString(&cols_json, ", \"lo\": ");
			json_num(&cols_json, c->lo);
			appendStringInfoString(&cols_json, ", \"hi\": ");
			json_num(&cols_json, c->hi);
			appendStringInfoString(&cols_json, ", \"bounds\": [");
			escape_json(&cols_json, lipvae_format_value(&t->col, c->lo));
			appendStringInfoString(&cols_json, ", ");
			escape_json(&cols_json, lipvae_format_value(&t->col, c->hi));
			appendStringInfo(&cols_json, "], \"bounds_source\": \"%s\", \"integer\": %s, \"bins\": %d, \"exact_bins\": %s",
							 t->bounds_source, c->integer ? "true" : "false",
							 c->nbins, c->exact_bins ? "true" : "false");
		}
		else
		{
			appendStringInfoString(&cols_json, ", \"categories\": [");
			for (j = 0; j < t->col.ncat; j++)
			{
				if (j > 0)
					appendStringInfoString(&cols_json, ", ");
				escape_json(&cols_json, t->col.labels[j]);
			}
			appendStringInfo(&cols_json, "], \"categories_source\": \"%s\", \"other\": ",
							 t->categories_source);
			if (t->col.other)
				escape_json(&cols_json, t->col.other);
			else
				appendStringInfoString(&cols_json, "null");
		}
		appendStringInfoChar(&cols_json, '}');
	}
	appendStringInfoChar(&cols_json, ']');

	initStringInfo(&settings_json);
	appendStringInfo(&settings_json,
					 "{\"epochs\": %d, \"batch_size\": %d, \"latent\": %d, \"hidden\": %d, "
					 "\"learning_rate\": ",
					 cfg.epochs, o.batch, o.latent, o.hidden);
	json_num(&settings_json, o.lr);
	appendStringInfo(&settings_json, ", \"bins\": %d, \"preprocess_share\": ", o.bins);
	json_num(&settings_json, o.share);
	appendStringInfo(&settings_json, ", \"decoder_layer_bound\": 4, \"seeded\": %s}",
					 o.seeded ? "true" : "false");

	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);
	initStringInfo(&training_json);
	appendStringInfo(&training_json, "{\"epochs_run\": %d, \"final_loss\": ", res.epochs_run);
	json_num(&training_json, res.final_loss);
	appendStringInfoString(&training_json, ", \"final_reconstruction\": ");
	json_num(&training_json, res.final_recon);
	appendStringInfoString(&training_json, ", \"final_kl\": ");
	json_num(&training_json, res.final_kl);
	appendStringInfoString(&training_json, ", \"seconds\": ");
	json_num(&training_json, INSTR_TIME_GET_DOUBLE(t1));
	appendStringInfo(&training_json, ", \"model_bytes\": %zu}", blob_len);

	store_model(&o, tc, ncols, exists, cols_json.data, settings_json.data,
				components.data, training_json.data, &m, eps_last, eps_pre,
				delta_pre, diameter, blob);

	/* the summary returned to the caller */
	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"model\": ");
	escape_json(&summary, o.model);
	appendStringInfo(&summary, ", \"rows\": " INT64_FORMAT ", \"columns\": %d, \"epochs\": %d, \"final_loss\": ",
					 n, ncols, res.epochs_run);
	json_num(&summary, res.final_loss);
	appendStringInfo(&summary, ", \"mechanism\": \"%s\", \"scope\": \"%s\", \"epsilon\": ",
					 o.mechanism == LV_MECH_LATENT ? "latent" : "none",
					 o.mechanism == LV_MECH_LATENT ? LIPVAE_SCOPE_LATENT : LIPVAE_SCOPE_NONE);
	if (o.mechanism == LV_MECH_LATENT)
	{
		json_num(&summary, eps_last);
		appendStringInfoString(&summary, ", \"delta\": ");
		json_num(&summary, o.delta);
		appendStringInfoString(&summary, ", \"epsilon_preprocess\": ");
		json_num(&summary, eps_pre);
		appendStringInfoString(&summary, ", \"epsilon_first_pass\": ");
		json_num(&summary, lipvae_pass_epsilon(eps_pre, o.delta, delta_pre, mu1, 1));
		appendStringInfo(&summary, ", \"passes\": %d, \"max_rows\": " INT64_FORMAT,
						 o.passes, (int64) o.passes * n);
	}
	else
		appendStringInfoString(&summary, "\"Infinity\", \"delta\": null");
	appendStringInfoString(&summary, ", \"lipschitz_certified\": ");
	json_num(&summary, m.lipschitz_certified);
	appendStringInfoString(&summary, ", \"row_type\": ");
	escape_json(&summary, psprintf("lipvae_types.%s", quote_identifier(o.model)));
	appendStringInfoString(&summary, ", \"seconds\": ");
	json_num(&summary, INSTR_TIME_GET_DOUBLE(t1));
	appendStringInfoChar(&summary, '}');

	/*
	 * Every SPI call leaves CurrentMemoryContext in SPI's procedure context,
	 * which SPI_finish frees: build the result in the caller's context first.
	 */
	MemoryContextSwitchTo(old);
	result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(summary.data)));
	SPI_finish();
	MemoryContextSwitchTo(old);
	lv_set_allocator(NULL);
	MemoryContextDelete(cxt);
	PG_RETURN_JSONB_P(result);
}

/* json_num appends a finite double as a JSON number, else a string. */
static void
json_num(StringInfo s, double v)
{
	if (isfinite(v))
		appendStringInfoString(s, double_to_shortest_decimal(v));
	else if (isnan(v))
		appendStringInfoString(s, "\"NaN\"");
	else
		appendStringInfoString(s, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
}

/*
 * interrupt_pending services pending interrupts between minibatches: a
 * cancel, timeout or termination raises its error here (the core's memory
 * lives in a memory context and its floating-point state is restored before
 * the callback runs); harmless interrupts are handled and training goes on.
 */
static int
interrupt_pending(void *arg)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}

/* bad_option raises an invalid-parameter error for a training option. */
static void
bad_option(const char *name, const char *detail, const char *hint)
{
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("invalid value for %s", name),
					detail ? errdetail("%s", detail) : 0,
					hint ? errhint("%s", hint) : 0));
}

/* int_arg returns an integer argument, its default when NULL. */
static int
int_arg(FunctionCallInfo fcinfo, int i, int def, int lo, int hi, const char *name)
{
	int v;

	if (PG_ARGISNULL(i))
		return def;
	v = PG_GETARG_INT32(i);
	if (v < lo || v > hi)
		bad_option(name, psprintf("%s must be between %d and %d, got %d.", name, lo, hi, v), NULL);
	return v;
}

/*
 * parse_options validates every argument of lipvae_train before any data
 * is read.
 */
static void
parse_options(FunctionCallInfo fcinfo, TrainOptions *o)
{
	memset(o, 0, sizeof(*o));
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("model name must not be NULL")));
	o->model = text_to_cstring(PG_GETARG_TEXT_PP(0));
	lipvae_check_model_name(o->model);
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("query must not be NULL")));
	o->query = text_to_cstring(PG_GETARG_TEXT_PP(1));

	o->epsilon = PG_ARGISNULL(2) ? 1.0 : PG_GETARG_FLOAT8(2);
	if (!isfinite(o->epsilon) || o->epsilon <= 0)
		bad_option("epsilon", "epsilon must be a finite number greater than 0.",
				   "A non-private model is asked for with mechanism => 'none', not with an infinite epsilon.");
	if (o->epsilon > LIPVAE_MAX_EPSILON)
		bad_option("epsilon", psprintf("epsilon %g is above the limit of %g, where a guarantee means nothing.", o->epsilon, LIPVAE_MAX_EPSILON),
				   "Use mechanism => 'none' for a non-private model.");
	o->delta = PG_ARGISNULL(3) ? 1e-6 : PG_GETARG_FLOAT8(3);
	if (!(o->delta > 0 && o->delta < 1))
		bad_option("delta", "delta must lie strictly between 0 and 1.", "The default is 1e-6; choose delta far below 1/rows.");
	o->passes = int_arg(fcinfo, 4, 10, 1, 1000000, "passes");

	o->mechanism = LV_MECH_LATENT;
	if (!PG_ARGISNULL(5))
	{
		char *mech = text_to_cstring(PG_GETARG_TEXT_PP(5));

		if (strcmp(mech, "latent") == 0)
			o->mechanism = LV_MECH_LATENT;
		else if (strcmp(mech, "none") == 0)
			o->mechanism = LV_MECH_NONE;
		else
			bad_option("mechanism", psprintf("Unknown mechanism \"%s\".", mech),
					   "Use 'latent' (per-record latent Gaussian mechanism) or 'none' (non-private, owner only).");
	}
	o->bounds = PG_ARGISNULL(6) ? NULL : PG_GETARG_JSONB_P(6);
	if (o->bounds && !JB_ROOT_IS_OBJECT(o->bounds))
		bad_option("bounds", "bounds must be a jsonb object mapping column names to [low, high].",
				   "For example bounds => '{\"age\": [0, 120]}'.");
	o->categories = PG_ARGISNULL(7) ? NULL : PG_GETARG_JSONB_P(7);
	if (o->categories && !JB_ROOT_IS_OBJECT(o->categories))
		bad_option("categories", "categories must be a jsonb object mapping column names to arrays of values.",
				   "For example categories => '{\"sex\": [\"F\", \"M\"]}'.");
	if (!PG_ARGISNULL(8))
	{
		ArrayType *arr = PG_GETARG_ARRAYTYPE_P(8);
		Datum *elems;
		bool *nulls;
		int nelems,
			i;

		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
		for (i = 0; i < nelems; i++)
		{
			if (nulls[i])
				bad_option("not_null", "not_null must not contain NULL.", NULL);
			o->not_null = lappend(o->not_null, TextDatumGetCString(elems[i]));
		}
	}
	o->epochs = int_arg(fcinfo, 9, 0, 1, 100000, "epochs");
	o->batch = int_arg(fcinfo, 10, 256, 1, 65536, "batch_size");
	o->latent = int_arg(fcinfo, 11, 8, 1, 256, "latent");
	o->hidden = int_arg(fcinfo, 12, 128, 1, 4096, "hidden");
	o->lr = PG_ARGISNULL(13) ? 0.002 : PG_GETARG_FLOAT8(13);
	if (!isfinite(o->lr) || o->lr <= 0 || o->lr > 1)
		bad_option("learning_rate", "learning_rate must lie in (0, 1].", NULL);
	o->bins = int_arg(fcinfo, 14, 32, 2, LV_MAX_BINS, "bins");
	o->share = PG_ARGISNULL(15) ? 0.5 : PG_GETARG_FLOAT8(15);
	if (!isfinite(o->share) || o->share <= 0 || o->share > 0.9)
		bad_option("preprocess_share", "preprocess_share must lie in (0, 0.9].",
				   "It is the share of epsilon (and delta) spent on bounds and category lists the user did not give.");
	o->seeded = !PG_ARGISNULL(16);
	o->seed = o->seeded ? PG_GETARG_INT64(16) : 0;
	o->replace = PG_ARGISNULL(17) ? false : PG_GETARG_BOOL(17);
}

/*
 * existing_model checks whether the model exists, and if so that the caller
 * asked to replace it and may do so.
 */
static void
existing_model(const char *name, bool replace, bool *exists)
{
	LipvaeOwnerState st;
	Datum arg = CStringGetTextDatum(name);
	Oid argtype = TEXTOID;
	Oid owner = InvalidOid;
	int rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	/*
	 * Not read-only: a fresh snapshot sees models stored earlier in the same
	 * statement, and FOR UPDATE serialises two replacements of one model.
	 */
	rc = SPI_execute_with_args("SELECT owner::pg_catalog.oid FROM lipvae.models WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							   1, &argtype, &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: catalog lookup failed");
	*exists = SPI_processed > 0;
	if (*exists)
	{
		bool isnull;

		owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	lipvae_restore_user(&st);
	SPI_finish();

	if (*exists && !lipvae_is_owner(owner))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("model \"%s\" belongs to another role", name),
						errhint("Only the owner of a model or a superuser may replace it; choose another name.")));
	if (*exists && !replace)
		ereport(ERROR, (errcode(ERRCODE_DUPLICATE_OBJECT),
						errmsg("model \"%s\" already exists", name),
						errhint("Pass replace => true to replace it; the old model stays until the new one is stored.")));
}

/*
 * has_row_marks says whether a query or any subquery in it locks rows
 * (FOR UPDATE / FOR SHARE at any level).
 */
static bool
has_row_marks(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query *q = (Query *) node;

		if (q->rowMarks != NIL)
			return true;
		return query_tree_walker(q, has_row_marks, context, 0);
	}
	return expression_tree_walker(node, has_row_marks, context);
}

/*
 * prepare_query parses and plans the training query as the caller and
 * refuses anything but exactly one plain SELECT (no locking clause, no
 * data-modifying CTE, no SELECT INTO).
 */
static SPIPlanPtr
prepare_query(const char *query, TupleDesc *desc)
{
	SPIPlanPtr plan;
	List *sources;
	CachedPlanSource *ps;
	ListCell *lc;

	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		ereport(ERROR, (errcode(ERRCODE_SYNTAX_ERROR),
						errmsg("could not prepare the training query: %s",
							   SPI_result_code_string(SPI_result))));
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query must be exactly one statement, got %d",
							   list_length(sources)),
						errhint("Pass a single SELECT.")));
	ps = (CachedPlanSource *) linitial(sources);
	foreach (lc, ps->query_list)
	{
		Query *q = lfirst_node(Query, lc);

		if (q->commandType != CMD_SELECT || q->utilityStmt != NULL)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("the training query must be a plain SELECT"),
							errdetail("lipvae only reads data; %s statements are refused.",
									  ps->commandTag == CMDTAG_UNKNOWN ? "other" : GetCommandTagName(ps->commandTag)),
							errhint("Pass a SELECT without INTO.")));
		if (has_row_marks((Node *) q, NULL))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("the training query must not lock rows"),
							errhint("Remove FOR UPDATE / FOR SHARE.")));
		if (q->hasModifyingCTE)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("the training query must not modify data"),
							errhint("Remove the INSERT/UPDATE/DELETE from the WITH clause.")));
	}
	if (ps->resultDesc == NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query returns no columns")));
	*desc = ps->resultDesc;
	return plan;
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
 * describe_columns checks the query's result columns (supported types,
 * unique names, no clash with the privacy columns, limits) and prepares the
 * per-column state.
 */
static TrainColumn *
describe_columns(TupleDesc desc, TrainOptions *o, int *ncols)
{
	TrainColumn *tc;
	int n = 0;
	int i,
		j;
	ListCell *lc;

	for (i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			n++;
	if (n == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query returns no columns")));
	if (n > LV_MAX_COLUMNS)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("the training query returns %d columns, the limit is %d", n, LV_MAX_COLUMNS),
						errhint("Select fewer columns.")));
	tc = palloc0(sizeof(TrainColumn) * n);
	for (i = 0, j = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TrainColumn *t;
		int32 typmod = att->atttypmod;
		Oid base;
		int k;

		if (att->attisdropped)
			continue;
		t = &tc[j++];
		t->col.name = pstrdup(NameStr(att->attname));
		base = getBaseTypeAndTypmod(att->atttypid, &typmod);
		t->col.typid = base;
		t->col.typmod = typmod;
		if (!lipvae_type_class(base, &t->col.tclass))
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							errmsg("column \"%s\" has type %s, which lipvae does not support",
								   t->col.name, format_type_be(att->atttypid)),
							errhint("Cast it in the query to a number, date, timestamp, boolean, text or enum type, e.g. %s::text.",
									quote_identifier(t->col.name))));
		if (strcmp(t->col.name, "epsilon") == 0 || strcmp(t->col.name, "delta") == 0 ||
			strcmp(t->col.name, "scope") == 0)
			ereport(ERROR, (errcode(ERRCODE_DUPLICATE_COLUMN),
							errmsg("column name \"%s\" is reserved for the privacy columns of sampled rows",
								   t->col.name),
							errhint("Rename it in the query, e.g. SELECT %s AS %s_value.",
									quote_identifier(t->col.name), t->col.name)));
		for (k = 0; k < j - 1; k++)
			if (strcmp(tc[k].col.name, t->col.name) == 0)
				ereport(ERROR, (errcode(ERRCODE_DUPLICATE_COLUMN),
								errmsg("the training query returns two columns named \"%s\"", t->col.name),
								errhint("Give every column its own name with AS.")));
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
				HeapTuple et = &list->members[a]->tuple;
				Form_pg_enum e = (Form_pg_enum) GETSTRUCT(et);

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
		else if (t->col.tclass == LVT_TEXT)
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
	}
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

/* raw_category returns the raw id of a text value, adding it if new. */
static int
raw_category(TrainColumn *t, char *s)
{
	CatEntry *e;
	bool found;

	e = hash_search(t->raw, &s, HASH_ENTER, &found);
	if (!found)
	{
		if (t->nraw >= t->raw_cap)
		{
			t->raw_cap *= 2;
			t->raw_labels = repalloc_huge(t->raw_labels, sizeof(char *) * t->raw_cap);
			t->raw_counts = repalloc_huge(t->raw_counts, sizeof(double) * t->raw_cap);
		}
		e->key = pstrdup(s);
		e->id = t->nraw;
		t->raw_labels[t->nraw] = e->key;
		t->raw_counts[t->nraw] = 0;
		t->nraw++;
	}
	t->raw_counts[e->id] += 1;
	return e->id;
}

/*
 * read_rows runs the query through a read-only cursor as the caller and
 * converts every value into a cell (numbers, raw category ids, NULL flags).
 */
static lv_cell *
read_rows(SPIPlanPtr plan, TrainColumn *tc, int ncols, int64 *nrows)
{
	Portal portal;
	int64 n = 0,
		  cap = 1024;
	lv_cell *cells = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(lv_cell) * cap * ncols);
	MemoryContext cxt = CurrentMemoryContext;
	int i;

	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		uint64 k;

		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, FETCH_BATCH);
		if (SPI_processed == 0)
			break;
		MemoryContextSwitchTo(cxt);
		if (n + (int64) SPI_processed > lipvae_max_training_rows)
			ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							errmsg("the training query returns more than %d rows", lipvae_max_training_rows),
							errdetail("A per-record model stores one latent vector per training row."),
							errhint("Sample rows in the query (TABLESAMPLE, LIMIT) or raise lipvae.max_training_rows.")));
		while (n + (int64) SPI_processed > cap)
		{
			cap *= 2;
			cells = repalloc_huge(cells, sizeof(lv_cell) * cap * ncols);
		}
		for (k = 0; k < SPI_processed; k++)
		{
			HeapTuple tup = SPI_tuptable->vals[k];
			TupleDesc desc = SPI_tuptable->tupdesc;
			lv_cell *row = &cells[n * ncols];
			int att = 0;

			for (i = 0; i < ncols; i++)
			{
				TrainColumn *t = &tc[i];
				bool isnull;
				Datum v;

				while (TupleDescAttr(desc, att)->attisdropped)
					att++;
				v = SPI_getbinval(tup, desc, att + 1, &isnull);
				att++;
				row[i].value = 0;
				row[i].cat = 0;
				row[i].isnull = isnull;
				if (isnull)
				{
					if (t->not_null)
						ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
										errmsg("column \"%s\" was declared not_null but contains NULL",
											   t->col.name),
										errhint("Remove it from not_null, or filter NULLs in the query.")));
					continue;
				}
				t->nonnull++;
				switch (t->col.tclass)
				{
					case LVT_BOOL:
						row[i].cat = DatumGetBool(v) ? 1 : 0;
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
						row[i].cat = c;
					}
					break;
					case LVT_TEXT:
					{
						char *s = TextDatumGetCString(v);

						row[i].cat = raw_category(t, s);
						pfree(s);
					}
					break;
					default:
						row[i].value = lipvae_datum_to_double(v, t->col.tclass, t->col.name);
				}
			}
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextSwitchTo(cxt);

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
	*nrows = n;
	return cells;
}

/* check_json_keys refuses keys of an options object that name no column. */
static void
check_json_keys(Jsonb *jb, TrainColumn *tc, int ncols, const char *option)
{
	JsonbIterator *it = JsonbIteratorInit(&jb->root);
	JsonbValue v;
	JsonbIteratorToken tok;
	int depth = 0;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
			depth++;
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
		else if (tok == WJB_KEY && depth == 1)
		{
			char *key = pnstrdup(v.val.string.val, v.val.string.len);
			int i;

			for (i = 0; i < ncols; i++)
				if (strcmp(tc[i].col.name, key) == 0)
					break;
			if (i == ncols)
				bad_option(option, psprintf("The query has no column named \"%s\".", key), NULL);
		}
	}
}

/* array_elem returns element i of a jsonb array value (binary form). */
static JsonbValue *
array_elem(JsonbValue *arr, int i)
{
	return getIthJsonbValueFromContainer(arr->val.binary.data, i);
}

/* is_array says whether a jsonb value is an array container. */
static bool
is_array(JsonbValue *v, int *len)
{
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		return false;
	*len = JsonContainerSize(v->val.binary.data);
	return true;
}

/* setting_context names the option being read in error messages. */
static void
setting_context(void *arg)
{
	const char *where = *(const char **) arg;

	if (where)
		errcontext("reading the %s", where);
}

/*
 * apply_user_settings reads user-given bounds and category lists, checking
 * that each fits its column.
 */
static void
apply_user_settings(TrainColumn *tc, int ncols, TrainOptions *o)
{
	int i;
	ErrorContextCallback errcb;
	const char *where = NULL;

	errcb.callback = setting_context;
	errcb.arg = &where;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (o->bounds)
		check_json_keys(o->bounds, tc, ncols, "bounds");
	if (o->categories)
		check_json_keys(o->categories, tc, ncols, "categories");
	for (i = 0; i < ncols; i++)
	{
		TrainColumn *t = &tc[i];
		JsonbValue *b = o->bounds ? lipvae_jsonb_get(&o->bounds->root, t->col.name) : NULL;
		JsonbValue *c = o->categories ? lipvae_jsonb_get(&o->categories->root, t->col.name) : NULL;
		int len;

		where = psprintf("bounds of column \"%s\"", t->col.name);
		if (b)
		{
			double tlo,
				thi;

			if (!t->numeric)
				bad_option("bounds", psprintf("Column \"%s\" is categorical; give its values in categories instead.", t->col.name), NULL);
			if (!is_array(b, &len) || len != 2)
				bad_option("bounds", psprintf("The bounds of column \"%s\" must be an array [low, high].", t->col.name), NULL);
			t->lo = lipvae_parse_bound(&t->col, o->bounds, array_elem(b, 0), "low");
			t->hi = lipvae_parse_bound(&t->col, o->bounds, array_elem(b, 1), "high");
			if (!(t->lo < t->hi))
				bad_option("bounds", psprintf("The low bound of column \"%s\" must be below its high bound.", t->col.name), NULL);
			lipvae_type_range(t->col.tclass, t->col.typmod, &tlo, &thi);
			t->lo = Max(t->lo, tlo);
			t->hi = Min(t->hi, thi);
			if (t->integer)
			{
				t->lo = floor(t->lo);
				t->hi = ceil(t->hi);
			}
			t->have_bounds = true;
			t->bounds_source = "user";
		}
		where = psprintf("categories of column \"%s\"", t->col.name);
		if (c)
		{
			JsonbValue *vals = c;
			JsonbValue *other = NULL;
			int j;

			if (t->numeric)
				bad_option("categories", psprintf("Column \"%s\" is numeric; give its range in bounds instead.", t->col.name), NULL);
			if (t->col.tclass != LVT_TEXT)
				bad_option("categories", psprintf("The categories of column \"%s\" are fixed by its type.", t->col.name), NULL);
			if (c->type == jbvBinary && JsonContainerIsObject(c->val.binary.data))
			{
				vals = lipvae_jsonb_get(c->val.binary.data, "values");
				other = lipvae_jsonb_get(c->val.binary.data, "other");
				if (!vals)
					bad_option("categories", psprintf("The categories of column \"%s\" need a \"values\" array.", t->col.name), NULL);
			}
			if (!is_array(vals, &len) || len < 1)
				bad_option("categories", psprintf("The categories of column \"%s\" must be a non-empty array of strings.", t->col.name), NULL);
			if (len > LV_MAX_CATEGORIES)
				ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
								errmsg("column \"%s\" has %d categories, the limit is %d",
									   t->col.name, len, LV_MAX_CATEGORIES)));
			t->col.ncat = len;
			t->col.labels = palloc(sizeof(char *) * len);
			for (j = 0; j < len; j++)
			{
				JsonbValue *e = array_elem(vals, j);
				int k;

				if (e->type != jbvString)
					bad_option("categories", psprintf("The categories of column \"%s\" must be strings.", t->col.name), NULL);
				t->col.labels[j] = pnstrdup(e->val.string.val, e->val.string.len);
				(void) lipvae_label_datum(&t->col, t->col.labels[j]); /* fits the type? */
				for (k = 0; k < j; k++)
					if (strcmp(t->col.labels[k], t->col.labels[j]) == 0)
						bad_option("categories", psprintf("Column \"%s\" lists a category twice.", t->col.name), NULL);
			}
			if (other && other->type != jbvNull)
			{
				if (other->type != jbvString)
					bad_option("categories", "\"other\" must be a string.", NULL);
				t->col.other = pnstrdup(other->val.string.val, other->val.string.len);
				(void) lipvae_label_datum(&t->col, t->col.other);
			}
			t->categories_source = "user";
		}
	}
	error_context_stack = errcb.previous;
}

/* cmp_labels orders category labels bytewise (a stable, public order). */
static int
cmp_labels(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * preprocess fixes public bounds and category lists the user did not give:
 * with DP (two-stage noisy histograms for bounds, noisy counts over a
 * threshold for categories), each needing column spending an equal part of
 * preprocess_share * epsilon (and of preprocess_share * delta for category
 * lists); or, for mechanism 'none' only, read off the data (non-private).
 * Records every component in components (a JSON array).
 */
static void
preprocess(TrainColumn *tc, int ncols, lv_cell *cells, int64 n, TrainOptions *o,
		   const uint8 *pkey, double *eps_pre, double *delta_pre,
		   StringInfo components)
{
	int nbounds = 0,
		ncats = 0,
		i;
	double eps_col = 0,
		   delta_col = 0;
	bool first = true;

	for (i = 0; i < ncols; i++)
	{
		if (tc[i].numeric && !tc[i].have_bounds)
			nbounds++;
		if (tc[i].col.tclass == LVT_TEXT && tc[i].col.labels == NULL)
			ncats++;
	}
	*eps_pre = 0;
	*delta_pre = 0;
	if (o->mechanism == LV_MECH_LATENT && nbounds + ncats > 0)
	{
		eps_col = o->share * o->epsilon / (nbounds + ncats);
		if (ncats > 0)
			delta_col = o->share * o->delta / ncats;
	}
	appendStringInfoChar(components, '[');
	for (i = 0; i < ncols; i++)
	{
		TrainColumn *t = &tc[i];
		lv_stream rng;
		int64 r;

		CHECK_FOR_INTERRUPTS();
		lv_stream_init(&rng, pkey, LV_DOMAIN_PREPROCESS, (uint64) i);
		if (t->numeric && !t->have_bounds)
		{
			double *vals = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * t->nonnull);
			int64 m = 0;
			double tlo,
				thi;

			for (r = 0; r < n; r++)
				if (!cells[r * ncols + i].isnull)
					vals[m++] = cells[r * ncols + i].value;
			if (o->mechanism == LV_MECH_LATENT)
			{
				if (lv_dp_bounds(vals, m, eps_col, t->integer, &rng, &t->lo, &t->hi) != 0)
					ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
									errmsg("too few rows to estimate bounds of column \"%s\" privately", t->col.name),
									errdetail("The DP bounds estimate got epsilon %g for this column and found no populated range.", eps_col),
									errhint("Give the column's public bounds: bounds => '{\"%s\": [low, high]}'.", t->col.name)));
				t->bounds_source = "dp";
				t->eps_used = eps_col;
				*eps_pre += eps_col;
			}
			else
			{
				/* non-private model: exact range, labelled as such */
				double mn = vals[0],
					   mx = vals[0];

				for (r = 1; r < m; r++)
				{
					mn = Min(mn, vals[r]);
					mx = Max(mx, vals[r]);
				}
				if (t->integer)
				{
					mn = floor(mn);
					mx = ceil(mx);
				}
				if (!(mx > mn))
					mx = mn + (t->integer ? 1 : Max(fabs(mn) * 1e-9, 1e-9));
				t->lo = mn;
				t->hi = mx;
				t->bounds_source = "data (non-private)";
			}
			lipvae_type_range(t->col.tclass, t->col.typmod, &tlo, &thi);
			t->lo = Max(t->lo, tlo);
			t->hi = Min(t->hi, thi);
			if (!(t->hi > t->lo))
				t->hi = t->lo + 1;
			pfree(vals);
		}
		else if (t->col.tclass == LVT_TEXT && t->col.labels == NULL)
		{
			int *keep = palloc0(sizeof(int) * Max(t->nraw, 1));
			int kept = 0,
				j;

			if (o->mechanism == LV_MECH_LATENT)
			{
				kept = lv_dp_select_categories(t->raw_counts, t->nraw, eps_col, delta_col,
											   LV_MAX_CATEGORIES, &rng, keep);
				t->categories_source = "dp";
				t->eps_used = eps_col;
				t->delta_used = delta_col;
				*eps_pre += eps_col;
				*delta_pre += delta_col;
			}
			else
			{
				for (j = 0; j < t->nraw; j++)
					keep[j] = 1;
				kept = t->nraw;
				if (kept > LV_MAX_CATEGORIES)
					ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
									errmsg("column \"%s\" has %d distinct values, the limit is %d",
										   t->col.name, kept, LV_MAX_CATEGORIES)));
				t->categories_source = "data (non-private)";
			}
			t->col.ncat = kept;
			t->col.labels = palloc(sizeof(char *) * Max(kept, 1));
			kept = 0;
			for (j = 0; j < t->nraw; j++)
				if (keep[j])
					t->col.labels[kept++] = t->raw_labels[j];
			qsort(t->col.labels, kept, sizeof(char *), cmp_labels);
			pfree(keep);
		}
		if (t->eps_used > 0)
		{
			if (!first)
				appendStringInfoString(components, ", ");
			first = false;
			appendStringInfoString(components, "{\"column\": ");
			escape_json(components, t->col.name);
			appendStringInfo(components, ", \"what\": \"%s\", \"mechanism\": \"%s\", \"epsilon\": ",
							 t->numeric ? "bounds" : "categories",
							 t->numeric ? "Laplace power-of-two histogram, then exponential-mechanism quantiles" : "Laplace counts over a threshold");
			json_num(components, t->eps_used);
			appendStringInfoString(components, ", \"delta\": ");
			json_num(components, t->delta_used);
			appendStringInfoChar(components, '}');
		}
		/* map raw ids to list indices (-1 = other) */
		if (t->col.tclass == LVT_TEXT)
		{
			int j;

			t->raw_to_cat = palloc(sizeof(int) * Max(t->nraw, 1));
			for (j = 0; j < t->nraw; j++)
			{
				int lo = 0,
					hi = t->col.ncat - 1;

				t->raw_to_cat[j] = -1;
				while (lo <= hi)
				{
					int mid = (lo + hi) / 2;
					int c = strcmp(t->col.labels[mid], t->raw_labels[j]);

					if (c == 0)
					{
						t->raw_to_cat[j] = mid;
						break;
					}
					if (c < 0)
						lo = mid + 1;
					else
						hi = mid - 1;
				}
			}
			/* user lists keep the user's order: fall back to linear search */
			if (strcmp(t->categories_source, "user") == 0)
				for (j = 0; j < t->nraw; j++)
				{
					int k;

					t->raw_to_cat[j] = -1;
					for (k = 0; k < t->col.ncat; k++)
						if (strcmp(t->col.labels[k], t->raw_labels[j]) == 0)
						{
							t->raw_to_cat[j] = k;
							break;
						}
				}
		}
	}
	appendStringInfoChar(components, ']');
	/* rounding must only overstate the loss */
	if (*eps_pre > 0)
		*eps_pre = lv_round_up(*eps_pre);
	if (*delta_pre > 0)
		*delta_pre = lv_round_up(*delta_pre);
	if (o->mechanism == LV_MECH_LATENT && o->delta > 0 && n > 0 && o->delta > 1.0 / n)
		ereport(WARNING, (errmsg("delta %g is above 1/rows", o->delta),
						  errdetail("A delta above 1/n allows releasing a whole row with probability delta."),
						  errhint("Choose delta far below 1/n.")));
}

/*
 * store_model writes the model into lipvae.models (insert or replace) and
 * creates or keeps its row type, acting as the catalog owner. Returns the
 * row type's oid.
 */
static Oid
store_model(TrainOptions *o, TrainColumn *tc, int ncols, bool exists,
			const char *columns_json, const char *settings_json,
			const char *preprocess_json, const char *training_json,
			lv_model *m, double eps_last, double eps_pre, double delta_pre,
			double diameter, bytea *blob)
{
	LipvaeOwnerState st;
	StringInfoData typedef_sql;
	StringInfoData want;
	char *qname = psprintf("lipvae_types.%s", quote_identifier(o->model));
	Oid typoid;
	int i,
		rc;
	bool keep_type = false;
	Oid argtypes[18];
	Datum args[18];
	char nulls[18];
	Oid owner = GetUserId();

	/* the row type: the query's columns (base types) + privacy columns */
	initStringInfo(&want);
	for (i = 0; i < ncols; i++)
		appendStringInfo(&want, "%s %s, ", quote_identifier(tc[i].col.name),
						 format_type_extended(tc[i].col.typid, tc[i].col.typmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
	appendStringInfo(&want, "epsilon %s, delta %s, scope %s",
					 format_type_extended(FLOAT8OID, -1, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY),
					 format_type_extended(FLOAT8OID, -1, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY),
					 format_type_extended(TEXTOID, -1, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));

	lipvae_become_owner(&st);
	typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							 CStringGetDatum(o->model),
							 ObjectIdGetDatum(get_namespace_oid("lipvae_types", false)));
	if (OidIsValid(typoid))
	{
		/* keep the existing type when it already has exactly these columns */
		TupleDesc td = lookup_rowtype_tupdesc_noerror(typoid, -1, true);

		if (td)
		{
			StringInfoData have;

			initStringInfo(&have);
			for (i = 0; i < td->natts; i++)
			{
				Form_pg_attribute a = TupleDescAttr(td, i);

				if (a->attisdropped)
					continue;
				appendStringInfo(&have, "%s%s %s", have.len ? ", " : "",
								 quote_identifier(NameStr(a->attname)),
								 format_type_extended(a->atttypid, a->atttypmod,
													  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
			}
			ReleaseTupleDesc(td);
			keep_type = strcmp(have.data, want.data) == 0;
		}
		if (!keep_type)
		{
			rc = SPI_execute(psprintf("DROP TYPE %s", qname), false, 0);
			if (rc != SPI_OK_UTILITY)
				elog(ERROR, "lipvae: could not drop the old row type");
		}
	}
	if (!keep_type)
	{
		initStringInfo(&typedef_sql);
		appendStringInfo(&typedef_sql, "CREATE TYPE %s AS (%s)", qname, want.data);
		rc = SPI_execute(typedef_sql.data, false, 0);
		if (rc != SPI_OK_UTILITY)
			elog(ERROR, "lipvae: could not create the row type");
		CommandCounterIncrement();
		typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								 CStringGetDatum(o->model),
								 ObjectIdGetDatum(get_namespace_oid("lipvae_types", false)));
	}

	for (i = 0; i < 18; i++)
		nulls[i] = ' ';
	argtypes[0] = TEXTOID;
	args[0] = CStringGetTextDatum(o->model);
	argtypes[1] = OIDOID;
	args[1] = ObjectIdGetDatum(owner);
	argtypes[2] = TEXTOID;
	args[2] = CStringGetTextDatum(o->query);
	argtypes[3] = TEXTOID;
	args[3] = CStringGetTextDatum(columns_json);
	argtypes[4] = TEXTOID;
	args[4] = CStringGetTextDatum(settings_json);
	argtypes[5] = TEXTOID;
	args[5] = CStringGetTextDatum(o->mechanism == LV_MECH_LATENT ? "latent" : "none");
	argtypes[6] = TEXTOID;
	args[6] = CStringGetTextDatum(o->mechanism == LV_MECH_LATENT ? LIPVAE_SCOPE_LATENT : LIPVAE_SCOPE_NONE);
	argtypes[7] = FLOAT8OID;
	args[7] = Float8GetDatum(eps_last);
	argtypes[8] = FLOAT8OID;
	args[8] = Float8GetDatum(o->delta);
	if (o->mechanism != LV_MECH_LATENT)
		nulls[8] = 'n';
	argtypes[9] = FLOAT8OID;
	args[9] = Float8GetDatum(o->epsilon);
	if (o->mechanism != LV_MECH_LATENT)
		nulls[9] = 'n';
	argtypes[10] = FLOAT8OID;
	args[10] = Float8GetDatum(eps_pre);
	argtypes[11] = FLOAT8OID;
	args[11] = Float8GetDatum(delta_pre);
	argtypes[12] = TEXTOID;
	args[12] = CStringGetTextDatum(preprocess_json);
	argtypes[13] = INT4OID;
	args[13] = Int32GetDatum(m->passes);
	argtypes[14] = INT8OID;
	args[14] = Int64GetDatum(m->nrows);
	argtypes[15] = TEXTOID;
	{
		StringInfoData j;

		initStringInfo(&j);
		appendStringInfoString(&j, "{\"diameter\": ");
		json_num(&j, diameter);
		appendStringInfoString(&j, ", \"noise_sd\": ");
		json_num(&j, m->noise_sd);
		appendStringInfoString(&j, ", \"lipschitz_target\": ");
		json_num(&j, m->lipschitz_target);
		appendStringInfoString(&j, ", \"lipschitz_certified\": ");
		json_num(&j, m->lipschitz_certified);
		appendStringInfoString(&j, ", \"mu_pass\": ");
		json_num(&j, m->mu1);
		appendStringInfo(&j, ", \"row_type\": %u}", typoid);
		args[15] = CStringGetTextDatum(j.data);
	}
	argtypes[16] = TEXTOID;
	args[16] = CStringGetTextDatum(training_json);
	argtypes[17] = BYTEAOID;
	args[17] = PointerGetDatum(blob);

	rc = SPI_execute_with_args(psprintf("%s%s",
										"INSERT INTO lipvae.models AS m (name, owner, query, columns, settings, mechanism, scope, "
										" epsilon, delta, epsilon_requested, epsilon_preprocess, delta_preprocess, preprocess, "
										" passes, nrows, diameter, noise_sd, lipschitz_target, lipschitz_certified, mu_pass, "
										" row_type, training, model) "
										"SELECT $1, $2::pg_catalog.oid::pg_catalog.regrole, $3, $4::pg_catalog.jsonb, $5::pg_catalog.jsonb, $6, $7, "
										" $8, $9, $10, $11, $12, $13::pg_catalog.jsonb, $14, $15, "
										" (j OPERATOR(pg_catalog.->>) 'diameter')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'noise_sd')::pg_catalog.float8, "
										" NULLIF((j OPERATOR(pg_catalog.->>) 'lipschitz_target')::pg_catalog.float8, 0), "
										" (j OPERATOR(pg_catalog.->>) 'lipschitz_certified')::pg_catalog.float8, "
										" NULLIF((j OPERATOR(pg_catalog.->>) 'mu_pass')::pg_catalog.float8, 0), "
										" (j OPERATOR(pg_catalog.->>) 'row_type')::pg_catalog.oid::pg_catalog.regtype, "
										" $17::pg_catalog.jsonb, $18 "
										"FROM (SELECT $16::pg_catalog.jsonb) AS x(j) ",
										!exists ? "" : "ON CONFLICT (name) DO UPDATE SET "
													   " created = pg_catalog.now(), query = excluded.query, columns = excluded.columns, "
													   " settings = excluded.settings, mechanism = excluded.mechanism, scope = excluded.scope, "
													   " epsilon = excluded.epsilon, delta = excluded.delta, "
													   " epsilon_requested = excluded.epsilon_requested, "
													   " epsilon_preprocess = excluded.epsilon_preprocess, "
													   " delta_preprocess = excluded.delta_preprocess, preprocess = excluded.preprocess, "
													   " passes = excluded.passes, nrows = excluded.nrows, diameter = excluded.diameter, "
													   " noise_sd = excluded.noise_sd, lipschitz_target = excluded.lipschitz_target, "
													   " lipschitz_certified = excluded.lipschitz_certified, mu_pass = excluded.mu_pass, "
													   " row_type = excluded.row_type, training = excluded.training, model = excluded.model, "
													   " acl = CASE WHEN excluded.mechanism OPERATOR(pg_catalog.=) 'none' "
													   "        THEN '{}'::pg_catalog.aclitem[] ELSE m.acl END"),
							   18, argtypes, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "lipvae: could not store the model");
	if (!exists && SPI_processed != 1)
		elog(ERROR, "lipvae: could not store the model");
	lipvae_restore_user(&st);
	return typoid;
}
