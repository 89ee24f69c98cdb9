#!/usr/bin/env python3
"""gen_unicode_tables.py: writes common/text/utf8_tables.c from Python's own str methods.

The text pipeline must agree with CPython code point for code point, so the
tables are taken from the behaviour of the running interpreter rather than
from the Unicode data files:

  space           chr(c).isspace()              (what str.split() splits on)
  word            chr(c).isalnum() or c == '_'  (what re's \\w matches in str patterns)
  lower           chr(c).lower()                (full mapping; U+0130 gives two code points)
  case_ignorable  and
  cased           the two properties str.lower() consults for the final-sigma
                  rule, read back from how it lowers 'A' + c + 'Σ' and c + 'Σ'.
                  "cased" is only meaningful for code points that are not
                  case-ignorable (CPython skips those before testing cased),
                  so the table holds Cased minus Case_Ignorable.

Every table is checked against the interpreter before it is written.
Run: python3 tools/gen_unicode_tables.py > common/text/utf8_tables.c
"""
import re
import sys
import unicodedata

MAX = 0x110000


def is_surrogate(c):
    return 0xD800 <= c < 0xE000


def code_points():
    return (c for c in range(MAX) if not is_surrogate(c))


def ranges(cps):
    out = []
    for c in cps:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def lower_runs(mapping):
    """Groups single code point mappings into runs (lo, hi, delta, stride):
    every stride-th code point from lo to hi maps to itself + delta."""
    runs = []
    for c in sorted(mapping):
        d = mapping[c] - c
        if runs:
            lo, hi, delta, stride = runs[-1]
            if delta == d:
                if stride == 0 and c - hi in (1, 2):
                    runs[-1] = [lo, c, delta, c - hi]
                    continue
                if stride and c - hi == stride:
                    runs[-1][1] = c
                    continue
        runs.append([c, c, d, 0])
    for r in runs:
        if r[3] == 0:
            r[3] = 1
    return runs


def final_sigma(s):
    return s.lower()[-1] == "\u03c2"


def main():
    space = [c for c in code_points() if chr(c).isspace()]
    word = [c for c in code_points() if chr(c).isalnum() or c == 0x5F]
    wre = re.compile(r"\w")
    assert all(bool(wre.match(chr(c))) == (c in set(word)) for c in range(0x3000))
    assert all(len(("a" + chr(c) + "b").split()) == (2 if c in set(space) else 1)
               for c in range(0x3100))

    single, multi = {}, {}
    for c in code_points():
        lo = chr(c).lower()
        if len(lo) == 1:
            if ord(lo) != c:
                single[c] = ord(lo)
        else:
            multi[c] = [ord(x) for x in lo]
    assert len(multi) <= 4 and all(len(v) <= 3 for v in multi.values())
    runs = lower_runs(single)
    rebuilt = {}
    for lo, hi, delta, stride in runs:
        for c in range(lo, hi + 1, stride):
            rebuilt[c] = c + delta
    assert rebuilt == single

    ignorable, cased = [], []
    for c in code_points():
        ch = chr(c)
        t1 = final_sigma("A" + ch + "\u03a3")  # ignorable or cased
        t2 = final_sigma(ch + "\u03a3")  # cased and not ignorable
        if t1 and not t2:
            ignorable.append(c)
        if t2:
            cased.append(c)
    sig, sca = set(ignorable), set(cased)
    # The forward half of the rule must agree with the same two sets.
    for c in code_points():
        want = c in sig or c not in sca
        assert (("A\u03a3" + chr(c)).lower()[1] == "\u03c2") == want, hex(c)

    w = sys.stdout.write
    w("/*\n * utf8_tables.c: Unicode tables for common/text/utf8.c. GENERATED, do not edit.\n")
    w(" *\n * Written by tools/gen_unicode_tables.py from Python %s (unicodedata,\n"
      % sys.version.split()[0])
    w(" * Unicode %s) so that the predicates agree with CPython's str.split(),\n"
      % unicodedata.unidata_version)
    w(" * str.lower() and re's \\w exactly. Range tables are sorted and disjoint\n")
    w(" * (binary search); lower-case runs map every stride-th code point of\n")
    w(" * [lo, hi] to itself + delta.\n */\n")
    w('#include "common/text/utf8.h"\n\n')
    w("const char utf8_tab_unicode_version[] = \"%s\";\n\n" % unicodedata.unidata_version)

    def emit_ranges(name, cps, what):
        rs = ranges(cps)
        w("/* %s: %d code points in %d ranges. */\n" % (what, len(cps), len(rs)))
        w("const utf8_range_t utf8_tab_%s[] = {\n" % name)
        line = "   "
        for lo, hi in rs:
            item = " {0x%X, 0x%X}," % (lo, hi)
            if len(line) + len(item) > 78:
                w(line + "\n")
                line = "   "
            line += item
        w(line + "\n};\n")
        w("const size_t utf8_tab_%s_n = %d;\n\n" % (name, len(rs)))

    emit_ranges("space", space, "str.isspace()")
    emit_ranges("word", word, "str.isalnum() or '_'")
    emit_ranges("case_ignorable", ignorable, "Case_Ignorable, as str.lower() sees it")
    emit_ranges("cased", cased, "Cased and not Case_Ignorable, as str.lower() sees it")

    w("/* str.lower() of single code points mapping to one code point: %d code points\n"
      " * in %d runs. */\n" % (len(single), len(runs)))
    w("const utf8_lower_run_t utf8_tab_lower[] = {\n")
    line = "   "
    for lo, hi, delta, stride in runs:
        item = " {0x%X, 0x%X, %d, %d}," % (lo, hi, delta, stride)
        if len(line) + len(item) > 78:
            w(line + "\n")
            line = "   "
        line += item
    w(line + "\n};\n")
    w("const size_t utf8_tab_lower_n = %d;\n\n" % len(runs))

    w("/* str.lower() results longer than one code point. */\n")
    w("const utf8_lower_multi_t utf8_tab_lower_multi[] = {\n")
    for c in sorted(multi):
        v = multi[c] + [0] * (3 - len(multi[c]))
        w("    {0x%X, %d, {0x%X, 0x%X, 0x%X}},\n" % (c, len(multi[c]), v[0], v[1], v[2]))
    w("};\n")
    w("const size_t utf8_tab_lower_multi_n = %d;\n" % len(multi))


if __name__ == "__main__":
    main()
