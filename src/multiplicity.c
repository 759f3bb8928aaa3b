/*
 * multiplicity.c - how many rows of the training query one row of a base
 * relation can reach.
 *
 * A training's guarantee protects one row of the training query. A row of
 * a base relation that the query repeats (UNION ALL of the relation with
 * itself, a join that is not on a unique key of the other side, a
 * multi-row VALUES list, a set-returning function in the target list) or
 * that sways many query rows (a subquery, a window function) is protected
 * only as a group of that many query rows. This file bounds K(r), for every
 * relation r the ledger charges, by the largest number of query rows that
 * replacing one row of r can change (a query row that is added, removed or
 * changed counts once; an added and a removed row count once together):
 *
 *   scan of r (and of its children, ancestors)       K = 1
 *   UNION / INTERSECT / EXCEPT [ALL]                 K = sum over the arms
 *   join: for each r in item i                       K = K_i(r) * J_i, doubled
 *     under the nullable side of an outer join (a replaced row there can
 *     turn one matched row into a null-extended one and another back)
 *     J_i, the rows of the join one row of item i is part of, by the chain
 *     rule: taking the other items one after the other, each either has a
 *     unique key equated (deterministic =, by a qual that binds it) to the
 *     items taken so far or to constants (factor 1), or is a VALUES list, a
 *     one-row result or a bounded subquery whose LATERAL references are
 *     taken (factor: its row count); an item never taken: unbounded
 *   GROUP BY / aggregates                            K = 2K (the old and the new group)
 *   aggregates without GROUP BY                      K = 1 (one row)
 *   DISTINCT ON, LIMIT, OFFSET                       K = 2K (FETCH ... WITH TIES: unbounded)
 *   window functions, target-list set-returning functions, grouping sets,
 *   recursive CTEs, relations inside a sublink       K unbounded
 *
 * The ledger then charges r group privacy of K rows (lv_group_privacy). A
 * relation this walk does not reach gets an unbounded K.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "lipvae.h"

/* K of every charged relation, one query level. */
typedef struct MultMap
{
	List *relids; /* of Oid */
	List *mults;  /* of int, parallel; LIPVAE_MULT_UNBOUNDED: no bound */
} MultMap;

static MultMap query_mult(Query *q, List *outer);

/* mult_mul multiplies two bounds, saturating at unbounded. */
static int
mult_mul(int a, int b)
{
	if (a == LIPVAE_MULT_UNBOUNDED || b == LIPVAE_MULT_UNBOUNDED ||
		(int64) a * b > LIPVAE_MULT_MAX)
		return LIPVAE_MULT_UNBOUNDED;
	return a * b;
}

/* mult_add adds two bounds, saturating at unbounded. */
static int
mult_add(int a, int b)
{
	if (a == LIPVAE_MULT_UNBOUNDED || b == LIPVAE_MULT_UNBOUNDED ||
		(int64) a + b > LIPVAE_MULT_MAX)
		return LIPVAE_MULT_UNBOUNDED;
	return a + b;
}

/* map_add adds k to the bound of relid. */
static void
map_add(MultMap *m, Oid relid, int k)
{
	ListCell *lr,
		*lk;

	forboth(lr, m->relids, lk, m->mults)
	{
		if (lfirst_oid(lr) == relid)
		{
			lfirst_int(lk) = mult_add(lfirst_int(lk), k);
			return;
		}
	}
	m->relids = lappend_oid(m->relids, relid);
	m->mults = lappend_int(m->mults, k);
}

/* map_merge adds every bound of b, times factor, to a. */
static void
map_merge(MultMap *a, const MultMap *b, int factor)
{
	ListCell *lr,
		*lk;

	forboth(lr, b->relids, lk, b->mults)
		map_add(a, lfirst_oid(lr), mult_mul(lfirst_int(lk), factor));
}

/* map_scale multiplies every bound by factor. */
static void
map_scale(MultMap *m, int factor)
{
	ListCell *lk;

	foreach (lk, m->mults)
		lfirst_int(lk) = mult_mul(lfirst_int(lk), factor);
}

