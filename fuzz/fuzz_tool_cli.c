/*
 * fuzz_tool_cli.c - the command line of the aggtrades tool through its real
 * dispatch (cli_main, tools/aggtrades/dispatch.c): global options, each
 * command's options and arguments, symbols, times, sizes and counts.
 *
 * Input: up to 4 command lines, run one after the other in the same process
 * (as a program embedding the tool would); each is the arguments after the
 * program name separated by NUL bytes (at most 24), and command lines are
 * separated by an empty argument (two NULs).
 *
 * No input reaches a lake or the network: the lake root is a path that cannot
 * exist (AGT_ROOT, below /dev/null), the exchange and archive URLs are ones
 * the connection refuses to open, and inputs naming --root, --api-url or
 * --archive-url themselves are skipped; every command line stops at its
 * parse, at the connection or at the lake. Checks, on every input: the exit
 * status is one the tool documents for that (0 help or completion, 2 bad
 * usage or input, 3 no lake), never 1 or 4 (which need a fetch) or anything
 * else, and a command line is not affected by an earlier one.
 *
 * To see what the tool says about an input: tr '\0' '\n' < input, and run
 * build/aggtrades with those arguments and the same environment.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 24
#define MAX_RUNS 4
/* A base URL the connection refuses to open (no '#' allowed): no request is sent. */
#define NO_URL "http://127.0.0.1:9/#"

/* 1 if `a` is the option `name` (alone or as name=value). */
static int is_option(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == 0 || a[n] == '=');
}

/* Run the tool on the arguments in p[0..n), separated by NULs, in a copy freed after. */
static void run(const char *p, size_t n)
{
    char *buf = malloc(n + 1);
    if (!buf) abort();
    memcpy(buf, p, n);
    buf[n] = 0;
    char prog[] = "aggtrades";
    char *argv[MAX_ARGS + 2] = {prog};
    int argc = 1;
    for (size_t i = 0; i < n && argc <= MAX_ARGS; argc++) {
        argv[argc] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    for (int i = 1; i < argc; i++)
        if (is_option(argv[i], "--root") || is_option(argv[i], "--api-url") ||
            is_option(argv[i], "--archive-url")) {
            free(buf);
            return;
        }
    int rc = cli_main(argc, argv);
    if (rc != EXIT_DONE && rc != EXIT_USAGE && rc != EXIT_LAKE) abort();
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        setenv("AGT_ROOT", "/dev/null/lake", 1);
        setenv("AGT_API_URL", NO_URL, 1);
        setenv("AGT_ARCHIVE_URL", NO_URL, 1);
        if (!freopen("/dev/null", "w", stdout)) abort();
        ready = 1;
    }
    if (size > 4096) return 0;
    /* one run per command line; command lines are separated by an empty argument */
    const char *p = (const char *)data, *end = p + size;
    for (int runs = 0; p < end && runs < MAX_RUNS; runs++) {
        const char *q = p;
        while (q < end && !(q + 1 < end && q[0] == 0 && q[1] == 0)) q++;
        run(p, (size_t)(q - p));
        p = q + 2;
    }
    return 0;
}
