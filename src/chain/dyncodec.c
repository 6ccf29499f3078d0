/* Registry-driven dynamic SCALE codec: any type id + bytes ⇄ JSON, and System.Events decoding.
 *
 * The JSON shapes are documented in include/ferry/dyncodec.h. The decoder walks the portable
 * type registry with the SCALE cursor; it is bounded three ways against hostile metadata and
 * input: nesting depth (FERRY_MD_MAX_DEPTH), Vec lengths checked against the remaining input
 * using each element type's smallest encoding, and a node budget proportional to the input so
 * that zero-sized types ([(); 4294967295], recursive empty composites) cannot expand without
 * bound. Integers up to 256 bits go through a small 4×64-bit limb helper.
 *
 * Only the public metadata API is used here; type ids were validated when the metadata was
 * parsed, so ferry_md_type() never returns NULL for an id that came from the registry.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/dyncodec.h"
#include "ferry/scale.h"
#include "ferry/ss58.h"

/* ---- 256-bit magnitudes ---------------------------------------------------------------------- */

struct u256 {
    uint64_t l[4]; /* little-endian limbs */
};

static bool u256_is_zero(const struct u256 *v)
{
    return !(v->l[0] | v->l[1] | v->l[2] | v->l[3]);
}

/* Number of significant bits (0 for zero). */
static unsigned u256_bits(const struct u256 *v)
{
    for (int i = 3; i >= 0; i--)
        if (v->l[i])
            return (unsigned)(64 * i + 64 - __builtin_clzll(v->l[i]));
    return 0;
}

/* Two's complement negation over 256 bits. */
static void u256_neg(struct u256 *v)
{
    unsigned carry = 1;
    for (int i = 0; i < 4; i++) {
        v->l[i] = ~v->l[i] + carry;
        carry = carry && v->l[i] == 0;
    }
}

static void u256_dec(struct u256 *v)
{
    for (int i = 0; i < 4; i++)
        if (v->l[i]-- != 0)
            break;
}