/* map_cap sets every bound to cap: the level returns at most cap rows. */
static void
map_cap(MultMap *m, int cap)
{
	ListCell *lk;

	foreach (lk, m->mults)
		lfirst_int(lk) = cap;
}

/* A walk for sublinks: every relation inside one gets an unbounded K. */
typedef struct SublinkWalk
{
	MultMap *m;
	List *outer; /* enclosing queries, innermost first */
} SublinkWalk;

/* sublink_walker marks the relations of every sublink it finds. */
static bool
sublink_walker(Node *node, void *context)
{
	SublinkWalk *w = (SublinkWalk *) context;

	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
	{
		SubLink *sl = (SubLink *) node;
		MultMap inner = query_mult(castNode(Query, sl->subselect), w->outer);

		map_merge(w->m, &inner, LIPVAE_MULT_UNBOUNDED);
		return sublink_walker(sl->testexpr, context);
	}
	if (IsA(node, Query))
		return false;
	return expression_tree_walker(node, sublink_walker, context);
}

/*
 * The CTEs whose query is being walked (innermost first): a recursive one
 * refers to itself. Reset by lipvae_query_multiplicity, so that an error
 * in a walk leaves nothing behind.
 */
static List *visiting_ctes = NIL;

/* find_cte returns the query of a CTE reference, from the enclosing levels. */
static CommonTableExpr *
find_cte(RangeTblEntry *rte, Query *q, List *outer)
{
	Query *level = q;
	Index up = rte->ctelevelsup;
	ListCell *lc;

	if (up > 0)
	{
		if (up > (Index) list_length(outer))
			elog(ERROR, "lipvae: CTE \"%s\" not found", rte->ctename);
		level = (Query *) list_nth(outer, up - 1);
	}
	foreach (lc, level->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);

		if (strcmp(cte->ctename, rte->ctename) == 0)
			return cte;
	}
	elog(ERROR, "lipvae: CTE \"%s\" not found", rte->ctename);
	return NULL;
}

/* item_mult returns K of the relations of one FROM item, by their rows. */
static MultMap
item_mult(Query *q, RangeTblEntry *rte, List *outer)
{
	MultMap m = {NIL, NIL};
	List *with_q = lcons(q, list_copy(outer));
	ListCell *lc;

	switch (rte->rtekind)
	{
		case RTE_RELATION:
			foreach (lc, lipvae_charged_relations(rte->relid, rte->relkind, rte->inh))
				map_add(&m, lfirst_oid(lc), 1);
			break;
		case RTE_SUBQUERY:
			m = query_mult(rte->subquery, with_q);
			break;
		case RTE_CTE:
		{
			CommonTableExpr *cte = find_cte(rte, q, outer);
			int up = (int) rte->ctelevelsup;
			List *cte_outer = up == 0 ? with_q : list_copy_tail(with_q, up);

			/* a recursive CTE's reference to itself: its relations are those
			 * of the visit under way, which makes them all unbounded */
			if (list_member_ptr(visiting_ctes, cte))
				break;
			visiting_ctes = lcons(cte, visiting_ctes);
			m = query_mult(castNode(Query, cte->ctequery), cte_outer);
			visiting_ctes = list_delete_first(visiting_ctes);
			if (cte->cterecursive)
				map_scale(&m, LIPVAE_MULT_UNBOUNDED);
		}
		break;
		default:
			break; /* VALUES, RESULT (functions are refused by the ledger) */
	}
	return m;
}

/*
 * The join tree of one query level, flattened: its leaf items, the items
 * on the nullable side of an outer join, and the conjuncts of its quals,
 * each with the items it may bound (NULL: any item).
 */
typedef struct JoinTree
{
	List *items;         /* of int: range-table indexes of the leaves */
	Bitmapset *nullable; /* leaves under the nullable side of an outer join */
	List *conjuncts;     /* of Node * */
	List *bounds;        /* of Bitmapset *, parallel: items it may bound */
} JoinTree;

/* add_conjuncts appends the top-level AND arms of a qual, for items. */
static void
add_conjuncts(JoinTree *jt, Node *qual, Bitmapset *items)
{
	if (qual == NULL)
		return;
	if (IsA(qual, List))
	{
		ListCell *lc;

		foreach (lc, (List *) qual)
			add_conjuncts(jt, lfirst(lc), items);
	}
	else if (is_andclause(qual))
		add_conjuncts(jt, (Node *) ((BoolExpr *) qual)->args, items);
	else
	{
		jt->conjuncts = lappend(jt->conjuncts, qual);
		jt->bounds = lappend(jt->bounds, items);
	}
}

