"""Cells that exhaust Python's parser or the analysis' recursion (issue 8, 7a), shared by the analysis, CLI and server
tests: each must give a syntax.too_complex diagnostic on its cell, never a crash."""

from __future__ import annotations

from .notebooks import make_notebook

TERMS = 400_000
DEPTH = 100_000

# name -> the source of one cell
HOSTILE = {
    "sum_of_400000_terms": "y = " + "+".join(["x"] * TERMS),  # RecursionError while building the AST
    "list_nested_100000_deep": "y = " + "[" * DEPTH + "]" * DEPTH,  # the tokenizer's nesting limit
    "parentheses_nested_100000_deep": "y = " + "(" * DEPTH + "x" + ")" * DEPTH,
    "if_else_chain": "y = " + "x if x else " * 20_000 + "x",  # MemoryError: the parser's stack (CPython < 3.12)
    # Parses (AST depth ~800) but the analysis' own recursive walk goes deeper than the recursion limit.
    "method_chain_for_the_analysis": "y = x" + ".f()" * 400,
    "inside_a_magic": "%time y = " + "+".join(["x"] * 5_000),  # found when the magic's Python is scanned
}


def hostile_notebook(source: str) -> dict:
    """Step a binds x, step b holds the hostile cell (notebook cell 1), step c still flows from a."""
    return make_notebook((["step:a"], "x = 1"), (["step:b"], source), (["step:c"], "z = x + 1"))
