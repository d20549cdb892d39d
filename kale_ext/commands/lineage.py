"""`kale-ext lineage RUN_ID|ARTIFACT_HASH|SNAPSHOT_ID [--json] [--mlmd FILE]`: where results came from, where they went.

A run: each step's code hash, parameters, inputs (with the run and step that produced them, through cache reuse),
outputs, models, metrics, the workspace snapshot and the models served from it. An artifact hash (or 8+ of its hex
digits): the execution that produced it and every run that used it. A snapshot id: the runs that used it. ``--mlmd
FILE`` writes a run's lineage as an ML Metadata LineageGraph in protobuf JSON (``-`` prints it). The store is found as
`kale-ext runs` finds it ($KALE_EXT_HOME, else .kale here or in a parent folder) unless --store/--notebook names it.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import InvalidRequestError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lineage", help="lineage of a run, an artifact hash or a workspace snapshot")
    p.add_argument("ref", metavar="RUN_ID|ARTIFACT_HASH|SNAPSHOT_ID")
    p.add_argument("--json", action="store_true", help="print the lineage as JSON")
    p.add_argument("--mlmd", metavar="FILE", help="write the run's lineage as MLMD protobuf JSON to FILE ('-': stdout)")
    p.add_argument("--notebook", help="use the store beside this notebook")
    p.add_argument("--store", help="store folder (default: $KALE_EXT_HOME, else .kale here or in a parent folder)")
    p.set_defaults(execute=execute)


def _store(args: argparse.Namespace):
    from ..lineage.graph import holds
    from ..lineage.stores import find_store
    from ..store import store_dir_for

    where = args.store or (store_dir_for(args.notebook) if args.notebook else None)
    return find_store(lambda s: holds(s, args.ref), repr(args.ref), where, code="lineage.not_found")


def execute(args: argparse.Namespace) -> int:
    from ..lineage.graph import lineage

    store = _store(args)
    answer = lineage(store, args.ref)
    if args.mlmd:
        if answer["kind"] != "run":
            raise InvalidRequestError(
                f"--mlmd exports a run's lineage; {args.ref!r} is a {answer['kind']}. Pass a run id.",
                code="lineage.mlmd_needs_run",
            )
        from ..lineage.mlmd import to_mlmd

        text = json.dumps(to_mlmd(store, answer["run_id"]), indent=1) + "\n"
        if args.mlmd == "-":
            sys.stdout.write(text)
            return 0
        try:
            with open(args.mlmd, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise InvalidRequestError(f"Cannot write {args.mlmd}: {exc.strerror}.", code="lineage.mlmd_file") from None
        print(f"wrote the MLMD lineage of run {answer['run_id']} to {args.mlmd}", file=sys.stderr)
    if args.json:
        json.dump(answer, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    elif not args.mlmd:
        from ..lineage.text import render

        print(render(answer))
    return 0
