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
#include "storage/lock.h"
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
#include "train.h"
#include "lv_accountant.h"
#include "lv_dpsgd.h"
#include "lv_marginals.h"
#include "lv_aim.h"
#include "lv_tree.h"
#include "lv_exact.h"
#include "lv_privacy.h"

#define LIPVAE_CENTRAL_EPOCHS 30
#define LIPVAE_CENTRAL_SHARE 0.75     /* central+latent: DP-SGD's share (measured: eval/results/sweeps.md) */
#define LIPVAE_NAME_LOCK 1818849398   /* advisory lock class of model names ("lipv") */
#define LIPVAE_MARGINALS_SHARE 0.5    /* central: the DP marginals (measured: eval/results/sweeps.md) */
#define LIPVAE_TREE_ONE_WAY_SHARE 0.1 /* of the marginals' mu^2: one-way counts */
#define LIPVAE_TREE_SELECT_SHARE 0.1  /* of the marginals' mu^2: the tree's selection */
#define LIPVAE_MARGINAL_DRAWS 4096    /* prior draws that estimate the model's marginals */
#define LIPVAE_AIM_MAX_CELLS 4096     /* marginals 'aim': largest measured table */
#define LIPVAE_AIM_ROUND_STEPS 50     /* Adam steps after each round */
#define LIPVAE_AIM_FINAL_STEPS 2000   /* Adam steps after the last round */
#define LIPVAE_AIM_BATCH 1024         /* prior draws per Adam step */
#define LIPVAE_AIM_LR 0.002           /* Adam's rate (flchain, eps 4: 0.002/0.005/0.01/0.02 tried) */
#define LIPVAE_AIM_BOUND_LAMBDA 0.05  /* the error bounds hold together with probability 0.95 */

PG_FUNCTION_INFO_V1(lipvae_train);

#define LIPVAE_MAX_EPSILON 100.0
#define LIPVAE_EXACT_BINS_MAX 128
#define FETCH_BATCH 10000

typedef struct CatEntry
{
	char *key;
	int id;
} CatEntry;

static void parse_options(FunctionCallInfo fcinfo, TrainOptions *o);
static TrainColumn *describe_columns(TupleDesc desc, TrainOptions *o, int *ncols);
static lv_cell *read_rows(LipvaeQuery *lq, TrainColumn *tc, int ncols,
						  TrainOptions *o, uint64 **units, int64 *nrows);
static void apply_user_settings(TrainColumn *tc, int ncols, TrainOptions *o);
static void existing_model(const char *name, bool replace, bool *exists);
static Oid store_model(TrainOptions *o, PrivacyPlan *pp, TrainColumn *tc,
					   int ncols, bool exists, const char *columns_json,
					   const char *settings_json, const char *preprocess_json,
					   const char *training_json, lv_model *m, int64 n,
					   double diameter, bytea *blob);
static int interrupt_pending(void *arg);
static void describe_plan(TrainOptions *o, PrivacyPlan *pp);
static lv_cell *bound_units(TrainColumn *tc, int ncols, lv_cell *cells,
							uint64 *uh, int64 *n, int k, const uint8 *key,
							int64 **unit_start, int64 *nunits);
static void dp_row_count(TrainOptions *o, PrivacyPlan *pp, int64 n,
						 const uint8 *key, StringInfo components);
static void train_plain(TrainOptions *o, PrivacyPlan *pp, lv_model *m,
						const float *X, const int32 *T, int64 n,
						double diameter, const uint8 *tkey,
						lv_train_result *res);
static void train_dpsgd(TrainOptions *o, PrivacyPlan *pp, lv_model *m,
						const float *X, const int32 *T, int64 n,
						const int64 *unit_start, int64 nunits,
						double diameter, const uint8 *tkey,
						lv_train_result *res);
static double pass_epsilon(const PrivacyPlan *pp, int64 pass);
static void plan_marginals(const TrainOptions *o, PrivacyPlan *pp, int ncols);
static void train_aim(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const int32 *T,
					  int64 n, const uint8 *tkey, lv_train_result *res);
static void append_aim(StringInfo j, const PrivacyPlan *pp, const TrainColumn *tc);
static void append_settings(StringInfo j, const TrainOptions *o, const PrivacyPlan *pp);
static void report_multiplicity(const LipvaeSources *src, double eps, double delta);
static void append_sources(StringInfo s, const LipvaeSources *src, double eps, double delta);

/*
 * lipvae_train is the SQL entry point: it trains and stores a model and
 * returns a jsonb summary of what it did.
 */
