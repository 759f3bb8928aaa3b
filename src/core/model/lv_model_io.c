/*
 * lv_model_io.c - the versioned, checksummed binary format of a model.
 *
 * Layout (every integer and floating-point field little-endian, written
 * byte by byte; doubles and floats as their IEEE 754 bit patterns):
 *   "LIPVAE\r\n"                  8 bytes magic
 *   u32 format version            (1)
 *   u32 ncols, then per column:   u32 kind, nullable, integer, nbins,
 *                                 exact_bins, ncat; f64 lo, hi
 *   u32 mechanism, latent, hidden
 *   encoder, decoder:             u32 nlayers, then per layer: u32 in,
 *                                 u32 out, u64 count, count f32 (W,
 *                                 row-major), u64 count, count f32 (b)
 *   f64 noise_sd, lipschitz_target, lipschitz_certified, mu1
 *   u32 passes (as int32)
 *   32 bytes key
 *   i64 nrows                     (0 for LV_MECH_CENTRAL)
 *   u64 count, count f64 center   (count 0 for LV_MECH_CENTRAL)
 *   u64 count, count f32 means (nrows x latent)
 *   version 2 only (a model with a tree of pairwise potentials, lv_tree.h):
 *   ncols i32 parents (-1 for a root), u64 count, count f32 potentials
 *   (positive, finite; one table per non-root column in column order)
 *   version 3 only (a central model whose prior is a mixture of fixed
 *   points, lv_prior_set): u32 prior_points (1 .. LV_MAX_PRIOR_POINTS)
 *   version 4: the layout of version 3, for a model whose integer columns
 *   with equal-width bins decode uniformly to their bins' integers (every
 *   one of them: lv_column.uniform_ints, which no version stores per
 *   column; version 4 sets it, the others clear it)
 *   u32 CRC-32 (IEEE) of every byte before it
 *
 * A model without a tree or mixture prior is written as version 1, byte
 * for byte as before; a model has at most one of the two.
 *
 * lv_model_deserialize trusts nothing: it checks the checksum, then every
 * length against the bytes that remain before allocating or reading, every
 * value's range, and finally the Lipschitz certificate.
 */
#include <math.h>
#include <string.h>

#include "lv_model.h"
#include "lv_nn.h"
#include "lv_tree.h"

#define LV_FORMAT_VERSION 1 /* no tree */
#define LV_FORMAT_VERSION_TREE 2
#define LV_FORMAT_VERSION_MIXTURE 3
#define LV_FORMAT_VERSION_UNIFORM_INTS 4
#define LV_MAGIC "LIPVAE\r\n"
#define LV_MAGIC_LEN 8
#define LV_HEADER_LEN (LV_MAGIC_LEN + 4)
#define LV_COLUMN_BYTES (6 * 4 + 2 * 8)
#define LV_MAX_LATENT 256
#define LV_MAX_HIDDEN 4096
#define LV_MAX_NROWS ((int64_t) 1 << 40)

static uint32_t lv_crc_table[8][256];
static int lv_crc_ready = 0;

