"""The Tuning view in a real JupyterLab, over the real Tuner and local runner: define a search space in the form (a
validation message beside a field, then fixed), start an experiment, see the live trials table fill and the plots
drawn, open a trial's run in the runs view; the experiment is written into the notebook in Kale's format (read back
from the saved file, and shown again when the notebook is opened); cancel and resume. Screenshots:
artifacts/tuning-form.png, tuning-trials.png, tuning-plots.png, tuning-resume.png, tuning-automl.png."""

from __future__ import annotations

import json
import shutil

from conftest import REPO_ROOT
from pages import KalePage, code_cell, write_notebook
from playwright.sync_api import expect

MAX_TRIALS = 6


def tunable_notebook(root, name="tuning.ipynb"):
    """Parameters x (double) and y (int); score is highest at x = 0.3, y = 3; the load step reads no parameter."""
    return write_notebook(
        root / name,
        [
            code_cell("import time", ["imports"]),
            code_cell("x = 0.2\ny = 2\nlabel = 'a'", ["pipeline-parameters"]),
            code_cell("time.sleep(0.2)\ndata = [1.0, 2.0, 3.0]", ["step:load"]),
            code_cell("score = sum(data) - 10 * (x - 0.3) ** 2 - (y - 3) ** 2", ["step:train", "prev:load"]),
            code_cell("print(score)", ["pipeline-metrics"]),
        ],
    )


def test_define_a_search_space_start_watch_and_open_a_trial(page, jupyter_lab, artifacts):
    path = tunable_notebook(jupyter_lab["root"])
    kale = KalePage(page, jupyter_lab).open_notebook(path.name)
    kale.open_tuning()
    start = kale.tuning.get_by_test_id("kale-tuning-start")
    expect(kale.tuning_param("x")).to_be_visible(timeout=30_000)

    # Checked as you type: a range the wrong way round is named beside the max, and blocks Start.
    kale.tune_parameter("x", "double", min="0.5", max="0.1")
    max_x = kale.tuning_field("x", "max")
    expect(kale.field_error(max_x)).to_have_text("The max (0.1) is below the min (0.5): swap them.")
    expect(max_x).to_have_attribute("aria-invalid", "true")
    expect(start).to_be_disabled()
    # bayesianoptimization samples doubles log-uniformly: a min of 0 is refused beside the min.
    kale.tuning_field("x", "min").fill("0")
    kale.tuning_field("x", "max").fill("0.6")
    kale.tuning.get_by_label("Algorithm").select_option("bayesianoptimization")
    expect(kale.field_error(kale.tuning_field("x", "min"))).to_contain_text("above 0")
    kale.tuning.get_by_label("Algorithm").select_option("random")
    expect(kale.field_error(kale.tuning_field("x", "min"))).to_have_count(0)
    kale.tuning_field("x", "min").fill("0.1")
    kale.tune_parameter("y", "int", min="1", max="4")
    kale.tuning.get_by_label("Objective metric").select_option("score")
    kale.tuning.get_by_label("Objective direction").select_option("maximize")
    kale.tuning.get_by_label("Parallel", exact=True).fill("20")
    expect(kale.field_error(kale.tuning.get_by_label("Parallel", exact=True))).to_contain_text("must not exceed")
    kale.tuning.get_by_label("Parallel", exact=True).fill("2")
    kale.tuning.get_by_label("Max trials", exact=True).fill(str(MAX_TRIALS))
    expect(kale.tuning_form.locator(".jp-Kale-fieldError")).to_have_count(0)
    expect(start).to_be_enabled()
    kale.tuning_form.screenshot(path=str(artifacts / "tuning-form.png"))

    start.click()
    expect(kale.experiment).to_be_visible(timeout=30_000)
    # Start saved the notebook: the experiment is in the file, in Kale's format (feasibleSpace strings).
    saved = json.loads(path.read_text())["metadata"]["kubeflow_notebook"]["katib_metadata"]
    assert saved["parameters"] == [
        {"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.6"}},
        {"name": "y", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "4"}},
    ]
    assert saved["objective"] == {"type": "maximize", "objectiveMetricName": "score"}
    assert saved["algorithm"] == {"algorithmName": "random"}
    assert (saved["parallelTrialCount"], saved["maxTrialCount"], saved["maxFailedTrialCount"]) == (2, MAX_TRIALS, 3)

    # The live table fills while it runs, then the experiment ends with every trial scored and the best highlighted.
    expect(kale.trial_rows().first).to_be_visible(timeout=60_000)
    expect(kale.experiment).to_have_attribute("data-status", "succeeded", timeout=180_000)
    expect(kale.trial_rows()).to_have_count(MAX_TRIALS)
    statuses = kale.trial_rows().evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses == ["succeeded"] * MAX_TRIALS, statuses
    best = kale.experiment.locator("tbody tr.jp-mod-best")
    expect(best).to_have_count(1)
    expect(kale.experiment.get_by_test_id("kale-tuning-best")).to_contain_text(
        f"trial {best.get_attribute('data-trial')}"
    )
    kale.experiment.scroll_into_view_if_needed()
    kale.screenshot(artifacts / "tuning-trials.png")

    # The plots: one dot per trial on the objective plot (the best marked), one scatter per tuned parameter.
    plots = kale.experiment.get_by_test_id("kale-tuning-plots")
    objective = plots.get_by_test_id("kale-tuning-objective-plot")
    expect(objective.locator("circle")).to_have_count(MAX_TRIALS)
    expect(objective.locator("circle.jp-mod-best")).to_have_count(1)
    assert len(objective.locator("polyline").get_attribute("points").split()) >= MAX_TRIALS
    expect(plots.get_by_test_id("kale-tuning-param-plot")).to_have_count(2)
    for name in ("x", "y"):
        expect(plots.locator(f'[data-name="{name}"] circle')).to_have_count(MAX_TRIALS)
    plots.screenshot(path=str(artifacts / "tuning-plots.png"))

    # A trial opens its run in the runs view: the run of that trial, with its parameters, succeeded.
    row = kale.trial_rows().nth(2)
    run_id = row.get_attribute("data-run-id")
    assert run_id
    row.click()
    expect(kale.run_detail).to_have_attribute("data-run-id", run_id, timeout=30_000)
    expect(kale.run_detail).to_have_attribute("data-status", "succeeded", timeout=30_000)
    expect(kale.run_detail).to_be_in_viewport()  # brought into view below the runs list

    # Opened again, the notebook shows its experiment: the form is read back from the metadata.
    kale.open_notebook(path.name)
    kale.open_tuning()
    expect(kale.tuning_param("x").get_by_label("Tune x")).to_be_checked()
    expect(kale.tuning_field("x", "max")).to_have_value("0.6")
    expect(kale.tuning_field("y", "min")).to_have_value("1")
    expect(kale.tuning_param("label").get_by_label("Tune label")).not_to_be_checked()
    expect(kale.experiment).to_have_attribute("data-status", "succeeded", timeout=30_000)