Datum
lipvae_train(PG_FUNCTION_ARGS)
{
	TrainOptions o;
	PrivacyPlan pp;
	LipvaeSources sources;
	MemoryContext cxt;
	MemoryContext old;
	LipvaeQuery *lq;
	TrainColumn *tc;
	int ncols;
	int64 n;
	lv_cell *cells;
	uint64 *unit_hash = NULL;
	int64 *unit_start = NULL;
	int64 nunits = 0;
	lv_schema schema;
	lv_model m;
	lv_train_result res;
	float *X;
	float *xrow;
	bool aim;
	int32 *T;
	int d;
	int i;
	int64 r;
	uint8 pkey[LV_KEY_BYTES];
	uint8 tkey[LV_KEY_BYTES];
	double diameter;
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
	memset(&pp, 0, sizeof(pp));
	memset(&m, 0, sizeof(m));
	memset(&res, 0, sizeof(res));

	cxt = AllocSetContextCreate(CurrentMemoryContext, "lipvae training",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	lipvae_use_palloc();
	lipvae_memory_budget(cxt);
	lipvae_set_blas_threads();

	existing_model(o.model, o.replace, &exists);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);

	lq = lipvae_query_parse(o.query);
	describe_plan(&o, &pp);
	lipvae_query_sources(lq->queries, &sources);
	lipvae_query_multiplicity(lq->queries, &sources);
	lipvae_query_plan(lq, &sources);
	/* the requested epsilon first: a lower bound of the final charge */
	lipvae_ledger_check(&sources, pp.spend, o.mechanism == LV_MECH_NONE ? 0 : o.epsilon,
						o.mechanism == LV_MECH_NONE ? 0 : o.delta);
	tc = describe_columns(lq->desc, &o, &ncols);
	apply_user_settings(tc, ncols, &o);
	cells = read_rows(lq, tc, ncols, &o, &unit_hash, &n);

	/* keys: cryptographic, or derived from the test seed */
	if (o.seeded)
	{
		lipvae_seed_key(o.seed, "preprocess", pkey);
		lipvae_seed_key(o.seed, "train", tkey);
		lipvae_seed_key(o.seed, "release", m.key);
	}
	else
	{
		lipvae_strong_key(pkey);
		lipvae_strong_key(tkey);
		lipvae_strong_key(m.key);
	}

	/* user-level privacy: at most unit_rows rows per unit, grouped */
	if (unit_hash)
		cells = bound_units(tc, ncols, cells, unit_hash, &n, o.unit_rows, pkey,
							&unit_start, &nunits);
	pp.units = nunits;

	initStringInfo(&components);
	preprocess(tc, ncols, cells, n, &o, pkey, &pp, &components);
	if (o.mechanism == LV_MECH_CENTRAL)
		dp_row_count(&o, &pp, n, pkey, &components);

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

	/* encode: raw category ids become list indices, other = -1 (the
	 * marginals need only the targets T, not the network inputs X) */
	aim = o.mechanism == LV_MECH_CENTRAL && o.marginals_aim;
	lipvae_check_memory((aim ? 0 : sizeof(float) * (Size) n * d) + sizeof(int32) * (Size) n * ncols);
	X = aim ? NULL : MemoryContextAllocHuge(cxt, sizeof(float) * (Size) n * d);
	xrow = aim ? palloc(sizeof(float) * d) : NULL;
	T = MemoryContextAllocHuge(cxt, sizeof(int32) * (Size) n * ncols);
	for (r = 0; r < n; r++)
	{
		lv_cell *row = &cells[r * ncols];

		for (i = 0; i < ncols; i++)
			if (!tc[i].numeric && !row[i].isnull && tc[i].raw_to_cat)
				row[i].cat = tc[i].raw_to_cat[row[i].cat];
		lv_encode_row(&schema, row, aim ? xrow : &X[r * d], &T[r * ncols]);
		if ((r & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(cells);

	/* calibrate, train and certify */
	m.schema = schema;
	m.mechanism = o.mechanism;
	m.passes = lv_mech_per_record(o.mechanism) ? o.passes : 0;
	if (aim)
		train_aim(&o, &pp, &m, T, n, tkey, &res);
	else if (o.mechanism == LV_MECH_CENTRAL || o.mechanism == LV_MECH_COMPOSED)
		train_dpsgd(&o, &pp, &m, X, T, n, unit_start, nunits, diameter, tkey, &res);
	else
		train_plain(&o, &pp, &m, X, T, n, diameter, tkey, &res);

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
	append_settings(&settings_json, &o, &pp);

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

	/* the exact charge, then the model and the ledger entry together */
	if (o.mechanism != LV_MECH_NONE)
		report_multiplicity(&sources, pp.eps_ledger, pp.delta_ledger);
	lipvae_ledger_check(&sources, pp.spend, pp.eps_ledger, pp.delta_ledger);
	store_model(&o, &pp, tc, ncols, exists, cols_json.data, settings_json.data,
				components.data, training_json.data, &m, n, diameter, blob);
	lipvae_note_trained(o.model);
	lipvae_ledger_record(&sources, o.model, pp.spend, pp.mech_name,
						 o.mechanism == LV_MECH_NONE ? NULL : "replace-one",
						 pp.eps_ledger, pp.delta_ledger);

	/* the summary returned to the caller (the owner) */
	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"model\": ");
	escape_json(&summary, o.model);
	appendStringInfo(&summary, ", \"rows\": " INT64_FORMAT ", \"columns\": %d, \"epochs\": %d, \"final_loss\": ",
					 n, ncols, res.epochs_run);
	json_num(&summary, res.final_loss);
	appendStringInfo(&summary, ", \"mechanism\": \"%s\", \"scope\": ", pp.mech_name);
	escape_json(&summary, pp.scope);
	appendStringInfoString(&summary, ", \"epsilon\": ");
	if (o.mechanism != LV_MECH_NONE)
	{
		json_num(&summary, pp.eps_total);
		appendStringInfoString(&summary, ", \"delta\": ");
		json_num(&summary, pp.delta_total);
		appendStringInfoString(&summary, ", \"epsilon_preprocess\": ");
		json_num(&summary, pp.eps_pre);
	}
	else
		appendStringInfoString(&summary, "\"Infinity\", \"delta\": null");
	if (o.mechanism == LV_MECH_CENTRAL || o.mechanism == LV_MECH_COMPOSED)
	{
		appendStringInfoString(&summary, ", \"epsilon_dpsgd\": ");
		json_num(&summary, pp.eps_sgd);
		appendStringInfoString(&summary, ", \"noise_multiplier\": ");
		json_num(&summary, pp.sigma);
		appendStringInfoString(&summary, ", \"sampling_rate\": ");
		json_num(&summary, pp.q);
		appendStringInfo(&summary, ", \"steps\": " INT64_FORMAT, pp.steps);
		if (o.unit)
			appendStringInfo(&summary, ", \"units\": " INT64_FORMAT, nunits);
		if (pp.aim)
		{
			appendStringInfo(&summary, ", \"marginals\": \"aim\", \"measurements\": %d, \"rho\": ",
							 pp.aim->nmeasured);
			json_num(&summary, pp.aim_rho);
		}
	}
	if (lv_mech_per_record(o.mechanism))
	{
		appendStringInfoString(&summary, ", \"epsilon_first_pass\": ");
		json_num(&summary, pass_epsilon(&pp, 1));
		appendStringInfo(&summary, ", \"passes\": %d, \"max_rows\": " INT64_FORMAT,
						 o.passes, (int64) o.passes * n);
	}
	if (o.mechanism != LV_MECH_NONE)
	{
		appendStringInfoString(&summary, ", \"epsilon_ledger\": ");
		json_num(&summary, pp.eps_ledger);
		appendStringInfoString(&summary, ", \"delta_ledger\": ");
		json_num(&summary, pp.delta_ledger);
		append_sources(&summary, &sources, pp.eps_ledger, pp.delta_ledger);
	}
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

/*
 * fmt_up6 prints a privacy figure to 6 significant digits, rounded up (a
 * message never understates it; the ledger keeps the exact value).
 */
static char *
fmt_up6(double x)
{
	double step;

	if (!(x > 0) || !isfinite(x))
		return psprintf("%g", x);
	step = pow(10.0, floor(log10(x)) - 5);
	return psprintf("%.6g", ceil(x * (1 + 1e-12) / step) * step);
}

/*
 * report_multiplicity tells the trainer which relations the query repeats:
 * a NOTICE for a multiplicity above 1 (group privacy is charged), a
 * WARNING when no guarantee is left for a relation's rows (an unbounded
 * multiplicity, or a group delta of 1).
 */
static void
report_multiplicity(const LipvaeSources *src, double eps, double delta)
{
	int i;

	for (i = 0; i < src->nrels; i++)
	{
		double e,
			d;

		lipvae_ledger_charge(src, i, eps, delta, &e, &d);
		if (isinf(e))
			ereport(WARNING, (errmsg("the rows of relation %s keep no privacy guarantee from this training",
									 lipvae_relation_name(src->relids[i])),
							  src->mult[i] == LIPVAE_MULT_UNBOUNDED
								  ? errdetail("One of its rows can change unboundedly many rows of the training query (a join not on a unique key of it, a subquery or window function over it, a set-returning function); the ledger charges it epsilon Infinity.")
								  : errdetail("One of its rows can change up to %d rows of the training query, too many for group privacy at this epsilon; the ledger charges it epsilon Infinity.", src->mult[i]),
							  errhint("Read each of its rows once: join it on a unique key of it, and keep subqueries, window functions and set-returning functions away from it.")));
		else if (src->mult[i] > 1)
			ereport(NOTICE, (errmsg("relation %s is charged group privacy of %d query rows: epsilon %s, delta %s",
									lipvae_relation_name(src->relids[i]), src->mult[i],
									fmt_up6(e), fmt_up6(d)),
							 errdetail("One of its rows can change up to %d rows of the training query.", src->mult[i])));
	}
}

/* append_sources adds each relation's multiplicity and charge to a summary. */
static void
append_sources(StringInfo s, const LipvaeSources *src, double eps, double delta)
{
	int i;

	appendStringInfoString(s, ", \"sources\": [");
	for (i = 0; i < src->nrels; i++)
	{
		double e,
			d;

		lipvae_ledger_charge(src, i, eps, delta, &e, &d);
		appendStringInfoString(s, i > 0 ? ", {\"relation\": " : "{\"relation\": ");
		escape_json(s, lipvae_relation_name(src->relids[i]));
		if (src->mult[i] == LIPVAE_MULT_UNBOUNDED)
			appendStringInfoString(s, ", \"multiplicity\": null, \"epsilon_ledger\": \"Infinity\"");
		else
		{
			appendStringInfo(s, ", \"multiplicity\": %d, \"epsilon_ledger\": ", src->mult[i]);
			json_num(s, e);
			appendStringInfoString(s, ", \"delta_ledger\": ");
			json_num(s, d);
		}
		appendStringInfoChar(s, '}');
	}
	appendStringInfoChar(s, ']');
}

/*
 * describe_plan names the mechanism, its scope and relation, and the ledger
 * total it counts in.
 */
static void
describe_plan(TrainOptions *o, PrivacyPlan *pp)
{
	switch (o->mechanism)
	{
		case LV_MECH_CENTRAL:
			pp->mech_name = "central";
			pp->relation = o->unit ? "add/remove-one unit" : "add/remove-one";
			pp->scope = o->unit ? psprintf("central, add/remove-one unit (%s, at most %d rows each)",
										   o->unit, o->unit_rows)
								: pstrdup(LIPVAE_SCOPE_CENTRAL);
			pp->spend = LIPVAE_SPEND_CENTRAL;
			break;
		case LV_MECH_COMPOSED:
			pp->mech_name = "central+latent";
			pp->relation = "replace-one";
			pp->scope = pstrdup(LIPVAE_SCOPE_COMPOSED);
			pp->spend = LIPVAE_SPEND_CENTRAL;
			break;
		case LV_MECH_LATENT:
			pp->mech_name = "latent";
			pp->relation = "replace-one";
			pp->scope = pstrdup(LIPVAE_SCOPE_LATENT);
			pp->spend = LIPVAE_SPEND_PER_RECORD;
			break;
		default:
			pp->mech_name = "none";
			pp->relation = NULL;
			pp->scope = pstrdup(LIPVAE_SCOPE_NONE);
			pp->spend = LIPVAE_SPEND_NONE;
	}
	/*
	 * A seeded model's noise and release key are derived from its 64-bit
	 * seed: whoever knows or guesses the seed removes the noise. Its rows
	 * say so (and lipvae_grant refuses it).
	 */
	if (o->seeded && o->mechanism != LV_MECH_NONE)
		pp->scope = psprintf("%s%s", pp->scope, LIPVAE_SCOPE_SEEDED);
}

/* A row's place in the unit bounding: its unit, a keyed tag, its index. */
typedef struct UnitRow
{
	uint64 unit;
	uint64 tag;
	int64 row;
} UnitRow;

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
static lv_cell *
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

/*
 * dp_row_count spends a small part of the central budget on a Laplace
 * count of the rows: DP-SGD's sampling rate q = batch / n_hat and its
 * normaliser must not depend on the exact n (which stays hidden).
 */
static void
dp_row_count(TrainOptions *o, PrivacyPlan *pp, int64 n, const uint8 *key,
			 StringInfo components)
{
	lv_stream s;
	int sens = o->unit ? o->unit_rows : 1; /* rows one unit moves */
	double e = lv_round_up(LIPVAE_COUNT_SHARE * o->epsilon);

	lv_stream_init(&s, key, LV_DOMAIN_PREPROCESS, UINT64CONST(0x636f756e74)); /* "count" */
	pp->eps_count = e;
	pp->count_scale = sens / e;
	{
		/* exact discrete Laplace of scale >= sens/e: (sens/scale)-DP <= e */
		int64 x = 0;

		lipvae_check_noise(sens / e, "the DP row count");
		lipvae_core_error(lv_discrete_laplace_b(&s, sens / e, &x), "drawing the DP row count");
		pp->n_hat = (double) Max(1, n + x);
	}
	pp->eps_pre = lv_round_up(pp->eps_pre + e);
	/* components is a JSON array: append before its closing bracket */
	Assert(components->len > 0 && components->data[components->len - 1] == ']');
	components->len--;
	components->data[components->len] = '\0';
	appendStringInfo(components, "%s{\"what\": \"row count\", \"mechanism\": \"Laplace count\", \"epsilon\": ",
					 components->len > 1 ? ", " : "");
	json_num(components, e);
	appendStringInfoString(components, ", \"delta\": 0}]");
}

/* pass_epsilon returns the guarantee of the rows up to pass (per-record). */
static double
pass_epsilon(const PrivacyPlan *pp, int64 pass)
{
	if (pp->sigma > 0)
		return lipvae_composed_pass_epsilon(pp->eps_pre, pp->delta_rest, pp->q,
											pp->sigma, pp->steps, pp->mu1, pass);
	return lipvae_pass_epsilon(pp->eps_pre, pp->delta_total, pp->delta_pre, pp->mu1, pass);
}

/*
 * train_plain trains without DP-SGD: the per-record latent mechanism
 * (calibrated so that the row of the last pass meets the target) or the
 * non-private model.
 */
static void
train_plain(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
			const int32 *T, int64 n, double diameter, const uint8 *tkey,
			lv_train_result *res)
{
	lv_train_config cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.epochs = o->epochs > 0 ? o->epochs : Min(1000, Max(5, (int) ceil(3000.0 * o->batch / (double) n)));
	cfg.batch = o->batch;
	cfg.latent = o->latent;
	cfg.hidden = o->hidden;
	cfg.lr = o->lr;
	cfg.decoder_layer_bound = 4.0;
	cfg.interrupted = interrupt_pending;
	cfg.interrupted_arg = NULL;
	memcpy(cfg.train_key, tkey, LV_KEY_BYTES);
	pp->epochs = cfg.epochs;
	if (o->mechanism == LV_MECH_LATENT)
	{
		double mu_total = lv_gdp_mu(o->epsilon - pp->eps_pre, o->delta - pp->delta_pre);

		if (!(mu_total > 0))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot calibrate the mechanism for epsilon %g and delta %g",
								   o->epsilon - pp->eps_pre, o->delta - pp->delta_pre)));
		/* mu of one pass, lowered a hair so rounding never overshoots */
		cfg.lipschitz_target = mu_total / sqrt((double) o->passes) / diameter * (1 - 1e-9);
	}
	else
		cfg.lipschitz_target = 0;

	rc = lv_model_train(m, X, T, n, &cfg, res);
	lipvae_core_error(rc, "training");

	if (o->mechanism == LV_MECH_LATENT)
	{
		if (!(m->lipschitz_certified <= cfg.lipschitz_target))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("certified Lipschitz bound %g exceeds the target %g",
								   m->lipschitz_certified, cfg.lipschitz_target)));
		m->mu1 = lv_round_up(m->lipschitz_certified * diameter / m->noise_sd);
		pp->mu1 = m->mu1;
		pp->delta_total = o->delta;
		pp->eps_total = pass_epsilon(pp, o->passes);
		pp->eps_release = pp->eps_total;
		pp->delta_release = o->delta - pp->delta_pre;
		pp->eps_ledger = pp->eps_total;
		pp->delta_ledger = pp->delta_total;
	}
	else
	{
		m->mu1 = 0;
		pp->eps_total = INFINITY;
	}
}

