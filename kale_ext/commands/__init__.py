"""Subcommands of `kale-ext`: each module has add_parser(subparsers) and execute(args) -> int."""
