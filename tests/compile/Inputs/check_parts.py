"""Checks the parts of a module compiled with `attnc compile -j N`.

Usage: check_parts.py ONE_PART.ll PART0.ll PART1.ll ...

ONE_PART.ll is llvm-opt.ll of the same model compiled with -j 1. Prints one
line per property (parts.test FileChecks them):
- every part defines some code;
- no function that is not internal is defined in two parts (the linker
  would see it twice);
- every function the one-part module defines is defined in some part;
- a function one part declares and another defines is hidden in both (not
  exported from the artifact);
- OpenMP-outlined bodies are in their function's part;
- how many kernels (NAME__kN) the parts define and that each is in one part.
"""
import re
import sys

DEFINE = re.compile(r"^define\s+([^@]*)@([\w.$\"]+)\(")
DECLARE = re.compile(r"^declare\s+([^@]*)@([\w.$\"]+)\(")


def read(path):
    defined, declared = {}, {}
    with open(path) as f:
        for line in f:
            m = DEFINE.match(line)
            if m:
                defined[m.group(2)] = m.group(1).split()
                continue
            m = DECLARE.match(line)
            if m:
                declared[m.group(2)] = m.group(1).split()
    return defined, declared


def main():
    one, _ = read(sys.argv[1])
    parts = [read(p) for p in sys.argv[2:]]
    print(f"parts {len(parts)}, every part defines code: "
          f"{'yes' if all(d for d, _ in parts) else 'no'}")

    homes = {}
    for i, (defined, _) in enumerate(parts):
        for name, words in defined.items():
            homes.setdefault(name, []).append((i, words))
    twice = sorted(n for n, h in homes.items()
                   if len(h) > 1 and any("internal" not in w for _, w in h))
    print("defined in more than one part, not internal: " + (", ".join(twice) or "none"))

    missing = sorted(n for n in one if n not in homes)
    print("missing from the parts: " + (", ".join(missing) or "none"))

    exposed = []
    for i, (_, declared) in enumerate(parts):
        for name, words in declared.items():
            home = [w for j, w in homes.get(name, []) if j != i]
            if not home:
                continue  # a library function (libomp, libm, the allocator slots)
            if "hidden" not in words or any("hidden" not in w for w in home):
                exposed.append(name)
    print("cross-part references not hidden: " + (", ".join(sorted(set(exposed))) or "none"))

    # OpenMP-outlined bodies (NAME..omp_par[.N]) stay in their function's
    # part (where the function itself survived O3's inlining).
    apart = []
    for name, h in homes.items():
        if "..omp_par" not in name:
            continue
        parent = homes.get(name.split("..omp_par")[0])
        if parent and {i for i, _ in parent} != {i for i, _ in h}:
            apart.append(name)
    print("outlined bodies apart from their function: " + (", ".join(sorted(apart)) or "none"))

    kernels = {n: h for n, h in homes.items() if re.search(r"__k\d+$", n)}
    single = sum(1 for h in kernels.values() if len(h) == 1)
    print(f"kernels defined in the parts: {len(kernels)}, each in one part: "
          f"{'yes' if single == len(kernels) else 'no'}")


if __name__ == "__main__":
    main()
