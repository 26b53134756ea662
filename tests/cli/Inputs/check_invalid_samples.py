"""Checks that every config in samples/invalid/ is rejected with the messages
its header comment promises.

A header line such as
  #   llama-typo.yaml:7:3: error: unknown field 'num_head' in 'attention'; ...
(a comment holding `NAME:LINE:COL: error|warning: MESSAGE`) must appear in
`attnc validate`'s output for that file, and validate must exit with 1.
Usage: check_invalid_samples.py ATTNC SAMPLES_INVALID_DIR
"""
import os
import re
import subprocess
import sys

attnc, folder = sys.argv[1], sys.argv[2]
promise = re.compile(r"^#\s+(\S+?:\d+:\d+: (?:error|warning): .*\S)\s*$")
failures, checked = [], 0
for name in sorted(os.listdir(folder)):
    if not name.endswith((".yaml", ".json")):
        continue
    path = os.path.join(folder, name)
    with open(path, encoding="utf-8", errors="replace") as f:
        promised = [m.group(1) for m in map(promise.match, f) if m]
    proc = subprocess.run([attnc, "validate", path], capture_output=True, text=True)
    # Messages name the file as given; compare on the base name.
    output = proc.stderr.replace(folder + "/", "")
    if proc.returncode != 1:
        failures.append(f"{name}: exit {proc.returncode}, expected 1")
    if not promised:
        failures.append(f"{name}: header promises no message")
    for line in promised:
        if line not in output:
            failures.append(f"{name}: promised\n  {line}\nbut got\n{output}")
    checked += 1
if checked < 8:
    failures.append(f"only {checked} invalid samples, expected at least 8")
for f in failures:
    print("FAIL:", f)
print(f"{checked} invalid samples checked, {len(failures)} failures")
sys.exit(1 if failures else 0)
