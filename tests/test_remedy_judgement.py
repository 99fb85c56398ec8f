"""Whether a remedy is already in effect is one judgement, made on a model and on a run file.

``findings.applicable_remedies`` (on the run context of a trained model) and ``apply_remedy``
(on a run file) both ask ``remedies.in_effect``; these tests hold them to the same answer.
"""

from __future__ import annotations

import pytest

from sigmalab.config import RunConfig, build_model
from sigmalab.doctor.findings import REMEDIES, applicable_remedies
from sigmalab.doctor.probes import run_context
from sigmalab.doctor.remedies import RemedyError, apply_remedy, in_effect, setup_of_config

ALL_REMEDIES = [
    {**remedy, **({"layer": 0} if remedy["action"] == "replace_activation" else {})}
    for remedies in REMEDIES.values()
    for remedy in remedies
]


def run(activation: str, optimizer: dict, extra_layers: list[dict]) -> dict:
    return {
        "data": {"dataset": "circle", "samples": 100, "standardize": True},
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": activation, "init": "he_normal"},
                *extra_layers,
                {"type": "dense", "units": 1},
            ]
        },
        "train": {"loss": "bce", "epochs": 5, "optimizer": optimizer},
    }


RUNS = {
    "relu-bn-adam-clipped": run(
        "relu", {"name": "adam", "clip_norm": 1.0}, [{"type": "batchnorm"}]
    ),
    "tanh-dropout-sgd": run("tanh", {"name": "sgd", "lr": 0.1}, [{"type": "dropout", "rate": 0.2}]),
    "log-linear-l2": run(
        "log(x)", {"name": "rmsprop"}, [{"type": "dense", "units": 4, "l2": 1e-3}]
    ),
    "leaky": run("leaky_relu", {"name": "sgd", "clip_norm": 5.0}, []),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_model_and_its_run_file_get_the_same_verdict_on_every_remedy(name):
    config = RUNS[name]
    model = build_model(RunConfig.from_dict(config))
    model.build(2)
    context, setup = run_context(model), setup_of_config(config)
    context["inputs_standardized"] = setup["inputs_standardized"]  # measured on X in a run
    for remedy in ALL_REMEDIES:
        assert (in_effect(remedy, context) is None) == (in_effect(remedy, setup) is None), remedy


@pytest.mark.parametrize("name", sorted(RUNS))
def test_apply_remedy_refuses_exactly_what_applicable_remedies_leaves_out(name):
    config = RUNS[name]
    setup = setup_of_config(config)
    for kind in REMEDIES:
        candidates = [
            r for r in ALL_REMEDIES if r["action"] in {x["action"] for x in REMEDIES[kind]}
        ]
        offered = applicable_remedies(kind, setup, candidates)
        for remedy in candidates:
            refused = False
            try:
                apply_remedy(config, remedy)
            except RemedyError as error:
                refused = "does not apply" in str(error)
            assert refused == (remedy not in offered), (kind, remedy)


def test_activation_names_are_compared_as_the_engine_names_them():
    """'ReLU' in a run file is the 'relu' of a model's context: already in effect."""
    config = run("ReLU", {"name": "sgd"}, [{"type": "dense", "units": 4, "activation": "relu"}])
    remedy = {"action": "set_activation", "value": "relu", "layers": "hidden"}
    assert in_effect(remedy, setup_of_config(config)) == "every hidden layer already uses 'relu'"
    with pytest.raises(RemedyError, match="already uses 'relu'"):
        apply_remedy(config, remedy)
