"""The tool's commands as a user and a shell see them, for every command listed
by ``aggtrades --help`` (none named here, so a new command is covered as soon
as it is in the tool's table):

- ``aggtrades CMD --help`` documents every option, and the parser accepts each
  one it documents (with a value the shell completion offers, or a plain one);
- an unknown option is refused (exit 2, one line, nothing written);
- the bash completion script, sourced by a real bash, is registered
  (``complete -p``) and completes each command from a partial word, each of its
  options (the same set as its help) from ``--`` and from a partial option,
  and the values of options with a fixed set;
- the zsh completion script, installed on a real zsh's ``fpath`` and loaded by
  ``compinit``, completes the same commands and options through zsh's own
  completion system (driven in a pseudo-terminal with ``zsh/zpty``). Skipped
  when zsh is not installed (``make deps`` installs it).

The tool's help, parser and both scripts come from one descriptor per command
(tools/aggtrades/cli.h); these tests hold them to each other.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGT_BIN", str(REPO / "build" / "aggtrades"))

pytestmark = pytest.mark.skipif(not Path(BIN).exists(), reason=f"no binary at {BIN}")

OPTION = re.compile(r"^  (--[a-z][a-z-]*)( [A-Z]+)?(?:  |$)", re.M)


def tool(*args: str, root: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGT_")}
    if root is not None:
        env["AGT_ROOT"] = str(root)
    return subprocess.run([BIN, *args], capture_output=True, text=True, env=env, timeout=60)


def commands() -> list[str]:
    usage = tool("--help").stdout
    section = usage.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^  ([a-z]+) ", section, re.M)


def own_options(cmd: str) -> dict[str, bool]:
    """{option: takes a value} from the "Options:" section of CMD --help."""
    text = tool(cmd, "--help").stdout
    if "\nOptions:\n" not in text:
        return {}
    section = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    return {m[0]: bool(m[1]) for m in OPTION.findall(section)}


def global_options() -> dict[str, bool]:
    text = tool("--help").stdout
    section = text.split("Global options", 1)[1].split("\n\n", 1)[0]
    return {m[0]: bool(m[1]) for m in OPTION.findall(section)}


COMMANDS = commands()


def test_help_lists_commands() -> None:
    assert len(COMMANDS) >= 6 and len(set(COMMANDS)) == len(COMMANDS), COMMANDS
    assert len(global_options()) >= 10


# --------------------------------------------------------------------------
# bash: the script sourced by a real bash


def bash_completions(lines: list[str], root: Path) -> list[list[str]]:
    """What the bash completion offers for each partial command line (the word
    being completed is the last one; an empty last word completes a new one)."""
    script = tool("completion", "bash").stdout
    calls = []
    for line in lines:
        words = line.split(" ")
        arr = " ".join(shlex.quote(w) for w in words)
        calls.append(f"COMP_WORDS=({arr}); COMP_CWORD={len(words) - 1}; COMPREPLY=(); _aggtrades;"
                     ' printf "%s\\n" "${COMPREPLY[*]}"')
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", script + "\n" + "\n".join(calls)],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "AGT_ROOT": str(root)})
    assert out.returncode == 0, out.stderr
    got = out.stdout.split("\n")[:-1]
    assert len(got) == len(lines), out.stdout
    return [g.split() for g in got]


def test_bash_script_registers_for_both_names(tmp_path: Path) -> None:
    script = tmp_path / "aggtrades.bash"
    script.write_text(tool("completion", "bash").stdout)
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                        f"source {shlex.quote(str(script))} && complete -p aggtrades && complete -p cli"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "complete -F _aggtrades aggtrades\ncomplete -F _aggtrades cli\n"


def test_bash_completes_every_command_and_option(tmp_path: Path) -> None:
    (tmp_path / "symbol=BTCUSDT").mkdir()
    globals_ = global_options()
    lines, expect = [], []
    lines.append("aggtrades ")
    expect.append(("exactly", set(COMMANDS) | {"help"}))
    for cmd in COMMANDS:
        lines.append(f"aggtrades {cmd[:2]}")
        expect.append(("has", {cmd}))
        own = own_options(cmd)
        no_globals = "Global options" not in tool(cmd, "--help").stdout
        offered = set(own) | {"--help"} | (set() if no_globals else set(globals_))
        lines.append(f"aggtrades {cmd} --")
        expect.append(("exactly", offered))
        for opt in own:
            lines.append(f"aggtrades {cmd} {opt[:5]}")
            expect.append(("has", {opt}))
    # operands: symbols from the lake, and the shells of `completion`
    lines += ["aggtrades query B", "aggtrades completion ", "aggtrades --quiet update "]
    expect += [("exactly", {"BTCUSDT"}), ("exactly", {"bash", "zsh"}), ("exactly", {"BTCUSDT"})]
    # values of options with a fixed set, before and after the command
    lines += ["aggtrades --color ", "aggtrades query BTCUSDT --output j", "aggtrades --paging "]
    expect += [("exactly", {"auto", "always", "never"}), ("exactly", {"json", "jsonl"}),
               ("exactly", {"time", "id"})]
    got = bash_completions(lines, tmp_path)
    for line, (how, want), have in zip(lines, expect, got):
        if how == "exactly":
            assert set(have) == want, f"{line!r}: offered {sorted(have)}, expected {sorted(want)}"
        else:
            assert want <= set(have), f"{line!r}: offered {sorted(have)}, expected {sorted(want)} among them"


# --------------------------------------------------------------------------
# the parser against the help


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_documented_option_is_accepted(tmp_path: Path, cmd: str) -> None:
    """Each option of CMD --help (its own and the global ones) is parsed: given
    before --help (which stops the command there), it is not refused. A value
    comes from the bash completion (the option's fixed set) or is a plain one."""
    opts = own_options(cmd)
    if "Global options" in tool(cmd, "--help").stdout:
        opts |= global_options()
    valued = [o for o, v in opts.items() if v]
    offered = bash_completions([f"aggtrades {cmd} {o} " for o in valued], tmp_path)
    values = {o: (c[0] if c else "1") for o, c in zip(valued, offered)}
    for opt, takes in opts.items():
        args = [opt, values[opt]] if takes else [opt]
        p = tool(cmd, *args, "--help", root=tmp_path / "lake")
        assert p.returncode == 0, f"{cmd} {' '.join(args)}: {p.stderr}"
        assert p.stdout.startswith(f"usage: aggtrades {cmd}")
    assert not (tmp_path / "lake").exists()


@pytest.mark.parametrize("cmd", COMMANDS)
def test_unknown_option_is_refused(tmp_path: Path, cmd: str) -> None:
    p = tool(cmd, "BTCUSDT", "--no-such-option", root=tmp_path / "lake")
    assert p.returncode == 2
    assert p.stderr == f"aggtrades: unknown option '--no-such-option' (see 'aggtrades {cmd} --help')\n"
    assert p.stdout == "" and not (tmp_path / "lake").exists()
    # a flag given a value, and a value option without one
    own = own_options(cmd)
    for opt, takes in own.items():
        p = tool(cmd, opt if takes else f"{opt}=1", root=tmp_path / "lake")
        assert p.returncode == 2, (cmd, opt)
        expect = "needs a value" if takes else "takes no value"
        assert p.stderr == f"aggtrades: option '{opt}' {expect}\n", (cmd, opt)
    assert not (tmp_path / "lake").exists()


# --------------------------------------------------------------------------
# zsh: the script on a real zsh's fpath, completions through zpty

ZSH = shutil.which("zsh")

# Drives an interactive zsh in a pseudo-terminal: compinit loads _aggtrades from
# the fpath (its #compdef line, as when installed), compadd is wrapped to print
# every candidate it adds as <hit>...</hit>, and each line of $CASES is typed
# and completed with a TAB (bound to complete-word, then a mark: what follows is
# typed only once it is done), then cleared (^U); "<line>" starts each one's hits.
ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1='' PROMPT='' RPROMPT=''"
zpty -w z "fpath=($FPATHDIR \$fpath) && autoload -U compinit && compinit -u -d $FPATHDIR/.zcompdump"
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  local -a __hits; builtin compadd -A __hits "$@"; local h
  for h in $__hits; do print -r -- "<h""it>$h</h""it>"; done
  builtin compadd "$@"
}'
zpty -w z 'tab-then-mark () { zle complete-word; print -r -- "<comp""leted>" }'
zpty -w z 'zle -N tab-then-mark && bindkey "^I" tab-then-mark'
zpty -w z "print '<rea''dy>'"
zpty -r z out '*<ready>*' || exit 4
for l in "${(@f)CASES}"; do
  zpty -w -n z "$l"$'\t'
  zpty -r z out '*<completed>*' || exit 6
  zpty -w z $'\C-u'"print '<do''ne>'"
  zpty -r z rest '*<done>*' || exit 5
  print -r -- "<line>$out"
