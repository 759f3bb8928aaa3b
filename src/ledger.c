/*
 * ledger.c - the privacy ledger: which base relations a training query
 * reads, the spend of every training on them, and the caps their owners set.
 *
 * A source is the set of base relations a training query reads: the range
 * table entries of its rewritten query trees (views expanded, row-level
 * security quals included), every inheritance child and partition a
 * relation reads, each partition mapped to the root of its partitioned
 * table. A query whose data cannot be attributed to such relations (foreign
 * tables, functions in FROM, functions that are not built in, built-in
 * functions that read data by themselves) is refused before anything runs.
 *
 * The ledger lives in two tables of the private schema lipvae:
 *   lipvae.ledger_sources  one row per relation: running totals and caps
 *   lipvae.ledger_entries  one row per training, never removed
 * Every relation of a training is charged the whole spend (a cap on one
 * relation binds every query that reads it, alone or joined). The totals
 * per relation are basic composition (sums, rounded up) of:
 *   central     central guarantees (DP-SGD), each given to the ledger
 *               already converted to replace-one, the ledger's one relation
 *   per-record  per-record releases (replace-one); a replaced model's fresh
 *               key over the same rows is a new release and adds up
 *   none        non-private trainings: counted, no epsilon
 *
 * Races: lipvae_ledger_check locks the row of every charged relation (FOR
 * UPDATE, in OID order) until the training's transaction ends, and
 * lipvae_ledger_record updates it; so two trainings on a shared relation
 * run their check-to-commit one after the other (under REPEATABLE READ the
 * second fails with a serialization error instead of passing a stale
 * check), and lipvae_set_cap waits for running trainings.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "common/shortest_dec.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/qunique.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "storage/lockdefs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/fmgroids.h"
#include "utils/typcache.h"

#include "lipvae.h"
#include "lv_group.h"

PG_FUNCTION_INFO_V1(lipvae_ledger);
PG_FUNCTION_INFO_V1(lipvae_ledger_entries);
PG_FUNCTION_INFO_V1(lipvae_ledger_charges);
PG_FUNCTION_INFO_V1(lipvae_set_cap);
PG_FUNCTION_INFO_V1(lipvae_ledger_dropped);

#define REFUSE_HINT "Read local tables in the query itself (directly, or through views or partitioned tables), so that every training is charged to the relations it reads."

/*
 * Built-in functions that read data by themselves, past the query's range
 * table: they run a query given as text or a cursor, read a table named in
 * text, a server file or directory, a large object, decoded WAL, or other
 * sessions' query texts. A training query calling any of them is refused
 * (functions that are not built in are refused anyway). nargs -1: every
 * form of the name. Found by reading pg_proc of PostgreSQL 15.
 */
typedef struct DataReadingFunction
{
	const char *name;
	int nargs;
	const char *what;
} DataReadingFunction;

static const DataReadingFunction data_reading_functions[] = {
	/* SQL executors */
	{"query_to_xml", -1, "runs a query given as text"},
	{"query_to_xmlschema", -1, "runs a query given as text"},
	{"query_to_xml_and_xmlschema", -1, "runs a query given as text"},
	{"cursor_to_xml", -1, "reads a cursor"},
	{"cursor_to_xmlschema", -1, "reads a cursor"},
	{"table_to_xml", -1, "reads a table named by its argument"},
	{"table_to_xmlschema", -1, "reads a table named by its argument"},
	{"table_to_xml_and_xmlschema", -1, "reads a table named by its argument"},
	{"schema_to_xml", -1, "reads every table of a schema"},
	{"schema_to_xmlschema", -1, "reads every table of a schema"},
	{"schema_to_xml_and_xmlschema", -1, "reads every table of a schema"},
	{"database_to_xml", -1, "reads every table of the database"},
	{"database_to_xmlschema", -1, "reads every table of the database"},
	{"database_to_xml_and_xmlschema", -1, "reads every table of the database"},
	{"ts_stat", -1, "runs a query given as text"},
	{"ts_rewrite", 2, "runs a query given as text"},
	{"currtid2", -1, "reads a table named in text"},
	/* server files and directories */
	{"pg_read_file", -1, "reads a server file"},
	{"pg_read_file_old", -1, "reads a server file"},
	{"pg_read_binary_file", -1, "reads a server file"},
	{"pg_stat_file", -1, "reads a server file's status"},
	{"pg_ls_dir", -1, "lists a server directory"},
	{"pg_ls_logdir", -1, "lists a server directory"},
	{"pg_ls_waldir", -1, "lists a server directory"},
	{"pg_ls_tmpdir", -1, "lists a server directory"},
	{"pg_ls_archive_statusdir", -1, "lists a server directory"},
	{"pg_ls_logicalsnapdir", -1, "lists a server directory"},
	{"pg_ls_logicalmapdir", -1, "lists a server directory"},
	{"pg_ls_replslotdir", -1, "lists a server directory"},
	/* large objects */
	{"lo_get", -1, "reads a large object"},
	{"lo_open", -1, "opens a large object"},
	{"loread", -1, "reads a large object"},
	{"lo_export", -1, "reads a large object"},
	/* decoded WAL: the changes of every table */
	{"pg_logical_slot_get_changes", -1, "reads decoded WAL"},
	{"pg_logical_slot_peek_changes", -1, "reads decoded WAL"},
	{"pg_logical_slot_get_binary_changes", -1, "reads decoded WAL"},
	{"pg_logical_slot_peek_binary_changes", -1, "reads decoded WAL"},
	/* sequences: their values, read or moved past the range table */
	{"pg_sequence_last_value", -1, "reads a sequence's value"},
	{"pg_sequence_parameters", -1, "reads a sequence's parameters"},
	{"nextval", -1, "advances a sequence"},
	{"setval", -1, "sets a sequence"},
	{"currval", -1, "reads a sequence's value"},
	{"lastval", -1, "reads a sequence's value"},
	/* other sessions' query texts */
	{"pg_stat_get_activity", -1, "reads other sessions' queries"},
	{"pg_stat_get_backend_activity", -1, "reads other sessions' queries"},
};

/* lipvae_relation_name returns the qualified name of a relation, quoted. */
char *
lipvae_relation_name(Oid relid)
{
	char *rel = get_rel_name(relid);
	Oid nsp = get_rel_namespace(relid);

	if (rel == NULL)
		return psprintf("(dropped relation %u)", relid);
	if (isAnyTempNamespace(nsp))
		return quote_qualified_identifier("pg_temp", rel);
	return quote_qualified_identifier(get_namespace_name(nsp), rel);
}

