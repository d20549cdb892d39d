"""Model serving: models kept from runs exported into KServe model directories (export.py, metadata.py, sources.py,
modeldir.py), the ServingManager that deploys them to the local model server and keeps their versions and traffic
(manager.py, process.py, observe.py), the inference server itself (server.py, http.py, endpoints.py, protocol_v1/v2,
registry.py, router.py, batcher.py, metrics.py, explain.py, loader.py) and KServe InferenceServices (kserve.py,
kserve_client.py, kserve_entry.py).

Plain Python: nothing here imports tornado or jupyter_server (only kale_ext/server/ may).
"""