/*
 * composed_mu1 returns the largest per-pass GDP parameter mu (to a relative
 * 1e-9, from below) such that DP-SGD (q, sigma, steps; replace-one) composed
 * in RDP with passes releases of a mu-GDP mechanism stays within eps at
 * delta. NaN when even mu -> 0 does not.
 */
static double
composed_mu1(const PrivacyPlan *pp, int passes, double eps, double delta)
{
	double lo = 0,
		   hi = 64;
	int it;

	if (!(lipvae_composed_pass_epsilon(0, delta, pp->q, pp->sigma, pp->steps, 1e-12, passes) <= eps))
		return NAN;
	for (it = 0; it < 200 && hi - lo > 1e-9 * hi; it++)
	{
		double mid = 0.5 * (lo + hi);

		if (lipvae_composed_pass_epsilon(0, delta, pp->q, pp->sigma, pp->steps, mid, passes) <= eps)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * train_dpsgd calibrates and runs DP-SGD (mechanisms central and
 * central+latent): the sampling rate from the batch size and the DP row
 * count (central) or the public n (central+latent: replace-one, where n is
 * public anyway), the noise multiplier from the accountant, then for
 * central+latent the encoder bound and the per-record release calibrated in
 * RDP together with DP-SGD.
 */
static void
train_dpsgd(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
			const int32 *T, int64 n, const int64 *unit_start, int64 nunits,
			double diameter, const uint8 *tkey, lv_train_result *res)
{
	lv_dpsgd_config cfg;
	lv_dpsgd_report rep;
	bool composed = o->mechanism == LV_MECH_COMPOSED;
	int relation = composed ? LV_REL_REPLACE_ONE : LV_REL_ADD_REMOVE;
	double eps_avail = o->epsilon - pp->eps_pre;
	double delta_avail = o->delta - pp->delta_pre;
	double eps_sgd_target;
	double target = 0;
	int rc;

	if (!(eps_avail > 0.0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("preprocessing leaves no budget for training"),
						errdetail("Bounds, category lists and the row count spent epsilon %g of %g.",
								  pp->eps_pre, o->epsilon),
						errhint("Give public bounds => and categories =>, or lower preprocess_share.")));
	memset(&cfg, 0, sizeof(cfg));
	pp->epochs = o->epochs > 0 ? o->epochs : LIPVAE_CENTRAL_EPOCHS;
	cfg.epochs = pp->epochs;
	if (composed)
		pp->q = Min(1.0, (double) o->batch / (double) n);
	else
		pp->q = Min(1.0, (double) o->batch / pp->n_hat);
	/* units are sampled: the expected number of rows stays about batch */
	pp->steps = lv_dpsgd_steps(pp->epochs, pp->q);
	if (pp->steps < 1)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("too many DP-SGD steps for %d epochs at batch size %d", pp->epochs, o->batch),
						errhint("Use fewer epochs or a larger batch_size.")));
	eps_sgd_target = composed ? o->central_share * eps_avail : (1 - o->marginals_share) * eps_avail;
	pp->delta_sgd = delta_avail;
	pp->sigma = lv_dpsgd_sigma(pp->q, pp->steps, eps_sgd_target, delta_avail, relation);
	if (!(pp->sigma > 0) || !isfinite(pp->sigma))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot calibrate DP-SGD for epsilon %g and delta %g", eps_sgd_target, delta_avail),
						errdetail("No noise multiplier up to 1e6 reaches it with %d epochs at sampling rate %g.",
								  pp->epochs, pp->q),
						errhint("Raise epsilon or delta, or train fewer epochs.")));
	pp->clip = o->clip;
	pp->normalizer = pp->q * (composed ? (double) n : pp->n_hat);

	if (o->marginals_share > 0)
	{
		/* the marginals get what DP-SGD leaves, composed in RDP */
		double lo = lv_dpsgd_gaussian_mu(pp->q, pp->sigma, pp->steps, LV_REL_ADD_REMOVE,
										 eps_avail, delta_avail);

		pp->mu_marginals = lo;
		if (!(lo > 0))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot calibrate the marginal correction for epsilon %g", eps_avail),
							errhint("Lower marginals_share, or set it to 0.")));
		plan_marginals(o, pp, m->schema.ncols);
	}
	if (composed)
	{
		pp->delta_rest = delta_avail;
		pp->mu1 = composed_mu1(pp, o->passes, eps_avail, delta_avail);
		if (!(pp->mu1 > 0))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("cannot calibrate the per-record release for epsilon %g", eps_avail),
							errhint("Lower central_share or raise epsilon.")));
		target = pp->mu1 / diameter * (1 - 1e-9); /* posterior sd 1 */
	}

	cfg.sample_rate = pp->q;
	cfg.clip = o->clip;
	cfg.noise_multiplier = pp->sigma;
	cfg.latent = o->latent;
	cfg.hidden = o->hidden;
	cfg.lr = o->lr;
	cfg.ema = o->ema;
	cfg.encoder_layer_bound = composed ? cbrt(target) * (1 - 1e-6) : o->layer_bound;
	if (composed && o->layer_bound > 0)
		cfg.encoder_layer_bound = Min(cfg.encoder_layer_bound, o->layer_bound);
	cfg.decoder_layer_bound = o->layer_bound;
	memcpy(cfg.train_key, tkey, LV_KEY_BYTES);
	cfg.interrupted = interrupt_pending;
	cfg.interrupted_arg = NULL;
	cfg.unit_start = unit_start;
	cfg.nunits = nunits;
	cfg.normalizer = pp->normalizer;
	cfg.max_unit_rows = o->unit ? o->unit_rows : 0;
	cfg.clip_mode = o->clip_mode ? LV_CLIP_DERIVED : LV_CLIP_NORM;

	rc = lv_model_train_dpsgd_report(m, X, T, n, &cfg, res, &rep);
	lipvae_core_error(rc, "DP-SGD training");
	pp->clip_mean = rep.clip_mean;
	pp->clip_max = rep.clip_max;
	pp->bound_steps = rep.bound_steps;

	pp->eps_sgd = lv_dpsgd_epsilon(pp->q, pp->sigma, pp->steps, delta_avail, relation);
	if (composed)
	{
		m->lipschitz_target = target;
		rc = lv_model_attach_means(m, X, n, interrupt_pending, NULL);
		lipvae_core_error(rc, "computing the encoder means");
		if (!(m->lipschitz_certified <= target))
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("certified Lipschitz bound %g exceeds the target %g",
								   m->lipschitz_certified, target)));
		m->mu1 = lv_round_up(m->lipschitz_certified * diameter / m->noise_sd);
		pp->mu1 = m->mu1;
		pp->delta_total = o->delta;
		pp->eps_total = pass_epsilon(pp, o->passes);
		pp->eps_release = lipvae_pass_epsilon(0, delta_avail, 0, pp->mu1, o->passes);
		pp->delta_release = delta_avail;
		pp->eps_ledger = pp->eps_total;
		pp->delta_ledger = pp->delta_total;
	}
	else
	{
		if (pp->mu_marginals > 0)
		{
			/* noisy one-way marginals, then the decoder's output biases */
			int w = lv_marginal_width(&m->schema);
			double *counts = palloc(sizeof(double) * w);
			lv_stream ns;

			lipvae_check_noise(pp->marginals_sd, "the one-way marginals");
			if (pp->tree_rounds > 0)
				lipvae_check_noise(pp->pairs_sd, "the tree's pair marginals");
			lv_marginal_counts(&m->schema, T, n, counts);
			lv_stream_init(&ns, tkey, LV_DOMAIN_TRAIN, LV_MARGINALS_STREAM + 1);
			lipvae_core_error(lv_marginal_noise(counts, w, pp->marginals_sd, &ns), "noising the one-way marginals");
			rc = lv_model_fit_marginals(m, counts, LIPVAE_MARGINAL_DRAWS, 30, tkey);
			lipvae_core_error(rc, "fitting the marginals");
			pfree(counts);
			if (pp->tree_rounds > 0)
			{
				/* the pairs the decoder gets most wrong, measured and fitted */
				rc = lv_model_fit_tree(m, T, n, pp->n_hat, pp->tree_eps_round,
									   o->unit ? o->unit_rows : 1, pp->pairs_sd, tkey,
									   &pp->tree_edges, interrupt_pending, NULL);
				lipvae_core_error(rc, "fitting the tree of pair marginals");
			}
		}
		m->mu1 = 0;
		pp->delta_total = o->delta;
		pp->eps_total = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, pp->q, pp->sigma, pp->steps,
										   LV_REL_ADD_REMOVE, pp->mu_marginals);
		/* the ledger's relation: replace-one (the accountant at 2C, the counts at sqrt 2) */
		pp->eps_ledger = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, pp->q, pp->sigma / 2, pp->steps,
											LV_REL_ADD_REMOVE, pp->mu_marginals_ledger);
		pp->delta_ledger = o->delta;
	}
	if (!(pp->eps_total <= o->epsilon * (1 + 1e-9)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("the calibrated guarantee %.17g exceeds the requested epsilon %g",
							   pp->eps_total, o->epsilon)));
}

