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
    from ..notebook import load_notebook, pipeline_name_for

    nb = load_notebook(args.notebook)
    pipeline = analyze(nb, name=pipeline_name_for(args.notebook))
    if args.json:
        # What POST /kale/v1/analyze answers through the Analysis model (tests/api/test_convert.py proves the two are
        # equal); printed from the pipeline's own JSON so that this command does not pay for importing the models.
        json.dump(pipeline.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        text = format_text(pipeline)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 1 if pipeline.has_errors else 0
