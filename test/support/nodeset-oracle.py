#!/usr/bin/python3
"""Writes test/unit/fixtures/nodeset-clustershell.json: ClusterShell's own answers for several
hundred node-set expressions (hand-picked edge cases plus generated ones), so that
test/unit/nodeset-clustershell.test.ts can hold rdsctl to them without ClusterShell in CI.

Run: /usr/bin/python3 test/support/nodeset-oracle.py   (Debian python3-clustershell 1.9)
Each case: {"expr", "ok": true, "count", "sha256" of the sorted names joined by newlines, "nodes"
(when at most 40), "folded": str(NodeSet)} or {"expr", "ok": false, "error"}.
The group table (and "cluster" as the default source) is written into the file for the test's resolver.
"""
import hashlib
import json
import os
import random

import ClusterShell
from ClusterShell.NodeSet import NodeSet
from ClusterShell.NodeUtils import GroupResolver, GroupSource

GROUPS = {
    "cluster": {
        "c1": "nc-a[01-03]",
        "c2": "nc-b[01-02],nc-a03",
        "rack1": "r1n[1-4]",
        "rack2": "r2n[1-4]",
        "big": "art[1-40]-ib0",
    },
    "zone": {
        "z1": "nc-a02,nc-b01",
        "z2": "nc-a[01-02],127.0.0.[1-3]",
    },
}

resolver = GroupResolver(GroupSource("cluster", GROUPS["cluster"]))
resolver.add_source(GroupSource("zone", GROUPS["zone"]))

HAND = [
    # digits right before a bracket, bounds of different widths
    "prod-2[10-320]", "prod-2[10-12]", "n2[1-9]", "n2[8-12]", "n0[1-9]", "n0[1-10]", "n1[0-9]",
    "n2[1,3,5]", "n2[1-10/3]", "n12[5-15]", "n0[08-12]", "n00[1-9]", "x9[99-101]",
    # padding
    "n[1-010]", "n[01-10]", "n[001-010]", "n[01-1]", "n[1-01]", "n[00-10]", "n[000-10]", "n[0-00]",
    "n[00-00]", "n[08-11]", "n[007]", "n[1,01]", "n[1-3,01-03]", "n[9,08,10]", "127.1.1.0[1-10]",
    "127.1.1.0[1-9]", "127.1.1.[1-10]", "127.0.0.[1-3]", "127.0.[0-1].[1-2]",
    # digits right after a bracket
    "n[1-3]0", "n[1-3]05", "n[8-12]0", "n[08-12]0", "n[0-10]0", "n[0]0", "n[0,5]0", "n[1-9/2]0",
    "n[1-2]0-x", "n[1-2]x[3-4]", "n[1-2]5[3-4]", "n[1-2][3-4]", "n[1-2]0[3-4]",
    # steps and whitespace
    "n[1-9/3]", "n[0-10/5]", "n[5/1]", "n[5/2]", "n[1-5/0]", "n[1 - 2]", "n[ 1 , 2 ]", "n[1- 3]",
    "n[ 1-3 ]", " n1 , n2 ", "n1 ,n2", "n[1 -3/2]", "n[1-3 /2]", "n[5 /1]", "n[1 2]",
    # operators
    "n[1-5]!n3", "n[1-5]!n[2-3]!n5", "n[1-5]&n[4-9]", "n1,n2!n2,n2", "n[1-3]&n[2-9],n7", "n1!n1",
    "n[1-3]^n[2-5]", "n[1-3]^n[1-3]", "n1^n2^n1", "n[1-10]!n[01-10]", "n[01-10]!n[1-10]",
    "n[1-5]^n[3-7]&n[1-6]", "a,b,a", "n[3,1,2]", "n[1-3],n2",
    # malformed
    "", "   ", "a,,b", "a,", ",a", "!a", "&a", "^a", "a!", "n[1-3", "n1-3]", "n[[1-2]]", "n[]",
    "n[5-1]", "n[a-b]", "n[1-2-3]", "n[1,,2]", "n]1[", "n[1]]", "n[-1]", "n[-3--1]", "n[-2-1]",
    # groups
    "@c1", "@cluster:c1", "@cluster:c2,nc-x1", "@cluster:c1!@zone:z1", "@c1,@c2&@zone:z1",
    "@cluster:rack[1-2]", "@rack[1-2]", "@cluster:*", "@zone:*", "@*", "@zone:z2&127.0.0.[2-9]",
    "@big", "@cluster:big!art[2-39]-ib0", "@c1^@zone:z1", "@c[1-2]",
    # folding over several dimensions
    "art[1-1000]-ib0", "r[1-2]-nc[01-03]", "r1-n[1-3],r2-n[1-2]", "a[1-3]b[1-3]c[1-2]",
    "r[1-2]-n[1-2],r3-n1", "x[1-3]-y[1-3]!x2-y2", "n1-[1-2],n2-[1-2]", "n1-[1-3],n2-[1-2]",
    "web,db,web", "n[1-2]a,n3b", "127.0.0.[1-3,10]", "127.0.0.1,127.0.1.1",
]