static void u256_load(struct u256 *v, const uint8_t *p, size_t n)
{
    memset(v, 0, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v->l[i / 8] |= (uint64_t)p[i] << (8 * (i % 8));
}

/* Decimal text of v into out (at least 80 bytes). */
static void u256_to_dec(struct u256 v, char *out)
{
    char tmp[80];
    size_t n = 0;
    do {
        uint64_t rem = 0;
        for (int i = 3; i >= 0; i--) {
            uint64_t hi = v.l[i] >> 32, lo = v.l[i] & 0xffffffffu;
            uint64_t cur = rem << 32 | hi;
            hi = cur / 10;
            rem = cur % 10;
            cur = rem << 32 | lo;
            lo = cur / 10;
            rem = cur % 10;
            v.l[i] = hi << 32 | lo;
        }
        tmp[n++] = (char)('0' + rem);
    } while (!u256_is_zero(&v));
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

/* v = v * 10 + d; returns false on overflow past 2^256. */
static bool u256_mul10_add(struct u256 *v, unsigned d)
{
    uint64_t carry = d;
    for (int i = 0; i < 4; i++) {
        unsigned __int128 x = (unsigned __int128)v->l[i] * 10 + carry;
        v->l[i] = (uint64_t)x;
        carry = (uint64_t)(x >> 64);
    }
    return carry == 0;
}

#define MAX_SAFE   ((uint64_t)9007199254740991ull) /* 2^53 - 1: largest exact JSON input */
#define MAX_NUMBER ((uint64_t)999999999999999ull)  /* 10^15 - 1: largest cJSON prints exactly */

/* JSON for a magnitude and sign: a number below 10^15 (cJSON prints doubles with 15
 * significant digits, so larger ones would be rounded), else a decimal string. */
static cJSON *int_json(const struct u256 *mag, bool neg)
{
    if (u256_bits(mag) <= 50 && mag->l[0] <= MAX_NUMBER) {
        double d = (double)mag->l[0];
        return cJSON_CreateNumber(neg ? -d : d);
    }
    char dec[82];
    dec[0] = '-';
    u256_to_dec(*mag, dec + (neg ? 1 : 0));
    return cJSON_CreateString(dec);
}

static const uint8_t prim_bytes[] = {1, 4, 0, 1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32};

static bool prim_signed(enum ferry_md_prim p)
{
    return p >= FERRY_MD_I8;
}

/* ---- type helpers -------------------------------------------------------------------------- */

static bool is_u8(const struct ferry_metadata *md, uint32_t id)
{
    const struct ferry_md_type *t = ferry_md_type(md, id);
    return t->kind == FERRY_MD_PRIMITIVE && t->prim == FERRY_MD_U8;
}

static bool is_option(const struct ferry_md_type *t)
{
    if (t->kind != FERRY_MD_VARIANT || t->n_path != 1 || strcmp(t->path[0], "Option") != 0)
        return false;
    if (t->n_variants != 2)
        return false;
    /* Both variants must be there: the encoder indexes None and Some without checking again, and
     * a hostile registry may call any enum "Option". */
    bool none = false, some = false;
    for (size_t i = 0; i < 2; i++) {
        const struct ferry_md_variant *v = &t->variants[i];
        if (strcmp(v->name, "None") == 0 && v->n_fields == 0)
            none = true;
        else if (strcmp(v->name, "Some") == 0 && v->n_fields == 1)
            some = true;
    }
    return none && some;
}

static const struct ferry_md_variant *variant_named(const struct ferry_md_type *t, const char *name)
{
    for (size_t i = 0; i < t->n_variants; i++)
        if (strcmp(t->variants[i].name, name) == 0)
            return &t->variants[i];
    return NULL;
}

/* The type under a Compact: follow one-field composites and one-element tuples (Perbill,
 * newtypes) to an unsigned primitive. Returns the primitive type, or NULL for an empty
 * composite/tuple (Compact<()>), and sets *ok = false when it is anything else. */
static const struct ferry_md_type *compact_target(const struct ferry_metadata *md, uint32_t id,
                                                  bool *ok)
{
    *ok = true;
    for (int depth = 0; depth < FERRY_MD_MAX_DEPTH; depth++) {
        const struct ferry_md_type *t = ferry_md_type(md, id);
        if (t->kind == FERRY_MD_PRIMITIVE) {
            if (t->prim < FERRY_MD_U8 || t->prim > FERRY_MD_U128)
                break;
            return t;
        }
        if (t->kind == FERRY_MD_COMPOSITE && t->n_fields == 1)
            id = t->fields[0].type;
        else if (t->kind == FERRY_MD_TUPLE && t->n_tuple == 1)
            id = t->tuple[0];
        else if ((t->kind == FERRY_MD_COMPOSITE && t->n_fields == 0) ||
                 (t->kind == FERRY_MD_TUPLE && t->n_tuple == 0))
            return NULL;
        else
            break;
    }
    *ok = false;
    return NULL;
}

/* Bit store width (8/16/32/64) and order (true = Msb0) of a BitSequence; false if unsupported. */
static bool bitseq_info(const struct ferry_metadata *md, const struct ferry_md_type *t,
                        unsigned *width, bool *msb)
{
    const struct ferry_md_type *st = ferry_md_type(md, t->bit_store);
    const struct ferry_md_type *ot = ferry_md_type(md, t->bit_order);
    if (st->kind != FERRY_MD_PRIMITIVE || st->prim < FERRY_MD_U8 || st->prim > FERRY_MD_U64)
        return false;
    *width = 8u * prim_bytes[st->prim];
    if (ot->n_path == 0)
        return false;
    const char *o = ot->path[ot->n_path - 1];
    if (strcmp(o, "Lsb0") == 0)
        *msb = false;
    else if (strcmp(o, "Msb0") == 0)
        *msb = true;
    else
        return false;
    return true;
}

/* ---- decoder ------------------------------------------------------------------------------------
 */

struct dec {
    const struct ferry_metadata *md;
    struct ferry_scale_reader *r;
    size_t budget; /* nodes left */
};

static cJSON *dec_value(struct dec *d, uint32_t id, int depth);

static cJSON *dec_fail(struct dec *d, ferry_err err, const char *why)
{
    ferry_scale_fail(d->r, err, why);
    return NULL;
}

static cJSON *dec_oom(struct dec *d, cJSON *partial)
{
    cJSON_Delete(partial);
    return dec_fail(d, FERRY_E_NOMEM, "out of memory");
}

/* Add item to a container; on failure (item NULL) delete the container and return false. */
static bool add_item(struct dec *d, cJSON *parent, const char *key, cJSON *item)
{
    if (!item) {
        cJSON_Delete(parent);
        if (!d->r->err)
            ferry_scale_fail(d->r, FERRY_E_NOMEM, "out of memory");
        return false;
    }
    if (key)
        cJSON_AddItemToObject(parent, key, item);
    else
        cJSON_AddItemToArray(parent, item);
    return true;
}

/* Fields of a composite or a variant: see the composite rule in metadata.h. */
static cJSON *dec_fields(struct dec *d, const struct ferry_md_field *f, size_t n, int depth)
{
    if (n == 0)
        return cJSON_CreateNull();
    bool named = f[0].name != NULL;
    if (!named && n == 1)
        return dec_value(d, f[0].type, depth);
    cJSON *out = named ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!out)
        return dec_oom(d, NULL);
    for (size_t i = 0; i < n; i++) {
        char key[24];
        const char *k = NULL;
        if (named) {
            k = f[i].name;
            if (!k) {
                snprintf(key, sizeof key, "%zu", i);
                k = key;
            }
        }
        if (!add_item(d, out, k, dec_value(d, f[i].type, depth)))
            return NULL;
    }
    return out;
}

static cJSON *dec_hex(struct dec *d, const uint8_t *p, size_t n)
{
    char *h = ferry_hex_alloc(p, n);
    if (!h)
        return dec_oom(d, NULL);
    cJSON *j = cJSON_CreateString(h);
    free(h);
    return j ? j : dec_oom(d, NULL);
}

static cJSON *dec_int(struct dec *d, enum ferry_md_prim prim)
{
    const uint8_t *p;
    size_t n = prim_bytes[prim];
    if (ferry_scale_bytes(d->r, n, &p))
        return NULL;
    struct u256 v;
    u256_load(&v, p, n);
    bool neg = prim_signed(prim) && (p[n - 1] & 0x80);
    if (neg) {
        /* sign-extend to 256 bits, then negate for the magnitude */
        for (size_t i = n; i < 32; i++)
            v.l[i / 8] |= (uint64_t)0xff << (8 * (i % 8));
        u256_neg(&v);
    }
    cJSON *j = int_json(&v, neg);
    return j ? j : dec_oom(d, NULL);
}

static cJSON *dec_prim(struct dec *d, enum ferry_md_prim prim)
{
    switch (prim) {
    case FERRY_MD_BOOL: {
        bool b;
        if (ferry_scale_bool(d->r, &b))
            return NULL;
        return cJSON_CreateBool(b);
    }
    case FERRY_MD_CHAR: {
        uint32_t c;
        if (ferry_scale_u32(d->r, &c))
            return NULL;
        if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || c == 0) {
            d->r->pos -= 4;
            return dec_fail(d, FERRY_E_INVALID, "char is not a Unicode scalar value");
        }
        char s[5] = {0};
        if (c < 0x80) {
            s[0] = (char)c;
        } else if (c < 0x800) {
            s[0] = (char)(0xc0 | c >> 6);
            s[1] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            s[0] = (char)(0xe0 | c >> 12);
            s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
            s[2] = (char)(0x80 | (c & 0x3f));
        } else {
            s[0] = (char)(0xf0 | c >> 18);
            s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
            s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
            s[3] = (char)(0x80 | (c & 0x3f));
        }
        return cJSON_CreateString(s);
    }
    case FERRY_MD_STR: {
        const uint8_t *s;
        size_t n;
        if (ferry_scale_string(d->r, &s, &n))
            return NULL;
        char *z = malloc(n + 1);
        if (!z)
            return dec_oom(d, NULL);
        memcpy(z, s, n);
        z[n] = 0;
        cJSON *j = cJSON_CreateString(z);
        free(z);
        return j;
    }
    default:
        return dec_int(d, prim);
    }
}

