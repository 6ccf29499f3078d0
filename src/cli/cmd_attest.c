/* `ferry attest verify`: verify an SGX DCAP quote against its collateral (from a file or a PCCS)
 * at a given time and print the verdict as one JSON object.
 * `ferry attest prepare`: what the relayer does with a worker's attestation before registering
 * it — fill in a DCAP report's collateral from the PCCS, verify it, print the report to submit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/attest.h"
#include "ferry/hex.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_attest;

struct args {
    bool prepare;
    const char *quote, *collateral, *pccs_url, *at, *report_data, *mrenclave, *save, *report;
    bool allow_debug, insecure;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    if (argc < 2 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "prepare") != 0))
        return cli_usage_error(&cli_cmd_attest, "expected the subcommand 'verify' or 'prepare'");
    a->prepare = strcmp(argv[1], "prepare") == 0;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char **slot = NULL;
        if (strcmp(o, "--quote") == 0)
            slot = &a->quote;
        else if (strcmp(o, "--collateral") == 0)
            slot = &a->collateral;
        else if (strcmp(o, "--pccs-url") == 0)
            slot = &a->pccs_url;
        else if (strcmp(o, "--at") == 0)
            slot = &a->at;
        else if (strcmp(o, "--expect-report-data") == 0)
            slot = &a->report_data;
        else if (strcmp(o, "--mrenclave") == 0)
            slot = &a->mrenclave;
        else if (strcmp(o, "--save-collateral") == 0)
            slot = &a->save;
        else if (strcmp(o, "--report") == 0)
            slot = &a->report;
        else if (strcmp(o, "--allow-debug") == 0)
            a->allow_debug = true;
        else if (strcmp(o, "--insecure") == 0)
            a->insecure = true;
        else
            return cli_usage_error(&cli_cmd_attest, "unknown option '%s'", o);
        if (slot) {
            if (i + 1 >= argc)
                return cli_usage_error(&cli_cmd_attest, "%s needs a value", o);
            *slot = argv[++i];
        }
    }
    if (a->prepare) {
        if (!a->report || !a->report_data)
            return cli_usage_error(&cli_cmd_attest,
                                   "prepare needs --report FILE and --expect-report-data HEX");
        if (a->quote || a->collateral || a->mrenclave || a->allow_debug || a->save)
            return cli_usage_error(&cli_cmd_attest,
                                   "prepare takes --report, --pccs-url, --insecure, --at and "
                                   "--expect-report-data only");
        if (a->insecure && !a->pccs_url)
            return cli_usage_error(&cli_cmd_attest, "--insecure only applies to --pccs-url");
        return CLI_OK;
    }
    if (a->report)
        return cli_usage_error(&cli_cmd_attest, "--report belongs to 'attest prepare'");
    if (!a->quote)
        return cli_usage_error(&cli_cmd_attest, "--quote FILE is required");
    if (!a->collateral == !a->pccs_url)
        return cli_usage_error(&cli_cmd_attest,
                               "give exactly one of --collateral FILE and --pccs-url URL");
    if (a->insecure && !a->pccs_url)
        return cli_usage_error(&cli_cmd_attest, "--insecure only applies to --pccs-url");
    if (a->save && !a->pccs_url)
        return cli_usage_error(&cli_cmd_attest, "--save-collateral only applies to --pccs-url");
    return CLI_OK;
}

static int hex32(const char *name, const char *text, uint8_t out[32])
{
    size_t n = strlen(text);
    const char *p = text;
    if (n >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2, n -= 2;
    if (n != 64 || ferry_hex_decode_exact(p, out, 32) != FERRY_OK)
        return cli_usage_error(&cli_cmd_attest, "%s must be 32 bytes of hex", name);
    return CLI_OK;
}

static cJSON *verdict_json(const struct ferry_attest_verdict *v)
{
    cJSON *o = cJSON_CreateObject();
    char hex[131];
    cJSON_AddBoolToObject(o, "valid", v->valid);
    if (v->status[0])
        cJSON_AddStringToObject(o, "status", v->status);
    else
        cJSON_AddNullToObject(o, "status");
    cJSON *adv = cJSON_AddArrayToObject(o, "advisory_ids");
    for (size_t i = 0; i < v->n_advisories; i++)
        cJSON_AddItemToArray(adv, cJSON_CreateString(v->advisory_ids[i]));
    if (v->have_report) {
        cJSON_AddStringToObject(o, "mrenclave", ferry_hex_encode(v->report.mr_enclave, 32, hex));
        cJSON_AddStringToObject(o, "mrsigner", ferry_hex_encode(v->report.mr_signer, 32, hex));
        cJSON_AddNumberToObject(o, "isv_prod_id", v->report.isv_prod_id);
        cJSON_AddNumberToObject(o, "isv_svn", v->report.isv_svn);
        cJSON_AddStringToObject(o, "report_data", ferry_hex_encode(v->report.report_data, 64, hex));
    } else {
        cJSON_AddNullToObject(o, "mrenclave");
        cJSON_AddNullToObject(o, "mrsigner");
        cJSON_AddNullToObject(o, "isv_prod_id");
        cJSON_AddNullToObject(o, "isv_svn");
        cJSON_AddNullToObject(o, "report_data");
    }
    if (v->have_fmspc)
        cJSON_AddStringToObject(o, "fmspc", ferry_hex_encode(v->fmspc, 6, hex) + 2);
    cJSON_AddStringToObject(o, "step", ferry_attest_step_name(v->step));
    if (v->valid)
        cJSON_AddNullToObject(o, "reason");
    else
        cJSON_AddStringToObject(o, "reason", v->reason);
    return o;
}

/* Fetch the collateral for the quote from a PCCS. Returns: a CLI status. */
static int fetch(const struct args *a, const uint8_t *quote, size_t qlen, uint8_t **coll,
                 size_t *clen, struct ferry_attest_verdict *v)
{
    struct ferry_dcap_quote q;
    struct ferry_sgx_pck_info pck;
    struct ferry_reason why = {{0}};
    if (ferry_dcap_quote_parse(quote, qlen, &q, &why) ||
        ferry_dcap_quote_pck_info(&q, &pck, &why)) {
        cli_errorf("attest: %s", why.text);
        /* Verify anyway (with no collateral) so the verdict JSON names the quote's fault. */
        return CLI_INVALID;
    }
    struct ferry_pccs_opts o = {.base_url = a->pccs_url, .insecure = a->insecure};
    ferry_err err = ferry_pccs_fetch_collateral(&o, &pck, coll, clen, &why);
    if (err) {
        v->step = FERRY_ATTEST_COLLATERAL_FETCH;
        ferry_reason_prefix(&why, err, "could not get the collateral from the PCCS: ");
        if (!why.text[0] || !strcmp(why.text, "could not get the collateral from the PCCS: "))
            ferry_reason_set(&why, err, "could not get the collateral from the PCCS: %s",
                             ferry_strerror(err));
        memcpy(v->reason, why.text, sizeof v->reason);
        v->have_report = true;
        v->report = q.report;
        v->have_fmspc = true;
        memcpy(v->fmspc, pck.fmspc, 6);
        cli_errorf("attest: %s", v->reason);
        return CLI_NET;
    }
    if (a->save) {
        FILE *f = fopen(a->save, "wb");
        if (!f || fwrite(*coll, 1, *clen, f) != *clen || fclose(f) != 0) {
            cli_errorf("attest: cannot write %s", a->save);
            return CLI_NET;
        }
    }
    return CLI_OK;
}

