/*
 * lv_model.h - the lipvae model: encoding schema, Lipschitz VAE, training,
 * certificate, release of synthetic row j, and the binary format.
 * No PostgreSQL here: plain C99 over cblas/LAPACK, with allocation hooks.
 */
#ifndef LV_MODEL_H
#define LV_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "lv_rand.h"

/* ---------- error codes ---------- */
enum
{
	LV_OK = 0,
	LV_ERR_NOMEM = -1,
	LV_ERR_INTERRUPTED = -2,
	LV_ERR_ARG = -3,         /* bad argument (caller bug or bad option) */
	LV_ERR_FORMAT = -4,      /* blob: bad magic, version, length, values */
	LV_ERR_CHECKSUM = -5,    /* blob: checksum mismatch */
	LV_ERR_CERTIFICATE = -6, /* blob: Lipschitz certificate fails */
	LV_ERR_NUMERIC = -7,     /* training diverged (NaN/Inf loss) */
	LV_ERR_LAPACK = -8
};

/* lv_strerror returns a static English text for an error code. */
const char *lv_strerror(int code);

/* ---------- allocation hooks ---------- */
typedef struct lv_allocator
{
	void *(*alloc)(size_t size, void *ctx); /* may longjmp; NULL = fail */
	void (*free)(void *ptr, void *ctx);
	void *ctx;
} lv_allocator;

/* lv_set_allocator installs hooks (NULL restores malloc/free). */
void lv_set_allocator(const lv_allocator *a);
void *lv_alloc(size_t size);
void *lv_calloc(size_t n, size_t size); /* zeroed; overflow-checked */
void lv_free(void *p);

/* ---------- encoding schema ---------- */
enum
{
	LV_COL_NUMERIC = 0,    /* numeric, date, time: clipped to [lo,hi] */
	LV_COL_CATEGORICAL = 1 /* one-hot over a public category list */
};

#define LV_MAX_COLUMNS 256
#define LV_MAX_CATEGORIES 1000
#define LV_MAX_BINS 256

typedef struct lv_column
{
	int32_t kind;       /* LV_COL_* */
	int32_t nullable;   /* numeric: null indicator input and
								 * Bernoulli head; categorical: a NULL slot */
	int32_t integer;    /* numeric: decoded values are integers */
	int32_t nbins;      /* numeric: softmax head over nbins bins */
	int32_t exact_bins; /* numeric integer: one bin per integer
								 * lo..hi (nbins = hi-lo+1) */
	int32_t ncat;       /* categorical: listed categories; slots are
								 * ncat listed + 1 other + nullable NULL */
	double lo,
		hi;               /* numeric public bounds, lo < hi */
	int32_t uniform_ints; /* numeric integer, not exact bins: a bin decodes
						   * to one of its own integers, uniformly (format
						   * 4; else a rounded uniform position) */
} lv_column;

typedef struct lv_schema
{
	int32_t ncols;
	lv_column *cols; /* ncols entries */
} lv_schema;

/*
 * One value of one column, as the glue layer hands it over and gets it back.
 * numeric: value (already in the numeric domain: days for dates, seconds
 * for timestamps); categorical: cat = index into the list, -1 = "other".
 */
typedef struct lv_cell
{
	double value;
	int32_t cat;
	int32_t isnull;
} lv_cell;

/* lv_schema_input_dim returns d, the width of an encoded row. */
int lv_schema_input_dim(const lv_schema *s);

/* lv_schema_output_dim returns the width of the decoder's logit vector. */
int lv_schema_output_dim(const lv_schema *s);

/* lv_schema_diameter returns the L2 diameter D of the encoded domain. */
double lv_schema_diameter(const lv_schema *s);

/*
 * lv_encode_row encodes one row of cells into x (d floats in [0,1]) and
 * target (ncols ints: numeric bin index or -1 for NULL; categorical slot).
 */
void lv_encode_row(const lv_schema *s, const lv_cell *cells, float *x,
				   int32_t *target);

/* ---------- network ---------- */
typedef struct lv_layer
{
	int32_t in,
		out;
	float *W; /* out x in, row-major */
	float *b; /* out */
} lv_layer;

