"""The InferenceService builder (kale_ext.serving.kserve), its validation against KServe's vendored CRD schema, and the
create/patch/wait path driven by the real kubernetes client against a loopback fake API server."""

from __future__ import annotations

import copy
import json
import logging

import pytest

from kale_ext.serving.kserve import (
    KServeError,
    build_inference_service,
    crd_schema,
    storage_uri_for,
    validate_inference_service,
)
from kale_ext.serving.kserve_client import deploy_to_kserve

from .fake_kube import FakeKube

TOKEN = "s3cr3t-token-for-the-fake-api"
NOT_READY = {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionMissing", "message": "waiting"}]}
READY = {"url": "http://m.kubeflow-user.example.com", "conditions": [{"type": "Ready", "status": "True"}]}


def model_dir(tmp_path, kind="sklearn", version="1.5.2", transformer=False, name="model"):
    d = tmp_path / name
    d.mkdir()
    files = {"sklearn": "model.joblib", "xgboost": "model.bst", "lightgbm": "model.txt", "pytorch": "model.pt"}
    info = {
        "kind": kind,
        "file": files.get(kind, "model.pkl"),
        "format": {"name": kind, "version": version},
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 4]}],
        "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
        "feature_names": None,
        "transformer": {"file": "transformer.py", "preprocess": "preprocess", "postprocess": None}
        if transformer
        else None,
        "explainer": None,
        "source": {"run_id": "r1", "step": "train", "variable": "clf", "hash": "abc123"},
    }
    (d / "kale-model.json").write_text(json.dumps(info))
    return d


def test_sklearn_predictor_uses_the_builtin_runtime_and_validates(tmp_path):
    d = model_dir(tmp_path)
    isvc = build_inference_service(d, name="iris", namespace="ns", storage_uri="s3://bucket/iris", canary_percent=10)
    assert isvc["apiVersion"] == "serving.kserve.io/v1beta1" and isvc["kind"] == "InferenceService"
    assert isvc["spec"]["predictor"] == {
        "model": {
            "modelFormat": {"name": "sklearn", "version": "1"},
            "protocolVersion": "v2",
            "storageUri": "s3://bucket/iris",
        },
        "canaryTrafficPercent": 10,
    }
    assert isvc["metadata"]["annotations"]["kale-ext/run_id"] == "r1"
    assert "transformer" not in isvc["spec"]
    validate_inference_service(isvc)


@pytest.mark.parametrize(
    ("kind", "version", "label"), [("xgboost", "2.1.3", "2"), ("lightgbm", "4.5.0", "4"), ("xgboost", "3.0.0", None)]
)
def test_model_format_version_is_the_runtime_label_or_omitted(tmp_path, kind, version, label):
    isvc = build_inference_service(
        model_dir(tmp_path, kind, version), name="m", namespace="ns", storage_uri="gs://b/m", protocol="v1"
    )
    fmt = isvc["spec"]["predictor"]["model"]["modelFormat"]
    assert fmt == ({"name": kind, "version": label} if label else {"name": kind})
    assert isvc["spec"]["predictor"]["model"]["protocolVersion"] == "v1"
    validate_inference_service(isvc)


def test_pyfunc_and_transformer_run_kale_ext_in_custom_containers(tmp_path):
    d = model_dir(tmp_path, "pyfunc", transformer=True)
    with pytest.raises(KServeError, match="image"):
        build_inference_service(d, name="m", namespace="ns", storage_uri="pvc://c/m")
    isvc = build_inference_service(d, name="m", namespace="ns", storage_uri="pvc://c/m", image="reg/kale-serve:1")
    pred = isvc["spec"]["predictor"]["containers"][0]
    assert pred["command"] == ["python", "-m", "kale_ext.serving.kserve_entry"]
    assert pred["args"] == ["--model_name", "m", "--model_dir", "/mnt/models", "--http_port", "8080"]
    tr = isvc["spec"]["transformer"]["containers"][0]
    assert "--transformer" in tr["args"] and "--predictor_host" not in tr["args"]  # KServe's controller appends it
    assert {"name": "STORAGE_URI", "value": "pvc://c/m"} in tr["env"]
    validate_inference_service(isvc)


