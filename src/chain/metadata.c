/* Runtime metadata V14/V15: parser, id validation and lookups by name.
 *
 * Everything the parse produces (types, pallets, names) lives in one arena owned by the
 * ferry_metadata, so freeing is one walk over a chunk list and no view points into the caller's
 * input. Counts from the input go through ferry_scale_vec_len with the smallest size an item can
 * encode to, so the arena never grows faster than a constant factor of the input.
 *
 * Type ids are validated once, after the whole registry is read (types refer forward), so the
 * dynamic decoder (dyncodec.c) can index types without checking again. The decoder only uses
 * the public API of metadata.h.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/hex.h"
#include "ferry/metadata.h"
#include "ferry/scale.h"

/* ---- arena ------------------------------------------------------------------------------------
 */

struct arena_chunk {
    struct arena_chunk *next;
    size_t used;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

struct ferry_metadata {
    unsigned version;
    struct arena_chunk *arena;
    size_t n_types;
    struct ferry_md_type *types;
    size_t *type_offsets; /* byte offset of each type in the input, for id errors */
    size_t *min_size;     /* smallest encoding of each type (a lower bound) */
    size_t n_pallets;
    struct ferry_md_pallet *pallets;
    struct ferry_md_extrinsic ext;
    uint32_t runtime_type;
    bool has_outer;
    uint32_t outer_call, outer_event, outer_error;
    size_t n_apis;
    int16_t by_index[256]; /* pallet index → position in pallets, or -1 */
};

#define ARENA_CHUNK (64 * 1024)

static void *arena_alloc(struct ferry_metadata *md, size_t n)
{
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    struct arena_chunk *c = md->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = md->arena;
        md->arena = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* Allocate count items of size, zeroed; count was bounded by the input (vec_len). */
static void *arena_array(struct ferry_metadata *md, size_t count, size_t size)
{
    if (count == 0)
        return NULL;
    if (count > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(md, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void ferry_metadata_free(struct ferry_metadata *md)
{
    if (!md)
        return;
    struct arena_chunk *c = md->arena;
    while (c) {
        struct arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(md);
}

/* ---- parser ------------------------------------------------------------------------------------
 */

struct parser {
    struct ferry_scale_reader r;
    struct ferry_metadata *md;
    bool oom;
};

static ferry_err p_fail(struct parser *p, ferry_err err, const char *why)
{
    return ferry_scale_fail(&p->r, err, why);
}

static bool p_ok(const struct parser *p)
{
    return p->r.err == FERRY_OK && !p->oom;
}

/* Read a String into the arena (NUL-terminated). Returns NULL on failure (cursor or oom). */
static const char *p_string(struct parser *p)
{
    const uint8_t *s;
    size_t n;
    if (ferry_scale_string(&p->r, &s, &n))
        return NULL;
    char *d = arena_alloc(p->md, n + 1);
    if (!d) {
        p->oom = true;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Option<String>: NULL when None (or on failure; check p_ok). */
static const char *p_opt_string(struct parser *p)
{
    bool present;
    if (ferry_scale_option(&p->r, &present) || !present)
        return NULL;
    return p_string(p);
}

static uint32_t p_type_id(struct parser *p)
{
    uint32_t v;
    ferry_scale_compact_u32(&p->r, &v);
    return v;
}

/* Skip Vec<String> (docs). */
static void p_skip_docs(struct parser *p)
{
    size_t n;
    if (ferry_scale_vec_len(&p->r, 1, &n))
        return;
    for (size_t i = 0; i < n && p_ok(p); i++) {
        const uint8_t *s;
        size_t len;
        ferry_scale_string(&p->r, &s, &len);
    }
}

static void p_bool_opt_type(struct parser *p, bool *has, uint32_t *type)
{
    if (ferry_scale_option(&p->r, has))
        return;
    if (*has)
        *type = p_type_id(p);
}

/* Vec<Field>; each field encodes to at least 3 bytes (None name, id, None type_name, docs). */
static void p_fields(struct parser *p, size_t *n_out, const struct ferry_md_field **out)
{
    size_t n;
    *n_out = 0;
    *out = NULL;
    if (ferry_scale_vec_len(&p->r, 4, &n))
        return;
    struct ferry_md_field *f = arena_array(p->md, n, sizeof *f);
    if (n && !f) {
        p->oom = true;
        return;
    }
    for (size_t i = 0; i < n && p_ok(p); i++) {
        f[i].name = p_opt_string(p);
        f[i].type = p_type_id(p);
        f[i].type_name = p_opt_string(p);
        p_skip_docs(p);
    }
    *n_out = n;
    *out = f;
}

static void p_variants(struct parser *p, struct ferry_md_type *t)
{
    size_t n;
    if (ferry_scale_vec_len(&p->r, 4, &n))
        return;
    struct ferry_md_variant *v = arena_array(p->md, n, sizeof *v);
    if (n && !v) {
        p->oom = true;
        return;
    }
    for (size_t i = 0; i < n && p_ok(p); i++) {
        v[i].name = p_string(p);
        p_fields(p, &v[i].n_fields, &v[i].fields);
        ferry_scale_u8(&p->r, &v[i].index);
        p_skip_docs(p);
        for (size_t k = 0; k < i && p_ok(p); k++)
            if (v[k].index == v[i].index)
                p_fail(p, FERRY_E_INVALID, "duplicate variant index in type");
    }
    t->n_variants = n;
    t->variants = v;
}

static void p_typedef(struct parser *p, struct ferry_md_type *t)
{
    uint8_t tag;
    if (ferry_scale_u8(&p->r, &tag))
        return;
    switch (tag) {
    case 0:
        t->kind = FERRY_MD_COMPOSITE;
        p_fields(p, &t->n_fields, &t->fields);
        break;
    case 1:
        t->kind = FERRY_MD_VARIANT;
        p_variants(p, t);
        break;
    case 2:
        t->kind = FERRY_MD_SEQUENCE;
        t->elem = p_type_id(p);
        break;
    case 3:
        t->kind = FERRY_MD_ARRAY;
        ferry_scale_u32(&p->r, &t->array_len);
        t->elem = p_type_id(p);
        break;
    case 4: {
        t->kind = FERRY_MD_TUPLE;
        size_t n;
        if (ferry_scale_vec_len(&p->r, 1, &n))
            return;
        uint32_t *ids = arena_array(p->md, n, sizeof *ids);
        if (n && !ids) {
            p->oom = true;
            return;
        }
        for (size_t i = 0; i < n && p_ok(p); i++)
            ids[i] = p_type_id(p);
        t->n_tuple = n;
        t->tuple = ids;
        break;
    }
    case 5: {
        uint8_t prim;
        t->kind = FERRY_MD_PRIMITIVE;
        if (ferry_scale_u8(&p->r, &prim))
            return;
        if (prim > FERRY_MD_I256) {
            p->r.pos--;
            p_fail(p, FERRY_E_INVALID, "unknown primitive type");
            return;
        }
        t->prim = (enum ferry_md_prim)prim;
        break;
    }
    case 6:
        t->kind = FERRY_MD_COMPACT;
        t->elem = p_type_id(p);
        break;
    case 7:
        t->kind = FERRY_MD_BITSEQ;
        t->bit_store = p_type_id(p);
        t->bit_order = p_type_id(p);
        break;
    default:
        p->r.pos--;
        p_fail(p, FERRY_E_INVALID, "unknown TypeDef variant");
    }
}

static void p_registry(struct parser *p)
{
    struct ferry_metadata *md = p->md;
    size_t n;
    /* id, path, params, def tag + 1, docs: at least 5 bytes per type */
    if (ferry_scale_vec_len(&p->r, 5, &n))
        return;
    md->types = arena_array(md, n, sizeof *md->types);
    md->type_offsets = arena_array(md, n, sizeof *md->type_offsets);
    if (n && (!md->types || !md->type_offsets)) {
        p->oom = true;
        return;
    }
    md->n_types = n;
    for (size_t i = 0; i < n && p_ok(p); i++) {
        struct ferry_md_type *t = &md->types[i];
        md->type_offsets[i] = p->r.pos;
        t->id = p_type_id(p);
        if (p_ok(p) && t->id != i) {
            p_fail(p, FERRY_E_INVALID, "type ids are not sequential");
            return;
        }
        size_t np;
        if (ferry_scale_vec_len(&p->r, 1, &np))
            return;
        const char **path = arena_array(md, np, sizeof *path);
        if (np && !path) {
            p->oom = true;
            return;
        }
        for (size_t k = 0; k < np && p_ok(p); k++)
            path[k] = p_string(p);
        t->n_path = np;
        t->path = path;
        if (ferry_scale_vec_len(&p->r, 2, &np))
            return;
        struct ferry_md_type_param *params = arena_array(md, np, sizeof *params);
        if (np && !params) {
            p->oom = true;
            return;
        }
        for (size_t k = 0; k < np && p_ok(p); k++) {
            params[k].name = p_string(p);
            p_bool_opt_type(p, &params[k].has_type, &params[k].type);
        }
        t->n_params = np;
        t->params = params;
        p_typedef(p, t);
        p_skip_docs(p);
    }
}

static const enum ferry_hasher hasher_map[7] = {
    FERRY_HASHER_BLAKE2_128, FERRY_HASHER_BLAKE2_256, FERRY_HASHER_BLAKE2_128_CONCAT,
    FERRY_HASHER_TWOX128,    FERRY_HASHER_TWOX256,    FERRY_HASHER_TWOX64_CONCAT,
    FERRY_HASHER_IDENTITY,
};

static void p_storage_entry(struct parser *p, struct ferry_md_storage *e)
{
    uint8_t tag;
    e->name = p_string(p);
    if (ferry_scale_u8(&p->r, &tag))
        return;
    if (tag > 1) {
        p->r.pos--;
        p_fail(p, FERRY_E_INVALID, "unknown storage modifier");
        return;
    }
    e->modifier = (enum ferry_md_modifier)tag;
    if (ferry_scale_u8(&p->r, &tag))
        return;
    if (tag == 0) {
        e->value_type = p_type_id(p);
    } else if (tag == 1) {
        size_t n;
        e->is_map = true;
        if (ferry_scale_vec_len(&p->r, 1, &n))
            return;
        enum ferry_hasher *h = arena_array(p->md, n, sizeof *h);
        if (n && !h) {
            p->oom = true;
            return;
        }
        for (size_t i = 0; i < n && p_ok(p); i++) {
            uint8_t hb;
            if (ferry_scale_u8(&p->r, &hb))
                return;
            if (hb > 6) {
                p->r.pos--;
                p_fail(p, FERRY_E_INVALID, "unknown storage hasher");
                return;
            }
            h[i] = hasher_map[hb];
        }
        e->n_hashers = n;
        e->hashers = h;
        e->key_type = p_type_id(p);
        e->value_type = p_type_id(p);
    } else {
        p->r.pos--;
        p_fail(p, FERRY_E_INVALID, "unknown storage entry type");
        return;
    }
    const uint8_t *def;
    size_t dlen;
    if (ferry_scale_byte_vec(&p->r, &def, &dlen))
        return;
    uint8_t *copy = arena_alloc(p->md, dlen ? dlen : 1);
    if (!copy) {
        p->oom = true;
        return;
    }
    memcpy(copy, def, dlen);
    e->default_value = copy;
    e->default_len = dlen;
    p_skip_docs(p);
}

static void p_pallet(struct parser *p, struct ferry_md_pallet *pl)
{
    bool present;
    pl->name = p_string(p);
    if (ferry_scale_option(&p->r, &present))
        return;
    if (present) {
        size_t n;
        pl->has_storage = true;
        pl->storage_prefix = p_string(p);
        if (ferry_scale_vec_len(&p->r, 5, &n))
            return;
        struct ferry_md_storage *e = arena_array(p->md, n, sizeof *e);
        if (n && !e) {
            p->oom = true;
            return;
        }
        for (size_t i = 0; i < n && p_ok(p); i++)
            p_storage_entry(p, &e[i]);
        pl->n_storage = n;
        pl->storage = e;
    }
    p_bool_opt_type(p, &pl->has_calls, &pl->calls_type);
    p_bool_opt_type(p, &pl->has_events, &pl->events_type);
    size_t n;
    if (ferry_scale_vec_len(&p->r, 4, &n))
        return;
    struct ferry_md_constant *c = arena_array(p->md, n, sizeof *c);
    if (n && !c) {
        p->oom = true;
        return;
    }
    for (size_t i = 0; i < n && p_ok(p); i++) {
        c[i].name = p_string(p);
        c[i].type = p_type_id(p);
        const uint8_t *v;
        size_t vlen;
        if (ferry_scale_byte_vec(&p->r, &v, &vlen))
            return;
        uint8_t *copy = arena_alloc(p->md, vlen ? vlen : 1);
        if (!copy) {
            p->oom = true;
            return;
        }
        memcpy(copy, v, vlen);
        c[i].value = copy;
        c[i].value_len = vlen;
        p_skip_docs(p);
    }
    pl->n_constants = n;
    pl->constants = c;
    p_bool_opt_type(p, &pl->has_errors, &pl->errors_type);
    ferry_scale_u8(&p->r, &pl->index);
    if (p->md->version >= 15)
        p_skip_docs(p);
}

static void p_extrinsic(struct parser *p)
{
    struct ferry_md_extrinsic *x = &p->md->ext;
    if (p->md->version == 14) {
        x->has_type = true;
        x->type = p_type_id(p);
        ferry_scale_u8(&p->r, &x->version);
    } else {
        ferry_scale_u8(&p->r, &x->version);
        x->has_types = true;
        x->address_type = p_type_id(p);
        x->call_type = p_type_id(p);
        x->signature_type = p_type_id(p);
        x->extra_type = p_type_id(p);
    }
    size_t n;
    if (ferry_scale_vec_len(&p->r, 3, &n))
        return;
    struct ferry_md_signed_ext *s = arena_array(p->md, n, sizeof *s);
    if (n && !s) {
        p->oom = true;
        return;
    }
    for (size_t i = 0; i < n && p_ok(p); i++) {
        s[i].identifier = p_string(p);
        s[i].type = p_type_id(p);
        s[i].additional_signed = p_type_id(p);
    }
    x->n_signed_ext = n;
    x->signed_ext = s;
}

/* V15 runtime APIs: parsed for structure and skipped (only their count is kept). */
static void p_apis(struct parser *p)
{
    size_t n;
    if (ferry_scale_vec_len(&p->r, 3, &n))
        return;
    for (size_t i = 0; i < n && p_ok(p); i++) {
        const uint8_t *s;
        size_t len, nm;
        ferry_scale_string(&p->r, &s, &len);
        if (ferry_scale_vec_len(&p->r, 4, &nm))
            return;
        for (size_t k = 0; k < nm && p_ok(p); k++) {
            size_t ni;
            ferry_scale_string(&p->r, &s, &len);
            if (ferry_scale_vec_len(&p->r, 2, &ni))
                return;
            for (size_t j = 0; j < ni && p_ok(p); j++) {
                ferry_scale_string(&p->r, &s, &len);
                (void)p_type_id(p);
            }
            (void)p_type_id(p); /* output */
            p_skip_docs(p);
        }
        p_skip_docs(p);
    }
    p->md->n_apis = n;
}

/* V15 custom metadata: BTreeMap<String, {ty, value: Vec<u8>}>, skipped. */
static void p_custom(struct parser *p)
{
    size_t n;
    if (ferry_scale_vec_len(&p->r, 3, &n))
        return;
    for (size_t i = 0; i < n && p_ok(p); i++) {
        const uint8_t *s;
        size_t len;
        ferry_scale_string(&p->r, &s, &len);
        (void)p_type_id(p);
        ferry_scale_byte_vec(&p->r, &s, &len);
    }
}

/* ---- validation ---------------------------------------------------------------------------- */

static bool id_ok(const struct ferry_metadata *md, uint32_t id)
{
    return id < md->n_types;
}

/* Check every type reference; on failure write the reason and return false. */
static bool validate_ids(const struct ferry_metadata *md, struct ferry_reason *why)
{
    for (size_t i = 0; i < md->n_types; i++) {
        const struct ferry_md_type *t = &md->types[i];
        bool ok = true;
        for (size_t k = 0; k < t->n_params; k++)
            ok = ok && (!t->params[k].has_type || id_ok(md, t->params[k].type));
        switch (t->kind) {
        case FERRY_MD_COMPOSITE:
            for (size_t k = 0; k < t->n_fields; k++)
                ok = ok && id_ok(md, t->fields[k].type);
            break;
        case FERRY_MD_VARIANT:
            for (size_t v = 0; v < t->n_variants; v++)
                for (size_t k = 0; k < t->variants[v].n_fields; k++)
                    ok = ok && id_ok(md, t->variants[v].fields[k].type);
            break;
        case FERRY_MD_SEQUENCE:
        case FERRY_MD_ARRAY:
        case FERRY_MD_COMPACT:
            ok = id_ok(md, t->elem);
            break;
        case FERRY_MD_TUPLE:
            for (size_t k = 0; k < t->n_tuple; k++)
                ok = ok && id_ok(md, t->tuple[k]);
            break;
        case FERRY_MD_BITSEQ:
            ok = id_ok(md, t->bit_store) && id_ok(md, t->bit_order);
            break;
        case FERRY_MD_PRIMITIVE:
            break;
        }
        if (!ok) {
            ferry_reason_set(why, FERRY_E_INVALID,
                             "type %zu refers to a type id that does not exist at byte %zu", i,
                             md->type_offsets[i]);
            return false;
        }
    }
    for (size_t i = 0; i < md->n_pallets; i++) {
        const struct ferry_md_pallet *pl = &md->pallets[i];
        bool ok = (!pl->has_calls || id_ok(md, pl->calls_type)) &&
                  (!pl->has_events || id_ok(md, pl->events_type)) &&
                  (!pl->has_errors || id_ok(md, pl->errors_type));
        /* calls/events/errors must be enums: the lookups read their variants */
        ok = ok && (!pl->has_calls || md->types[pl->calls_type].kind == FERRY_MD_VARIANT);
        ok = ok && (!pl->has_events || md->types[pl->events_type].kind == FERRY_MD_VARIANT);
        ok = ok && (!pl->has_errors || md->types[pl->errors_type].kind == FERRY_MD_VARIANT);
        for (size_t k = 0; k < pl->n_storage; k++) {
            const struct ferry_md_storage *e = &pl->storage[k];
            ok = ok && id_ok(md, e->value_type) && (!e->is_map || id_ok(md, e->key_type));
        }
        for (size_t k = 0; k < pl->n_constants; k++)
            ok = ok && id_ok(md, pl->constants[k].type);
        if (!ok) {
            ferry_reason_set(why, FERRY_E_INVALID, "pallet %s refers to a missing or non-enum type",
                             pl->name ? pl->name : "?");
            return false;
        }
    }
    const struct ferry_md_extrinsic *x = &md->ext;
    bool ok = (!x->has_type || id_ok(md, x->type)) &&
              (!x->has_types || (id_ok(md, x->address_type) && id_ok(md, x->call_type) &&
                                 id_ok(md, x->signature_type) && id_ok(md, x->extra_type)));
    for (size_t k = 0; k < x->n_signed_ext; k++)
        ok =
            ok && id_ok(md, x->signed_ext[k].type) && id_ok(md, x->signed_ext[k].additional_signed);
    ok = ok && id_ok(md, md->runtime_type);
    if (md->has_outer)
        ok = ok && id_ok(md, md->outer_call) && id_ok(md, md->outer_event) &&
             id_ok(md, md->outer_error);
    if (!ok) {
        ferry_reason_set(why, FERRY_E_INVALID,
                         "extrinsic or runtime information refers to a missing type id");
        return false;
    }
    return true;
}

/* Lower bound of each type's encoded size; cycles count as 0 (a lower bound still). */
#define SIZE_CAP ((size_t)1 << 24)

static size_t sat_add(size_t a, size_t b)
{
    return a + b > SIZE_CAP ? SIZE_CAP : a + b;
}

static const size_t prim_size[] = {1, 4, 1, 1, 2, 4, 8, 16, 32, 1, 2, 4, 8, 16, 32};

static size_t compute_min_size(struct ferry_metadata *md, uint32_t id, uint8_t *state, int depth)
{
    if (state[id] == 2)
        return md->min_size[id];
    if (state[id] == 1 || depth > FERRY_MD_MAX_DEPTH)
        return 0;
    state[id] = 1;
    const struct ferry_md_type *t = &md->types[id];
    size_t s = 0;
    switch (t->kind) {
    case FERRY_MD_COMPOSITE:
        for (size_t k = 0; k < t->n_fields; k++)
            s = sat_add(s, compute_min_size(md, t->fields[k].type, state, depth + 1));
        break;
    case FERRY_MD_TUPLE:
        for (size_t k = 0; k < t->n_tuple; k++)
            s = sat_add(s, compute_min_size(md, t->tuple[k], state, depth + 1));
        break;
    case FERRY_MD_VARIANT:
        s = t->n_variants ? 1 : 0; /* an enum without variants cannot be decoded; 0 is safe */
        break;
    case FERRY_MD_ARRAY: {
        size_t e = compute_min_size(md, t->elem, state, depth + 1);
        s = e && t->array_len > SIZE_CAP / e ? SIZE_CAP : e * t->array_len;
        break;
    }
    case FERRY_MD_PRIMITIVE:
        s = prim_size[t->prim];
        break;
    case FERRY_MD_SEQUENCE:
    case FERRY_MD_COMPACT:
    case FERRY_MD_BITSEQ:
        s = 1;
        break;
    }
    /* A result computed while a cycle was open may be too small; it is still a lower bound. */
    md->min_size[id] = s;
    state[id] = 2;
    return s;
}

static ferry_err compute_min_sizes(struct ferry_metadata *md)
{
    md->min_size = arena_array(md, md->n_types, sizeof *md->min_size);
    uint8_t *state = calloc(md->n_types ? md->n_types : 1, 1);
    if ((md->n_types && !md->min_size) || !state) {
        free(state);
        return FERRY_E_NOMEM;
    }
    for (size_t i = 0; i < md->n_types; i++)
        compute_min_size(md, (uint32_t)i, state, 0);
    free(state);
    return FERRY_OK;
}

size_t ferry_md_type_min_size(const struct ferry_metadata *md, uint32_t id)
{
    return id < md->n_types ? md->min_size[id] : 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

static const uint8_t magic[4] = {0x6d, 0x65, 0x74, 0x61};

/* If the input is an Option<Vec<u8>> (0x01 ‖ Vec) or a Vec<u8> holding "meta"…, consume the
 * wrapper; otherwise leave the cursor where it was. */
static void p_wrapper(struct parser *p)
{
    struct ferry_scale_reader *r = &p->r;
    for (size_t skip = 0; skip < 2; skip++) {
        if (skip && r->base[0] != 0x01)
            break;
        struct ferry_scale_reader t = *r;
        size_t n;
        t.pos += skip;
        if (ferry_scale_vec_len(&t, 1, &n) || n < 4 || memcmp(t.base + t.pos, magic, 4) != 0)
            continue;
        if (n != ferry_scale_remaining(&t)) {
            p_fail(p, FERRY_E_INVALID, "opaque metadata length does not match the input");
            return;
        }
        *r = t;
        return;
    }
}

/* Consume the optional wrapper, the magic and the version byte. */
static void p_prefix(struct parser *p, unsigned *version)
{
    struct ferry_scale_reader *r = &p->r;
    if (r->len == 1 && r->base[0] == 0x00) {
        p_fail(p, FERRY_E_UNSUPPORTED, "runtime returned None: metadata version not served");
        return;
    }
    if (r->len >= 4 && memcmp(r->base, magic, 4) != 0)
        p_wrapper(p);
    const uint8_t *m;
    if (ferry_scale_bytes(r, 4, &m))
        return;
    if (memcmp(m, magic, 4) != 0) {
        r->pos -= 4;
        p_fail(p, FERRY_E_INVALID, "bad magic (expected \"meta\")");
        return;
    }
    uint8_t v;
    if (ferry_scale_u8(r, &v))
        return;
    if (v != 14 && v != 15) {
        r->pos--;
        p_fail(p, FERRY_E_UNSUPPORTED, "unsupported metadata version (only 14 and 15)");
        return;
    }
    *version = v;
}

ferry_err ferry_metadata_parse(const uint8_t *buf, size_t len, struct ferry_metadata **out,
                               struct ferry_reason *why)
{
    *out = NULL;
    struct ferry_metadata *md = calloc(1, sizeof *md);
    if (!md)
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    struct parser p = {.md = md};
    ferry_scale_reader_init(&p.r, buf, len);
    p_prefix(&p, &md->version);
    if (p_ok(&p))
        p_registry(&p);
    size_t n = 0;
    /* a pallet is at least 7 bytes: name, storage, calls, events, constants, errors, index
     * (V15 adds docs); a larger bound would refuse valid metadata */
    if (p_ok(&p) && ferry_scale_vec_len(&p.r, 7, &n) == FERRY_OK) {
        md->pallets = arena_array(md, n, sizeof *md->pallets);
        if (n && !md->pallets)
            p.oom = true;
        else
            md->n_pallets = n;
        for (size_t i = 0; i < n && p_ok(&p); i++)
            p_pallet(&p, &md->pallets[i]);
    }
    if (p_ok(&p))
        p_extrinsic(&p);
    if (p_ok(&p))
        md->runtime_type = p_type_id(&p);
    if (p_ok(&p) && md->version >= 15) {
        p_apis(&p);
        md->has_outer = true;
        md->outer_call = p_type_id(&p);
        md->outer_event = p_type_id(&p);
        md->outer_error = p_type_id(&p);
        p_custom(&p);
    }
    ferry_err err = p.oom ? FERRY_E_NOMEM : ferry_scale_finish(&p.r);
    if (err) {
        if (p.oom)
            ferry_reason_set(why, err, "out of memory");
        else
            ferry_reason_from_scale(why, &p.r, NULL);
        ferry_metadata_free(md);
        return err;
    }
    if (!validate_ids(md, why)) {
        ferry_metadata_free(md);
        return FERRY_E_INVALID;
    }
    for (size_t i = 0; i < 256; i++)
        md->by_index[i] = -1;
    for (size_t i = 0; i < md->n_pallets; i++) {
        if (md->by_index[md->pallets[i].index] >= 0) {
            ferry_metadata_free(md);
            return ferry_reason_set(why, FERRY_E_INVALID, "two pallets share one index");
        }
        md->by_index[md->pallets[i].index] = (int16_t)i;
    }
    if (compute_min_sizes(md)) {
        ferry_metadata_free(md);
        return ferry_reason_set(why, FERRY_E_NOMEM, "out of memory");
    }
    *out = md;
    return FERRY_OK;
}

ferry_err ferry_metadata_parse_hex(const char *hex, struct ferry_metadata **out,
                                   struct ferry_reason *why)
{
    uint8_t *buf;
    size_t len;
    *out = NULL;
    ferry_err err = ferry_hex_decode(hex, strlen(hex), &buf, &len);
    if (err)
        return ferry_reason_set(why, err, "metadata is not a valid hex string");
    err = ferry_metadata_parse(buf, len, out, why);
    free(buf);
    return err;
}

unsigned ferry_metadata_version(const struct ferry_metadata *md)
{
    return md->version;
}

/* ---- lookups ------------------------------------------------------------------------------------
 */

size_t ferry_md_type_count(const struct ferry_metadata *md)
{
    return md->n_types;
}

const struct ferry_md_type *ferry_md_type(const struct ferry_metadata *md, uint32_t id)
{
    return id < md->n_types ? &md->types[id] : NULL;
}

size_t ferry_md_pallet_count(const struct ferry_metadata *md)
{
    return md->n_pallets;
}

const struct ferry_md_pallet *ferry_md_pallet_at(const struct ferry_metadata *md, size_t i)
{
    return i < md->n_pallets ? &md->pallets[i] : NULL;
}

const struct ferry_md_pallet *ferry_md_pallet_by_name(const struct ferry_metadata *md,
                                                      const char *name)
{
    for (size_t i = 0; i < md->n_pallets; i++)
        if (strcmp(md->pallets[i].name, name) == 0)
            return &md->pallets[i];
    return NULL;
}

const struct ferry_md_pallet *ferry_md_pallet_by_index(const struct ferry_metadata *md,
                                                       uint8_t index)
{
    int16_t i = md->by_index[index];
    return i >= 0 ? &md->pallets[i] : NULL;
}

static const struct ferry_md_variant *variant_by_index(const struct ferry_metadata *md,
                                                       uint32_t type, uint8_t index)
{
    const struct ferry_md_type *t = &md->types[type];
    for (size_t i = 0; i < t->n_variants; i++)
        if (t->variants[i].index == index)
            return &t->variants[i];
    return NULL;
}

ferry_err ferry_md_find_call(const struct ferry_metadata *md, const char *dotted,
                             struct ferry_md_call *call)
{
    const char *dot = strchr(dotted, '.');
    if (!dot)
        return FERRY_E_ARG;
    size_t plen = (size_t)(dot - dotted);
    for (size_t i = 0; i < md->n_pallets; i++) {
        const struct ferry_md_pallet *pl = &md->pallets[i];
        if (strlen(pl->name) != plen || memcmp(pl->name, dotted, plen) != 0)
            continue;
        if (!pl->has_calls)
            return FERRY_E_NOT_FOUND;
        const struct ferry_md_type *t = &md->types[pl->calls_type];
        for (size_t k = 0; k < t->n_variants; k++) {
            if (strcmp(t->variants[k].name, dot + 1) == 0) {
                call->pallet = pl;
                call->pallet_index = pl->index;
                call->call_index = t->variants[k].index;
                call->variant = &t->variants[k];
                return FERRY_OK;
            }
        }
        return FERRY_E_NOT_FOUND;
    }
    return FERRY_E_NOT_FOUND;
}

const struct ferry_md_variant *ferry_md_find_event(const struct ferry_metadata *md,
                                                   uint8_t pallet_index, uint8_t event_index,
                                                   const struct ferry_md_pallet **pallet)
{
    const struct ferry_md_pallet *pl = ferry_md_pallet_by_index(md, pallet_index);
    if (pallet)
        *pallet = pl;
    if (!pl || !pl->has_events)
        return NULL;
    return variant_by_index(md, pl->events_type, event_index);
}

const struct ferry_md_variant *ferry_md_find_error(const struct ferry_metadata *md,
                                                   uint8_t pallet_index, uint8_t error_index,
                                                   const struct ferry_md_pallet **pallet)
{
    const struct ferry_md_pallet *pl = ferry_md_pallet_by_index(md, pallet_index);
    if (pallet)
        *pallet = pl;
    if (!pl || !pl->has_errors)
        return NULL;
    return variant_by_index(md, pl->errors_type, error_index);
}

const struct ferry_md_storage *ferry_md_find_storage(const struct ferry_metadata *md,
                                                     const char *pallet, const char *item)
{
    const struct ferry_md_pallet *pl = ferry_md_pallet_by_name(md, pallet);
    if (!pl)
        return NULL;
    for (size_t i = 0; i < pl->n_storage; i++)
        if (strcmp(pl->storage[i].name, item) == 0)
            return &pl->storage[i];
    return NULL;
}

const struct ferry_md_constant *ferry_md_find_constant(const struct ferry_metadata *md,
                                                       const char *pallet, const char *name)
{
    const struct ferry_md_pallet *pl = ferry_md_pallet_by_name(md, pallet);
    if (!pl)
        return NULL;
    for (size_t i = 0; i < pl->n_constants; i++)
        if (strcmp(pl->constants[i].name, name) == 0)
            return &pl->constants[i];
    return NULL;
}

const struct ferry_md_extrinsic *ferry_md_extrinsic(const struct ferry_metadata *md)
{
    return &md->ext;
}

ferry_err ferry_md_event_enum_type(const struct ferry_metadata *md, uint32_t *out)
{
    if (md->has_outer) {
        *out = md->outer_event;
        return FERRY_OK;
    }
    const struct ferry_md_storage *e = ferry_md_find_storage(md, "System", "Events");
    if (!e)
        return FERRY_E_NOT_FOUND;
    const struct ferry_md_type *seq = &md->types[e->value_type];
    if (seq->kind != FERRY_MD_SEQUENCE)
        return FERRY_E_NOT_FOUND;
    const struct ferry_md_type *rec = &md->types[seq->elem];
    for (size_t i = 0; rec->kind == FERRY_MD_COMPOSITE && i < rec->n_fields; i++) {
        if (rec->fields[i].name && strcmp(rec->fields[i].name, "event") == 0) {
            *out = rec->fields[i].type;
            return FERRY_OK;
        }
    }
    return FERRY_E_NOT_FOUND;
}

ferry_err ferry_md_module_error(const struct ferry_metadata *md, uint8_t index,
                                const uint8_t error[4], const char **pallet_name,
                                const char **error_name)
{
    const struct ferry_md_pallet *pl;
    const struct ferry_md_variant *v = ferry_md_find_error(md, index, error[0], &pl);
    if (!v)
        return FERRY_E_NOT_FOUND;
    *pallet_name = pl->name;
    *error_name = v->name;
    return FERRY_OK;
}
