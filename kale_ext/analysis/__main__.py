"""`python -m kale_ext.analysis NOTEBOOK [--json]`: the analysis alone, without the CLI (used by the benchmark).

Must not import tornado or jupyter_server.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    from ..errors import KaleError
    from ..notebook import load_notebook
    from . import analyze, format_text

    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 1:
        print("usage: python -m kale_ext.analysis NOTEBOOK [--json]", file=sys.stderr)
        return 2
    try:
        nb = load_notebook(paths[0])
    except KaleError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    pipeline = analyze(nb, name=os.path.basename(paths[0]).removesuffix(".ipynb"))
    if "--json" in argv:
        sys.stdout.write(json.dumps(pipeline.to_json(), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(format_text(pipeline))
    return 1 if pipeline.has_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
