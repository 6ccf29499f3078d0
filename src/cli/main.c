/* ferry — command-line entry point: finds the subcommand and hands it argv. */
#include <stdio.h>
#include <string.h>

#include "src/cli/cli.h"

#define CLI_COMMAND(name) extern const struct cli_command cli_cmd_##name;
#include "commands.h"
#undef CLI_COMMAND

static const struct cli_command *const commands[] = {
#define CLI_COMMAND(name) &cli_cmd_##name,
#include "commands.h"
#undef CLI_COMMAND
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    fputs("usage: ferry <command> [options] [args]\n"
          "\n"
          "ferry is a Substrate light client: it verifies GRANDPA finality, storage proofs and\n"
          "parachain heads itself, and signs and submits extrinsics (ECDSA). The relayer that\n"
          "ferries verified data to a worker is not part of this build yet.\n"
          "\n"
          "commands:\n",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    fputs("\n"
          "Run 'ferry <command> --help' for a command's options.\n"
          "\n"
          "exit status: 0 success; 1 invalid input or failed verification (reason on stderr);\n"
          "             2 usage error; 3 network or I/O error.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i]->name) != 0)
            continue;
        if (cli_wants_help(argc - 1, argv + 1)) {
            fputs(commands[i]->usage, stdout);
            if (commands[i]->usage_more)
                fputs(commands[i]->usage_more(), stdout);
            return CLI_OK;
        }
        return commands[i]->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "ferry: unknown command '%s'\n\n", argv[1]);
    print_help(stderr);
    return CLI_USAGE;
}