/* refuse ends the training: its data cannot be attributed. */
static void
refuse(const char *detail)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("the privacy ledger cannot attribute what the training query reads"),
					errdetail_internal("%s", detail),
					errhint(REFUSE_HINT)));
}

/*
 * stateless_volatile says whether a volatile built-in is one the training
 * query may call: a random draw, whose state no row can steer (setseed is
 * refused, and the generator's state is secret).
 */
static bool
stateless_volatile(const Form_pg_proc proc)
{
	return proc->pronargs == 0 && (strcmp(NameStr(proc->proname), "random") == 0 ||
								   strcmp(NameStr(proc->proname), "gen_random_uuid") == 0);
}

/*
 * refuse_volatile ends the training on a volatile call: set_config,
 * setseed, nextval, pg_sleep with clock_timestamp and their kind carry
 * state from one row to the rows after it (and, with marginals => 'aim',
 * from the first pass over the query to every row of the second), so that
 * one person could change every row the ledger charges once.
 */
static void
refuse_volatile(const Form_pg_proc proc, Oid funcid)
{
	ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					errmsg("the training query calls volatile function %s", format_procedure(funcid)),
					errdetail("A volatile function can carry state from one row to the others (set_config, setseed, nextval, timing), so that one row could change many rows and escape its privacy charge; only random() and gen_random_uuid() are allowed."),
					errhint("Compute the value in a table first, or use a stable or immutable function.")));
}

/*
 * check_function refuses a call to a function that is not built in, to a
 * built-in function that reads data by itself, or to a volatile one other
 * than random().
 */
static void
check_function(Oid funcid)
{
	HeapTuple tup;
	Form_pg_proc proc;
	int i;

	if (funcid >= FirstNormalObjectId)
		refuse(psprintf("It calls function %s, which is not built in: what a function reads cannot be attributed.",
						format_procedure(funcid)));
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	for (i = 0; i < (int) lengthof(data_reading_functions); i++)
	{
		const DataReadingFunction *f = &data_reading_functions[i];

		if (strcmp(NameStr(proc->proname), f->name) == 0 &&
			(f->nargs < 0 || f->nargs == proc->pronargs))
		{
			ReleaseSysCache(tup);
			refuse(psprintf("It calls %s, which %s.", format_procedure(funcid), f->what));
		}
	}
	if (proc->provolatile == PROVOLATILE_VOLATILE && !stateless_volatile(proc))
		refuse_volatile(proc, funcid);
	ReleaseSysCache(tup);
}

/* function_checker is the callback of check_functions_in_node. */
static bool
function_checker(Oid funcid, void *context)
{
	check_function(funcid);
	return false;
}

/* check_operator checks the function behind an operator. */
static void
check_operator(Oid opno)
{
	if (OidIsValid(opno))
		check_function(get_opcode(opno));
}

/* The walk over a query: the base relations found so far. */
typedef struct SourceWalk
{
	List *relids; /* of Oid, with repetitions */
} SourceWalk;

static bool source_walker(Node *node, void *context);

/* lipvae_partition_root returns the root of a partition's tree, or relid. */
Oid
lipvae_partition_root(Oid relid)
{
	if (get_rel_relispartition(relid))
	{
		List *ancestors = get_partition_ancestors(relid);

		if (ancestors != NIL)
			return llast_oid(ancestors);
	}
	return relid;
}

/*
 * scanned_relations lists the relations a scan of relid reads: itself and,
 * unless ONLY, every inheritance child or partition.
 */
static List *
scanned_relations(Oid relid, char relkind, bool inh)
{
	if (inh && (relkind == RELKIND_PARTITIONED_TABLE || has_subclass(relid)))
		return find_all_inheritors(relid, AccessShareLock, NULL);
	return list_make1_oid(relid);
}

/*
 * add_ancestors appends every inheritance parent of relid, transitively
 * (pg_inherits), to *rels: a row of a child is a row of each ancestor, so
 * each ancestor's cap binds a query that reads the child directly.
 */
static void
add_ancestors(Oid relid, List **rels)
{
	Relation inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple tup;
	List *parents = NIL;
	ListCell *lc;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		parents = lappend_oid(parents, ((Form_pg_inherits) GETSTRUCT(tup))->inhparent);
	systable_endscan(scan);
	table_close(inh, AccessShareLock);
	foreach (lc, parents)
	{
		Oid p = lfirst_oid(lc);

		if (!list_member_oid(*rels, p))
		{
			*rels = lappend_oid(*rels, p);
			add_ancestors(p, rels);
		}
	}
}

/*
 * lipvae_charged_relations lists the relations the ledger charges for one
 * scan of relid: every relation the scan reads (partitions mapped to their
 * root) and every inheritance ancestor of those, without repetitions.
 */
List *
lipvae_charged_relations(Oid relid, char relkind, bool inh)
{
	List *out = NIL;
	ListCell *lc;

	if (relkind == RELKIND_VIEW)
		return NIL;
	foreach (lc, scanned_relations(relid, relkind, inh))
	{
		Oid r = lipvae_partition_root(lfirst_oid(lc));

		if (list_member_oid(out, r))
			continue;
		out = lappend_oid(out, r);
		add_ancestors(r, &out);
	}
	return out;
}

/*
 * add_relation adds a relation of the range table (and, unless ONLY, every
 * inheritance child or partition it reads) to the walk, refusing foreign
 * tables and relations of kinds the ledger does not charge.
 */
static void
add_relation(SourceWalk *w, Oid relid, char relkind, bool inh)
{
	List *rels;
	ListCell *lc;

	switch (relkind)
	{
		case RELKIND_VIEW:
			/* a view's own entry left by view expansion: its query is walked */
			return;
		case RELKIND_FOREIGN_TABLE:
			refuse(psprintf("It reads foreign table %s, whose rows come from outside this database.",
							lipvae_relation_name(relid)));
			break;
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_MATVIEW:
		case RELKIND_SEQUENCE:
			break;
		default:
			refuse(psprintf("It reads %s, a relation of a kind the ledger does not charge.",
							lipvae_relation_name(relid)));
	}
	rels = scanned_relations(relid, relkind, inh);
	foreach (lc, rels)
	{
		Oid child = lfirst_oid(lc);

		if (child != relid && get_rel_relkind(child) == RELKIND_FOREIGN_TABLE)
			refuse(psprintf("It reads %s, which has foreign table %s as a partition or child, whose rows come from outside this database.",
							lipvae_relation_name(relid), lipvae_relation_name(child)));
	}
	w->relids = list_concat(w->relids, lipvae_charged_relations(relid, relkind, inh));
}

