/* Signed extrinsics (v4): eras, the signed-extension layout a runtime's metadata describes, the
 * signing payload, assembly and a structural decoder. See include/ferry/extrinsic.h.
 *
 * The extension table below is the only place that knows what each extension encodes. Every
 * extension the metadata lists is classified once (ferry_xt_format_from_metadata) and checked
 * against the type registry, so building never has to guess: an extension ferry does not know
 * is accepted only when the registry proves both its parts empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/extrinsic.h"
#include "ferry/hash.h"
#include "ferry/metadata.h"
#include "ferry/dyncodec.h"

/* ---- eras -------------------------------------------------------------------------------------
 */

void ferry_era_mortal(uint64_t period, uint64_t checkpoint, struct ferry_era *era)
{
    uint64_t p = 4;
    while (p < period && p < 65536)
        p <<= 1;
    uint64_t phase = checkpoint % p;
    uint64_t q = p >> 12 ? p >> 12 : 1;
    era->immortal = false;
    era->period = (uint32_t)p;
    era->phase = (uint32_t)(phase / q * q);
}

uint64_t ferry_era_birth(const struct ferry_era *era, uint64_t current)
{
    if (era->immortal || era->period == 0)
        return 0;
    uint64_t cur = current > era->phase ? current : era->phase;
    return (cur - era->phase) / era->period * era->period + era->phase;
}

static unsigned trailing_zeros32(uint32_t v)
{
    unsigned n = 0;
    while (v && !(v & 1)) {
        v >>= 1;
        n++;
    }
    return n;
}

void ferry_era_encode(const struct ferry_era *era, struct ferry_scale_writer *w)
{
    if (era->immortal) {
        ferry_scale_put_u8(w, 0);
        return;
    }
    uint32_t q = era->period >> 12 ? era->period >> 12 : 1;
    unsigned tz = trailing_zeros32(era->period);
    unsigned low = tz > 1 ? tz - 1 : 1;
    if (low > 15)
        low = 15;
    uint16_t enc = (uint16_t)(low | ((era->phase / q) << 4));
    ferry_scale_put_u16(w, enc);
}

ferry_err ferry_era_decode(struct ferry_scale_reader *r, struct ferry_era *era)
{
    memset(era, 0, sizeof *era);
    uint8_t first;
    ferry_err err = ferry_scale_u8(r, &first);
    if (err)
        return err;
    if (first == 0) {
        era->immortal = true;
        return FERRY_OK;
    }
    uint8_t second;
    err = ferry_scale_u8(r, &second);
    if (err)
        return err;
    uint32_t enc = (uint32_t)first | (uint32_t)second << 8;
    uint32_t period = 2u << (enc % 16);
    uint32_t q = period >> 12 ? period >> 12 : 1;
    uint32_t phase = (enc >> 4) * q;
    if (period < 4 || phase >= period)
        return ferry_scale_fail(r, FERRY_E_INVALID, "invalid era period and phase");
    era->period = period;
    era->phase = phase;
    return FERRY_OK;
}

/* ---- the extension table ----------------------------------------------------------------------
 */

/* What a known extension's two parts must look like in the registry. */
enum shape {
    SHAPE_EMPTY,
    SHAPE_U32,
    SHAPE_HASH,
    SHAPE_ANY, /* era, compact, option: checked by min size / kind loosely */
};

struct known_ext {
    const char *identifier;
    enum ferry_xt_ext_kind kind;
    enum shape extra;
    enum shape additional;
};

