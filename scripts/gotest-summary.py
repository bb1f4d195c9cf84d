#!/usr/bin/env python3
"""Reads `go test -json` on stdin and prints what a person needs: each package's
result as it finishes, the full output of every failed test, every skipped test
with its reason, and a closing line "N passed, N failed, N skipped".

Exits 1 when a test or package failed, or when a test skipped that is not listed
in the expected-skips file (argv[1]; one "Package TestName" per line, # comments):
under CI nothing may skip silently."""
import json
import sys

expected = set()
if len(sys.argv) > 1:
    try:
        with open(sys.argv[1]) as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    expected.add(line)
    except FileNotFoundError:
        pass

outputs = {}      # (package, test) -> [lines]
passed = failed = 0
skipped = []      # (package, test, reason)
failed_pkgs = []
for raw in sys.stdin:
    try:
        ev = json.loads(raw)
    except json.JSONDecodeError:
        sys.stdout.write(raw)  # build errors and the like
        continue
    pkg, test, action = ev.get("Package", ""), ev.get("Test"), ev.get("Action")
    key = (pkg, test)
    if action == "output":
        outputs.setdefault(key, []).append(ev.get("Output", ""))
        continue
    if test is None:
        if action in ("pass", "fail", "skip"):
            word = {"pass": "ok  ", "fail": "FAIL", "skip": "?   "}[action]
            print(f"{word}\t{pkg}\t{ev.get('Elapsed', 0):.1f}s", flush=True)
            if action == "fail":
                failed_pkgs.append(pkg)
                body = "".join(outputs.get(key, []))
                if body.strip():
                    print(body, end="")
        continue
    if action == "pass":
        passed += 1
    elif action == "fail":
        failed += 1
        print(f"--- FAIL: {pkg} {test}")
        print("".join(outputs.get(key, [])), end="", flush=True)
    elif action == "skip":
        lines = [l.strip() for l in outputs.get(key, []) if l.strip() and not l.strip().startswith(("=== ", "--- SKIP"))]
        skipped.append((pkg, test, lines[-1] if lines else ""))
    if action in ("pass", "fail", "skip"):
        outputs.pop(key, None)

unexpected = [s for s in skipped if f"{s[0]} {s[1]}" not in expected and f"{s[0]} {s[1].split('/')[0]}" not in expected]
if skipped:
    print(f"\nskipped tests ({len(skipped)}):")
    for pkg, test, why in skipped:
        mark = "" if (pkg, test, why) not in unexpected else "  <- not in the expected skips"
        print(f"  {pkg} {test}: {why}{mark}")
print(f"\n{passed} passed, {failed} failed, {len(skipped)} skipped")
if failed or failed_pkgs:
    sys.exit(1)
if unexpected:
    print(f"gotest-summary: {len(unexpected)} unexpected skip(s): a test that cannot run here must fail, not skip", file=sys.stderr)
    sys.exit(1)