static cJSON *dec_compact(struct dec *d, const struct ferry_md_type *t)
{
    bool ok;
    const struct ferry_md_type *target = compact_target(d->md, t->elem, &ok);
    if (!ok)
        return dec_fail(d, FERRY_E_INVALID, "Compact of a type that is not an unsigned integer");
    if (!target)
        return cJSON_CreateNull();
    size_t start = d->r->pos;
    struct ferry_u128 v;
    if (ferry_scale_compact_u128(d->r, &v))
        return NULL;
    unsigned bits = 8u * prim_bytes[target->prim];
    if (bits < 128 && (v.hi != 0 || (bits < 64 && v.lo >> bits != 0))) {
        d->r->pos = start;
        return dec_fail(d, FERRY_E_OVERFLOW, "compact value too large for its type");
    }
    struct u256 m = {{v.lo, v.hi, 0, 0}};
    cJSON *j = int_json(&m, false);
    return j ? j : dec_oom(d, NULL);
}

static cJSON *dec_bitseq(struct dec *d, const struct ferry_md_type *t)
{
    unsigned width;
    bool msb;
    if (!bitseq_info(d->md, t, &width, &msb))
        return dec_fail(d, FERRY_E_UNSUPPORTED, "unsupported bit sequence store or order type");
    uint32_t bits;
    size_t start = d->r->pos;
    if (ferry_scale_compact_u32(d->r, &bits))
        return NULL;
    size_t words = ((size_t)bits + width - 1) / width;
    size_t nbytes = words * (width / 8);
    const uint8_t *p;
    if (nbytes > ferry_scale_remaining(d->r)) {
        d->r->pos = start;
        return dec_fail(d, FERRY_E_TOO_LARGE, "bit sequence length exceeds remaining input");
    }
    if (ferry_scale_bytes(d->r, nbytes, &p))
        return NULL;
    char *s = malloc((size_t)bits + 3);
    if (!s)
        return dec_oom(d, NULL);
    s[0] = '0';
    s[1] = 'b';
    for (size_t i = 0; i < bits; i++) {
        size_t w = i / width, k = i % width;
        size_t bit = msb ? width - 1 - k : k;
        /* the store word is little-endian: bit b of the word is bit b%8 of byte b/8 */
        uint8_t byte = p[w * (width / 8) + bit / 8];
        s[2 + i] = (char)('0' + ((byte >> (bit % 8)) & 1));
    }
    s[2 + bits] = 0;
    cJSON *j = cJSON_CreateString(s);
    free(s);
    return j ? j : dec_oom(d, NULL);
}

static cJSON *dec_variant(struct dec *d, const struct ferry_md_type *t, int depth)
{
    uint8_t idx;
    if (ferry_scale_u8(d->r, &idx))
        return NULL;
    const struct ferry_md_variant *v = NULL;
    for (size_t i = 0; i < t->n_variants && !v; i++)
        if (t->variants[i].index == idx)
            v = &t->variants[i];
    if (!v) {
        d->r->pos--;
        return dec_fail(d, FERRY_E_INVALID, "unknown enum variant index");
    }
    if (is_option(t))
        return v->n_fields ? dec_value(d, v->fields[0].type, depth) : cJSON_CreateNull();
    if (v->n_fields == 0)
        return cJSON_CreateString(v->name);
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return dec_oom(d, NULL);
    if (!add_item(d, obj, v->name, dec_fields(d, v->fields, v->n_fields, depth)))
        return NULL;
    return obj;
}