def test_a_kale_notebook_shows_its_experiment_cancel_and_refusals(page, jupyter_lab, artifacts):
    path = tunable_notebook(jupyter_lab["root"], "tuning_cancel.ipynb")
    nb = json.loads(path.read_text())
    nb["cells"][3]["source"] = "time.sleep(4)\n" + nb["cells"][3]["source"]  # slow trials: still running at Cancel
    # A Kale 0.7 notebook's experiment, as Kale writes it: shown in the form when the notebook opens.
    nb["metadata"]["kubeflow_notebook"] = {
        "katib_run": False,
        "katib_metadata": {
            "parameters": [{"name": "x", "parameterType": "double", "feasibleSpace": {"min": "0.1", "max": "0.5"}}],
            "objective": {"type": "maximize", "objectiveMetricName": "score", "additionalMetricNames": []},
            "algorithm": {"algorithmName": "random", "algorithmSettings": []},
            "parallelTrialCount": 1,
            "maxTrialCount": 8,
            "maxFailedTrialCount": 3,
        },
    }
    path.write_text(json.dumps(nb))
    kale = KalePage(page, jupyter_lab).open_notebook(path.name)
    kale.open_tuning()
    expect(kale.tuning_field("x", "max")).to_have_value("0.5")
    expect(kale.tuning.get_by_label("Max trials", exact=True)).to_have_value("8")
    kale.tuning.get_by_test_id("kale-tuning-start").click()
    expect(kale.experiment).to_have_attribute("data-status", "running", timeout=30_000)
    expect(kale.trial_rows().first).to_have_attribute("data-status", "running", timeout=30_000)
    kale.tuning.get_by_test_id("kale-tuning-cancel").click()
    expect(kale.experiment).to_have_attribute("data-status", "cancelled", timeout=60_000)
    expect(kale.tuning.get_by_test_id("kale-tuning-cancel")).to_have_count(0)
    statuses = kale.trial_rows().evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert "running" not in statuses and len(statuses) < 8, statuses

    # Resume continues the cancelled experiment under its id: its trials stay, new ones run after them.
    eid = kale.experiment.get_attribute("data-experiment-id")
    resume = kale.tuning.get_by_test_id("kale-tuning-resume")
    expect(resume).to_be_visible()
    kale.tuning.screenshot(path=str(artifacts / "tuning-resume.png"))  # the form, Start and Resume, the experiment
    resume.click()
    expect(kale.experiment).to_have_attribute("data-status", "running", timeout=30_000)
    expect(kale.experiment).to_have_attribute("data-experiment-id", eid)
    expect(kale.tuning.get_by_test_id("kale-tuning-resume")).to_have_count(0)
    expect(kale.trial_rows()).to_have_count(len(statuses) + 1, timeout=30_000)
    kale.tuning.get_by_test_id("kale-tuning-cancel").click()
    expect(kale.experiment).to_have_attribute("data-status", "cancelled", timeout=60_000)

    # A stale metric in the saved experiment is named in the form, and Start waits for a fix.
    nb["cells"][4]["source"] = "print(sum(data))"
    path.write_text(json.dumps(nb))
    kale.page.reload()
    kale.open_notebook(path.name)
    kale.open_tuning()
    expect(kale.tuning.get_by_label("Objective metric")).to_have_value("score")
    field_errors = kale.tuning_form.locator(".jp-Kale-fieldError")
    expect(field_errors.filter(has_text="not a metric of this pipeline")).to_have_count(1)
    # Only that one: the tuned parameter x is known once the analysis of the loaded notebook has arrived.
    expect(field_errors).to_have_count(1)
    expect(kale.tuning.get_by_test_id("kale-tuning-start")).to_be_disabled()

    # What only the server checks (the algorithm's settings, kept as the notebook has them) is refused on Start
    # with every problem listed.
    nb["cells"][4]["source"] = "print(score)"
    nb["metadata"]["kubeflow_notebook"]["katib_metadata"]["algorithm"]["algorithmSettings"] = [
        {"name": "bogus_setting", "value": "1"}
    ]
    path.write_text(json.dumps(nb))
    kale.page.reload()
    kale.open_notebook(path.name)
    kale.open_tuning()
    start = kale.tuning.get_by_test_id("kale-tuning-start")
    expect(start).to_be_enabled(timeout=30_000)
    start.click()
    alert = kale.tuning.locator(".jp-Kale-status.jp-mod-error")
    expect(alert).to_contain_text("bogus_setting", timeout=30_000)
    expect(alert.locator("li")).to_have_count(1)


