"""`kale-ext serve`: deploy a run's model (or a model directory) to the workspace's local model server, and manage what
it serves.

    kale-ext serve RUN_ID --model VARIABLE [--step STEP] [--name NAME] [--canary-percent N] [--json]
    kale-ext serve --model-dir DIR [--name NAME] [--canary-percent N] [--json]
    kale-ext serve list [--json]  |  serve promote NAME  |  serve rollback NAME  |  serve stop [NAME]
    kale-ext serve --foreground   (serve the recorded models in this terminal until Ctrl+C)
    kale-ext serve RUN_ID --model VARIABLE --backend kserve [--namespace NS] [--storage-uri URI] [--canary-percent N]
                   [--image IMAGE] [--emit FILE] [--json]   (a KServe InferenceService on a cluster)

The first positional is an action word (list, promote, rollback, stop) or a run id (run ids never are one of those
words). Store selection as in `kale-ext runs`. Everything goes through kale_ext.serving.manager.ServingManager, the code
the sidebar uses. Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ConflictError, InvalidRequestError

ACTIONS = ("list", "promote", "rollback", "stop")
DEPLOY_ONLY = ("model", "model_dir", "step", "canary_percent")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a run's model on the local model server; list, promote, roll back or stop served models",
        description=__doc__.split("\n\n")[0] + " Start it with RUN_ID --model VARIABLE, or use an action.",
        usage=(
            "kale-ext serve RUN_ID --model VARIABLE [--step STEP] [--name NAME] [--canary-percent N] [--json]\n"
            "       kale-ext serve --model-dir DIR [--name NAME] [--canary-percent N] [--json]\n"
            "       kale-ext serve {list [--json] | promote NAME | rollback NAME | stop [NAME]}\n"
            "       kale-ext serve --foreground\n"
            "       kale-ext serve RUN_ID --model VARIABLE --backend kserve [--namespace NS] [--storage-uri URI]\n"
            "                      [--canary-percent N] [--image IMAGE] [--emit FILE] [--json]"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", nargs="?", metavar="RUN_ID|ACTION", help="a run id, or one of: " + ", ".join(ACTIONS))
    p.add_argument("name_arg", nargs="?", metavar="NAME", help="the served model's name (promote, rollback, stop)")
    p.add_argument("--model", metavar="VARIABLE", help="the model variable of the run to serve")
    p.add_argument("--step", help="the step that binds the variable (default: the last one that does)")
    p.add_argument("--model-dir", metavar="DIR", help="serve a model directory instead of a run's model")
    p.add_argument("--name", help="the served name (default: the variable's name, '_' as '-')")
    p.add_argument("--canary-percent", type=int, metavar="N", help="keep the current version; send N %% to the new one")
    p.add_argument("--host", default="127.0.0.1", help="the model server's address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="the model server's port (default 8080)")
    p.add_argument("--foreground", action="store_true", help="run the model server in this terminal until Ctrl+C")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument(
        "--backend",
        choices=("local", "kserve"),
        default="local",
        help="local: the workspace's model server (default); kserve: a KServe InferenceService on the cluster of the "
        "current kubeconfig (pip install 'kale-ext[kserve]')",
    )
    p.add_argument("--namespace", default="default", help="kserve: the InferenceService's namespace (default: default)")
    p.add_argument("--storage-uri", metavar="URI", help="kserve: where the cluster finds the model directory")
    p.add_argument("--image", help="kserve: the image of custom containers (torch and pyfunc models, transformers)")
    p.add_argument("--emit", metavar="FILE", help="kserve: write the InferenceService to FILE instead of applying it")
    p.add_argument("--notebook", help="use the store beside this notebook")
    p.add_argument("--store", help="store folder (default: $KALE_EXT_HOME or ./.kale)")
    p.set_defaults(execute=execute)


def execute(args: argparse.Namespace) -> int:
    from ..serving.manager import ServingManager
    from .runs import open_store

    action = args.target if args.target in ACTIONS else None
    if action is not None:
        given = [f"--{k.replace('_', '-')}" for k in DEPLOY_ONLY if getattr(args, k) is not None]
        if given:
            raise InvalidRequestError(f"`kale-ext serve {action}` takes no {', '.join(given)} (only a deploy does).")
    if args.backend == "kserve":
        return _kserve(args, action)
    manager = ServingManager(open_store(args), host=args.host, port=args.port)
    if action == "list":
        return _list(manager, args.json)
    if action in ("promote", "rollback"):
        if not args.name_arg:
            raise InvalidRequestError(f"`kale-ext serve {action}` needs the served model's NAME.")
        return _print(getattr(manager, action)(args.name_arg), args.json)
    if action == "stop":
        manager.stop(args.name_arg)
        print(f"stopped {args.name_arg}" if args.name_arg else "stopped the model server and every model")
        return 0
    if args.name_arg:
        raise InvalidRequestError(f"Unexpected argument {args.name_arg!r} (a deploy takes the model with --model).")
    if args.target is None and args.model_dir is None:
        if args.foreground:
            return _foreground(manager)
        raise InvalidRequestError("Name a RUN_ID with --model VARIABLE, --model-dir DIR, or an action (see --help).")
    if args.target is not None and not args.model:
        raise InvalidRequestError(f"Name the model variable of run {args.target} to serve: --model VARIABLE.")
    if args.foreground:
        _refuse_second_server(manager)
    answer = manager.deploy(
        run_id=args.target,
        variable=args.model,
        model_dir=args.model_dir,
        name=args.name,
        canary_percent=args.canary_percent,
        step=args.step,
        start=not args.foreground,
    )
    if args.foreground:
        return _foreground(manager)
    return _print(answer, args.json)


def _kserve(args: argparse.Namespace, action: str | None) -> int:
    """The run's model (or a model directory), exported as for the local server, as a KServe InferenceService."""
    from ..serving.kserve_client import deploy_to_kserve
    from ..serving.manager import default_name
    from ..serving.modeldir import adopt_model_dir
    from ..serving.sources import export_from_run
    from .runs import open_store

    if action is not None or args.foreground:
        raise InvalidRequestError("--backend kserve deploys one model: RUN_ID --model VARIABLE, or --model-dir DIR.")
    store = open_store(args)
    volumes = None
    if args.model_dir is not None:
        directory, _ = adopt_model_dir(store, args.model_dir)
        name = args.name or default_name(args.model_dir.rstrip("/").rsplit("/", 1)[-1])
    elif args.target is not None and args.model:
        directory, _ = export_from_run(store, args.target, args.model, args.step)
        name = args.name or default_name(args.model)
        volumes = _notebook_volumes(store.get_run(args.target)["notebook"])
    else:
        raise InvalidRequestError("Name a RUN_ID with --model VARIABLE, or --model-dir DIR, to deploy to KServe.")
    answer = deploy_to_kserve(
        directory,
        name=name,
        namespace=args.namespace,
        storage_uri=args.storage_uri,
        canary_percent=args.canary_percent,
        emit=args.emit,
        volumes=volumes,
        image=args.image,
    )
    if args.json:
        json.dump({k: v for k, v in answer.items() if k != "manifest"}, sys.stdout)
        sys.stdout.write("\n")
    elif answer.get("action") == "emitted":
        print(f"wrote the InferenceService {name} to {answer['file']}")
    else:
        state = "ready" if answer.get("ready") else "not ready yet"
        print(
            f"InferenceService {args.namespace}/{name} {answer['action']}, {state}"
            + (f" at {answer['url']}" if answer.get("url") else "")
        )
    for warning in answer.get("warnings") or []:
        print(f"kale-ext: warning: {warning}", file=sys.stderr)
    return 0