static cJSON *dec_list(struct dec *d, uint32_t elem, size_t n, int depth)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return dec_oom(d, NULL);
    for (size_t i = 0; i < n; i++)
        if (!add_item(d, arr, NULL, dec_value(d, elem, depth)))
            return NULL;
    return arr;
}

static cJSON *dec_value(struct dec *d, uint32_t id, int depth)
{
    if (d->r->err)
        return NULL;
    if (depth >= FERRY_MD_MAX_DEPTH)
        return dec_fail(d, FERRY_E_TOO_LARGE, "type nesting deeper than FERRY_MD_MAX_DEPTH");
    if (d->budget == 0)
        return dec_fail(d, FERRY_E_TOO_LARGE, "value expands beyond the decoder's node budget");
    d->budget--;
    const struct ferry_md_type *t = ferry_md_type(d->md, id);
    if (!t)
        return dec_fail(d, FERRY_E_ARG, "unknown type id");
    depth++;
    switch (t->kind) {
    case FERRY_MD_COMPOSITE:
        return dec_fields(d, t->fields, t->n_fields, depth);
    case FERRY_MD_VARIANT:
        return dec_variant(d, t, depth);
    case FERRY_MD_SEQUENCE: {
        if (is_u8(d->md, t->elem)) {
            const uint8_t *p;
            size_t n;
            if (ferry_scale_byte_vec(d->r, &p, &n))
                return NULL;
            return dec_hex(d, p, n);
        }
        size_t n;
        if (ferry_scale_vec_len(d->r, ferry_md_type_min_size(d->md, t->elem), &n))
            return NULL;
        return dec_list(d, t->elem, n, depth);
    }
    case FERRY_MD_ARRAY: {
        if (is_u8(d->md, t->elem)) {
            const uint8_t *p;
            if (ferry_scale_bytes(d->r, t->array_len, &p))
                return NULL;
            return dec_hex(d, p, t->array_len);
        }
        return dec_list(d, t->elem, t->array_len, depth);
    }
    case FERRY_MD_TUPLE: {
        if (t->n_tuple == 0)
            return cJSON_CreateNull();
        cJSON *arr = cJSON_CreateArray();
        if (!arr)
            return dec_oom(d, NULL);
        for (size_t i = 0; i < t->n_tuple; i++)
            if (!add_item(d, arr, NULL, dec_value(d, t->tuple[i], depth)))
                return NULL;
        return arr;
    }
    case FERRY_MD_PRIMITIVE:
        return dec_prim(d, t->prim);
    case FERRY_MD_COMPACT:
        return dec_compact(d, t);
    case FERRY_MD_BITSEQ:
        return dec_bitseq(d, t);
    }
    return dec_fail(d, FERRY_E_INVALID, "unknown type kind");
}

static size_t budget_for(size_t len)
{
    return 4096 + 8 * len;
}

ferry_err ferry_md_decode_from(const struct ferry_metadata *md, uint32_t type,
                               struct ferry_scale_reader *r, cJSON **out)
{
    struct dec d = {md, r, budget_for(ferry_scale_remaining(r))};
    *out = NULL;
    if (!ferry_md_type(md, type))
        return ferry_scale_fail(r, FERRY_E_ARG, "unknown type id");
    cJSON *j = dec_value(&d, type, 0);
    if (r->err) {
        cJSON_Delete(j);
        return r->err;
    }
    if (!j)
        return ferry_scale_fail(r, FERRY_E_NOMEM, "out of memory");
    *out = j;
    return FERRY_OK;
}

ferry_err ferry_md_decode(const struct ferry_metadata *md, uint32_t type, const uint8_t *buf,
                          size_t len, cJSON **out, struct ferry_reason *why)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    ferry_err err = ferry_md_decode_from(md, type, &r, out);
    if (!err)
        err = ferry_scale_finish(&r);
    if (err) {
        cJSON_Delete(*out);
        *out = NULL;
        ferry_reason_from_scale(why, &r, NULL);
    }
    return err;
}

/* ---- events ------------------------------------------------------------------------------------
 */

/* One RuntimeEvent: pallet variant → pallet event enum variant → fields. Adds "pallet", "event"
 * and "fields" to rec. */
static bool dec_event(struct dec *d, uint32_t outer, cJSON *rec, int depth)
{
    const struct ferry_md_type *ot = ferry_md_type(d->md, outer);
    uint8_t idx;
    if (ot->kind != FERRY_MD_VARIANT) {
        ferry_scale_fail(d->r, FERRY_E_INVALID, "RuntimeEvent type is not an enum");
        return false;
    }
    if (ferry_scale_u8(d->r, &idx))
        return false;
    const struct ferry_md_variant *pv = NULL;
    for (size_t i = 0; i < ot->n_variants && !pv; i++)
        if (ot->variants[i].index == idx)
            pv = &ot->variants[i];
    if (!pv) {
        d->r->pos--;
        ferry_scale_fail(d->r, FERRY_E_INVALID, "event of an unknown pallet index");
        return false;
    }
    cJSON_AddStringToObject(rec, "pallet", pv->name);
    const struct ferry_md_type *et =
        pv->n_fields == 1 ? ferry_md_type(d->md, pv->fields[0].type) : NULL;
    if (!et || et->kind != FERRY_MD_VARIANT) {
        ferry_scale_fail(d->r, FERRY_E_INVALID, "pallet event type is not an enum");
        return false;
    }
    if (ferry_scale_u8(d->r, &idx))
        return false;
    const struct ferry_md_variant *ev = NULL;
    for (size_t i = 0; i < et->n_variants && !ev; i++)
        if (et->variants[i].index == idx)
            ev = &et->variants[i];
    if (!ev) {
        d->r->pos--;
        ferry_scale_fail(d->r, FERRY_E_INVALID, "unknown event index for this pallet");
        return false;
    }
    cJSON_AddStringToObject(rec, "event", ev->name);
    bool named = ev->n_fields > 0 && ev->fields[0].name;
    cJSON *fields = named || ev->n_fields == 0 ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!fields) {
        ferry_scale_fail(d->r, FERRY_E_NOMEM, "out of memory");
        return false;
    }
    for (size_t i = 0; i < ev->n_fields; i++) {
        cJSON *v = dec_value(d, ev->fields[i].type, depth + 1);
        if (!add_item(d, fields, named && ev->fields[i].name ? ev->fields[i].name : NULL, v))
            return false;
    }
    cJSON_AddItemToObject(rec, "fields", fields);
    return true;
}