/*
 * train_aim fits a central model by select-measure-generate (lv_aim.h):
 * the whole budget left after preprocessing, as zCDP rho = mu^2 / 2 with
 * mu the Gaussian that fills (epsilon - eps_pre, delta - delta_pre) in the
 * accountant's RDP conversion, goes to AIM's rounds; no DP-SGD runs. The
 * guarantee is recomputed from the rho the rounds report (never above the
 * budget): eps = eps_pre + eps_RDP(mu = sqrt(2 (rho + rho_domain))),
 * rho_domain the joint domain release's (train_domain.c), which took its
 * share of the same rho before the marginals. Under replace-one
 * (the ledger) each Gaussian's rho doubles (L2 sensitivity sqrt 2) and each
 * selection's quadruples (its score moves by 2).
 */
static void
train_aim(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const int32 *T,
		  int64 n, const uint8 *tkey, lv_train_result *res)
{
	double eps_avail = o->epsilon - pp->eps_pre;
	double delta_avail = o->delta - pp->delta_pre;
	lv_aim_config c;
	double mu;
	int rc;

	if (!(eps_avail > 0.0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("preprocessing leaves no budget for the marginals"),
						errdetail("Bounds, category lists and the row count spent epsilon %g of %g.",
								  pp->eps_pre, o->epsilon),
						errhint("Give public bounds => and categories =>, or lower preprocess_share.")));
	mu = lv_dpsgd_gaussian_mu(0, 0, 0, LV_REL_ADD_REMOVE, eps_avail, delta_avail);
	if (!(mu > 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot calibrate the marginals for epsilon %g and delta %g", eps_avail, delta_avail),
						errhint("Raise epsilon or delta.")));
	memset(&c, 0, sizeof(c));
	c.rho = mu * mu / 2 * (1 - 1e-9) - pp->rho_domain; /* the domain's share is spent */
	c.sens = o->unit ? o->unit_rows : 1;
	c.n_hat = pp->n_hat;
	c.max_k = 2;
	c.max_cells = LIPVAE_AIM_MAX_CELLS;
	c.latent = o->latent;
	c.hidden = o->hidden;
	c.fit.steps = LIPVAE_AIM_ROUND_STEPS;
	c.fit.batch = LIPVAE_AIM_BATCH;
	c.fit.lr = o->lr_given ? o->lr : LIPVAE_AIM_LR;
	c.fit.layer_bound = o->layer_bound;
	c.fit.interrupted = interrupt_pending;
	c.final_steps = LIPVAE_AIM_FINAL_STEPS;
	memcpy(c.key, tkey, LV_KEY_BYTES);
	lipvae_check_noise(lv_aim_first_sd(&c, m->schema.ncols), "the marginals");
	pp->aim = palloc0(sizeof(lv_aim_result));
	rc = lv_model_fit_aim(m, T, n, &c, pp->aim);
	lipvae_core_error(rc, "fitting the model to the DP marginals");
	m->lipschitz_certified = lv_model_certify(m);

	pp->aim_rho = lv_aim_rho(pp->aim->ms, pp->aim->nmeasured, c.sens);
	pp->aim_rho_ledger = lv_round_up(2 * pp->aim->rho_measure + 4 * pp->aim->rho_select);
	pp->mu_marginals = lv_round_up(sqrt(2 * lv_round_up(pp->aim_rho + pp->rho_domain)));
	pp->mu_marginals_ledger = lv_round_up(sqrt(2 * lv_round_up(pp->aim_rho_ledger + 2 * pp->rho_domain)));
	pp->delta_sgd = delta_avail;
	pp->epochs = 0;
	pp->eps_total = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, 0, 0, 0, LV_REL_ADD_REMOVE, pp->mu_marginals);
	pp->delta_total = o->delta;
	pp->eps_ledger = lipvae_rdp_epsilon(pp->eps_pre, delta_avail, 0, 0, 0, LV_REL_ADD_REMOVE,
										pp->mu_marginals_ledger);
	pp->delta_ledger = o->delta;
	res->final_loss = pp->aim->final_loss;
	if (pp->domain_tau > 0 && !(pp->eps_ledger <= domain_eps_max(o)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("the replace-one guarantee %.17g exceeds what the category threshold covers (%g)",
							   pp->eps_ledger, domain_eps_max(o))));
	if (!(pp->eps_total <= o->epsilon * (1 + 1e-9)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("the calibrated guarantee %.17g exceeds the requested epsilon %g",
							   pp->eps_total, o->epsilon)));
}

