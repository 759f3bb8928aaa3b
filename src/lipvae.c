/*
 * lipvae.c - module entry: settings, the bridge between the numerical core
 * and PostgreSQL (allocation, errors, keys, BLAS threads), name checks.
 */
#include "postgres.h"

#include <limits.h>

#include <cblas.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "lipvae.h"
#include "lv_exact.h"
#include "lv_rand.h"

PG_MODULE_MAGIC;

int lipvae_max_training_rows = 1000000;
int lipvae_max_sample_rows = 1000000;
int lipvae_blas_threads = 1;
int lipvae_training_memory = 2 * 1024 * 1024; /* kB */

/*
 * The memory budget of the training in progress: its memory context and
 * the limit; cxt is NULL when no training is running (a reset callback
 * clears it when the context goes, on success or error).
 */
static struct
{
	MemoryContext cxt;
	Size limit;
	MemoryContextCallback cb;
} budget;

void _PG_init(void);

/*
 * _PG_init registers lipvae's settings.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("lipvae.max_training_rows",
							"Largest number of rows a training query may return.",
							"Per-record models store one latent vector per training row.",
							&lipvae_max_training_rows,
							1000000, 2, 50000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lipvae.max_sample_rows",
							"Largest number of rows one lipvae_sample call may return.",
							"PostgreSQL materialises a call's rows (temporary files past work_mem, some 180 bytes a row; temp_file_limit applies): draw more in start ranges.",
							&lipvae_max_sample_rows,
							1000000, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("lipvae.training_memory",
							"Largest amount of memory one training may use.",
							"The encoded rows, the networks and the training workspace all count.",
							&lipvae_training_memory,
							2 * 1024 * 1024, 1024, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("lipvae.blas_threads",
							"Number of OpenBLAS threads a backend uses for training and sampling.",
							NULL,
							&lipvae_blas_threads,
							1, 1, 64,
							PGC_USERSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("lipvae");
}

/* palloc_hook allocates core memory in the current memory context. */
static void *
palloc_hook(size_t size, void *ctx)
{
	lipvae_check_memory(size);
	return MemoryContextAllocExtended(CurrentMemoryContext, size,
									  MCXT_ALLOC_HUGE);
}

/* budget_gone forgets the budget when its memory context is reset or deleted. */
static void
budget_gone(void *arg)
{
	budget.cxt = NULL;
}

/*
 * lipvae_memory_budget makes cxt (a training's memory context) subject to
 * lipvae.training_memory: lipvae_check_memory and every core allocation
 * refuse to take it past the limit.
 */
void
lipvae_memory_budget(MemoryContext cxt)
{
	budget.cxt = cxt;
	budget.limit = (Size) lipvae_training_memory * 1024;
	budget.cb.func = budget_gone;
	budget.cb.arg = NULL;
	MemoryContextRegisterResetCallback(cxt, &budget.cb);
}

/*
 * lipvae_check_memory raises an error when the training in progress (if
 * any) would exceed lipvae.training_memory by allocating more bytes.
 */
void
lipvae_check_memory(Size more)
{
	Size used;

	if (budget.cxt == NULL)
		return;
	used = MemoryContextMemAllocated(budget.cxt, true);
	if (used + more > budget.limit)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						errmsg("training needs more memory than lipvae.training_memory allows (%d kB)",
							   lipvae_training_memory),
						errdetail("It holds %zu kB and asked for %zu kB more.", used / 1024,
								  (more + 1023) / 1024),
						errhint("Train on fewer rows (TABLESAMPLE, LIMIT) or columns, with a smaller hidden size, or ask a superuser to raise lipvae.training_memory.")));
}

/* pfree_hook frees core memory. */
static void
pfree_hook(void *ptr, void *ctx)
{
	if (ptr)
		pfree(ptr);
}

/*
 * lipvae_use_palloc makes the core allocate in CurrentMemoryContext, so that
 * an error or cancel anywhere releases everything with the context.
 */
void
lipvae_use_palloc(void)
{
	static const lv_allocator a = {palloc_hook, pfree_hook, NULL};

	lv_set_allocator(&a);
}

