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
        "{first_layer_error}, {factor} times smaller than the last layer's ({last_layer_error}), "
        "so these layers train very slowly or not at all. The ReLU activation function can help "
        "prevent vanishing gradients."
    ),
    "exploding_gradients": (
        "The gradients for the lower layers are products of many large terms: {layer}'s error "
        "is {factor} times the last layer's, gradients too large to converge. Lowering the "
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
        "Training diverged at {when}: the loss became {loss} (it started at "
        "{initial_loss}), so the weights are too large to converge. Lowering the learning "
        "rate or clipping the gradients helps."
    ),
    "oscillation": (
        "The loss swung up and down {swings} times in {points} measurements instead of settling: "
        "each step overshoots. Lowering the learning rate (or using Adam) helps it settle."
    ),
    "slow_convergence": (
        "After {epochs} epochs the loss only fell from {initial_loss} to {final_loss} "
        "({improvement_percent}): training is converging very slowly. A larger learning rate, "
        "Adam, or more epochs help."
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
        "Each step changes the weights by only {update_ratio} of their size (below "
        "{threshold}), so the network trains very slowly or not at all. Raise the learning rate."
    ),
    "no_learning": (
        "The {metric} is {value}, no better than a constant predictor ({constant}: "
        "{constant_predictor}): the network has learned nothing from its inputs, whatever its "
        "curves show. Fix what stops it learning (the other findings), or train it with Adam "
        "or for longer."
    ),
}


def _number(value: object) -> str:
    if not isinstance(value, float):  # ints, flags, names and lists read as they are
        return str(value)
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("infinite" if value > 0 else "-infinite")
    if value.is_integer() and abs(value) < 1e6:
        return f"{value:.1f}"  # a rate of 1.0 reads as a rate, not a count
    return f"{value:.3g}"


def _power_of_ten(factor: float) -> str:
    """1234567.0 -> '10^6': ratios this large read best as orders of magnitude."""
    if not math.isfinite(factor) or factor <= 0:
        return _number(factor)
    if factor < 100:
        return f"{factor:.3g}"
    return f"10^{round(math.log10(factor))}"


def _derived(kind: str, evidence: dict, layer_name: str) -> dict:
    """Values the templates need that are not raw evidence (ratios as factors, percents)."""
    extra = {}
    ratio = evidence.get("ratio")
    if isinstance(ratio, int | float) and ratio > 0:
        extra["factor"] = _power_of_ten(1.0 / ratio if kind == "vanishing_gradients" else ratio)
    percents = {
        "dead_fraction": "dead_percent",
        "saturated_fraction": "saturated_percent",
        "improvement": "improvement_percent",
    }
    for key, name in percents.items():
        if isinstance(evidence.get(key), int | float):
            extra[name] = f"{100 * evidence[key]:.2g} %"
    if kind == "divergence":
        extra["when"] = (
            f"step {evidence['step']}" if "step" in evidence else f"epoch {evidence.get('epoch')}"
        )
    if kind == "learning_rate_too_high":
        extra["step_size"] = (
            f"{evidence.get('optimizer')} moves every weight by about the learning rate "
            f"({_number(evidence['lr'])}) per step, more than a typical weight's size"
            if "lr" in evidence
            else f"Each step changes {layer_name}'s weights by "
            f"{_number(evidence.get('update_ratio'))} of their size (above "
            f"{_number(evidence.get('threshold'))})"
        )
    if kind == "dropout_too_high":
        extra["consequence"] = (
            "at 1.0 it drops out everything and the model learns nothing."
            if evidence.get("rate", 0) >= 1.0
            else "the more you drop out, the stronger the regularization, and this much leaves "
            "little signal to learn from."
        )
    return extra


class _Fields(dict):
    """Template fields; a missing one reads as '?' rather than failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def explain(kind: str, evidence: dict, layer: dict | None = None) -> str:
    """The plain-words explanation of a finding of ``kind`` with these numbers."""
    fields = _Fields({key: _number(value) for key, value in evidence.items()})
    fields["layer"] = layer["name"] if layer else "the network"
    fields.update(_derived(kind, evidence, fields["layer"]))
    return TEMPLATES[kind].format_map(fields)