ferry_err ferry_metadata_decode_events(const struct ferry_metadata *md, const uint8_t *buf,
                                       size_t len, cJSON **out, struct ferry_reason *why)
{
    *out = NULL;
    const struct ferry_md_storage *e = ferry_md_find_storage(md, "System", "Events");
    const struct ferry_md_type *seq = e ? ferry_md_type(md, e->value_type) : NULL;
    const struct ferry_md_type *rt =
        seq && seq->kind == FERRY_MD_SEQUENCE ? ferry_md_type(md, seq->elem) : NULL;
    if (!rt || rt->kind != FERRY_MD_COMPOSITE) {
        return ferry_reason_set(why, FERRY_E_NOT_FOUND,
                                "metadata has no System.Events storage of Vec<EventRecord>");
    }
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, buf, len);
    struct dec d = {md, &r, budget_for(len)};
    size_t n;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return FERRY_E_NOMEM;
    if (ferry_scale_vec_len(&r, ferry_md_type_min_size(md, seq->elem), &n) == FERRY_OK) {
        for (size_t i = 0; i < n && !r.err; i++) {
            cJSON *rec = cJSON_CreateObject();
            if (!add_item(&d, arr, NULL, rec)) {
                arr = NULL;
                break;
            }
            for (size_t k = 0; k < rt->n_fields && !r.err; k++) {
                const struct ferry_md_field *f = &rt->fields[k];
                if (f->name && strcmp(f->name, "event") == 0) {
                    dec_event(&d, f->type, rec, 1);
                    continue;
                }
                cJSON *v = dec_value(&d, f->type, 1);
                if (!v)
                    break;
                cJSON_AddItemToObject(rec, f->name ? f->name : "?", v);
            }
        }
    }
    ferry_err err = arr ? ferry_scale_finish(&r) : r.err;
    if (err) {
        cJSON_Delete(arr);
        ferry_reason_from_scale(why, &r, NULL);
        return err;
    }
    *out = arr;
    return FERRY_OK;
}

/* ---- encoder ------------------------------------------------------------------------------------
 */

struct enc {
    const struct ferry_metadata *md;
    struct ferry_scale_writer *w;
    struct ferry_reason *why;
    bool failed; /* the first failure's reason is kept */
    char path[256];
    size_t plen;
};

static ferry_err enc_value(struct enc *e, uint32_t id, const cJSON *v, int depth);

static ferry_err enc_fail(struct enc *e, ferry_err err, const char *what)
{
    if (e->failed)
        return err;
    e->failed = true;
    return ferry_reason_set(e->why, err, "%s at %s", what, e->plen ? e->path : "(top)");
}

static size_t path_push(struct enc *e, const char *key, size_t index)
{
    size_t save = e->plen;
    int n = key ? snprintf(e->path + e->plen, sizeof e->path - e->plen, ".%s", key)
                : snprintf(e->path + e->plen, sizeof e->path - e->plen, "[%zu]", index);
    if (n > 0)
        e->plen += (size_t)n < sizeof e->path - e->plen ? (size_t)n : sizeof e->path - e->plen - 1;
    return save;
}

static void path_pop(struct enc *e, size_t save)
{
    e->plen = save;
    e->path[save] = 0;
}

/* Parse a JSON integer (number up to 2^53, or decimal string with optional '-'). */
static ferry_err json_int(struct enc *e, const cJSON *v, struct u256 *mag, bool *neg)
{
    memset(mag, 0, sizeof *mag);
    *neg = false;
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        if (!isfinite(x) || x != floor(x))
            return enc_fail(e, FERRY_E_JSON, "expected an integer");
        if (fabs(x) > (double)MAX_SAFE)
            return enc_fail(e, FERRY_E_JSON, "integer above 2^53: pass it as a decimal string");
        *neg = x < 0;
        mag->l[0] = (uint64_t)fabs(x);
        return FERRY_OK;
    }
    if (!cJSON_IsString(v))
        return enc_fail(e, FERRY_E_JSON, "expected an integer (number or decimal string)");
    const char *s = v->valuestring;
    if (*s == '-') {
        *neg = true;
        s++;
    }
    if (!*s)
        return enc_fail(e, FERRY_E_JSON, "expected decimal digits");
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return enc_fail(e, FERRY_E_JSON, "expected decimal digits");
        if (!u256_mul10_add(mag, (unsigned)(*s - '0')))
            return enc_fail(e, FERRY_E_OVERFLOW, "integer out of range");
    }
    if (u256_is_zero(mag))
        *neg = false;
    return FERRY_OK;
}

