/*
 * train_store.c - the store stage of lipvae_train: the catalog row, the
 * model's row type, the name lock, the settings and the ledger's view of
 * the sources.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "train.h"

static char *fmt_up6(double x);
static void lock_model_name(const char *name);

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
void
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
void
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
 * append_settings writes the catalog's settings object: the values the
 * training actually used (a marginals => 'aim' model lists its fit's
 * settings, not DP-SGD's defaults, which it never ran).
 */
void
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
		appendStringInfoString(j, ", \"learning_rate_per_round\": ");
		json_num(j, o->lr_given ? o->lr : LIPVAE_AIM_ROUND_LR);
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
void
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

/* row_type_columns writes the row type's column list: the query's, then the privacy columns. */
static void
row_type_columns(const TrainColumn *tc, int ncols, StringInfo want)
{
	const bits16 f = FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY;
	int i;

	initStringInfo(want);
	for (i = 0; i < ncols; i++)
		appendStringInfo(want, "%s %s, ", quote_identifier(tc[i].col.name),
						 format_type_extended(tc[i].col.typid, tc[i].col.typmod, f));
	appendStringInfo(want, "epsilon %s, delta %s, scope %s", format_type_extended(FLOAT8OID, -1, f),
					 format_type_extended(FLOAT8OID, -1, f), format_type_extended(TEXTOID, -1, f));
}

/* type_columns_match says whether row type typoid has exactly the columns want. */
static bool
type_columns_match(Oid typoid, const char *want)
{
	TupleDesc td = lookup_rowtype_tupdesc_noerror(typoid, -1, true);
	StringInfoData have;
	int i;

	if (!td)
		return false;
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
	return strcmp(have.data, want) == 0;
}

/* model_type_oid returns the oid of lipvae_types.<model>, or InvalidOid. */
static Oid
model_type_oid(const char *model)
{
	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(model),
						   ObjectIdGetDatum(get_namespace_oid("lipvae_types", false)));
}

/*
 * ensure_row_type keeps a replaced model's row type when it has exactly the
 * columns want, else drops it and creates lipvae_types.<model>; runs as the
 * extension owner. Returns the type's oid.
 */
static Oid
ensure_row_type(const TrainOptions *o, bool exists, const char *want, Oid owner)
{
	Oid typoid = model_type_oid(o->model);

	/*
	 * Only a replaced model's own row type is kept or dropped: a type of the
	 * same name that is not a composite type is another model's array type
	 * (model "_m" beside model "m"), which CREATE TYPE moves out of the way.
	 */
	if (OidIsValid(typoid) && (!exists || get_typtype(typoid) != TYPTYPE_COMPOSITE))
		typoid = InvalidOid;
	if (OidIsValid(typoid) && type_columns_match(typoid, want))
		return typoid;
	if (OidIsValid(typoid))
		lipvae_drop_row_type(o->model);
	if (SPI_execute(psprintf("CREATE TYPE lipvae_types.%s AS (%s)", quote_identifier(o->model), want),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "lipvae: could not create the row type");
	CommandCounterIncrement();
	lipvae_protect_row_type(o->model, owner);
	return model_type_oid(o->model);
}

/* append_dpsgd appends the DP-SGD (and tree) parameters as the catalog's "dpsgd". */
static void
append_dpsgd(StringInfo j, const TrainOptions *o, const PrivacyPlan *pp)
{
	appendStringInfoString(j, ", \"epsilon_dpsgd\": ");
	json_num(j, pp->eps_sgd);
	appendStringInfoString(j, ", \"delta_dpsgd\": ");
	json_num(j, pp->delta_sgd);
	appendStringInfoString(j, ", \"dpsgd\": {\"sampling_rate\": ");
	json_num(j, pp->q);
	appendStringInfoString(j, ", \"noise_multiplier\": ");
	json_num(j, pp->sigma);
	appendStringInfo(j, ", \"steps\": " INT64_FORMAT ", \"epochs\": %d, \"clip\": ",
					 pp->steps, pp->epochs);
	json_num(j, pp->clip);
	appendStringInfoString(j, ", \"normalizer\": ");
	json_num(j, pp->normalizer);
	appendStringInfo(j, ", \"clipping\": \"%s\", \"clip_mean\": ", o->clip_mode ? "lipschitz" : "norm");
	json_num(j, pp->clip_mean);
	appendStringInfoString(j, ", \"clip_max\": ");
	json_num(j, pp->clip_max);
	appendStringInfo(j, ", \"bound_steps\": " INT64_FORMAT, pp->bound_steps);
	if (pp->mu_marginals > 0)
	{
		appendStringInfoString(j, ", \"marginals_mu\": ");
		json_num(j, pp->mu_marginals);
		appendStringInfoString(j, ", \"marginals_noise_sd\": ");
		json_num(j, pp->marginals_sd);
		appendStringInfoString(j, ", \"marginals_one_way_mu\": ");
		json_num(j, pp->mu_one_way);
		appendStringInfoString(j, ", \"marginals_mu_replace_one\": ");
		json_num(j, pp->mu_marginals_ledger);
		appendStringInfo(j, ", \"tree_rounds\": %d, \"tree_edges\": %d, \"tree_epsilon_round\": ",
						 pp->tree_rounds, pp->tree_edges);
		json_num(j, pp->tree_eps_round);
		appendStringInfoString(j, ", \"tree_pairs_mu\": ");
		json_num(j, pp->mu_pairs);
		appendStringInfoString(j, ", \"tree_pairs_noise_sd\": ");
		json_num(j, pp->pairs_sd);
	}
	appendStringInfo(j, ", \"relation\": \"%s\", \"delta\": ", pp->relation);
	json_num(j, pp->delta_sgd);
	if (o->unit)
	{
		appendStringInfoString(j, ", \"unit\": ");
		escape_json(j, o->unit);
		appendStringInfo(j, ", \"unit_rows\": %d, \"units\": " INT64_FORMAT,
						 o->unit_rows, pp->units);
	}
	appendStringInfoChar(j, '}');
}

/*
 * catalog_json returns the JSON object from which the catalog row's
 * derived columns are read: the certificate, the row type, the relation,
 * the mechanism's parameters (append_aim or append_dpsgd) and the ledger's
 * guarantee.
 */
static char *
catalog_json(const TrainOptions *o, const PrivacyPlan *pp, const TrainColumn *tc,
			 const lv_model *m, double diameter, Oid typoid)
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
		append_dpsgd(&j, o, pp);
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
	return j.data;
}