typedef struct lv_mlp
{
	int32_t nlayers; /* ReLU between layers, none after the last */
	lv_layer *layers;
} lv_mlp;

enum
{
	LV_MECH_NONE = 0,    /* non-private: no constraint, no guarantee */
	LV_MECH_LATENT = 1,  /* per-record latent Gaussian mechanism */
	LV_MECH_CENTRAL = 2, /* DP-SGD-trained model, rows decoded from the
						  * prior z ~ N(0, noise_sd^2 I): no per-row data
						  * (nrows = 0, center = means = NULL) */
	LV_MECH_COMPOSED = 3 /* DP-SGD-trained model and the per-record latent
						  * release of LV_MECH_LATENT over its encoder */
};

/* lv_mech_per_record is nonzero for mechanisms that release per source row. */
#define lv_mech_per_record(mech) \
	((mech) == LV_MECH_LATENT || (mech) == LV_MECH_COMPOSED)

/*
 * A tree of pairwise potentials over the columns (lv_tree.h); ncols = 0
 * when the model has none. order and offset are derived from parent.
 */
typedef struct lv_tree
{
	int32_t ncols;   /* 0: no tree */
	int32_t *parent; /* ncols: the parent column, -1 for a root */
	int32_t *order;  /* ncols: every column after its parent */
	int64_t *offset; /* ncols: its table's start in pot, -1 for a root */
	float *pot;      /* per non-root column c: slots(parent) x slots(c)
					  * positive potentials, row-major */
	int64_t npot;
} lv_tree;

typedef struct lv_model
{
	lv_schema schema;
	int32_t mechanism;          /* LV_MECH_* */
	int32_t latent;             /* k */
	int32_t hidden;             /* hidden width of both networks */
	lv_mlp enc;                 /* d -> hidden -> hidden -> k (encoder mean) */
	lv_mlp dec;                 /* k -> hidden -> hidden -> output logits */
	double noise_sd;            /* s: fixed posterior standard deviation */
	double lipschitz_target;    /* L the encoder was constrained to */
	double lipschitz_certified; /* exact bound, rounded up */
	double mu1;                 /* per-pass GDP parameter, >= L_cert D / s */
	int32_t passes;             /* p: releases allowed per source row */
	uint8_t key[LV_KEY_BYTES];  /* release key: secret */
	int64_t nrows;              /* n training rows */
	double *center;             /* k: mu(0) in double precision */
	float *means;               /* n x k: mu(x_i) - center */
	lv_tree tree;               /* central only: pairwise correction */
	int32_t prior_points;       /* central only: > 0: the prior is the uniform
								 * mixture of this many fixed points
								 * (lv_prior_set); 0: N(0, noise_sd^2 I) */
} lv_model;

/* the most fixed points a mixture prior may have */
#define LV_MAX_PRIOR_POINTS 65536

/* lv_prior_ok says whether m's prior_points is in range and, when > 0, m is central. */
static inline int
lv_prior_ok(const lv_model *m)
{
	return m->prior_points >= 0 && m->prior_points <= LV_MAX_PRIOR_POINTS &&
		   (m->prior_points == 0 || m->mechanism == LV_MECH_CENTRAL);
}

/* ---------- training ---------- */
typedef struct lv_train_config
{
	int32_t epochs;
	int32_t batch;
	int32_t latent;
	int32_t hidden;
	double lr;
	double lipschitz_target;         /* encoder product bound; <= 0: none */
	double decoder_layer_bound;      /* per-layer spectral bound; <= 0:
										 * none */
	uint8_t train_key[LV_KEY_BYTES]; /* init, order, noise */
	/* polled between minibatches; nonzero return stops with INTERRUPTED */
	int (*interrupted)(void *arg);
	void *interrupted_arg;
} lv_train_config;

typedef struct lv_train_result
{
	int32_t epochs_run;
	double final_loss;  /* mean negative ELBO per row, last epoch */
	double final_recon; /* mean reconstruction part */
	double final_kl;    /* mean KL part */
} lv_train_result;

