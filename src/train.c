/*
 * train.c - lipvae_train: check the arguments and the query, run the query
 * through SPI as the caller, fix public bounds and category lists (from the
 * user, the type, or a DP mechanism that spends a stated share of the
 * budget), calibrate the per-record mechanism, train, certify and store.
 */
#include "postgres.h"

#include <math.h>

#include "common/shortest_dec.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "train.h"

PG_FUNCTION_INFO_V1(lipvae_train);

/* make_keys draws the stage keys: cryptographic, or from the test seed. */
static void
make_keys(const TrainOptions *o, uint8 *pkey, uint8 *tkey, uint8 *rkey)
{
	if (o->seeded)
	{
		lipvae_seed_key(o->seed, "preprocess", pkey);
		lipvae_seed_key(o->seed, "train", tkey);
		lipvae_seed_key(o->seed, "release", rkey);
	}
	else
	{
		lipvae_strong_key(pkey);
		lipvae_strong_key(tkey);
		lipvae_strong_key(rkey);
	}
}

/*
 * build_schema turns the columns' fixed domains into the encoding schema.
 * An integer column gets one bin per integer when they fit in
 * LIPVAE_EXACT_BINS_MAX (marginals 'aim': in bins, since every cell of a
 * measured table carries its own noise), else `bins` equal-width bins
 * (marginals 'aim': each decoding uniformly to one of its integers).
 */
void
build_schema(const TrainColumn *tc, int ncols, const TrainOptions *o, lv_schema *schema)
{
	bool aim = o->mechanism == LV_MECH_CENTRAL && o->marginals_aim;
	int i;

	schema->ncols = ncols;
	schema->cols = palloc0(sizeof(lv_column) * ncols);
	for (i = 0; i < ncols; i++)
	{
		lv_column *c = &schema->cols[i];

		if (tc[i].numeric)
		{
			double range = tc[i].hi - tc[i].lo;

			c->kind = LV_COL_NUMERIC;
			c->nullable = !tc[i].not_null;
			c->integer = tc[i].integer;
			c->lo = tc[i].lo;
			c->hi = tc[i].hi;
			if (tc[i].integer && range + 1 <= (aim ? o->bins : LIPVAE_EXACT_BINS_MAX))
			{
				c->exact_bins = 1;
				c->nbins = (int) range + 1;
			}
			else
			{
				c->nbins = o->bins;
				c->uniform_ints = tc[i].integer && aim;
			}
		}
		else
		{
			c->kind = LV_COL_CATEGORICAL;
			c->nullable = !tc[i].not_null;
			c->ncat = tc[i].col.ncat;
		}
	}
}

/*
 * encode_rows encodes every row (raw category ids become list indices,
 * other = -1) into the network inputs X and the targets T; frees cells.
 */
