"""Least squares: the normal-equation solution, and its non-uniqueness with more features than examples.

Claims C2.2 and C2.3. (C2.2) With more examples than features, ``a = (XᵀX)⁻¹Xᵀy`` (float64) is
compared with ``numpy.linalg.lstsq`` and with a Keras ``Dense(1)`` trained by full-batch gradient
descent on the MSE. (C2.3) With more features than examples, ``XᵀX`` is singular: its null space has
dimension ``features − rank``; adding any of its eigenvectors with eigenvalue 0 (unit-length, then
1000× longer) to a solution leaves every prediction on the training set, and so the loss, unchanged.

Erratum: the notes write the solution as ``(XᵀX)⁻¹Xᵀy`` also in the second case, where ``(XᵀX)⁻¹``
does not exist. This reproduction uses the Moore–Penrose pseudo-inverse ``X⁺y`` (the minimum-norm
solution) there, and reports what a naive ``inv(XᵀX)`` returns in floating point.

Command: ``repro run least_squares``
"""
from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from keras_repro.suite.claims import Claim, all_of, equals, less_than
from keras_repro.suite.config import ConfigError, ReproConfig, setting
from keras_repro.suite.registry import reproduction
from keras_repro.suite.runtime import full_batch_fit


@dataclass
class Config(ReproConfig):
    examples: int = setting(500, "C2.2: examples (more than features)", ge=1)
    features: int = setting(8, "C2.2: features (plus an intercept)", ge=1)
    noise: float = setting(0.1, "C2.2: standard deviation of the target noise", ge=0)
    gd_steps: int = setting(2000, "C2.2: full-batch gradient-descent steps of the Keras Dense(1)", ge=1)
    gd_learning_rate: float = setting(0.1, "C2.2: its SGD learning rate", gt=0)
    wide_examples: int = setting(20, "C2.3: examples (fewer than wide_features)", ge=1)
    wide_features: int = setting(50, "C2.3: features", ge=1)
    PROFILES = {"smoke": {"examples": 100, "gd_steps": 300}, "full": {"examples": 5000, "gd_steps": 10000}}
    DRY_RUN = {"gd_steps": 20}  # --dry-run: budgets only

    def validate(self):
        if self.examples <= self.features:
            raise ConfigError(f"examples must exceed features (C2.2 inverts XᵀX). "
                              f"Received: examples={self.examples}, features={self.features}")
        if self.wide_features <= self.wide_examples:
            raise ConfigError(f"wide_features must exceed wide_examples (C2.3 needs a null space). "
                              f"Received: wide_examples={self.wide_examples}, wide_features={self.wide_features}")