/* Range-check (mag, neg) for an integer of `bytes` bytes and write it little-endian. */
static ferry_err enc_int_value(struct enc *e, struct u256 mag, bool neg, size_t bytes,
                               bool is_signed)
{
    unsigned bits = 8u * (unsigned)bytes;
    if (!is_signed) {
        if (neg || u256_bits(&mag) > bits)
            return enc_fail(e, FERRY_E_OVERFLOW, "integer out of range");
    } else if (neg) {
        struct u256 m1 = mag;
        u256_dec(&m1);
        if (u256_bits(&m1) > bits - 1)
            return enc_fail(e, FERRY_E_OVERFLOW, "integer out of range");
        u256_neg(&mag);
    } else if (u256_bits(&mag) > bits - 1) {
        return enc_fail(e, FERRY_E_OVERFLOW, "integer out of range");
    }
    uint8_t out[32];
    for (size_t i = 0; i < bytes; i++)
        out[i] = (uint8_t)(mag.l[i / 8] >> (8 * (i % 8)));
    ferry_scale_put_bytes(e->w, out, bytes);
    return FERRY_OK;
}

/* Decode a UTF-8 string holding exactly one code point. */
static bool one_codepoint(const char *s, uint32_t *cp)
{
    size_t n = strlen(s);
    if (n == 0 || n > 4 || !ferry_utf8_valid((const uint8_t *)s, n))
        return false;
    const uint8_t *u = (const uint8_t *)s;
    size_t want = u[0] < 0x80 ? 1 : u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;
    if (want != n)
        return false;
    uint32_t c = want == 1 ? u[0] : want == 2 ? u[0] & 0x1fu : want == 3 ? u[0] & 0x0fu : u[0] & 7u;
    for (size_t i = 1; i < n; i++)
        c = c << 6 | (u[i] & 0x3f);
    *cp = c;
    return true;
}

static ferry_err enc_prim(struct enc *e, enum ferry_md_prim prim, const cJSON *v)
{
    switch (prim) {
    case FERRY_MD_BOOL:
        if (!cJSON_IsBool(v))
            return enc_fail(e, FERRY_E_JSON, "expected true or false");
        ferry_scale_put_bool(e->w, cJSON_IsTrue(v));
        return FERRY_OK;
    case FERRY_MD_CHAR: {
        uint32_t cp;
        if (!cJSON_IsString(v) || !one_codepoint(v->valuestring, &cp))
            return enc_fail(e, FERRY_E_JSON, "expected a one-character string");
        ferry_scale_put_u32(e->w, cp);
        return FERRY_OK;
    }
    case FERRY_MD_STR:
        if (!cJSON_IsString(v))
            return enc_fail(e, FERRY_E_JSON, "expected a string");
        ferry_scale_put_byte_vec(e->w, v->valuestring, strlen(v->valuestring));
        return FERRY_OK;
    default: {
        struct u256 mag;
        bool neg;
        ferry_err err = json_int(e, v, &mag, &neg);
        if (err)
            return err;
        return enc_int_value(e, mag, neg, prim_bytes[prim], prim_signed(prim));
    }
    }
}

static ferry_err enc_fields(struct enc *e, const struct ferry_md_field *f, size_t n, const cJSON *v,
                            int depth)
{
    if (n == 0) {
        if (cJSON_IsNull(v) || (cJSON_IsObject(v) && !v->child) || (cJSON_IsArray(v) && !v->child))
            return FERRY_OK;
        return enc_fail(e, FERRY_E_JSON, "expected null (no fields)");
    }
    bool named = f[0].name != NULL;
    if (!named && n == 1)
        return enc_value(e, f[0].type, v, depth);
    if (cJSON_IsArray(v)) {
        if ((size_t)cJSON_GetArraySize(v) != n)
            return enc_fail(e, FERRY_E_JSON, "wrong number of fields");
        size_t i = 0;
        for (const cJSON *c = v->child; c; c = c->next, i++) {
            size_t save = path_push(e, NULL, i);
            ferry_err err = enc_value(e, f[i].type, c, depth);
            path_pop(e, save);
            if (err)
                return err;
        }
        return FERRY_OK;
    }
    if (!named || !cJSON_IsObject(v))
        return enc_fail(e, FERRY_E_JSON, named ? "expected an object" : "expected an array");
    for (size_t i = 0; i < n; i++) {
        const char *name = f[i].name ? f[i].name : "";
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, name);
        size_t save = path_push(e, name, 0);
        ferry_err err =
            c ? enc_value(e, f[i].type, c, depth) : enc_fail(e, FERRY_E_JSON, "missing field");
        path_pop(e, save);
        if (err)
            return err;
    }
    if ((size_t)cJSON_GetArraySize(v) != n)
        return enc_fail(e, FERRY_E_JSON, "unknown extra field");
    return FERRY_OK;
}

