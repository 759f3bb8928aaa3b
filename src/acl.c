/*
 * acl.c - who may train, sample, replace, drop and grant; switching to the
 * catalog owner around catalog access.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "catalog/pg_type.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "lipvae.h"

/*
 * catalog_has_grant_opt_in says whether schema nsp has lipvae 0.3's
 * lipvae_grant(text, regrole, boolean).
 */
static bool
catalog_has_grant_opt_in(Oid nsp)
{
	Oid types[3] = {TEXTOID, REGROLEOID, BOOLOID};
	oidvector *args = buildoidvector(types, 3);

	return OidIsValid(GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
									  CStringGetDatum("lipvae_grant"),
									  PointerGetDatum(args),
									  ObjectIdGetDatum(nsp)));
}

/*
 * lipvae_catalog_owner returns the owner of lipvae.models (the role that
 * created the extension).
 */
Oid
lipvae_catalog_owner(void)
{
	Oid nsp = get_namespace_oid("lipvae", true);
	Oid rel;
	HeapTuple tup;
	Oid owner;

	if (!OidIsValid(nsp))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("schema lipvae does not exist"),
						errhint("Run CREATE EXTENSION lipvae in this database.")));
	rel = get_relname_relid("models", nsp);
	if (!OidIsValid(rel))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("table lipvae.models does not exist"),
						errhint("Reinstall the extension.")));
	/*
	 * The catalog of this library's version: 0.2 added the DP-SGD parts,
	 * 0.3 moved the functions into schema lipvae (where nobody else may
	 * create a look-alike) and added lipvae_grant's per_record_only form,
	 * which this library reads. A 0.2 database is refused, so that it does
	 * not go on with its functions in a schema others may create in.
	 */
	if (get_attnum(rel, "dpsgd") == InvalidAttrNumber || !catalog_has_grant_opt_in(nsp))
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("extension lipvae in this database is older than its library"),
						errdetail("The installed library is lipvae 0.3; the catalog is that of an earlier version."),
						errhint("Run ALTER EXTENSION lipvae UPDATE (as a superuser); existing models keep working.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", rel);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * lipvae_become_owner switches to the catalog owner with a restricted
 * security context and a search_path of pg_catalog only, so that nothing
 * the caller controls runs with the owner's rights.
 */
