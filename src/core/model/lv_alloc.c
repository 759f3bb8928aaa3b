/*
 * lv_alloc.c - allocation hooks and error texts of the numerical core.
 *
 * The core allocates only through lv_alloc/lv_calloc/lv_free so that the
 * PostgreSQL glue can route memory into a memory context (its alloc hook
 * may longjmp out on failure; the core never relies on seeing NULL then).
 */
#include <stdlib.h>
#include <string.h>

#include "lv_model.h"

static void *lv_default_alloc(size_t size, void *ctx);
static void lv_default_free(void *ptr, void *ctx);

static lv_allocator lv_current_allocator = {
	lv_default_alloc, lv_default_free, NULL};

/* lv_strerror returns a static English text for an error code. */
const char *
lv_strerror(int code)
{
	switch (code)
	{
		case LV_OK:
			return "success";
		case LV_ERR_NOMEM:
			return "out of memory";
		case LV_ERR_INTERRUPTED:
			return "interrupted";
		case LV_ERR_ARG:
			return "invalid argument";
		case LV_ERR_FORMAT:
			return "invalid model format";
		case LV_ERR_CHECKSUM:
			return "model checksum mismatch";
		case LV_ERR_CERTIFICATE:
			return "model Lipschitz certificate check failed";
		case LV_ERR_NUMERIC:
			return "training diverged (non-finite loss)";
		case LV_ERR_LAPACK:
			return "LAPACK singular value computation failed";
		default:
			return "unknown error";
	}
}

/* lv_set_allocator installs hooks (NULL restores malloc/free). */
void
lv_set_allocator(const lv_allocator *a)
{
	if (a == NULL || a->alloc == NULL || a->free == NULL)
	{
		lv_current_allocator.alloc = lv_default_alloc;
		lv_current_allocator.free = lv_default_free;
		lv_current_allocator.ctx = NULL;
	}
	else
		lv_current_allocator = *a;
}

/* lv_alloc returns size bytes from the current allocator (NULL on failure). */
void *
lv_alloc(size_t size)
{
	if (size == 0)
		size = 1;
	return lv_current_allocator.alloc(size, lv_current_allocator.ctx);
}

/* lv_calloc returns n * size zeroed bytes, NULL on overflow or failure. */
void *
lv_calloc(size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > ((size_t) -1) / size)
		return NULL;
	p = lv_alloc(n * size);
	if (p != NULL)
		memset(p, 0, n * size);
	return p;
}

/* lv_free releases p (NULL is a no-op). */
void
lv_free(void *p)
{
	if (p != NULL)
		lv_current_allocator.free(p, lv_current_allocator.ctx);
}

/* lv_default_alloc is the malloc-backed default allocation hook. */
static void *
lv_default_alloc(size_t size, void *ctx)
{
	(void) ctx;
	return malloc(size);
}

/* lv_default_free is the free-backed default release hook. */
static void
lv_default_free(void *ptr, void *ctx)
{
	(void) ctx;
	free(ptr);
}
