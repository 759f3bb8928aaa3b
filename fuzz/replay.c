/*
 * replay.c - runs fuzz_model.c's LLVMFuzzerTestOneInput on the files named
 * on the command line, without libFuzzer: for valgrind (make -C fuzz
 * valgrind) and for reproducing a crash file under a debugger.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* main feeds every file to the target once. */
int
main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
	{
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf;
		long len;

		if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 ||
			fseek(f, 0, SEEK_SET) != 0)
		{
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 2;
		}
		buf = malloc(len > 0 ? (size_t) len : 1);
		if (buf == NULL || fread(buf, 1, (size_t) len, f) != (size_t) len)
		{
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 2;
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t) len);
		free(buf);
	}
	printf("replay: %d inputs\n", argc - 1);
	return 0;
}
