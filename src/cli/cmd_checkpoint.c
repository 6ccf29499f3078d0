/* `ferry checkpoint export`: write a light-client checkpoint from a follow store. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ferry/follow.h"
#include "src/cli/cli.h"

extern const struct cli_command cli_cmd_checkpoint;

static int run_checkpoint(int argc, char **argv)
{
    const struct cli_command *cmd = &cli_cmd_checkpoint;
    if (argc < 2 || strcmp(argv[1], "export") != 0)
        return cli_usage_error(cmd, "expected 'export'");
    const char *db = "ferry.db", *out = "-";
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            return cli_usage_error(cmd, "%s needs a value", argv[i]);
        if (strcmp(argv[i], "--db") == 0)
            db = argv[++i];
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[++i];
        else
            return cli_usage_error(cmd, "unknown option %s", argv[i]);
    }
    if (access(db, R_OK) != 0) {
        cli_errorf("checkpoint: store %s does not exist", db);
        return CLI_NET;
    }
    struct ferry_reason why = {""};
    ferry_err err = ferry_follow_export_checkpoint(db, out, &why);
    if (err) {
        cli_errorf("checkpoint: %s", why.text[0] ? why.text : ferry_strerror(err));
        return err == FERRY_E_NOT_FOUND ? CLI_INVALID : CLI_NET;
    }
    return CLI_OK;
}

const struct cli_command cli_cmd_checkpoint = {
    "checkpoint",
    "export a light-client checkpoint from a follow store",
    run_checkpoint,
    "usage: ferry checkpoint export [--db FILE] [--out FILE]\n"
    "\n"
    "Writes the last verified relay header of the store (default ferry.db) with its authority\n"
    "set as JSON: genesis_hash, number, hash, header, set_id, authorities, authority_set\n"
    "(ferry's SCALE state). 'ferry follow --checkpoint FILE' starts trusting from it. --out\n"
    "refuses to overwrite an existing file; the default is stdout.\n"
    "\n"
    "exit status: 0 written; 1 the store holds no verified state; 2 usage; 3 I/O error.\n",
    NULL,
};
