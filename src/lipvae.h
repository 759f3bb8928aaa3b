/*
 * lipvae.h - declarations shared by the PostgreSQL glue layer of lipvae.
 * The numerical core (src/core) knows nothing of this file.
 */
#ifndef LIPVAE_H
#define LIPVAE_H

#include "postgres.h"

#include "fmgr.h"
#include "executor/spi.h"
#include "utils/jsonb.h"

#include "lv_model.h"

/* ---- settings (lipvae.c) ---- */
extern int lipvae_max_training_rows;
extern int lipvae_max_sample_rows;
extern int lipvae_blas_threads;

#define LIPVAE_SCOPE_LATENT "per-record, replace-one"
#define LIPVAE_SCOPE_NONE "none: no privacy guarantee"
#define LIPVAE_SCOPE_CENTRAL "central, add/remove-one"
#define LIPVAE_SCOPE_COMPOSED "central, replace-one"
/* appended to the scope of a seeded private model (and by lipvae--0.2--0.3.sql) */
#define LIPVAE_SCOPE_SEEDED "; seeded: test only, no privacy guarantee"

/*
 * SQL over lipvae.models: whether a model was trained with seed => (its
 * noise and release key derived from a 64-bit seed), and whether it is
 * private (neither non-private nor seeded), that is, may be sampled by
 * others than its owner.
 */
#define LIPVAE_SQL_SEEDED \
	"coalesce((settings OPERATOR(pg_catalog.->>) 'seeded')::pg_catalog.bool, false)"
#define LIPVAE_SQL_PRIVATE \
	"(mechanism OPERATOR(pg_catalog.<>) 'none' AND NOT " LIPVAE_SQL_SEEDED ")"

/* ---- core glue (lipvae.c) ---- */
extern void lipvae_use_palloc(void);
extern int lipvae_training_memory;
extern void lipvae_memory_budget(MemoryContext cxt);
extern void lipvae_check_memory(Size more);
extern void lipvae_core_error(int code, const char *what);
extern void lipvae_check_noise(double scale, const char *what);
extern void lipvae_set_blas_threads(void);
extern void lipvae_strong_key(uint8 key[LV_KEY_BYTES]);
extern void lipvae_seed_key(int64 seed, const char *purpose,
							uint8 key[LV_KEY_BYTES]);
extern void lipvae_check_model_name(const char *name);

/* ---- acting as the catalog owner (acl.c) ---- */
typedef struct LipvaeOwnerState
{
	Oid save_userid;
	int save_sec_context;
	int save_nestlevel;
} LipvaeOwnerState;

extern Oid lipvae_catalog_owner(void);
extern void lipvae_become_owner(LipvaeOwnerState *st);
extern void lipvae_restore_user(LipvaeOwnerState *st);
extern bool lipvae_is_owner(Oid owner);
extern bool lipvae_may_sample(Oid owner, Datum acl, bool acl_null,
							  bool private_model);

/* ---- encoding of SQL types (encode.c) ---- */
typedef enum LipvaeTypeClass
{
	LVT_INT2,
	LVT_INT4,
	LVT_INT8,
	LVT_FLOAT4,
	LVT_FLOAT8,
	LVT_NUMERIC,
	LVT_DATE,
	LVT_TIMESTAMP,
	LVT_TIMESTAMPTZ,
	LVT_BOOL,
	LVT_TEXT, /* text, varchar, bpchar */
	LVT_ENUM
} LipvaeTypeClass;

/* One column as the glue layer sees it: SQL type plus decoding tables. */
typedef struct LipvaeColumn
{
	char *name;
	Oid typid; /* base type (domains resolved) */
	int32 typmod;
	LipvaeTypeClass tclass;
	int ncat;
	char **labels;     /* ncat category labels (text form) */
	char *other;       /* emitted for the other slot, or NULL */
	Datum *cat_datums; /* sampling: labels as typed Datums */
	Datum other_datum;
	Oid typoutput; /* sampling: output function for jsonb */
} LipvaeColumn;

extern bool lipvae_type_class(Oid typid, LipvaeTypeClass *tclass);
extern bool lipvae_class_is_numeric(LipvaeTypeClass c);
extern bool lipvae_class_is_integer(LipvaeTypeClass c, int32 typmod);
extern double lipvae_datum_to_double(Datum d, LipvaeTypeClass c,
									 const char *colname);
extern Datum lipvae_double_to_datum(double v, const LipvaeColumn *col);
extern Datum lipvae_label_datum(LipvaeColumn *col, const char *label);
extern void lipvae_type_range(LipvaeTypeClass c, int32 typmod, double *lo,
							  double *hi);