static const char *kind_name(enum ferry_attest_kind k)
{
    return k == FERRY_ATTEST_KIND_DCAP ? "dcap" : k == FERRY_ATTEST_KIND_IAS ? "ias" : "none";
}

static int run_prepare(const struct args *a, int64_t now, const uint8_t want_rd[32])
{
    char *text = NULL;
    size_t len = 0;
    if (cli_read_file(a->report, &text, &len)) {
        cli_errorf("attest: cannot read the report file %s", a->report);
        return CLI_NET;
    }
    /* The file holds the SCALE bytes, or them as 0x-hex text. */
    uint8_t *report = (uint8_t *)text;
    if (len >= 2 && text[0] == '0' && text[1] == 'x') {
        size_t n = len;
        while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
            n--;
        if (ferry_hex_decode(text, n, &report, &len)) {
            free(text);
            cli_errorf("attest: %s starts with 0x but is not valid hex", a->report);
            return CLI_INVALID;
        }
        free(text);
    }
    struct ferry_pccs_opts o = {.base_url = a->pccs_url, .insecure = a->insecure};
    uint8_t *out = NULL;
    size_t out_len = 0;
    enum ferry_attest_kind kind;
    struct ferry_attest_verdict v;
    struct ferry_reason why = {{0}};
    ferry_err err = ferry_attest_prepare_report(report, len, a->pccs_url ? &o : NULL, now, want_rd,
                                                &out, &out_len, &kind, &v, &why);
    free(report);
    if (err == FERRY_E_NOMEM) {
        cli_errorf("attest: out of memory");
        return CLI_NET;
    }
    cJSON *j = kind == FERRY_ATTEST_KIND_DCAP && (err == FERRY_OK || err == FERRY_E_VERIFY)
                   ? verdict_json(&v)
                   : cJSON_CreateObject();
    cJSON_AddStringToObject(j, "kind", kind_name(kind));
    cJSON_AddBoolToObject(j, "ready", err == FERRY_OK);
    if (!err) {
        char *hex = ferry_hex_alloc(out, out_len);
        cJSON_AddStringToObject(j, "report", hex ? hex : "");
        free(hex);
        if (kind == FERRY_ATTEST_KIND_IAS)
            cJSON_AddStringToObject(j, "note", "IAS (EPID) reports are passed through unverified");
    } else {
        cJSON_DeleteItemFromObject(j, "reason");
        cJSON_AddStringToObject(j, "reason", why.text[0] ? why.text : ferry_strerror(err));
        cli_errorf("attest: %s", why.text[0] ? why.text : ferry_strerror(err));
    }
    free(out);
    int rc = cli_print_json(j);
    if (rc != CLI_OK)
        return rc;
    if (!err)
        return CLI_OK;
    if (err == FERRY_E_ARG)
        return CLI_USAGE;
    if (err == FERRY_E_NET || err == FERRY_E_TIMEOUT || err == FERRY_E_RPC || err == FERRY_E_IO ||
        (kind == FERRY_ATTEST_KIND_DCAP && strncmp(why.text, "PCCS", 4) == 0))
        return CLI_NET;
    return CLI_INVALID;
}

