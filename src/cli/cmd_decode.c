/* `ferry decode`: turn SCALE bytes into readable values (compact integers, headers). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferry/digest.h"
#include "ferry/header.h"
#include "ferry/scale.h"
#include "src/cli/cli.h"
#include "src/cli/decode_chain.h"

extern const struct cli_command cli_cmd_decode;

static int decode_compact(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(&cli_cmd_decode, "compact takes exactly one 0x… argument");
    uint8_t *bytes;
    size_t len;
    if (cli_hex_arg(argv[1], &bytes, &len)) {
        cli_errorf("decode compact: argument is not 0x-prefixed hex");
        return CLI_INVALID;
    }
    struct ferry_scale_reader r;
    struct ferry_u128 v;
    ferry_scale_reader_init(&r, bytes, len);
    ferry_err err = ferry_scale_compact_u128(&r, &v);
    if (!err)
        err = ferry_scale_finish(&r);
    free(bytes);
    if (err) {
        char why[128];
        cli_errorf("decode compact: %s", ferry_scale_describe(&r, why, sizeof why));
        return CLI_INVALID;
    }
    char dec[40];
    puts(ferry_u128_to_string(v, dec));
    return CLI_OK;
}

static int decode_header(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error(&cli_cmd_decode, "header takes one argument: 0x…, JSON or -");
    char *text;
    size_t text_len;
    if (cli_read_arg(argv[1], &text, &text_len)) {
        cli_errorf("decode header: cannot read %s", argv[1]);
        return CLI_NET;
    }
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    uint8_t *bytes = NULL;
    size_t len = 0;
    ferry_err err;
    struct ferry_reason why = {""};
    if (*s == '{') {
        err = ferry_header_json_to_scale(s, &bytes, &len, &why);
    } else {
        err = cli_hex_arg(s, &bytes, &len);
        if (err)
            ferry_reason_set(&why, err, "input is neither 0x-prefixed hex nor a JSON header");
    }
    free(text);
    if (err) {
        cli_errorf("decode header: %s", why.text[0] ? why.text : ferry_strerror(err));
        return CLI_INVALID;
    }
    struct ferry_header h;
    struct ferry_scale_reader r;
    err = ferry_header_decode(&h, bytes, len, &r);
    free(bytes);
    if (err) {
        char msg[128];
        cli_errorf("decode header: %s", ferry_scale_describe(&r, msg, sizeof msg));
        return CLI_INVALID;
    }
    cJSON *json = ferry_header_json(&h);
    ferry_header_free(&h);
    return cli_print_json(json);
}

static int run(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error(&cli_cmd_decode, "missing what to decode (compact or header)");
    if (strcmp(argv[1], "compact") == 0)
        return decode_compact(argc - 1, argv + 1);
    if (strcmp(argv[1], "header") == 0)
        return decode_header(argc - 1, argv + 1);
    if (strcmp(argv[1], "events") == 0)
        return cli_decode_events(argc - 1, argv + 1);
    if (strcmp(argv[1], "storage") == 0)
        return cli_decode_storage(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_decode, "unknown kind '%s'", argv[1]);
}

const struct cli_command cli_cmd_decode = {
    "decode",
    "decode SCALE data: compact integers, headers, a block's events, storage values",
    run,
    "usage: ferry decode compact <0xhex>\n"
    "       ferry decode header <0xhex | JSON | @FILE | ->\n"
    "       ferry decode events --url URL [--at 0xHASH|N]\n"
    "       ferry decode storage --url URL <Pallet> <Item> [key-json …] [--at 0xHASH|N]\n"
    "\n"
    "compact  prints the decimal value of a SCALE Compact integer (up to u128). The input\n"
    "         must be exactly one canonical compact: an over-long mode, a zero top byte in big\n"
    "         mode, truncation or trailing bytes exit 1 with the reason.\n"
    "header   prints one JSON object: hash, parentHash, number, stateRoot, extrinsicsRoot,\n"
    "         digest (type, engine, data and, where understood, decoded) and encoded (the\n"
    "         SCALE bytes). Input is SCALE hex, the JSON header of chain_getHeader (or a\n"
    "         JSON-RPC response holding one), @FILE, or - for stdin.\n"
    "events   prints {block, number, spec_version, events: [{phase, pallet, event, fields,\n"
    "         topics}]} for a block (default: best), decoded with the metadata of the runtime\n"
    "         that executed it (the parent's).\n"
    "storage  prints the decoded value of a storage item; map keys are JSON (non-JSON text is\n"
    "         a string), hashed with the entry's hashers; an absent value prints the default\n"
    "         (or null for optional items).\n"
    "\n"
    "exit status: 0 success, 1 invalid input, 2 usage error, 3 I/O error.\n",
    NULL,
};