static const struct known_ext KNOWN[] = {
    {"CheckSpecVersion", FERRY_XT_EXT_SPEC_VERSION, SHAPE_EMPTY, SHAPE_U32},
    {"CheckTxVersion", FERRY_XT_EXT_TX_VERSION, SHAPE_EMPTY, SHAPE_U32},
    {"CheckGenesis", FERRY_XT_EXT_GENESIS, SHAPE_EMPTY, SHAPE_HASH},
    {"CheckMortality", FERRY_XT_EXT_MORTALITY, SHAPE_ANY, SHAPE_HASH},
    {"CheckEra", FERRY_XT_EXT_MORTALITY, SHAPE_ANY, SHAPE_HASH},
    {"CheckNonce", FERRY_XT_EXT_NONCE, SHAPE_ANY, SHAPE_EMPTY},
    {"CheckWeight", FERRY_XT_EXT_EMPTY, SHAPE_EMPTY, SHAPE_EMPTY},
    {"ChargeTransactionPayment", FERRY_XT_EXT_TIP, SHAPE_ANY, SHAPE_EMPTY},
    {"ChargeAssetTxPayment", FERRY_XT_EXT_ASSET_TIP, SHAPE_ANY, SHAPE_EMPTY},
    {"CheckMetadataHash", FERRY_XT_EXT_METADATA_HASH, SHAPE_ANY, SHAPE_ANY},
};

/* Follow single-field composites (newtypes such as H256 or CheckSpecVersion's wrapper).
 * Returns: the innermost type, or NULL for an unknown id. */
static const struct ferry_md_type *unwrap(const struct ferry_metadata *md, uint32_t id)
{
    const struct ferry_md_type *t = ferry_md_type(md, id);
    for (int depth = 0; t && depth < FERRY_MD_MAX_DEPTH; depth++) {
        if (t->kind == FERRY_MD_COMPOSITE && t->n_fields == 1)
            t = ferry_md_type(md, t->fields[0].type);
        else if (t->kind == FERRY_MD_TUPLE && t->n_tuple == 1)
            t = ferry_md_type(md, t->tuple[0]);
        else
            break;
    }
    return t;
}

/* Types one emptiness check may visit. The depth limit alone is not enough: a hostile registry
 * can make a type a DAG (type i = (i+1, i+1)) with 2^64 paths. Real empty types need a handful. */
#define EMPTY_VISITS 1024

/* Returns: true when type id encodes to nothing whatever its value (a composite or tuple whose
 * members are all empty, an array of length 0 or of empty items); false too when the walk runs
 * out of *visits (not provably empty: the caller refuses rather than guesses). */
static bool walk_empty(const struct ferry_metadata *md, uint32_t id, int depth, unsigned *visits)
{
    const struct ferry_md_type *t = ferry_md_type(md, id);
    if (!t || depth > FERRY_MD_MAX_DEPTH || *visits == 0)
        return false;
    (*visits)--;
    switch (t->kind) {
    case FERRY_MD_COMPOSITE:
        for (size_t i = 0; i < t->n_fields; i++)
            if (!walk_empty(md, t->fields[i].type, depth + 1, visits))
                return false;
        return true;
    case FERRY_MD_TUPLE:
        for (size_t i = 0; i < t->n_tuple; i++)
            if (!walk_empty(md, t->tuple[i], depth + 1, visits))
                return false;
        return true;
    case FERRY_MD_ARRAY:
        return t->array_len == 0 || walk_empty(md, t->elem, depth + 1, visits);
    default:
        return false;
    }
}

static bool type_is_empty(const struct ferry_metadata *md, uint32_t id)
{
    unsigned visits = EMPTY_VISITS;
    return walk_empty(md, id, 0, &visits);
}

static bool shape_ok(const struct ferry_metadata *md, uint32_t id, enum shape s)
{
    const struct ferry_md_type *t;
    switch (s) {
    case SHAPE_EMPTY:
        return type_is_empty(md, id);
    case SHAPE_U32:
        t = unwrap(md, id);
        return t && t->kind == FERRY_MD_PRIMITIVE && t->prim == FERRY_MD_U32;
    case SHAPE_HASH:
        t = unwrap(md, id);
        if (!t || t->kind != FERRY_MD_ARRAY || t->array_len != 32)
            return false;
        t = ferry_md_type(md, t->elem);
        return t && t->kind == FERRY_MD_PRIMITIVE && t->prim == FERRY_MD_U8;
    case SHAPE_ANY:
        return ferry_md_type(md, id) != NULL;
    }
    return false;
}

