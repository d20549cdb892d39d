"""Golden tests of item 2: each step tag and notebook setting, read back from the compiled YAML (the PipelineSpec and
the kubernetes PlatformSpec). Fields are asserted, bytes are not pinned. What cannot be compiled is a warning on its
cell, never a silent drop."""

from __future__ import annotations

import json

import pytest

from ...notebooks import write_notebook
from .helpers import compile_file, read_ir

VOLUMES = [
    {"type": "pvc", "name": "existing-claim", "mount_point": "/home/jovyan"},
    {
        "type": "new_pvc",
        "name": "scratch",
        "mount_point": "/scratch",
        "size": 5,
        "size_type": "Gi",
        "volume_access_mode": "rwo",
        "storage_class_name": "fast",
        "annotations": [{"key": "backup", "value": "daily"}],
    },
    {"type": "clone", "name": "rok-thing", "mount_point": "/rok"},
]
SETTINGS = {
    "kubeflow_notebook": {
        "pipeline_name": "cfg",
        "docker_image": "registry.local/nb:1",
        "volumes": VOLUMES,
        "abs_working_dir": "/home/jovyan/project",
    },
    "kale_ext": {"version": 1, "retries": 2, "retry_backoff": "30s", "timeout": 600, "steps": {"b": {"retries": 5}}},
}
A_TAGS = [
    "step:a",
    "image:python:3.12-slim",
    "limit:cpu:500m",
    "limit:memory:2Gi",
    "limit:nvidia.com/gpu:2",
    "label:team:ml",
    "annotation:owner:alice",
    "secret:db-creds:password:DB_PASSWORD",
    "secret:tls-certs:/etc/tls",
    "cache:disabled",
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    d = tmp_path_factory.mktemp("cfg")
    nb = write_notebook(
        d / "cfg.ipynb",
        (A_TAGS, "x = 1\n"),
        (["step:b", "prev:a", "cache:enabled", "limit:amd.com/gpu:1"], "y = x + 1\n"),
        (["step:c", "prev:b", "limit:ephemeral-storage:1Gi", "limit:cpu:lots"], "z = y + 1\n"),
        (["step:d", "prev:a", "limit:nvidia.com/gpu:1", "limit:amd.com/gpu:1"], "w = x + 2\n"),
        metadata=SETTINGS,
    )
    code, stdout, stderr = compile_file(nb, "--json")
    assert code == 0, stderr
    info = json.loads(stdout)
    spec, platform = read_ir(info["file"])
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"], info["diagnostics"], stderr


def container(spec, step):
    return spec["deploymentSpec"]["executors"][f"exec-{step}"]["container"]


def test_base_images_from_the_image_tag_then_the_notebook_setting(compiled):
    spec = compiled[0]
    assert container(spec, "a")["image"] == "python:3.12-slim"
    assert container(spec, "b")["image"] == "registry.local/nb:1"


def test_image_option_replaces_the_notebook_default_but_not_the_tag(tmp_path):
    nb = write_notebook(
        tmp_path / "i.ipynb",
        (["step:a", "image:own:1"], "x = 1\n"),
        (["step:b"], "y = x\n"),
        metadata={"kubeflow_notebook": {"docker_image": "nb:1"}},
    )
    out = tmp_path / "i.yaml"
    assert compile_file(nb, "-o", str(out), "--image", "cli:2")[0] == 0
    spec = read_ir(out)[0]
    assert container(spec, "a")["image"] == "own:1" and container(spec, "b")["image"] == "cli:2"


def test_limits_become_resource_limits_and_accelerators(compiled):
    spec = compiled[0]
    resources = container(spec, "a")["resources"]
    assert resources["resourceCpuLimit"] == "500m" and resources["resourceMemoryLimit"] == "2Gi"
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "2"
    assert container(spec, "b")["resources"]["accelerator"]["resourceType"] == "amd.com/gpu"


def test_labels_annotations_and_secrets_in_the_platform_spec(compiled):
    a = compiled[1]["exec-a"]
    assert a["podMetadata"] == {"labels": {"team": "ml"}, "annotations": {"owner": "alice"}}
    env = a["secretAsEnv"][0]
    assert env["secretNameParameter"]["runtimeValue"]["constant"] == "db-creds"
    assert env["keyToEnv"] == [{"secretKey": "password", "envVar": "DB_PASSWORD"}]
    volume = a["secretAsVolume"][0]
    assert volume["secretNameParameter"]["runtimeValue"]["constant"] == "tls-certs"
    assert volume["mountPath"] == "/etc/tls"
    assert "podMetadata" not in compiled[1]["exec-b"] and "secretAsEnv" not in compiled[1]["exec-b"]


def test_cache_tag_sets_the_task_caching_option(compiled):
    tasks = compiled[0]["root"]["dag"]["tasks"]
    assert tasks["a"]["cachingOptions"] == {}  # cache:disabled
    assert tasks["b"]["cachingOptions"] == {"enableCache": True}


def test_retries_and_timeouts_from_the_project_settings(compiled):
    spec, executors = compiled[0], compiled[1]
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks["a"]["retryPolicy"]["maxRetryCount"] == 2 and tasks["a"]["retryPolicy"]["backoffDuration"] == "30s"
    assert tasks["b"]["retryPolicy"]["maxRetryCount"] == 5  # the per-step override
    assert executors["exec-a"]["activeDeadlineSeconds"] == "600"


def test_volumes_existing_and_new_claims_are_mounted_in_every_step(compiled):
    spec, executors = compiled[0], compiled[1]
    tasks = spec["root"]["dag"]["tasks"]
    create = next(t for t in tasks.values() if t["componentRef"]["name"] == "comp-createpvc")
    args = {k: v["runtimeValue"]["constant"] for k, v in create["inputs"]["parameters"].items()}
    assert args["size"] == "5Gi" and args["access_modes"] == ["ReadWriteOnce"]
    assert args["storage_class_name"] == "fast" and args["annotations"] == {"backup": "daily"}
    assert args["pvc_name_suffix"] == "-scratch"
    for step in "abcd":
        mounts = {m["mountPath"]: m["pvcNameParameter"] for m in executors[f"exec-{step}"]["pvcMount"]}
        assert mounts["/home/jovyan"] == {"runtimeValue": {"constant": "existing-claim"}}
        assert mounts["/scratch"]["taskOutputParameter"]["outputParameterKey"] == "name"
        assert "/rok" not in mounts
        assert "createpvc" in tasks[step]["dependentTasks"]


def test_what_cannot_be_compiled_is_a_warning_on_its_cell(compiled):
    diagnostics, stderr = compiled[2], compiled[3]
    by_message = {d["message"].split(" not compiled")[0]: d for d in diagnostics if d["code"] == "kfp.limit"}
    assert by_message["tag 'limit:ephemeral-storage:1Gi'"]["cell"] == 2
    assert by_message["tag 'limit:cpu:lots'"]["cell"] == 2
    assert by_message["tag 'limit:amd.com/gpu:1'"]["cell"] == 3  # step d already asks for an nvidia.com/gpu
    volume = next(d for d in diagnostics if d["code"] == "kfp.volume")
    assert "'clone'" in volume["message"] and volume["severity"] == "warning"
    assert all(d["severity"] == "warning" for d in diagnostics)
    assert "warning: cell 2" in stderr and "[kfp.volume]" in stderr


def test_invalid_retry_and_timeout_settings_are_reported(tmp_path):
    meta = {"kale_ext": {"version": 1, "retries": -1, "timeout": "soon"}}
    nb = write_notebook(tmp_path / "s.ipynb", (["step:a"], "x = 1\n"), metadata=meta)
    code, stdout, _ = compile_file(nb, "--json")
    assert code == 0
    messages = [d["message"] for d in json.loads(stdout)["diagnostics"] if d["code"] == "kfp.setting"]
    assert any("retries -1" in m for m in messages) and any("timeout 'soon'" in m for m in messages)
    spec, platform = read_ir(json.loads(stdout)["file"])
    assert "retryPolicy" not in spec["root"]["dag"]["tasks"]["a"] and not platform


def test_kale_working_dir_is_where_every_step_runs(compiled):
    for step in "abcd":
        source = "\n".join(container(compiled[0], step)["command"])
        assert "workdir='/home/jovyan/project'" in source
