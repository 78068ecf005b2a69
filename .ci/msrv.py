#!/usr/bin/env python3
"""The workspace's rust-version is the real minimum: no locked package needs a newer
Rust, and the newest any of them needs is exactly ours (so the number cannot drift
above or below what the lock file asks for).

Reads `cargo metadata --locked` (every package of Cargo.lock, dev- and build-
dependencies included: `cargo test` builds them too). Exit 1 with the offenders named.
"""
import json
import subprocess
import sys


def version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(meta["workspace_members"])
    ours = {p["rust_version"] for p in meta["packages"] if p["id"] in members}
    if len(ours) != 1 or None in ours:
        print(f"msrv: the workspace's crates do not share one rust-version: {ours}", file=sys.stderr)
        return 1
    ours = ours.pop()
    needs = [
        (version(p["rust_version"]), p["name"], p["version"])
        for p in meta["packages"]
        if p["id"] not in members and p.get("rust_version")
    ]
    newer = [n for n in needs if n[0] > version(ours)]
    if newer:
        named = ", ".join(f"{n} {v} (Rust {'.'.join(map(str, r))})" for r, n, v in sorted(newer))
        print(f"msrv: locked packages need a newer Rust than rust-version {ours}: {named}", file=sys.stderr)
        return 1
    highest = max(needs)[0] if needs else (0, 0, 0)
    if highest != version(ours):
        print(
            f"msrv: rust-version {ours} is above what any locked package needs "
            f"({'.'.join(map(str, highest))}): lower it to the real minimum",
            file=sys.stderr,
        )
        return 1
    top = sorted({f"{n} {v}" for r, n, v in needs if r == highest})
    print(f"msrv: rust-version {ours}, the newest any locked package needs ({', '.join(top)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