/* Extra shapes that SHAPE_ANY leaves loose, checked per kind. */
static bool kind_extra_ok(const struct ferry_metadata *md, enum ferry_xt_ext_kind kind,
                          uint32_t extra, uint32_t additional)
{
    const struct ferry_md_type *t;
    switch (kind) {
    case FERRY_XT_EXT_NONCE:
    case FERRY_XT_EXT_TIP:
        t = unwrap(md, extra);
        return t && t->kind == FERRY_MD_COMPACT;
    case FERRY_XT_EXT_ASSET_TIP:
        /* {tip: Compact<Balance>, asset_id: Option<AssetId>} */
        t = ferry_md_type(md, extra);
        if (!t || t->kind != FERRY_MD_COMPOSITE || t->n_fields != 2)
            return false;
        {
            const struct ferry_md_type *tip = unwrap(md, t->fields[0].type);
            const struct ferry_md_type *opt = ferry_md_type(md, t->fields[1].type);
            return tip && tip->kind == FERRY_MD_COMPACT && opt && opt->kind == FERRY_MD_VARIANT &&
                   opt->n_path > 0 && strcmp(opt->path[opt->n_path - 1], "Option") == 0;
        }
    case FERRY_XT_EXT_MORTALITY:
        t = unwrap(md, extra);
        return t && t->kind == FERRY_MD_VARIANT && t->n_path > 0 &&
               strcmp(t->path[t->n_path - 1], "Era") == 0;
    case FERRY_XT_EXT_METADATA_HASH: {
        /* extra {mode: Mode{Disabled = 0, Enabled = 1}}, additional Option<[u8; 32]> */
        t = unwrap(md, extra);
        if (!t || t->kind != FERRY_MD_VARIANT)
            return false;
        bool disabled = false;
        for (size_t i = 0; i < t->n_variants; i++)
            if (t->variants[i].index == 0 && t->variants[i].n_fields == 0)
                disabled = true;
        const struct ferry_md_type *a = ferry_md_type(md, additional);
        return disabled && a && a->kind == FERRY_MD_VARIANT && a->n_path > 0 &&
               strcmp(a->path[a->n_path - 1], "Option") == 0;
    }
    default:
        return true;
    }
}

void ferry_xt_format_default(struct ferry_xt_format *f)
{
    static const struct {
        const char *id;
        enum ferry_xt_ext_kind kind;
    } list[] = {
        {"CheckNonZeroSender", FERRY_XT_EXT_EMPTY},
        {"CheckSpecVersion", FERRY_XT_EXT_SPEC_VERSION},
        {"CheckTxVersion", FERRY_XT_EXT_TX_VERSION},
        {"CheckGenesis", FERRY_XT_EXT_GENESIS},
        {"CheckMortality", FERRY_XT_EXT_MORTALITY},
        {"CheckNonce", FERRY_XT_EXT_NONCE},
        {"CheckWeight", FERRY_XT_EXT_EMPTY},
        {"ChargeTransactionPayment", FERRY_XT_EXT_TIP},
    };
    memset(f, 0, sizeof *f);
    f->multi_address = true;
    f->address_id = 0;
    f->multi_signature = true;
    f->sig_ed25519 = 0;
    f->sig_sr25519 = 1;
    f->sig_ecdsa = 2;
    f->n_ext = sizeof list / sizeof list[0];
    for (size_t i = 0; i < f->n_ext; i++) {
        snprintf(f->ext[i].identifier, sizeof f->ext[i].identifier, "%s", list[i].id);
        f->ext[i].kind = list[i].kind;
    }
}

static ferry_err failf(struct ferry_reason *why, ferry_err err, const char *fmt, const char *arg)
{
    return ferry_reason_set(why, err, fmt, arg);
}

