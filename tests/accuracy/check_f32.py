"""Build and run the exhaustive float32 checker of the smooth kernels (check_f32.c).

Every float32 input through the element functions of ``fastact/_backends``
(compiled as the extension compiles them: -O3 -ffp-contract=off, AVX2/AVX-512
target clones) against an independent libm reference; see check_f32.c. It
takes one to five minutes per kernel on two free cores, fifteen for the
derivatives of gelu's tanh form (about two hours for all 30): run it by
hand, not in CI.

    python tests/accuracy/check_f32.py              # every kernel
    python tests/accuracy/check_f32.py gelu silu    # some of them

Prints one line per kernel; exits with 1 if any kernel is beyond 1 ulp.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = HERE.parent.parent / "fastact" / "_backends"


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "check_f32"
        subprocess.run(
            ["gcc", "-O3", "-ffp-contract=off", "-fopenmp", f"-I{BACKENDS}",
             str(HERE / "check_f32.c"), "-o", str(exe), "-lm"],
            check=True,
        )  # fmt: skip
        return subprocess.run([str(exe), *argv]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