/* source_rte handles one range table entry. */
static void
source_rte(SourceWalk *w, RangeTblEntry *rte)
{
	switch (rte->rtekind)
	{
		case RTE_RELATION:
			add_relation(w, rte->relid, rte->relkind, rte->inh);
			if (rte->tablesample && rte->tablesample->tsmhandler >= FirstNormalObjectId)
				refuse(psprintf("It samples %s with TABLESAMPLE method %s, which is not built in.",
								lipvae_relation_name(rte->relid), format_procedure(rte->tablesample->tsmhandler)));
			break;
		case RTE_FUNCTION:
		{
			RangeTblFunction *f = linitial_node(RangeTblFunction, rte->functions);

			if (IsA(f->funcexpr, FuncExpr))
				refuse(psprintf("It selects FROM function %s: rows that a function returns cannot be attributed to the relations they come from.",
								format_procedure(((FuncExpr *) f->funcexpr)->funcid)));
			refuse("It selects FROM a function: rows that a function returns cannot be attributed to the relations they come from.");
		}
		break;
		case RTE_TABLEFUNC:
			refuse("It selects FROM a table function (XMLTABLE): its rows are refused like those of a function in FROM.");
			break;
		case RTE_NAMEDTUPLESTORE:
			refuse(psprintf("It reads transition table %s.", rte->enrname ? rte->enrname : "(unnamed)"));
			break;
		case RTE_SUBQUERY:
		case RTE_JOIN:
		case RTE_VALUES:
		case RTE_CTE:
		case RTE_RESULT:
			break;
	}
}

/* check_sortgroup checks the operators of ORDER BY, GROUP BY, DISTINCT. */
static void
check_sortgroup(List *clauses)
{
	ListCell *lc;

	foreach (lc, clauses)
	{
		SortGroupClause *sgc = lfirst_node(SortGroupClause, lc);

		check_operator(sgc->eqop);
		check_operator(sgc->sortop);
	}
}

/* check_domain walks the CHECK constraints of a domain (and its bases). */
static void
check_domain(Oid typid, SourceWalk *w)
{
	/* in memory: the context's reset callback points at it */
	DomainConstraintRef *ref = palloc0(sizeof(DomainConstraintRef));
	ListCell *lc;

	InitDomainConstraintRef(typid, ref, CurrentMemoryContext, false);
	foreach (lc, ref->constraints)
	{
		DomainConstraintState *c = (DomainConstraintState *) lfirst(lc);

		if (c->constrainttype == DOM_CONSTRAINT_CHECK)
			(void) source_walker((Node *) c->check_expr, w);
	}
}

/*
 * source_walker walks a query tree: every Query (sublinks, CTEs, subqueries
 * in FROM, security quals), its range table, every function or operator it
 * calls.
 */
static bool
source_walker(Node *node, void *context)
{
	SourceWalk *w = (SourceWalk *) context;

	if (node == NULL)
		return false;
	check_stack_depth();
	if (IsA(node, Query))
	{
		Query *q = (Query *) node;
		ListCell *lc;

		/*
		 * The permissions the executor will check, checked now as the
		 * caller: the ledger never answers (caps, totals) about a relation
		 * the query may not read.
		 */
		(void) ExecCheckRTPerms(q->rtable, true);
		check_sortgroup(q->sortClause);
		check_sortgroup(q->groupClause);
		check_sortgroup(q->distinctClause);
		foreach (lc, q->windowClause)
		{
			WindowClause *wc = lfirst_node(WindowClause, lc);

			check_sortgroup(wc->partitionClause);
			check_sortgroup(wc->orderClause);
			if (OidIsValid(wc->startInRangeFunc))
				check_function(wc->startInRangeFunc);
			if (OidIsValid(wc->endInRangeFunc))
				check_function(wc->endInRangeFunc);
		}
		return query_tree_walker(q, source_walker, context, QTW_EXAMINE_RTES_BEFORE);
	}
	if (IsA(node, RangeTblEntry))
	{
		source_rte(w, (RangeTblEntry *) node);
		return false;
	}
	if (IsA(node, SortGroupClause))
	{
		/* ORDER BY / DISTINCT inside an aggregate */
		check_sortgroup(list_make1(node));
		return false;
	}
	if (IsA(node, CoerceToDomain))
		check_domain(((CoerceToDomain *) node)->resulttype, w);
	if (IsA(node, SubscriptingRef))
	{
		RegProcedure handler = get_typsubscript(((SubscriptingRef *) node)->refcontainertype, NULL);

		if (OidIsValid(handler))
			check_function(handler);
	}
	if (IsA(node, MinMaxExpr))
	{
		TypeCacheEntry *tce = lookup_type_cache(((MinMaxExpr *) node)->minmaxtype, TYPECACHE_CMP_PROC);

		if (OidIsValid(tce->cmp_proc))
			check_function(tce->cmp_proc);
	}
	(void) check_functions_in_node(node, function_checker, context);
	return expression_tree_walker(node, source_walker, context);
}

/*
 * lipvae_query_sources finds the base relations the query trees read
 * (sorted, distinct; partitions mapped to their root) or refuses a query
 * whose data cannot be attributed. It runs as the caller, right after the
 * query is prepared and before anything of it runs. A query that reads no
 * relation at all (SELECT 1, VALUES) has zero sources: it is allowed and
 * recorded with an empty list.
 */
void
lipvae_query_sources(List *queries, LipvaeSources *src)
{
	SourceWalk w = {NIL};
	ListCell *lc;
	int n = 0;

	foreach (lc, queries)
		(void) source_walker((Node *) lfirst_node(Query, lc), &w);

	src->nrels = 0;
	src->relids = NULL;
	if (w.relids == NIL)
		return;
	src->relids = palloc(sizeof(Oid) * list_length(w.relids));
	foreach (lc, w.relids)
		src->relids[n++] = lfirst_oid(lc);
	qsort(src->relids, n, sizeof(Oid), oid_cmp);
	src->nrels = (int) qunique(src->relids, n, sizeof(Oid), oid_cmp);
}

