/* `ferry message send|replies`: talk to a ferry-worker through the chain.
 *
 * send: seal PAYLOAD in the envelope of docs/messages.md to the worker's ECDH key and submit
 * PhalaMq.push_message(topic "ferry/worker/<hex pk>", envelope) with the extrinsic client. The
 * envelope session (ephemeral public key and shared key) is appended to <key-file>.sessions
 * (mode 0600) so that `replies` can read the answers.
 * replies: scan PhalaMq.OutboundMessages over a block range for messages on the reply topics
 * "ferry/reply/<hex ephemeral pk>" of the saved sessions and decrypt them. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/hash.h"
#include "ferry/hex.h"
#include "ferry/keys.h"
#include "ferry/msgcrypt.h"
#include "ferry/rpc.h"
#include "ferry/scale.h"
#include "ferry/tx.h"
#include "ferry/workerapi.h"
#include "src/cli/cli.h"
#include "src/cli/decode_chain.h"

extern const struct cli_command cli_cmd_message;

#define MAX_SESSIONS 4096

struct msg_args {
    const char *url, *key_file, *worker, *ecdh, *payload;
    enum ferry_scheme scheme;
    uint64_t from, to;
    bool has_from, has_to;
};

static int parse(int argc, char **argv, struct msg_args *a, bool send)
{
    memset(a, 0, sizeof *a);
    a->scheme = FERRY_SCHEME_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--url") && v)
            a->url = argv[++i];
        else if (!strcmp(o, "--key-file") && v)
            a->key_file = argv[++i];
        else if (send && !strcmp(o, "--worker") && v)
            a->worker = argv[++i];
        else if (send && !strcmp(o, "--ecdh") && v)
            a->ecdh = argv[++i];
        else if (send && !strcmp(o, "--scheme") && v) {
            if (ferry_scheme_parse(argv[++i], &a->scheme))
                return cli_usage_error(&cli_cmd_message,
                                       "--scheme takes sr25519, ed25519 or ecdsa");
        } else if (!send && !strcmp(o, "--from") && v) {
            if (!cli_parse_u64(argv[++i], UINT32_MAX, &a->from))
                return cli_usage_error(&cli_cmd_message, "--from takes a block number");
            a->has_from = true;
        } else if (!send && !strcmp(o, "--to") && v) {
            if (!cli_parse_u64(argv[++i], UINT32_MAX, &a->to))
                return cli_usage_error(&cli_cmd_message, "--to takes a block number");
            a->has_to = true;
        } else if (send && o[0] != '-' && !a->payload)
            a->payload = o;
        else
            return cli_usage_error(&cli_cmd_message, "unexpected argument %s", o);
    }
    if (!a->url || !a->key_file)
        return cli_usage_error(&cli_cmd_message, "--url and --key-file are required");
    if (send && (!a->worker || !a->payload))
        return cli_usage_error(&cli_cmd_message, "send needs --worker PUBKEY and PAYLOAD");
    return CLI_OK;
}

static char *sessions_path(const char *key_file)
{
    size_t n = strlen(key_file) + 10;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s.sessions", key_file);
    return p;
}

/* The worker's ECDH key from PhalaRegistry.Workers(pk): WorkerInfoV2 starts with
 * pubkey[32] ‖ ecdh_pubkey[32]. */
static int ecdh_from_chain(struct ferry_rpc *c, const uint8_t pk[32], uint8_t ecdh[32])
{
    uint8_t key[72];
    ferry_storage_prefix(key, "PhalaRegistry", "Workers");
    ferry_twox64(key + 32, pk, 32);
    memcpy(key + 40, pk, 32);
    uint8_t *v = NULL;
    size_t vl = 0;
    ferry_err err = ferry_rpc_get_storage(c, key, sizeof key, NULL, &v, &vl, NULL);
    if (err == FERRY_E_NOT_FOUND) {
        cli_errorf("message send: the worker is not registered on chain; pass --ecdh PUBKEY "
                   "(GetInfo's ecdh_public_key, `ferry worker info`)");
        return CLI_INVALID;
    }
    if (err) {
        cli_errorf("message send: reading PhalaRegistry.Workers: %s", ferry_strerror(err));
        return CLI_NET;
    }
    if (vl < 64 || memcmp(v, pk, 32) != 0) {
        free(v);
        cli_errorf("message send: PhalaRegistry.Workers value is not a WorkerInfoV2");
        return CLI_INVALID;
    }
    memcpy(ecdh, v + 32, 32);
    free(v);
    return CLI_OK;
}

