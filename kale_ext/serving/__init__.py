"""Model serving: models kept from runs exported into KServe model directories (export.py, metadata.py, sources.py,
modeldir.py), the ServingManager that deploys them to the local model server and keeps their versions and traffic
(manager.py, process.py, observe.py), the inference server itself (server/, part serve-http) and KServe
InferenceServices (kserve.py). Must not import tornado or jupyter_server.
"""