/*
 * append_aim appends the marginals' privacy parameters to the catalog's
 * JSON: the budget, and every measured clique with its noise and its
 * selection's epsilon, from which an auditor recomputes rho and epsilon.
 */
static void
append_aim(StringInfo j, const PrivacyPlan *pp, const TrainColumn *tc)
{
	int i,
		c;

	appendStringInfoString(j, ", \"dpsgd\": {\"method\": \"aim\", \"rho\": ");
	json_num(j, pp->aim_rho);
	appendStringInfoString(j, ", \"rho_replace_one\": ");
	json_num(j, pp->aim_rho_ledger);
	appendStringInfoString(j, ", \"rho_domain\": ");
	json_num(j, pp->rho_domain);
	appendStringInfoString(j, ", \"mu\": ");
	json_num(j, pp->mu_marginals);
	appendStringInfoString(j, ", \"n_hat\": ");
	json_num(j, pp->n_hat);
	appendStringInfo(j, ", \"relation\": \"%s\", \"delta\": ", pp->relation);
	json_num(j, pp->delta_sgd);
	appendStringInfoString(j, ", \"count_scale\": ");
	json_num(j, pp->count_scale);
	appendStringInfoString(j, ", \"bound_confidence\": ");
	json_num(j, 1 - LIPVAE_AIM_BOUND_LAMBDA);
	appendStringInfo(j, ", \"bound_draws\": %d", LV_AIM_BOUND_DRAWS);
	appendStringInfo(j, ", \"candidates\": %d, \"measurements\": [", pp->aim->candidates);
	for (i = 0; i < pp->aim->nmeasured; i++)
	{
		const lv_measurement *ms = &pp->aim->ms[i];

		appendStringInfoString(j, i ? ", {\"columns\": [" : "{\"columns\": [");
		for (c = 0; c < ms->q.k; c++)
		{
			if (c)
				appendStringInfoString(j, ", ");
			escape_json(j, tc[ms->q.cols[c]].col.name);
		}
		appendStringInfo(j, "], \"cells\": " INT64_FORMAT ", \"noise_sd\": ", ms->q.cells);
		json_num(j, ms->sd);
		appendStringInfoString(j, ", \"epsilon_select\": ");
		json_num(j, ms->eps_select);
		appendStringInfoString(j, ", \"fit_l1\": ");
		json_num(j, ms->fit_l1);
		appendStringInfoString(j, ", \"fit_tvd\": ");
		json_num(j, ms->fit_l1 / (2 * pp->n_hat));
		appendStringInfoString(j, ", \"tvd_bound\": ");
		json_num(j, lv_aim_tvd_bound(ms->sd, ms->q.cells, ms->fit_l1, pp->n_hat, pp->count_scale,
									 pp->aim->nmeasured, LIPVAE_AIM_BOUND_LAMBDA));
		appendStringInfoChar(j, '}');
	}
	appendStringInfoString(j, "]}");
}

/*
 * append_settings writes the catalog's settings object: the values the
 * training actually used (a marginals => 'aim' model lists its fit's
 * settings, not DP-SGD's defaults, which it never ran).
 */
static void
append_settings(StringInfo j, const TrainOptions *o, const PrivacyPlan *pp)
{
	bool sgd = (o->mechanism == LV_MECH_CENTRAL || o->mechanism == LV_MECH_COMPOSED) && !o->marginals_aim;

	appendStringInfo(j, "{\"latent\": %d, \"hidden\": %d, \"bins\": %d, \"preprocess_share\": ",
					 o->latent, o->hidden, o->bins);
	json_num(j, o->share);
	if (o->marginals_aim)
	{
		appendStringInfo(j, ", \"marginals\": \"aim\", \"fit_batch\": %d, \"fit_steps_per_round\": %d, "
							"\"fit_final_steps\": %d, \"max_cells\": %d, \"learning_rate\": ",
						 LIPVAE_AIM_BATCH, LIPVAE_AIM_ROUND_STEPS, LIPVAE_AIM_FINAL_STEPS, LIPVAE_AIM_MAX_CELLS);
		json_num(j, o->lr_given ? o->lr : LIPVAE_AIM_LR);
		appendStringInfoString(j, ", \"layer_bound\": ");
		json_num(j, o->layer_bound);
	}
	else
	{
		appendStringInfo(j, ", \"epochs\": %d, \"batch_size\": %d, \"learning_rate\": ", pp->epochs, o->batch);
		json_num(j, o->lr);
	}
	if (sgd)
	{
		appendStringInfoString(j, ", \"clip\": ");
		json_num(j, o->clip);
		appendStringInfo(j, ", \"clipping\": \"%s\", \"layer_bound\": ", o->clip_mode ? "lipschitz" : "norm");
		json_num(j, o->layer_bound);
		appendStringInfoString(j, ", \"ema\": ");
		json_num(j, o->ema);
		if (o->mechanism == LV_MECH_COMPOSED)
		{
			appendStringInfoString(j, ", \"central_share\": ");
			json_num(j, o->central_share);
		}
	}
	else if (!o->marginals_aim)
		appendStringInfoString(j, ", \"decoder_layer_bound\": 4");
	if (o->unit && (sgd || o->marginals_aim))
	{
		appendStringInfoString(j, ", \"unit\": ");
		escape_json(j, o->unit);
		appendStringInfo(j, ", \"unit_rows\": %d", o->unit_rows);
	}
	appendStringInfo(j, ", \"seeded\": %s}", o->seeded ? "true" : "false");
}

