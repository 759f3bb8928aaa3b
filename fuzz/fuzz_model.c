/*
 * fuzz_model.c - libFuzzer target of the model decoder, the one parser of
 * outside bytes in the numerical core (the glue hands it the catalog's
 * bytea). The input's last four bytes are replaced by the CRC-32 of the
 * rest, so that mutations reach the parser behind the checksum (the
 * checksum itself has unit tests). Every input must be refused with an
 * error code or accepted; an
 * accepted model must release rows and serialize back to the same bytes
 * (the format is canonical). Built without a server:
 *   make -C fuzz run SECONDS=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lv_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput decodes one input and exercises an accepted model. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lv_model m;
	uint8_t *buf = malloc(size ? size : 1);
	int rc;

	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (size >= 8)
	{
		uint32_t crc = lv_crc32(buf, size - 4);

		buf[size - 4] = (uint8_t) crc;
		buf[size - 3] = (uint8_t) (crc >> 8);
		buf[size - 2] = (uint8_t) (crc >> 16);
		buf[size - 1] = (uint8_t) (crc >> 24);
	}
	rc = lv_model_deserialize(buf, size, &m);

	if (rc == LV_OK)
	{
		uint8_t *back = NULL;
		size_t len = 0;
		lv_cell *out = malloc(sizeof(lv_cell) * 4 * (size_t) m.schema.ncols);
		int64_t start = m.nrows > 1 ? m.nrows - 2 : 0;

		if (out == NULL)
			abort();
		/* rows across a pass boundary for per-record models */
		if (lv_release_rows(&m, start, 4, out) != LV_OK)
			abort();
		if (lv_model_serialize(&m, &back, &len) != LV_OK || len != size ||
			memcmp(back, buf, size) != 0)
			abort();
		lv_free(back);
		free(out);
		lv_model_free(&m);
	}
	else
	{
		/* a refused blob leaves the model empty */
		if (m.schema.cols != NULL || m.dec.layers != NULL || m.means != NULL ||
			m.tree.pot != NULL)
			abort();
	}
	free(buf);
	return 0;
}