static int load_key(const char *path, enum ferry_scheme scheme, struct ferry_keypair *kp)
{
    struct ferry_reason why = {""};
    ferry_err err = ferry_keyfile_load(path, scheme, kp, &why);
    if (err) {
        cli_errorf("message: key file %s: %s", path, why.text[0] ? why.text : ferry_strerror(err));
        return err == FERRY_E_IO ? CLI_NET : CLI_INVALID;
    }
    return CLI_OK;
}

static int send_cmd(int argc, char **argv)
{
    struct msg_args a;
    int rc = parse(argc, argv, &a, true);
    if (rc)
        return rc;
    uint8_t pk[32], ecdh[32];
    if (ferry_hex_decode_exact(a.worker, pk, 32))
        return cli_usage_error(&cli_cmd_message, "--worker takes a 32-byte hex public key");
    if (a.ecdh && ferry_hex_decode_exact(a.ecdh, ecdh, 32))
        return cli_usage_error(&cli_cmd_message, "--ecdh takes a 32-byte hex public key");
    struct ferry_keypair kp;
    memset(&kp, 0, sizeof kp);
    if ((rc = load_key(a.key_file, a.scheme, &kp)))
        return rc;
    struct ferry_rpc *c = NULL;
    struct ferry_tx_client *tc = NULL;
    uint8_t *env = NULL;
    char *path = NULL;
    cJSON *args = NULL;
    struct ferry_envelope_session ses;
    memset(&ses, 0, sizeof ses);
    rc = cli_chain_connect("message send", a.url, 30, &c);
    if (rc)
        goto out;
    if (!a.ecdh && (rc = ecdh_from_chain(c, pk, ecdh)))
        goto out;
    size_t n = strlen(a.payload), el = 0;
    env = malloc(n + FERRY_ENVELOPE_OVERHEAD);
    struct ferry_reason why = {{0}};
    if (!env || ferry_envelope_seal(&ses, env, n + FERRY_ENVELOPE_OVERHEAD, &el, ecdh,
                                    (const uint8_t *)a.payload, n, &why)) {
        cli_errorf("message send: %s", why.text[0] ? why.text : "cannot seal the envelope");
        rc = CLI_INVALID;
        goto out;
    }
    /* Keep the session before submitting: a reply may come before we print. */
    path = sessions_path(a.key_file);
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
    char eh[67], kh[67], line[160];
    ferry_hex_encode(ses.ephemeral_public, 32, eh);
    ferry_hex_encode(ses.key, 32, kh);
    int ll = snprintf(line, sizeof line, "%s %s\n", eh, kh);
    if (fd < 0 || write(fd, line, (size_t)ll) != ll) {
        cli_errorf("message send: cannot save the session to %s", path ? path : "(none)");
        if (fd >= 0)
            close(fd);
        rc = CLI_NET;
        goto out;
    }
    close(fd);
    ferry_envelope_session_wipe(&ses);
    if (ferry_tx_client_open(c, &kp, NULL, &tc, &why)) {
        cli_errorf("message send: %s", why.text);
        rc = CLI_NET;
        goto out;
    }
    uint8_t topic[FERRY_WORKER_TOPIC_LEN];
    ferry_worker_topic(pk, topic);
    char *th = ferry_hex_alloc(topic, sizeof topic), *ph = ferry_hex_alloc(env, el);
    args = cJSON_CreateArray();
    cJSON_AddItemToArray(args, cJSON_CreateString(th ? th : ""));
    cJSON_AddItemToArray(args, cJSON_CreateString(ph ? ph : ""));
    free(th);
    free(ph);
    struct ferry_tx_result res;
    memset(&res, 0, sizeof res);
    ferry_err err =
        ferry_tx_submit(tc, "PhalaMq.push_message", args, FERRY_TX_WAIT_IN_BLOCK, &res, &why);
    if (err || !res.success) {
        cli_errorf("message send: PhalaMq.push_message: %s",
                   err ? (why.text[0] ? why.text : ferry_strerror(err)) : "ExtrinsicFailed");
        ferry_tx_result_clear(&res);
        rc = err == FERRY_E_NET || err == FERRY_E_TIMEOUT ? CLI_NET : CLI_INVALID;
        goto out;
    }
    cJSON *o = cJSON_CreateObject();
    char bh[67], xh[67];
    cJSON_AddStringToObject(o, "hash", ferry_hex_encode(res.hash, 32, xh));
    cJSON_AddStringToObject(o, "block", ferry_hex_encode(res.block, 32, bh));
    cJSON_AddNumberToObject(o, "number", res.number);
    char ts[FERRY_WORKER_TOPIC_LEN + 1];
    memcpy(ts, topic, FERRY_WORKER_TOPIC_LEN);
    ts[FERRY_WORKER_TOPIC_LEN] = 0;
    cJSON_AddStringToObject(o, "topic", ts);
    cJSON_AddStringToObject(o, "ephemeral", eh);
    ferry_tx_result_clear(&res);
    rc = cli_print_json(o);
out:
    ferry_envelope_session_wipe(&ses);
    cJSON_Delete(args);
    free(env);
    free(path);
    ferry_tx_client_close(tc);
    ferry_rpc_close(c);
    ferry_keypair_clear(&kp);
    return rc;
}

