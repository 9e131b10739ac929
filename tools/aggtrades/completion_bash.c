/*
 * completion_bash.c - the bash completion script, drawn from the command
 * descriptors and the global options' table: commands, each command's
 * options, the values of options (one-of values, files, directories) and
 * operands (symbols already in the lake: symbol=* folders under --root,
 * AGT_ROOT or ./data).
 */
#include <string.h>

#include "cli.h"

/* The part of the script before the generated cases. */
static const char symbols_fn[] =
    "# bash completion for aggtrades (aggtrades completion bash)\n"
    "_aggtrades_symbols() {\n"
    "    local root=\"${AGT_ROOT:-./data}\" i\n"
    "    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do\n"
    "        if [[ ${COMP_WORDS[i]} == --root ]]; then root=\"${COMP_WORDS[i+1]}\"; fi\n"
    "    done\n"
    "    local d\n"
    "    for d in \"$root\"/symbol=*; do\n"
    "        [[ -d $d ]] && printf '%s\\n' \"${d##*/symbol=}\"\n"
    "    done\n"
    "}\n";

/* "COMPREPLY=(...)" completing a value of `kind`, or nothing for a value that is typed. */
static void compreply(FILE *f, cli_kind kind, const char *values)
{
    switch (kind) {
    case CLI_ENUM: fprintf(f, "COMPREPLY=($(compgen -W \"%s\" -- \"$cur\"))", values); break;
    case CLI_FILE: fputs("COMPREPLY=($(compgen -f -- \"$cur\"))", f); break;
    case CLI_DIR: fputs("COMPREPLY=($(compgen -d -- \"$cur\"))", f); break;
    case CLI_SYMBOL: fputs("COMPREPLY=($(compgen -W \"$(_aggtrades_symbols)\" -- \"$cur\"))", f); break;
    default: fputs(":", f); break;
    }
}

/* The names of a table's options, "--a --b ", each followed by a space. */
static void names(FILE *f, const cli_option *o)
{
    for (size_t i = 0; o && o[i].name; i++) fprintf(f, "--%s ", o[i].name);
}

/* The options of a table that take a value, as a case pattern: "--a|--b". */
static void value_pattern(FILE *f, const cli_option *o)
{
    const char *sep = "";
    for (size_t i = 0; o && o[i].name; i++)
        if (o[i].kind != CLI_FLAG) {
            fprintf(f, "%s--%s", sep, o[i].name);
            sep = "|";
        }
}

/* One "PATTERN:--name) COMPREPLY=...;;" line per option taking a value. */
static void value_cases(FILE *f, const char *cmd, const cli_option *o)
{
    for (size_t i = 0; o && o[i].name; i++) {
        if (o[i].kind == CLI_FLAG) continue;
        fprintf(f, "        %s:--%s) ", cmd, o[i].name);
        compreply(f, o[i].kind, o[i].values);
        fputs(" ;;\n", f);
    }
}

/* _aggtrades_value CMD PREV: completes the value of PREV, an option of CMD
 * (empty before the command); status 1 if PREV takes no value. */
static void value_fn(const cli_commands *cmds, FILE *f)
{
    fputs("_aggtrades_value() {\n"
          "    case $1:$2 in\n",
          f);
    for (size_t k = 0; k < cmds->n; k++) value_cases(f, cmds->v[k]->name, cmds->v[k]->options);
    value_cases(f, "*", cli_global_options);
    fputs("        *) return 1 ;;\n"
          "    esac\n"
          "}\n",
          f);
}

/* The case of each command: its options after a '-', else its operands. */
static void command_cases(const cli_commands *cmds, FILE *f, int options)
{
    for (size_t k = 0; k < cmds->n; k++) {
        const cli_command *c = cmds->v[k];
        fprintf(f, "            %s) ", c->name);
        if (options) {
            fputs("COMPREPLY=($(compgen -W \"", f);
            names(f, c->options);
            fputs(c->no_globals ? "--help" : "$global", f);
            fputs("\" -- \"$cur\"))", f);
        } else {
            compreply(f, c->operand, c->operand_values);
        }
        fputs(" ;;\n", f);
    }
}

void cli_completion_bash(const cli_commands *cmds, FILE *f)
{
    fputs(symbols_fn, f);
    value_fn(cmds, f);
    fputs("_aggtrades() {\n"
          "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
          "    local global=\"",
          f);
    names(f, cli_global_options);
    fputs("--help\"\n    local cmds=\"", f);
    for (size_t k = 0; k < cmds->n; k++) fprintf(f, "%s ", cmds->v[k]->name);
    fputs("help\"\n"
          "    local cmd= i\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case ${COMP_WORDS[i]} in\n"
          "            ",
          f);
    value_pattern(f, cli_global_options);
    fputs(") ((i++)) ;;\n"
          "            -*) ;;\n"
          "            *) cmd=${COMP_WORDS[i]}; break ;;\n"
          "        esac\n"
          "    done\n"
          "    _aggtrades_value \"$cmd\" \"$prev\" && return\n"
          "    if [[ -z $cmd && $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$global --version\" -- \"$cur\"))\n"
          "    elif [[ -z $cmd ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$cmds\" -- \"$cur\"))\n"
          "    elif [[ $cur == -* ]]; then\n"
          "        case $cmd in\n",
          f);
    command_cases(cmds, f, 1);
    fputs("        esac\n"
          "    else\n"
          "        case $cmd in\n",
          f);
    command_cases(cmds, f, 0);
    fputs("            help) COMPREPLY=($(compgen -W \"$cmds\" -- \"$cur\")) ;;\n"
          "        esac\n"
          "    fi\n"
          "}\n"
          "complete -F _aggtrades aggtrades cli\n",
          f);
}
