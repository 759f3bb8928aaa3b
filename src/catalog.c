/*
 * catalog.c - the models table: loading a model for sampling (privileges,
 * checksum, certificate, consistency with its description), the guarantee
 * of each pass, dropping and listing models.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "utils/syscache.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "parser/parse_type.h"
#include "utils/regproc.h"

#include "lipvae.h"
#include "lv_accountant.h"
#include "lv_privacy.h"

PG_FUNCTION_INFO_V1(lipvae_drop);
PG_FUNCTION_INFO_V1(lipvae_models);

/*
 * lipvae_pass_epsilon returns the epsilon that holds for all released rows
 * up to and including pass q (1-based): the preprocessing's epsilon plus
 * the exact GDP conversion of sqrt(q) * mu1 at delta - delta_pre, rounded
 * up at every step.
 */
double
lipvae_pass_epsilon(double eps_pre, double delta, double delta_pre,
					double mu1, int64 pass)
{
	double mu = lv_round_up(lv_round_up(sqrt((double) pass)) * mu1);
	double e = lv_gdp_epsilon(mu, delta - delta_pre);

	return eps_pre > 0 ? lv_round_up(eps_pre + e) : e;
}

/*
 * lipvae_rdp_epsilon returns eps_pre plus the epsilon at delta of DP-SGD
 * (q, sigma, steps) under relation composed in RDP with a mu-GDP Gaussian
 * mechanism (its RDP at order a is a mu^2 / 2; mu = 0: none), one
 * conversion (lv_rdp_to_dp). Rounded up at every step.
 */
double
lipvae_rdp_epsilon(double eps_pre, double delta, double q, double sigma,
				   int64 steps, int relation, double mu)
{
	double e = lv_dpsgd_gaussian_epsilon(q, sigma, (long) steps, relation, mu, delta);

	return eps_pre > 0 ? lv_round_up(eps_pre + e) : e;
}

/*
 * lipvae_composed_pass_epsilon returns the guarantee (replace-one) of the
 * rows up to pass (1-based) of a central+latent model: DP-SGD under
 * replace-one composed with pass releases of the mu1-GDP latent mechanism
 * (mu = sqrt(pass) mu1), at delta_rest, plus the preprocessing's epsilon.
 */
double
lipvae_composed_pass_epsilon(double eps_pre, double delta_rest, double q,
							 double sigma, int64 steps, double mu1, int64 pass)
{
	double mu = lv_round_up(lv_round_up(sqrt((double) pass)) * mu1);

	return lipvae_rdp_epsilon(eps_pre, delta_rest, q, sigma, steps,
							  LV_REL_REPLACE_ONE, mu);
}

/* jb_string returns a jsonb string value as a C string (NULL if absent). */
static char *
jb_string(JsonbContainer *c, const char *key)
{
	JsonbValue *v = lipvae_jsonb_get(c, key);

	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* jb_int returns a jsonb number as int (def if absent). */
static int
jb_int(JsonbContainer *c, const char *key, int def)
{
	JsonbValue *v = lipvae_jsonb_get(c, key);

	if (v == NULL || v->type != jbvNumeric)
		return def;
	return DatumGetInt32(DirectFunctionCall1(numeric_int4, NumericGetDatum(v->val.numeric)));
}

/*
 * lipvae_columns_from_json rebuilds the glue's column descriptions from the
 * catalog's columns jsonb: names, types (resolved by name, so they survive
 * dump and restore), category labels and the "other" value.
 */
void
lipvae_columns_from_json(Jsonb *cols, LipvaeColumn **out, int *ncols,
						 lv_schema *schema)
{
	int n,
		i;
	LipvaeColumn *lc;

	if (!JB_ROOT_IS_ARRAY(cols))
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("lipvae model description is damaged")));
	n = JB_ROOT_COUNT(cols);
	lc = palloc0(sizeof(LipvaeColumn) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(&cols->root, i);
		JsonbContainer *c;
		char *tname;
		JsonbValue *cats;
		Oid typid;
		int32 typmod;

		if (e == NULL || e->type != jbvBinary)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("lipvae model description is damaged")));
		c = e->val.binary.data;
		lc[i].name = jb_string(c, "name");
		tname = jb_string(c, "base_type");
		if (lc[i].name == NULL || tname == NULL)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("lipvae model description is damaged")));
		parseTypeString(tname, &typid, &typmod, false);
		lc[i].typid = typid;
		lc[i].typmod = jb_int(c, "typmod", -1);
		if (!lipvae_type_class(typid, &lc[i].tclass))
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("column \"%s\" of the model has an unsupported type", lc[i].name)));
		lc[i].other = jb_string(c, "other");
		cats = lipvae_jsonb_get(c, "categories");
		if (cats && cats->type == jbvBinary)
		{
			int k,
				m = JsonContainerSize(cats->val.binary.data);

			lc[i].ncat = m;
			lc[i].labels = palloc(sizeof(char *) * Max(m, 1));
			for (k = 0; k < m; k++)
			{
				JsonbValue *l = getIthJsonbValueFromContainer(cats->val.binary.data, k);

				if (l == NULL || l->type != jbvString)
					ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
									errmsg("lipvae model description is damaged")));
				lc[i].labels[k] = pnstrdup(l->val.string.val, l->val.string.len);
			}
		}
		if (lc[i].tclass == LVT_BOOL)
		{
			lc[i].ncat = 2;
			lc[i].labels = palloc(sizeof(char *) * 2);
			lc[i].labels[0] = "false";
			lc[i].labels[1] = "true";
		}
	}
	/* the description must agree with the blob's schema */
	if (schema && schema->ncols != n)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
						errmsg("lipvae model description does not match the model")));
	for (i = 0; schema && i < n; i++)
	{
		bool numeric = lipvae_class_is_numeric(lc[i].tclass);

		if (numeric != (schema->cols[i].kind == LV_COL_NUMERIC) ||
			(!numeric && schema->cols[i].ncat != lc[i].ncat))
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("lipvae model description does not match the model")));
	}
	*out = lc;
	*ncols = n;
}