static int run(int argc, char **argv)
{
    struct args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    int64_t now = (int64_t)time(NULL);
    if (a.at && ferry_attest_parse_time(a.at, &now))
        return cli_usage_error(&cli_cmd_attest,
                               "--at must be an RFC 3339 time such as 2023-12-01T00:00:00Z");
    if (a.prepare) {
        uint8_t rd[32];
        if ((rc = hex32("--expect-report-data", a.report_data, rd)))
            return rc;
        return run_prepare(&a, now, rd);
    }
    uint8_t want_rd[32], want_mr[32];
    struct ferry_attest_policy policy = {.allow_debug = a.allow_debug};
    if (a.report_data) {
        if ((rc = hex32("--expect-report-data", a.report_data, want_rd)))
            return rc;
        policy.expected_report_data = want_rd;
    }
    if (a.mrenclave) {
        if ((rc = hex32("--mrenclave", a.mrenclave, want_mr)))
            return rc;
        policy.mr_enclave = want_mr;
    }
    char *quote = NULL, *coll_text = NULL;
    uint8_t *coll = NULL;
    size_t qlen = 0, clen = 0;
    if (cli_read_file(a.quote, &quote, &qlen)) {
        cli_errorf("attest: cannot read the quote file %s", a.quote);
        return CLI_NET;
    }
    if (a.collateral) {
        if (cli_read_file(a.collateral, &coll_text, &clen)) {
            free(quote);
            cli_errorf("attest: cannot read the collateral file %s", a.collateral);
            return CLI_NET;
        }
        coll = (uint8_t *)coll_text;
    }
    struct ferry_attest_verdict v;
    memset(&v, 0, sizeof v);
    if (a.pccs_url) {
        rc = fetch(&a, (const uint8_t *)quote, qlen, &coll, &clen, &v);
        if (rc == CLI_NET) {
            free(quote);
            int out = cli_print_json(verdict_json(&v));
            return out == CLI_OK ? CLI_NET : out;
        }
    }
    ferry_err err =
        ferry_attest_verify_dcap((const uint8_t *)quote, qlen, coll, clen, now, &policy, NULL, &v);
    free(quote);
    free(coll);
    if (err == FERRY_E_NOMEM) {
        cli_errorf("attest: out of memory");
        return CLI_NET;
    }
    if (!v.valid)
        cli_errorf("attest: invalid at step \"%s\": %s", ferry_attest_step_name(v.step), v.reason);
    rc = cli_print_json(verdict_json(&v));
    if (rc != CLI_OK)
        return rc;
    return v.valid ? CLI_OK : CLI_INVALID;
}