/* leaves returns the range-table indexes of the leaves under a node. */
static Bitmapset *
leaves(Node *node)
{
	Bitmapset *out = NULL;
	ListCell *lc;

	if (IsA(node, RangeTblRef))
		return bms_make_singleton(((RangeTblRef *) node)->rtindex);
	if (IsA(node, JoinExpr))
		return bms_union(leaves(((JoinExpr *) node)->larg), leaves(((JoinExpr *) node)->rarg));
	foreach (lc, castNode(FromExpr, node)->fromlist)
		out = bms_union(out, leaves(lfirst(lc)));
	return out;
}

/*
 * flatten_from collects the leaves and quals under node. The quals of
 * WHERE and of inner joins bound any item: an output row satisfies them.
 * The ON quals of an outer join bound only the items of its nullable side
 * (the preserved side's rows appear whether they match or not), those of a
 * FULL join none; nullable says whether node is under a nullable side.
 */
static void
flatten_from(Query *q, Node *node, JoinTree *jt, bool nullable)
{
	if (IsA(node, RangeTblRef))
	{
		int rti = ((RangeTblRef *) node)->rtindex;

		jt->items = lappend_int(jt->items, rti);
		if (nullable)
			jt->nullable = bms_add_member(jt->nullable, rti);
	}
	else if (IsA(node, FromExpr))
	{
		FromExpr *f = (FromExpr *) node;
		ListCell *lc;

		foreach (lc, f->fromlist)
			flatten_from(q, lfirst(lc), jt, nullable);
		add_conjuncts(jt, flatten_join_alias_vars(q, f->quals), NULL);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr *j = (JoinExpr *) node;
		Node *quals = flatten_join_alias_vars(q, j->quals);

		flatten_from(q, j->larg, jt, nullable || j->jointype == JOIN_RIGHT || j->jointype == JOIN_FULL);
		flatten_from(q, j->rarg, jt, nullable || j->jointype == JOIN_LEFT || j->jointype == JOIN_FULL);
		if (j->jointype == JOIN_INNER)
			add_conjuncts(jt, quals, NULL);
		else if (j->jointype == JOIN_LEFT)
			add_conjuncts(jt, quals, leaves(j->rarg));
		else if (j->jointype == JOIN_RIGHT)
			add_conjuncts(jt, quals, leaves(j->larg));
	}
	else
		elog(ERROR, "lipvae: unrecognized join tree node %d", (int) nodeTag(node));
}

/* strip_relabel removes binary-compatible casts around an expression. */
static Node *
strip_relabel(Node *n)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return n;
}

/*
 * equated_column returns the attribute number of item rti that conjunct
 * equates, with a deterministic equality (*opno), to an expression that
 * reads only items of known (fixed) and no volatile function; or 0.
 */
static AttrNumber
equated_column(Node *conjunct, int rti, const Bitmapset *known, Oid *opno)
{
	OpExpr *op;
	int side;

	if (!IsA(conjunct, OpExpr) || list_length(((OpExpr *) conjunct)->args) != 2)
		return 0;
	op = (OpExpr *) conjunct;
	/* a nondeterministic collation's = matches values a unique index tells apart */
	if (OidIsValid(op->inputcollid) && !get_collation_isdeterministic(op->inputcollid))
		return 0;
	for (side = 0; side < 2; side++)
	{
		Node *mine = strip_relabel((Node *) list_nth(op->args, side));
		Node *other = (Node *) list_nth(op->args, 1 - side);
		Var *v;

		if (!IsA(mine, Var))
			continue;
		v = (Var *) mine;
		if (v->varno != rti || v->varlevelsup != 0 || v->varattno <= 0)
			continue;
		if (!bms_is_subset(pull_varnos(NULL, other), known) || contain_volatile_functions(other))
			continue;
		*opno = op->opno;
		return v->varattno;
	}
	return 0;
}
/*
 * index_in_snapshot says whether an index existed, as it is now, for the
 * snapshot the training query reads: its pg_index row is committed and
 * visible to the active snapshot. An index this transaction built proves
 * nothing either: under REPEATABLE READ its snapshot predates the index,
 * and another session may have deleted the duplicates it still sees. An index built later proves nothing about the rows an
 * older snapshot sees (two sessions: a training waits on a lock with its
 * snapshot taken while the other deduplicates and indexes the table).
 */