/* unknown_model raises the error for a model that is not there. */
static void
unknown_model(const char *name)
{
	ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
					errmsg("lipvae model \"%s\" does not exist", name),
					errhint("lipvae.lipvae_models() lists the models you may use.")));
}

/*
 * lipvae_drop_row_type drops a model's row type lipvae_types.<name>, if it
 * exists, with whatever depends on it (CASCADE), quietly: the row type
 * belongs to the model, and its owner must always be able to drop or
 * replace it. Only superusers can create such dependent objects: the type's
 * USAGE is granted to the model's owner alone (lipvae_protect_row_type),
 * and the owner's own objects go with the type. No names are reported.
 */
void
lipvae_drop_row_type(const char *name)
{
	ObjectAddress obj;
	Oid typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name),
								 ObjectIdGetDatum(get_namespace_oid("lipvae_types", false)));

	if (!OidIsValid(typoid) || get_typtype(typoid) != TYPTYPE_COMPOSITE)
		return; /* none, or another model's array type (model "_m" of "m") */
	ObjectAddressSet(obj, TypeRelationId, typoid);
	performDeletion(&obj, DROP_CASCADE, PERFORM_DELETION_INTERNAL | PERFORM_DELETION_QUIETLY);
	CommandCounterIncrement();
}

/*
 * lipvae_protect_row_type takes USAGE on a model's row type from PUBLIC
 * and gives it to the model's owner: nobody else can create a table, view
 * or function that depends on it (and so block lipvae_drop or a replace),
 * and DROP ROLE of the owner is refused while the model exists. Casting to
 * it (NULL::lipvae_types.<model>, the typed sampling call) needs no USAGE.
 * Runs as the catalog owner inside an SPI connection.
 */
void
lipvae_protect_row_type(const char *name, Oid owner)
{
	char *qname = quote_qualified_identifier("lipvae_types", name);
	int rc;

	rc = SPI_execute(psprintf("REVOKE ALL ON TYPE %s FROM PUBLIC", qname), false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "lipvae: could not revoke USAGE on the row type");
	rc = SPI_execute(psprintf("GRANT USAGE ON TYPE %s TO %s", qname,
							  quote_identifier(GetUserNameFromId(owner, false))),
					 false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "lipvae: could not grant USAGE on the row type");
}

/* Names of the models this transaction trained (in TopTransactionContext). */
static List *trained_here = NIL;
static bool xact_callback_set = false;

/* forget_trained clears the list when the transaction ends. */
static void
forget_trained(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		trained_here = NIL;
}

/*
 * lipvae_note_trained records that this transaction stored a model of that
 * name (trained or replaced it).
 */
void
lipvae_note_trained(const char *name)
{
	MemoryContext old;

	if (!xact_callback_set)
	{
		RegisterXactCallback(forget_trained, NULL);
		xact_callback_set = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	trained_here = lappend(trained_here, pstrdup(name));
	MemoryContextSwitchTo(old);
}

/*
 * refuse_uncommitted refuses to sample a model this transaction trained:
 * its ledger entry becomes durable only when the transaction commits, and
 * rows released before a ROLLBACK would escape the ledger. (A grant in the
 * same transaction does not count: only training.)
 */
static void
refuse_uncommitted(const char *name)
{
	ListCell *lc;

	foreach (lc, trained_here)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							errmsg("lipvae model \"%s\" was trained in this transaction", name),
							errdetail("Its privacy spend reaches the ledger only when the transaction commits; rows drawn before a rollback would escape it."),
							errhint("COMMIT the training, then sample.")));
}