extern double lipvae_parse_bound(LipvaeColumn *col, Jsonb *jb, JsonbValue *v,
								 const char *which);
extern char *lipvae_format_value(const LipvaeColumn *col, double v);
extern JsonbValue *lipvae_jsonb_get(JsonbContainer *c, const char *key);

/* ---- a model loaded for sampling (catalog.c) ---- */
typedef struct LipvaeLoaded
{
	char *name;
	Oid owner;
	char *mechanism;
	char *scope;
	double delta;
	double epsilon; /* the catalog's total: every row of a central model */
	double eps_pre;
	double delta_pre;
	double q;     /* central+latent: DP-SGD's rate, noise multiplier, */
	double sigma; /* steps and the delta of the one RDP conversion */
	int64 steps;
	double delta_rest;
	Oid row_type;
	int ncols;
	LipvaeColumn *cols;
	lv_model model;
} LipvaeLoaded;

extern void lipvae_drop_row_type(const char *name);
extern void lipvae_note_trained(const char *name);
extern void lipvae_protect_row_type(const char *name, Oid owner);
extern LipvaeLoaded *lipvae_load_model(const char *name, Oid want_rowtype);
extern double lipvae_pass_epsilon(double eps_pre, double delta,
								  double delta_pre, double mu1, int64 pass);
extern double lipvae_rdp_epsilon(double eps_pre, double delta, double q,
								 double sigma, int64 steps, int relation,
								 double mu);
extern double lipvae_composed_pass_epsilon(double eps_pre, double delta_rest,
										   double q, double sigma, int64 steps,
										   double mu1, int64 pass);
extern void lipvae_columns_from_json(Jsonb *cols, LipvaeColumn **out,
									 int *ncols, lv_schema *schema);

/* ledger.c: the privacy ledger of every data source */
typedef struct LipvaeSources
{
	int nrels;
	Oid *relids; /* base relations read (partitions mapped to their root),
				  * sorted and distinct */
	int *mult;   /* per relation: how many query rows one of its rows can
				  * change (multiplicity.c); LIPVAE_MULT_UNBOUNDED: no bound */
} LipvaeSources;

#define LIPVAE_MULT_UNBOUNDED INT_MAX
#define LIPVAE_MULT_MAX 1000000

/* multiplicity.c */
extern void lipvae_query_multiplicity(List *queries, LipvaeSources *src);

/* kinds of spend a training records: the totals kept per source */
#define LIPVAE_SPEND_CENTRAL "central"
#define LIPVAE_SPEND_PER_RECORD "per-record"
#define LIPVAE_SPEND_NONE "none"

extern void lipvae_query_sources(List *queries, LipvaeSources *src);
extern Oid lipvae_partition_root(Oid relid);
extern List *lipvae_charged_relations(Oid relid, char relkind, bool inh);
extern char *lipvae_relation_name(Oid relid);

/* query.c: the training query, parsed, checked, planned and read once */
typedef struct LipvaeQuery
{
	const char *sql;
	List *queries;     /* the rewritten query trees, as checked */
	TupleDesc desc;    /* the described result columns */
	PlannedStmt *stmt; /* the one plan that runs */
	Portal portal;     /* while open */
	void *receiver;
	const char *wraps; /* a wrapping query (lipvae_query_wrap): the training query's text */
} LipvaeQuery;

extern LipvaeQuery *lipvae_query_parse(const char *sql);
extern void lipvae_query_plan(LipvaeQuery *lq, const LipvaeSources *src, bool parallel);
extern void lipvae_query_open(LipvaeQuery *lq);
extern uint64 lipvae_query_fetch(LipvaeQuery *lq, long count, HeapTuple **rows);
extern uint64 lipvae_query_fetch_all(LipvaeQuery *lq, HeapTuple **rows);
extern void lipvae_query_close(LipvaeQuery *lq);
#define LIPVAE_SOURCE "lipvae_source" /* the placeholder's name in a wrapping query */
extern char *lipvae_query_source_sql(const LipvaeQuery *lq);
extern LipvaeQuery *lipvae_query_wrap(const LipvaeQuery *lq, const char *outer_sql);
extern void lipvae_ledger_charge(const LipvaeSources *src, int i,
								 double epsilon, double delta, double *eps_i,
								 double *delta_i);
extern void lipvae_ledger_check(const LipvaeSources *src, const char *kind,
								double epsilon, double delta);
extern void lipvae_ledger_record(const LipvaeSources *src, const char *model,
								 const char *kind, const char *mechanism,
								 const char *relation, double epsilon,
								 double delta);

#endif
