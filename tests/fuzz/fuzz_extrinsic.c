/* Fuzz target: the structural extrinsic decoder (ferry_xt_decode) over arbitrary bytes, with the
 * default layout and with the pre-MultiAddress / bare-signature layout picked by the first byte,
 * and ferry_era_decode. A decoded signed extrinsic must re-assemble to the same bytes when it
 * carries an Id address and a 64/65-byte signature (the decoder and the assembler agree). */
#include <stdlib.h>
#include <string.h>

#include "ferry/extrinsic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct ferry_xt_format f;
    ferry_xt_format_default(&f);
    f.multi_address = !(data[0] & 1);
    f.multi_signature = !(data[0] & 2);
    data++;
    size--;

    struct ferry_scale_reader r;
    struct ferry_era era;
    ferry_scale_reader_init(&r, data, size);
    (void)ferry_era_decode(&r, &era);

    struct ferry_xt_decoded d;
    if (ferry_xt_decode(&f, data, size, &d, NULL) != FERRY_OK || !d.is_signed)
        return 0;
    /* sr25519 cannot be assembled (ferry does not sign with it); other addresses neither */
    if (d.address_kind != FERRY_XT_ADDR_ID || d.sig_variant == f.sig_sr25519)
        return 0;
    enum ferry_scheme scheme = d.signature_len == 65 ? FERRY_SCHEME_ECDSA : FERRY_SCHEME_ED25519;
    uint8_t *xt = NULL;
    size_t len = 0;
    if (ferry_xt_assemble(&f, d.address, scheme, d.signature, d.signature_len, d.extra, d.extra_len,
                          d.call, d.call_len, &xt, &len) != FERRY_OK)
        abort();
    if (len != size || memcmp(xt, data, size) != 0)
        abort();
    free(xt);
    return 0;
}