static bool
index_in_snapshot(Relation idx)
{
	TransactionId xmin = HeapTupleHeaderGetXmin(idx->rd_indextuple->t_data);
	Snapshot snap = GetActiveSnapshot();

	if (TransactionIdIsCurrentTransactionId(xmin))
		return false; /* built by this transaction: its snapshot may be older */
	return TransactionIdDidCommit(xmin) && !XidInMVCCSnapshot(xmin, snap);
}

/*
 * index_covered says whether a unique index's key columns are all among
 * the equated columns, each with an equality of the index's opfamily.
 */
static bool
index_covered(Relation idx, const AttrNumber *cols, const Oid *ops, int ncols)
{
	Form_pg_index ix = idx->rd_index;
	int k,
		c;

	if (!index_in_snapshot(idx))
		return false;
	if (!ix->indisunique || !ix->indimmediate || !ix->indisvalid ||
		!heap_attisnull(idx->rd_indextuple, Anum_pg_index_indpred, NULL) ||
		!heap_attisnull(idx->rd_indextuple, Anum_pg_index_indexprs, NULL))
		return false;
	for (k = 0; k < ix->indnkeyatts; k++)
	{
		bool found = false;

		for (c = 0; c < ncols && !found; c++)
			found = cols[c] == ix->indkey.values[k] &&
					get_op_opfamily_strategy(ops[c], idx->rd_opfamily[k]) == BTEqualStrategyNumber;
		if (!found)
			return false;
	}
	return true;
}

/*
 * unique_match says whether at most one row of relation item rti can join
 * fixed rows of the items in known (item i, the one whose rows are
 * counted, among them): a unique index of it (of the whole table: not
 * under plain inheritance) has every key column equated, by a conjunct
 * that may bound rti, to those rows or to constants.
 */
static bool
unique_match(RangeTblEntry *rte, int rti, const JoinTree *jt, const Bitmapset *known, int i)
{
	AttrNumber *cols = palloc(sizeof(AttrNumber) * (list_length(jt->conjuncts) + 1));
	Oid *ops = palloc(sizeof(Oid) * (list_length(jt->conjuncts) + 1));
	int ncols = 0;
	bool unique = false;
	Relation rel;
	List *indexes;
	ListCell *lc,
		*lb;

	forboth(lc, jt->conjuncts, lb, jt->bounds)
	{
		Bitmapset *may = (Bitmapset *) lfirst(lb);

		/*
		 * An outer join's ON quals bound its nullable side's items; and any
		 * of its items once the row counted (item i) is on that side: a row
		 * of it present in the output is a matched row.
		 */
		if (may != NULL && !bms_is_member(rti, may) && !bms_is_member(i, may))
			continue;
		cols[ncols] = equated_column((Node *) lfirst(lc), rti, known, &ops[ncols]);
		if (cols[ncols] > 0)
			ncols++;
	}
	if (ncols == 0)
		return false;
	if (rte->inh && rte->relkind != RELKIND_PARTITIONED_TABLE && has_subclass(rte->relid))
		return false;
	rel = table_open(rte->relid, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	foreach (lc, indexes)
	{
		Relation idx = index_open(lfirst_oid(lc), AccessShareLock);

		unique = unique || index_covered(idx, cols, ops, ncols);
		index_close(idx, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
	return unique;
}

/* const_limit returns a LIMIT's constant row count (at least 1), or -1. */
static int
const_limit(Query *q)
{
	Const *c = (Const *) strip_relabel(q->limitCount);

	if (c == NULL || !IsA(c, Const) || c->constisnull || c->consttype != INT8OID ||
		q->limitOption != LIMIT_OPTION_COUNT)
		return -1;
	return (int) Max(Min(DatumGetInt64(c->constvalue), LIPVAE_MULT_MAX), 1);
}

static int query_rows(Query *q);

/* setop_rows bounds the rows of a set operation: the sum over its arms. */
static int
setop_rows(Query *q, Node *node)
{
	SetOperationStmt *op;

	if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, q->rtable);

		return rte->rtekind == RTE_SUBQUERY ? query_rows(rte->subquery) : LIPVAE_MULT_UNBOUNDED;
	}
	op = castNode(SetOperationStmt, node);
	return mult_add(setop_rows(q, op->larg), setop_rows(q, op->rarg));
}

/*
 * query_rows bounds the number of rows a query returns, whatever the data:
 * a VALUES list, a one-row aggregate, a constant LIMIT, products and sums
 * of those; unbounded once it reads a relation without such a limit.
 */
static int
query_rows(Query *q)
{
	JoinTree jt = {NIL, NULL, NIL, NIL};
	ListCell *lc;
	int rows = 1;

	check_stack_depth();
	if (q->hasTargetSRFs)
		return LIPVAE_MULT_UNBOUNDED;
	if (q->groupClause == NIL && q->groupingSets == NIL && (q->hasAggs || q->havingQual))
		return 1;
	if (const_limit(q) > 0)
		return const_limit(q);
	if (q->setOperations != NULL)
		return setop_rows(q, q->setOperations);
	flatten_from(q, (Node *) q->jointree, &jt, false);
	foreach (lc, jt.items)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), q->rtable);

		if (rte->rtekind == RTE_VALUES)
			rows = mult_mul(rows, list_length(rte->values_lists));
		else if (rte->rtekind == RTE_SUBQUERY)
			rows = mult_mul(rows, query_rows(rte->subquery));
		else if (rte->rtekind != RTE_RESULT)
			rows = LIPVAE_MULT_UNBOUNDED;
	}
	return rows;
}

