#!/usr/bin/env python3
"""Fit times: lakefuse against scikit-learn doing the same models, in one run.

Two datasets: mfeat (the published 1,600 training rows, six views, 10 classes) and
a synthetic 100-class set (3,000 entities, 2,400 training rows, three views of
256, 128 and 32 features: class means in a shared latent space seen through a
random projection per view, plus noise). Per round, scikit-learn fits every model
in this process, then scripts/fitbench (lakefuse's fits, the real code) fits the
same models on the same rows; then `lakefuse demo` runs end to end under
/usr/bin/time against scikit-learn fitting the demo's models (and the demo's run
again without the report's out-of-fold refits of every strategy, which
scikit-learn's side does not do). Rounds alternate;
the table shows medians of wall and CPU seconds (CPU of the whole process: every
BLAS thread, every goroutine).

The models, both sides: StandardScaler + multinomial LogisticRegression(C=1,
max_iter=500, lbfgs) per view (unimodal); the same on all views' features
concatenated (early); stacking = a model per view on all training rows, five
stratified out-of-fold models per view, a meta-model on the out-of-fold
probabilities; evidential = lakefuse's evidential classifier per view.
scikit-learn has no evidential model, so the script writes it as scikit-learn
writes LogisticRegression (numpy's loss and gradient, scipy's L-BFGS-B with the
same tolerance: `evidential` below; on mfeat it takes the same iterations as
lakefuse's fit, within 5 %); "evidential~logistic" times scikit-learn's logistic
regressions of the same size instead, the nearest fit it has.
The demo's models: six unimodal, stacking's 30 out-of-fold models and meta-model,
early, hybrid's [pix, fac] early model, and evidential's six per-view models;
with the out-of-fold refits the demo's report adds, also five fold fits of each
learned strategy (sk_demo).

    /usr/bin/python3 scripts/bench-fits.py [ROUNDS]   (Debian's python3-sklearn 1.2.1)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def lr():
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500))


def mfeat():
    data = os.path.join(root, "internal", "mfeat", "data")
    views = ["fac", "fou", "kar", "mor", "pix", "zer"]
    X = {v: np.loadtxt(os.path.join(data, f"mfeat-{v}.csv"), delimiter=",", skiprows=1) for v in views}
    y = X["fac"][:, -1].astype(int)
    X = {v: a[:, :-1] for v, a in X.items()}
    split = np.loadtxt(os.path.join(data, "split.csv"), delimiter=",", skiprows=1, dtype=str)
    train = np.zeros(len(y), dtype=bool)
    train[[int(i) for i, s in split if s == "train"]] = True
    return X, y, train, 10


def synthetic(n=3000, k=100, widths=(256, 128, 32), latent=32, seed=11):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    rng.shuffle(y)
    means = rng.normal(size=(k, latent))
    z = means[y] + 1.2 * rng.normal(size=(n, latent))
    X = {}
    for j, w in enumerate(widths):
        proj = rng.normal(size=(latent, w)) / np.sqrt(latent)
        X[f"v{j}"] = z @ proj + (1.0 + 0.5 * j) * rng.normal(size=(n, w))
    train = np.zeros(n, dtype=bool)
    train[: int(0.8 * n)] = True
    return X, y, train, k


def write(dirname, X, y, train, k):
    os.makedirs(dirname, exist_ok=True)
    meta = {"classes": k, "label": [int(v) for v in y], "train": [bool(v) for v in train],
            "views": [{"name": v, "width": a.shape[1]} for v, a in X.items()]}
    with open(os.path.join(dirname, "meta.json"), "w") as f:
        json.dump(meta, f)
    for v, a in X.items():
        np.ascontiguousarray(a, dtype="<f8").tofile(os.path.join(dirname, v + ".f64"))


def evidential(a, yt, k, lam=1.0, C=1.0, tol=1e-4, max_iter=500):
    """lakefuse's evidential classifier for one view, written as scikit-learn
    writes LogisticRegression's lbfgs fit: numpy's loss and gradient (scipy's
    special functions) minimised by scipy's L-BFGS-B with the same tolerance on
    the summed loss. The same model as lakefuse's (fusion/evidential.go): on
    standardised features, evidence e = softplus(W·x + b), α = e + 1, S = Σα;
    row loss ψ(S) − ψ(α_y) + lam × KL(Dir(α̃) ‖ Dir(1)), α̃ with α_y set to 1;
    plus ‖W‖²/(2C). Returns the fitted (W, b, scaler)."""
    from scipy.optimize import minimize
    from scipy.special import digamma, expit, gammaln, polygamma
    sc = StandardScaler().fit(a)
    X = sc.transform(a)
    n, d = X.shape
    rows = np.arange(n)
    lgk = gammaln(k)

    def f(theta):
        W, b = theta[: k * d].reshape(k, d), theta[k * d:]
        Z = X @ W.T + b
        alpha = np.logaddexp(0, Z) + 1
        S = alpha.sum(1)
        ay = alpha[rows, yt]
        at = alpha.copy()
        at[rows, yt] = 1
        St = at.sum(1)
        kl = gammaln(St) - lgk - gammaln(at).sum(1) + ((at - 1) * (digamma(at) - digamma(St)[:, None])).sum(1)
        loss = (digamma(S) - digamma(ay) + lam * kl).sum() + 0.5 * (W * W).sum() / C
        tS = polygamma(1, S)
        G = tS[:, None] + lam * ((at - 1) * polygamma(1, at) - (polygamma(1, St) * (St - k))[:, None])
        G[rows, yt] = tS - polygamma(1, ay)
        G *= expit(Z)
        return loss, np.concatenate([(G.T @ X + W / C).ravel(), G.sum(0)])

    res = minimize(f, np.zeros(k * d + k), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol})
    return res.x[: k * d].reshape(k, d), res.x[k * d:], sc


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def sk_fits(X, y, train):
    out = {}
    Xt = {v: a[train] for v, a in X.items()}
    yt = y[train]
    for v, a in Xt.items():
        out[f"unimodal:{v}"] = timed(lambda: lr().fit(a, yt))
    out["early"] = timed(lambda: lr().fit(np.hstack(list(Xt.values())), yt))

    # stacking, and its three stages alone (stacking/...), as fitbench times them
    stage = {}

    def stacking():
        t = {}
        t["unimodal"] = timed(lambda: [lr().fit(a, yt) for a in Xt.values()])
        oof = []
        t["out-of-fold"] = timed(lambda: oof.extend(
            cross_val_predict(lr(), a, yt, cv=StratifiedKFold(5), method="predict_proba") for a in Xt.values()))
        t["meta"] = timed(lambda: lr().fit(np.hstack(oof), yt))
        stage.update(t)
    out["stacking"] = timed(stacking)
    for k, v in stage.items():
        out["stacking/" + k] = v
    k = int(y.max()) + 1
    out["evidential"] = timed(lambda: [evidential(a, yt, k) for a in Xt.values()])
    out["evidential~logistic"] = timed(lambda: [lr().fit(a, yt) for a in Xt.values()])
    return out


def sk_demo(X, y, train):
    """scikit-learn fitting the demo's models: the six unimodal models and
    stacking's out-of-fold models and meta-model, early, hybrid's [pix, fac]
    early model, evidential's six per-view models (the same model in numpy and
    scipy); then, again, those plus what the demo's report adds — each learned
    strategy refitted on five stratified folds for its out-of-fold accuracy
    (early, hybrid's group model, stacking's meta-model, evidential's six;
    late-weighted's and the temperature's few parameters left out). Returns
    (without the refits, with them)."""
    Xt = {v: a[train] for v, a in X.items()}
    yt = y[train]
    k = int(y.max()) + 1
    oof = []

    def fits():
        for a in Xt.values():
            lr().fit(a, yt)
            oof.append(cross_val_predict(lr(), a, yt, cv=StratifiedKFold(5), method="predict_proba"))
        lr().fit(np.hstack(oof), yt)
        lr().fit(np.hstack(list(Xt.values())), yt)
        lr().fit(np.hstack([Xt["pix"], Xt["fac"]]), yt)
        for a in Xt.values():
            evidential(a, yt, k)

    def refits():
        meta = np.hstack(oof)
        early = np.hstack(list(Xt.values()))
        group = np.hstack([Xt["pix"], Xt["fac"]])
        for tr, _ in StratifiedKFold(5).split(early, yt):
            lr().fit(early[tr], yt[tr])
            lr().fit(group[tr], yt[tr])
            lr().fit(meta[tr], yt[tr])
            for a in Xt.values():
                evidential(a[tr], yt[tr], k)
    without = timed(fits)
    more = timed(refits)
    return without, (without[0] + more[0], without[1] + more[1])
def lf_fits(binary, dirname):
    run = subprocess.run([binary, "-data", dirname], capture_output=True, text=True, check=True)
    out = {}
    for line in run.stdout.splitlines():
        r = json.loads(line)
        out[r["fit"]] = (r["wall"], r["cpu"])
    return out


def lf_demo(binary, tmp):
    """`lakefuse demo` (import and the run), then the same run without the
    out-of-fold refits of every strategy (evaluation.out_of_fold: false): the
    demo's models and nothing more."""
    lake = "file://" + os.path.join(tmp, "demo-lake")
    subprocess.run(["rm", "-rf", os.path.join(tmp, "demo-lake")], check=True)
    out = []
    for cmd in ([binary, "demo", "--lake", lake],
                [binary, "run", "--lake", lake, "--run-id", "no-oof", os.path.join(tmp, "no-oof.yaml")]):
        run = subprocess.run(["/usr/bin/time", "-f", "%e %U %S"] + cmd, capture_output=True, text=True, check=True)
        wall, user, sys_ = map(float, run.stderr.strip().splitlines()[-1].split())
        out.append((wall, user + sys_))
    return out


