"""The step program: what one pipeline step runs, shared by every runner (local now, Kubeflow later).

``spec.py`` turns a Pipeline step into a JSON-able StepSpec; ``program.py`` renders the standalone Python program and the
cache key; ``runtime.py`` executes a step (prelude, imports, parameters, inputs, cells with IPython magics, outputs,
metrics) with its concerns beside it: ``shell.py`` (get_ipython in a step), ``rebinder.py`` (loaded notebook functions
read the step's globals), ``outputs.py`` (saving outputs, metric values), ``failure.py`` (StepFailure, the one value a
failed step reports). The local runner's warm process that forks one child per step is kale_ext.runners.local.zygote.
Plain Python: never imports tornado or jupyter_server.
"""

from .spec import StepSpec, build_specs

__all__ = ["StepSpec", "build_specs"]
