"""`python tests/faulty_app.py FAULT [app flags]`: the real app with one fault injected from
outside, so error paths are tested through the running app without a test mode in the code.

Faults: `fold-oom` (every ESMFold forward pass runs out of memory, as on a too-small GPU).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def inject(fault: str) -> None:
    if fault == "fold-oom":
        import torch

        from models.structure import folding

        def out_of_memory(*args, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected)")

        folding._infer = out_of_memory
    else:
        raise SystemExit(f"unknown fault {fault!r}")


if __name__ == "__main__":
    inject(sys.argv[1])
    import app

    app.main(sys.argv[2:])