struct session {
    uint8_t eph[32];
    uint8_t key[32];
};

static size_t load_sessions(const char *key_file, struct session *s, size_t cap)
{
    char *path = sessions_path(key_file);
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    if (!f)
        return 0;
    char line[256];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f)) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = 0;
        char *nl = strchr(sp + 1, '\n');
        if (nl)
            *nl = 0;
        if (ferry_hex_decode_exact(line, s[n].eph, 32) == FERRY_OK &&
            ferry_hex_decode_exact(sp + 1, s[n].key, 32) == FERRY_OK)
            n++;
    }
    fclose(f);
    return n;
}

static void scan_block(uint32_t number, const uint8_t *v, size_t vl, const struct session *ss,
                       size_t ns, unsigned *found)
{
    struct ferry_scale_reader r;
    ferry_scale_reader_init(&r, v, vl);
    size_t n = 0;
    if (ferry_scale_vec_len(&r, 3, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        uint8_t tag = 0;
        const uint8_t *sender = NULL, *dest, *payload;
        size_t dl, pl;
        if (ferry_scale_u8(&r, &tag))
            return;
        if (tag == 0 || tag == 4) {
            const uint8_t *p;
            size_t l;
            ferry_scale_byte_vec(&r, &p, &l);
        } else if (tag == 1 || tag == 2 || tag == 3 || tag == 6) {
            ferry_scale_bytes(&r, 32, &sender);
        }
        if (ferry_scale_byte_vec(&r, &dest, &dl) || ferry_scale_byte_vec(&r, &payload, &pl))
            return;
        if (tag != 2 || dl != FERRY_WORKER_REPLY_TOPIC_LEN)
            continue;
        for (size_t k = 0; k < ns; k++) {
            uint8_t topic[FERRY_WORKER_REPLY_TOPIC_LEN];
            ferry_worker_reply_topic(ss[k].eph, topic);
            if (memcmp(topic, dest, dl) != 0)
                continue;
            struct ferry_envelope_session ses;
            memcpy(ses.key, ss[k].key, 32);
            memcpy(ses.ephemeral_public, ss[k].eph, 32);
            uint8_t *out = malloc(pl + 1);
            size_t ol = 0;
            if (out && pl >= FERRY_ENVELOPE_OVERHEAD &&
                ferry_envelope_open_reply(&ses, out, pl, &ol, payload, pl, NULL) == FERRY_OK) {
                cJSON *o = cJSON_CreateObject();
                char wh[67], eh[67];
                cJSON_AddNumberToObject(o, "block", number);
                cJSON_AddStringToObject(o, "worker", ferry_hex_encode(sender, 32, wh));
                cJSON_AddStringToObject(o, "ephemeral", ferry_hex_encode(ss[k].eph, 32, eh));
                if (ferry_utf8_valid(out, ol)) {
                    out[ol] = 0;
                    cJSON_AddStringToObject(o, "reply", (char *)out);
                } else {
                    char *h = ferry_hex_alloc(out, ol);
                    cJSON_AddStringToObject(o, "reply_hex", h ? h : "");
                    free(h);
                }
                cli_print_json(o);
                (*found)++;
            }
            ferry_envelope_session_wipe(&ses);
            free(out);
        }
    }
}

static int replies_cmd(int argc, char **argv)
{
    struct msg_args a;
    int rc = parse(argc, argv, &a, false);
    if (rc)
        return rc;
    struct session *ss = calloc(MAX_SESSIONS, sizeof *ss);
    if (!ss)
        return CLI_NET;
    size_t ns = load_sessions(a.key_file, ss, MAX_SESSIONS);
    if (ns == 0) {
        cli_errorf("message replies: no sessions in %s.sessions (send a message first)",
                   a.key_file);
        free(ss);
        return CLI_INVALID;
    }
    struct ferry_rpc *c = NULL;
    rc = cli_chain_connect("message replies", a.url, 30, &c);
    if (rc) {
        free(ss);
        return rc;
    }
    uint32_t to = (uint32_t)a.to;
    if (!a.has_to) {
        uint8_t fh[32];
        struct ferry_header h;
        if (ferry_rpc_get_finalized_head(c, fh, NULL) || ferry_rpc_get_header(c, fh, &h, NULL)) {
            cli_errorf("message replies: cannot read the finalized head");
            ferry_rpc_close(c);
            free(ss);
            return CLI_NET;
        }
        to = h.number;
        ferry_header_free(&h);
    }
    uint32_t from = a.has_from ? (uint32_t)a.from : (to > 200 ? to - 200 : 0);
    uint8_t key[32];
    ferry_storage_prefix(key, "PhalaMq", "OutboundMessages");
    unsigned found = 0;
    for (uint32_t n = from; n <= to; n++) {
        uint8_t hash[32];
        if (ferry_rpc_get_block_hash(c, n, hash, NULL)) {
            cli_errorf("message replies: no hash for block %u", n);
            rc = CLI_NET;
            break;
        }
        uint8_t *v = NULL;
        size_t vl = 0;
        ferry_err err = ferry_rpc_get_storage(c, key, sizeof key, hash, &v, &vl, NULL);
        if (err == FERRY_OK)
            scan_block(n, v, vl, ss, ns, &found);
        else if (err != FERRY_E_NOT_FOUND) {
            cli_errorf("message replies: OutboundMessages at block %u: %s", n, ferry_strerror(err));
            rc = CLI_NET;
            break;
        }
        free(v);
    }
    fprintf(stderr, "ferry: %u repl%s in blocks %u..%u\n", found, found == 1 ? "y" : "ies", from,
            to);
    memset(ss, 0, MAX_SESSIONS * sizeof *ss);
    free(ss);
    ferry_rpc_close(c);
    return rc;
}

static int run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_cmd_message.usage, stdout);
        return CLI_OK;
    }
    if (argc < 2)
        return cli_usage_error(&cli_cmd_message, "missing send or replies");
    if (!strcmp(argv[1], "send"))
        return send_cmd(argc - 1, argv + 1);
    if (!strcmp(argv[1], "replies"))
        return replies_cmd(argc - 1, argv + 1);
    return cli_usage_error(&cli_cmd_message, "unknown subcommand %s", argv[1]);
}

