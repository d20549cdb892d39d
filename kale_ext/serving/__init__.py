"""Model serving: the model directory loader and the local inference server (KServe V1 / Open Inference Protocol V2),
and the KServe InferenceService builder and client for clusters.

Plain Python: nothing here imports tornado or jupyter_server (only kale_ext/server/ may).
"""
