# lipvae: PGXS build. `make && make install`, then `make installcheck` against
# a running server (see test/run-all.sh, which starts a throw-away cluster).
# PGXS's `make check` does not test anything: do not rely on it.

EXTENSION = lipvae
MODULE_big = lipvae
DATA = lipvae--0.1.sql lipvae--0.1--0.2.sql lipvae--0.2--0.3.sql
PGFILEDESC = "lipvae - differentially private synthetic data"

# lv_audit.c (membership-inference audit statistics) serves the tests and eval/ only
CORE_OBJS = $(patsubst %.c,%.o,$(filter-out src/core/privacy/lv_audit.c,$(wildcard src/core/*/*.c)))
GLUE_OBJS = $(patsubst %.c,%.o,$(wildcard src/*.c))
OBJS = $(GLUE_OBJS) $(CORE_OBJS)

REGRESS = setup train sample privacy security hostile hijack badinput types report timeout ledger multiplicity holes aim count_fn count
REGRESS_OPTS = --inputdir=. --load-extension=lipvae
ISOLATION = ledger_race model_race replan stale_index
ISOLATION_OPTS = --inputdir=. --load-extension=lipvae

CORE_DIRS = privacy model fit measure
PG_CPPFLAGS = $(patsubst %,-I$(srcdir)/src/core/%,$(CORE_DIRS)) -I$(srcdir)/src
PG_CFLAGS = -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(LIPVAE_CFLAGS)
SHLINK_LIB = -lopenblas -lm
SHLIB_LINK += -lopenblas -lm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Bitcode for LLVM JIT is not needed for this extension.
with_llvm = no

unittest:
	$(MAKE) -C test run

.PHONY: unittest

FORMAT_FILES = $(wildcard $(srcdir)/src/*.[ch] $(srcdir)/src/core/*/*.[ch] $(srcdir)/test/*.c)

# format applies the project's one formatter (.clang-format); format-check
# fails when a file is not formatted (CI runs it).
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

.PHONY: format format-check