static ferry_err enc_variant(struct enc *e, const struct ferry_md_type *t, const cJSON *v,
                             int depth)
{
    if (is_option(t)) {
        const struct ferry_md_variant *none = variant_named(t, "None");
        const struct ferry_md_variant *some = variant_named(t, "Some");
        if (cJSON_IsNull(v)) {
            ferry_scale_put_u8(e->w, none->index);
            return FERRY_OK;
        }
        ferry_scale_put_u8(e->w, some->index);
        return enc_value(e, some->fields[0].type, v, depth);
    }
    const char *name;
    const cJSON *inner = NULL;
    if (cJSON_IsString(v)) {
        name = v->valuestring;
    } else if (cJSON_IsObject(v) && v->child && !v->child->next) {
        name = v->child->string;
        inner = v->child;
    } else {
        return enc_fail(e, FERRY_E_JSON, "expected \"Variant\" or {\"Variant\": value}");
    }
    const struct ferry_md_variant *var = variant_named(t, name);
    if (!var)
        return enc_fail(e, FERRY_E_NOT_FOUND, "unknown variant name");
    ferry_scale_put_u8(e->w, var->index);
    if (!inner) {
        if (var->n_fields)
            return enc_fail(e, FERRY_E_JSON, "variant has fields: use {\"Variant\": value}");
        return FERRY_OK;
    }
    size_t save = path_push(e, name, 0);
    ferry_err err = enc_fields(e, var->fields, var->n_fields, inner, depth);
    path_pop(e, save);
    return err;
}

/* Hex (or, for 32 bytes, an SS58 address) into a malloc'd buffer. */
static ferry_err json_bytes(struct enc *e, const cJSON *v, size_t want, uint8_t **out, size_t *len)
{
    *out = NULL;
    if (!cJSON_IsString(v))
        return enc_fail(e, FERRY_E_JSON, "expected a 0x hex string");
    const char *s = v->valuestring;
    if (want == 32 && !(s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
        struct ferry_ss58 a;
        if (ferry_ss58_decode(s, &a, NULL) == FERRY_OK && a.len == 32) {
            *out = malloc(32);
            if (!*out)
                return enc_fail(e, FERRY_E_NOMEM, "out of memory");
            memcpy(*out, a.payload, 32);
            *len = 32;
            return FERRY_OK;
        }
        return enc_fail(e, FERRY_E_HEX, "expected 0x hex or an SS58 address");
    }
    if (!(s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        return enc_fail(e, FERRY_E_HEX, "expected a 0x hex string");
    if (ferry_hex_decode(s, strlen(s), out, len))
        return enc_fail(e, FERRY_E_HEX, "bad hex");
    if (want != SIZE_MAX && *len != want) {
        free(*out);
        *out = NULL;
        return enc_fail(e, FERRY_E_HEX, "hex has the wrong length for this array");
    }
    return FERRY_OK;
}

static ferry_err enc_list(struct enc *e, uint32_t elem, const cJSON *v, int depth)
{
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next, i++) {
        size_t save = path_push(e, NULL, i);
        ferry_err err = enc_value(e, elem, c, depth);
        path_pop(e, save);
        if (err)
            return err;
    }
    return FERRY_OK;
}

static ferry_err enc_bitseq(struct enc *e, const struct ferry_md_type *t, const cJSON *v)
{
    unsigned width;
    bool msb;
    if (!bitseq_info(e->md, t, &width, &msb))
        return enc_fail(e, FERRY_E_UNSUPPORTED, "unsupported bit sequence store or order type");
    size_t nbits;
    const char *s = NULL;
    if (cJSON_IsString(v) && strncmp(v->valuestring, "0b", 2) == 0) {
        s = v->valuestring + 2;
        nbits = strlen(s);
        for (size_t i = 0; i < nbits; i++)
            if (s[i] != '0' && s[i] != '1')
                return enc_fail(e, FERRY_E_JSON, "expected \"0b\" followed by 0s and 1s");
    } else if (cJSON_IsArray(v)) {
        nbits = (size_t)cJSON_GetArraySize(v);
        for (const cJSON *c = v->child; c; c = c->next)
            if (!cJSON_IsBool(c))
                return enc_fail(e, FERRY_E_JSON, "expected an array of booleans");
    } else {
        return enc_fail(e, FERRY_E_JSON, "expected \"0b…\" or an array of booleans");
    }
    if (nbits > UINT32_MAX)
        return enc_fail(e, FERRY_E_OVERFLOW, "bit sequence too long");
    size_t wbytes = width / 8, words = (nbits + width - 1) / width;
    uint8_t *buf = calloc(words ? words * wbytes : 1, 1);
    if (!buf)
        return enc_fail(e, FERRY_E_NOMEM, "out of memory");
    const cJSON *c = s ? NULL : v->child;
    for (size_t i = 0; i < nbits; i++) {
        bool on = s ? s[i] == '1' : cJSON_IsTrue(c);
        if (c)
            c = c->next;
        if (!on)
            continue;
        size_t w = i / width, k = i % width, bit = msb ? width - 1 - k : k;
        buf[w * wbytes + bit / 8] |= (uint8_t)(1u << (bit % 8));
    }
    ferry_scale_put_compact(e->w, nbits);
    ferry_scale_put_bytes(e->w, buf, words * wbytes);
    free(buf);
    return FERRY_OK;
}

static ferry_err enc_value(struct enc *e, uint32_t id, const cJSON *v, int depth)
{
    if (depth >= FERRY_MD_MAX_DEPTH)
        return enc_fail(e, FERRY_E_TOO_LARGE, "type nesting deeper than FERRY_MD_MAX_DEPTH");
    const struct ferry_md_type *t = ferry_md_type(e->md, id);
    if (!t)
        return enc_fail(e, FERRY_E_ARG, "unknown type id");
    depth++;
    switch (t->kind) {
    case FERRY_MD_COMPOSITE:
        return enc_fields(e, t->fields, t->n_fields, v, depth);
    case FERRY_MD_VARIANT:
        return enc_variant(e, t, v, depth);
    case FERRY_MD_SEQUENCE:
        if (is_u8(e->md, t->elem) && cJSON_IsString(v)) {
            uint8_t *b;
            size_t n;
            ferry_err err = json_bytes(e, v, SIZE_MAX, &b, &n);
            if (err)
                return err;
            ferry_scale_put_byte_vec(e->w, b, n);
            free(b);
            return FERRY_OK;
        }
        if (!cJSON_IsArray(v))
            return enc_fail(e, FERRY_E_JSON, "expected an array");
        ferry_scale_put_compact(e->w, (uint64_t)cJSON_GetArraySize(v));
        return enc_list(e, t->elem, v, depth);
    case FERRY_MD_ARRAY:
        if (is_u8(e->md, t->elem) && cJSON_IsString(v)) {
            uint8_t *b;
            size_t n;
            ferry_err err = json_bytes(e, v, t->array_len, &b, &n);
            if (err)
                return err;
            ferry_scale_put_bytes(e->w, b, n);
            free(b);
            return FERRY_OK;
        }
        if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) != t->array_len)
            return enc_fail(e, FERRY_E_JSON, "expected an array of the declared length");
        return enc_list(e, t->elem, v, depth);
    case FERRY_MD_TUPLE: {
        if (t->n_tuple == 0) {
            if (cJSON_IsNull(v) || (cJSON_IsArray(v) && !v->child))
                return FERRY_OK;
            return enc_fail(e, FERRY_E_JSON, "expected null for ()");
        }
        if (!cJSON_IsArray(v) || (size_t)cJSON_GetArraySize(v) != t->n_tuple)
            return enc_fail(e, FERRY_E_JSON, "expected an array with one item per tuple element");
        size_t i = 0;
        for (const cJSON *c = v->child; c; c = c->next, i++) {
            size_t save = path_push(e, NULL, i);
            ferry_err err = enc_value(e, t->tuple[i], c, depth);
            path_pop(e, save);
            if (err)
                return err;
        }
        return FERRY_OK;
    }
    case FERRY_MD_PRIMITIVE:
        return enc_prim(e, t->prim, v);
    case FERRY_MD_COMPACT: {
        bool ok;
        const struct ferry_md_type *target = compact_target(e->md, t->elem, &ok);
        if (!ok)
            return enc_fail(e, FERRY_E_UNSUPPORTED, "Compact of a non-integer type");
        if (!target)
            return FERRY_OK;
        struct u256 mag;
        bool neg;
        ferry_err err = json_int(e, v, &mag, &neg);
        if (err)
            return err;
        if (neg || u256_bits(&mag) > 8u * prim_bytes[target->prim])
            return enc_fail(e, FERRY_E_OVERFLOW, "integer out of range");
        struct ferry_u128 x = {mag.l[0], mag.l[1]};
        ferry_scale_put_compact_u128(e->w, x);
        return FERRY_OK;
    }
    case FERRY_MD_BITSEQ:
        return enc_bitseq(e, t, v);
    }
    return enc_fail(e, FERRY_E_INVALID, "unknown type kind");
}

