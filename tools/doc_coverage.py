#!/usr/bin/env python3
"""Measure doc-comment coverage of trajprobe's public and package Swift API.

Scans Sources/**/*.swift (or the paths given) for declarations that are
`public`, `package` or `open` -- func, init, var, let, struct, class, enum,
actor, protocol, typealias, associatedtype, subscript -- plus the members that
inherit that access without spelling it: the cases of a public enum, the
requirements of a public protocol and the members of a `public extension`.
A declaration counts as documented when the line above it (attribute lines
such as `@inlinable` or `@discardableResult` in between are skipped) ends a
`///` comment or a `/** ... */` block.

Prints coverage per module (the folder under Sources/) and, unless --quiet,
every undocumented declaration as file:line. With --min PCT it exits 1 when
the overall coverage is below PCT percent, so CI can hold the line.

  python3 tools/doc_coverage.py                      # whole package
  python3 tools/doc_coverage.py Sources/Media --quiet
  python3 tools/doc_coverage.py --min 90

Standard library only; a line-based scanner, not a Swift parser: it strips
string literals and comments before counting braces, which is enough for
this code base's formatting (one declaration per line).
"""
import argparse
import os
import re
import sys

EXPLICIT = {"public", "package", "open"}
MODIFIERS = (
    "public|package|open|internal|private|fileprivate|static|class|final|override|"
    "mutating|nonmutating|nonisolated|lazy|weak|unowned|required|convenience|dynamic|"
    "indirect|consuming|borrowing|distributed|optional"
)
KEYWORDS = (
    "func|init|var|let|struct|class|enum|protocol|typealias|case|subscript|extension|"
    "actor|associatedtype|macro"
)
DECL = re.compile(
    r"^(?:@[\w.]+(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?\s+)*"
    r"(?P<mods>(?:(?:" + MODIFIERS + r")(?:\([^)]*\))?\s+)*)"
    r"(?P<kw>" + KEYWORDS + r")(?![\w])"
)
TYPE_KEYWORDS = {"struct", "class", "enum", "protocol", "extension", "actor"}


def strip_code(lines):
    """Returns the lines with comments and string-literal contents blanked.

    State (block comments, multi-line strings) carries across lines so that
    braces inside them never count.
    """
    out = []
    in_block = 0          # nesting depth of /* */
    in_multi = False      # inside a """ string
    for line in lines:
        res = []
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if in_block:
                if line.startswith("*/", i):
                    in_block -= 1
                    i += 2
                elif line.startswith("/*", i):
                    in_block += 1
                    i += 2
                else:
                    i += 1
                continue
            if in_multi:
                if line.startswith('"""', i):
                    in_multi = False
                    res.append('"""')
                    i += 3
                elif c == "\\":
                    i += 2
                else:
                    i += 1
                continue
            if line.startswith("//", i):
                break
            if line.startswith("/*", i):
                in_block = 1
                i += 2
                continue
            if line.startswith('"""', i) or line.startswith('#"""', i):
                in_multi = True
                res.append('"""')
                i += 3 if c == '"' else 4
                continue
            if c == '"' or (c == "#" and line.startswith('#"', i)):
                hashes = 0
                while i < n and line[i] == "#":
                    hashes += 1
                    i += 1
                i += 1  # opening quote
                closing = '"' + "#" * hashes
                while i < n:
                    if line[i] == "\\" and hashes == 0:
                        i += 2
                        continue
                    if line.startswith(closing, i):
                        i += len(closing)
                        break
                    i += 1
                res.append('""')
                continue
            res.append(c)
            i += 1
        out.append("".join(res))
    return out


def has_doc(raw, idx):
    """True when the declaration at raw[idx] carries a doc comment above it."""
    j = idx - 1
    while j >= 0 and raw[j].strip().startswith("@"):
        j -= 1
    if j < 0:
        return False
    s = raw[j].strip()
    if s.startswith("///"):
        return True
    if s.endswith("*/"):
        k = j
        while k >= 0 and "/*" not in raw[k]:
            k -= 1
        return k >= 0 and "/**" in raw[k]
    return False