/*
 * plan_marginals splits the marginals' GDP parameter mu (the Gaussian
 * mechanisms and the exponential mechanism compose in RDP, where a
 * mechanism of zCDP rho counts as mu^2 = 2 rho): with the tree, 10% of
 * mu^2 to the one-way counts, 10% to the ncols - 1 selection rounds (each
 * eps_round-DP, rho = eps_round^2 / 8: Cesar & Rogers 2021, so
 * mu^2 = eps_round^2 / 4) and 80% to the pair counts (the split measured
 * best on gss_cat, eval/results/sweeps.md); without it, all to the
 * one-way counts. Sensitivities per row (k per unit): one-way counts
 * sqrt(ncols), pair counts sqrt(edges) <= sqrt(ncols - 1), selection
 * score 1. Under replace-one the Gaussian parts double their mu^2 and the
 * selection quadruples it (its score moves by 2).
 */
static void
plan_marginals(const TrainOptions *o, PrivacyPlan *pp, int ncols)
{
	double mu2 = pp->mu_marginals * pp->mu_marginals;
	double k = o->unit ? o->unit_rows : 1;

	pp->tree_rounds = 0;
	pp->tree_eps_round = 0;
	pp->mu_pairs = 0;
	pp->pairs_sd = 0;
	pp->mu_one_way = pp->mu_marginals;
	if (o->marginals_tree && ncols >= 2 && ncols <= LV_TREE_MAX_COLUMNS)
	{
		pp->tree_rounds = ncols - 1;
		pp->mu_one_way = sqrt(mu2 * LIPVAE_TREE_ONE_WAY_SHARE);
		pp->mu_pairs = sqrt(mu2 * (1 - LIPVAE_TREE_ONE_WAY_SHARE - LIPVAE_TREE_SELECT_SHARE));
		pp->tree_eps_round = sqrt(4 * (mu2 * LIPVAE_TREE_SELECT_SHARE) / pp->tree_rounds);
		pp->pairs_sd = k * sqrt((double) pp->tree_rounds) / pp->mu_pairs;
	}
	pp->marginals_sd = k * sqrt((double) ncols) / pp->mu_one_way;
	pp->mu_marginals_ledger =
		sqrt(2 * pp->mu_one_way * pp->mu_one_way + 2 * pp->mu_pairs * pp->mu_pairs +
			 pp->tree_rounds * pp->tree_eps_round * pp->tree_eps_round);
}

/* json_num appends a finite double as a JSON number, else a string. */
void
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

/*
 * arg_null is true when argument i is NULL or absent (a declaration with
 * fewer arguments passes fewer).
 */
static bool
arg_null(FunctionCallInfo fcinfo, int i)
{
	return i >= PG_NARGS() || PG_ARGISNULL(i);
}

/* float_arg returns a float8 argument, def when NULL or absent. */
static double
float_arg(FunctionCallInfo fcinfo, int i, double def)
{
	return arg_null(fcinfo, i) ? def : PG_GETARG_FLOAT8(i);
}

/* int_arg returns an integer argument, its default when NULL. */
static int
int_arg(FunctionCallInfo fcinfo, int i, int def, int lo, int hi, const char *name)
{
	int v;

	if (arg_null(fcinfo, i))
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

	o->mechanism = LV_MECH_CENTRAL;
	if (!PG_ARGISNULL(5))
	{
		char *mech = text_to_cstring(PG_GETARG_TEXT_PP(5));

		if (strcmp(mech, "central") == 0)
			o->mechanism = LV_MECH_CENTRAL;
		else if (strcmp(mech, "central+latent") == 0)
			o->mechanism = LV_MECH_COMPOSED;
		else if (strcmp(mech, "latent") == 0)
			o->mechanism = LV_MECH_LATENT;
		else if (strcmp(mech, "none") == 0)
			o->mechanism = LV_MECH_NONE;
		else
			bad_option("mechanism", psprintf("Unknown mechanism \"%s\".", mech),
					   "Use 'central' (DP-SGD, the default), 'central+latent' (DP-SGD and the per-record latent release), 'latent' (per-record only) or 'none' (non-private, owner only).");
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
	{
		bool central = o->mechanism == LV_MECH_CENTRAL || o->mechanism == LV_MECH_COMPOSED;

		/* defaults that depend on the mechanism (measured: README) */
		o->epochs = int_arg(fcinfo, 9, 0, 1, 100000, "epochs");
		o->batch = int_arg(fcinfo, 10, central ? 512 : 256, 1, 65536, "batch_size");
		o->latent = int_arg(fcinfo, 11, 8, 1, 256, "latent");
		o->hidden = int_arg(fcinfo, 12, 128, 1, 4096, "hidden");
		o->lr = float_arg(fcinfo, 13, central ? 0.005 : 0.002);
		o->lr_given = !arg_null(fcinfo, 13);
		if (!isfinite(o->lr) || o->lr <= 0 || o->lr > 1)
			bad_option("learning_rate", "learning_rate must lie in (0, 1].", NULL);
		o->bins = int_arg(fcinfo, 14, 32, 2, LV_MAX_BINS, "bins");
		o->share = float_arg(fcinfo, 15, central ? 0.2 : 0.5);
		if (!isfinite(o->share) || o->share <= 0 || o->share > 0.9)
			bad_option("preprocess_share", "preprocess_share must lie in (0, 0.9].",
					   "It is the share of epsilon (and delta) spent on bounds and category lists the user did not give.");
		o->seeded = !PG_ARGISNULL(16);
		o->seed = o->seeded ? PG_GETARG_INT64(16) : 0;
		o->replace = PG_ARGISNULL(17) ? false : PG_GETARG_BOOL(17);

		o->unit = arg_null(fcinfo, 18) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(18));
		if (o->unit && o->mechanism != LV_MECH_CENTRAL)
			bad_option("unit", "A unit column (user-level privacy) needs mechanism 'central'.",
					   "The per-record release protects rows, not persons: train with mechanism => 'central'.");
		o->unit_rows = int_arg(fcinfo, 19, 4, 1, 1000, "unit_rows");
		if (!arg_null(fcinfo, 19) && !o->unit)
			bad_option("unit_rows", "unit_rows bounds the rows of each unit, and no unit column was given.",
					   "Name the column that identifies a person: unit => 'patient_id'.");
		o->clip = float_arg(fcinfo, 20, 1.0);
		if (!isfinite(o->clip) || o->clip <= 0 || o->clip > 1e6)
			bad_option("clip", "clip must lie in (0, 1e6].", "It is DP-SGD's per-example gradient norm bound C.");
		o->clip_mode = 0;
		if (!arg_null(fcinfo, 21))
		{
			char *cm = text_to_cstring(PG_GETARG_TEXT_PP(21));

			if (strcmp(cm, "norm") == 0)
				o->clip_mode = 0;
			else if (strcmp(cm, "lipschitz") == 0)
				o->clip_mode = 1;
			else
				bad_option("clipping", psprintf("Unknown clipping \"%s\".", cm),
						   "Use 'norm' (clip every gradient to norm clip) or 'lipschitz' (clip at the bound derived from the networks' Lipschitz constants, never above clip).");
		}
		if (!arg_null(fcinfo, 22) && o->mechanism != LV_MECH_COMPOSED)
			bad_option("central_share", "central_share splits the budget of mechanism 'central+latent' only.", NULL);
		o->central_share = float_arg(fcinfo, 22, LIPVAE_CENTRAL_SHARE);
		if (!isfinite(o->central_share) || o->central_share <= 0 || o->central_share >= 1)
			bad_option("central_share", "central_share must lie in (0, 1).",
					   "With mechanism 'central+latent' it is the share of the budget DP-SGD gets alone.");
		o->layer_bound = float_arg(fcinfo, 23, 0);
		if (!isfinite(o->layer_bound) || o->layer_bound < 0 || o->layer_bound > 1e3)
			bad_option("layer_bound", "layer_bound must lie in [0, 1000].",
					   "0 (the default) leaves the DP-SGD layers unconstrained.");
		o->marginals_share = float_arg(fcinfo, 24, o->mechanism == LV_MECH_CENTRAL ? LIPVAE_MARGINALS_SHARE : 0);
		if (!isfinite(o->marginals_share) || o->marginals_share < 0 || o->marginals_share >= 1)
			bad_option("marginals_share", "marginals_share must lie in [0, 1).",
					   "It is the share of the budget spent on DP one-way marginals that correct the decoder (0: none).");
		if (o->marginals_share > 0 && o->mechanism != LV_MECH_CENTRAL)
			bad_option("marginals_share", "The marginal correction is part of mechanism 'central' only.", NULL);
		o->marginals_tree = o->marginals_share > 0;
		if (!arg_null(fcinfo, 25))
		{
			char *mm = text_to_cstring(PG_GETARG_TEXT_PP(25));

			if (o->marginals_share <= 0)
				bad_option("marginals", "marginals chooses how the DP marginals correct the decoder, and none are measured.",
						   o->mechanism == LV_MECH_CENTRAL ? "Set marginals_share above 0, or leave marginals out."
														   : "The marginal correction is part of mechanism 'central' only.");
			if (strcmp(mm, "tree") == 0)
				o->marginals_tree = true;
			else if (strcmp(mm, "aim") == 0)
			{
				o->marginals_tree = false;
				o->marginals_aim = true;
				if (!arg_null(fcinfo, 9) || !arg_null(fcinfo, 10) || !arg_null(fcinfo, 20) ||
					!arg_null(fcinfo, 21) || !arg_null(fcinfo, 24))
					bad_option("marginals", "marginals => 'aim' fits the decoder to DP marginals alone: it runs no DP-SGD and spends the whole budget on the marginals.",
							   "Leave out epochs, batch_size, clip, clipping and marginals_share.");
			}
			else if (strcmp(mm, "one-way") == 0)
				o->marginals_tree = false;
			else
				bad_option("marginals", psprintf("Unknown marginals \"%s\".", mm),
						   "Use 'tree' (one-way marginals and a DP tree of pair marginals, the default), 'one-way', or 'aim' (select-measure-generate: no DP-SGD).");
		}
		o->ema = 0.99;
		if (!central && (!arg_null(fcinfo, 20) || !arg_null(fcinfo, 21) || !arg_null(fcinfo, 23)))
			bad_option("mechanism", "clip, clipping and layer_bound set DP-SGD, which only mechanisms 'central' and 'central+latent' use.", NULL);
		if (o->clip_mode == 1 && o->layer_bound <= 0)
			bad_option("clipping", "clipping => 'lipschitz' derives the gradient bound from the layers' spectral bounds.",
					   "Give layer_bound => ..., for example 4.");
	}
}

