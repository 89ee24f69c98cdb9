#!/usr/bin/env python3
"""check-cycles.py: fails when source files call each other in a cycle.

Reads the objects of a build (compile_commands.json names them), takes each
object's defined and undefined global symbols (nm), and draws an edge from a
file to every file that defines a symbol it uses. A cycle (a.c calls b.c,
which calls back into a.c, directly or through others) means two files that
cannot be read, tested or layered apart; the check lists each cycle with the
symbols that make it.

Scope: common/, services/ and the libraries of tools/ (not tests, benchmarks
or the files holding main()).

Usage: tools/check-cycles.py BUILD_DIR     check a configured and built tree
       tools/check-cycles.py --self-test   prove it catches a cycle
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def objects(build):
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    root = os.path.dirname(os.path.abspath(__file__ + "/.."))
    out = {}
    for e in entries:
        src = os.path.relpath(e["file"], root)
        if not re.match(r"(common|services|tools)/", src):
            continue
        if os.path.basename(src) == "main.c" or re.match(r"tools/[^/]+\.c$", src):
            continue
        m = re.search(r"\s-o\s+(\S+)", e["command"])
        if not m:
            continue
        obj = os.path.join(e["directory"], m.group(1))
        if os.path.exists(obj):
            out[src] = obj
    return out


def symbols(obj):
    defined, used = set(), set()
    text = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRC":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def cycles(objs):
    defs, uses = {}, {}
    for src, obj in objs.items():
        defs[src], uses[src] = symbols(obj)
    owners = {}
    for src, d in defs.items():
        for s in d:
            owners.setdefault(s, []).append(src)
    edges = {src: {} for src in objs}
    for src, u in uses.items():
        for s in u:
            o = owners.get(s, [])
            if len(o) == 1 and o[0] != src:
                edges[src].setdefault(o[0], []).append(s)
    # Tarjan's strongly connected components, iteratively.
    index, low, on, stack, comps, n = {}, {}, set(), [], [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = n[0]
        n[0] += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = n[0]
                    n[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                elif nxt in on:
                    low[v] = min(low[v], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    return [(c, [(a, b, sorted(edges[a][b])) for a in c for b in c if b in edges[a]]) for c in comps]


def report(found):
    for comp, links in found:
        print("cycle: " + " <-> ".join(comp))
        for a, b, syms in links:
            print("  %s calls %s: %s" % (a, b, ", ".join(syms[:6]) + (" ..." if len(syms) > 6 else "")))


def self_test():
    tmp = tempfile.mkdtemp()
    try:
        files = {
            "a.c": "int b(void); int a(void) { return b(); }",
            "b.c": "int a(void); int b(void) { return 1; } int b2(void) { return a(); }",
            "c.c": "int a(void); int c(void) { return a(); }",
        }
        objs = {}
        for name, body in files.items():
            with open(os.path.join(tmp, name), "w") as f:
                f.write(body + "\n")
            obj = os.path.join(tmp, name + ".o")
            subprocess.run(["cc", "-c", "-o", obj, os.path.join(tmp, name)], check=True)
            objs[name] = obj
        found = cycles(objs)
        if [c for c, _ in found] != [["a.c", "b.c"]]:
            print("self-test: expected the cycle a.c <-> b.c, found %r" % found)
            return 1
        del objs["b.c"]
        if cycles(objs):
            print("self-test: a tree without a cycle was refused")
            return 1
        print("check-cycles self-test: the a.c <-> b.c cycle was caught, the acyclic tree passed")
        return 0
    finally:
        shutil.rmtree(tmp)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if sys.argv[1] == "--self-test":
        return self_test()
    objs = objects(sys.argv[1])
    if not objs:
        print("check-cycles: no objects under %s (build first)" % sys.argv[1])
        return 1
    found = cycles(objs)
    if found:
        report(found)
        return 1
    print("check-cycles: %d source files, no call cycle between files" % len(objs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