def test_storage_uri_from_the_notebook_volumes(tmp_path):
    d = model_dir(tmp_path)
    vols = [
        {"type": "pvc", "name": "outer", "mount_point": str(tmp_path.parent)},
        {"type": "pvc", "name": "work", "mount_point": str(tmp_path)},
        {"type": "pv", "name": "ignored", "mount_point": str(tmp_path)},
    ]
    assert storage_uri_for(d, vols) == "pvc://work/model"
    assert storage_uri_for(tmp_path, vols[1:2]) == "pvc://work"
    assert storage_uri_for(d, [{"type": "pvc", "name": "x", "mount_point": "/elsewhere"}]) is None
    isvc = build_inference_service(d, name="m", namespace="ns", volumes=vols)
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == "pvc://work/model"
    with pytest.raises(KServeError, match="storage URI"):
        build_inference_service(d, name="m", namespace="ns", volumes=[])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "Bad_Name"}, "DNS-1035"),
        ({"canary_percent": 101}, "canary"),
        ({"canary_percent": True}, "canary"),
        ({"protocol": "v3"}, "protocol"),
    ],
)
def test_bad_arguments_are_clear_errors(tmp_path, kwargs, match):
    args = {"name": "m", "namespace": "ns", "storage_uri": "s3://b/m", **kwargs}
    with pytest.raises(KServeError, match=match):
        build_inference_service(model_dir(tmp_path), **args)


def test_not_a_model_directory(tmp_path):
    with pytest.raises(KServeError, match="kale-model.json"):
        build_inference_service(tmp_path, name="m", namespace="ns", storage_uri="s3://b/m")


def test_schema_catches_a_wrong_type_and_a_misspelt_field(tmp_path):
    good = build_inference_service(model_dir(tmp_path), name="m", namespace="ns", storage_uri="s3://b/m")
    wrong_type = copy.deepcopy(good)
    wrong_type["spec"]["predictor"]["minReplicas"] = "two"
    with pytest.raises(KServeError) as err:
        validate_inference_service(wrong_type)
    assert any(p.startswith("spec.predictor.minReplicas:") for p in err.value.details["problems"])
    misspelt = copy.deepcopy(good)
    misspelt["spec"]["predictor"]["model"]["storageURI"] = misspelt["spec"]["predictor"]["model"].pop("storageUri")
    with pytest.raises(KServeError, match="storageURI"):
        validate_inference_service(misspelt)
    no_format = copy.deepcopy(good)
    del no_format["spec"]["predictor"]["model"]["modelFormat"]["name"]
    with pytest.raises(KServeError, match="name"):
        validate_inference_service(no_format)
    assert crd_schema()["properties"]["spec"]["required"] == ["predictor"]


def test_emit_writes_the_manifest_without_a_cluster(tmp_path):
    import yaml

    out = deploy_to_kserve(
        model_dir(tmp_path), name="m", namespace="ns", storage_uri="s3://b/m", emit=tmp_path / "isvc.yaml"
    )
    assert out["action"] == "emitted" and out["ready"] is None
    assert yaml.safe_load((tmp_path / "isvc.yaml").read_text()) == out["manifest"]


def _api_client(url, token):
    from kubernetes import client

    cfg = client.Configuration(host=url, api_key={"authorization": token}, api_key_prefix={"authorization": "Bearer"})
    return client.ApiClient(cfg)