static void
encode_rows(const TrainColumn *tc, int ncols, lv_cell *cells, int64 n,
			const lv_schema *schema, float **Xp, int32 **Tp)
{
	int d = lv_schema_input_dim(schema);
	float *X;
	int32 *T;
	int64 r;
	int i;

	lipvae_check_memory(sizeof(float) * (Size) n * d + sizeof(int32) * (Size) n * ncols);
	X = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(float) * (Size) n * d);
	T = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int32) * (Size) n * ncols);
	for (r = 0; r < n; r++)
	{
		lv_cell *row = &cells[r * ncols];

		for (i = 0; i < ncols; i++)
			if (!tc[i].numeric && !row[i].isnull && tc[i].raw_to_cat)
				row[i].cat = tc[i].raw_to_cat[row[i].cat];
		lv_encode_row(schema, row, &X[r * d], &T[r * ncols]);
		if ((r & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	pfree(cells);
	*Xp = X;
	*Tp = T;
}

/*
 * fit_model calibrates, trains and certifies m by its mechanism's stage
 * (marginals => 'aim': from the counts in w; else from the rows X, T).
 */
static void
fit_model(TrainOptions *o, PrivacyPlan *pp, lv_model *m, const float *X,
		  const int32 *T, int64 n, const int64 *unit_start, int64 nunits,
		  const lv_aim_workload *w, const uint8 *tkey, lv_train_result *res)
{
	double diameter = lv_schema_diameter(&m->schema);

	if (o->mechanism == LV_MECH_CENTRAL && o->marginals_aim)
		train_aim(o, pp, m, w, tkey, res);
	else if (o->mechanism == LV_MECH_CENTRAL || o->mechanism == LV_MECH_COMPOSED)
		train_dpsgd(o, pp, m, X, T, n, unit_start, nunits, diameter, tkey, res);
	else
		train_plain(o, pp, m, X, T, n, diameter, tkey, res);
}

/* serialize_model returns m as the catalog's bytea (*len: its payload). */
static bytea *
serialize_model(const lv_model *m, size_t *len)
{
	uint8 *bytes;
	bytea *blob;

	lipvae_core_error(lv_model_serialize(m, &bytes, len), "serializing the model");
	blob = palloc(VARHDRSZ + *len);
	SET_VARSIZE(blob, VARHDRSZ + *len);
	memcpy(VARDATA(blob), bytes, *len);
	return blob;
}

/* columns_json describes the columns for the catalog (a JSON array). */
static char *
columns_json(const TrainColumn *tc, int ncols, const lv_schema *schema)
{
	StringInfoData cols_json;
	int i;

	initStringInfo(&cols_json);
	appendStringInfoChar(&cols_json, '[');
	for (i = 0; i < ncols; i++)
	{
		const TrainColumn *t = &tc[i];
		lv_column *c = &schema->cols[i];
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
			appendStringInfo(&cols_json, "], \"bounds_source\": \"%s\", \"integer\": %s, \"bins\": %d, \"exact_bins\": %s%s",
							 t->bounds_source, c->integer ? "true" : "false",
							 c->nbins, c->exact_bins ? "true" : "false",
							 c->uniform_ints ? ", \"uniform_integers\": true" : "");
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

	return cols_json.data;
}

/* training_json describes the fit for the catalog. */
static char *
training_json_of(const lv_train_result *res, double seconds, size_t blob_len)
{
	StringInfoData training_json;

	initStringInfo(&training_json);
	appendStringInfo(&training_json, "{\"epochs_run\": %d, \"final_loss\": ", res->epochs_run);
	json_num(&training_json, res->final_loss);
	appendStringInfoString(&training_json, ", \"final_reconstruction\": ");
	json_num(&training_json, res->final_recon);
	appendStringInfoString(&training_json, ", \"final_kl\": ");
	json_num(&training_json, res->final_kl);
	appendStringInfoString(&training_json, ", \"seconds\": ");
	json_num(&training_json, seconds);
	appendStringInfo(&training_json, ", \"model_bytes\": %zu}", blob_len);

	return training_json.data;
}

/* summary_json is what lipvae_train returns to the caller (the owner). */
static char *
summary_json(const TrainOptions *o, const PrivacyPlan *pp, const LipvaeSources *sources,
			 const lv_model *m, const lv_train_result *res, int64 n, int ncols,
			 int64 nunits, double seconds)
{
	StringInfoData summary;

	initStringInfo(&summary);
	appendStringInfoString(&summary, "{\"model\": ");
	escape_json(&summary, o->model);
	appendStringInfo(&summary, ", \"rows\": " INT64_FORMAT ", \"columns\": %d, \"epochs\": %d, \"final_loss\": ",
					 n, ncols, res->epochs_run);
	json_num(&summary, res->final_loss);
	appendStringInfo(&summary, ", \"mechanism\": \"%s\", \"scope\": ", pp->mech_name);
	escape_json(&summary, pp->scope);
	appendStringInfoString(&summary, ", \"epsilon\": ");
	if (o->mechanism != LV_MECH_NONE)
	{
		json_num(&summary, pp->eps_total);
		appendStringInfoString(&summary, ", \"delta\": ");
		json_num(&summary, pp->delta_total);
		appendStringInfoString(&summary, ", \"epsilon_preprocess\": ");
		json_num(&summary, pp->eps_pre);
	}
	else
		appendStringInfoString(&summary, "\"Infinity\", \"delta\": null");
	if (o->mechanism == LV_MECH_CENTRAL || o->mechanism == LV_MECH_COMPOSED)
	{
		appendStringInfoString(&summary, ", \"epsilon_dpsgd\": ");
		json_num(&summary, pp->eps_sgd);
		appendStringInfoString(&summary, ", \"noise_multiplier\": ");
		json_num(&summary, pp->sigma);
		appendStringInfoString(&summary, ", \"sampling_rate\": ");
		json_num(&summary, pp->q);
		appendStringInfo(&summary, ", \"steps\": " INT64_FORMAT, pp->steps);
		if (o->unit)
			appendStringInfo(&summary, ", \"units\": " INT64_FORMAT, nunits);
		if (pp->aim)
		{
			appendStringInfo(&summary, ", \"marginals\": \"aim\", \"measurements\": %d, \"rho\": ",
							 pp->aim->nmeasured);
			json_num(&summary, pp->aim_rho);
			appendStringInfoString(&summary, ", \"measure_seconds\": ");
			json_num(&summary, pp->measure_seconds);
			appendStringInfoString(&summary, ", \"count_seconds\": ");
			json_num(&summary, pp->count_seconds);
		}
	}
	if (lv_mech_per_record(o->mechanism))
	{
		appendStringInfoString(&summary, ", \"epsilon_first_pass\": ");
		json_num(&summary, pass_epsilon(pp, 1));
		appendStringInfo(&summary, ", \"passes\": %d, \"max_rows\": " INT64_FORMAT,
						 o->passes, (int64) o->passes * n);
	}
	if (o->mechanism != LV_MECH_NONE)
	{
		appendStringInfoString(&summary, ", \"epsilon_ledger\": ");
		json_num(&summary, pp->eps_ledger);
		appendStringInfoString(&summary, ", \"delta_ledger\": ");
		json_num(&summary, pp->delta_ledger);
		append_sources(&summary, sources, pp->eps_ledger, pp->delta_ledger);
	}
	appendStringInfoString(&summary, ", \"lipschitz_certified\": ");
	json_num(&summary, m->lipschitz_certified);
	appendStringInfoString(&summary, ", \"row_type\": ");
	escape_json(&summary, psprintf("lipvae_types.%s", quote_identifier(o->model)));
	appendStringInfoString(&summary, ", \"seconds\": ");
	json_num(&summary, seconds);
	appendStringInfoChar(&summary, '}');

	return summary.data;
}

/*
 * lipvae_train is the SQL entry point: it trains and stores a model and
 * returns a jsonb summary of what it did. The stages, in order: options,
 * plan, source (query checked, sources and their multiplicity, rows),
 * domain, DP row count, encode, fit, store (catalog and ledger together).
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
	lv_aim_workload work;
	uint64 *unit_hash = NULL;
	int64 *unit_start = NULL;
	int64 nunits = 0;
	lv_model m;
	lv_train_result res;
	float *X = NULL;
	int32 *T = NULL;
	bool aim;
	uint8 pkey[LV_KEY_BYTES];
	uint8 tkey[LV_KEY_BYTES];
	StringInfoData components,
		settings_json;
	bool exists;
	instr_time t0,
		t1;
	size_t blob_len;
	bytea *blob;
	char *summary;
	Jsonb *result;

	INSTR_TIME_SET_CURRENT(t0);
	parse_options(fcinfo, &o);
	aim = o.mechanism == LV_MECH_CENTRAL && o.marginals_aim;
	memset(&pp, 0, sizeof(pp));
	memset(&work, 0, sizeof(work));
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
	lipvae_query_plan(lq, &sources, false);
	/* the requested epsilon first: a lower bound of the final charge */
	lipvae_ledger_check(&sources, pp.spend, o.mechanism == LV_MECH_NONE ? 0 : o.epsilon,
						o.mechanism == LV_MECH_NONE ? 0 : o.delta);
	tc = describe_columns(lq->desc, &o, &ncols);
	apply_user_settings(tc, ncols, &o);
	make_keys(&o, pkey, tkey, m.key);
	initStringInfo(&components);
	if (aim)
	{
		n = measure_aim(lq, &sources, tc, ncols, &o, pkey, &pp, &components, &m.schema, &work);
		nunits = pp.units;
	}
	else
	{
		cells = read_rows(lq, tc, ncols, &o, &unit_hash, &n);
		/* user-level privacy: at most unit_rows rows per unit, grouped */
		if (unit_hash)
			cells = bound_units(tc, ncols, cells, unit_hash, &n, o.unit_rows, pkey,
								&unit_start, &nunits);
		pp.units = nunits;
		preprocess(tc, ncols, cells, n, &o, pkey, &pp, &components);
		if (o.mechanism == LV_MECH_CENTRAL)
			dp_row_count(&o, &pp, n, pkey, &components);
		build_schema(tc, ncols, &o, &m.schema);
		encode_rows(tc, ncols, cells, n, &m.schema, &X, &T);
	}
	m.mechanism = o.mechanism;
	m.passes = lv_mech_per_record(o.mechanism) ? o.passes : 0;
	fit_model(&o, &pp, &m, X, T, n, unit_start, nunits, &work, tkey, &res);
	blob = serialize_model(&m, &blob_len);

	initStringInfo(&settings_json);
	append_settings(&settings_json, &o, &pp);
	INSTR_TIME_SET_CURRENT(t1);
	INSTR_TIME_SUBTRACT(t1, t0);

	/* the exact charge, then the model and the ledger entry together */
	if (o.mechanism != LV_MECH_NONE)
		report_multiplicity(&sources, pp.eps_ledger, pp.delta_ledger);
	lipvae_ledger_check(&sources, pp.spend, pp.eps_ledger, pp.delta_ledger);
	store_model(&o, &pp, tc, ncols, exists, columns_json(tc, ncols, &m.schema), settings_json.data,
				components.data, training_json_of(&res, INSTR_TIME_GET_DOUBLE(t1), blob_len), &m, n,
				lv_schema_diameter(&m.schema), blob);
	lipvae_note_trained(o.model);
	lipvae_ledger_record(&sources, o.model, pp.spend, pp.mech_name,
						 o.mechanism == LV_MECH_NONE ? NULL : "replace-one",
						 pp.eps_ledger, pp.delta_ledger);
	summary = summary_json(&o, &pp, &sources, &m, &res, n, ncols, nunits, INSTR_TIME_GET_DOUBLE(t1));

	/*
	 * Every SPI call leaves CurrentMemoryContext in SPI's procedure context,
	 * which SPI_finish frees: build the result in the caller's context first.
	 */
	MemoryContextSwitchTo(old);
	result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(summary)));
	SPI_finish();
	MemoryContextSwitchTo(old);
	lv_set_allocator(NULL);
	MemoryContextDelete(cxt);
	PG_RETURN_JSONB_P(result);
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
int
interrupt_pending(void *arg)
{
	CHECK_FOR_INTERRUPTS();
	return 0;
}
