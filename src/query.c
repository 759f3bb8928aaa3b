/*
 * query.c - the training query: parsed, checked, planned and read exactly
 * once, as the caller.
 *
 * The query is parsed, analysed and rewritten once (the relations it reads
 * are locked from then on); the ledger checks those query trees; the same
 * trees are planned once, and the plan's relations are checked against the
 * ones the ledger charges; the rows are read through a portal running that
 * very plan. There is no plan cache in between, so nothing (search_path, a
 * revoked privilege, a replaced view) can make the rows come from another
 * query than the one that was checked. Every batch's tuple descriptor is
 * checked against the described columns.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "rewrite/rewriteHandler.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"

#include "lipvae.h"

PG_FUNCTION_INFO_V1(lipvae_report_query);

/* A DestReceiver that keeps one batch of tuples, copied. */
typedef struct BatchReceiver
{
	DestReceiver pub;
	TupleDesc expect; /* the described columns */
	MemoryContext cxt;
	HeapTuple *vals;
	uint64 n;
	uint64 cap;
} BatchReceiver;

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

/* check_select refuses anything but one plain SELECT. */
static void
check_select(Query *q, CommandTag tag)
{
	if (q->commandType != CMD_SELECT || q->utilityStmt != NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query must be a plain SELECT"),
						errdetail("lipvae only reads data; %s statements are refused.",
								  tag == CMDTAG_UNKNOWN ? "other" : GetCommandTagName(tag)),
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

/*
 * query_error_context points an error at the training query's text, as SPI
 * does: a syntax error's position within it, else the statement itself.
 */
static void
query_error_context(void *arg)
{
	const char *sql = (const char *) arg;
	int pos = geterrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(sql);
	}
	else
		errcontext("training query \"%s\"", sql);
}

/*
 * wrapped_error_context names the training query in an error of a query
 * that wraps it (lipvae_query_wrap), and never shows the wrapping text:
 * it holds the domain (DP bounds and category lists), which must not reach
 * the caller of a training that then fails, uncharged.
 */
static void
wrapped_error_context(void *arg)
{
	errposition(0);
	internalerrposition(0);
	internalerrquery(NULL);
	errcontext("counting over training query \"%s\"", (const char *) arg);
}

/* push_query_context installs the error context of lq's text (or, wrapped, its training query's). */
static void
push_query_context(ErrorContextCallback *cb, const LipvaeQuery *lq)
{
	cb->callback = lq->wraps ? wrapped_error_context : query_error_context;
	cb->arg = (void *) (lq->wraps ? lq->wraps : lq->sql);
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/* push_context installs query_error_context for sql. */
static void
push_context(ErrorContextCallback *cb, const char *sql)
{
	cb->callback = query_error_context;
	cb->arg = (void *) sql;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/*
 * lipvae_query_parse parses, analyses and rewrites the training query once,
 * as the caller, and refuses anything but exactly one plain SELECT (no
 * locking clause, no data-modifying CTE, no SELECT INTO).
 */
LipvaeQuery *
lipvae_query_parse(const char *sql)
{
	LipvaeQuery *lq = palloc0(sizeof(LipvaeQuery));
	ErrorContextCallback cb;
	List *raw;
	RawStmt *rs;
	ListCell *lc;

	push_context(&cb, sql);
	raw = pg_parse_query(sql);

	if (list_length(raw) != 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query must be exactly one statement, got %d",
							   list_length(raw)),
						errhint("Pass a single SELECT.")));
	rs = linitial_node(RawStmt, raw);
	if (IsA(rs->stmt, SelectStmt) && ((SelectStmt *) rs->stmt)->intoClause != NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query must not be SELECT INTO"),
						errdetail("lipvae only reads data; SELECT INTO creates a table."),
						errhint("Remove the INTO clause.")));
	lq->sql = sql;
	lq->queries = pg_analyze_and_rewrite_fixedparams(rs, sql, NULL, 0, NULL);
	if (list_length(lq->queries) != 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query must be a plain SELECT"),
						errdetail("It rewrites to %d statements.", list_length(lq->queries)),
						errhint("Pass a single SELECT.")));
	foreach (lc, lq->queries)
		check_select(lfirst_node(Query, lc), CreateCommandTag(rs->stmt));
	lq->desc = ExecCleanTypeFromTL(linitial_node(Query, lq->queries)->targetList);
	if (lq->desc->natts == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query returns no columns")));
	error_context_stack = cb.previous;
	return lq;
}