/* Returns: the type id of the UncheckedExtrinsic type parameter named `name`, or false. */
static bool extrinsic_param(const struct ferry_metadata *md, const struct ferry_md_extrinsic *x,
                            const char *name, uint32_t *out)
{
    if (x->has_types) {
        if (strcmp(name, "Address") == 0)
            *out = x->address_type;
        else if (strcmp(name, "Signature") == 0)
            *out = x->signature_type;
        else
            return false;
        return true;
    }
    if (!x->has_type)
        return false;
    const struct ferry_md_type *t = ferry_md_type(md, x->type);
    if (!t)
        return false;
    for (size_t i = 0; i < t->n_params; i++) {
        if (t->params[i].name && strcmp(t->params[i].name, name) == 0 && t->params[i].has_type) {
            *out = t->params[i].type;
            return true;
        }
    }
    return false;
}

static int variant_index(const struct ferry_md_type *t, const char *name, size_t payload)
{
    for (size_t i = 0; i < t->n_variants; i++) {
        const struct ferry_md_variant *v = &t->variants[i];
        if (strcmp(v->name, name) == 0)
            return v->n_fields == 1 ? v->index : -1;
    }
    (void)payload;
    return -1;
}

static ferry_err address_format(const struct ferry_metadata *md, uint32_t id,
                                struct ferry_xt_format *f, struct ferry_reason *why)
{
    const struct ferry_md_type *t = ferry_md_type(md, id);
    if (t && t->kind == FERRY_MD_VARIANT) {
        for (size_t i = 0; i < t->n_variants; i++) {
            const struct ferry_md_variant *v = &t->variants[i];
            if (strcmp(v->name, "Id") == 0 && v->n_fields == 1 &&
                shape_ok(md, v->fields[0].type, SHAPE_HASH)) {
                f->multi_address = true;
                f->address_id = v->index;
                return FERRY_OK;
            }
        }
        return failf(why, FERRY_E_UNSUPPORTED,
                     "the runtime's address type has no Id([u8; 32]) variant%s", "");
    }
    if (shape_ok(md, id, SHAPE_HASH)) {
        f->multi_address = false;
        return FERRY_OK;
    }
    return failf(why, FERRY_E_UNSUPPORTED,
                 "the runtime's address type is neither a MultiAddress nor an AccountId32%s", "");
}

static ferry_err signature_format(const struct ferry_metadata *md, uint32_t id,
                                  struct ferry_xt_format *f, struct ferry_reason *why)
{
    const struct ferry_md_type *t = ferry_md_type(md, id);
    if (t && t->kind == FERRY_MD_VARIANT) {
        f->multi_signature = true;
        f->sig_ed25519 = variant_index(t, "Ed25519", 64);
        f->sig_sr25519 = variant_index(t, "Sr25519", 64);
        f->sig_ecdsa = variant_index(t, "Ecdsa", 65);
        if (f->sig_ed25519 < 0 && f->sig_sr25519 < 0 && f->sig_ecdsa < 0)
            return failf(why, FERRY_E_UNSUPPORTED,
                         "the runtime's signature type has no Sr25519, Ed25519 or Ecdsa "
                         "variant%s",
                         "");
        return FERRY_OK;
    }
    return failf(why, FERRY_E_UNSUPPORTED,
                 "the runtime's signature type is not a MultiSignature enum%s", "");
}

