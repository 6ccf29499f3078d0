/* Benchmark: signed extrinsics built per second — System.remark_with_event for the real Rococo
 * 9140 runtime (tests/unit/fixtures/extrinsic/rococo-9140.scale; run from the repository root):
 * JSON arguments encoded through the metadata, signed extensions classified and encoded,
 * payload built, ECDSA-signed and assembled (ferry_xt_build_call). Baseline in the same run: a
 * bare ferry_ecdsa_sign of a payload of the same size, i.e. the unavoidable cost; the ratio
 * shows what building costs on top of the signature. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"
#include "ferry/extrinsic.h"
#include "ferry/keys.h"
#include "ferry/metadata.h"

int main(void)
{
    const char *path = "tests/unit/fixtures/extrinsic/rococo-9140.scale";
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "notice: %s not found (run from the repository root); skipped\n", path);
        return 0;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        abort();
    fclose(f);
    struct ferry_metadata *md = NULL;
    if (ferry_metadata_parse(buf, (size_t)n, &md, NULL) != FERRY_OK)
        abort();
    free(buf);
    struct ferry_keypair kp;
    struct ferry_reason why = {""};
    if (ferry_keypair_from_uri(&kp, FERRY_SCHEME_ECDSA, "//Alice", &why) != FERRY_OK)
        abort();
    struct ferry_xt_params p = {.spec_version = 9140};
    ferry_era_mortal(64, 1000, &p.era);
    cJSON *args = cJSON_Parse("[\"0x68656c6c6f20666572727921\"]");
    const int rounds = 5000;
    size_t xt_len = 0;
    double t0 = bench_now();
    for (int i = 0; i < rounds; i++) {
        uint8_t *xt;
        uint8_t hash[32];
        p.nonce = (uint64_t)i;
        if (ferry_xt_build_call(md, &kp, &p, "System.remark_with_event", args, &xt, &xt_len, hash,
                                NULL) != FERRY_OK)
            abort();
        free(xt);
    }
    double t_build = bench_now() - t0;
    uint8_t payload[128] = {0};
    size_t plen = xt_len - 100 + 72; /* call ‖ extra ‖ additional, about */
    if (plen > sizeof payload)
        plen = sizeof payload;
    t0 = bench_now();
    for (int i = 0; i < rounds; i++) {
        uint8_t sig[FERRY_ECDSA_SIG_LEN];
        payload[0] = (uint8_t)i;
        if (ferry_ecdsa_sign(sig, kp.seed, payload, plen) != FERRY_OK)
            abort();
    }
    double t_sign = bench_now() - t0;
    printf("signed extrinsics (System.remark_with_event, Rococo 9140 metadata, ECDSA, %zu B):\n",
           xt_len);
    printf("  build+sign: %.0f extrinsics/s\n", rounds / t_build);
    printf("  bare ECDSA sign of a %zu-byte payload (baseline): %.0f signatures/s\n", plen,
           rounds / t_sign);
    printf("  ratio build+sign / sign time: %.2f\n", t_build / t_sign);
    cJSON_Delete(args);
    ferry_keypair_clear(&kp);
    ferry_metadata_free(md);
    return 0;
}
