"""Plain-words explanations, one template per finding kind, in a textbook's vocabulary.

Each template names the measured numbers from the finding's evidence, then says why it
matters and what helps, as introductory texts on training failures put it.
"""

from __future__ import annotations

import math

TEMPLATES = {
    "missing_nonlinearity": (
        "{layer} has no activation function, so it and {next_layer} are two weighted sums in "
        "a row, which collapse into one linear layer: the network cannot model a nonlinear "
        "problem. Pipe each hidden layer node through a nonlinear function such as ReLU."
    ),
    "output_loss_mismatch": (
        "The output layer applies {output_activation}, but the {loss} loss already turns the "
        "raw weighted sum (the logit) into a probability, so the output is squashed twice and "
        "some predictions can never be reached. Leave the output layer without an activation."
    ),
    "dropout_too_high": (
        "{layer} has dropout rate {rate}, randomly dropping out that share of the unit "
        "activations at each gradient step; {consequence} Values between 0.0 and 1.0 are more "
        "useful (try 0.2)."
    ),
    "unscaled_inputs": (
        "Input feature {feature} has mean {mean} and standard deviation {std}, far from 0 and "
        "1, so the weighted sums start large and a sigmoid's responsiveness falls off quickly. "
        "Standardise the inputs (subtract the mean, divide by the standard deviation)."
    ),
    "vanishing_risk": (
        "{saturating_layers} hidden layers use sigmoid or tanh without batch normalization; "
        "in deep networks the gradients for the lower layers are a product of many small terms "
        "and can vanish. The ReLU activation function can help prevent vanishing gradients."
    ),
    "vanishing_gradients": (
        "The gradients for the lower layers (closer to the input) are tiny: {layer}'s error is "
        "{vanishing_comparison}, so these layers train very slowly or not at all. The ReLU "
        "activation function can help prevent vanishing gradients."
    ),
    "exploding_gradients": (
        "The gradients for the lower layers are products of many large terms: {layer}'s error "
        "is {exploding_comparison}, gradients too large to converge. Lowering the "
        "learning rate or batch normalization can help prevent exploding gradients."
    ),
    "dead_relu": (
        "{dead_percent} of {layer}'s ReLU units output 0 for every probe sample: their weighted "
        "sum fell below 0 and they are stuck, so no gradient flows through them. Lowering the "
        "learning rate can help keep ReLU units from dying."
    ),
    "saturation": (
        "{saturated_percent} of {layer}'s units are saturated (their output sits at the flat "
        "end of the sigmoid or tanh), where responsiveness falls off and almost no gradient "
        "flows. Standardise the inputs, or use ReLU, which has a more useful range."
    ),
    "divergence": (
        "Training diverged{when}: the loss became {loss}{start}, so the weights are too "
        "large to converge. Lowering the learning "
        "rate or clipping the gradients helps."
    ),
    "oscillation": (
        "The loss swung up and down {swings} times in {points} measurements instead of settling: "
        "each step overshoots. Lowering the learning rate (or using Adam) helps it settle."
    ),
    "slow_convergence": (
        "After {epochs} epochs {loss_change}: training is converging very slowly. A larger "
        "learning rate, Adam, or more epochs help."
    ),
    "overfitting": (
        "From epoch {best_epoch} the validation loss rose to {val_loss} while the training loss "
        "kept falling to {train_loss}: the network memorises the training set. Regularization "
        "such as dropout, an L2 penalty or early stopping helps."
    ),
    "learning_rate_too_high": (
        "{step_size}, so training jumps around instead of converging. Lower the learning rate."
    ),
    "learning_rate_too_low": (
        "{update_size}, so the network trains very slowly or not at all. Raise the learning rate."
    ),
    "activation_domain": (
        "{layer}'s activation {activation} turned finite weighted sums into NaN or infinity "
        "at step {step} ({nonfinite_percent} of its outputs){bad_inputs}. A weighted sum can "
        "take any real value, so an activation must be defined on all of them; one NaN then "
        "spreads through the loss into every weight, which is why the run diverged (its "
        "weights were not too large). {activation_fix}"
    ),
    "underfitting": (
        "The training loss has stopped falling ({recent_improvement_percent} lower over the "
        "last {window_epochs} epochs) while {fit}: "
        "the network cannot fit even the samples it trains on. It is too small for the "
        "problem (too few units or layers) or its inputs say too little; give it more "
        "capacity (more units, another hidden layer) or better input features, such as "
        "x1^2, x1*x2 or sin(x1) for 2-D points. More epochs help only while the loss still falls."
    ),
    "no_learning": (
        "The {metric} is {value}, no better than a constant predictor ({constant}: "
        "{constant_predictor}): the network has learned nothing from its inputs, whatever its "
        "curves show. Fix what stops it learning (the other findings), or train it with Adam "
        "or for longer."
    ),
}