ferry_err ferry_xt_format_from_metadata(const struct ferry_metadata *md, struct ferry_xt_format *f,
                                        struct ferry_reason *why)
{
    memset(f, 0, sizeof *f);
    f->sig_ed25519 = f->sig_sr25519 = f->sig_ecdsa = -1;
    const struct ferry_md_extrinsic *x = ferry_md_extrinsic(md);
    if (x->version != 4) {
        char v[8];
        snprintf(v, sizeof v, "%u", x->version);
        return failf(why, FERRY_E_UNSUPPORTED, "extrinsic version %s is not supported (only 4)", v);
    }
    uint32_t addr, sig;
    if (!extrinsic_param(md, x, "Address", &addr) || !extrinsic_param(md, x, "Signature", &sig))
        return failf(why, FERRY_E_UNSUPPORTED,
                     "the metadata does not name the extrinsic's address and signature types%s",
                     "");
    ferry_err err = address_format(md, addr, f, why);
    if (!err)
        err = signature_format(md, sig, f, why);
    if (err)
        return err;
    if (x->n_signed_ext > FERRY_XT_MAX_EXT)
        return failf(why, FERRY_E_TOO_LARGE, "more than %s signed extensions", "32");
    f->n_ext = x->n_signed_ext;
    for (size_t i = 0; i < x->n_signed_ext; i++) {
        const struct ferry_md_signed_ext *se = &x->signed_ext[i];
        struct ferry_xt_ext *out = &f->ext[i];
        snprintf(out->identifier, sizeof out->identifier, "%s", se->identifier);
        const struct known_ext *k = NULL;
        for (size_t j = 0; j < sizeof KNOWN / sizeof KNOWN[0]; j++)
            if (strcmp(KNOWN[j].identifier, se->identifier) == 0)
                k = &KNOWN[j];
        if (!k) {
            if (type_is_empty(md, se->type) && type_is_empty(md, se->additional_signed)) {
                out->kind = FERRY_XT_EXT_EMPTY;
                continue;
            }
            return failf(why, FERRY_E_UNSUPPORTED,
                         "signed extension %s is unknown to ferry and not empty: refusing to "
                         "guess its encoding",
                         se->identifier);
        }
        if (!shape_ok(md, se->type, k->extra) ||
            !shape_ok(md, se->additional_signed, k->additional) ||
            !kind_extra_ok(md, k->kind, se->type, se->additional_signed))
            return failf(why, FERRY_E_UNSUPPORTED,
                         "signed extension %s has types ferry does not expect for it",
                         se->identifier);
        out->kind = k->kind;
    }
    return FERRY_OK;
}

/* ---- building ---------------------------------------------------------------------------------
 */

ferry_err ferry_xt_encode_extensions(const struct ferry_xt_format *f,
                                     const struct ferry_xt_params *p,
                                     struct ferry_scale_writer *extra,
                                     struct ferry_scale_writer *additional)
{
    for (size_t i = 0; i < f->n_ext; i++) {
        switch (f->ext[i].kind) {
        case FERRY_XT_EXT_EMPTY:
            break;
        case FERRY_XT_EXT_SPEC_VERSION:
            ferry_scale_put_u32(additional, p->spec_version);
            break;
        case FERRY_XT_EXT_TX_VERSION:
            ferry_scale_put_u32(additional, p->tx_version);
            break;
        case FERRY_XT_EXT_GENESIS:
            ferry_scale_put_bytes(additional, p->genesis_hash, 32);
            break;
        case FERRY_XT_EXT_MORTALITY:
            ferry_era_encode(&p->era, extra);
            ferry_scale_put_bytes(additional, p->era.immortal ? p->genesis_hash : p->birth_hash,
                                  32);
            break;
        case FERRY_XT_EXT_NONCE:
            ferry_scale_put_compact(extra, p->nonce);
            break;
        case FERRY_XT_EXT_TIP:
            ferry_scale_put_compact_u128(extra, p->tip);
            break;
        case FERRY_XT_EXT_ASSET_TIP:
            ferry_scale_put_compact_u128(extra, p->tip);
            ferry_scale_put_u8(extra, 0); /* asset id: None (pay in the native token) */
            break;
        case FERRY_XT_EXT_METADATA_HASH:
            ferry_scale_put_u8(extra, 0);      /* mode: Disabled */
            ferry_scale_put_u8(additional, 0); /* metadata hash: None */
            break;
        }
    }
    if (ferry_scale_writer_error(extra) || ferry_scale_writer_error(additional))
        return FERRY_E_NOMEM;
    return FERRY_OK;
}