/*
 * item_rows bounds the rows of item rti for fixed rows of the items its
 * LATERAL references read: a VALUES list, a one-row result, a subquery
 * bounded whatever the data; unbounded for a relation.
 */
static int
item_rows(Query *q, int rti)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);

	switch (rte->rtekind)
	{
		case RTE_VALUES:
			return list_length(rte->values_lists);
		case RTE_RESULT:
			return 1;
		case RTE_SUBQUERY:
			return query_rows(rte->subquery);
		default:
			return LIPVAE_MULT_UNBOUNDED;
	}
}

/* lateral_refs returns the items of this level that item rti reads. */
static Bitmapset *
lateral_refs(Query *q, int rti)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);

	if (rte->rtekind == RTE_SUBQUERY)
		return pull_varnos_of_level(NULL, (Node *) rte->subquery, 1);
	if (rte->rtekind == RTE_VALUES)
		return pull_varnos(NULL, (Node *) rte->values_lists);
	return NULL;
}

/*
 * join_factor bounds how many rows of the join one row of item i is part
 * of: by the chain rule, item after item, the rows of the next item that
 * can join fixed rows of the items taken so far (known). An item with a
 * unique key equated to known rows or constants adds 1; one bounded by its
 * row count (once its LATERAL references are known) multiplies by that; if
 * any item is left, the factor is unbounded.
 */
static int
join_factor(Query *q, const JoinTree *jt, int i)
{
	Bitmapset *known = bms_make_singleton(i);
	int factor = 1;
	bool progress = true;
	ListCell *lc;

	while (progress && bms_num_members(known) < list_length(jt->items))
	{
		progress = false;
		foreach (lc, jt->items)
		{
			int j = lfirst_int(lc);
			RangeTblEntry *rte = rt_fetch(j, q->rtable);

			if (!bms_is_member(j, known) && rte->rtekind == RTE_RELATION &&
				unique_match(rte, j, jt, known, i))
			{
				known = bms_add_member(known, j);
				progress = true;
			}
		}
		foreach (lc, jt->items)
		{
			int j = lfirst_int(lc);

			if (progress || bms_is_member(j, known) || item_rows(q, j) == LIPVAE_MULT_UNBOUNDED ||
				!bms_is_subset(lateral_refs(q, j), known))
				continue;
			factor = mult_mul(factor, item_rows(q, j));
			known = bms_add_member(known, j);
			progress = true;
		}
	}
	return bms_num_members(known) < list_length(jt->items) ? LIPVAE_MULT_UNBOUNDED : factor;
}

