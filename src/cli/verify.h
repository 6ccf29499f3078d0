/* ferry CLI — the `verify` command's subcommands, split across files by owner.
 *
 * src/cli/cmd_verify.c is the dispatcher (`ferry verify <what> ...`) and implements `proof` and
 * `para-head`; `justification` lives in src/cli/verify_justification.c. Each subcommand takes
 * argv with argv[0] = the subcommand name ("justification") and returns a CLI exit status
 * (CLI_OK, CLI_INVALID, CLI_USAGE, CLI_NET; see cli.h).
 */
#ifndef FERRY_CLI_VERIFY_H
#define FERRY_CLI_VERIFY_H

/* `ferry verify justification ...` — implemented in src/cli/verify_justification.c.
 * In: argc/argv with argv[0] = "justification".
 * Returns: a CLI exit status. */
int cli_verify_justification(int argc, char **argv);

/* One-line usage of the justification subcommand, printed inside `ferry verify --help`. */
extern const char *const cli_verify_justification_usage;

#endif