/* add_up returns a + b rounded up: the smallest double >= the exact sum. */
static double
add_up(double a, double b)
{
	double s = a + b;
	double bb = s - a;
	double err = (a - (s - bb)) + (b - bb); /* exact sum = s + err (TwoSum) */

	return err > 0 ? nextafter(s, INFINITY) : s;
}

/* fmt_num prints a double as its shortest exact decimal. */
static char *
fmt_num(double v)
{
	return double_to_shortest_decimal(v);
}

/* check_kind validates the kind and the spend of a training. */
static void
check_kind(const char *kind, double epsilon, double delta)
{
	if (strcmp(kind, LIPVAE_SPEND_NONE) == 0)
		return;
	if (strcmp(kind, LIPVAE_SPEND_CENTRAL) != 0 && strcmp(kind, LIPVAE_SPEND_PER_RECORD) != 0)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("unknown kind of privacy spend \"%s\"", kind)));
	if (!(isfinite(epsilon) && epsilon >= 0 && isfinite(delta) && delta >= 0 && delta <= 1))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("invalid privacy spend (epsilon %s, delta %s)", fmt_num(epsilon), fmt_num(delta))));
}

/* The ledger row of one relation, as locked. */
typedef struct SourceRow
{
	double central_epsilon;
	double central_delta;
	double per_record_epsilon;
	double per_record_delta;
	int64 non_private;
	int64 trainings;
	double central_cap; /* NaN: no cap */
	double per_record_cap;
} SourceRow;

/*
 * lock_source makes sure a relation has a ledger row and locks it until the
 * end of the transaction; it returns the row's current values. Runs as the
 * catalog owner inside an SPI connection.
 */
static void
lock_source(Oid relid, const char *name, SourceRow *row)
{
	Oid argtypes[2] = {OIDOID, TEXTOID};
	Datum args[2];
	HeapTuple tup;
	TupleDesc desc;
	bool isnull;
	int rc;

	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(name);
	rc = SPI_execute_with_args("INSERT INTO lipvae.ledger_sources (relation, relation_name) "
							   "VALUES ($1::pg_catalog.regclass, $2) ON CONFLICT (relation) DO NOTHING",
							   2, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "lipvae: could not create the ledger row of a relation");
	rc = SPI_execute_with_args("SELECT central_epsilon, central_delta, per_record_epsilon, per_record_delta, "
							   " non_private_trainings, trainings, central_cap, per_record_cap "
							   "FROM lipvae.ledger_sources "
							   "WHERE relation OPERATOR(pg_catalog.=) $1::pg_catalog.regclass FOR UPDATE",
							   1, argtypes, args, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "lipvae: could not lock the ledger row of a relation");
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	row->central_epsilon = DatumGetFloat8(SPI_getbinval(tup, desc, 1, &isnull));
	row->central_delta = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &isnull));
	row->per_record_epsilon = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	row->per_record_delta = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
	row->non_private = DatumGetInt64(SPI_getbinval(tup, desc, 5, &isnull));
	row->trainings = DatumGetInt64(SPI_getbinval(tup, desc, 6, &isnull));
	row->central_cap = DatumGetFloat8(SPI_getbinval(tup, desc, 7, &isnull));
	if (isnull)
		row->central_cap = NAN;
	row->per_record_cap = DatumGetFloat8(SPI_getbinval(tup, desc, 8, &isnull));
	if (isnull)
		row->per_record_cap = NAN;
}

/* The first cap a spend would exceed. */
typedef struct CapExceeded
{
	bool exceeded;
	const char *relation;
	const char *which; /* "central", "per-record" */
	double total;
	double cap;
	double spend; /* the relation's charge: group privacy of mult rows */
	int mult;
	bool exact; /* the recorded charge (else the check before reading) */
} CapExceeded;

/* check_cap notes whether row's total of kind plus epsilon exceeds its cap. */
static void
check_cap(const SourceRow *row, const char *name, const char *kind,
		  double epsilon, int mult, CapExceeded *ce)
{
	double total,
		cap;

	if (ce->exceeded)
		return;
	if (strcmp(kind, LIPVAE_SPEND_CENTRAL) == 0)
	{
		total = row->central_epsilon;
		cap = row->central_cap;
	}
	else if (strcmp(kind, LIPVAE_SPEND_PER_RECORD) == 0)
	{
		total = row->per_record_epsilon;
		cap = row->per_record_cap;
	}
	else
		return;
	if (isnan(cap) || !(add_up(total, epsilon) > cap))
		return;
	ce->exceeded = true;
	ce->relation = name;
	ce->which = kind;
	ce->total = total;
	ce->cap = cap;
	ce->spend = epsilon;
	ce->mult = mult;
}

/* mult_text describes a multiplicity for messages. */
static char *
mult_text(int mult)
{
	if (mult == LIPVAE_MULT_UNBOUNDED)
		return pstrdup(" (one of its rows can change unboundedly many rows of the training query: no guarantee is left for its rows)");
	if (mult > 1)
		return psprintf(" (one of its rows can change up to %d rows of the training query: group privacy of %d rows)", mult, mult);
	return "";
}

/* cap_error reports a cap that a training would exceed. */
static void
cap_error(const CapExceeded *ce)
{
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					errmsg("training would exceed the %s privacy cap of relation %s",
						   ce->which, ce->relation),
					errdetail("The %s epsilon spent on %s so far is %s; this training would spend %s %s more%s; the cap is %s.",
							  ce->which, ce->relation, fmt_num(ce->total),
							  ce->exact ? "exactly" : "at least", fmt_num(ce->spend),
							  ce->exact || ce->mult == LIPVAE_MULT_UNBOUNDED ? mult_text(ce->mult)
																			 : psprintf("%s (from the requested epsilon; the exact charge, checked again before the model is stored, can be larger)",
																						mult_text(ce->mult)),
							  fmt_num(ce->cap)),
					errhint("A superuser or a member of the role that owns %s may raise the cap with lipvae.lipvae_set_cap(relation, %s => ...).",
							ce->relation,
							strcmp(ce->which, LIPVAE_SPEND_CENTRAL) == 0 ? "central_epsilon" : "per_record_epsilon")));
}