ferry_err ferry_xt_signing_message(const uint8_t *call, size_t call_len, const uint8_t *extra,
                                   size_t extra_len, const uint8_t *additional,
                                   size_t additional_len, uint8_t **msg, size_t *msg_len)
{
    *msg = NULL;
    *msg_len = 0;
    size_t n = call_len + extra_len + additional_len;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return FERRY_E_NOMEM;
    if (call_len)
        memcpy(buf, call, call_len);
    if (extra_len)
        memcpy(buf + call_len, extra, extra_len);
    if (additional_len)
        memcpy(buf + call_len + extra_len, additional, additional_len);
    if (n > FERRY_XT_PAYLOAD_HASH_OVER) {
        uint8_t h[32];
        ferry_blake2b_256(h, buf, n);
        memcpy(buf, h, 32);
        n = 32;
    }
    *msg = buf;
    *msg_len = n;
    return FERRY_OK;
}

ferry_err ferry_xt_assemble(const struct ferry_xt_format *f, const uint8_t account[32],
                            enum ferry_scheme scheme, const uint8_t *sig, size_t sig_len,
                            const uint8_t *extra, size_t extra_len, const uint8_t *call,
                            size_t call_len, uint8_t **xt, size_t *xt_len)
{
    *xt = NULL;
    *xt_len = 0;
    int variant;
    size_t want;
    if (scheme == FERRY_SCHEME_ECDSA) {
        variant = f->sig_ecdsa;
        want = FERRY_ECDSA_SIG_LEN;
    } else if (scheme == FERRY_SCHEME_SR25519) {
        variant = f->sig_sr25519;
        want = FERRY_SR25519_SIGNATURE_LEN;
    } else {
        variant = f->sig_ed25519;
        want = FERRY_ED25519_SIG_LEN;
    }
    if (f->multi_signature && variant < 0)
        return FERRY_E_UNSUPPORTED;
    if (!f->multi_signature && scheme != FERRY_SCHEME_ED25519)
        return FERRY_E_UNSUPPORTED;
    if (sig_len != want)
        return FERRY_E_ARG;

    struct ferry_scale_writer body;
    ferry_scale_writer_init(&body);
    ferry_scale_put_u8(&body, 0x84); /* signed, version 4 */
    if (f->multi_address)
        ferry_scale_put_u8(&body, f->address_id);
    ferry_scale_put_bytes(&body, account, 32);
    if (f->multi_signature)
        ferry_scale_put_u8(&body, (uint8_t)variant);
    ferry_scale_put_bytes(&body, sig, sig_len);
    ferry_scale_put_bytes(&body, extra, extra_len);
    ferry_scale_put_bytes(&body, call, call_len);

    struct ferry_scale_writer w;
    ferry_scale_writer_init(&w);
    ferry_scale_put_byte_vec(&w, body.buf, body.len);
    bool oom = ferry_scale_writer_error(&body) != FERRY_OK;
    ferry_scale_writer_free(&body);
    if (oom || ferry_scale_writer_error(&w)) {
        ferry_scale_writer_free(&w);
        return FERRY_E_NOMEM;
    }
    *xt = ferry_scale_writer_take(&w, xt_len);
    return *xt ? FERRY_OK : FERRY_E_NOMEM;
}