def test_the_svm_example_shows_its_experiment_and_runs_automl(page, jupyter_lab, artifacts):
    shutil.copy(REPO_ROOT / "examples" / "svm_tuning.ipynb", jupyter_lab["root"] / "svm_tuning.ipynb")
    kale = KalePage(page, jupyter_lab).open_notebook("svm_tuning.ipynb")
    kale.open_tuning()
    # The example's Kale-format experiment, as written in the notebook.
    expect(kale.tuning_param("C").get_by_label("Tune C")).to_be_checked(timeout=30_000)
    expect(kale.tuning_field("C", "min")).to_have_value("0.01")
    expect(kale.tuning_field("gamma", "max")).to_have_value("1")
    expect(kale.tuning.get_by_label("Objective metric")).to_have_value("accuracy")
    expect(kale.tuning.get_by_label("Objective direction")).to_have_value("maximize")
    # AutoML from its kale_ext metadata: every family once, then the best family tuned with the rest of the budget.
    kale.tuning.get_by_label("Max trials", exact=True).fill("4")
    kale.tuning.get_by_label("AutoML").check()
    kale.tuning.get_by_test_id("kale-tuning-start").click()
    expect(kale.experiment).to_have_attribute("data-status", "succeeded", timeout=300_000)
    expect(kale.trial_rows()).to_have_count(4)
    family = kale.experiment.get_by_test_id("kale-tuning-family")
    expect(family).to_contain_text("Best family:")
    for name in ("svm", "logreg", "rf"):
        expect(family).to_contain_text(name)
    stages = kale.trial_rows().locator("td:first-child").evaluate_all("cells => cells.map(c => c.title)")
    assert stages.count("AutoML stage: families") == 3 and stages.count("AutoML stage: tune") == 1, stages
    kale.experiment.screenshot(path=str(artifacts / "tuning-automl.png"))
