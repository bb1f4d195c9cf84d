#!/usr/bin/env python3
"""Writes the edge-case golden files of eval/testdata/sklearn with scikit-learn.

Run with Debian's python3-sklearn (1.2.1: `apt-get install python3-sklearn`, then
`/usr/bin/python3 scripts/golden-metrics.py`). The other golden files came with the
project (../shared/testdata/metrics); this script writes only the cases below,
following their README's conventions: argmax with ties to the lowest class,
zero_division=0 over every declared class, log loss with scikit-learn 1.2's
eps="auto" (float64 machine epsilon). A value scikit-learn leaves undefined (NaN)
is written as null; a metric it refuses (ROC AUC without both classes) is left out.
"""
import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics as m

warnings.simplefilter("ignore")
OUT = os.path.join(os.path.dirname(__file__), "..", "eval", "testdata", "sklearn")

CASES = {
    "edge_exact_probabilities.json": (
        "binary, probabilities exactly 0 and 1 (two rows certain and wrong): log loss clips at float64 epsilon",
        2, [0, 1, 1, 0, 1, 0, 1],
        [[1, 0], [0, 1], [1, 0], [0.5, 0.5], [0.2, 0.8], [0, 1], [0.9, 0.1]]),
    "edge_class_without_positives.json": (
        "3 classes, class 2 never in y_true but predicted once: its average precision counts as 0 in the macro average",
        3, [0, 1, 0, 1, 0, 1],
        [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.2, 0.3], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]]),
    "edge_single_row.json": (
        "one row, a positive predicted right: Cohen's kappa undefined, average precision 1, no ROC AUC",
        2, [1], [[0.25, 0.75]]),
    "edge_single_negative_row.json": (
        "one row, a negative: no positive rows, average precision 0, no ROC AUC",
        2, [0], [[0.7, 0.3]]),
}


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


def expected(k, y, p):
    y, p = np.array(y), np.array(p, dtype=np.float64)
    labels = list(range(k))
    pred = p.argmax(axis=1)
    e = {
        "accuracy": m.accuracy_score(y, pred),
        "balanced_accuracy": m.balanced_accuracy_score(y, pred),
        "mcc": m.matthews_corrcoef(y, pred),
        "cohen_kappa": m.cohen_kappa_score(y, pred, labels=labels),
        "log_loss": m.log_loss(y, p, labels=labels),
    }
    for avg in ("macro", "micro", "weighted"):
        pr, rc, f1, _ = m.precision_recall_fscore_support(y, pred, labels=labels, average=avg, zero_division=0)
        e["precision_" + avg], e["recall_" + avg], e["f1_" + avg] = pr, rc, f1
    pr, rc, f1, sup = m.precision_recall_fscore_support(y, pred, labels=labels, average=None, zero_division=0)
    e["precision_per_class"], e["recall_per_class"], e["f1_per_class"] = list(pr), list(rc), list(f1)
    e["support_per_class"] = [int(v) for v in sup]
    e["confusion_matrix"] = m.confusion_matrix(y, pred, labels=labels).tolist()
    if k == 2:
        e["average_precision"] = m.average_precision_score(y, p[:, 1])
        e["brier"] = m.brier_score_loss(y, p[:, 1], pos_label=1)
        if len(set(y.tolist())) == 2:
            e["roc_auc"] = m.roc_auc_score(y, p[:, 1])
    else:
        e["average_precision"] = m.average_precision_score(np.eye(k)[y], p, average="macro")
        if len(set(y.tolist())) == k:
            e["roc_auc_ovr_macro"] = m.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=labels)
            e["roc_auc_ovr_weighted"] = m.roc_auc_score(y, p, multi_class="ovr", average="weighted", labels=labels)
            e["top_2_accuracy"] = m.top_k_accuracy_score(y, p, k=2, labels=labels)
    return {key: ([num(v) for v in val] if isinstance(val, list) and key.endswith("_per_class") and key != "support_per_class" else
                  val if isinstance(val, list) else num(val)) for key, val in e.items()}


assert sklearn.__version__.startswith("1.2"), sklearn.__version__
for name, (note, k, y, p) in CASES.items():
    case = {"note": note, "n_classes": k, "y_true": y, "y_prob": p, "expected": expected(k, y, p),
            "generator": f"scripts/golden-metrics.py, scikit-learn {sklearn.__version__}"}
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(case, f, indent=1)
        f.write("\n")
    print(name, case["expected"]["log_loss"], case["expected"].get("average_precision"), case["expected"]["cohen_kappa"])