ferry_err ferry_md_encode(const struct ferry_metadata *md, uint32_t type, const cJSON *value,
                          struct ferry_scale_writer *w, struct ferry_reason *why)
{
    struct enc e = {.md = md, .w = w, .why = why};
    ferry_err err = enc_value(&e, type, value, 0);
    if (!err && ferry_scale_writer_error(w))
        err = enc_fail(&e, FERRY_E_NOMEM, "out of memory");
    return err;
}

ferry_err ferry_md_encode_call(const struct ferry_metadata *md, const char *dotted,
                               const cJSON *args, struct ferry_scale_writer *w,
                               struct ferry_reason *why)
{
    struct ferry_md_call call;
    struct enc e = {.md = md, .w = w, .why = why};
    ferry_err err = ferry_md_find_call(md, dotted, &call);
    if (err)
        return ferry_reason_set(why, err == FERRY_E_ARG ? FERRY_E_ARG : FERRY_E_NOT_FOUND,
                                "no call %s in this metadata", dotted);
    ferry_scale_put_u8(w, call.pallet_index);
    ferry_scale_put_u8(w, call.call_index);
    const struct ferry_md_variant *v = call.variant;
    if (v->n_fields == 0)
        err = FERRY_OK;
    else if (v->fields[0].name == NULL && v->n_fields == 1 && !cJSON_IsArray(args))
        err = enc_value(&e, v->fields[0].type, args, 0);
    else
        err = enc_fields(&e, v->fields, v->n_fields, args, 0);
    if (!err && ferry_scale_writer_error(w))
        err = enc_fail(&e, FERRY_E_NOMEM, "out of memory");
    return err;
}
