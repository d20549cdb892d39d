"""REST resources of tuning experiments, under /kale/v1/experiments. Thin: parse -> the Tuner -> serialize.

    GET  /kale/v1/experiments?path=NB            the notebook's experiments, newest first (all known here without path)
    POST /kale/v1/experiments                    start one; 201 with the experiment at once (trials run in the background)
         {"path": "dir/nb.ipynb", "max_trials"?, "parallel"?, "algorithm"?, "seed"?, "automl"?}
    GET  /kale/v1/experiments/ID                 the experiment, its trials and best trial so far
    POST /kale/v1/experiments/ID/cancel          stop its running trials; 200 with the experiment
    POST /kale/v1/experiments/ID/resume          continue an interrupted or cancelled one; 200 with the experiment
         {"max_trials"?, "parallel"?} (an empty body: as recorded)

The experiment is the one stored in the saved notebook (``kubeflow_notebook.katib_metadata``, Kale's format, and
``kale_ext.automl``): the sidebar writes it through the notebook model and saves before it starts one. The request's
fields override the notebook's values as the CLI's flags do. An invalid experiment is a 400 ``tune.invalid`` whose
``details.problems`` names every problem; an unknown id a 404. The Tuner is one per server
(``settings["kale_ext_tuner"]``), built by KaleExtApp beside the runner; without one (its class could not be imported)
every verb answers 503 saying why. Paths on the wire are relative to the server root. A Katib experiment (runner
"katib") is read from its cluster on GET of its id and recorded (as ``kale-ext experiments show`` does); when the
cluster cannot be read, the answer is the experiment as last recorded with ``refresh_error`` saying why.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..api.tuning import Experiment, ResumeExperimentRequest, StartExperimentRequest
from ..api.tuning_convert import experiment_from_record, experiment_list
from ..errors import KaleError
from .base import KaleHandler
from .handlers import analyze_or_refuse

TUNER_SETTING = "kale_ext_tuner"
EXPERIMENT_ID = r"(?P<experiment_id>[\w.-]+)"


class TuningUnavailableError(KaleError):
    """The server was started without a Tuner (its class could not be imported)."""

    status = 503
    code = "tuning.unavailable"


def experiments_routes(prefix: str = "kale/v1") -> list[tuple[str, type]]:
    return [
        (rf"/{prefix}/experiments", ExperimentsHandler),
        (rf"/{prefix}/experiments/{EXPERIMENT_ID}", ExperimentHandler),
        (rf"/{prefix}/experiments/{EXPERIMENT_ID}/cancel", ExperimentCancelHandler),
        (rf"/{prefix}/experiments/{EXPERIMENT_ID}/resume", ExperimentResumeHandler),
    ]


class _ExperimentsBase(KaleHandler):
    @property
    def tuner(self) -> Any:
        tuner = self.settings.get(TUNER_SETTING)
        if tuner is None:
            reason = self.settings.get(TUNER_SETTING + "_reason") or "no tuner is configured"
            raise TuningUnavailableError(f"Tuning is not available on this server: {reason}.")
        return tuner

    def serialize(self, record: dict[str, Any]) -> Experiment:
        return experiment_from_record(record, self.relative_path(str(record["notebook"])))


class ExperimentsHandler(_ExperimentsBase):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.get_query_argument("path", None)
        path = self.resolve_path(notebook) if notebook else None
        records = await self.off_loop(self.tuner.list, path)
        self.write_json(experiment_list(records, self.relative_path))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        request = self.parse_body(StartExperimentRequest)
        path = self.resolve_path(request.path)
        tuner = self.tuner
        record = await self.off_loop(start_experiment, tuner, path, request)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + record["experiment_id"])
        self.write_json(self.serialize(record), status=201)


def start_experiment(tuner: Any, path: str, request: StartExperimentRequest) -> dict[str, Any]:
    """Read and validate the saved notebook's experiment, apply the request's overrides, start it on ``tuner``."""
    from ..notebook import load_notebook, pipeline_name_for
    from ..tuning.spec import notebook_experiment

    nb = load_notebook(path)
    pipeline = analyze_or_refuse(nb, pipeline_name_for(path))
    spec = notebook_experiment(
        nb,
        pipeline,
        max_trials=request.max_trials,
        parallel=request.parallel,
        algorithm=request.algorithm,
        seed=request.seed,
    )
    experiment_id = tuner.start(path, spec, automl=request.automl, pipeline=pipeline)
    return tuner.get(experiment_id)


class ExperimentHandler(_ExperimentsBase):
    @web.authenticated
    @authorized
    async def get(self, experiment_id: str) -> None:
        self.write_json(self.serialize(await self.off_loop(current, experiment_id, self.tuner)))


class ExperimentCancelHandler(_ExperimentsBase):
    @web.authenticated
    @authorized
    async def post(self, experiment_id: str) -> None:
        self.write_json(self.serialize(await self.off_loop(self.tuner.cancel, experiment_id)))


class ExperimentResumeHandler(_ExperimentsBase):
    @web.authenticated
    @authorized
    async def post(self, experiment_id: str) -> None:
        request = self.parse_body(ResumeExperimentRequest, {} if not self.request.body.strip() else None)
        tuner = self.tuner

        def resume(experiment_id: str) -> dict[str, Any]:
            tuner.resume(experiment_id, max_trials=request.max_trials, parallel=request.parallel)
            return tuner.get(experiment_id)

        self.write_json(self.serialize(await self.off_loop(resume, experiment_id)))


def current(experiment_id: str, tuner: Any) -> dict[str, Any]:
    """The experiment; a running Katib one as its cluster reports it now (and recorded), or as last recorded with
    ``refresh_error`` when the cluster cannot be read."""
    from ..tuning.katib_rules import KatibError

    try:
        return tuner.get(experiment_id, refresh=True)
    except KatibError as exc:  # no configuration, the cluster does not answer, the Experiment was deleted
        return {**tuner.get(experiment_id), "refresh_error": exc.message}