/* is_temp says whether a relation is temporary (no ledger row). */
static bool
is_temp(Oid relid)
{
	return get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
}

/*
 * require_catalog_03 refuses to write or read ledger entries with a
 * catalog older than 0.3 (no multiplicities): sampling still works then.
 */
static void
require_catalog_03(void)
{
	Oid nsp = get_namespace_oid("lipvae", false);
	Oid rel = get_relname_relid("ledger_entries", nsp);

	if (!OidIsValid(rel) || get_attnum(rel, "multiplicities") == InvalidAttrNumber)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						errmsg("extension lipvae in this database is older than its library"),
						errdetail("The installed library is lipvae 0.3, whose ledger records multiplicities; the catalog is that of an earlier version."),
						errhint("Run ALTER EXTENSION lipvae UPDATE (as a superuser); existing models keep working.")));
}

/*
 * lipvae_ledger_charge returns what a training spending (epsilon, delta) on
 * one row of its query spends on one row of source relation i: group
 * privacy of the src->mult[i] query rows that row can change
 * (multiplicity.c); (+inf, 1) when no guarantee is left.
 */
void
lipvae_ledger_charge(const LipvaeSources *src, int i, double epsilon,
					 double delta, double *eps_i, double *delta_i)
{
	int k = src->mult ? src->mult[i] : LIPVAE_MULT_UNBOUNDED;

	if (k == LIPVAE_MULT_UNBOUNDED)
	{
		*eps_i = INFINITY;
		*delta_i = 1;
		return;
	}
	(void) lv_group_privacy(epsilon, delta, k, eps_i, delta_i);
}

/*
 * lipvae_ledger_check refuses a training that would exceed a cap, before
 * any data is read: for every relation of src with a cap on the total of
 * kind, the total so far plus epsilon (the planned spend, an upper bound of
 * what is recorded) must not exceed the cap. It locks the ledger rows of the
 * relations until the end of the transaction, so that two concurrent
 * trainings cannot both pass one cap. Temporary relations have no ledger
 * row; non-private trainings have no cap.
 */
void
lipvae_ledger_check(const LipvaeSources *src, const char *kind,
					double epsilon, double delta)
{
	LipvaeOwnerState st;
	CapExceeded ce = {false};
	char **names;
	int i;

	check_kind(kind, epsilon, delta);
	require_catalog_03();
	if (src->nrels == 0 || strcmp(kind, LIPVAE_SPEND_NONE) == 0)
		return;
	names = palloc(sizeof(char *) * src->nrels);
	for (i = 0; i < src->nrels; i++)
		names[i] = lipvae_relation_name(src->relids[i]);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	for (i = 0; i < src->nrels; i++)
	{
		SourceRow row;
		double e,
			d;

		if (is_temp(src->relids[i]))
			continue;
		lipvae_ledger_charge(src, i, epsilon, delta, &e, &d);
		lock_source(src->relids[i], names[i], &row);
		check_cap(&row, names[i], kind, e, src->mult[i], &ce);
	}
	lipvae_restore_user(&st);
	SPI_finish();
	if (ce.exceeded)
		cap_error(&ce);
}

/*
 * insert_entry records one training in lipvae.ledger_entries: the
 * relations read with their multiplicities (NULL: unbounded) and what each
 * was charged. Runs as the catalog owner inside an SPI connection.
 */
