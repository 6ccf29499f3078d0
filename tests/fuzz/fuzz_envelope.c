/* Fuzz target: ferry's encrypted envelope (msgcrypt.h). Arbitrary bytes go to both decoders
 * (request and reply): each either refuses with a reason or — practically never — opens.
 * The input is also sealed as a message, opened, answered and the answer read back; then one
 * byte chosen by the input is altered, or the envelope truncated, and must be refused. */
#include <stdlib.h>
#include <string.h>

#include "ferry/msgcrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mini[32] = {7, 7, 7};
    struct ferry_sr25519_keypair worker;
    ferry_sr25519_from_mini_secret(&worker, mini);

    uint8_t *out = malloc(size + FERRY_ENVELOPE_OVERHEAD + 1);
    uint8_t *env = malloc(size + FERRY_ENVELOPE_OVERHEAD + 1);
    uint8_t *ans = malloc(size + FERRY_ENVELOPE_OVERHEAD + 1);
    if (!out || !env || !ans)
        abort();
    struct ferry_envelope_session s, ws;
    struct ferry_reason why = {{0}};
    size_t n = 0, en = 0, an = 0;

    /* Hostile input to the decoders. */
    ferry_err err = ferry_envelope_open(&ws, out, size, &n, &worker, data, size, &why);
    if (err && why.text[0] == 0)
        abort();
    memset(&s, 0, sizeof s);
    why.text[0] = 0;
    err = ferry_envelope_open_reply(&s, out, size, &n, data, size, &why);
    if (err && why.text[0] == 0)
        abort();

    /* Round trip of the input as a message, then its reply. */
    if (ferry_envelope_seal(&s, env, size + FERRY_ENVELOPE_OVERHEAD, &en, worker.public_key, data,
                            size, NULL) != FERRY_OK ||
        en != size + FERRY_ENVELOPE_OVERHEAD)
        abort();
    if (ferry_envelope_open(&ws, out, size, &n, &worker, env, en, NULL) != FERRY_OK || n != size ||
        (size && memcmp(out, data, size) != 0))
        abort();
    if (ferry_envelope_seal_reply(&ws, ans, size + FERRY_ENVELOPE_OVERHEAD, &an, data, size,
                                  NULL) != FERRY_OK ||
        ferry_envelope_open_reply(&s, out, size, &n, ans, an, NULL) != FERRY_OK || n != size ||
        (size && memcmp(out, data, size) != 0))
        abort();
    /* A request is never accepted as a reply, nor a reply as a request. */
    if (ferry_envelope_open_reply(&s, out, size, &n, env, en, NULL) == FERRY_OK ||
        ferry_envelope_open(&ws, out, size, &n, &worker, ans, an, NULL) == FERRY_OK)
        abort();

    /* One altered bit or a truncation is refused, with a reason. */
    size_t at = size ? data[0] % en : 0;
    uint8_t bit = (uint8_t)(1u << (size > 1 ? data[1] % 8 : 0));
    env[at] ^= bit;
    why.text[0] = 0;
    if (ferry_envelope_open(&ws, out, size, &n, &worker, env, en, &why) == FERRY_OK ||
        why.text[0] == 0)
        abort();
    env[at] ^= bit;
    why.text[0] = 0;
    if (ferry_envelope_open(&ws, out, size, &n, &worker, env, en - 1 - at % en, &why) == FERRY_OK ||
        why.text[0] == 0)
        abort();

    ferry_envelope_session_wipe(&s);
    ferry_envelope_session_wipe(&ws);
    ferry_sr25519_keypair_wipe(&worker);
    free(out);
    free(env);
    free(ans);
    return 0;
}