/* charged says whether relid (or its partition root) is a source. */
static bool
charged(const LipvaeSources *src, Oid relid)
{
	int i;

	relid = lipvae_partition_root(relid);
	for (i = 0; i < src->nrels; i++)
		if (src->relids[i] == relid)
			return true;
	return false;
}

/*
 * lipvae_query_plan plans the checked query trees once and verifies that
 * the plan reads no relation the ledger does not charge (one attached as a
 * child or partition since the check, say). A parallel plan is allowed
 * (parallel) for a query read in one fetch (lipvae_query_fetch_all).
 */
void
lipvae_query_plan(LipvaeQuery *lq, const LipvaeSources *src, bool parallel)
{
	Query *q = linitial_node(Query, lq->queries);
	PlannedStmt *stmt;
	ListCell *lc;
	ErrorContextCallback cb;

	push_query_context(&cb, lq);
	/* the planner scribbles on its input: lq->queries stays the checked tree */
	stmt = pg_plan_query(copyObject(q), lq->sql,
						 CURSOR_OPT_NO_SCROLL | (parallel ? CURSOR_OPT_PARALLEL_OK : 0), NULL);
	error_context_stack = cb.previous;
	if (stmt->commandType != CMD_SELECT || stmt->hasModifyingCTE || stmt->rowMarks != NIL)
		elog(ERROR, "lipvae: the training query's plan is not a plain SELECT");
	foreach (lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION || rte->relkind == RELKIND_VIEW)
			continue;
		if (!charged(src, rte->relid))
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							errmsg("the training query changed while it was checked"),
							errdetail("Its plan reads relation %s, which the privacy ledger did not find in the query.",
									  lipvae_relation_name(rte->relid)),
							errhint("Run the training again.")));
	}
	lq->stmt = stmt;
}

/* same_columns checks a result descriptor against the described columns. */
static void
same_columns(TupleDesc got, TupleDesc want)
{
	int i;
	bool same = got->natts == want->natts;

	for (i = 0; same && i < want->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(got, i);
		Form_pg_attribute b = TupleDescAttr(want, i);

		/* the type decides how a value is read; a typmod can differ (the
		 * planner's VALUES columns) without changing that */
		same = a->atttypid == b->atttypid && a->attisdropped == b->attisdropped;
	}
	if (!same)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
						errmsg("the training query's rows do not match its described columns"),
						errhint("Run the training again.")));
}

/* batch_startup checks the descriptor of the rows about to come. */
static void
batch_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	BatchReceiver *r = (BatchReceiver *) self;

	same_columns(typeinfo, r->expect);
}

/* batch_receive keeps a copy of one row. */
static bool
batch_receive(TupleTableSlot *slot, DestReceiver *self)
{
	BatchReceiver *r = (BatchReceiver *) self;
	MemoryContext old = MemoryContextSwitchTo(r->cxt);

	if (r->n == r->cap)
	{
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->vals = r->vals ? repalloc_huge(r->vals, sizeof(HeapTuple) * r->cap)
						  : MemoryContextAllocHuge(r->cxt, sizeof(HeapTuple) * r->cap);
	}
	same_columns(slot->tts_tupleDescriptor, r->expect);
	r->vals[r->n++] = ExecCopySlotHeapTuple(slot);
	/* wide rows: a batch counts against a training's lipvae.training_memory */
	if ((r->n & 255) == 0)
		lipvae_check_memory(0);
	MemoryContextSwitchTo(old);
	return true;
}

/* batch_shutdown has nothing to do. */
static void
batch_shutdown(DestReceiver *self)
{
}

/* batch_destroy has nothing to free: the context goes with the query. */
static void
batch_destroy(DestReceiver *self)
{
}

/*
 * lipvae_query_open starts the planned query in a portal of its own, under
 * the current snapshot (read-only, as the caller).
 */
