"""An interpreter with the real ml-metadata 1.17.1 for the MLMD tests: ml-metadata pins protobuf < 5, which the
project's environment (kfp, protobuf 6) cannot share, so it lives in a side virtual environment, made once with pip
under ~/.cache/kale-ext (or named by $KALE_EXT_MLMD_PYTHON)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

MLMD_VERSION = "1.17.1"
ENV_VAR = "KALE_EXT_MLMD_PYTHON"


def _works(python: str) -> bool:
    probe = "import ml_metadata, ml_metadata.metadata_store.metadata_store; print(ml_metadata.__version__)"
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=120)
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == MLMD_VERSION


def mlmd_python() -> str:
    named = os.environ.get(ENV_VAR)
    if named:
        assert _works(named), f"${ENV_VAR}={named} has no ml-metadata {MLMD_VERSION}"
        return named
    folder = os.path.join(os.path.expanduser("~"), ".cache", "kale-ext", f"mlmd-{MLMD_VERSION}")
    python = os.path.join(folder, "bin", "python")
    if _works(python):
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", folder], check=True, timeout=300)
    pip = subprocess.run(
        [python, "-m", "pip", "install", "-q", f"ml-metadata=={MLMD_VERSION}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if pip.returncode != 0:  # only when the package index cannot be reached: say so, never pass silently
        pytest.skip(f"cannot install ml-metadata {MLMD_VERSION} into {folder}: {pip.stderr.strip()[-300:]}")
    assert _works(python), f"ml-metadata {MLMD_VERSION} installed into {folder} but does not import"
    return python