/* The catalog row: $16 is catalog_json's object, the derived columns read from it. */
static const char *const model_insert_sql =
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
	"FROM (SELECT $16::pg_catalog.jsonb) AS x(j) ";

/* A replaced model's row is updated in place; grants survive if it may still be granted. */
static const char *const model_upsert_sql =
	"ON CONFLICT (name) DO UPDATE SET "
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
	"        THEN '{}'::pg_catalog.aclitem[] ELSE m.acl END";

/*
 * insert_model writes the catalog row (an upsert when the model is
 * replaced: its grants survive unless the new model may not be granted).
 */
static void
insert_model(const TrainOptions *o, const PrivacyPlan *pp, bool exists, Oid owner,
			 const char *columns_json, const char *settings_json, const char *preprocess_json,
			 const char *training_json, const char *catalog, const lv_model *m, int64 n,
			 bytea *blob)
{
	Oid argtypes[18];
	Datum args[18];
	char nulls[18];
	int i,
		rc;

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
	args[15] = CStringGetTextDatum(catalog);
	argtypes[16] = TEXTOID;
	args[16] = CStringGetTextDatum(training_json);
	argtypes[17] = BYTEAOID;
	args[17] = PointerGetDatum(blob);

	rc = SPI_execute_with_args(psprintf("%s%s", model_insert_sql, exists ? model_upsert_sql : ""),
							   18, argtypes, args, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "lipvae: could not store the model");
	if (!exists && SPI_processed != 1)
		elog(ERROR, "lipvae: could not store the model");
}

/*
 * store_model writes the model into lipvae.models (insert or replace) and
 * creates or keeps its row type, acting as the catalog owner. Returns the
 * row type's oid.
 */
Oid
store_model(TrainOptions *o, PrivacyPlan *pp, TrainColumn *tc, int ncols,
			bool exists, const char *columns_json, const char *settings_json,
			const char *preprocess_json, const char *training_json,
			lv_model *m, int64 n, double diameter, bytea *blob)
{
	LipvaeOwnerState st;
	StringInfoData want;
	Oid owner = GetUserId();
	Oid typoid;

	row_type_columns(tc, ncols, &want);
	lipvae_become_owner(&st);
	typoid = ensure_row_type(o, exists, want.data, owner);
	insert_model(o, pp, exists, owner, columns_json, settings_json, preprocess_json, training_json,
				 catalog_json(o, pp, tc, m, diameter, typoid), m, n, blob);
	lipvae_restore_user(&st);
	return typoid;
}
