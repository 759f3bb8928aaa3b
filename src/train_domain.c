/*
 * train_domain.c - the domain stage of lipvae_train: the public bounds of
 * numeric columns and the category lists of text columns that the user did
 * not give. With DP (the mechanisms spend a stated share of the budget):
 *  - per column, pure epsilon-DP (lv_privacy.h: a Laplace power-of-two
 *    histogram and exponential-mechanism quantiles; Laplace counts over a
 *    threshold), each column an equal part of preprocess_share * epsilon;
 *  - for marginals => 'aim', one joint discrete Gaussian release of every
 *    such column's histogram (lv_domain.h), preprocess_share of the zCDP
 *    budget, which composes with the marginals' rho;
 * or, for mechanism 'none' only, read off the data (non-private).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/json.h"

#include "train.h"
#include "lv_accountant.h"
#include "lv_domain.h"
#include "lv_privacy.h"

static void check_json_keys(Jsonb *jb, TrainColumn *tc, int ncols, const char *option);
static JsonbValue *array_elem(JsonbValue *arr, int i);
static bool is_array(JsonbValue *v, int *len);
static void setting_context(void *arg);

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

/* user_bounds sets column t's public bounds from its entry b of bounds =>. */
static void
user_bounds(TrainColumn *t, const TrainOptions *o, JsonbValue *b)
{
	int len;
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

/* user_categories sets column t's public category list from its entry c of categories =>. */
static void
user_categories(TrainColumn *t, JsonbValue *c)
{
	int len;
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

/*
 * apply_user_settings reads user-given bounds and category lists, checking
 * that each fits its column.
 */
void
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

		where = psprintf("bounds of column \"%s\"", t->col.name);
		if (b)
			user_bounds(t, o, b);
		where = psprintf("categories of column \"%s\"", t->col.name);
		if (c)
			user_categories(t, c);
	}
	error_context_stack = errcb.previous;
}

