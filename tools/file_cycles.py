#!/usr/bin/env python3
"""Calls between the files of a module, and the cycles among them.

Each module is a static library (build/libagt_<module>.a) holding one object per
source file. An object's undefined symbols that another object of the same
library defines are the edges of the module's file graph: a.c -> b.c when a.c
calls (or takes the address of, or reads) something b.c defines. Static
functions and header inlines never appear, so the graph is exactly what the
linker resolves between files.

    tools/file_cycles.py build/libagt_lake.a [more .a ...]        # check: exit 1 on a cycle
    tools/file_cycles.py --graph build/libagt_lake.a              # print every edge too
    tools/file_cycles.py --layers build/libagt_lake.a             # files by layer, bottom up

The rule it checks (docs/architecture.md): the files of one module call each other
in one direction only, so no file depends, directly or through others, on itself;
given several modules, the same holds between the modules.
Python standard library and binutils' nm only.
"""
import argparse
import os
import subprocess
import sys
from collections import defaultdict


def members(archive):
    """{object name: (defined symbols, undefined symbols)} of one static library."""
    out = subprocess.run(["nm", "-A", "--no-sort", archive], check=True,
                         capture_output=True, text=True).stdout
    objs = defaultdict(lambda: (set(), set()))
    for line in out.splitlines():
        # "lib.a:file.c.o:0000000000000000 T name" or "lib.a:file.c.o:                 U name"
        where, _, rest = line.rpartition(":")
        obj = where.split(":", 1)[1] if ":" in where else where
        fields = rest.split()
        if len(fields) < 2:
            continue
        kind, name = fields[-2], fields[-1]
        defined, undefined = objs[obj]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():            # global text, data, bss, read-only data
            defined.add(name)
    return {obj.removesuffix(".o"): syms for obj, syms in objs.items()}


def file_graph(archive):
    """{file: {file it uses: [symbols]}} within one static library."""
    objs = members(archive)
    owner = {}
    for obj, (defined, _) in objs.items():
        for name in defined:
            owner[name] = obj
    graph = {obj: defaultdict(list) for obj in objs}
    for obj, (_, undefined) in objs.items():
        for name in sorted(undefined):
            target = owner.get(name)
            if target is not None and target != obj:
                graph[obj][target].append(name)
    return graph


def cycles(graph):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def module_graph(archives):
    """{module: {module it uses: [symbols]}} across the given libraries."""
    syms = {}
    for archive in archives:
        module = os.path.basename(archive).removeprefix("libagt_").removesuffix(".a")
        objs = members(archive).values()
        syms[module] = (set().union(*(d for d, _ in objs)), set().union(*(u for _, u in objs)))
    graph = {m: defaultdict(list) for m in syms}
    for m, (_, undefined) in syms.items():
        for other, (defined, _) in syms.items():
            if other != m and undefined & defined:
                graph[m][other] = sorted(undefined & defined)
    return graph


def layers(graph):
    """Files by layer: 0 calls no other file, n calls only files of layers below n."""
    depth = {}

    def visit(v):
        if v not in depth:
            depth[v] = 0  # a cycle (reported elsewhere) must not recurse forever
            depth[v] = 1 + max((visit(w) for w in graph[v]), default=-1)
        return depth[v]

    for v in graph:
        visit(v)
    return [sorted(v for v in graph if depth[v] == k) for k in range(max(depth.values()) + 1)]


def report(label, graph, show_edges, noun="files"):
    """Print the graph's edges (show_edges) and its cycles; 1 if it has one."""
    if show_edges:
        for src in sorted(graph):
            for dst in sorted(graph[src]):
                print(f"{label}: {src} -> {dst}  ({', '.join(graph[src][dst])})")
    found = cycles(graph)
    for component in found:
        print(f"{label}: {noun} that call each other in a cycle: {' '.join(component)}")
        for src in component:
            for dst in sorted(graph[src]):
                if dst in component:
                    print(f"    {src} -> {dst}  ({', '.join(graph[src][dst])})")
    if not found:
        print(f"{label}: {len(graph)} {noun}, no cycle")
    return 1 if found else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archives", nargs="+", help="static libraries, one per module")
    parser.add_argument("--graph", action="store_true", help="print every edge")
    parser.add_argument("--layers", action="store_true", help="print the files by layer")
    args = parser.parse_args()
    failed = 0
    for archive in args.archives:
        module = os.path.basename(archive).removeprefix("libagt_").removesuffix(".a")
        graph = file_graph(archive)
        if args.layers:
            for k, files in enumerate(layers(graph)):
                print(f"{module}: layer {k}: {' '.join(files)}")
        failed |= report(module, graph, args.graph)
    if len(args.archives) > 1:  # and the modules among themselves
        failed |= report("modules", module_graph(args.archives), args.graph, "modules")
    return failed


if __name__ == "__main__":
    sys.exit(main())