ferry_err ferry_xt_sign(const struct ferry_xt_format *f, const struct ferry_keypair *kp,
                        const struct ferry_xt_params *params, const uint8_t *call, size_t call_len,
                        uint8_t **xt, size_t *xt_len, uint8_t hash[32])
{
    *xt = NULL;
    *xt_len = 0;
    struct ferry_scale_writer extra, additional;
    ferry_scale_writer_init(&extra);
    ferry_scale_writer_init(&additional);
    uint8_t *msg = NULL;
    size_t msg_len = 0;
    ferry_err err = ferry_xt_encode_extensions(f, params, &extra, &additional);
    if (!err)
        err = ferry_xt_signing_message(call, call_len, extra.buf, extra.len, additional.buf,
                                       additional.len, &msg, &msg_len);
    uint8_t sig[FERRY_SIG_MAX];
    size_t sig_len = 0;
    if (!err)
        err = ferry_keypair_sign(kp, msg, msg_len, sig, &sig_len);
    free(msg);
    if (!err) {
        uint8_t account[32];
        ferry_keypair_account_id(kp, account);
        err = ferry_xt_assemble(f, account, kp->scheme, sig, sig_len, extra.buf, extra.len, call,
                                call_len, xt, xt_len);
    }
    if (!err)
        ferry_blake2b_256(hash, *xt, *xt_len);
    ferry_scale_writer_free(&extra);
    ferry_scale_writer_free(&additional);
    return err;
}

ferry_err ferry_xt_build_call(const struct ferry_metadata *md, const struct ferry_keypair *kp,
                              const struct ferry_xt_params *params, const char *dotted,
                              const struct cJSON *args_json, uint8_t **xt, size_t *xt_len,
                              uint8_t hash[32], struct ferry_reason *why)
{
    *xt = NULL;
    *xt_len = 0;
    struct ferry_xt_format f;
    ferry_err err = ferry_xt_format_from_metadata(md, &f, why);
    if (err)
        return err;
    struct ferry_scale_writer call;
    ferry_scale_writer_init(&call);
    err = ferry_md_encode_call(md, dotted, args_json, &call, why);
    if (!err) {
        err = ferry_xt_sign(&f, kp, params, call.buf, call.len, xt, xt_len, hash);
        if (err)
            ferry_reason_set(why, err, "cannot sign %s: %s%s", dotted, ferry_strerror(err),
                             err == FERRY_E_UNSUPPORTED
                                 ? " (the runtime has no signature variant for "
                                   "this key's scheme)"
                                 : "");
    }
    ferry_scale_writer_free(&call);
    return err;
}

/* ---- decoding ---------------------------------------------------------------------------------
 */

static ferry_err decode_address(const struct ferry_xt_format *f, struct ferry_scale_reader *r,
                                struct ferry_xt_decoded *out)
{
    if (!f->multi_address) {
        out->address_kind = FERRY_XT_ADDR_ID;
        out->address_len = 32;
        return ferry_scale_bytes(r, 32, &out->address);
    }
    uint8_t tag;
    ferry_err err = ferry_scale_u8(r, &tag);
    if (err)
        return err;
    switch (tag) {
    case 0:
        out->address_kind = FERRY_XT_ADDR_ID;
        out->address_len = 32;
        return ferry_scale_bytes(r, 32, &out->address);
    case 1:
        out->address_kind = FERRY_XT_ADDR_INDEX;
        return ferry_scale_compact_u32(r, &out->address_index);
    case 2:
        out->address_kind = FERRY_XT_ADDR_RAW;
        return ferry_scale_byte_vec(r, &out->address, &out->address_len);
    case 3:
        out->address_kind = FERRY_XT_ADDR_ADDRESS32;
        out->address_len = 32;
        return ferry_scale_bytes(r, 32, &out->address);
    case 4:
        out->address_kind = FERRY_XT_ADDR_ADDRESS20;
        out->address_len = 20;
        return ferry_scale_bytes(r, 20, &out->address);
    default:
        return ferry_scale_fail(r, FERRY_E_INVALID, "unknown MultiAddress variant");
    }
}

