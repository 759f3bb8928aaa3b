/*
 * ledger.c - the privacy ledger: which base relations a training query
 * reads, the spend of every training on them, and the caps their owners set.
 *
 * (Placeholder: the implementation is being written.)
 */
#include "postgres.h"

#include "lipvae.h"

/* lipvae_query_sources finds the base relations the query of plan reads. */
void
lipvae_query_sources(SPIPlanPtr plan, LipvaeSources *src)
{
	src->nrels = 0;
	src->relids = NULL;
}

/* lipvae_ledger_check refuses a training that would exceed a cap. */
void
lipvae_ledger_check(const LipvaeSources *src, const char *kind,
					double epsilon, double delta)
{
}

/* lipvae_ledger_record records the spend of one training. */
void
lipvae_ledger_record(const LipvaeSources *src, const char *model,
					 const char *kind, const char *mechanism,
					 const char *relation, double epsilon, double delta)
{
}
