/* Checkpoints of `ferry follow` (see follow.h): the JSON file holding the genesis hash, a
 * verified header and the authority set in force there, written from a store and read back as a
 * trust root. Reading only decodes: whether header and set belong together is for lc to say.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/follow.h"
#include "ferry/authority_set.h"
#include "ferry/hex.h"
#include "ferry/store.h"

ferry_err ferry_follow_read_checkpoint(const char *path, uint8_t genesis[32],
                                       struct ferry_header *header, struct ferry_authority_set *set,
                                       struct ferry_reason *why)
{
    memset(header, 0, sizeof *header);
    memset(set, 0, sizeof *set);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return ferry_reason_set(why, FERRY_E_IO, "cannot read checkpoint %s: %s", path,
                                strerror(errno));
    }
    /* A checkpoint of even a 1000-voter set is ~100 KB; anything past 16 MiB is not one. */
    enum { MAX_CHECKPOINT = 16 << 20 };
    char *text = NULL;
    size_t cap = 0, len = 0;
    bool oom = false;
    for (;;) {
        if (cap - len < 4096) {
            char *nt = cap < MAX_CHECKPOINT ? realloc(text, cap + 65536) : NULL;
            if (!nt) {
                oom = cap < MAX_CHECKPOINT;
                break;
            }
            text = nt;
            cap += 65536;
        }
        size_t got = fread(text + len, 1, cap - len - 1, fp);
        len += got;
        if (!got)
            break;
    }
    bool too_big = !oom && text && !feof(fp);
    fclose(fp);
    if (oom || !text || too_big) {
        free(text);
        if (too_big)
            return ferry_reason_set(why, FERRY_E_INVALID,
                                    "checkpoint %s is larger than 16 MiB: not a checkpoint", path);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory reading checkpoint %s", path);
    }
    text[len] = 0;
    cJSON *j = cJSON_Parse(text);
    free(text);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "genesis_hash");
    const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(j, "header");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "authority_set");
    uint8_t *hb = NULL, *sb = NULL;
    size_t hl = 0, sl = 0;
    ferry_err err = FERRY_OK;
    if (!cJSON_IsString(g) || !cJSON_IsString(hdr) || !cJSON_IsString(st) ||
        ferry_hex_decode_exact(g->valuestring, genesis, 32) ||
        ferry_hex_decode(hdr->valuestring, strlen(hdr->valuestring), &hb, &hl) ||
        ferry_hex_decode(st->valuestring, strlen(st->valuestring), &sb, &sl)) {
        err = ferry_reason_set(why, FERRY_E_INVALID,
                               "checkpoint %s is not a ferry checkpoint (genesis_hash, header, "
                               "authority_set)",
                               path);
    }
    cJSON_Delete(j);
    if (!err && (ferry_header_decode(header, hb, hl, NULL) ||
                 ferry_authority_set_decode(set, sb, sl, NULL))) {
        ferry_header_free(header);
        err = ferry_reason_set(
            why, FERRY_E_INVALID,
            "checkpoint %s: header or authority set is malformed or they do not match", path);
    }
    free(hb);
    free(sb);
    return err;
}

/* ---- checkpoints -------------------------------------------------------------------------------
 */

ferry_err ferry_follow_export_checkpoint(const char *db_path, const char *out_path,
                                         struct ferry_reason *why)
{
    struct ferry_store *s;
    ferry_err err = ferry_store_open(db_path, &s, why);
    if (err)
        return err;
    uint8_t *genesis = NULL, *hdr = NULL, *state = NULL;
    size_t gl = 0, hl = 0, sl = 0;
    uint32_t number = 0;
    uint8_t hash[32];
    uint64_t set_id = 0;
    /* One read transaction: a ferry following on this store commits header and authority set
     * together, and the export must not take the header of one commit and the set of the next
     * (such a checkpoint would be refused when loaded). */
    err = ferry_store_begin_read(s);
    if (!err)
        err = ferry_store_get_meta(s, "genesis_hash", &genesis, &gl);
    if (!err)
        err = ferry_store_last_relay(s, &number, hash, &hdr, &hl, &set_id);
    if (!err)
        err = ferry_store_get_authorities(s, &state, &sl);
    ferry_store_rollback(s);
    ferry_store_close(s);
    struct ferry_authority_set set = {0};
    bool bad = false;
    if (!err && (gl != 32 || ferry_authority_set_decode(&set, state, sl, NULL) ||
                 set.number != number || memcmp(set.hash, hash, 32) != 0)) {
        bad = true;
        err = FERRY_E_IO;
    }
    if (err) {
        ferry_err ret = err == FERRY_E_NOT_FOUND ? err : FERRY_E_IO;
        if (bad)
            ferry_reason_set(
                why, ret,
                "store %s is inconsistent (its authority set is not at its last header "
                "#%u); not exporting it",
                db_path, number);
        else
            ferry_reason_set(why, ret, "store %s holds no verified state to export (%s)", db_path,
                             ferry_strerror(err));
        ferry_authority_set_free(&set);
        free(genesis);
        free(hdr);
        free(state);
        return ret;
    }
    cJSON *o = cJSON_CreateObject();
    char *g = ferry_hex_alloc(genesis, 32), *hh = ferry_hex_alloc(hash, 32),
         *he = ferry_hex_alloc(hdr, hl), *st = ferry_hex_alloc(state, sl);
    cJSON_AddStringToObject(o, "genesis_hash", g);
    cJSON_AddNumberToObject(o, "number", number);
    cJSON_AddStringToObject(o, "hash", hh);
    cJSON_AddStringToObject(o, "header", he);
    cJSON_AddNumberToObject(o, "set_id", (double)set.set_id);
    cJSON *auth = cJSON_AddArrayToObject(o, "authorities");
    for (size_t i = 0; i < set.n_authorities; i++) {
        cJSON *a = cJSON_CreateObject();
        char id[67];
        ferry_hex_encode(set.authorities[i].id, 32, id);
        cJSON_AddStringToObject(a, "id", id);
        cJSON_AddNumberToObject(a, "weight", (double)set.authorities[i].weight);
        cJSON_AddItemToArray(auth, a);
    }
    cJSON_AddStringToObject(o, "authority_set", st);
    free(g);
    free(hh);
    free(he);
    free(st);
    free(genesis);
    free(hdr);
    free(state);
    ferry_authority_set_free(&set);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory writing checkpoint %s",
                                out_path);
    FILE *out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "wx");
    if (!out) {
        ferry_reason_set(why, FERRY_E_IO, "cannot create %s: %s", out_path, strerror(errno));
        free(text);
        return FERRY_E_IO;
    }
    int ok = fprintf(out, "%s\n", text) > 0;
    ok = (out == stdout ? fflush(out) : fclose(out)) == 0 && ok;
    free(text);
    if (!ok) {
        return ferry_reason_set(why, FERRY_E_IO, "cannot write %s", out_path);
    }
    return FERRY_OK;
}
