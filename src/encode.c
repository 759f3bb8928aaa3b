/*
 * encode.c - SQL values <-> the core's numeric domain: which types lipvae
 * accepts, how each becomes a double (days for dates, seconds for
 * timestamps) and how a decoded double becomes a value of the type again.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "lipvae.h"

#define SECS_PER_DAY_F 86400.0

/*
 * lipvae_type_class maps a base type to its class; false when lipvae does
 * not support the type.
 */
bool
lipvae_type_class(Oid typid, LipvaeTypeClass *tclass)
{
	switch (typid)
	{
		case INT2OID:
			*tclass = LVT_INT2;
			return true;
		case INT4OID:
			*tclass = LVT_INT4;
			return true;
		case INT8OID:
			*tclass = LVT_INT8;
			return true;
		case FLOAT4OID:
			*tclass = LVT_FLOAT4;
			return true;
		case FLOAT8OID:
			*tclass = LVT_FLOAT8;
			return true;
		case NUMERICOID:
			*tclass = LVT_NUMERIC;
			return true;
		case DATEOID:
			*tclass = LVT_DATE;
			return true;
		case TIMESTAMPOID:
			*tclass = LVT_TIMESTAMP;
			return true;
		case TIMESTAMPTZOID:
			*tclass = LVT_TIMESTAMPTZ;
			return true;
		case BOOLOID:
			*tclass = LVT_BOOL;
			return true;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			*tclass = LVT_TEXT;
			return true;
		default:
			if (type_is_enum(typid))
			{
				*tclass = LVT_ENUM;
				return true;
			}
			return false;
	}
}

/* lipvae_class_is_numeric says whether a class is encoded as a number. */
bool
lipvae_class_is_numeric(LipvaeTypeClass c)
{
	return c != LVT_BOOL && c != LVT_TEXT && c != LVT_ENUM;
}

/*
 * lipvae_class_is_integer says whether decoded values of the class must be
 * integers (integer types, dates, numeric with scale 0).
 */
bool
lipvae_class_is_integer(LipvaeTypeClass c, int32 typmod)
{
	if (c == LVT_INT2 || c == LVT_INT4 || c == LVT_INT8 || c == LVT_DATE)
		return true;
	if (c == LVT_NUMERIC && typmod >= (int32) VARHDRSZ)
		return ((typmod - VARHDRSZ) & 0xffff) == 0;
	return false;
}

/*
 * lipvae_type_range gives the range of values a class can hold in the
 * numeric domain (used to clamp bounds so every decoded value fits).
 */
void
lipvae_type_range(LipvaeTypeClass c, int32 typmod, double *lo, double *hi)
{
	switch (c)
	{
		case LVT_INT2:
			*lo = PG_INT16_MIN;
			*hi = PG_INT16_MAX;
			break;
		case LVT_INT4:
			*lo = PG_INT32_MIN;
			*hi = PG_INT32_MAX;
			break;
		case LVT_INT8:
			/* the largest doubles strictly inside int8 */
			*lo = -9223372036854774784.0;
			*hi = 9223372036854774784.0;
			break;
		case LVT_FLOAT4:
			*lo = -FLT_MAX;
			*hi = FLT_MAX;
			break;
		case LVT_NUMERIC:
			if (typmod >= (int32) VARHDRSZ)
			{
				int prec = ((typmod - VARHDRSZ) >> 16) & 0xffff;
				int scale = (typmod - VARHDRSZ) & 0xffff;
				double m = pow(10.0, prec - scale) - pow(10.0, -scale);

				*lo = -m;
				*hi = m;
			}
			else
			{
				*lo = -1e300;
				*hi = 1e300;
			}
			break;
		case LVT_DATE:
			/* 4713 BC .. 5874897 AD is the type's range; keep to 1 AD - 9999 */
			*lo = -730119.0;
			*hi = 2921939.0;
			break;
		case LVT_TIMESTAMP:
		case LVT_TIMESTAMPTZ:
			*lo = -730119.0 * SECS_PER_DAY_F;
			*hi = 2921939.0 * SECS_PER_DAY_F;
			break;
		default:
			*lo = -DBL_MAX;
			*hi = DBL_MAX;
	}
}

/*
 * lipvae_datum_to_double converts a non-NULL value of a numeric class to the
 * core's domain. NaN and infinities are refused (they have no place in a
 * bounded encoding); the message names the column, never the value.
 */