static ferry_err decode_signature(const struct ferry_xt_format *f, struct ferry_scale_reader *r,
                                  struct ferry_xt_decoded *out)
{
    if (!f->multi_signature) {
        out->sig_variant = -1;
        out->signature_len = 64;
        return ferry_scale_bytes(r, 64, &out->signature);
    }
    uint8_t tag;
    ferry_err err = ferry_scale_u8(r, &tag);
    if (err)
        return err;
    out->sig_variant = tag;
    if ((int)tag == f->sig_ed25519 || (int)tag == f->sig_sr25519)
        out->signature_len = 64;
    else if ((int)tag == f->sig_ecdsa)
        out->signature_len = 65;
    else
        return ferry_scale_fail(r, FERRY_E_INVALID, "unknown MultiSignature variant");
    return ferry_scale_bytes(r, out->signature_len, &out->signature);
}

static ferry_err decode_extra(const struct ferry_xt_format *f, struct ferry_scale_reader *r,
                              struct ferry_xt_decoded *out)
{
    ferry_err err = FERRY_OK;
    for (size_t i = 0; !err && i < f->n_ext; i++) {
        switch (f->ext[i].kind) {
        case FERRY_XT_EXT_MORTALITY:
            out->has_era = true;
            err = ferry_era_decode(r, &out->era);
            break;
        case FERRY_XT_EXT_NONCE:
            out->has_nonce = true;
            err = ferry_scale_compact_u64(r, &out->nonce);
            break;
        case FERRY_XT_EXT_TIP:
            out->has_tip = true;
            err = ferry_scale_compact_u128(r, &out->tip);
            break;
        case FERRY_XT_EXT_ASSET_TIP:
            out->has_tip = true;
            err = ferry_scale_compact_u128(r, &out->tip);
            if (!err)
                err = ferry_scale_option(r, &out->asset_id_present);
            if (!err && out->asset_id_present)
                err = ferry_scale_fail(r, FERRY_E_UNSUPPORTED,
                                       "asset id in ChargeAssetTxPayment (type unknown here)");
            break;
        case FERRY_XT_EXT_METADATA_HASH:
            err = ferry_scale_u8(r, &out->metadata_hash_mode);
            if (!err && out->metadata_hash_mode > 1)
                err = ferry_scale_fail(r, FERRY_E_INVALID, "bad CheckMetadataHash mode");
            break;
        default:
            break;
        }
    }
    return err;
}

ferry_err ferry_xt_decode(const struct ferry_xt_format *f, const uint8_t *buf, size_t len,
                          struct ferry_xt_decoded *out, struct ferry_scale_reader *diag)
{
    struct ferry_scale_reader local;
    struct ferry_scale_reader *r = diag ? diag : &local;
    memset(out, 0, sizeof *out);
    ferry_scale_reader_init(r, buf, len);
    uint32_t body_len;
    ferry_err err = ferry_scale_compact_u32(r, &body_len);
    if (err)
        return err;
    if (body_len != ferry_scale_remaining(r))
        return ferry_scale_fail(r, FERRY_E_INVALID, "length prefix does not match the input");
    uint8_t vb;
    if ((err = ferry_scale_u8(r, &vb)) != FERRY_OK)
        return err;
    out->version = vb & 0x7f;
    out->is_signed = (vb & 0x80) != 0;
    if (out->version != 4)
        return ferry_scale_fail(r, FERRY_E_UNSUPPORTED, "extrinsic version is not 4");
    if (out->is_signed) {
        err = decode_address(f, r, out);
        if (!err)
            err = decode_signature(f, r, out);
        size_t extra_start = r->pos;
        if (!err)
            err = decode_extra(f, r, out);
        if (err)
            return err;
        out->extra = buf + extra_start;
        out->extra_len = r->pos - extra_start;
    }
    size_t rest = ferry_scale_remaining(r);
    if (rest < 2)
        return ferry_scale_fail(r, FERRY_E_TRUNCATED, "call shorter than its two index bytes");
    out->call = buf + r->pos;
    out->call_len = rest;
    err = ferry_scale_skip(r, rest);
    if (!err)
        err = ferry_scale_finish(r);
    return err;
}