/*
 * lipvae_load_model reads a model by name (or by its row type when name is
 * NULL), checks that the caller may sample it, decodes and verifies the
 * blob (checksum, certificate) and prepares the typed category values.
 */
LipvaeLoaded *
lipvae_load_model(const char *name, Oid want_rowtype)
{
	LipvaeOwnerState st;
	LipvaeLoaded *lm = palloc0(sizeof(LipvaeLoaded));
	Oid argtype;
	Datum arg;
	int rc,
		i;
	HeapTuple tup;
	TupleDesc desc;
	bool isnull,
		acl_null;
	Datum acl;
	bytea *blob;
	Jsonb *cols;
	MemoryContext cxt = CurrentMemoryContext;

	if (name)
	{
		argtype = TEXTOID;
		arg = CStringGetTextDatum(name);
	}
	else
	{
		argtype = OIDOID;
		arg = ObjectIdGetDatum(want_rowtype);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	rc = SPI_execute_with_args(name ? "SELECT name, owner::pg_catalog.oid, acl, mechanism, scope, delta, "
									  " epsilon_preprocess, delta_preprocess, row_type::pg_catalog.oid, columns, model, "
									  " mu_pass, passes, epsilon, (dpsgd OPERATOR(pg_catalog.->>) 'sampling_rate')::pg_catalog.float8, "
									  " (dpsgd OPERATOR(pg_catalog.->>) 'noise_multiplier')::pg_catalog.float8, "
									  " (dpsgd OPERATOR(pg_catalog.->>) 'steps')::pg_catalog.int8, delta_dpsgd, " LIPVAE_SQL_PRIVATE " "
									  "FROM lipvae.models WHERE name OPERATOR(pg_catalog.=) $1"
									: "SELECT name, owner::pg_catalog.oid, acl, mechanism, scope, delta, "
									  " epsilon_preprocess, delta_preprocess, row_type::pg_catalog.oid, columns, model, "
									  " mu_pass, passes, epsilon, (dpsgd OPERATOR(pg_catalog.->>) 'sampling_rate')::pg_catalog.float8, "
									  " (dpsgd OPERATOR(pg_catalog.->>) 'noise_multiplier')::pg_catalog.float8, "
									  " (dpsgd OPERATOR(pg_catalog.->>) 'steps')::pg_catalog.int8, delta_dpsgd, " LIPVAE_SQL_PRIVATE " "
									  "FROM lipvae.models WHERE row_type::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
							   1, &argtype, &arg, NULL, false, 1); /* sees this statement's writes */
	lipvae_restore_user(&st);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: catalog lookup failed");
	if (SPI_processed == 0)
	{
		if (name)
			unknown_model(name);
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("type %s is not the row type of a lipvae model", format_type_be(want_rowtype)),
						errhint("Use NULL::lipvae_types.<model name>; lipvae.lipvae_models() lists the models.")));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	lm->name = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)));
	refuse_uncommitted(lm->name);
	lm->owner = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
	acl = SPI_getbinval(tup, desc, 3, &acl_null);
	lm->mechanism = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull)));
	lm->scope = MemoryContextStrdup(cxt, TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull)));

	if (!lipvae_may_sample(lm->owner, acl, acl_null,
						   DatumGetBool(SPI_getbinval(tup, desc, 19, &isnull))))
	{
		if (strcmp(lm->mechanism, "none") == 0)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							errmsg("permission denied for lipvae model \"%s\"", lm->name),
							errdetail("The model is non-private (mechanism none): only its owner may sample it.")));
		if (!DatumGetBool(SPI_getbinval(tup, desc, 19, &isnull)))
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							errmsg("permission denied for lipvae model \"%s\"", lm->name),
							errdetail("The model is seeded (trained with seed =>), so it has no privacy guarantee: only its owner may sample it.")));
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("permission denied for lipvae model \"%s\"", lm->name),
						errhint("Ask the model's owner to run lipvae.lipvae_grant(%s, %s).",
								quote_literal_cstr(lm->name),
								quote_literal_cstr(GetUserNameFromId(GetUserId(), false)))));
	}

	lm->delta = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
	if (isnull)
		lm->delta = NAN;
	lm->eps_pre = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &isnull));
	lm->delta_pre = DatumGetFloat8(SPI_getbinval(tup, desc, 8, &isnull));
	lm->row_type = DatumGetObjectId(SPI_getbinval(tup, desc, 9, &isnull));
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		cols = DatumGetJsonbPCopy(SPI_getbinval(tup, desc, 10, &isnull));
		blob = DatumGetByteaPCopy(SPI_getbinval(tup, desc, 11, &isnull));
		MemoryContextSwitchTo(old);
	}
	{
		double mu_pass = DatumGetFloat8(SPI_getbinval(tup, desc, 12, &isnull));
		bool mu_null = isnull;
		int passes = DatumGetInt32(SPI_getbinval(tup, desc, 13, &isnull));
		int mech;
		MemoryContext old;

		if (isnull)
			passes = 0; /* central: no pass limit */
		lm->epsilon = DatumGetFloat8(SPI_getbinval(tup, desc, 14, &isnull));
		if (isnull)
			lm->epsilon = INFINITY;
		lm->q = DatumGetFloat8(SPI_getbinval(tup, desc, 15, &isnull));
		lm->sigma = isnull ? 0 : DatumGetFloat8(SPI_getbinval(tup, desc, 16, &isnull));
		lm->steps = isnull ? 0 : DatumGetInt64(SPI_getbinval(tup, desc, 17, &isnull));
		lm->delta_rest = DatumGetFloat8(SPI_getbinval(tup, desc, 18, &isnull));
		mech = strcmp(lm->mechanism, "central") == 0          ? LV_MECH_CENTRAL
			   : strcmp(lm->mechanism, "central+latent") == 0 ? LV_MECH_COMPOSED
			   : strcmp(lm->mechanism, "latent") == 0         ? LV_MECH_LATENT
															  : LV_MECH_NONE;
		old = MemoryContextSwitchTo(cxt);

		lipvae_use_palloc();
		rc = lv_model_deserialize((uint8 *) VARDATA_ANY(blob), VARSIZE_ANY_EXHDR(blob), &lm->model);
		lv_set_allocator(NULL);
		MemoryContextSwitchTo(old);
		lipvae_core_error(rc, psprintf("loading model \"%s\"", lm->name));
		if (lm->model.passes != passes ||
			lm->model.mechanism != mech ||
			(mech == LV_MECH_COMPOSED && !(lm->sigma > 0 && lm->steps > 0 && lm->delta_rest > 0)) ||
			(!mu_null && lm->model.mu1 != mu_pass))
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("lipvae model \"%s\" does not match its catalog entry", lm->name),
							errhint("Train the model again with replace => true.")));
	}
	SPI_finish();

	lipvae_columns_from_json(cols, &lm->cols, &lm->ncols, &lm->model.schema);
	for (i = 0; i < lm->ncols; i++)
	{
		LipvaeColumn *c = &lm->cols[i];
		bool isvarlena;
		int k;

		getTypeOutputInfo(c->typid, &c->typoutput, &isvarlena);
		if (!lipvae_class_is_numeric(c->tclass))
		{
			c->cat_datums = palloc(sizeof(Datum) * Max(c->ncat, 1));
			for (k = 0; k < c->ncat; k++)
				c->cat_datums[k] = lipvae_label_datum(c, c->labels[k]);
			if (c->other)
				c->other_datum = lipvae_label_datum(c, c->other);
		}
	}
	return lm;
}