def main():
    sets = {"mfeat": mfeat(), "synthetic-100": synthetic()}
    times = {}  # (dataset, fit, side) -> [(wall, cpu)]
    with tempfile.TemporaryDirectory() as tmp:
        fb, lf = os.path.join(tmp, "fitbench"), os.path.join(tmp, "lakefuse")
        subprocess.run(["go", "build", "-o", fb, "./scripts/fitbench"], cwd=root, check=True)
        subprocess.run(["go", "build", "-o", lf, "./cmd/lakefuse"], cwd=root, check=True)
        for name, (X, y, train, k) in sets.items():
            write(os.path.join(tmp, name), X, y, train, k)
        with open(os.path.join(root, "examples", "mfeat.yaml")) as f, open(os.path.join(tmp, "no-oof.yaml"), "w") as g:
            g.write(f.read() + "\nevaluation: {out_of_fold: false}\n")
        for r in range(ROUNDS):
            for name, (X, y, train, k) in sets.items():
                for fit, t in sk_fits(X, y, train).items():
                    times.setdefault((name, fit, "sklearn"), []).append(t)
                for fit, t in lf_fits(fb, os.path.join(tmp, name)).items():
                    times.setdefault((name, fit, "lakefuse"), []).append(t)
            X, y, train, _ = sets["mfeat"]
            sk_without, sk_with = sk_demo(X, y, train)
            with_oof, without = lf_demo(lf, tmp)
            for label, t, sk in (("demo (whole run / fits, both with the out-of-fold refits)", with_oof, sk_with),
                                 ("demo without out_of_fold (whole run / fits)", without, sk_without)):
                times.setdefault(("mfeat", label, "sklearn"), []).append(sk)
                times.setdefault(("mfeat", label, "lakefuse"), []).append(t)
            print(f"round {r + 1}/{ROUNDS} done", file=sys.stderr)
    print(f"median of {ROUNDS} alternating rounds, seconds; ratio = lakefuse / scikit-learn")
    print("| dataset | fit | lakefuse wall | lakefuse CPU | scikit-learn wall | scikit-learn CPU | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|")
    keys = sorted({(d, f) for d, f, side in times if side == "sklearn"}, key=lambda k: (k[0], k[1].startswith("demo"), k[1]))
    for d, f in keys:
        # "evidential~logistic": scikit-learn's logistic regressions of the same
        # size beside lakefuse's evidential fit (the stand-in used before the
        # same model was written in numpy and scipy).
        lk = (d, f.split("~")[0], "lakefuse")
        lw = statistics.median(w for w, _ in times[lk])
        lc = statistics.median(c for _, c in times[lk])
        sw = statistics.median(w for w, _ in times[(d, f, "sklearn")])
        sc = statistics.median(c for _, c in times[(d, f, "sklearn")])
        print(f"| {d} | {f} | {lw:.3f} | {lc:.3f} | {sw:.3f} | {sc:.3f} | {lw / sw:.2f} | {lc / sc:.2f} |")


if __name__ == "__main__":
    main()
