"""`kale-ext compile NOTEBOOK [-o FILE] [--image IMAGE] [--json] [--requirements]`: the pipeline as KFP v2 IR YAML.

Writes FILE (default: the notebook's name with .yaml, beside it; ``-o -`` prints the YAML). ``--json`` prints
{"file", "pipeline", "steps", "parameters", "requirements", "diagnostics"}; ``--requirements`` prints the pinned requirements the steps
install (one per line) and compiles nothing. Compile warnings (configuration that could not be compiled) go to stderr
with their cell. Exit 0 on success, 2 for unusable input: a notebook with analysis errors, the kfp extra missing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compile", help="compile a notebook's pipeline to Kubeflow Pipelines v2 IR YAML")
    p.add_argument("notebook", help="path to a .ipynb file")
    p.add_argument(
        "-o", "--output", metavar="FILE", help="where to write the YAML (default: NOTEBOOK.yaml; - prints it)"
    )
    p.add_argument("--image", metavar="IMAGE", help="base image of the steps without an image: tag")
    p.add_argument("--json", action="store_true", help="print one JSON object describing the compiled pipeline")
    p.add_argument(
        "--requirements", action="store_true", help="print the pinned requirements the steps install, then exit"
    )
    p.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from ..analysis import analyze
    from ..errors import InvalidRequestError
    from ..notebook import load_notebook, pipeline_name_for
    from ..runners.kfp.compiler import compile_pipeline, refuse
    from ..runners.kfp.requirements import compute_requirements

    if args.json and args.output == "-":
        raise InvalidRequestError("-o - prints the YAML and --json prints a description of it; choose one")
    nb = load_notebook(args.notebook)
    pipeline = analyze(nb, name=pipeline_name_for(args.notebook))
    if args.requirements:
        requirements = compute_requirements(pipeline)
        refuse([d for d in requirements.diagnostics if d.severity == "error"], "the requirements setting is invalid")
        _warn(requirements.diagnostics)
        sys.stdout.write("".join(f"{r}\n" for r in requirements.pins))
        return 0
    result = compile_pipeline(pipeline, nb=nb, image=args.image)
    _warn(result.diagnostics)
    target = args.output or os.path.splitext(args.notebook)[0] + ".yaml"
    if target == "-":
        sys.stdout.write(result.yaml)
        return 0
    try:
        with open(target, "w") as f:
            f.write(result.yaml)
    except OSError as exc:
        raise InvalidRequestError(f"cannot write {target}: {exc.strerror or exc}; choose another -o FILE") from None
    if args.json:
        json.dump(result.to_json(os.path.abspath(target)), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print(f"compiled {len(result.steps)} steps of pipeline {result.name!r} to {target}")
    return 0


def _warn(diagnostics) -> None:
    for d in diagnostics:
        where = f"cell {d.cell}" if d.cell is not None else "settings"
        if d.line is not None:
            where += f":{d.line}"
        print(f"kale-ext: {d.severity}: {where}: {d.message} [{d.code}]", file=sys.stderr)