def _number(value: object) -> str:
    if value is None:
        return "not measured"
    if not isinstance(value, float):  # ints, flags, names and lists read as they are
        return str(value)
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("infinite" if value > 0 else "-infinite")
    if value.is_integer() and abs(value) < 1e6:
        return f"{value:.1f}"  # a rate of 1.0 reads as a rate, not a count
    return f"{value:.3g}"


def _measured(value: object) -> bool:
    """A number that was measured and can be compared (not None, not NaN)."""
    return isinstance(value, int | float) and not math.isnan(value)


def _percent(fraction: float) -> str:
    """0.5 -> '50 %', 0.0123 -> '1.2 %', 1.0 -> '100 %' (never '1e+02 %')."""
    percent = 100 * fraction
    return f"{percent:.0f} %" if abs(percent) >= 10 else f"{percent:.2g} %"


def _power_of_ten(factor: float) -> str:
    """1234567.0 -> '10^6': ratios this large read best as orders of magnitude."""
    if factor < 100:
        return f"{factor:.3g}"
    return f"10^{round(math.log10(factor))}"


def _vanishing_comparison(evidence: dict) -> str:
    """'1e-06, 10^5 times smaller than the last layer's (0.1)', worded for a zero error too."""
    first, last = evidence.get("first_layer_error"), evidence.get("last_layer_error")
    last_part = f"the last layer's ({_number(last)})"
    if first == 0:
        return f"0 (no error reaches it at all), against {last_part}"
    if _measured(first) and _measured(last) and math.isfinite(first / last) and first > 0:
        return f"{_number(first)}, {_power_of_ten(last / first)} times smaller than {last_part}"
    return f"{_number(first)}, far smaller than {last_part}"


def _exploding_comparison(evidence: dict) -> str:
    """'10^3 times the last layer's', worded for a last layer without any error too."""
    ratio = evidence.get("ratio")
    if _measured(ratio) and math.isfinite(ratio) and ratio > 0:
        return f"{_power_of_ten(ratio)} times the last layer's"
    return f"{_number(evidence.get('first_layer_error'))}, far above the last layer's"


def _loss_change(evidence: dict) -> str:
    """'the loss only fell from 0.7 to 0.68 (2.9 %)', or that it did not fall."""
    initial, final = _number(evidence.get("initial_loss")), _number(evidence.get("final_loss"))
    improvement = evidence.get("improvement")
    if not _measured(improvement) or improvement <= 0:
        return f"the loss did not fall (from {initial} to {final})"
    return f"the loss only fell from {initial} to {final} ({_percent(improvement)})"


def _update_size(evidence: dict) -> str:
    """'Each step changes the weights by only 1e-07 of their size (below 1e-06)'."""
    ratio, threshold = evidence.get("update_ratio"), _number(evidence.get("threshold"))
    if ratio == 0:
        return "Each step leaves the weights unchanged (no update at all)"
    return (
        f"Each step changes the weights by only {_number(ratio)} of their size (below {threshold})"
    )