done
zpty -d z
"""


def zsh_completions(lines: list[str], tmp_path: Path) -> list[set[str]]:
    fdir = tmp_path / "site-functions"
    fdir.mkdir()
    (fdir / "_aggtrades").write_text(tool("completion", "zsh").stdout)
    env = {**os.environ, "FPATHDIR": str(fdir), "CASES": "\n".join(lines), "TERM": "dumb",
           "HOME": str(tmp_path), "AGT_ROOT": str(tmp_path)}
    p = subprocess.run([ZSH, "-f", "-c", ZSH_DRIVER], capture_output=True, text=True, env=env,
                       timeout=600)  # a loaded machine: each TAB waits for its completion
    assert p.returncode == 0, p.stderr
    parts = p.stdout.split("<line>")[1:]
    assert len(parts) == len(lines), p.stdout
    return [set(re.findall(r"<hit>(.*?)</hit>", part)) for part in parts]


@pytest.mark.skipif(ZSH is None, reason="zsh is not installed (make deps installs it)")
def test_zsh_completes_every_command_and_option(tmp_path: Path) -> None:
    r = subprocess.run([ZSH, "-n"], input=tool("completion", "zsh").stdout, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (tmp_path / "symbol=BTCUSDT").mkdir()
    globals_ = set(global_options())
    lines, expect = ["aggtrades "], [set(COMMANDS) | {"help"}]
    for cmd in COMMANDS:
        no_globals = "Global options" not in tool(cmd, "--help").stdout
        lines.append(f"aggtrades {cmd} --")
        expect.append(set(own_options(cmd)) | {"--help"} | (set() if no_globals else globals_))
    lines += ["aggtrades query ", "aggtrades completion ", "aggtrades --color ",
              "aggtrades download --so", "aggtrades query BTCUSDT --output "]
    expect += [{"BTCUSDT"}, {"bash", "zsh"}, {"auto", "always", "never"}, {"--source"},
               {"table", "csv", "json", "jsonl", "parquet"}]
    got = zsh_completions(lines, tmp_path)
    for line, want, have in zip(lines, expect, got):
        assert have == want, f"{line!r}: zsh offered {sorted(have)}, expected {sorted(want)}"