const struct cli_command cli_cmd_message = {
    "message",
    "send an encrypted message to a ferry-worker through the chain, read its replies",
    run,
    "usage: ferry message send --url NODE --key-file FILE --worker PUBKEY [--ecdh PUBKEY]\n"
    "                          [--scheme sr25519|ed25519|ecdsa] PAYLOAD\n"
    "       ferry message replies --url NODE --key-file FILE [--from N] [--to M]\n"
    "\n"
    "send: seals PAYLOAD (text) in ferry's envelope (docs/messages.md) to the worker's ECDH key\n"
    "(--ecdh, or read from PhalaRegistry.Workers(PUBKEY) when the worker is registered) and\n"
    "submits PhalaMq.push_message(\"ferry/worker/<hex PUBKEY>\", envelope) signed with the key\n"
    "file's key (--scheme, default sr25519); waits for inclusion and prints {hash, block, number, "
    "ephemeral}. The session\n"
    "(ephemeral key and shared key) is appended to FILE.sessions (mode 0600).\n"
    "\n"
    "replies: reads PhalaMq.OutboundMessages at every block from N (default: finalized - 200)\n"
    "to M (default: finalized) and prints each worker reply addressed to a saved session as one\n"
    "JSON line {block, worker, ephemeral, reply}.\n",
    NULL,
};
