"""Submitting a compiled pipeline through kfp.Client: the experiment (found by name in the namespace, else created),
the pipeline (uploaded once; each later deploy of the same notebook adds a pipeline version), then the run, created
from the same IR with the typed parameters (from the IR rather than by version reference, because kfp applies a run's
"no cache" only to an IR it sends). Answers the ids recorded with the run.

Every call goes through ``KfpClient.call`` (client.py), so faults are one-line KfpApiErrors. Imports kfp lazily;
never imports tornado or jupyter_server.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .client import KfpApiError, KfpClient

if TYPE_CHECKING:
    from .compiler import CompileResult
    from .runner import KfpRunner


def _display_name_filter(name: str) -> str:
    return json.dumps({"predicates": [{"operation": "EQUALS", "key": "display_name", "stringValue": name}]})


def experiment_id(client: KfpClient, name: str) -> str:
    """The id of experiment ``name`` in the client's namespace, created when missing."""
    ns = client.namespace
    kfp = client.client
    try:
        found = client.call(kfp.get_experiment, experiment_name=name, namespace=ns, what=f"the experiment {name!r}")
    except ValueError as exc:  # kfp.Client: "No experiment is found with name ..." (or several of them)
        if not str(exc).startswith("No experiment is found"):
            raise KfpApiError(
                f"experiment {name!r}: {exc}; choose another --experiment", code="kfp.experiment"
            ) from None
        found = client.call(
            kfp.create_experiment, name=name, namespace=ns, what=f"the creation of experiment {name!r}", prints=True
        )
    other = getattr(found, "namespace", None)
    if ns and other and other != ns:
        raise KfpApiError(
            f"experiment {name!r} belongs to namespace {other!r}, not {ns!r}; pass --namespace {other} (or "
            "c.KfpRunner.namespace), or another --experiment",
            code="kfp.namespace",
        )
    return str(found.experiment_id)


def pipeline_version(client: KfpClient, result: CompileResult, package: str, version_name: str) -> tuple[str, str]:
    """(pipeline_id, pipeline_version_id): the pipeline uploaded on the first deploy, a new version on each later one."""
    kfp = client.client
    listed = client.call(
        kfp.list_pipelines,
        filter=_display_name_filter(result.name),
        namespace=client.namespace,
        page_size=2,
        what=f"the lookup of pipeline {result.name!r}",
    )
    existing = list(listed.pipelines or [])
    if existing:
        version = client.call(
            kfp.upload_pipeline_version,
            package,
            pipeline_version_name=version_name,
            pipeline_id=existing[0].pipeline_id,
            description=result.description or None,
            what=f"the upload of a version of pipeline {result.name!r}",
            prints=True,
        )
        return str(version.pipeline_id), str(version.pipeline_version_id)
    pipeline = client.call(
        kfp.upload_pipeline,
        package,
        pipeline_name=result.name,
        description=result.description or None,
        namespace=client.namespace,
        what=f"the upload of pipeline {result.name!r}",
        prints=True,
    )
    versions = client.call(
        kfp.list_pipeline_versions,
        pipeline.pipeline_id,
        sort_by="created_at desc",
        page_size=1,
        what=f"the versions of pipeline {result.name!r}",
    )
    first = list(versions.pipeline_versions or [])
    if not first:
        raise KfpApiError(f"KFP lists no version of the pipeline {result.name!r} it just uploaded", code="kfp.refused")
    return str(pipeline.pipeline_id), str(first[0].pipeline_version_id)


def submit(
    runner: KfpRunner,
    client: KfpClient,
    result: CompileResult,
    package: str,
    run_id: str,
    values: dict[str, Any],
    use_cache: bool,
) -> dict[str, Any]:
    exp_id = experiment_id(client, runner.experiment)
    pipeline_id, version_id = pipeline_version(client, result, package, f"{result.name}-{run_id}")
    run = client.call(
        client.client.run_pipeline,
        experiment_id=exp_id,
        job_name=f"{result.display_name} {run_id}",
        pipeline_package_path=package,
        params=values,
        enable_caching=None if use_cache else False,
        what="the creation of the run",
        prints=True,
    )
    return {
        "run_id": str(run.run_id),
        "host": client.host,
        "namespace": client.namespace,
        "experiment": runner.experiment,
        "experiment_id": exp_id,
        "pipeline_id": pipeline_id,
        "pipeline_version_id": version_id,
    }