double
lipvae_datum_to_double(Datum d, LipvaeTypeClass c, const char *colname)
{
	double v;

	switch (c)
	{
		case LVT_INT2:
			return (double) DatumGetInt16(d);
		case LVT_INT4:
			return (double) DatumGetInt32(d);
		case LVT_INT8:
			return (double) DatumGetInt64(d);
		case LVT_FLOAT4:
			v = (double) DatumGetFloat4(d);
			break;
		case LVT_FLOAT8:
			v = DatumGetFloat8(d);
			break;
		case LVT_NUMERIC:
			if (numeric_is_nan(DatumGetNumeric(d)) ||
				numeric_is_inf(DatumGetNumeric(d)))
				v = NAN;
			else
				v = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, d));
			break;
		case LVT_DATE:
			if (DATE_NOT_FINITE(DatumGetDateADT(d)))
				v = INFINITY;
			else
				v = (double) DatumGetDateADT(d);
			break;
		case LVT_TIMESTAMP:
		case LVT_TIMESTAMPTZ:
			if (TIMESTAMP_NOT_FINITE(DatumGetTimestamp(d)))
				v = INFINITY;
			else
				v = (double) DatumGetTimestamp(d) / USECS_PER_SEC;
			break;
		default:
			elog(ERROR, "lipvae: column class %d is not numeric", (int) c);
	}
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column \"%s\" contains NaN or an infinite value", colname),
				 errdetail("lipvae encodes numbers, dates and times within finite bounds."),
				 errhint("Filter such rows out in the query, or map them to NULL (NULLIF).")));
	return v;
}

/*
 * lipvae_double_to_datum converts a decoded value back to the column's type
 * (the core has already rounded integer columns and clamped to bounds).
 */
Datum
lipvae_double_to_datum(double v, const LipvaeColumn *col)
{
	switch (col->tclass)
	{
		case LVT_INT2:
			return Int16GetDatum((int16) rint(v));
		case LVT_INT4:
			return Int32GetDatum((int32) rint(v));
		case LVT_INT8:
			return Int64GetDatum((int64) rint(v));
		case LVT_FLOAT4:
			return Float4GetDatum((float4) v);
		case LVT_FLOAT8:
			return Float8GetDatum(v);
		case LVT_NUMERIC:
		{
			Datum num = DirectFunctionCall1(float8_numeric,
											Float8GetDatum(v));

			if (col->typmod >= (int32) VARHDRSZ)
				num = DirectFunctionCall2(numeric, num,
										  Int32GetDatum(col->typmod));
			return num;
		}
		case LVT_DATE:
			return DateADTGetDatum((DateADT) rint(v));
		case LVT_TIMESTAMP:
		case LVT_TIMESTAMPTZ:
			return TimestampGetDatum((Timestamp) llround(v * USECS_PER_SEC));
		default:
			elog(ERROR, "lipvae: column class %d is not numeric", (int) col->tclass);
	}
	return (Datum) 0;
}

/*
 * lipvae_label_datum converts a category label (text form) into a value of
 * the column's type with its type modifier (errors if it does not fit).
 */
Datum
lipvae_label_datum(LipvaeColumn *col, const char *label)
{
	Oid typinput;
	Oid typioparam;

	getTypeInputInfo(col->typid, &typinput, &typioparam);
	return OidInputFunctionCall(typinput, (char *) label, typioparam,
								col->typmod);
}

/*
 * lipvae_parse_bound reads one bound from jsonb: a number, or a string in
 * the column type's input syntax (dates, timestamps, numbers).
 */
double
lipvae_parse_bound(LipvaeColumn *col, Jsonb *jb, JsonbValue *v,
				   const char *which)
{
	if (v->type == jbvNumeric)
	{
		double d = DatumGetFloat8(DirectFunctionCall1(numeric_float8,
													  NumericGetDatum(v->val.numeric)));

		if (col->tclass == LVT_DATE || col->tclass == LVT_TIMESTAMP ||
			col->tclass == LVT_TIMESTAMPTZ)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s bound of column \"%s\" must be a %s string",
							which, col->name, format_type_be(col->typid)),
					 errhint("For example bounds => '{\"%s\": [\"2000-01-01\", \"2024-12-31\"]}'.",
							 col->name)));
		return d;
	}
	if (v->type == jbvString)
	{
		char *s = pnstrdup(v->val.string.val, v->val.string.len);
		Datum d = lipvae_label_datum(col, s);

		return lipvae_datum_to_double(d, col->tclass, col->name);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s bound of column \"%s\" must be a number or a string",
					which, col->name)));
	return 0;
}

/*
 * lipvae_format_value renders a value of the numeric domain in the column
 * type's text form (for bounds shown to the owner).
 */
char *
lipvae_format_value(const LipvaeColumn *col, double v)
{
	Oid typoutput;
	bool isvarlena;
	LipvaeColumn tmp = *col;

	if (col->tclass == LVT_DATE || col->tclass == LVT_TIMESTAMP ||
		col->tclass == LVT_TIMESTAMPTZ)
		return JsonEncodeDateTime(NULL, lipvae_double_to_datum(v, col), col->typid, NULL);

	if (col->tclass == LVT_NUMERIC)
		tmp.typmod = -1;
	getTypeOutputInfo(col->typid, &typoutput, &isvarlena);
	return OidOutputFunctionCall(typoutput, lipvae_double_to_datum(v, &tmp));
}

/* lipvae_jsonb_get returns the value of key in a jsonb object, or NULL. */
JsonbValue *
lipvae_jsonb_get(JsonbContainer *c, const char *key)
{
	JsonbValue k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	return findJsonbValueFromContainer(c, JB_FOBJECT, &k);
}