/*
 * lock_model_name takes a transaction-level exclusive lock on a model name:
 * an advisory lock tag (database, LIPVAE_NAME_LOCK, hash of the name) whose
 * fourth field, 3, no SQL function can take (pg_advisory_lock uses 1 and
 * 2), so that no other role can hold a name's lock and block its training.
 */
static void
lock_model_name(const char *name)
{
	LOCKTAG tag;
	uint32 h = DatumGetUInt32(hash_any((const unsigned char *) name, (int) strlen(name)));

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, LIPVAE_NAME_LOCK, h, 3);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
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
	 * Two trainings of one name run one after the other from here: a
	 * transaction-level lock on the name (lock_model_name), so the second
	 * waits for the first's commit or rollback before
	 * it trains, then sees its model (READ COMMITTED) and is refused with
	 * "already exists" rather than a unique violation after training.
	 */
	lock_model_name(name);
	/*
	 * Not read-only: a fresh snapshot sees models stored earlier in the same
	 * statement (and, after the lock, those committed meanwhile), and FOR
	 * UPDATE serialises two replacements of one model.
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
	tc = palloc0(sizeof(TrainColumn) * n);
	for (i = 0, j = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TrainColumn *t;
		int32 typmod = att->atttypmod;
		Oid base;
		int k;

		if (att->attisdropped || i == o->unit_att)
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
 * read_rows runs the checked plan of the query as the caller and converts
 * every value into a cell (numbers, raw category ids, NULL flags).
 */
static lv_cell *
read_rows(LipvaeQuery *lq, TrainColumn *tc, int ncols, TrainOptions *o,
		  uint64 **units, int64 *nrows)
{
	int64 n = 0,
		  cap = 1024;
	lv_cell *cells = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(lv_cell) * cap * ncols);
	MemoryContext cxt = CurrentMemoryContext;
	int i;
	uint64 *uh = NULL;
	Oid unit_out = InvalidOid;

	if (o->unit_att >= 0)
	{
		bool isvarlena;

		uh = MemoryContextAllocHuge(cxt, sizeof(uint64) * cap);
		getTypeOutputInfo(o->unit_type, &unit_out, &isvarlena);
	}
	lipvae_query_open(lq);
	for (;;)
	{
		uint64 k;
		HeapTuple *tups;
		uint64 nt = lipvae_query_fetch(lq, FETCH_BATCH, &tups);

		if (nt == 0)
			break;
		MemoryContextSwitchTo(cxt);
		if (n + (int64) nt > lipvae_max_training_rows)
			ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							errmsg("the training query returns more than %d rows", lipvae_max_training_rows),
							errdetail("A per-record model stores one latent vector per training row."),
							errhint("Sample rows in the query (TABLESAMPLE, LIMIT) or raise lipvae.max_training_rows.")));
		while (n + (int64) nt > cap)
		{
			cap *= 2;
			lipvae_check_memory(sizeof(lv_cell) * cap * ncols);
			cells = repalloc_huge(cells, sizeof(lv_cell) * cap * ncols);
			if (uh)
				uh = repalloc_huge(uh, sizeof(uint64) * cap);
		}
		for (k = 0; k < nt; k++)
		{
			HeapTuple tup = tups[k];
			TupleDesc desc = lq->desc;
			lv_cell *row = &cells[n * ncols];
			int att = 0;

			if (uh)
			{
				bool isnull;
				Datum v = SPI_getbinval(tup, desc, o->unit_att + 1, &isnull);
				char *s;

				if (isnull)
					ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
									errmsg("unit column \"%s\" contains NULL", o->unit),
									errhint("Every row must name its unit (person); filter or coalesce NULLs in the query.")));
				/* a 64-bit hash of the text form: a collision merges two units */
				s = OidOutputFunctionCall(unit_out, v);
				uh[n] = hash_bytes_extended((const unsigned char *) s, strlen(s), 0x6c697076u);
				pfree(s);
			}
			for (i = 0; i < ncols; i++)
			{
				TrainColumn *t = &tc[i];
				bool isnull;
				Datum v;

				while (TupleDescAttr(desc, att)->attisdropped || att == o->unit_att)
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

						/* char(n): trailing blanks are padding, not part of the label */
						if (t->col.typid == BPCHAROID)
							s[bpchartruelen(s, strlen(s))] = '\0';
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
	}
	lipvae_query_close(lq);
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
	*units = uh;
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
				/* the integers inside: a sampled value never leaves the bounds */
				t->lo = ceil(t->lo);
				t->hi = floor(t->hi);
				if (!(t->lo < t->hi))
					bad_option("bounds", psprintf("The bounds of integer column \"%s\" must contain at least two integers.", t->col.name), NULL);
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

/*
 * store_model writes the model into lipvae.models (insert or replace) and
 * creates or keeps its row type, acting as the catalog owner. Returns the
 * row type's oid.
 */
