"""The `kale-ext` command line: one argparse root, one module per subcommand under kale_ext.commands.

Every subcommand module exposes ``add_parser(subparsers)`` and ``execute(args) -> int``. Unusable input (a KaleError, a bad
flag, a missing file) prints one line on stderr and exits 2; it never shows a traceback. Imports stay lazy so that
``kale-ext analyze`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import KaleError

COMMANDS = ("analyze", "run", "runs", "compile", "serve", "tune", "experiments")
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse's errors, as one line and exit code 2 (argparse prints the whole usage block otherwise)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kale-ext",
        description="Turn a tagged Jupyter notebook into a pipeline: analyze it, run it locally, review its runs.",
    )
    parser.add_argument("--version", action="version", version=f"kale-ext {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"kale_ext.commands.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "execute", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.execute(args))
    except KaleError as exc:
        print(f"kale-ext: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("kale-ext: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `kale-ext ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
