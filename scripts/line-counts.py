#!/usr/bin/env python3
"""Non-test lines of the crates that set up the examples' tracing.

    python3 scripts/line-counts.py            # this checkout
    python3 scripts/line-counts.py --rev REV  # a commit, read with git show

A non-test line is a non-blank line of `src/` outside a `#[cfg(test)]`
module (tests are counted apart); comment lines are shown separately, and
`lines` counts every line outside tests, blank ones too. The
length of `common::telemetry::init` is from `pub fn init` to its closing
brace.
"""

import argparse
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["common", "otlp-config", "otlp-delivery"]


def files(rev, crate):
    if rev is None:
        out = []
        for base, _, names in os.walk(os.path.join(ROOT, crate, "src")):
            out += [os.path.relpath(os.path.join(base, n), ROOT) for n in names if n.endswith(".rs")]
        return sorted(out)
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, f"{crate}/src"],
                             cwd=ROOT, capture_output=True, text=True).stdout
    return [f for f in listing.split() if f.endswith(".rs")]


def read(rev, path):
    if rev is None:
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return f.read()
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout


def count(text):
    """(code, comments, test, lines): non-blank lines, and all lines outside tests."""
    code = comments = test = blank = 0
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*mod \w+ \{", lines[i + 1]):
            depth = 0
            while i < len(lines):
                depth += lines[i].count("{") - lines[i].count("}")
                test += bool(lines[i].strip())
                i += 1
                if depth == 0 and "{" in "".join(lines[i - 2:i]) and lines[i - 1].strip() == "}":
                    break
            continue
        if line:
            if line.startswith("//"):
                comments += 1
            else:
                code += 1
        else:
            blank += 1
        i += 1
    return code, comments, test, code + comments + blank


def init_length(rev):
    try:
        text = read(rev, "common/src/telemetry.rs")
    except subprocess.CalledProcessError:
        return None
    m = re.search(r"^pub fn init\(.*?^\}", text, re.S | re.M)
    return len(m.group(0).splitlines()) if m else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="a commit instead of the checkout")
    rev = parser.parse_args().rev
    print(f"{'file':44} {'code':>6} {'comments':>9} {'tests':>6} {'lines':>6}")
    for crate in CRATES:
        total = [0, 0, 0, 0]
        names = files(rev, crate)
        if not names:
            continue
        for path in names:
            c = count(read(rev, path))
            total = [a + b for a, b in zip(total, c)]
            print(f"  {path:42} {c[0]:6} {c[1]:9} {c[2]:6} {c[3]:6}")
        print(f"{crate:44} {total[0]:6} {total[1]:9} {total[2]:6} {total[3]:6}"
              f"   non-test: {total[0] + total[1]} non-blank, {total[3]} in all")
    print(f"telemetry::init: {init_length(rev)} lines")


main()
