/* ferry — worker API: method names, body limits, the keys DispatchBlocks proves and topics. */
#include <string.h>

#include "ferry/hash.h"
#include "ferry/workerapi.h"

static const struct {
    enum ferry_workerapi_method m;
    const char *name;
    size_t limit;
} methods[] = {
    {FERRY_WORKERAPI_GET_INFO, "GetInfo", 1024},
    {FERRY_WORKERAPI_INIT_RUNTIME, "InitRuntime", 10u << 20},
    {FERRY_WORKERAPI_SYNC_HEADER, "SyncHeader", 100u << 20},
    {FERRY_WORKERAPI_SYNC_PARA_HEADER, "SyncParaHeader", 100u << 20},
    {FERRY_WORKERAPI_DISPATCH_BLOCKS, "DispatchBlocks", 100u << 20},
    {FERRY_WORKERAPI_GET_RUNTIME_INFO, "GetRuntimeInfo", 1024},
    {FERRY_WORKERAPI_GET_EGRESS_MESSAGES, "GetEgressMessages", 1024},
};

enum ferry_workerapi_method ferry_workerapi_method_parse(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strlen(methods[i].name) == len && memcmp(methods[i].name, name, len) == 0)
            return methods[i].m;
    return FERRY_WORKERAPI_UNKNOWN;
}

const char *ferry_workerapi_method_name(enum ferry_workerapi_method m)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (methods[i].m == m)
            return methods[i].name;
    return "";
}

size_t ferry_workerapi_body_limit(enum ferry_workerapi_method m)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (methods[i].m == m)
            return methods[i].limit;
    return 1u << 20;
}

static size_t map_key(uint8_t *out, const char *pallet, const char *item, const uint8_t *k,
                      size_t klen)
{
    ferry_storage_prefix(out, pallet, item);
    ferry_twox64(out + 32, k, klen);
    memcpy(out + 40, k, klen);
    return 40 + klen;
}

void ferry_worker_dispatch_keys(const uint8_t pk[32],
                                uint8_t keys[FERRY_WORKER_N_KEYS][FERRY_WORKER_KEY_MAX],
                                size_t lens[FERRY_WORKER_N_KEYS])
{
    uint8_t origin[33];
    origin[0] = 0x02; /* MessageOrigin::Worker */
    memcpy(origin + 1, pk, 32);
    ferry_storage_prefix(keys[0], "PhalaMq", "OutboundMessages");
    lens[0] = 32;
    lens[1] = map_key(keys[1], "PhalaMq", "OffchainIngress", origin, sizeof origin);
    lens[2] = map_key(keys[2], "PhalaRegistry", "Workers", pk, 32);
}

static void hex_lower(const uint8_t *in, size_t n, uint8_t *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = (uint8_t)d[in[i] >> 4];
        out[2 * i + 1] = (uint8_t)d[in[i] & 15];
    }
}

void ferry_worker_topic(const uint8_t pk[32], uint8_t out[FERRY_WORKER_TOPIC_LEN])
{
    memcpy(out, "ferry/worker/", 13);
    hex_lower(pk, 32, out + 13);
}

void ferry_worker_reply_topic(const uint8_t eph[32], uint8_t out[FERRY_WORKER_REPLY_TOPIC_LEN])
{
    memcpy(out, "ferry/reply/", 12);
    hex_lower(eph, 32, out + 12);
}