/*
 * lv_model_train fits model m (whose schema, mechanism, passes and key the
 * caller has set) on n encoded rows X (n x d) with targets T (n x ncols):
 * minibatch Adam on the negative ELBO with fixed posterior sd 1, spectral
 * projection of every layer after each step (encoder: hidden layers <= 1,
 * last layer <= lipschitz_target; decoder: each layer <= decoder_layer_bound),
 * then the exact certificate (lv_model_certify; if it exceeds the target the
 * last encoder layer is rescaled and re-certified), then the stored encoder
 * means. Sets noise_sd = 1, lipschitz_target, lipschitz_certified, nrows,
 * center, means. Does not set mu1 (privacy arithmetic is the caller's).
 * Restores the floating-point environment before returning.
 */
int lv_model_train(lv_model *m, const float *X, const int32_t *T,
				   int64_t n, const lv_train_config *cfg,
				   lv_train_result *res);

/*
 * lv_model_attach_means prepares a trained model for the per-record
 * release: it certifies the encoder (lv_model_certify), rescales the last
 * encoder layer when the certificate exceeds m->lipschitz_target (> 0),
 * stores lipschitz_certified, then computes center = mu(0) and the n
 * encoder means of the rows X (n x d), sets nrows = n. Used after
 * lv_model_train_dpsgd for LV_MECH_COMPOSED (lv_model_train does the same
 * itself). Polls interrupted(arg) between chunks when it is not NULL.
 */
int lv_model_attach_means(lv_model *m, const float *X, int64_t n,
						  int (*interrupted)(void *arg), void *arg);

/*
 * lv_model_certify returns an upper bound on the Lipschitz constant of the
 * encoder mean: the product of the exact largest singular values (LAPACK
 * dgesvd in double on the stored float weights) times (1 + 1e-4), rounded
 * up. Returns a negative value on LAPACK failure.
 */
double lv_model_certify(const lv_model *m);

/*
 * lv_model_free releases everything m owns (not m itself): networks,
 * center, means and schema.cols (so cols must come from lv_alloc).
 */
void lv_model_free(lv_model *m);

/* ---------- release ---------- */

/*
 * lv_release_rows decodes synthetic rows start .. start+count-1 into out
 * (count x ncols cells). Row j: pass q = j / n, source row
 * lv_permute(key, q, n, j mod n), latent z = center + means[src] + s * xi
 * with xi from the (key, RELEASE, j) stream, then the decoder and a draw from
 * each head (NULL, bin or category, uniform position inside a bin) from the
 * same stream. For LV_MECH_CENTRAL (nrows = 0) there is no source row:
 * z = noise_sd * xi, a draw from the prior, with the same stream layout.
 * A central model with a mixture prior (prior_points > 0) decodes prior
 * point pi_b(j mod N), b = j / N, pi_b a permutation keyed by (key, b),
 * instead (lv_release.c). count <= LV_RELEASE_CHUNK; the decoder runs on
 * whole aligned chunks of LV_RELEASE_CHUNK rows (callers that ask for
 * aligned ranges pay no extra). The caller checks the pass limit.
 */
#define LV_RELEASE_CHUNK 512
int lv_release_rows(const lv_model *m, int64_t start, int count,
					lv_cell *out);

/* ---------- binary format ---------- */

/*
 * lv_model_serialize writes m into a new buffer (lv_alloc) in the versioned
 * little-endian format: magic "LIPVAE\r\n", format version, fields, and a
 * trailing CRC-32 of everything before it.
 */
int lv_model_serialize(const lv_model *m, uint8_t **out, size_t *len);

/*
 * lv_model_deserialize parses and validates a blob into m (allocating with
 * lv_alloc): magic, version, lengths, checksum, value ranges, then re-checks
 * the certificate (lv_model_certify <= stored certified bound) and
 * mu1 >= certified * D / s for private models. On failure m is left empty.
 */
int lv_model_deserialize(const uint8_t *buf, size_t len, lv_model *m);

/* lv_crc32 returns the CRC-32 (IEEE 802.3) of buf. */
uint32_t lv_crc32(const uint8_t *buf, size_t len);

#endif
