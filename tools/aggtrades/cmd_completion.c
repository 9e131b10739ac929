/*
 * cmd_completion.c - "aggtrades completion bash|zsh": print a completion
 * script. Completes commands, each command's options, the values of
 * --output and --color, and symbols already in the lake (symbol=* folders
 * under --root / AGT_ROOT / ./data).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: aggtrades completion bash|zsh\n"
    "\n"
    "Print a shell completion script on standard output.\n"
    "\n"
    "Examples:\n"
    "  source <(aggtrades completion bash)          # bash, this shell\n"
    "  aggtrades completion bash > ~/.local/share/bash-completion/completions/aggtrades\n"
    "  aggtrades completion zsh > \"${fpath[1]}/_aggtrades\"   # zsh\n";

static const char bash_script[] =
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
    "}\n"
    "_aggtrades() {\n"
    "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
    "    local global=\"--root --market --api-url --archive-url --interval-ms --paging --low-speed-limit "
    "--low-speed-time --unit-deadline --color --no-progress --quiet --help\"\n"
    "    local cmds=\"download update query retry verify status completion help\"\n"
    "    case $prev in\n"
    "        --root|--file) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
    "        --color) COMPREPLY=($(compgen -W \"auto always never\" -- \"$cur\")); return ;;\n"
    "        --market) COMPREPLY=($(compgen -W \"spot um cm\" -- \"$cur\")); return ;;\n"
    "        --output) COMPREPLY=($(compgen -W \"table csv json\" -- \"$cur\")); return ;;\n"
    "        --source) COMPREPLY=($(compgen -W \"auto rest archive\" -- \"$cur\")); return ;;\n"
    "        --paging) COMPREPLY=($(compgen -W \"time id\" -- \"$cur\")); return ;;\n"
    "        --api-url|--archive-url|--interval-ms|--low-speed-limit|--low-speed-time|--unit-deadline"
    "|--start|--end|--limit|--jobs) return ;;\n"
    "    esac\n"
    "    local cmd= i\n"
    "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
    "        case ${COMP_WORDS[i]} in\n"
    "            --root|--market|--api-url|--archive-url|--interval-ms|--paging|--low-speed-limit"
    "|--low-speed-time|--unit-deadline|--color) ((i++)) ;;\n"
    "            -*) ;;\n"
    "            *) cmd=${COMP_WORDS[i]}; break ;;\n"
    "        esac\n"
    "    done\n"
    "    if [[ -z $cmd ]]; then\n"
    "        COMPREPLY=($(compgen -W \"$cmds $global --version\" -- \"$cur\")); return\n"
    "    fi\n"
    "    local opts=\n"
    "    case $cmd in\n"
    "        download) opts=\"--start --end --source --jobs\" ;;\n"
    "        update) opts=\"--force --source --jobs\" ;;\n"
    "        retry) opts=\"--jobs\" ;;\n"
    "        query) opts=\"--start --end --stats --output --file --force --limit\" ;;\n"
    "        verify) opts=\"--start --end --repair --source\" ;;\n"
    "        status) opts=\"--output\" ;;\n"
    "        completion) COMPREPLY=($(compgen -W \"bash zsh\" -- \"$cur\")); return ;;\n"
    "        help) COMPREPLY=($(compgen -W \"$cmds\" -- \"$cur\")); return ;;\n"
    "    esac\n"
    "    if [[ $cur == -* ]]; then\n"
    "        COMPREPLY=($(compgen -W \"$opts $global\" -- \"$cur\"))\n"
    "    else\n"
    "        case $cmd in\n"
    "            download|update|query|verify|status)\n"
    "                COMPREPLY=($(compgen -W \"$(_aggtrades_symbols)\" -- \"$cur\")) ;;\n"
    "        esac\n"
    "    fi\n"
    "}\n"
    "complete -F _aggtrades aggtrades cli\n";

static const char zsh_script[] =
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
    "}\n"
    "_aggtrades() {\n"
    "    local -a global\n"
    "    global=(\n"
    "        '--root[the lake directory]:directory:_files -/'\n"
    "        '--market[spot or a futures market]:market:(spot um cm)'\n"
    "        '--api-url[REST API base URL]:url:'\n"
    "        '--archive-url[archive base URL]:url:'\n"
    "        '--interval-ms[minimum gap between requests]:milliseconds:'\n"
    "        '--paging[how an hour is walked]:walk:(time id)'\n"
    "        '--low-speed-limit[abort a response slower than this]:bytes per second:'\n"
    "        '--low-speed-time[for this long]:seconds:'\n"
    "        '--unit-deadline[give up an hour or a day file after]:seconds:'\n"
    "        '--color[colour output]:when:(auto always never)'\n"
    "        '--no-progress[plain log lines instead of the live display]'\n"
    "        '--quiet[only errors]'\n"
    "        '(- *)--help[show help]'\n"
    "    )\n"
    "    local curcontext=$curcontext state line\n"
    "    _arguments -C $global '(- *)--version[print the version]' \\\n"
    "        '1:command:((download\\:\"fetch days into the lake\" update\\:\"fetch after the "
    "newest stored trade\" query\\:\"print, summarise or export trades\" retry\\:\"re-run "
    "failed units\" verify\\:\"check and repair stored hours\" status\\:\"what the lake "
    "holds per symbol\" completion\\:\"print a "
    "completion script\" help\\:\"show help\"))' \\\n"
    "        '*::arg:->args'\n"
    "    case $state in\n"
    "    args)\n"
    "        case ${words[1]} in\n"
    "        download) _arguments $global '--start[first day]:YYYY-MM-DD:' "
    "'--end[last day, inclusive]:YYYY-MM-DD:' '--source[where whole days come from]:source:(auto rest archive)' "
    "'--jobs[units fetched at once]:N:' '*:symbol:_aggtrades_symbols' ;;\n"
    "        update) _arguments $global '--force[re-fetch the whole stored range]' "
    "'--source[where whole days come from]:source:(auto rest archive)' "
    "'--jobs[units fetched at once]:N:' '*:symbol:_aggtrades_symbols' ;;\n"
    "        query) _arguments $global '--start[first instant]:time:' '--end[last "
    "instant]:time:' '--stats[aggregate]' "
    "'--output[format]:format:(table csv json jsonl parquet)' "
    "'--file[write to a file]:file:_files' '--force[replace an existing file]' "
    "'--limit[at most N rows]:N:' "
    "'1:symbol:_aggtrades_symbols' ;;\n"
    "        verify) _arguments $global '--start[first hour]:time:' '--end[last hour]:time:' "
    "'--repair[fetch damaged hours again]' "
    "'--source[with --repair, where whole days come from]:source:(auto rest archive)' "
    "'1:symbol:_aggtrades_symbols' ;;\n"
    "        retry) _arguments $global '--jobs[units fetched at once]:N:' ;;\n"
    "        status) _arguments $global '--output[format]:format:(table json)' "
    "'*:symbol:_aggtrades_symbols' ;;\n"
    "        completion) _arguments '1:shell:(bash zsh)' ;;\n"
    "        help) _arguments '1:command:(download update query retry verify status completion)' ;;\n"
    "        esac ;;\n"
    "    esac\n"
    "}\n"
    "_aggtrades \"$@\"\n";

int cmd_completion(int argc, char **argv, cli_ctx *ctx)
{
    const cli_opt opts[] = { { OPT_END, NULL, NULL } };
    char **pos;
    int npos;
    /* its help leaves out the global options: they do not apply */
    int rc = cli_parse(ctx, argc, argv, opts, NULL, &pos, &npos);
    if (rc) goto out;
    if (ctx->help) {
        fputs(usage, stdout);
        goto out;
    }
    if (npos != 1) {
        cli_error("completion needs one shell: bash or zsh");
        rc = EXIT_USAGE;
    } else if (!strcmp(pos[0], "bash")) {
        fputs(bash_script, stdout);
    } else if (!strcmp(pos[0], "zsh")) {
        fputs(zsh_script, stdout);
    } else {
        cli_error("unsupported shell '%s' (expected bash or zsh)", pos[0]);
        rc = EXIT_USAGE;
    }
out:
    free(pos);
    return rc;
}