/* setop_mult adds up K over the arms of a set operation. */
static void
setop_mult(Query *q, Node *node, List *outer, MultMap *m)
{
	if (IsA(node, RangeTblRef))
	{
		MultMap arm = item_mult(q, rt_fetch(((RangeTblRef *) node)->rtindex, q->rtable), outer);

		map_merge(m, &arm, 1);
	}
	else
	{
		SetOperationStmt *op = castNode(SetOperationStmt, node);

		setop_mult(q, op->larg, outer, m);
		setop_mult(q, op->rarg, outer, m);
	}
}

/*
 * from_mult computes K over the join tree of a query level: K of each
 * item's relations times the item's join factor, doubled under the
 * nullable side of an outer join (a replaced row there can turn one
 * matched row into a null-extended one and another the other way).
 */
static void
from_mult(Query *q, List *outer, MultMap *m)
{
	JoinTree jt = {NIL, NULL, NIL, NIL};
	ListCell *lc;

	flatten_from(q, (Node *) q->jointree, &jt, false);
	foreach (lc, jt.items)
	{
		int i = lfirst_int(lc);
		MultMap im = item_mult(q, rt_fetch(i, q->rtable), outer);
		int factor = join_factor(q, &jt, i);

		if (bms_is_member(i, jt.nullable))
			factor = mult_mul(factor, 2);
		map_merge(m, &im, factor);
	}
}

/* modifiers applies what the query level does to its rows. */
static void
modifiers(Query *q, MultMap *m)
{
	if (q->hasWindowFuncs || q->hasTargetSRFs || q->groupingSets != NIL)
		map_scale(m, LIPVAE_MULT_UNBOUNDED);
	else if ((q->hasAggs || q->havingQual) && q->groupClause == NIL)
		map_cap(m, 1);
	else if (q->groupClause != NIL)
		map_scale(m, 2);
	if (q->hasDistinctOn)
		map_scale(m, 2);
	if (q->limitOption == LIMIT_OPTION_WITH_TIES)
		map_scale(m, LIPVAE_MULT_UNBOUNDED); /* one row can bring or take every tie */
	else if (q->limitCount != NULL || q->limitOffset != NULL)
		map_scale(m, 2);
}

/*
 * query_mult bounds K for every relation a query reads; outer holds the
 * enclosing query levels (innermost first), for CTE references.
 */
static MultMap
query_mult(Query *q, List *outer)
{
	MultMap m = {NIL, NIL};
	SublinkWalk w = {&m, NIL};

	check_stack_depth();
	if (q->setOperations != NULL)
		setop_mult(q, q->setOperations, outer, &m);
	else
		from_mult(q, outer, &m);
	modifiers(q, &m);
	w.outer = lcons(q, list_copy(outer));
	(void) query_tree_walker(q, sublink_walker, &w,
							 QTW_IGNORE_RT_SUBQUERIES | QTW_IGNORE_CTE_SUBQUERIES | QTW_IGNORE_JOINALIASES);
	return m;
}

/*
 * lipvae_query_multiplicity sets src->mult[i], for every source relation,
 * to the bound K of the query trees (LIPVAE_MULT_UNBOUNDED: none).
 */
void
lipvae_query_multiplicity(List *queries, LipvaeSources *src)
{
	MultMap m = {NIL, NIL};
	ListCell *lc;
	int i;

	visiting_ctes = NIL;
	foreach (lc, queries)
	{
		MultMap qm = query_mult(lfirst_node(Query, lc), NIL);

		map_merge(&m, &qm, 1);
	}
	src->mult = palloc(sizeof(int) * Max(src->nrels, 1));
	for (i = 0; i < src->nrels; i++)
	{
		ListCell *lr,
			*lk;

		src->mult[i] = LIPVAE_MULT_UNBOUNDED;
		forboth(lr, m.relids, lk, m.mults) if (lfirst_oid(lr) == src->relids[i])
			src->mult[i] = lfirst_int(lk);
	}
}