def scan(path):
    """Yields (line_number, declaration_text, documented) for every public declaration."""
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    code = strip_code(raw)
    # Each open brace pushes a scope: 'pubext' (members public by default),
    # 'pubproto', 'pubenum', 'type', or 'block' (bodies whose locals are never API).
    stack = []
    pending = None
    for idx, line in enumerate(code):
        s = line.strip()
        m = DECL.match(s)
        scope = stack[-1] if stack else "file"
        if m and not s.startswith("case let") and not s.startswith("case var"):
            mods = set(re.findall(r"[a-z]+", m.group("mods")))
            kw = m.group("kw")
            explicit = bool(mods & EXPLICIT)
            restricted = bool(mods & {"private", "fileprivate", "internal"})
            public = False
            if kw == "extension":
                public = False  # the extension itself is not a symbol
            elif kw == "case":
                public = scope == "pubenum" and mods <= {"indirect"}
            elif kw == "macro":
                public = explicit
            elif explicit:
                public = scope not in ("block",)
            elif scope in ("pubext", "pubproto") and not restricted:
                public = True
            if public:
                yield idx + 1, s, has_doc(raw, idx)
            if kw in TYPE_KEYWORDS and scope != "block":
                inherited = explicit or (scope == "pubext" and not restricted)
                if kw == "extension":
                    pending = "pubext" if explicit else "type"
                elif kw == "protocol":
                    pending = "pubproto" if inherited else "type"
                elif kw == "enum":
                    pending = "pubenum" if inherited else "type"
                else:
                    pending = "type"
        for c in line:
            if c == "{":
                stack.append(pending or "block")
                pending = None
            elif c == "}":
                if stack:
                    stack.pop()


def module_of(path):
    parts = path.replace(os.sep, "/").split("/")
    if "Sources" in parts:
        i = parts.index("Sources")
        if i + 1 < len(parts) - 1:
            return parts[i + 1]
    return parts[-2] if len(parts) > 1 else "."


def swift_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for name in sorted(files):
                if name.endswith(".swift"):
                    yield os.path.join(root, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="*", default=["Sources"],
                    help="files or folders to scan (default: Sources)")
    ap.add_argument("--min", type=float, metavar="PCT",
                    help="exit 1 when overall coverage is below PCT percent")
    ap.add_argument("--quiet", action="store_true",
                    help="print only the per-module table, not the undocumented symbols")
    args = ap.parse_args()

    totals = {}
    missing = []
    for path in swift_files(args.paths):
        mod = module_of(path)
        t = totals.setdefault(mod, [0, 0])
        for line_no, text, documented in scan(path):
            t[0] += 1
            if documented:
                t[1] += 1
            else:
                missing.append((path, line_no, text))

    all_decls = sum(t[0] for t in totals.values())
    all_docs = sum(t[1] for t in totals.values())
    print(f"{'module':<20} {'documented':>10} {'total':>6} {'coverage':>9}")
    for mod in sorted(totals):
        total, docs = totals[mod]
        if total == 0:
            continue
        print(f"{mod:<20} {docs:>10} {total:>6} {100.0 * docs / total:>8.1f}%")
    pct = 100.0 * all_docs / all_decls if all_decls else 100.0
    print(f"{'all':<20} {all_docs:>10} {all_decls:>6} {pct:>8.1f}%")
    if not args.quiet and missing:
        print(f"\nundocumented ({len(missing)}):")
        for path, line_no, text in missing:
            short = text if len(text) <= 100 else text[:97] + "..."
            print(f"{path}:{line_no}: {short}")
    if args.min is not None and pct < args.min:
        print(f"\ncoverage {pct:.1f}% is below --min {args.min:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