const struct cli_command cli_cmd_attest = {
    "attest",
    "verify an SGX DCAP quote and its collateral (PCK chain, CRLs, QE, TCB level)",
    run,
    "usage: ferry attest verify --quote FILE (--collateral FILE | --pccs-url URL)\n"
    "                           [--at RFC3339] [--expect-report-data HEX] [--mrenclave HEX]\n"
    "                           [--allow-debug] [--insecure] [--save-collateral FILE]\n"
    "       ferry attest prepare --report FILE --expect-report-data HEX [--pccs-url URL]\n"
    "                           [--insecure] [--at RFC3339]\n"
    "\n"
    "Verifies a DCAP quote (v3, ECDSA P-256, PCK chain in its certification data) in full:\n"
    "TCB info and QE identity signed by Intel's TCB signing chain and current at the time;\n"
    "the PCK chain to the pinned Intel SGX Root CA key with the root CA and PCK CRLs; the QE\n"
    "report signed by the PCK key and binding the attestation key; the quote signed by the\n"
    "attestation key; the QE matched against the QE identity; the platform's TCB level from\n"
    "the PCK certificate matched against the TCB info (status merged with the QE's).\n"
    "\n"
    "--quote FILE               the raw quote bytes\n"
    "--collateral FILE          SCALE SgxV30QuoteCollateral (the nine fields, no enum tag)\n"
    "--pccs-url URL             fetch the collateral from a PCCS instead, e.g.\n"
    "                           https://localhost:8081/sgx/certification/v4 (pckcrl, rootcacrl,\n"
    "                           tcb?fmspc=, qe/identity); TLS is verified\n"
    "--insecure                 with --pccs-url: do not verify TLS (test setups only)\n"
    "--save-collateral FILE     with --pccs-url: write the fetched collateral (SCALE) to FILE\n"
    "--at RFC3339               verify at this time (default: now), e.g. 2023-12-01T00:00:00Z\n"
    "--expect-report-data HEX   32 bytes that report_data[0..32] must equal\n"
    "--mrenclave HEX            32 bytes that MRENCLAVE must equal\n"
    "--allow-debug              accept an enclave with the DEBUG attribute (refused by default)\n"
    "\n"
    "Prints one JSON object: {valid, status, advisory_ids, mrenclave, mrsigner, isv_prod_id,\n"
    "isv_svn, report_data, fmspc, step, reason}; status is Intel's TCB status (UpToDate,\n"
    "SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate,\n"
    "OutOfDateConfigurationNeeded); step names the check that failed and reason says why.\n"
    "\n"
    "prepare: what the relayer does before register_worker_v2. --report FILE holds pRuntime's\n"
    "SCALE Option<AttestationReport> (raw bytes or 0x-hex). A DCAP report without collateral\n"
    "gets it from --pccs-url; the DCAP report is verified (debug enclaves refused) with\n"
    "report_data[0..32] = --expect-report-data (blake2_256 of the SCALE runtime info) and, when\n"
    "valid, printed ready to submit as \"report\" (0x-hex) with \"kind\" dcap and \"ready\"\n"
    "true. None and SgxIas reports are passed through unverified (kind none / ias).\n"
    "\n"
    "exit status: 0 valid (prepare: ready), 1 invalid (reason on stderr and in the JSON),\n"
    "2 usage error (prepare: a DCAP report without collateral and no --pccs-url), 3 I/O or\n"
    "network error (unreadable file, PCCS unreachable or answering with an error or a\n"
    "malformed response).\n",
    NULL,
};