def answer(expr):
    try:
        ns = NodeSet(expr, resolver=resolver)
        nodes = sorted(str(n) for n in ns)
        case = {"expr": expr, "ok": True, "count": len(nodes),
                "sha256": hashlib.sha256("\n".join(nodes).encode()).hexdigest(), "folded": str(ns)}
        if len(nodes) <= 40:
            case["nodes"] = nodes  # readable when a case fails; big sets by count and hash only
        return case
    except Exception as exc:  # every parse failure: NodeSetParseError and friends
        return {"expr": expr, "ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}


def generated(rng, count):
    prefixes = ["n", "nc-a", "r1-n", "x", "prod-2", "n0", "a1b", "127.0.0.", "h-", "s9"]
    suffixes = ["", "", "", "-ib0", "0", "5", "x", ".e"]

    def number(width_bias):
        v = rng.choice([0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 19, 20, 99, 100, 101, 320])
        s = str(v)
        if rng.random() < width_bias:
            s = s.zfill(rng.choice([2, 3]))
        return s

    def element():
        kind = rng.random()
        if kind < 0.35:
            return number(0.2)
        a, b = number(0.15), number(0.15)
        if rng.random() < 0.95 and int(a) > int(b):
            a, b = b, a
        s = "%s-%s" % (a, b)
        if rng.random() < 0.15:
            s += "/%d" % rng.choice([1, 2, 3, 5])
        if rng.random() < 0.1:
            s = s.replace("-", rng.choice([" - ", "- ", " -"]), 1)
        return s

    def operand():
        out = rng.choice(prefixes)
        for i in range(rng.choice([1, 1, 1, 2])):
            if i:
                out += rng.choice(["-", "x", ".", "0", "-", ""])
            out += "[%s]" % ",".join(element() for _ in range(rng.choice([1, 1, 2, 3])))
        out += rng.choice(suffixes)
        if rng.random() < 0.08:
            out = rng.choice(["@c1", "@zone:z1", "@cluster:*", "@rack[1-2]"])
        return out

    seen = set()
    while len(seen) < count:
        expr = operand()
        for _ in range(rng.choice([0, 0, 1, 2])):
            expr += rng.choice([",", ",", "!", "&", "^"]) + operand()
        seen.add(expr)
    return sorted(seen)


def main():
    rng = random.Random(15)
    cases = [answer(e) for e in HAND + generated(rng, 500)]
    out = {
        "generator": "test/support/nodeset-oracle.py",
        "clustershell": ClusterShell.__version__,
        "default_source": "cluster",
        "groups": GROUPS,
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "unit", "fixtures", "nodeset-clustershell.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")
    ok = sum(1 for c in cases if c["ok"])
    print("%d cases (%d accepted by ClusterShell) -> %s" % (len(cases), ok, os.path.normpath(path)))


if __name__ == "__main__":
    main()