/* cmp_labels orders category labels bytewise (a stable, public order). */
static int
cmp_labels(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* budget_detail says what the column's DP domain estimate got. */
static char *
budget_detail(const TrainColumn *t)
{
	if (t->noise_sd > 0)
		return psprintf("this column's counts got discrete Gaussian noise of sd %.3g (one release for every column without a public domain)",
						t->noise_sd);
	return psprintf("this column got epsilon %g", t->eps_used);
}

/*
 * warn_clipped_share tells the owner (who may read the data anyway) what
 * share of a column's m values, out of them outside its DP bounds: a
 * share, never a value.
 */
void
warn_clipped_share(TrainColumn *t, int64 out, int64 m)
{
	if (m > 0 && out > 3 * m / 100) /* the quantiles clip 1% by design */
		ereport(WARNING, (errmsg("the DP bounds of column \"%s\" clip %.0f%% of its values", t->col.name,
								 100.0 * out / m),
						  errdetail("Estimating bounds privately needs many rows per unit of epsilon; %s.",
									budget_detail(t)),
						  errhint("Give its public bounds: bounds => '{\"%s\": [low, high]}'.", t->col.name)));
}

/* warn_clipped counts the values outside the DP bounds and warns (above). */
static void
warn_clipped(TrainColumn *t, const double *vals, int64 m)
{
	int64 out = 0,
		  i;

	for (i = 0; i < m; i++)
		if (vals[i] < t->lo || vals[i] > t->hi)
			out++;
	warn_clipped_share(t, out, m);
}

/*
 * warn_dropped tells the owner what share of a column's non-NULL values
 * fall outside its DP category list (they become "other" or NULL).
 */
static void
warn_dropped(TrainColumn *t, const int *keep)
{
	double all = 0,
		   lost = 0;
	int j;

	for (j = 0; j < t->nraw; j++)
	{
		all += t->raw_counts[j];
		if (!keep[j])
			lost += t->raw_counts[j];
	}
	if (all > 0 && lost > 0.05 * all)
		ereport(WARNING, (errmsg("the DP category list of column \"%s\" leaves out %.0f%% of its values", t->col.name,
								 100.0 * lost / all),
						  errdetail("A value is listed only when its noisy count clears a threshold that grows as epsilon shrinks; %s.",
									budget_detail(t)),
						  errhint("Give its public list: categories => '{\"%s\": [...]}'.", t->col.name)));
}

/* cmp_raw_ids orders raw ids by their labels (arg: the raw labels). */
static int
cmp_raw_ids(const void *a, const void *b, void *arg)
{
	char **labels = (char **) arg;

	return strcmp(labels[*(const int *) a], labels[*(const int *) b]);
}

/*
 * kept_candidates lists the raw ids of the values of the kept rows
 * (count > 0: with unit => ..., the rows bound_units dropped keep their
 * labels in the raw list with a zero count, and a label only they carry
 * must not be a candidate), in label order: the order in which rows came
 * must not break ties at the LV_MAX_CATEGORIES cap. Returns how many, and
 * their counts in counts.
 */
static int
kept_candidates(const TrainColumn *t, int *cand, double *counts)
{
	int nc = 0,
		j;

	for (j = 0; j < t->nraw; j++)
		if (t->raw_counts[j] > 0)
			cand[nc++] = j;
	qsort_arg(cand, nc, sizeof(int), cmp_raw_ids, t->raw_labels);
	for (j = 0; j < nc; j++)
		counts[j] = t->raw_counts[cand[j]];
	return nc;
}

/*
 * select_kept_labels runs the DP selection of category labels over the
 * labels of the kept rows only (count > 0): with unit => ..., the rows
 * bound_units dropped keep their labels in the raw list with a zero count,
 * and a label that only they carry must not be a candidate. Sets keep[j]
 * for raw ids j; returns how many are kept.
 */
static int
select_kept_labels(TrainColumn *t, double eps, double delta, int k,
				   lv_stream *rng, int *keep)
{
	int *cand = palloc(sizeof(int) * Max(t->nraw, 1));
	double *counts = palloc(sizeof(double) * Max(t->nraw, 1));
	int *keep_c = palloc0(sizeof(int) * Max(t->nraw, 1));
	int nc = kept_candidates(t, cand, counts),
		kept,
		j;

	kept = lv_dp_select_categories_units(counts, nc, eps, delta, k, LV_MAX_CATEGORIES, rng, keep_c);
	for (j = 0; j < nc; j++)
		keep[cand[j]] = keep_c[j];
	pfree(cand);
	pfree(counts);
	pfree(keep_c);
	return kept;
}

/* column_values returns column i's non-NULL values (*m of them). */
static double *
column_values(const TrainColumn *t, int i, const lv_cell *cells, int64 n,
			  int ncols, int64 *m)
{
	double *vals = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(t->nonnull, 1));
	int64 r;

	*m = 0;
	for (r = 0; r < n; r++)
		if (!cells[r * ncols + i].isnull)
			vals[(*m)++] = cells[r * ncols + i].value;
	return vals;
}

/* exact_bounds sets a non-private model's bounds to the exact range. */
static void
exact_bounds(TrainColumn *t, const double *vals, int64 m)
{
	double mn = m > 0 ? vals[0] : 0,
		   mx = mn;
	int64 r;

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

/* finish_bounds clamps the bounds to the type's range and warns of clipping. */
static void
finish_bounds(TrainColumn *t, const double *vals, int64 m, bool private)
{
	double tlo,
		thi;

	lipvae_type_range(t->col.tclass, t->col.typmod, &tlo, &thi);
	t->lo = Max(t->lo, tlo);
	t->hi = Min(t->hi, thi);
	if (!(t->hi > t->lo))
		t->hi = t->lo + 1;
	if (private)
		warn_clipped(t, vals, m);
}

/* no_bounds_error refuses a column whose DP histogram found no populated range. */
static void
no_bounds_error(const TrainColumn *t)
{
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					errmsg("too few rows to estimate bounds of column \"%s\" privately", t->col.name),
					errdetail("The DP bounds estimate found no populated range: %s.", budget_detail(t)),
					errhint("Give the column's public bounds: bounds => '{\"%s\": [low, high]}'.", t->col.name)));
}