void
lipvae_become_owner(LipvaeOwnerState *st)
{
	Oid owner = lipvae_catalog_owner();

	GetUserIdAndSecContext(&st->save_userid, &st->save_sec_context);
	SetUserIdAndSecContext(owner, st->save_sec_context |
									  SECURITY_LOCAL_USERID_CHANGE |
									  SECURITY_RESTRICTED_OPERATION);
	st->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* lipvae_restore_user undoes lipvae_become_owner. */
void
lipvae_restore_user(LipvaeOwnerState *st)
{
	AtEOXact_GUC(false, st->save_nestlevel);
	SetUserIdAndSecContext(st->save_userid, st->save_sec_context);
}

/*
 * lipvae_is_owner says whether the current user owns a model (is, or has the
 * privileges of, its owner role) or is a superuser.
 */
bool
lipvae_is_owner(Oid owner)
{
	Oid me = GetUserId();

	return superuser_arg(me) || has_privs_of_role(me, owner);
}

/*
 * lipvae_may_sample says whether the current user may sample a model: its
 * owner, a superuser, or a role granted USAGE in the model's acl (directly
 * or through membership). Non-private models (mechanism none, or seeded:
 * see LIPVAE_SQL_PRIVATE) are the owner's only, whatever their acl says.
 */
bool
lipvae_may_sample(Oid owner, Datum acl, bool acl_null, bool private_model)
{
	Acl *a;

	if (lipvae_is_owner(owner))
		return true;
	if (!private_model || acl_null)
		return false;
	a = DatumGetAclP(acl);
	if (ARR_NDIM(a) == 0)
		return false; /* '{}': nobody granted */
	return (aclmask(a, GetUserId(), owner, ACL_USAGE, ACLMASK_ANY) & ACL_USAGE) != 0;
}

PG_FUNCTION_INFO_V1(lipvae_grant);
PG_FUNCTION_INFO_V1(lipvae_revoke);

/*
 * change_grant adds or removes the sampling right of a role on a model,
 * after checking that the caller owns the model.
 */
static void
change_grant(FunctionCallInfo fcinfo, bool grant)
{
	LipvaeOwnerState st;
	char *name;
	Oid grantee;
	Oid argtypes[2] = {TEXTOID, OIDOID};
	Datum args[2];
	Oid owner;
	bool isnull;
	char *mech;
	bool seeded;
	bool per_record_only = false;
	int rc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("model name and role must not be NULL")));
	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("per_record_only must not be NULL")));
		per_record_only = PG_GETARG_BOOL(2);
	}
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	grantee = PG_GETARG_OID(1);
	/*
	 * PUBLIC (grantee 0, which regrole spells '-') is refused: a grant
	 * names the roles it reaches. Revoking from it stays possible.
	 */
	if (grant && !OidIsValid(grantee))
		ereport(ERROR, (errcode(ERRCODE_INVALID_GRANT_OPERATION),
						errmsg("lipvae models cannot be granted to PUBLIC"),
						errdetail("A grant to PUBLIC would reach every role, present and future."),
						errhint("Grant the model to a group role and make the analysts members of it.")));
	args[0] = CStringGetTextDatum(name);
	args[1] = ObjectIdGetDatum(grantee);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	rc = SPI_execute_with_args("SELECT owner::pg_catalog.oid, mechanism, " LIPVAE_SQL_SEEDED " FROM lipvae.models "
							   "WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							   1, argtypes, args, NULL, false, 1);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: catalog lookup failed");
	if (SPI_processed == 0)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("lipvae model \"%s\" does not exist", name)));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	mech = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	seeded = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (!lipvae_is_owner(owner))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("must be the owner of lipvae model \"%s\" to %s access to it",
							   name, grant ? "grant" : "revoke")));
	if (grant && strcmp(mech, "none") == 0)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("lipvae model \"%s\" is non-private and cannot be granted", name),
						errdetail("A model trained with mechanism => 'none' has no privacy guarantee; only its owner may sample it.")));
	if (grant && seeded)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("lipvae model \"%s\" is seeded and cannot be granted", name),
						errdetail("It was trained with seed =>: its noise and release key are derived from a 64-bit seed, so its rows have no privacy guarantee; only its owner may sample it."),
						errhint("Train the model again without seed => (replace => true) to share it.")));
	if (grant && strcmp(mech, "latent") == 0 && !per_record_only)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("lipvae model \"%s\" is per-record only and is not granted without consent", name),
						errdetail("Mechanism 'latent' is not central DP: its guarantee holds for each released row, not for the whole release."),
						errhint("Grant it with lipvae.lipvae_grant(%s, %s, per_record_only => true) if that guarantee is enough, or train it again with the default mechanism central.",
								quote_literal_cstr(name), quote_literal_cstr(GetUserNameFromId(grantee, false)))));
	lipvae_become_owner(&st);
	rc = SPI_execute_with_args(grant ? "UPDATE lipvae.models SET acl = pg_catalog.array_append("
									   " pg_catalog.array_remove(acl, pg_catalog.makeaclitem($2, owner::pg_catalog.oid, 'USAGE', false)),"
									   " pg_catalog.makeaclitem($2, owner::pg_catalog.oid, 'USAGE', false)) "
									   "WHERE name OPERATOR(pg_catalog.=) $1"
									 : "UPDATE lipvae.models SET acl = pg_catalog.array_remove(acl,"
									   " pg_catalog.makeaclitem($2, owner::pg_catalog.oid, 'USAGE', false)) "
									   "WHERE name OPERATOR(pg_catalog.=) $1",
							   2, argtypes, args, NULL, false, 0);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "lipvae: could not update the grants");
	SPI_finish();
}

/* lipvae_grant lets a role (and its members) sample a model. */
Datum
lipvae_grant(PG_FUNCTION_ARGS)
{
	change_grant(fcinfo, true);
	PG_RETURN_VOID();
}

/* lipvae_revoke withdraws a role's right to sample a model. */
Datum
lipvae_revoke(PG_FUNCTION_ARGS)
{
	change_grant(fcinfo, false);
	PG_RETURN_VOID();
}
