"""Hyperparameter tuning of pipeline parameters with Katib's experiment format and algorithms.

space: the experiment's typed model (Katib's v1beta1 shapes, parsed); algorithms: the suggesters (random, grid,
bayesianoptimization as Katib runs scikit-optimize, tpe); spec: reading and validating an experiment from a notebook;
experiment: the local engine that runs trials as pipeline runs; katib: the Katib Experiment manifest for a cluster.
Plain Python: never imports tornado or jupyter_server.
"""
