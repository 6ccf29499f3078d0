/* Fuzz target: decode a GRANDPA justification and verify it against a fixed voter set (the 6
 * Polkadot genesis authorities, set_id 0). Anything that decodes must re-encode byte-exactly;
 * verification must end in a verdict with a reason, never a crash, leak or hang. The same bytes
 * are also tried as a grandpa_proveFinality FinalityProof and as a persisted authority set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/grandpa.h"
#include "ferry/hex.h"
#include "ferry/authority_set.h"

static const char *const ids[6] = {
    "0xdea6f4a727d3b2399275d6ee8817881f10597471dc1d27f144295ad6fb933c7a",
    "0x48b623941c2a4d41cf25ef495408690fc853f777192498c0922eab1e9df4f061",
    "0xf72daf2e560e4f0f22fb5cbb04ad1d7fee850aab238fd014c178769e7e3a9b84",
    "0x1c151c11cb72334d26d70769e3af7bbff3801a4e2dca2b09b7cce0af8dd81307",
    "0x680d278213f908658a49a1025a7f466c197e8fb6fabb5e62220a7bd75f860cab",
    "0x8e59368700ea89e2bf8922cc9e4b86d6651d1c689a0d57813f9768dbaadecf71",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ferry_voter_set vs;
    if (!vs.n_voters) {
        struct ferry_authority a[6];
        for (int i = 0; i < 6; i++) {
            if (ferry_hex_decode_exact(ids[i], a[i].id, 32))
                abort();
            a[i].weight = 1;
        }
        if (ferry_voter_set_init(&vs, a, 6))
            abort();
    }

    struct ferry_grandpa_justification j;
    if (ferry_grandpa_justification_decode(&j, data, size, NULL) == FERRY_OK) {
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_grandpa_justification_encode(&j, &w);
        if (w.len != size || memcmp(w.buf, data, size) != 0)
            abort(); /* decode/encode must round-trip */
        ferry_scale_writer_free(&w);
        struct ferry_grandpa_verdict v;
        struct ferry_grandpa_verify_opts opts = {.threads = 1 + (size & 1)};
        ferry_err err = ferry_grandpa_verify(&j, &vs, 0, &opts, &v);
        if ((err == FERRY_OK) != (v.reason == FERRY_GRANDPA_VALID) || !v.detail[0])
            abort();
        ferry_grandpa_justification_free(&j);
    }

    struct ferry_grandpa_finality_proof p;
    if (ferry_grandpa_finality_proof_decode(&p, data, size, NULL) == FERRY_OK)
        ferry_grandpa_finality_proof_free(&p);

    struct ferry_authority_set set;
    if (ferry_authority_set_decode(&set, data, size, NULL) == FERRY_OK) {
        struct ferry_scale_writer w;
        ferry_scale_writer_init(&w);
        ferry_authority_set_encode(&set, &w);
        if (w.len != size || memcmp(w.buf, data, size) != 0)
            abort();
        ferry_scale_writer_free(&w);
        ferry_authority_set_free(&set);
    }
    return 0;
}