/*
 * lipvae_drop drops a model and its row type (owner or superuser only).
 */
Datum
lipvae_drop(PG_FUNCTION_ARGS)
{
	LipvaeOwnerState st;
	char *name;
	Datum arg;
	Oid argtype = TEXTOID;
	Oid owner;
	bool isnull;
	int rc;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("model name must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	arg = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	rc = SPI_execute_with_args("SELECT owner::pg_catalog.oid FROM lipvae.models "
							   "WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							   1, &argtype, &arg, NULL, false, 1);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: catalog lookup failed");
	if (SPI_processed == 0)
		unknown_model(name);
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!lipvae_is_owner(owner))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("must be the owner of lipvae model \"%s\" to drop it", name)));
	lipvae_become_owner(&st);
	rc = SPI_execute_with_args("DELETE FROM lipvae.models WHERE name OPERATOR(pg_catalog.=) $1",
							   1, &argtype, &arg, NULL, false, 0);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "lipvae: could not delete the model");
	lipvae_drop_row_type(name);
	lipvae_restore_user(&st);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * lipvae_models lists the models the caller owns or may sample: their
 * guarantees for everyone allowed, the details (query, encodings, privacy
 * components, training) for owners only. Others allowed to sample a
 * marginals => 'aim' model get, as its details, the marginals it measured
 * with their noise and error bounds (DP outputs: post-processing).
 */
