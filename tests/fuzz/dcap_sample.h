/* The Phala DCAP sample (quote + collateral) for the DCAP fuzz targets, loaded once from
 * ../shared/chain/phala when it is there (make fuzz-smoke runs from the project root); the
 * pointers stay NULL otherwise. Header-only: each fuzz target is built from one source file. */
#ifndef FERRY_FUZZ_DCAP_SAMPLE_H
#define FERRY_FUZZ_DCAP_SAMPLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);

static uint8_t *sample_quote, *sample_coll;
static size_t sample_quote_len, sample_coll_len;

static uint8_t *dcap_sample_load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = malloc(1 << 16);
    *len = buf ? fread(buf, 1, 1 << 16, f) : 0;
    fclose(f);
    return buf;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sample_quote = dcap_sample_load("../shared/chain/phala/dcap_quote.bin", &sample_quote_len);
    sample_coll =
        dcap_sample_load("../shared/chain/phala/dcap_quote_collateral.scale", &sample_coll_len);
    return 0;
}

#endif
