/* ferry CLI — shared declarations for the subcommands. The CLI only parses arguments, calls the
 * library and prints; every decision lives in a module a unit test can call.
 *
 * Each subcommand lives in src/cli/cmd_<name>.c and defines
 *     const struct cli_command cli_cmd_<name> = {"<name>", "<one-line summary>", run, usage};
 * The Makefile collects them into the dispatch table (commands.h), so adding a command needs no
 * edit elsewhere.
 */
#ifndef FERRY_CLI_H
#define FERRY_CLI_H

#include <cjson/cJSON.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/error.h"

/* Exit status contract (documented in README and `ferry --help`). */
enum {
    CLI_OK = 0,      /* success */
    CLI_INVALID = 1, /* invalid input or failed verification; reason on stderr */
    CLI_USAGE = 2,   /* usage error */
    CLI_NET = 3,     /* network or I/O error */
};

struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *usage;                 /* full help text for `ferry <name> --help` */
    const char *(*usage_more)(void);   /* optional: text generated at run time, printed after */
};

/* Print "ferry: <message>" to stderr. */
void cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "ferry <cmd>: <message>" and the usage line hint to stderr; returns CLI_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when argv contains -h or --help before any "--". */
int cli_wants_help(int argc, char **argv);

/* Read an input argument: "-" reads all of stdin, "@path" reads a file, anything else is the
 * argument text itself. Out: *out (malloc'd, NUL-terminated), *len.
 * Returns: FERRY_OK, FERRY_E_IO or FERRY_E_NOMEM. */
ferry_err cli_read_arg(const char *arg, char **out, size_t *len);

/* Read a whole file (NUL-terminated). Returns: FERRY_OK, FERRY_E_IO, FERRY_E_NOMEM. */
ferry_err cli_read_file(const char *path, char **out, size_t *len);

/* Decode an argument that is "0x" hex bytes (surrounding whitespace and quotes ignored).
 * Returns: FERRY_OK or FERRY_E_HEX. */
ferry_err cli_hex_arg(const char *text, uint8_t **out, size_t *len);

/* Print a cJSON value as one line on stdout and delete it. Returns: CLI_OK, or CLI_NET when
 * stdout fails. */
int cli_print_json(cJSON *json);

/* Stop on SIGINT/SIGTERM, for the long-running commands: the first signal sets the returned
 * flag and writes msg (a string that lives as long as the process, e.g. a literal) to stderr,
 * so the command's loop can finish its step; a second one restores the default action and
 * re-raises it (quit at once). SIGPIPE is ignored. Call once, before the loop.
 * Returns: the flag to pass to the loop. */
volatile sig_atomic_t *cli_stop_on_signals(const char *msg);

/* Parse an unsigned decimal integer that must fit in max. Returns: 1 on success. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif
