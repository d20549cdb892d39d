"""Write the example notebooks of this folder (plain JSON, nbformat 4; no nbformat import needed).

    python examples/make_examples.py [OUT_DIR]

All run on data shipped with scikit-learn (no downloads), use Kale's tags (imports, functions, pipeline-parameters,
step:NAME, prev:NAME, skip, pipeline-metrics) and fixed random states, so their metrics are reproducible.
"""

from __future__ import annotations

import json
import os
import sys


def md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}


def code(text: str, *tags: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(tags)},
        "outputs": [],
        "source": text.strip("\n").splitlines(keepends=True),
    }


def notebook(cells: list[dict], name: str, description: str) -> dict:
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "kubeflow_notebook": {
                "pipeline_name": name,
                "pipeline_description": description,
                "experiment_name": "examples",
            },
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


WINE = notebook(
    [
        md(
            "# Wine classification\n\nThree models trained in parallel branches on scikit-learn's wine data, then compared."
        ),
        code(
            """
import numpy as np
import pandas as pd
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.ensemble import RandomForestClassifier, GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
""",
            "imports",
        ),
        code(
            """
def evaluate(model, X, y):
    predicted = model.predict(X)
    return float(accuracy_score(y, predicted)), float(f1_score(y, predicted, average="macro"))
""",
            "functions",
        ),
        code("TEST_SIZE = 0.3\nSEED = 7\nN_ESTIMATORS = 100\nMAX_DEPTH = 3\nC = 0.5", "pipeline-parameters"),
        code(
            """
wine = load_wine(as_frame=True)
df = wine.frame
print(df.shape, "classes:", sorted(df["target"].unique()))
""",
            "step:load_data",
        ),
        code("df.describe()", "skip"),
        code(
            """
features = [c for c in df.columns if c != "target"]
X_train, X_test, y_train, y_test = train_test_split(
    df[features].to_numpy(), df["target"].to_numpy(), test_size=TEST_SIZE, random_state=SEED, stratify=df["target"]
)
scaler = StandardScaler().fit(X_train)
X_train = scaler.transform(X_train)
X_test = scaler.transform(X_test)
print("train", X_train.shape, "test", X_test.shape)
""",
            "step:preprocess",
            "prev:load_data",
        ),
        code(
            """
rf = RandomForestClassifier(n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH, random_state=SEED)
rf.fit(X_train, y_train)
""",
            "step:train_rf",
            "prev:preprocess",
        ),
        code(
            """
gb = GradientBoostingClassifier(n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH, random_state=SEED)
gb.fit(X_train, y_train)
""",
            "step:train_gb",
            "prev:preprocess",
        ),
        code(
            """
lr = LogisticRegression(C=C, max_iter=1000)
lr.fit(X_train, y_train)
""",
            "step:train_lr",
            "prev:preprocess",
        ),
        code(
            """
scores = {name: evaluate(model, X_test, y_test) for name, model in [("rf", rf), ("gb", gb), ("lr", lr)]}
rf_accuracy, gb_accuracy, lr_accuracy = scores["rf"][0], scores["gb"][0], scores["lr"][0]
best_model = max(scores, key=lambda name: scores[name])
best_f1 = scores[best_model][1]
for name, (acc, f1) in scores.items():
    print(f"{name}: accuracy {acc:.3f}, macro F1 {f1:.3f}")
print("best:", best_model)
""",
            "step:evaluate",
            "prev:train_rf",
            "prev:train_gb",
            "prev:train_lr",
        ),
        code("print(rf_accuracy)\nprint(gb_accuracy)\nprint(lr_accuracy)\nprint(best_f1)", "pipeline-metrics"),
    ],
    "wine-classification",
    "wine: preprocessing, three models in parallel, evaluation",
)

DIGITS = notebook(
    [
        md("# Handwritten digits\n\nPCA features, then an SVM and a k-NN classifier in parallel branches."),
        code(
            """
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.metrics import accuracy_score, confusion_matrix
""",
            "imports",
        ),
        code("N_COMPONENTS = 30\nSVC_C = 5.0\nN_NEIGHBORS = 5\nTEST_SIZE = 0.25\nSEED = 0", "pipeline-parameters"),
        code(
            """
digits = load_digits()
images, labels = digits.data, digits.target
print("samples:", len(labels))
""",
            "step:load_digits",
        ),
        code(
            """
X_train, X_test, y_train, y_test = train_test_split(
    images, labels, test_size=TEST_SIZE, random_state=SEED, stratify=labels
)
pca = PCA(n_components=N_COMPONENTS, random_state=SEED).fit(X_train)
X_train_pca = pca.transform(X_train)
X_test_pca = pca.transform(X_test)
explained_variance = float(pca.explained_variance_ratio_.sum())
""",
            "step:features",
            "prev:load_digits",
        ),
        code(
            """
svc = SVC(C=SVC_C, gamma="scale")
%time svc.fit(X_train_pca, y_train)
svc_accuracy = accuracy_score(y_test, svc.predict(X_test_pca))
""",
            "step:train_svc",
            "prev:features",
        ),
        code(
            """
knn = KNeighborsClassifier(n_neighbors=N_NEIGHBORS).fit(X_train_pca, y_train)
knn_accuracy = accuracy_score(y_test, knn.predict(X_test_pca))
""",
            "step:train_knn",
            "prev:features",
        ),
        code(
            """
best = "svc" if svc_accuracy >= knn_accuracy else "knn"
model = svc if best == "svc" else knn
errors = int((confusion_matrix(y_test, model.predict(X_test_pca)) * (1 - np.eye(10, dtype=int))).sum())
print(f"best {best}: {max(svc_accuracy, knn_accuracy):.4f} accuracy, {errors} errors")
""",
            "step:report",
            "prev:train_svc",
            "prev:train_knn",
        ),
        code("print(svc_accuracy)\nprint(knn_accuracy)\nprint(explained_variance)\nprint(errors)", "pipeline-metrics"),
    ],
    "digits-pipeline",
    "digits: PCA features, SVM and k-NN in parallel, report",
)


def katib_parameter(name: str, kind: str, **space: object) -> dict:
    """A Katib-shaped parameter (feasibleSpace values are strings, as Katib and Kale write them)."""
    return {
        "name": name,
        "parameterType": kind,
        "feasibleSpace": {k: v if k == "list" else str(v) for k, v in space.items()},
    }


SVM_PARAMETERS = [
    katib_parameter("C", "double", min=0.01, max=100),
    katib_parameter("gamma", "double", min=0.0001, max=1),
]
SVM_TUNING = notebook(
    [
        md(
            "# SVM tuning\n\nA tunable model for `kale-ext tune`: the data is loaded and scaled once (the load step reads "
            "no tuned parameter, so every trial reuses it from the cache); the train step reads C and gamma, and "
            "`model_family` for `kale-ext tune --automl` (svm, logreg or rf, each with its own hyperparameters)."
        ),
        code(
            """
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
""",
            "imports",
        ),
        code(
            """
C = 1.0
gamma = 0.01
model_family = "svm"
LR_C = 1.0
N_ESTIMATORS = 50
MAX_DEPTH = 6
""",
            "pipeline-parameters",
        ),
        code(
            """
features, labels = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(features, labels, test_size=0.3, random_state=0, stratify=labels)
scaler = StandardScaler().fit(X_train)
X_train = scaler.transform(X_train)
X_test = scaler.transform(X_test)
""",
            "step:load",
        ),
        code(
            """
if model_family == "svm":
    model = SVC(C=C, gamma=gamma)
elif model_family == "logreg":
    model = LogisticRegression(C=LR_C, max_iter=1000)
else:
    model = RandomForestClassifier(n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH, random_state=0)
model.fit(X_train, y_train)
accuracy = float(accuracy_score(y_test, model.predict(X_test)))
print(f"{model_family}: accuracy {accuracy:.4f}")
""",
            "step:train",
            "prev:load",
        ),
        code("print(accuracy)", "pipeline-metrics"),
    ],
    "svm-tuning",
    "breast cancer: load and scale once, train an SVM (or, with --automl, the best of svm, logreg, rf)",
)
SVM_TUNING["metadata"]["kubeflow_notebook"]["katib_metadata"] = {
    "parameters": SVM_PARAMETERS,
    "objective": {"type": "maximize", "objectiveMetricName": "accuracy"},
    "algorithm": {"algorithmName": "random"},
    "parallelTrialCount": 3,
    "maxTrialCount": 12,
    "maxFailedTrialCount": 3,
}
SVM_TUNING["metadata"]["kale_ext"] = {
    "version": 1,
    "automl": {
        "parameter": "model_family",
        "families": {
            "svm": SVM_PARAMETERS,
            "logreg": [katib_parameter("LR_C", "double", min=0.001, max=100)],
            "rf": [
                katib_parameter("N_ESTIMATORS", "int", min=10, max=200),
                katib_parameter("MAX_DEPTH", "int", min=2, max=12),
            ],
        },
    },
}
EXAMPLES = {"wine_classification.ipynb": WINE, "digits_pipeline.ipynb": DIGITS, "svm_tuning.ipynb": SVM_TUNING}


def main(out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    for name, nb in EXAMPLES.items():
        path = os.path.join(out_dir, name)
        with open(path, "w") as f:
            json.dump(nb, f, indent=1)
            f.write("\n")
        print(path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
