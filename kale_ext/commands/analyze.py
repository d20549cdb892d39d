"""`kale-ext analyze NOTEBOOK [--json]`: the pipeline a notebook makes, and every diagnostic.

Exit 0 without error diagnostics, 1 with (the report is still printed), 2 for unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="analyze a notebook's variable flow and print its pipeline and diagnostics")
    p.add_argument("notebook", help="path to a .ipynb file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a readable summary")
    p.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from ..analysis import analyze, format_text
    from ..api.codec import to_builtins
    from ..api.convert import analysis_from_pipeline
    from ..notebook import load_notebook, pipeline_name_for

    nb = load_notebook(args.notebook)
    pipeline = analyze(nb, name=pipeline_name_for(args.notebook))
    if args.json:  # the same Analysis model POST /kale/v1/analyze answers
        json.dump(to_builtins(analysis_from_pipeline(pipeline.to_json())), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        text = format_text(pipeline)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 1 if pipeline.has_errors else 0