def _notebook_volumes(notebook: str) -> list[dict[str, Any]] | None:
    """The run's notebook's volumes setting (Kale's), so a model directory on a mounted claim gets a pvc:// URI."""
    from ..errors import KaleError
    from ..notebook import load_notebook
    from ..notebook.metadata import read_settings

    try:
        volumes = read_settings(load_notebook(notebook)).get("volumes")
    except KaleError:
        return None
    return volumes if isinstance(volumes, list) else None


def _print(answer: dict[str, Any], as_json: bool) -> int:
    if as_json:
        json.dump(answer, sys.stdout)
        sys.stdout.write("\n")
        return 0
    split = ", ".join(f"v{v} {p}%" for v, p in answer["traffic"].items())
    print(f"{answer['name']} version {answer['version']} at {answer['url']} (traffic: {split})")
    return 0


def _list(manager: Any, as_json: bool) -> int:
    models = manager.list()
    if as_json:
        json.dump(models, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not models:
        print("no served models")
    for m in models:
        split = ", ".join(f"v{v} {p}%" for v, p in m["traffic"].items())
        print(f"{m['name']:24} {m['status']:11} {split:20} {m['url']}")
    return 0


def _foreground(manager: Any) -> int:
    """The recorded models, served by a server in this process until Ctrl+C (SIGINT) or SIGTERM."""
    _refuse_second_server(manager)
    manager.write_state()
    import importlib

    # Part serve-http's server (contract 3): serve(state_path, host, port, **limits) blocks until SIGINT/SIGTERM.
    importlib.import_module("kale_ext.serving.server").serve(manager.state_path, manager.host, manager.port)
    return 0


def _refuse_second_server(manager: Any) -> None:
    running = manager.process.running()
    if running is not None:
        raise ConflictError(
            f"A model server already serves this store at {running['url']} (pid {running['pid']}). Fix: stop it first "
            "(kale-ext serve stop), or deploy to it without --foreground."
        )