void
lipvae_query_open(LipvaeQuery *lq)
{
	BatchReceiver *r = palloc0(sizeof(BatchReceiver));
	Portal portal = CreateNewPortal();
	ErrorContextCallback cb;

	portal->visible = false;
	portal->cursorOptions = CURSOR_OPT_NO_SCROLL;
	PortalDefineQuery(portal, NULL, lq->sql, CMDTAG_SELECT, list_make1(lq->stmt), NULL);
	push_query_context(&cb, lq);
	PortalStart(portal, NULL, 0, GetActiveSnapshot());
	error_context_stack = cb.previous;
	same_columns(portal->tupDesc, lq->desc);
	r->pub.receiveSlot = batch_receive;
	r->pub.rStartup = batch_startup;
	r->pub.rShutdown = batch_shutdown;
	r->pub.rDestroy = batch_destroy;
	r->pub.mydest = DestNone;
	r->expect = lq->desc;
	r->cxt = AllocSetContextCreate(CurrentMemoryContext, "lipvae query batch",
								   ALLOCSET_DEFAULT_SIZES);
	lq->portal = portal;
	lq->receiver = r;
}

/*
 * lipvae_query_fetch reads up to count more rows; *rows points at copies
 * that stay valid until the next fetch. Returns how many were read (0: no
 * more rows).
 */
uint64
lipvae_query_fetch(LipvaeQuery *lq, long count, HeapTuple **rows)
{
	BatchReceiver *r = (BatchReceiver *) lq->receiver;
	ErrorContextCallback cb;

	CHECK_FOR_INTERRUPTS();
	MemoryContextReset(r->cxt);
	r->vals = NULL;
	r->n = r->cap = 0;
	push_query_context(&cb, lq);
	(void) PortalRunFetch(lq->portal, FETCH_FORWARD, count, (DestReceiver *) r);
	error_context_stack = cb.previous;
	*rows = r->vals;
	return r->n;
}

/*
 * lipvae_query_fetch_all reads every row at once, running the plan to its
 * end (so that a parallel plan runs in parallel); as lipvae_query_fetch.
 */
uint64
lipvae_query_fetch_all(LipvaeQuery *lq, HeapTuple **rows)
{
	BatchReceiver *r = (BatchReceiver *) lq->receiver;
	ErrorContextCallback cb;

	CHECK_FOR_INTERRUPTS();
	MemoryContextReset(r->cxt);
	r->vals = NULL;
	r->n = r->cap = 0;
	push_query_context(&cb, lq);
	(void) PortalRun(lq->portal, FETCH_ALL, false, true, (DestReceiver *) r, (DestReceiver *) r, NULL);
	error_context_stack = cb.previous;
	*rows = r->vals;
	return r->n;
}

/* lipvae_query_close drops the portal and its rows. */
void
lipvae_query_close(LipvaeQuery *lq)
{
	BatchReceiver *r = (BatchReceiver *) lq->receiver;

	PortalDrop(lq->portal, false);
	MemoryContextDelete(r->cxt);
	lq->portal = NULL;
}

/*
 * lipvae_report_query (SQL: lipvae.lipvae_report_query(query text) RETURNS
 * text) is what lipvae_report runs as the model's training query: the text
 * is parsed once under the caller's search_path and checked as a training
 * query is (one plain SELECT; every function built in, nothing the ledger
 * could not attribute), then written back out with every name that is not
 * in pg_catalog qualified, so that it means exactly the checked query when
 * the report runs it under its pinned search_path (pg_catalog, pg_temp):
 * no function another role creates later can stand in for one of its
 * calls. Views stay views (the query before rewriting is written out).
 */
Datum
lipvae_report_query(PG_FUNCTION_ARGS)
{
	char *sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ErrorContextCallback cb;
	LipvaeSources src;
	List *raw;
	Query *q;
	char *out;
	int nest;

	push_context(&cb, sql);
	raw = pg_parse_query(sql);
	if (list_length(raw) != 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("the training query must be exactly one statement, got %d",
							   list_length(raw))));
	q = parse_analyze_fixedparams(linitial_node(RawStmt, raw), sql, NULL, 0, NULL);
	check_select(q, CreateCommandTag(linitial_node(RawStmt, raw)->stmt));
	lipvae_query_sources(QueryRewrite(copyObject(q)), &src);
	error_context_stack = cb.previous;
	nest = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	out = pg_get_querydef(q, false);
	AtEOXact_GUC(false, nest);
	PG_RETURN_TEXT_P(cstring_to_text(out));
}

/*
 * lipvae_query_source_sql returns the placeholder of the training query in
 * a query that wraps it (lipvae_query_wrap): a subquery of NULLs of its
 * columns' types, typmods and collations, named LIPVAE_SOURCE, whose
 * columns are a1 .. an. Every name in it is qualified.
 */
