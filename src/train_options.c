/*
 * train_options.c - the arguments of lipvae_train, checked and defaulted
 * (TrainOptions): every bad value is an error naming the option.
 */
#include "postgres.h"

#include <math.h>

#include "utils/builtins.h"

#include "train.h"

static bool arg_null(FunctionCallInfo fcinfo, int i);
static double float_arg(FunctionCallInfo fcinfo, int i, double def);
static int int_arg(FunctionCallInfo fcinfo, int i, int def, int lo, int hi, const char *name);

/* bad_option raises an invalid-parameter error for a training option. */
void
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

/* parse_privacy reads the model name, the query, epsilon, delta, passes and mechanism. */
static void
parse_privacy(FunctionCallInfo fcinfo, TrainOptions *o)
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
}

/* parse_domain reads bounds, categories and not_null. */
static void
parse_domain(FunctionCallInfo fcinfo, TrainOptions *o)
{
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
}

/* parse_network reads the network and training sizes, their defaults by mechanism, and seed. */
static void
parse_network(FunctionCallInfo fcinfo, TrainOptions *o)
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
}

/* parse_central reads DP-SGD's options: unit, unit_rows, clip, clipping, shares, layer_bound. */
static void
parse_central(FunctionCallInfo fcinfo, TrainOptions *o)
{
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
}

/* parse_marginals reads marginals_share and marginals, and checks the DP-SGD options' mechanism. */
static void
parse_marginals(FunctionCallInfo fcinfo, TrainOptions *o)
{
	bool central = o->mechanism == LV_MECH_CENTRAL || o->mechanism == LV_MECH_COMPOSED;

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

/*
 * parse_options validates every argument of lipvae_train before any data
 * is read (in argument order: later groups depend on the mechanism).
 */
void
parse_options(FunctionCallInfo fcinfo, TrainOptions *o)
{
	parse_privacy(fcinfo, o);
	parse_domain(fcinfo, o);
	parse_network(fcinfo, o);
	parse_central(fcinfo, o);
	parse_marginals(fcinfo, o);
}
