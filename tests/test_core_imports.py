"""The core is plain Python: importing it must not pull in tornado or jupyter_server (only kale_ext.server may)."""

import subprocess
import sys

CORE_MODULES = ["kale_ext", "kale_ext.cli", "kale_ext.errors", "kale_ext.pipeline.model"]


def assert_fresh_interpreter_passes(code: str) -> None:
    """Run ``code`` in a fresh interpreter (nothing imported yet); it exits non-zero, printing why, when it fails."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_does_not_import_the_web_stack():
    code = (
        "import importlib, pkgutil, sys\n"
        "import kale_ext\n"
        f"mods = {CORE_MODULES!r}\n"
        "for info in pkgutil.walk_packages(kale_ext.__path__, 'kale_ext.'):\n"
        "    if not info.name.startswith('kale_ext.server') and info.name != 'kale_ext.__main__':\n"
        "        mods.append(info.name)\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tornado', 'jupyter_server'))\n"
        "print(len(mods), bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    assert_fresh_interpreter_passes(code)


def test_pipeline_package_does_not_import_the_analysis():
    """The import direction is analysis -> pipeline.model: the model (and all of kale_ext.pipeline) must load without
    kale_ext.analysis, and the model itself without any other part of kale_ext."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import kale_ext\n"  # what the package's own __init__ loads (its version, the API version) is not the model's
        "before = set(sys.modules)\n"
        "import kale_ext.pipeline.model\n"
        "model_deps = sorted(m for m in set(sys.modules) - before if m.startswith('kale_ext.') and m not in\n"
        "    ('kale_ext.pipeline', 'kale_ext.pipeline.model'))\n"
        "import kale_ext.pipeline\n"
        "names = [i.name for i in pkgutil.walk_packages(kale_ext.pipeline.__path__, 'kale_ext.pipeline.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'kale_ext.analysis' or m.startswith('kale_ext.analysis.'))\n"
        "print('model imports', model_deps, '; pipeline modules', names, '; analysis modules', bad)\n"
        "sys.exit(1 if bad or model_deps or 'kale_ext.pipeline.model' not in names else 0)\n"
    )
    assert_fresh_interpreter_passes(code)


def test_the_server_extension_and_the_tuner_load_without_numpy():
    """The Jupyter server builds its Tuner at start-up and validates experiments per request: neither needs numpy
    (nor scikit-optimize or optuna), which load only when an experiment's suggester is built."""
    code = (
        "import sys\n"
        "import kale_ext.server, kale_ext.tuning.experiment, kale_ext.tuning.rules, kale_ext.tuning.spec\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'skopt', 'optuna'))\n"
        "print(bad[:5])\n"
        "sys.exit(1 if bad else 0)\n"
    )
    assert_fresh_interpreter_passes(code)
