/*
 * completion_zsh.c - the zsh completion script, drawn from the command
 * descriptors and the global options' table: commands with their summaries,
 * each command's options with a description, the values of options and the
 * operands (symbols already in the lake, as for bash).
 */
#include <string.h>

#include "cli.h"

static const char head[] =
    "#compdef aggtrades cli\n"
    "# zsh completion for aggtrades (aggtrades completion zsh)\n"
    "_aggtrades_symbols() {\n"
    "    local root=${AGT_ROOT:-./data} i\n"
    "    for ((i = 2; i < CURRENT; i++)); do\n"
    "        [[ ${words[i]} == --root ]] && root=${words[i+1]}\n"
    "    done\n"
    "    local -a syms\n"
    "    syms=(${root}/symbol=*(N/:t))\n"
    "    syms=(${syms#symbol=})\n"
    "    _describe 'symbol' syms\n"
    "}\n";

/* `s` (n bytes) inside a single-quoted word, with `also` backslash-escaped. */
static void quoted(FILE *f, const char *s, size_t n, const char *also)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') fputs("'\\''", f);
        else if (strchr(also, s[i])) fprintf(f, "\\%c", s[i]);
        else fputc(s[i], f);
    }
}

/* How a value of `kind` is completed: the part after the message in a spec. */
static void action(FILE *f, cli_kind kind, const char *values)
{
    switch (kind) {
    case CLI_ENUM: fprintf(f, "(%s)", values); break;
    case CLI_FILE: fputs("_files", f); break;
    case CLI_DIR: fputs("_files -/", f); break;
    case CLI_SYMBOL: fputs("_aggtrades_symbols", f); break;
    default: break;
    }
}

/* An option's spec: '--name[description]:META:action'. The description is
 * its help's first line up to a ':', ';' or " (". */
static void option_spec(FILE *f, const cli_option *o)
{
    size_t n = strcspn(o->help, ":;\n");
    const char *paren = strstr(o->help, " (");
    if (paren && (size_t)(paren - o->help) < n) n = (size_t)(paren - o->help);
    fprintf(f, " '--%s[", o->name);
    quoted(f, o->help, n, "[]\\");
    fputs("]", f);
    if (o->kind != CLI_FLAG) {
        fputs(":", f);
        quoted(f, o->meta, strlen(o->meta), ":\\");
        fputs(":", f);
        action(f, o->kind, o->values);
    }
    fputs("'", f);
}

static void command_case(FILE *f, const cli_command *c)
{
    fprintf(f, "        %s) _arguments %s", c->name,
            c->no_globals ? "'(- *)--help[show help]'" : "$global");
    for (size_t i = 0; c->options && c->options[i].name; i++) option_spec(f, &c->options[i]);
    if (c->operand != CLI_FLAG) {
        fputs(c->operands_many ? " '*:" : " '1:", f);
        fputs(c->operand == CLI_SYMBOL ? "symbol" : "argument", f);
        fputs(":", f);
        action(f, c->operand, c->operand_values);
        fputs("'", f);
    }
    fputs(" ;;\n", f);
}

void cli_completion_zsh(const cli_commands *cmds, FILE *f)
{
    fputs(head, f);
    fputs("_aggtrades() {\n"
          "    local -a global\n"
          "    global=(\n",
          f);
    for (size_t i = 0; cli_global_options[i].name; i++) {
        fputs("       ", f);
        option_spec(f, &cli_global_options[i]);
        fputs("\n", f);
    }
    fputs("        '(- *)--help[show help]'\n"
          "    )\n"
          "    local curcontext=$curcontext state line\n"
          "    _arguments -C $global '(- *)--version[print the version]' \\\n"
          "        '1:command:((",
          f);
    for (size_t k = 0; k < cmds->n; k++) {
        fprintf(f, "%s\\:\"", cmds->v[k]->name);
        quoted(f, cmds->v[k]->summary, strlen(cmds->v[k]->summary), "\"\\$`");
        fputs("\" ", f);
    }
    fputs("help\\:\"show help\"))' \\\n"
          "        '*::arg:->args'\n"
          "    case $state in\n"
          "    args)\n"
          "        case ${words[1]} in\n",
          f);
    for (size_t k = 0; k < cmds->n; k++) command_case(f, cmds->v[k]);
    fputs("        help) _arguments '1:command:(", f);
    for (size_t k = 0; k < cmds->n; k++) fprintf(f, "%s%s", k ? " " : "", cmds->v[k]->name);
    fputs(")' ;;\n"
          "        esac ;;\n"
          "    esac\n"
          "}\n"
          "_aggtrades \"$@\"\n",
          f);
}