static void
insert_entry(const LipvaeSources *src, Oid trainer, const char *model, const char *kind,
			 const char *mechanism, const char *relation, double epsilon,
			 double delta, const double *charged_eps, const double *charged_delta)
{
	int n = src->nrels;
	int m = Max(n, 1);
	Datum *rels = palloc(sizeof(Datum) * m);
	bool *rel_nulls = palloc(sizeof(bool) * m);
	Datum *names = palloc(sizeof(Datum) * m);
	Datum *mults = palloc(sizeof(Datum) * m);
	bool *mult_nulls = palloc(sizeof(bool) * m);
	Datum *ce = palloc(sizeof(Datum) * m);
	Datum *cd = palloc(sizeof(Datum) * m);
	int dims[1] = {n};
	int lbs[1] = {1};
	Oid argtypes[12] = {TEXTOID, OIDOID, REGCLASSARRAYOID, TEXTARRAYOID, TEXTOID,
						TEXTOID, TEXTOID, FLOAT8OID, FLOAT8OID, INT4ARRAYOID,
						FLOAT8ARRAYOID, FLOAT8ARRAYOID};
	Datum args[12];
	char nulls[12];
	bool none = strcmp(kind, LIPVAE_SPEND_NONE) == 0;
	int i;

	memset(nulls, ' ', sizeof(nulls));
	for (i = 0; i < n; i++)
	{
		rels[i] = ObjectIdGetDatum(src->relids[i]);
		rel_nulls[i] = is_temp(src->relids[i]);
		names[i] = CStringGetTextDatum(lipvae_relation_name(src->relids[i]));
		mults[i] = Int32GetDatum(src->mult[i]);
		mult_nulls[i] = src->mult[i] == LIPVAE_MULT_UNBOUNDED;
		ce[i] = Float8GetDatum(charged_eps[i]);
		cd[i] = Float8GetDatum(charged_delta[i]);
	}
	args[0] = CStringGetTextDatum(model);
	args[1] = ObjectIdGetDatum(trainer);
	args[2] = PointerGetDatum(construct_md_array(rels, rel_nulls, 1, dims, lbs, REGCLASSOID,
												 sizeof(Oid), true, TYPALIGN_INT));
	args[3] = PointerGetDatum(construct_md_array(names, NULL, 1, dims, lbs, TEXTOID,
												 -1, false, TYPALIGN_INT));
	args[4] = CStringGetTextDatum(kind);
	args[5] = CStringGetTextDatum(mechanism);
	args[6] = relation ? CStringGetTextDatum(relation) : (Datum) 0;
	nulls[6] = relation ? ' ' : 'n';
	args[7] = Float8GetDatum(epsilon);
	args[8] = Float8GetDatum(delta);
	args[9] = PointerGetDatum(construct_md_array(mults, mult_nulls, 1, dims, lbs, INT4OID,
												 sizeof(int32), true, TYPALIGN_INT));
	args[10] = PointerGetDatum(construct_md_array(ce, NULL, 1, dims, lbs, FLOAT8OID,
												  sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[11] = PointerGetDatum(construct_md_array(cd, NULL, 1, dims, lbs, FLOAT8OID,
												  sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (none)
		nulls[7] = nulls[8] = nulls[10] = nulls[11] = 'n';
	if (SPI_execute_with_args("INSERT INTO lipvae.ledger_entries (model, trainer, relations, relation_names, "
							  " kind, mechanism, neighbouring, epsilon, delta, multiplicities, "
							  " charged_epsilon, charged_delta) "
							  "VALUES ($1, $2::pg_catalog.regrole, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
							  12, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "lipvae: could not record the training in the ledger");
}

/* update_source writes a relation's new running totals. */
static void
update_source(Oid relid, const char *name, const SourceRow *row)
{
	Oid utypes[8] = {OIDOID, TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID,
					 FLOAT8OID, INT8OID, INT8OID};
	Datum uargs[8];
	int rc;

	uargs[0] = ObjectIdGetDatum(relid);
	uargs[1] = CStringGetTextDatum(name);
	uargs[2] = Float8GetDatum(row->central_epsilon);
	uargs[3] = Float8GetDatum(row->central_delta);
	uargs[4] = Float8GetDatum(row->per_record_epsilon);
	uargs[5] = Float8GetDatum(row->per_record_delta);
	uargs[6] = Int64GetDatum(row->non_private);
	uargs[7] = Int64GetDatum(row->trainings);
	rc = SPI_execute_with_args("UPDATE lipvae.ledger_sources SET relation_name = $2, "
							   " central_epsilon = $3, central_delta = $4, "
							   " per_record_epsilon = $5, per_record_delta = $6, "
							   " non_private_trainings = $7, trainings = $8, "
							   " last_training = pg_catalog.now() "
							   "WHERE relation OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
							   8, utypes, uargs, NULL, false, 0);
	if (rc != SPI_OK_UPDATE || SPI_processed != 1)
		elog(ERROR, "lipvae: could not update the ledger row of a relation");
}

/* add_spend adds a charge to a ledger row's totals of kind. */
static void
add_spend(SourceRow *row, const char *kind, double eps, double delta)
{
	if (strcmp(kind, LIPVAE_SPEND_CENTRAL) == 0)
	{
		row->central_epsilon = add_up(row->central_epsilon, eps);
		row->central_delta = Min(add_up(row->central_delta, delta), 1.0);
	}
	else if (strcmp(kind, LIPVAE_SPEND_PER_RECORD) == 0)
	{
		row->per_record_epsilon = add_up(row->per_record_epsilon, eps);
		row->per_record_delta = Min(add_up(row->per_record_delta, delta), 1.0);
	}
	else
		row->non_private++;
	row->trainings++;
}

/*
 * lipvae_ledger_record records the spend of one training, in the
 * transaction that stores the model: one entry (time, model, trainer, the
 * relations read, kind, mechanism, neighbouring relation, epsilon, delta,
 * each relation's multiplicity and charge) and the running totals of every
 * relation read, each charged group privacy of its multiplicity. It locks
 * the rows again (a no-op after lipvae_ledger_check) and refuses a spend
 * that would exceed a cap, so that recording more than was checked cannot
 * pass a cap either.
 */
void
lipvae_ledger_record(const LipvaeSources *src, const char *model,
					 const char *kind, const char *mechanism,
					 const char *relation, double epsilon, double delta)
{
	LipvaeOwnerState st;
	CapExceeded ce = {false};
	double *charged_eps = palloc(sizeof(double) * Max(src->nrels, 1));
	double *charged_delta = palloc(sizeof(double) * Max(src->nrels, 1));
	Oid trainer = GetUserId();
	int i;

	ce.exact = true;
	check_kind(kind, epsilon, delta);
	for (i = 0; i < src->nrels; i++)
		lipvae_ledger_charge(src, i, epsilon, delta, &charged_eps[i], &charged_delta[i]);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	for (i = 0; i < src->nrels && !ce.exceeded; i++)
	{
		SourceRow row;
		char *name = lipvae_relation_name(src->relids[i]);

		if (is_temp(src->relids[i]))
			continue;
		lock_source(src->relids[i], name, &row);
		check_cap(&row, name, kind, charged_eps[i], src->mult[i], &ce);
		if (ce.exceeded)
			break;
		add_spend(&row, kind, charged_eps[i], charged_delta[i]);
		update_source(src->relids[i], name, &row);
	}
	if (!ce.exceeded)
		insert_entry(src, trainer, model, kind, mechanism, relation, epsilon, delta,
					 charged_eps, charged_delta);
	lipvae_restore_user(&st);
	SPI_finish();
	if (ce.exceeded)
		cap_error(&ce);
}

/*
 * may_see_relation says whether the caller may see a relation's ledger: a
 * superuser, a member of the role owning it, or a member of lipvae_trainer
 * that may SELECT it (or some of its columns). A dropped relation's rows
 * are for superusers only.
 */
static bool
may_see_relation(Oid relid, bool trainer)
{
	Oid me = GetUserId();
	HeapTuple tup;
	Oid owner;

	if (superuser_arg(me))
		return true;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	if (has_privs_of_role(me, owner))
		return true;
	return trainer && (pg_class_aclcheck(relid, me, ACL_SELECT) == ACLCHECK_OK ||
					   pg_attribute_aclcheck_all(relid, me, ACL_SELECT, ACLMASK_ANY) == ACLCHECK_OK);
}

/* is_trainer says whether the caller has the privileges of lipvae_trainer. */
static bool
is_trainer(void)
{
	Oid role = get_role_oid("lipvae_trainer", true);

	return OidIsValid(role) && has_privs_of_role(GetUserId(), role);
}

/*
 * lipvae_ledger returns the totals and caps of every relation the caller
 * may see (see may_see_relation), by name.
 */
Datum
lipvae_ledger(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	LipvaeOwnerState st;
	bool trainer = is_trainer();
	uint64 r;
	int rc;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	rc = SPI_execute("SELECT relation, central_epsilon, central_delta, per_record_epsilon, per_record_delta, "
					 " non_private_trainings, trainings, central_cap, per_record_cap "
					 "FROM lipvae.ledger_sources WHERE relation IS NOT NULL "
					 "ORDER BY relation::pg_catalog.text COLLATE \"C\", relation::pg_catalog.oid",
					 false, 0);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: ledger lookup failed");
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple tup = SPI_tuptable->vals[r];
		TupleDesc desc = SPI_tuptable->tupdesc;
		Datum values[9];
		bool nulls[9];
		int i;

		for (i = 0; i < 9; i++)
			values[i] = SPI_getbinval(tup, desc, i + 1, &nulls[i]);
		if (!may_see_relation(DatumGetObjectId(values[0]), trainer))
			continue;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * entry_visible says whether the caller may see a ledger entry: its own
 * training (or a member's), or one that read a relation the caller may see.
 */
static bool
entry_visible(Oid who, Datum relations, bool relations_null, bool trainer)
{
	Oid me = GetUserId();
	bool visible = superuser_arg(me) || has_privs_of_role(me, who);
	Datum *elems;
	bool *enulls;
	int nelems,
		i;

	if (visible || relations_null)
		return visible;
	deconstruct_array(DatumGetArrayTypeP(relations), REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT,
					  &elems, &enulls, &nelems);
	for (i = 0; i < nelems && !visible; i++)
		visible = !enulls[i] && may_see_relation(DatumGetObjectId(elems[i]), trainer);
	return visible;
}

/*
 * read_entries runs a query over lipvae.ledger_entries as the catalog owner
 * (its columns 1-3: entry, trainer oid, relations) and keeps the rows the
 * caller may see; SPI must be connected. Returns their number; *rows holds
 * them.
 */
static uint64
read_entries(const char *sql, HeapTuple **rows, TupleDesc *desc)
{
	LipvaeOwnerState st;
	bool trainer = is_trainer();
	uint64 r,
		n = 0;
	int rc;

	require_catalog_03();
	lipvae_become_owner(&st);
	rc = SPI_execute(sql, false, 0);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lipvae: ledger lookup failed");
	*rows = palloc(sizeof(HeapTuple) * Max(SPI_processed, 1));
	*desc = SPI_tuptable->tupdesc;
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple tup = SPI_tuptable->vals[r];
		bool n2,
			n3;
		Oid who = DatumGetObjectId(SPI_getbinval(tup, *desc, 2, &n2));
		Datum rels = SPI_getbinval(tup, *desc, 3, &n3);

		if (entry_visible(who, rels, n3, trainer))
			(*rows)[n++] = tup;
	}
	return n;
}

/*
 * lipvae_ledger_entries returns the entries the caller may see: those of
 * the caller's own trainings, and those that read a relation the caller may
 * see; superusers see all.
 */
Datum
lipvae_ledger_entries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HeapTuple *rows;
	TupleDesc desc;
	uint64 n,
		r;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = read_entries("SELECT entry, trainer::pg_catalog.oid, relations, trained_at, model, relation_names, "
					 " kind, mechanism, neighbouring, epsilon, delta "
					 "FROM lipvae.ledger_entries ORDER BY entry",
					 &rows, &desc);
	for (r = 0; r < n; r++)
	{
		static const int order[11] = {1, 4, 5, 2, 3, 6, 7, 8, 9, 10, 11};
		Datum values[11];
		bool nulls[11];
		char *who;
		int i;

		for (i = 0; i < 11; i++)
			values[i] = SPI_getbinval(rows[r], desc, order[i], &nulls[i]);
		who = GetUserNameFromId(DatumGetObjectId(values[3]), true);
		values[3] = CStringGetTextDatum(who ? who : "(dropped role)");
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * lipvae_ledger_charges returns, for every entry the caller may see, one
 * row per relation it read: its multiplicity (NULL: unbounded) and what it
 * was charged; of another role's training, only the relations the caller
 * may see. Entries made before 0.3 have no such rows.
 */
Datum
lipvae_ledger_charges(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool trainer = is_trainer();
	HeapTuple *rows;
	TupleDesc desc;
	uint64 n,
		r;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	n = read_entries("SELECT e.entry, e.trainer::pg_catalog.oid, e.relations, e.model, c.rel, c.name, "
					 " c.mult, c.eps, c.delta "
					 "FROM lipvae.ledger_entries e, "
					 " LATERAL ROWS FROM (pg_catalog.unnest(e.relations), pg_catalog.unnest(e.relation_names), "
					 "   pg_catalog.unnest(e.multiplicities), pg_catalog.unnest(e.charged_epsilon), "
					 "   pg_catalog.unnest(e.charged_delta)) AS c(rel, name, mult, eps, delta) "
					 "WHERE e.multiplicities IS NOT NULL ORDER BY e.entry",
					 &rows, &desc);
	for (r = 0; r < n; r++)
	{
		static const int order[7] = {1, 4, 5, 6, 7, 8, 9};
		Datum values[7];
		bool nulls[7];
		bool wnull;
		Oid who = DatumGetObjectId(SPI_getbinval(rows[r], desc, 2, &wnull));
		int i;

		for (i = 0; i < 7; i++)
			values[i] = SPI_getbinval(rows[r], desc, order[i], &nulls[i]);
		/* another's training: only the relations the caller may see */
		if (!superuser() && !has_privs_of_role(GetUserId(), who) &&
			(nulls[2] || !may_see_relation(DatumGetObjectId(values[2]), trainer)))
			continue;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * cap_arg reads a cap argument: NULL leaves the cap as it is (*given
 * false), 'Infinity' removes it (*value NaN), else a number >= 0.
 */
static void
cap_arg(FunctionCallInfo fcinfo, int argno, const char *argname, bool *given,
		double *value)
{
	double v;

	*given = !PG_ARGISNULL(argno);
	*value = NAN;
	if (!*given)
		return;
	v = PG_GETARG_FLOAT8(argno);
	if (isnan(v) || v < 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("%s must be a number >= 0 or 'Infinity', got %s", argname, fmt_num(v)),
						errhint("'Infinity' removes the cap; NULL leaves it as it is.")));
	if (!isinf(v))
		*value = v;
}

/*
 * lipvae_set_cap sets, raises, lowers or removes the caps of a relation:
 * only a superuser or a member of the role that owns it may. A cap below
 * the current total is allowed: it blocks further training.
 */
Datum
lipvae_set_cap(PG_FUNCTION_ARGS)
{
	LipvaeOwnerState st;
	Oid relid;
	HeapTuple tup;
	Form_pg_class rel;
	char relkind;
	char persistence;
	bool ispartition;
	Oid owner;
	char *name;
	bool central_given,
		per_record_given;
	double central,
		per_record;
	Oid argtypes[7] = {OIDOID, TEXTOID, FLOAT8OID, FLOAT8OID, BOOLOID, BOOLOID, OIDOID};
	Datum args[7];
	char nulls[7];
	int rc;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("relation must not be NULL")));
	relid = PG_GETARG_OID(0);
	cap_arg(fcinfo, 1, "central_epsilon", &central_given, &central);
	cap_arg(fcinfo, 2, "per_record_epsilon", &per_record_given, &per_record);
	if (!central_given && !per_record_given)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("no cap given"),
						errhint("Pass central_epsilon and/or per_record_epsilon; 'Infinity' removes a cap.")));

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("relation with OID %u does not exist", relid)));
	rel = (Form_pg_class) GETSTRUCT(tup);
	relkind = rel->relkind;
	persistence = rel->relpersistence;
	ispartition = rel->relispartition;
	owner = rel->relowner;
	ReleaseSysCache(tup);
	name = lipvae_relation_name(relid);

	if (!superuser() && !has_privs_of_role(GetUserId(), owner))
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						errmsg("must be the owner of relation %s or a superuser to set its privacy caps", name)));
	if (relkind == RELKIND_VIEW)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("%s is a view", name),
						errdetail("Trainings are charged to the base relations a view reads, not to the view."),
						errhint("Set caps on the tables the view reads.")));
	if (relkind == RELKIND_FOREIGN_TABLE)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("%s is a foreign table", name),
						errdetail("Trainings on foreign tables are refused: a cap would never apply.")));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_MATVIEW && relkind != RELKIND_SEQUENCE)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("%s is not a table", name),
						errdetail("Only tables, partitioned tables, materialized views and sequences are charged by the ledger.")));
	if (ispartition)
	{
		char *root = lipvae_relation_name(lipvae_partition_root(relid));

		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("%s is a partition", name),
						errdetail("Trainings that read a partition are charged to the root of its partitioned table, %s.", root),
						errhint("Set the cap on %s.", root)));
	}
	if (persistence == RELPERSISTENCE_TEMP)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("%s is a temporary table", name),
						errdetail("Temporary tables are listed in the ledger's entries but carry no totals or caps.")));

	memset(nulls, ' ', sizeof(nulls));
	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(name);
	args[2] = Float8GetDatum(central);
	if (isnan(central))
		nulls[2] = 'n';
	args[3] = Float8GetDatum(per_record);
	if (isnan(per_record))
		nulls[3] = 'n';
	args[4] = BoolGetDatum(central_given);
	args[5] = BoolGetDatum(per_record_given);
	args[6] = ObjectIdGetDatum(GetUserId());

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	lipvae_become_owner(&st);
	rc = SPI_execute_with_args("INSERT INTO lipvae.ledger_sources AS s (relation, relation_name, central_cap, "
							   " per_record_cap, cap_set_by, cap_set_at) "
							   "VALUES ($1::pg_catalog.regclass, $2, $3, $4, $7::pg_catalog.regrole, pg_catalog.now()) "
							   "ON CONFLICT (relation) DO UPDATE SET relation_name = excluded.relation_name, "
							   " central_cap = CASE WHEN $5 THEN excluded.central_cap ELSE s.central_cap END, "
							   " per_record_cap = CASE WHEN $6 THEN excluded.per_record_cap ELSE s.per_record_cap END, "
							   " cap_set_by = excluded.cap_set_by, cap_set_at = excluded.cap_set_at",
							   7, argtypes, args, nulls, false, 0);
	lipvae_restore_user(&st);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "lipvae: could not set the cap");
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * lipvae_ledger_dropped is the sql_drop event trigger: when a relation with
 * a ledger row is dropped, its row keeps its totals, caps and name but no
 * longer points at the OID (relation NULL, dropped set), and its OID is
 * replaced by NULL in the entries (whose relation_names keep the names).
 * So a later relation that reuses the OID, or a dump restored elsewhere,
 * never inherits a dropped relation's ledger.
 */