static Oid
store_model(TrainOptions *o, PrivacyPlan *pp, TrainColumn *tc, int ncols,
			bool exists, const char *columns_json, const char *settings_json,
			const char *preprocess_json, const char *training_json,
			lv_model *m, int64 n, double diameter, bytea *blob)
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
	/*
	 * Only a replaced model's own row type is kept or dropped: a type of the
	 * same name that is not a composite type is another model's array type
	 * (model "_m" beside model "m"), which CREATE TYPE moves out of the way.
	 */
	if (OidIsValid(typoid) && (!exists || get_typtype(typoid) != TYPTYPE_COMPOSITE))
		typoid = InvalidOid;
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
			lipvae_drop_row_type(o->model);
	}
	if (!keep_type)
	{
		initStringInfo(&typedef_sql);
		appendStringInfo(&typedef_sql, "CREATE TYPE %s AS (%s)", qname, want.data);
		rc = SPI_execute(typedef_sql.data, false, 0);
		if (rc != SPI_OK_UTILITY)
			elog(ERROR, "lipvae: could not create the row type");
		CommandCounterIncrement();
		lipvae_protect_row_type(o->model, owner);
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
	args[5] = CStringGetTextDatum(pp->mech_name);
	argtypes[6] = TEXTOID;
	args[6] = CStringGetTextDatum(pp->scope);
	argtypes[7] = FLOAT8OID;
	args[7] = Float8GetDatum(pp->eps_total);
	argtypes[8] = FLOAT8OID;
	args[8] = Float8GetDatum(pp->delta_total);
	if (o->mechanism == LV_MECH_NONE)
		nulls[8] = 'n';
	argtypes[9] = FLOAT8OID;
	args[9] = Float8GetDatum(o->epsilon);
	if (o->mechanism == LV_MECH_NONE)
		nulls[9] = 'n';
	argtypes[10] = FLOAT8OID;
	args[10] = Float8GetDatum(pp->eps_pre);
	argtypes[11] = FLOAT8OID;
	args[11] = Float8GetDatum(pp->delta_pre);
	argtypes[12] = TEXTOID;
	args[12] = CStringGetTextDatum(preprocess_json);
	argtypes[13] = INT4OID;
	args[13] = Int32GetDatum(m->passes);
	if (!lv_mech_per_record(o->mechanism))
		nulls[13] = 'n';
	/* n stays out of the catalog of a central model */
	argtypes[14] = INT8OID;
	args[14] = Int64GetDatum(n);
	if (o->mechanism == LV_MECH_CENTRAL)
		nulls[14] = 'n';
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
		appendStringInfo(&j, ", \"row_type\": %u, \"relation\": ", typoid);
		if (pp->relation)
			escape_json(&j, pp->relation);
		else
			appendStringInfoString(&j, "null");
		if (pp->aim)
		{
			appendStringInfoString(&j, ", \"epsilon_dpsgd\": 0, \"delta_dpsgd\": ");
			json_num(&j, pp->delta_sgd);
			append_aim(&j, pp, tc);
		}
		else if (o->mechanism == LV_MECH_CENTRAL || o->mechanism == LV_MECH_COMPOSED)
		{
			appendStringInfoString(&j, ", \"epsilon_dpsgd\": ");
			json_num(&j, pp->eps_sgd);
			appendStringInfoString(&j, ", \"delta_dpsgd\": ");
			json_num(&j, pp->delta_sgd);
			appendStringInfoString(&j, ", \"dpsgd\": {\"sampling_rate\": ");
			json_num(&j, pp->q);
			appendStringInfoString(&j, ", \"noise_multiplier\": ");
			json_num(&j, pp->sigma);
			appendStringInfo(&j, ", \"steps\": " INT64_FORMAT ", \"epochs\": %d, \"clip\": ",
							 pp->steps, pp->epochs);
			json_num(&j, pp->clip);
			appendStringInfoString(&j, ", \"normalizer\": ");
			json_num(&j, pp->normalizer);
			appendStringInfo(&j, ", \"clipping\": \"%s\", \"clip_mean\": ", o->clip_mode ? "lipschitz" : "norm");
			json_num(&j, pp->clip_mean);
			appendStringInfoString(&j, ", \"clip_max\": ");
			json_num(&j, pp->clip_max);
			appendStringInfo(&j, ", \"bound_steps\": " INT64_FORMAT, pp->bound_steps);
			if (pp->mu_marginals > 0)
			{
				appendStringInfoString(&j, ", \"marginals_mu\": ");
				json_num(&j, pp->mu_marginals);
				appendStringInfoString(&j, ", \"marginals_noise_sd\": ");
				json_num(&j, pp->marginals_sd);
				appendStringInfoString(&j, ", \"marginals_one_way_mu\": ");
				json_num(&j, pp->mu_one_way);
				appendStringInfoString(&j, ", \"marginals_mu_replace_one\": ");
				json_num(&j, pp->mu_marginals_ledger);
				appendStringInfo(&j, ", \"tree_rounds\": %d, \"tree_edges\": %d, \"tree_epsilon_round\": ",
								 pp->tree_rounds, pp->tree_edges);
				json_num(&j, pp->tree_eps_round);
				appendStringInfoString(&j, ", \"tree_pairs_mu\": ");
				json_num(&j, pp->mu_pairs);
				appendStringInfoString(&j, ", \"tree_pairs_noise_sd\": ");
				json_num(&j, pp->pairs_sd);
			}
			appendStringInfo(&j, ", \"relation\": \"%s\", \"delta\": ", pp->relation);
			json_num(&j, pp->delta_sgd);
			if (o->unit)
			{
				appendStringInfoString(&j, ", \"unit\": ");
				escape_json(&j, o->unit);
				appendStringInfo(&j, ", \"unit_rows\": %d, \"units\": " INT64_FORMAT,
								 o->unit_rows, pp->units);
			}
			appendStringInfoChar(&j, '}');
		}
		if (lv_mech_per_record(o->mechanism))
		{
			appendStringInfoString(&j, ", \"epsilon_release\": ");
			json_num(&j, pp->eps_release);
			appendStringInfoString(&j, ", \"delta_release\": ");
			json_num(&j, pp->delta_release);
		}
		if (o->mechanism != LV_MECH_NONE)
		{
			appendStringInfoString(&j, ", \"epsilon_ledger\": ");
			json_num(&j, pp->eps_ledger);
			appendStringInfoString(&j, ", \"delta_ledger\": ");
			json_num(&j, pp->delta_ledger);
		}
		appendStringInfoChar(&j, '}');
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
										" row_type, training, model, relation, epsilon_dpsgd, delta_dpsgd, epsilon_release, "
										" delta_release, epsilon_ledger, delta_ledger, dpsgd) "
										"SELECT $1, $2::pg_catalog.oid::pg_catalog.regrole, $3, $4::pg_catalog.jsonb, $5::pg_catalog.jsonb, $6, $7, "
										" $8, $9, $10, $11, $12, $13::pg_catalog.jsonb, $14, $15, "
										" (j OPERATOR(pg_catalog.->>) 'diameter')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'noise_sd')::pg_catalog.float8, "
										" NULLIF((j OPERATOR(pg_catalog.->>) 'lipschitz_target')::pg_catalog.float8, 0), "
										" (j OPERATOR(pg_catalog.->>) 'lipschitz_certified')::pg_catalog.float8, "
										" NULLIF((j OPERATOR(pg_catalog.->>) 'mu_pass')::pg_catalog.float8, 0), "
										" (j OPERATOR(pg_catalog.->>) 'row_type')::pg_catalog.oid::pg_catalog.regtype, "
										" $17::pg_catalog.jsonb, $18, j OPERATOR(pg_catalog.->>) 'relation', "
										" (j OPERATOR(pg_catalog.->>) 'epsilon_dpsgd')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'delta_dpsgd')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'epsilon_release')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'delta_release')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'epsilon_ledger')::pg_catalog.float8, "
										" (j OPERATOR(pg_catalog.->>) 'delta_ledger')::pg_catalog.float8, "
										" j OPERATOR(pg_catalog.->) 'dpsgd' "
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
													   " relation = excluded.relation, epsilon_dpsgd = excluded.epsilon_dpsgd, "
													   " delta_dpsgd = excluded.delta_dpsgd, epsilon_release = excluded.epsilon_release, "
													   " delta_release = excluded.delta_release, epsilon_ledger = excluded.epsilon_ledger, "
													   " delta_ledger = excluded.delta_ledger, dpsgd = excluded.dpsgd, "
													   " acl = CASE WHEN excluded.mechanism OPERATOR(pg_catalog.=) 'none' "
													   "          OR coalesce((excluded.settings OPERATOR(pg_catalog.->>) 'seeded')::pg_catalog.bool, false) "
													   "          OR (excluded.mechanism OPERATOR(pg_catalog.=) 'latent' "
													   "              AND m.mechanism OPERATOR(pg_catalog.<>) 'latent') "
													   "        THEN '{}'::pg_catalog.aclitem[] ELSE m.acl END"),
							   18, argtypes, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "lipvae: could not store the model");
	if (!exists && SPI_processed != 1)
		elog(ERROR, "lipvae: could not store the model");
	lipvae_restore_user(&st);
	return typoid;
}