Datum
lipvae_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LipvaeOwnerState st;
	int rc;
	uint64 r;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	rc = SPI_execute("SELECT name, owner::pg_catalog.oid, created, mechanism, scope, epsilon, delta, "
					 " passes, nrows, "
					 " ARRAY(SELECT c OPERATOR(pg_catalog.->>) 'name' FROM pg_catalog.jsonb_array_elements(columns) c), "
					 " row_type::pg_catalog.text, acl, "
					 " pg_catalog.jsonb_build_object('query', query, 'columns', columns, 'settings', settings, "
					 "   'epsilon_requested', epsilon_requested, 'epsilon_preprocess', epsilon_preprocess, "
					 "   'delta_preprocess', delta_preprocess, 'preprocess', preprocess, 'diameter', diameter, "
					 "   'noise_sd', noise_sd, 'lipschitz_target', lipschitz_target, "
					 "   'lipschitz_certified', lipschitz_certified, 'mu_pass', mu_pass, 'training', training, "
					 "   'model_bytes', pg_catalog.octet_length(model), 'relation', relation, "
					 "   'epsilon_dpsgd', epsilon_dpsgd, 'delta_dpsgd', delta_dpsgd, 'dpsgd', dpsgd, "
					 "   'epsilon_release', epsilon_release, 'delta_release', delta_release, "
					 "   'epsilon_ledger', epsilon_ledger, 'delta_ledger', delta_ledger), " LIPVAE_SQL_PRIVATE ", "
					 " CASE WHEN dpsgd OPERATOR(pg_catalog.->>) 'method' OPERATOR(pg_catalog.=) 'aim' THEN "
					 "   pg_catalog.jsonb_build_object('bound_confidence', dpsgd OPERATOR(pg_catalog.->) 'bound_confidence', "
					 "     'measured_marginals', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
					 "       'columns', x OPERATOR(pg_catalog.->) 'columns', 'cells', x OPERATOR(pg_catalog.->) 'cells', "
					 "       'noise_sd', x OPERATOR(pg_catalog.->) 'noise_sd', 'tvd_bound', x OPERATOR(pg_catalog.->) 'tvd_bound') "
					 "       ORDER BY o) FROM pg_catalog.jsonb_array_elements(dpsgd OPERATOR(pg_catalog.->) 'measurements') "
					 "       WITH ORDINALITY AS e(x, o))) END "
					 "FROM lipvae.models ORDER BY name",
					 false, 0);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: catalog lookup failed");
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple tup = SPI_tuptable->vals[r];
		TupleDesc desc = SPI_tuptable->tupdesc;
		Datum values[13];
		bool nulls[13];
		bool isnull,
			acl_null;
		Oid owner = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		Datum acl = SPI_getbinval(tup, desc, 12, &acl_null);
		bool is_owner = lipvae_is_owner(owner);
		int i;

		if (!lipvae_may_sample(owner, acl, acl_null,
							   DatumGetBool(SPI_getbinval(tup, desc, 14, &isnull))))
			continue;
		for (i = 0; i < 13; i++)
			nulls[i] = false;
		values[0] = SPI_getbinval(tup, desc, 1, &nulls[0]);
		values[1] = CStringGetTextDatum(GetUserNameFromId(owner, true) ? GetUserNameFromId(owner, true) : "(dropped role)");
		values[2] = SPI_getbinval(tup, desc, 3, &nulls[2]);
		values[3] = SPI_getbinval(tup, desc, 4, &nulls[3]);
		values[4] = SPI_getbinval(tup, desc, 5, &nulls[4]);
		values[5] = SPI_getbinval(tup, desc, 6, &nulls[5]);
		values[6] = SPI_getbinval(tup, desc, 7, &nulls[6]);
		values[7] = SPI_getbinval(tup, desc, 8, &nulls[7]);
		/* rows per pass: public for per-record models (pass boundaries) */
		values[8] = SPI_getbinval(tup, desc, 9, &nulls[8]);
		values[9] = SPI_getbinval(tup, desc, 10, &nulls[9]);
		values[10] = SPI_getbinval(tup, desc, 11, &nulls[10]);
		values[11] = BoolGetDatum(is_owner);
		values[12] = SPI_getbinval(tup, desc, 13, &nulls[12]);
		if (!is_owner)
			values[12] = SPI_getbinval(tup, desc, 15, &nulls[12]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
