/*
 * parse.c - the command line against the option tables: a command's own
 * (its cli_command) and the global ones (globals.c). Values of whole-number
 * and one-of options are checked here, the rest by the command.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "a, b or c" of the space-separated `values`, into out[n]. */
static void values_list(const char *values, char *out, size_t n)
{
    size_t k = 0, len = strlen(values);
    out[0] = 0;
    for (size_t i = 0; i < len && k < n;) {
        size_t w = strcspn(values + i, " ");
        const char *sep = i == 0 ? "" : i + w >= len ? " or " : ", ";
        k += (size_t)snprintf(out + k, n - k, "%s%.*s", sep, (int)w, values + i);
        i += w + 1;
    }
}

/* 1 if `v` is one of the space-separated `values`. */
static int is_value(const char *values, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = values; *p;) {
        size_t w = strcspn(p, " ");
        if (w == n && !strncmp(p, v, n)) return 1;
        p += w;
        if (*p) p++;
    }
    return 0;
}

/* Check and store the value of option `i` of table `o` into `a`. 0 or EXIT_USAGE. */
static int store(const cli_option *o, int i, const char *value, cli_args *a)
{
    char optname[80];
    snprintf(optname, sizeof optname, "--%s", o[i].name);
    if (o[i].kind == CLI_INT) {
        long max = o[i].max ? o[i].max : 2000000000L;
        if (cli_int_arg(optname, value, o[i].min, max, &a->num[i])) return EXIT_USAGE;
    } else if (o[i].kind == CLI_ENUM && !is_value(o[i].values, value)) {
        char list[160];
        values_list(o[i].values, list, sizeof list);
        cli_error("invalid %s '%s' (expected %s)", optname, value, list);
        return EXIT_USAGE;
    }
    a->value[i] = value;
    return 0;
}

/* The index in `o` of the option named by `name` (up to '=' or its end), or -1. */
static int find(const cli_option *o, const char *name)
{
    size_t n = strcspn(name, "=");
    for (int i = 0; o && o[i].name && i < CLI_MAX_OPTIONS; i++)
        if (strlen(o[i].name) == n && !strncmp(o[i].name, name, n)) return i;
    return -1;
}

/*
 * Handle argv[*i], a "--name[=value]" of the table `own`, else of the global
 * options (into `glob`, unless NULL). Returns 1 if consumed, 0 if not an
 * option we know, -1 on error (printed).
 */
static int take_option(int argc, char **argv, int *i, const cli_option *own, cli_args *oa,
                       cli_args *glob)
{
    const char *name = argv[*i] + 2;
    const cli_option *t = own;
    cli_args *a = oa;
    int k = find(own, name);
    if (k < 0 && glob) {
        t = cli_global_options;
        a = glob;
        k = find(t, name);
    }
    if (k < 0) return 0;
    const char *eq = strchr(name, '=');
    const char *value = "";
    if (t[k].kind == CLI_FLAG) {
        if (eq) {
            cli_error("option '--%s' takes no value", t[k].name);
            return -1;
        }
    } else if (eq) {
        value = eq + 1;
    } else if (*i + 1 < argc) {
        value = argv[++*i];
    } else {
        cli_error("option '--%s' needs a value", t[k].name);
        return -1;
    }
    return store(t, k, value, a) ? -1 : 1;
}

static int is_help(const char *a)
{
    return !strcmp(a, "-h") || !strcmp(a, "--help");
}

int cli_parse_global(cli_ctx *ctx, int argc, char **argv)
{
    cli_args g;
    memset(&g, 0, sizeof g);
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            ctx->version = 1;
            continue;
        }
        if (is_help(a)) {
            ctx->help = 1;
            continue;
        }
        if (a[0] != '-') break;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        int r = strncmp(a, "--", 2) ? 0 : take_option(argc, argv, &i, NULL, NULL, &g);
        if (r < 0) return -1;
        if (r == 0) {
            cli_error("unknown option '%s' (see 'aggtrades --help')", a);
            return -1;
        }
    }
    if (cli_globals_apply(ctx, &g)) return -1;
    return i;
}

int cli_parse(cli_ctx *ctx, const cli_command *cmd, int argc, char **argv, cli_args *args)
{
    cli_args g;
    memset(args, 0, sizeof *args);
    memset(&g, 0, sizeof g);
    args->pos = calloc((size_t)argc + 1, sizeof *args->pos);
    if (!args->pos) return EXIT_LAKE;
    int dashdash = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (dashdash || a[0] != '-' || !strcmp(a, "-")) {
            args->pos[args->npos++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            dashdash = 1;
            continue;
        }
        if (is_help(a)) {
            ctx->help = 1;
            return 0;
        }
        int r = strncmp(a, "--", 2)
                    ? 0
                    : take_option(argc, argv, &i, cmd->options, args, cmd->no_globals ? NULL : &g);
        if (r < 0) return EXIT_USAGE;
        if (r == 0) {
            cli_error("unknown option '%s' (see 'aggtrades %s --help')", a, cmd->name);
            return EXIT_USAGE;
        }
    }
    return cli_globals_apply(ctx, &g);
}