def _bad_inputs(evidence: dict) -> str:
    """Where the activation is not defined, as far as the run showed it."""
    low, high = evidence.get("bad_input_min"), evidence.get("bad_input_max")
    if not (_measured(low) and _measured(high)):
        return ""
    where = f": it has no finite value for its inputs from {_number(low)} to {_number(high)}"
    if high <= 0:
        where += " (all at or below 0, where log and sqrt, for instance, are undefined)"
    return where


def _derived(kind: str, evidence: dict, layer_name: str) -> dict:
    """Values the templates need that are not raw evidence (ratios as factors, percents)."""
    extra = {}
    percents = {
        "dead_fraction": "dead_percent",
        "saturated_fraction": "saturated_percent",
        "improvement": "improvement_percent",
        "nonfinite_fraction": "nonfinite_percent",
        "recent_improvement": "recent_improvement_percent",
    }
    for key, name in percents.items():
        value = evidence.get(key)
        extra[name] = _percent(value) if _measured(value) else "an unmeasured share"
    if kind == "vanishing_gradients":
        extra["vanishing_comparison"] = _vanishing_comparison(evidence)
    if kind == "exploding_gradients":
        extra["exploding_comparison"] = _exploding_comparison(evidence)
    if kind == "slow_convergence":
        extra["loss_change"] = _loss_change(evidence)
    if kind == "learning_rate_too_low":
        extra["update_size"] = _update_size(evidence)
    if kind == "underfitting":
        extra["fit"] = (
            f"the training accuracy is only {_number(evidence['train_accuracy'])}"
            if _measured(evidence.get("train_accuracy"))
            else f"it explains only {_percent(max(evidence.get('train_r2', 0.0), 0.0))} of the "
            "training targets' variance (R\u00b2 "
            f"{_number(evidence.get('train_r2'))})"
        )
    if kind == "divergence":
        if evidence.get("step") is not None:
            extra["when"] = f" at step {evidence['step']}"
        elif evidence.get("epoch") is not None:
            extra["when"] = f" in epoch {evidence['epoch']}"
        else:
            extra["when"] = ""
        initial = evidence.get("initial_loss")
        extra["start"] = f" (it started at {_number(initial)})" if _measured(initial) else ""
    if kind == "activation_domain":
        extra["bad_inputs"] = _bad_inputs(evidence)
        extra["activation_fix"] = (
            "Use an activation defined on every real number, such as ReLU or tanh, or a safe "
            "variant of the formula such as log(1 + abs(x)) or sqrt(abs(x)); an output layer "
            "needs none."
        )
    if kind == "learning_rate_too_high":
        optimizer = evidence.get("optimizer") or "The optimizer"
        extra["step_size"] = (
            f"{optimizer} moves every weight by about the learning rate "
            f"({_number(evidence['lr'])}) per step, more than a typical weight's size"
            if _measured(evidence.get("lr"))
            else f"Each step changes {layer_name}'s weights by "
            f"{_number(evidence.get('update_ratio'))} of their size (above "
            f"{_number(evidence.get('threshold'))})"
        )
    if kind == "dropout_too_high":
        extra["consequence"] = (
            "at 1.0 it drops out everything and the model learns nothing."
            if (evidence.get("rate") or 0) >= 1.0
            else "the more you drop out, the stronger the regularization, and this much leaves "
            "little signal to learn from."
        )
    return extra


class _Fields(dict):
    """Template fields; one missing from the evidence reads as 'not measured', not failing."""

    def __missing__(self, key: str) -> str:
        return "not measured"


def explain(kind: str, evidence: dict, layer: dict | None = None) -> str:
    """The plain-words explanation of a finding of ``kind`` with these numbers."""
    fields = _Fields({key: _number(value) for key, value in evidence.items()})
    fields["layer"] = layer["name"] if layer else "the network"
    fields.update(_derived(kind, evidence, fields["layer"]))
    return TEMPLATES[kind].format_map(fields)