Datum
lipvae_ledger_dropped(PG_FUNCTION_ARGS)
{
	LipvaeOwnerState st;
	Oid nsp;
	Oid argtypes[2] = {OIDARRAYOID, TEXTARRAYOID};
	Datum args[2];
	bool isnull;
	int rc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("lipvae_ledger_dropped must be called as an event trigger")));
	/* nothing to do while the extension itself is being dropped */
	nsp = get_namespace_oid("lipvae", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("ledger_sources", nsp)) ||
		!OidIsValid(get_relname_relid("ledger_entries", nsp)) ||
		!OidIsValid(get_relname_relid("models", nsp)))
		PG_RETURN_VOID();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute("SELECT pg_catalog.array_agg(d.objid), pg_catalog.array_agg(d.object_identity) "
					 "FROM pg_catalog.pg_event_trigger_dropped_objects() AS d "
					 "WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
					 " AND d.objsubid OPERATOR(pg_catalog.=) 0",
					 true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "lipvae: could not read the dropped objects");
	args[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
	{
		SPI_finish();
		PG_RETURN_VOID();
	}
	args[1] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);

	lipvae_become_owner(&st);
	rc = SPI_execute_with_args("UPDATE lipvae.ledger_sources AS s SET relation = NULL, "
							   " relation_name = d.name, dropped = pg_catalog.now() "
							   "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS d(relid, name) "
							   "WHERE s.relation OPERATOR(pg_catalog.=) d.relid",
							   2, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "lipvae: could not update the ledger of a dropped relation");
	rc = SPI_execute_with_args("UPDATE lipvae.ledger_entries AS e SET relations = "
							   " (SELECT pg_catalog.array_agg(CASE WHEN u.r OPERATOR(pg_catalog.=) ANY ($1) "
							   "   THEN NULL ELSE u.r END ORDER BY u.o) "
							   "  FROM pg_catalog.unnest(e.relations) WITH ORDINALITY AS u(r, o)) "
							   "WHERE e.relations OPERATOR(pg_catalog.&&) $1::pg_catalog.regclass[]",
							   1, argtypes, args, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "lipvae: could not update the ledger entries of a dropped relation");
	lipvae_restore_user(&st);
	SPI_finish();
	PG_RETURN_VOID();
}
