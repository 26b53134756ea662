"""Runs a command and fails unless it exits with the given code.

Usage: expect_exit.py CODE COMMAND [ARGS...]
Its output is passed through so FileCheck can read it.
"""
import subprocess
import sys

expected = int(sys.argv[1])
proc = subprocess.run(sys.argv[2:])
if proc.returncode != expected:
    sys.stderr.write(f"expect_exit: exit code {proc.returncode}, expected {expected}\n")
    sys.exit(1)
