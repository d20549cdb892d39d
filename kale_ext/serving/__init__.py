"""Model serving: the InferenceService builder and client, KServe protocol compatibility."""