/* finish_categories makes the kept raw labels the column's sorted list. */
static void
finish_categories(TrainColumn *t, const int *keep, int kept)
{
	int j;

	t->col.ncat = kept;
	t->col.labels = palloc(sizeof(char *) * Max(kept, 1));
	kept = 0;
	for (j = 0; j < t->nraw; j++)
		if (keep[j])
			t->col.labels[kept++] = t->raw_labels[j];
	qsort(t->col.labels, kept, sizeof(char *), cmp_labels);
}

/* label_index returns label's index in the column's list, or -1 (other). */
static int
label_index(const TrainColumn *t, const char *label)
{
	int lo = 0,
		hi = t->col.ncat - 1,
		k;

	if (strcmp(t->categories_source, "user") == 0)
	{
		/* user lists keep the user's order: linear search */
		for (k = 0; k < t->col.ncat; k++)
			if (strcmp(t->col.labels[k], label) == 0)
				return k;
		return -1;
	}
	while (lo <= hi)
	{
		int mid = (lo + hi) / 2;
		int c = strcmp(t->col.labels[mid], label);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* map_raw_labels maps a text column's raw ids to list indices (-1 = other). */
static void
map_raw_labels(TrainColumn *t)
{
	int j;

	t->raw_to_cat = palloc(sizeof(int) * Max(t->nraw, 1));
	for (j = 0; j < t->nraw; j++)
		t->raw_to_cat[j] = label_index(t, t->raw_labels[j]);
}

/* append_component records a per-column DP component in components. */
static void
append_component(StringInfo components, bool *first, const TrainColumn *t)
{
	if (!*first)
		appendStringInfoString(components, ", ");
	*first = false;
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

/* needs_bounds / needs_categories: the column's domain is not public. */
static bool
needs_bounds(const TrainColumn *t)
{
	return t->numeric && !t->have_bounds;
}

static bool
needs_categories(const TrainColumn *t)
{
	return t->col.tclass == LVT_TEXT && t->col.labels == NULL;
}

/*
 * laplace_column fixes column i's domain with its own pure-DP mechanism
 * (eps_col, and delta_col for a category list; units of k rows), or from
 * the data for mechanism 'none'.
 */
static void
laplace_column(TrainColumn *t, int i, const lv_cell *cells, int64 n, int ncols,
			   const TrainOptions *o, double eps_col, double delta_col, int k,
			   lv_stream *rng, PrivacyPlan *pp)
{
	bool private = o->mechanism != LV_MECH_NONE;

	if (needs_bounds(t))
	{
		int64 m;
		double *vals = column_values(t, i, cells, n, ncols, &m);

		if (private)
		{
			t->bounds_source = "dp";
			t->eps_used = eps_col;
			/* a unit moves up to k values: the mechanism at eps / k */
			if (lv_dp_bounds(vals, m, eps_col / k, t->integer, rng, &t->lo, &t->hi) != 0)
				no_bounds_error(t);
			pp->eps_pre += eps_col;
		}
		else
			exact_bounds(t, vals, m);
		finish_bounds(t, vals, m, private);
		pfree(vals);
	}
	else if (needs_categories(t))
	{
		int *keep = palloc0(sizeof(int) * Max(t->nraw, 1));
		int kept = 0,
			j;

		if (private)
		{
			kept = select_kept_labels(t, eps_col, delta_col, k, rng, keep);
			t->categories_source = "dp";
			t->eps_used = eps_col;
			t->delta_used = delta_col;
			pp->eps_pre += eps_col;
			pp->delta_pre += delta_col;
			warn_dropped(t, keep);
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
		finish_categories(t, keep, kept);
		pfree(keep);
	}
}

/*
 * domain_eps_max bounds the training's epsilon under either relation before
 * it runs (public): the ledger's replace-one rho is at most 2 rho_measure +
 * 4 rho_select + 2 rho_domain <= 4 rho_all, and the row count's epsilon
 * comes first, as in train_aim's conversion.
 */
static double
domain_eps_max(const TrainOptions *o, double rho_all, double delta_avail)
{
	double eps_count = lv_round_up(lv_round_up(LIPVAE_COUNT_SHARE * o->epsilon));

	return lv_round_up(lipvae_rdp_epsilon(eps_count, delta_avail, 0, 0, 0, LV_REL_ADD_REMOVE,
										  lv_round_up(sqrt(8 * rho_all * (1 + 1e-6)))));
}

/*
 * plan_joint sets the joint domain release's noise sd, rho and category
 * threshold for nb numeric and nc text columns (lv_domain.h): rho_dom is
 * preprocess_share of the zCDP budget that (epsilon - the row count's
 * epsilon, delta - delta_dom) leaves, delta_dom = preprocess_share * delta
 * (with text columns); the marginals get the rest (train_aim).
 */
static void
plan_joint(const TrainOptions *o, int nb, int nc, int r, PrivacyPlan *pp)
{
	double delta_dom = nc > 0 ? o->share * o->delta : 0;
	double mu = lv_dpsgd_gaussian_mu(0, 0, 0, LV_REL_ADD_REMOVE,
									 o->epsilon - lv_round_up(LIPVAE_COUNT_SHARE * o->epsilon),
									 o->delta - lv_round_up(delta_dom));
	double rho_all = mu * mu / 2 * (1 - 1e-9);

	if (!(rho_all > 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("cannot calibrate the domain's noisy counts for epsilon %g and delta %g",
							   o->epsilon, o->delta),
						errhint("Raise epsilon or delta, or give public bounds => and categories =>.")));
	pp->domain_sd = lv_domain_sd(nb + nc, r, o->share * rho_all);
	lipvae_check_noise(pp->domain_sd, "the domain's noisy counts");
	pp->rho_domain = lv_domain_rho(nb + nc, r, pp->domain_sd);
	pp->rho_budget = rho_all;
	pp->domain_eps_max = domain_eps_max(o, rho_all, o->delta - lv_round_up(delta_dom));
	pp->domain_tau = nc > 0 ? lv_domain_threshold(pp->domain_sd, r, nc, pp->domain_eps_max, delta_dom) : 0;
	pp->delta_pre = delta_dom > 0 ? lv_round_up(delta_dom) : 0;
}

/*
 * joint_bounds fixes a numeric column's bounds from its noisy bin counts
 * (the measure stage counted the histogram and warns of clipping).
 */
static void
joint_bounds(TrainColumn *t, const PrivacyPlan *pp, lv_stream *rng)
{
	double *noisy = palloc(sizeof(double) * LV_DOMAIN_NBINS);

	Assert(t->domain_counts != NULL);
	lipvae_core_error(lv_domain_noise(rng, pp->domain_sd, t->domain_counts, LV_DOMAIN_NBINS, noisy),
					  "drawing the domain's noisy counts");
	t->bounds_source = "dp";
	t->noise_sd = pp->domain_sd;
	if (lv_domain_bounds(noisy, pp->domain_sd, t->integer, &t->lo, &t->hi) != 0)
		no_bounds_error(t);
	finish_bounds(t, NULL, 0, false);
	pfree(noisy);
}

/* joint_categories keeps a text column's values whose noisy counts reach tau. */
static void
joint_categories(TrainColumn *t, const PrivacyPlan *pp, lv_stream *rng)
{
	int *keep = palloc0(sizeof(int) * Max(t->nraw, 1));
	int *cand = palloc(sizeof(int) * Max(t->nraw, 1));
	double *counts = palloc(sizeof(double) * Max(t->nraw, 1));
	double *noisy = palloc(sizeof(double) * Max(t->nraw, 1));
	int *keep_c = palloc0(sizeof(int) * Max(t->nraw, 1));
	int nc = kept_candidates(t, cand, counts),
		kept,
		j;

	lipvae_core_error(lv_domain_noise(rng, pp->domain_sd, counts, nc, noisy),
					  "drawing the domain's noisy counts");
	kept = lv_domain_select(noisy, nc, pp->domain_tau, LV_MAX_CATEGORIES, keep_c);
	if (kept < 0)
		lipvae_core_error(LV_ERR_NOMEM, "selecting the categories");
	for (j = 0; j < nc; j++)
		keep[cand[j]] = keep_c[j];
	t->categories_source = "dp";
	t->noise_sd = pp->domain_sd;
	warn_dropped(t, keep);
	finish_categories(t, keep, kept);
	pfree(keep);
	pfree(cand);
	pfree(counts);
	pfree(noisy);
	pfree(keep_c);
}

/* append_joint records the joint domain release in components. */
static void
append_joint(StringInfo components, const TrainColumn *tc, int ncols,
			 const PrivacyPlan *pp, int k, int r, const TrainOptions *o)
{
	bool first = true;
	int i;

	appendStringInfoString(components, "{\"what\": \"domain\", \"mechanism\": \"discrete Gaussian histograms, one joint release\", \"columns\": [");
	for (i = 0; i < ncols; i++)
		if (tc[i].noise_sd > 0)
		{
			if (!first)
				appendStringInfoString(components, ", ");
			first = false;
			escape_json(components, tc[i].col.name);
		}
	appendStringInfo(components, "], \"histograms\": %d, \"unit_rows\": %d, \"noise_sd\": ", k, r);
	json_num(components, pp->domain_sd);
	appendStringInfoString(components, ", \"rho\": ");
	json_num(components, pp->rho_domain);
	appendStringInfoString(components, ", \"threshold\": ");
	json_num(components, pp->domain_tau);
	appendStringInfoString(components, ", \"rho_budget\": ");
	json_num(components, pp->rho_budget);
	appendStringInfoString(components, ", \"epsilon_max\": ");
	json_num(components, pp->domain_eps_max);
	appendStringInfoString(components, ", \"epsilon\": 0, \"delta\": ");
	json_num(components, pp->delta_pre);
	appendStringInfoChar(components, '}');
}

/* domain_columns counts the columns without public bounds or categories. */
static void
domain_columns(const TrainColumn *tc, int ncols, int *nb, int *nc)
{
	int i;

	*nb = 0;
	*nc = 0;
	for (i = 0; i < ncols; i++)
	{
		*nb += needs_bounds(&tc[i]);
		*nc += needs_categories(&tc[i]);
	}
}

/* preprocess: see train.h. */
void
preprocess(TrainColumn *tc, int ncols, lv_cell *cells, int64 n, TrainOptions *o,
		   const uint8 *pkey, PrivacyPlan *pp, StringInfo components)
{
	int nb,
		nc,
		i;
	int r = o->unit ? o->unit_rows : 1; /* rows one unit contributes */
	bool joint = o->mechanism == LV_MECH_CENTRAL && o->marginals_aim;
	bool first = true;
	double eps_col = 0,
		   delta_col = 0;

	domain_columns(tc, ncols, &nb, &nc);
	pp->eps_pre = 0;
	pp->delta_pre = 0;
	if (joint && nb + nc > 0)
		plan_joint(o, nb, nc, r, pp);
	else if (o->mechanism != LV_MECH_NONE && nb + nc > 0)
	{
		eps_col = o->share * o->epsilon / (nb + nc);
		delta_col = nc > 0 ? o->share * o->delta / nc : 0;
	}
	appendStringInfoChar(components, '[');
	for (i = 0; i < ncols; i++)
	{
		TrainColumn *t = &tc[i];
		lv_stream rng;

		CHECK_FOR_INTERRUPTS();
		lv_stream_init(&rng, pkey, LV_DOMAIN_PREPROCESS, (uint64) i);
		if (joint && needs_bounds(t))
			joint_bounds(t, pp, &rng);
		else if (joint && needs_categories(t))
			joint_categories(t, pp, &rng);
		else
			laplace_column(t, i, cells, n, ncols, o, eps_col, delta_col, r, &rng, pp);
		if (t->eps_used > 0)
			append_component(components, &first, t);
		if (t->col.tclass == LVT_TEXT)
			map_raw_labels(t);
	}
	if (joint && nb + nc > 0)
		append_joint(components, tc, ncols, pp, nb + nc, r, o);
	appendStringInfoChar(components, ']');
	/* rounding must only overstate the loss */
	if (pp->eps_pre > 0)
		pp->eps_pre = lv_round_up(pp->eps_pre);
	if (!joint && pp->delta_pre > 0)
		pp->delta_pre = lv_round_up(pp->delta_pre);
	if (o->mechanism != LV_MECH_NONE && o->delta > 0 && n > 0 && o->delta > 1.0 / n)
		ereport(WARNING, (errmsg("delta %g is above 1/rows", o->delta),
						  errdetail("A delta above 1/n allows releasing a whole row with probability delta."),
						  errhint("Choose delta far below 1/n.")));
}
