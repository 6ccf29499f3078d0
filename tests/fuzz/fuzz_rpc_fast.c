/* Fuzz target: the in-place decoder of hex answers (rpc/fast.c), a decoder of hostile input fed
 * by the transports piece by piece. The first input byte picks the piece size; the rest is the
 * message. Checked, for every input:
 *   - while it comes in, the buffer never holds more than the bytes received, the limit sees
 *     exactly the bytes received, and the first RPC_OVERSIZE_HEAD and last RPC_OVERSIZE_TAIL
 *     bytes of the buffer are the message's text (over-limit handling reads them);
 *   - at the end, a message taken as a hex answer is one cJSON parses to an object with the same
 *     numeric id, no "error" or "method", and a "result" string that ferry_hex_decode turns into
 *     exactly the bytes the fast path gives; any other message is given back as its exact text. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "rpc/client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fast(const uint8_t *msg, size_t len, uint64_t id, const uint8_t *bytes, size_t n)
{
    cJSON *j = cJSON_ParseWithLength((const char *)msg, len);
    if (!cJSON_IsObject(j))
        abort();
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(j, "id");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    if (!cJSON_IsNumber(idj) || idj->valuedouble != (double)id || !cJSON_IsString(res) ||
        cJSON_HasObjectItem(j, "error") || cJSON_HasObjectItem(j, "method"))
        abort();
    uint8_t *want = NULL;
    size_t wl = 0;
    if (ferry_hex_decode(res->valuestring, strlen(res->valuestring), &want, &wl) != FERRY_OK ||
        wl != n || (n && memcmp(want, bytes, n) != 0))
        abort();
    free(want);
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t piece = (size_t)data[0] * 7 + 1;
    const uint8_t *msg = data + 1;
    size_t len = size - 1;
    unsigned char *buf = malloc(len + 1);
    if (!buf)
        return 0;
    struct rpc_rx_hex h;
    rpc_rx_hex_reset(&h);
    size_t phys = 0, got = 0;
    while (got < len) {
        size_t k = len - got < piece ? len - got : piece;
        memcpy(buf + phys, msg + got, k);
        phys += k;
        got += k;
        rpc_rx_hex_feed(&h, buf, &phys);
        if (phys > got || rpc_rx_hex_logical(&h, phys) != got)
            abort();
        size_t hl = phys < RPC_OVERSIZE_HEAD ? phys : RPC_OVERSIZE_HEAD;
        size_t tl = phys < RPC_OVERSIZE_TAIL ? phys : RPC_OVERSIZE_TAIL;
        if (memcmp(buf, msg, hl) != 0 || memcmp(buf + phys - tl, msg + got - tl, tl) != 0)
            abort();
    }
    uint64_t id = 0;
    enum rpc_rx_kind kind = rpc_rx_hex_check(&h, buf, phys, &id);
    if (kind == RPC_RX_FAST) {
        size_t tl = 0; /* a fast answer nobody asked bytes for is restored too */
        char *t = rpc_rx_hex_restore(&h, buf, phys, &tl);
        if (t && (tl != len || memcmp(t, msg, len) != 0))
            abort();
        free(t);
        size_t n = rpc_rx_hex_bytes(&h, buf, phys);
        if (n > phys)
            abort();
        check_fast(msg, len, id, buf, n);
    } else if (kind == RPC_RX_RESTORE) {
        size_t tl = 0;
        char *t = rpc_rx_hex_restore(&h, buf, phys, &tl);
        if (t && (tl != len || memcmp(t, msg, len) != 0))
            abort();
        free(t);
    } else if (phys != len || memcmp(buf, msg, len) != 0) {
        abort();
    }
    free(buf);
    return 0;
}