def test_create_then_wait_for_ready_with_the_real_client(tmp_path, caplog):
    pytest.importorskip("kubernetes")
    caplog.set_level(logging.DEBUG)
    with FakeKube(TOKEN, [NOT_READY, NOT_READY, READY]) as kube:
        out = deploy_to_kserve(
            model_dir(tmp_path),
            name="iris",
            namespace="kubeflow-user",
            storage_uri="pvc://work/iris",
            api_client=_api_client(kube.url, TOKEN),
            timeout=10,
            poll_interval=0.01,
        )
    assert out["action"] == "created" and out["ready"] is True and out["url"] == READY["url"]
    methods = [(r["method"], r["path"].split("?")[0]) for r in kube.requests]
    base = "/apis/serving.kserve.io/v1beta1/namespaces/kubeflow-user/inferenceservices"
    assert methods[:2] == [("GET", f"{base}/iris"), ("POST", base)]
    assert methods[2:] == [("GET", f"{base}/iris")] * 3  # not ready twice, then ready
    assert kube.requests[1]["body"] == out["manifest"]
    assert all(r["authorized"] for r in kube.requests)
    assert TOKEN not in caplog.text and TOKEN not in json.dumps(out)


def test_update_patches_and_a_missing_canary_percent_promotes(tmp_path):
    pytest.importorskip("kubernetes")
    d = model_dir(tmp_path)
    with FakeKube(TOKEN, [READY]) as kube:
        api = _api_client(kube.url, TOKEN)
        deploy_to_kserve(
            d, name="m", namespace="ns", storage_uri="s3://b/v1", api_client=api, timeout=5, poll_interval=0.01
        )
        out = deploy_to_kserve(
            d,
            name="m",
            namespace="ns",
            storage_uri="s3://b/v2",
            canary_percent=10,
            api_client=api,
            timeout=5,
            poll_interval=0.01,
        )
        assert out["action"] == "patched"
        patch = next(r for r in kube.requests if r["method"] == "PATCH")
        assert patch["content_type"] == "application/merge-patch+json"
        assert kube.objects[("ns", "m")]["spec"]["predictor"]["canaryTrafficPercent"] == 10
        assert kube.objects[("ns", "m")]["spec"]["predictor"]["model"]["storageUri"] == "s3://b/v2"
        deploy_to_kserve(
            d, name="m", namespace="ns", storage_uri="s3://b/v2", api_client=api, timeout=5, poll_interval=0.01
        )
        assert "canaryTrafficPercent" not in kube.objects[("ns", "m")]["spec"]["predictor"]


def test_timeout_reports_not_ready_and_a_wrong_token_is_a_clear_error(tmp_path):
    pytest.importorskip("kubernetes")
    d = model_dir(tmp_path)
    with FakeKube(TOKEN, [NOT_READY]) as kube:
        out = deploy_to_kserve(
            d,
            name="m",
            namespace="ns",
            storage_uri="s3://b/m",
            api_client=_api_client(kube.url, TOKEN),
            timeout=0.2,
            poll_interval=0.05,
        )
        assert out["ready"] is False and out["url"] is None
        assert out["conditions"][0]["reason"] == "RevisionMissing"
        with pytest.raises(KServeError, match="401") as err:
            deploy_to_kserve(
                d,
                name="n",
                namespace="ns",
                storage_uri="s3://b/m",
                api_client=_api_client(kube.url, "wrong"),
                timeout=1,
            )
        assert TOKEN not in str(err.value) and "wrong" not in str(err.value)


def test_kubeconfig_is_read_when_no_client_is_given(tmp_path, monkeypatch):
    pytest.importorskip("kubernetes")
    import yaml

    with FakeKube(TOKEN, [READY]) as kube:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": kube.url}}],
            "users": [{"name": "u", "user": {"token": TOKEN}}],
            "contexts": [{"name": "c", "context": {"cluster": "fake", "user": "u", "namespace": "ns"}}],
            "current-context": "c",
        }
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        out = deploy_to_kserve(
            model_dir(tmp_path), name="m", namespace="ns", storage_uri="s3://b/m", canary_percent=20, timeout=5
        )
    assert out["action"] == "created" and out["ready"] is True
    assert "second revision" in out["warnings"][0]
    assert all(r["authorized"] for r in kube.requests)