CLAIMS = [
    Claim("C2.2", "Least squares ||Xa − y||² → min has the solution a = (XᵀX)⁻¹Xᵀy when XᵀX is invertible.",
          rule=all_of(less_than("closed_form_vs_lstsq_relative", 1e-4), less_than("keras_gd_vs_lstsq_relative", 1e-2))),
    Claim("C2.3", "With more features than examples the solution is not unique: adding any eigenvector of XᵀX "
                  "with eigenvalue 0 to a solution gives another solution.",
          rule=all_of(equals("null_space_dimension_minus_expected", 0),
                      less_than("max_prediction_change_relative", 1e-6)),
          note="Erratum: the notes write (XᵀX)⁻¹ here, which does not exist in exactly this case (XᵀX is singular); "
               "the reproduction uses the pseudo-inverse X⁺y."),
]


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def null_space_of_gram(x: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues of XᵀX and the eigenvectors whose eigenvalue is 0 (below rtol · largest)."""
    eigenvalues, eigenvectors = np.linalg.eigh(x.T @ x)
    zero = eigenvalues < rtol * eigenvalues.max()
    return eigenvalues, eigenvectors[:, zero]


@reproduction("least_squares", title="Normal equations, and the null space that makes wide least squares non-unique",
              claims=CLAIMS, config=Config)
def run(ctx):
    cfg = ctx.config
    rng = ctx.rng(0)

    # -- C2.2: more examples than features ------------------------------------------------------
    x = rng.normal(size=(cfg.examples, cfg.features))
    design = np.hstack([x, np.ones((cfg.examples, 1))])
    a_true = rng.normal(size=cfg.features + 1)
    y = design @ a_true + cfg.noise * rng.normal(size=cfg.examples)
    closed_form = np.linalg.inv(design.T @ design) @ design.T @ y
    lstsq, *_ = np.linalg.lstsq(design, y, rcond=None)
    with ctx.scope():
        inputs = keras.Input((cfg.features,))
        model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="zeros", name="linear")(inputs))
        model.compile(keras.optimizers.SGD(cfg.gd_learning_rate), "mse")
    full_batch_fit(ctx.runtime, model, x.astype(np.float32), y.astype(np.float32).reshape(-1, 1), cfg.gd_steps,
                   label="Dense(1) by gradient descent")
    kernel, bias = model.get_layer("linear").get_weights()
    keras_coef = np.concatenate([kernel.ravel(), bias]).astype(np.float64)
    coefficients = pd.DataFrame({"coefficient": [f"a{i}" for i in range(cfg.features)] + ["intercept"],
                                 "true": a_true, "closed_form": closed_form, "lstsq": lstsq, "keras_gd": keras_coef})
    ctx.table("coefficients", coefficients, keys=["coefficient"])
    ctx.measure("C2.2", closed_form_vs_lstsq_relative=relative_difference(closed_form, lstsq),
                keras_gd_vs_lstsq_relative=relative_difference(keras_coef, lstsq),
                condition_number_xtx=float(np.linalg.cond(design.T @ design)))

    # -- C2.3: more features than examples -------------------------------------------------------
    xw = rng.normal(size=(cfg.wide_examples, cfg.wide_features))
    yw = rng.normal(size=cfg.wide_examples)
    rank = int(np.linalg.matrix_rank(xw))
    eigenvalues, null_vectors = null_space_of_gram(xw)
    solution = np.linalg.pinv(xw) @ yw
    base_pred = xw @ solution
    rows = []
    for j in range(null_vectors.shape[1]):
        for scale in (1.0, 1000.0):
            other = solution + scale * null_vectors[:, j]
            pred = xw @ other
            rows.append({"null_vector": j, "scale": scale,
                         "distance_between_solutions": float(np.linalg.norm(other - solution)),
                         "loss_before": float(np.mean((base_pred - yw) ** 2)),
                         "loss_after": float(np.mean((pred - yw) ** 2)),
                         "prediction_change_relative": float(np.max(np.abs(pred - base_pred)) / np.max(np.abs(base_pred)))})
    perturb = pd.DataFrame(rows)
    ctx.table("null_space_perturbations", perturb, keys=["null_vector", "scale"])
    with np.errstate(all="ignore"):
        try:
            naive = np.linalg.inv(xw.T @ xw) @ xw.T @ yw
            naive_residual = float(np.max(np.abs(xw @ naive - yw)))
            naive_text = f"inv(XᵀX) returned garbage: max |X a − y| = {naive_residual:.3g}"
        except np.linalg.LinAlgError as exc:
            naive_text = f"inv(XᵀX) raised LinAlgError ({exc})"
    ctx.table("wide_problem", pd.DataFrame([{
        "examples": cfg.wide_examples, "features": cfg.wide_features, "rank": rank,
        "null_space_dimension": null_vectors.shape[1], "expected_dimension": cfg.wide_features - rank,
        "smallest_nonzero_eigenvalue": float(np.sort(eigenvalues)[-rank]),
        "largest_zero_eigenvalue": float(np.sort(eigenvalues)[-rank - 1]),
        "pinv_training_residual": float(np.max(np.abs(base_pred - yw))), "naive_inverse": naive_text}]), keys=[])
    ctx.measure("C2.3", null_space_dimension_minus_expected=null_vectors.shape[1] - (cfg.wide_features - rank),
                null_space_dimension=null_vectors.shape[1],
                max_prediction_change_relative=float(perturb["prediction_change_relative"].max()),
                max_distance_between_solutions=float(perturb["distance_between_solutions"].max()))
    ctx.note("C2.3", naive_text + ".")
