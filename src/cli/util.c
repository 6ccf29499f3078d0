/* Helpers shared by the subcommands: errors, input arguments, JSON output. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ferry/hex.h"
#include "src/cli/cli.h"

static volatile sig_atomic_t stop_requested;
static const char *stop_msg;
static size_t stop_msg_len;

static void on_stop_signal(int sig)
{
    if (stop_requested) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_requested = 1;
    if (write(STDERR_FILENO, stop_msg, stop_msg_len) < 0) {
        /* nothing to do about it in a signal handler */
    }
}

volatile sig_atomic_t *cli_stop_on_signals(const char *msg)
{
    stop_msg = msg;
    stop_msg_len = strlen(msg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_requested;
}

void cli_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ferry: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ferry %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'ferry %s --help'.\n", cmd->name);
    va_end(ap);
    return CLI_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

static ferry_err read_stream(FILE *f, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return FERRY_E_NOMEM;
    for (;;) {
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return FERRY_E_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return FERRY_E_IO;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return FERRY_OK;
}

ferry_err cli_read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return FERRY_E_IO;
    ferry_err err = read_stream(f, out, len);
    fclose(f);
    return err;
}

ferry_err cli_read_arg(const char *arg, char **out, size_t *len)
{
    if (strcmp(arg, "-") == 0)
        return read_stream(stdin, out, len);
    if (arg[0] == '@')
        return cli_read_file(arg + 1, out, len);
    *out = strdup(arg);
    if (!*out)
        return FERRY_E_NOMEM;
    *len = strlen(arg);
    return FERRY_OK;
}

ferry_err cli_hex_arg(const char *text, uint8_t **out, size_t *len)
{
    const char *s = text;
    const char *e = text + strlen(text);
    while (s < e && (isspace((unsigned char)*s) || *s == '"'))
        s++;
    while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '"'))
        e--;
    if (e - s < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return FERRY_E_HEX;
    return ferry_hex_decode(s, (size_t)(e - s), out, len);
}

int cli_print_json(cJSON *json)
{
    char *text = json ? cJSON_PrintUnformatted(json) : NULL;
    cJSON_Delete(json);
    if (!text) {
        cli_errorf("out of memory while printing JSON");
        return CLI_NET;
    }
    int ok = puts(text) >= 0 && fflush(stdout) == 0;
    free(text);
    if (!ok) {
        cli_errorf("cannot write to stdout: %s", strerror(errno));
        return CLI_NET;
    }
    return CLI_OK;
}

int cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)s[0]))
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return 0;
    *out = v;
    return 1;
}