char *
lipvae_query_source_sql(const LipvaeQuery *lq)
{
	StringInfoData s;
	int i;

	initStringInfo(&s);
	appendStringInfoString(&s, "(SELECT ");
	for (i = 0; i < lq->desc->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(lq->desc, i);

		appendStringInfo(&s, "%sNULL::%s", i ? ", " : "",
						 format_type_extended(a->atttypid, a->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY));
		if (OidIsValid(a->attcollation) && a->attcollation != get_typcollation(a->atttypid))
			appendStringInfo(&s, " COLLATE %s", generate_collation_name(a->attcollation));
	}
	appendStringInfo(&s, ") AS %s(", LIPVAE_SOURCE);
	for (i = 0; i < lq->desc->natts; i++)
		appendStringInfo(&s, "%sa%d", i ? ", " : "", i + 1);
	appendStringInfoChar(&s, ')');
	return s.data;
}

/* find_source's result: the placeholder's range table entry, and how many. */
typedef struct SourceSearch
{
	RangeTblEntry *rte;
	int found;
} SourceSearch;

/* find_source walks a query tree for the placeholder subquery. */
static bool
find_source(Node *node, SourceSearch *ss)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_SUBQUERY && rte->alias != NULL &&
			strcmp(rte->alias->aliasname, LIPVAE_SOURCE) == 0)
		{
			ss->rte = rte;
			ss->found++;
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, find_source, ss, QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, find_source, ss);
}

/*
 * same_targets checks that the placeholder's columns have the training
 * query's types and typmods, so that every reference to one
 * stays valid when the query takes its place (their collations may differ:
 * a column's may be indeterminate, and what reads them compares bytes).
 */
static void
same_targets(List *placeholder, List *query)
{
	ListCell *a,
		*b;

	forboth(a, placeholder, b, query)
	{
		Node *x = (Node *) lfirst_node(TargetEntry, a)->expr;
		Node *y = (Node *) lfirst_node(TargetEntry, b)->expr;

		if (lfirst_node(TargetEntry, b)->resjunk)
			break;
		/* collations aside: the functions of a wrapping query compare bytes */
		if (exprType(x) != exprType(y) || exprTypmod(x) != exprTypmod(y))
			elog(ERROR, "lipvae: a column of the placeholder does not match the training query");
	}
}

/*
 * lipvae_query_wrap returns the query outer_sql, which reads the
 * placeholder of lipvae_query_source_sql once and names nothing but
 * qualified pg_catalog and lipvae objects, with lq's checked query tree in
 * the placeholder's place: the training query is neither parsed nor
 * rewritten again, so the rows the outer query reads are those of the
 * query the ledger checked. Plan it with lipvae_query_plan.
 */
LipvaeQuery *
lipvae_query_wrap(const LipvaeQuery *lq, const char *outer_sql)
{
	LipvaeQuery *w = palloc0(sizeof(LipvaeQuery));
	Query *inner = linitial_node(Query, lq->queries);
	SourceSearch ss = {NULL, 0};
	ErrorContextCallback cb;
	List *raw;
	LipvaeOwnerState st;
	Query *outer;

	w->wraps = lq->sql;
	push_query_context(&cb, w);
	raw = pg_parse_query(outer_sql);
	if (list_length(raw) != 1)
		elog(ERROR, "lipvae: the wrapping query is not one statement");
	/* as the extension's owner: the names of the columns' types need no USAGE of the caller */
	lipvae_become_owner(&st);
	w->queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), outer_sql, NULL, 0, NULL);
	lipvae_restore_user(&st);
	if (list_length(w->queries) != 1)
		elog(ERROR, "lipvae: the wrapping query rewrites to %d statements", list_length(w->queries));
	outer = linitial_node(Query, w->queries);
	(void) find_source((Node *) outer, &ss);
	if (ss.found != 1)
		elog(ERROR, "lipvae: the wrapping query reads its placeholder %d times", ss.found);
	if (list_length(ss.rte->subquery->targetList) != lq->desc->natts)
		elog(ERROR, "lipvae: the placeholder has %d columns, the training query %d",
			 list_length(ss.rte->subquery->targetList), lq->desc->natts);
	same_targets(ss.rte->subquery->targetList, inner->targetList);
	error_context_stack = cb.previous;
	ss.rte->subquery = copyObject(inner);
	w->sql = outer_sql;
	w->desc = ExecCleanTypeFromTL(outer->targetList);
	return w;
}
