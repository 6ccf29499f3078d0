/* `ferry attest verify`: verify an SGX DCAP quote against its collateral (from a file or a PCCS)
 * at a given time and print the verdict as one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/attest.h"
#include "ferry/hex.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_attest;

struct args {
    const char *quote, *collateral, *pccs_url, *at, *report_data, *mrenclave, *save;
    bool allow_debug, insecure;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof *a);
    if (argc < 2 || strcmp(argv[1], "verify") != 0)
        return cli_usage_error(&cli_cmd_attest, "expected the subcommand 'verify'");
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
        v->step = FERRY_ATTEST_COLLATERAL_FORMAT;
        snprintf(v->reason, sizeof v->reason, "could not get the collateral from the PCCS: %s",
                 why.text[0] ? why.text : ferry_strerror(err));
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
    "exit status: 0 valid, 1 invalid (reason on stderr and in the JSON), 2 usage error,\n"
    "3 I/O or network error (unreadable file, PCCS unreachable or answering with an error\n"
    "or a malformed response).\n",
};