/* lipvae_set_blas_threads applies lipvae.blas_threads to OpenBLAS. */
void
lipvae_set_blas_threads(void)
{
	openblas_set_num_threads(lipvae_blas_threads);
}

/*
 * lipvae_core_error raises the SQL error that matches a core error code.
 */
void
lipvae_core_error(int code, const char *what)
{
	switch (code)
	{
		case LV_OK:
			return;
		case LV_ERR_NOMEM:
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
							errmsg("out of memory while %s", what)));
			break;
		case LV_ERR_INTERRUPTED:
			CHECK_FOR_INTERRUPTS();
			ereport(ERROR, (errcode(ERRCODE_QUERY_CANCELED),
							errmsg("canceling %s", what)));
			break;
		case LV_ERR_FORMAT:
		case LV_ERR_CHECKSUM:
		case LV_ERR_CERTIFICATE:
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
							errmsg("lipvae model is unusable while %s: %s",
								   what, lv_strerror(code)),
							errhint("Train the model again with lipvae.lipvae_train(..., replace => true).")));
			break;
		case LV_ERR_NUMERIC:
			ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
							errmsg("training diverged while %s", what),
							errhint("Lower learning_rate or give tighter bounds.")));
			break;
		default:
			ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
							errmsg("lipvae core error while %s: %s", what,
								   lv_strerror(code))));
	}
}

/*
 * lipvae_check_noise refuses a noise scale (Laplace scale or Gaussian sd)
 * that the exact samplers cannot draw: it only happens when epsilon is tiny
 * for the sensitivity, and the user gets a calibration error, not a core
 * error.
 */
void
lipvae_check_noise(double scale, const char *what)
{
	if (scale > 0 && scale <= LV_EXACT_MAX_SCALE)
		return;
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					errmsg("epsilon is too small to calibrate %s", what),
					errdetail("It would need noise of scale %g; the exact samplers draw scales up to %g.",
							  scale, LV_EXACT_MAX_SCALE),
					errhint("Raise epsilon (or lower unit_rows).")));
}

/*
 * lipvae_strong_key fills a 32-byte key from the server's cryptographic
 * random source.
 */
void
lipvae_strong_key(uint8 key[LV_KEY_BYTES])
{
	if (!pg_strong_random(key, LV_KEY_BYTES))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("could not generate a random key")));
}

/*
 * lipvae_seed_key derives a deterministic 32-byte key from a test seed and a
 * purpose string (ChaCha20 of the seed). For reproducible tests only.
 */
void
lipvae_seed_key(int64 seed, const char *purpose, uint8 key[LV_KEY_BYTES])
{
	uint32 k[8] = {0};
	uint32 nonce[3] = {0};
	uint32 out[16];
	uint32 h = 2166136261u;
	int i;

	for (i = 0; purpose[i]; i++)
		h = (h ^ (uint8) purpose[i]) * 16777619u;
	k[0] = (uint32) seed;
	k[1] = (uint32) ((uint64) seed >> 32);
	k[2] = 0x6c697076; /* "lipv" */
	nonce[0] = h;
	lv_chacha20_block(k, 0, nonce, out);
	for (i = 0; i < 8; i++)
	{
		key[4 * i] = out[i] & 0xff;
		key[4 * i + 1] = (out[i] >> 8) & 0xff;
		key[4 * i + 2] = (out[i] >> 16) & 0xff;
		key[4 * i + 3] = (out[i] >> 24) & 0xff;
	}
}

/*
 * lipvae_check_model_name rejects NULL-like, empty and overlong model names.
 * Any other text is allowed: names are data, never spliced into SQL.
 */
void
lipvae_check_model_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("model name must not be empty")));
	if (len > NAMEDATALEN - 1)
		ereport(ERROR, (errcode(ERRCODE_NAME_TOO_LONG),
						errmsg("model name is %zu bytes long, the limit is %d",
							   len, NAMEDATALEN - 1),
						errhint("The model name is also the name of its row type in schema lipvae_types.")));
}