/* lv_crc_init builds the slicing-by-8 tables of the reflected IEEE CRC-32. */
static void
lv_crc_init(void)
{
	uint32_t i,
		j;

	for (i = 0; i < 256; i++)
	{
		uint32_t c = i;

		for (j = 0; j < 8; j++)
			c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
		lv_crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			lv_crc_table[j][i] = (lv_crc_table[j - 1][i] >> 8) ^
								 lv_crc_table[0][lv_crc_table[j - 1][i] & 0xff];
	lv_crc_ready = 1;
}

/* lv_crc32 returns the CRC-32 (IEEE 802.3) of buf. */
uint32_t
lv_crc32(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;

	if (!lv_crc_ready)
		lv_crc_init();
	while (len >= 8)
	{
		crc ^= (uint32_t) buf[0] | ((uint32_t) buf[1] << 8) |
			   ((uint32_t) buf[2] << 16) | ((uint32_t) buf[3] << 24);
		crc = lv_crc_table[7][crc & 0xff] ^
			  lv_crc_table[6][(crc >> 8) & 0xff] ^
			  lv_crc_table[5][(crc >> 16) & 0xff] ^
			  lv_crc_table[4][crc >> 24] ^
			  lv_crc_table[3][buf[4]] ^
			  lv_crc_table[2][buf[5]] ^
			  lv_crc_table[1][buf[6]] ^
			  lv_crc_table[0][buf[7]];
		buf += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = (crc >> 8) ^ lv_crc_table[0][(crc ^ *buf++) & 0xff];
	return crc ^ 0xFFFFFFFFu;
}

/* ---------- writing ---------- */

/* lv_put_u32 writes v little-endian at *p and advances it. */
static void
lv_put_u32(uint8_t **p, uint32_t v)
{
	uint8_t *q = *p;

	q[0] = (uint8_t) v;
	q[1] = (uint8_t) (v >> 8);
	q[2] = (uint8_t) (v >> 16);
	q[3] = (uint8_t) (v >> 24);
	*p = q + 4;
}

/* lv_put_u64 writes v little-endian at *p and advances it. */
static void
lv_put_u64(uint8_t **p, uint64_t v)
{
	lv_put_u32(p, (uint32_t) v);
	lv_put_u32(p, (uint32_t) (v >> 32));
}

/* lv_put_f64 writes the IEEE bit pattern of v little-endian. */
static void
lv_put_f64(uint8_t **p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof(bits));
	lv_put_u64(p, bits);
}

/* lv_put_f32 writes the IEEE bit pattern of v little-endian. */
static void
lv_put_f32(uint8_t **p, float v)
{
	uint32_t bits;

	memcpy(&bits, &v, sizeof(bits));
	lv_put_u32(p, bits);
}

/* lv_mlp_bytes returns the serialized size of an MLP. */
static size_t
lv_mlp_bytes(const lv_mlp *net)
{
	size_t sz = 4;
	int l;

	for (l = 0; l < net->nlayers; l++)
		sz += 8 + 8 + 4 * (size_t) net->layers[l].out * net->layers[l].in +
			  8 + 4 * (size_t) net->layers[l].out;
	return sz;
}

/* lv_put_mlp writes an MLP. */
static void
lv_put_mlp(uint8_t **p, const lv_mlp *net)
{
	int l;

	lv_put_u32(p, (uint32_t) net->nlayers);
	for (l = 0; l < net->nlayers; l++)
	{
		const lv_layer *L = &net->layers[l];
		size_t i,
			nw = (size_t) L->out * L->in;

		lv_put_u32(p, (uint32_t) L->in);
		lv_put_u32(p, (uint32_t) L->out);
		lv_put_u64(p, (uint64_t) nw);
		for (i = 0; i < nw; i++)
			lv_put_f32(p, L->W[i]);
		lv_put_u64(p, (uint64_t) L->out);
		for (i = 0; i < (size_t) L->out; i++)
			lv_put_f32(p, L->b[i]);
	}
}

/* lv_mlp_ok checks that an MLP has 3 allocated layers. */
static int
lv_mlp_ok(const lv_mlp *net)
{
	int l;

	if (net->nlayers != 3 || net->layers == NULL)
		return 0;
	for (l = 0; l < 3; l++)
		if (net->layers[l].W == NULL || net->layers[l].b == NULL ||
			net->layers[l].in < 1 || net->layers[l].out < 1)
			return 0;
	return 1;
}

/*
 * lv_model_serialize writes m into a new buffer (lv_alloc) in the versioned
 * little-endian format; LV_ERR_ARG for an incomplete model.
 */
int
lv_model_serialize(const lv_model *m, uint8_t **out, size_t *len)
{
	size_t sz,
		nm,
		nc,
		i;
	uint8_t *buf,
		*p;
	int c,
		ui;

	if (m == NULL || out == NULL || len == NULL)
		return LV_ERR_ARG;
	*out = NULL;
	*len = 0;
	if (lv_schema_check(&m->schema) != LV_OK || !lv_mlp_ok(&m->enc) ||
		!lv_mlp_ok(&m->dec) || m->latent < 1 || m->nrows < 0 ||
		m->nrows > LV_MAX_NROWS || m->enc.layers[2].out != m->latent ||
		m->mechanism < LV_MECH_NONE || m->mechanism > LV_MECH_COMPOSED)
		return LV_ERR_ARG;
	if (m->mechanism == LV_MECH_CENTRAL
			? (m->nrows != 0 || m->center != NULL || m->means != NULL)
			: (m->nrows < 1 || m->center == NULL || m->means == NULL))
		return LV_ERR_ARG;
	if (m->tree.ncols != 0 &&
		(m->tree.ncols != m->schema.ncols || m->mechanism != LV_MECH_CENTRAL ||
		 m->tree.parent == NULL || m->tree.pot == NULL))
		return LV_ERR_ARG;
	if (!lv_prior_ok(m) || (m->prior_points > 0 && m->tree.ncols != 0))
		return LV_ERR_ARG;
	/* uniform integers: all such columns or none, and only with a mixture */
	ui = lv_schema_uniform_ints(&m->schema);
	if (ui < 0 || (ui > 0 && m->prior_points < 1))
		return LV_ERR_ARG;
	nc = m->mechanism == LV_MECH_CENTRAL ? 0 : (size_t) m->latent;
	nm = (size_t) m->nrows * (size_t) m->latent;
	sz = LV_HEADER_LEN + 4 + (size_t) m->schema.ncols * LV_COLUMN_BYTES +
		 3 * 4 + lv_mlp_bytes(&m->enc) + lv_mlp_bytes(&m->dec) + 4 * 8 + 4 +
		 LV_KEY_BYTES + 8 + 8 + 8 * nc + 8 + 4 * nm + 4;
	if (m->tree.ncols != 0)
		sz += 4 * (size_t) m->tree.ncols + 8 + 4 * (size_t) m->tree.npot;
	if (m->prior_points > 0)
		sz += 4;
	buf = lv_alloc(sz);
	if (buf == NULL)
		return LV_ERR_NOMEM;
	p = buf;

	memcpy(p, LV_MAGIC, LV_MAGIC_LEN);
	p += LV_MAGIC_LEN;
	lv_put_u32(&p, m->tree.ncols != 0    ? LV_FORMAT_VERSION_TREE
				   : ui > 0              ? LV_FORMAT_VERSION_UNIFORM_INTS
				   : m->prior_points > 0 ? LV_FORMAT_VERSION_MIXTURE
										 : LV_FORMAT_VERSION);

	lv_put_u32(&p, (uint32_t) m->schema.ncols);
	for (c = 0; c < m->schema.ncols; c++)
	{
		const lv_column *col = &m->schema.cols[c];

		lv_put_u32(&p, (uint32_t) col->kind);
		lv_put_u32(&p, (uint32_t) col->nullable);
		lv_put_u32(&p, (uint32_t) col->integer);
		lv_put_u32(&p, (uint32_t) col->nbins);
		lv_put_u32(&p, (uint32_t) col->exact_bins);
		lv_put_u32(&p, (uint32_t) col->ncat);
		lv_put_f64(&p, col->lo);
		lv_put_f64(&p, col->hi);
	}
	lv_put_u32(&p, (uint32_t) m->mechanism);
	lv_put_u32(&p, (uint32_t) m->latent);
	lv_put_u32(&p, (uint32_t) m->hidden);
	lv_put_mlp(&p, &m->enc);
	lv_put_mlp(&p, &m->dec);
	lv_put_f64(&p, m->noise_sd);
	lv_put_f64(&p, m->lipschitz_target);
	lv_put_f64(&p, m->lipschitz_certified);
	lv_put_f64(&p, m->mu1);
	lv_put_u32(&p, (uint32_t) m->passes);
	memcpy(p, m->key, LV_KEY_BYTES);
	p += LV_KEY_BYTES;
	lv_put_u64(&p, (uint64_t) m->nrows);
	lv_put_u64(&p, (uint64_t) nc);
	for (i = 0; i < nc; i++)
		lv_put_f64(&p, m->center[i]);
	lv_put_u64(&p, (uint64_t) nm);
	for (i = 0; i < nm; i++)
		lv_put_f32(&p, m->means[i]);
	if (m->tree.ncols != 0)
	{
		for (c = 0; c < m->tree.ncols; c++)
			lv_put_u32(&p, (uint32_t) m->tree.parent[c]);
		lv_put_u64(&p, (uint64_t) m->tree.npot);
		for (i = 0; i < (size_t) m->tree.npot; i++)
			lv_put_f32(&p, m->tree.pot[i]);
	}
	if (m->prior_points > 0)
		lv_put_u32(&p, (uint32_t) m->prior_points);
	lv_put_u32(&p, lv_crc32(buf, (size_t) (p - buf)));

	*out = buf;
	*len = sz;
	return LV_OK;
}

/* ---------- reading ---------- */

typedef struct lv_reader
{
	const uint8_t *p;
	size_t left;
} lv_reader;

/* lv_get_u32 reads a little-endian u32; 0 when too few bytes remain. */
static int
lv_get_u32(lv_reader *r, uint32_t *v)
{
	if (r->left < 4)
		return 0;
	*v = (uint32_t) r->p[0] | ((uint32_t) r->p[1] << 8) |
		 ((uint32_t) r->p[2] << 16) | ((uint32_t) r->p[3] << 24);
	r->p += 4;
	r->left -= 4;
	return 1;
}

/* lv_get_i32 reads a little-endian two's complement int32. */
static int
lv_get_i32(lv_reader *r, int32_t *v)
{
	uint32_t u;

	if (!lv_get_u32(r, &u))
		return 0;
	memcpy(v, &u, sizeof(*v));
	return 1;
}

/* lv_get_u64 reads a little-endian u64. */
static int
lv_get_u64(lv_reader *r, uint64_t *v)
{
	uint32_t lo = 0,
			 hi = 0;

	if (r->left < 8)
		return 0;
	lv_get_u32(r, &lo);
	lv_get_u32(r, &hi);
	*v = (uint64_t) lo | ((uint64_t) hi << 32);
	return 1;
}

/* lv_get_f64 reads a finite double from its bit pattern. */
static int
lv_get_f64(lv_reader *r, double *v)
{
	uint64_t bits;

	if (!lv_get_u64(r, &bits))
		return 0;
	memcpy(v, &bits, sizeof(*v));
	return isfinite(*v);
}

/* lv_get_f32s reads n finite floats (the caller checked 4n <= left). */
static int
lv_get_f32s(lv_reader *r, float *dst, size_t n)
{
	size_t i;

	if (n > r->left / 4)
		return 0;
	for (i = 0; i < n; i++)
	{
		const uint8_t *q = r->p + 4 * i;
		uint32_t bits = (uint32_t) q[0] | ((uint32_t) q[1] << 8) |
						((uint32_t) q[2] << 16) | ((uint32_t) q[3] << 24);

		memcpy(&dst[i], &bits, sizeof(float));
		if (!isfinite(dst[i]))
			return 0;
	}
	r->p += 4 * n;
	r->left -= 4 * n;
	return 1;
}

/*
 * lv_get_mlp reads a 3-layer MLP whose widths must be exactly widths[0..3];
 * the whole size is checked against the remaining bytes before allocating.
 */
static int
lv_get_mlp(lv_reader *r, lv_mlp *net, const int *widths)
{
	uint32_t nl,
		in,
		out;
	uint64_t cnt;
	size_t need = 0;
	int l;

	if (!lv_get_u32(r, &nl) || nl != 3)
		return LV_ERR_FORMAT;
	for (l = 0; l < 3; l++)
		need += 4 + 4 + 8 + 4 * (size_t) widths[l] * (size_t) widths[l + 1] +
				8 + 4 * (size_t) widths[l + 1];
	if (need > r->left)
		return LV_ERR_FORMAT;
	if (lv_mlp_alloc(net, 3, widths) != LV_OK)
		return LV_ERR_NOMEM;
	for (l = 0; l < 3; l++)
	{
		lv_layer *L = &net->layers[l];

		if (!lv_get_u32(r, &in) || !lv_get_u32(r, &out) ||
			in != (uint32_t) L->in || out != (uint32_t) L->out)
			return LV_ERR_FORMAT;
		if (!lv_get_u64(r, &cnt) || cnt != (uint64_t) L->in * L->out ||
			!lv_get_f32s(r, L->W, (size_t) cnt))
			return LV_ERR_FORMAT;
		if (!lv_get_u64(r, &cnt) || cnt != (uint64_t) L->out ||
			!lv_get_f32s(r, L->b, (size_t) cnt))
			return LV_ERR_FORMAT;
	}
	return LV_OK;
}

/*
 * lv_get_tree reads the tree section of a version 2 blob: a central model's
 * parents (checked by lv_tree_build: a forest, tables within the cap) and
 * exactly the potentials that layout needs, each positive and finite.
 */
static int
lv_get_tree(lv_reader *r, lv_model *m)
{
	int32_t parent[LV_MAX_COLUMNS];
	uint64_t cnt;
	int c,
		rc;

	if (m->mechanism != LV_MECH_CENTRAL || m->schema.ncols > LV_TREE_MAX_COLUMNS)
		return LV_ERR_FORMAT;
	for (c = 0; c < m->schema.ncols; c++)
		if (!lv_get_i32(r, &parent[c]))
			return LV_ERR_FORMAT;
	rc = lv_tree_build(&m->tree, &m->schema, parent);
	if (rc != LV_OK)
		return rc == LV_ERR_NOMEM ? rc : LV_ERR_FORMAT;
	if (!lv_get_u64(r, &cnt) || cnt != (uint64_t) m->tree.npot || cnt > r->left / 4 ||
		!lv_get_f32s(r, m->tree.pot, (size_t) cnt))
		return LV_ERR_FORMAT;
	for (size_t i = 0; i < cnt; i++)
		if (!(m->tree.pot[i] > 0.0f) || !isfinite(m->tree.pot[i]))
			return LV_ERR_FORMAT;
	return LV_OK;
}

/*
 * lv_set_uniform_ints marks every integer column with equal-width bins as
 * decoding uniformly to its bins' integers (version 4); 0 when there is
 * none (a version 4 blob without one is not what lv_model_serialize writes).
 */
static int
lv_set_uniform_ints(lv_schema *s)
{
	int i,
		n = 0;

	for (i = 0; i < s->ncols; i++)
	{
		lv_column *c = &s->cols[i];

		if (lv_column_binned_int(c))
		{
			c->uniform_ints = 1;
			n++;
		}
	}
	return n > 0;
}

/* lv_deserialize_body parses everything between the header and the CRC. */
static int
lv_deserialize_body(lv_reader *r, lv_model *m, uint32_t version)
{
	uint32_t u,
		latent,
		hidden;
	uint64_t cnt;
	int64_t nrows;
	int widths[4],
		d,
		o,
		c,
		rc;
	size_t i;
	double cert;

	/* schema */
	if (!lv_get_u32(r, &u) || u < 1 || u > LV_MAX_COLUMNS ||
		(size_t) u * LV_COLUMN_BYTES > r->left)
		return LV_ERR_FORMAT;
	m->schema.cols = lv_calloc(u, sizeof(lv_column));
	if (m->schema.cols == NULL)
		return LV_ERR_NOMEM;
	m->schema.ncols = (int32_t) u;
	for (c = 0; c < m->schema.ncols; c++)
	{
		lv_column *col = &m->schema.cols[c];

		if (!lv_get_i32(r, &col->kind) || !lv_get_i32(r, &col->nullable) ||
			!lv_get_i32(r, &col->integer) || !lv_get_i32(r, &col->nbins) ||
			!lv_get_i32(r, &col->exact_bins) || !lv_get_i32(r, &col->ncat) ||
			!lv_get_f64(r, &col->lo) || !lv_get_f64(r, &col->hi))
			return LV_ERR_FORMAT;
	}
	if (lv_schema_check(&m->schema) != LV_OK)
		return LV_ERR_FORMAT;
	d = lv_schema_input_dim(&m->schema);
	o = lv_schema_output_dim(&m->schema);

	/* sizes */
	if (!lv_get_i32(r, &m->mechanism) || m->mechanism < LV_MECH_NONE ||
		m->mechanism > LV_MECH_COMPOSED)
		return LV_ERR_FORMAT;
	if (!lv_get_u32(r, &latent) || latent < 1 || latent > LV_MAX_LATENT ||
		!lv_get_u32(r, &hidden) || hidden < 1 || hidden > LV_MAX_HIDDEN)
		return LV_ERR_FORMAT;
	m->latent = (int32_t) latent;
	m->hidden = (int32_t) hidden;

	/* networks */
	widths[0] = d;
	widths[1] = m->hidden;
	widths[2] = m->hidden;
	widths[3] = m->latent;
	if ((rc = lv_get_mlp(r, &m->enc, widths)) != LV_OK)
		return rc;
	widths[0] = m->latent;
	widths[3] = o;
	if ((rc = lv_get_mlp(r, &m->dec, widths)) != LV_OK)
		return rc;

	/* mechanism parameters */
	if (!lv_get_f64(r, &m->noise_sd) || !(m->noise_sd > 0.0) ||
		!lv_get_f64(r, &m->lipschitz_target) || m->lipschitz_target < 0.0 ||
		!lv_get_f64(r, &m->lipschitz_certified) ||
		m->lipschitz_certified < 0.0 ||
		!lv_get_f64(r, &m->mu1) || m->mu1 < 0.0 ||
		!lv_get_i32(r, &m->passes) || m->passes < 0)
		return LV_ERR_FORMAT;
	if (lv_mech_per_record(m->mechanism) && !(m->lipschitz_target > 0.0))
		return LV_ERR_FORMAT;
	if (r->left < LV_KEY_BYTES)
		return LV_ERR_FORMAT;
	memcpy(m->key, r->p, LV_KEY_BYTES);
	r->p += LV_KEY_BYTES;
	r->left -= LV_KEY_BYTES;

	/* center and means: none for the central mechanism */
	if (!lv_get_u64(r, &cnt) || cnt > (uint64_t) LV_MAX_NROWS ||
		(m->mechanism == LV_MECH_CENTRAL) != (cnt == 0))
		return LV_ERR_FORMAT;
	nrows = (int64_t) cnt;
	if (!lv_get_u64(r, &cnt) || cnt != (nrows > 0 ? latent : 0) ||
		8 * cnt > r->left)
		return LV_ERR_FORMAT;
	if (nrows > 0)
	{
		m->center = lv_alloc(sizeof(double) * latent);
		if (m->center == NULL)
			return LV_ERR_NOMEM;
		for (i = 0; i < latent; i++)
			if (!lv_get_f64(r, &m->center[i]))
				return LV_ERR_FORMAT;
	}
	if (!lv_get_u64(r, &cnt) || cnt != (uint64_t) nrows * latent ||
		cnt > r->left / 4)
		return LV_ERR_FORMAT;
	if (nrows > 0)
	{
		m->means = lv_alloc(sizeof(float) * (size_t) cnt);
		if (m->means == NULL)
			return LV_ERR_NOMEM;
		if (!lv_get_f32s(r, m->means, (size_t) cnt))
			return LV_ERR_FORMAT;
	}
	m->nrows = nrows;
	if (version == LV_FORMAT_VERSION_TREE && (rc = lv_get_tree(r, m)) != LV_OK)
		return rc;
	if ((version == LV_FORMAT_VERSION_MIXTURE || version == LV_FORMAT_VERSION_UNIFORM_INTS) &&
		(!lv_get_i32(r, &m->prior_points) || m->prior_points < 1 || !lv_prior_ok(m)))
		return LV_ERR_FORMAT;
	if (version == LV_FORMAT_VERSION_UNIFORM_INTS && !lv_set_uniform_ints(&m->schema))
		return LV_ERR_FORMAT;
	if (r->left != 0)
		return LV_ERR_FORMAT;

	/* the certificate */
	cert = lv_model_certify(m);
	if (cert < 0.0)
		return LV_ERR_LAPACK;
	if (cert > m->lipschitz_certified * (1.0 + 1e-9))
		return LV_ERR_CERTIFICATE;
	if (lv_mech_per_record(m->mechanism) &&
		!(m->mu1 >= m->lipschitz_certified * lv_schema_diameter(&m->schema) /
						m->noise_sd * (1.0 - 1e-12)))
		return LV_ERR_CERTIFICATE;
	return LV_OK;
}

/*
 * lv_model_deserialize parses and validates a blob into m: length, magic,
 * checksum, version, then every field (lv_deserialize_body). On failure m
 * is left empty (all zero).
 */
int
lv_model_deserialize(const uint8_t *buf, size_t len, lv_model *m)
{
	lv_reader r;
	uint32_t stored = 0,
			 version = 0;
	int rc;

	if (m == NULL)
		return LV_ERR_ARG;
	memset(m, 0, sizeof(*m));
	if (buf == NULL || len < LV_HEADER_LEN + 4)
		return LV_ERR_FORMAT;
	if (memcmp(buf, LV_MAGIC, LV_MAGIC_LEN) != 0)
		return LV_ERR_FORMAT;
	r.p = buf + len - 4;
	r.left = 4;
	lv_get_u32(&r, &stored);
	if (lv_crc32(buf, len - 4) != stored)
		return LV_ERR_CHECKSUM;
	r.p = buf + LV_MAGIC_LEN;
	r.left = len - 4 - LV_MAGIC_LEN;
	lv_get_u32(&r, &version);
	if (version < LV_FORMAT_VERSION || version > LV_FORMAT_VERSION_UNIFORM_INTS)
		return LV_ERR_FORMAT;

	rc = lv_deserialize_body(&r, m, version);
	if (rc != LV_OK)
	{
		lv_model_free(m);
		memset(m, 0, sizeof(*m));
	}
	return rc;
}
