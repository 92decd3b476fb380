"""LoRA: adapting a trained model with a few low-rank weights, one small file per task.

The course: "LoRA - Low-Rank Adaptation of Large Language Models ... This essentially
freezes the pre-trained weights and injects trainable parameters into each layer of the
architecture. This is critical, since redeploying new weights for each 70B+ parameter
model fine-tuned is not feasible."

Hu et al. 2021: a frozen kernel `W` is adapted as `W + (alpha / rank) * A @ B`, with `A`
drawn at random and `B` starting at zero, so that the adapted model starts exactly where
the base model stands; only `A` and `B` are trained. Keras builds this into its `Dense`
and `EinsumDense` layers: `layer.enable_lora(rank)`. What this module adds around it:

- `enable_lora(model, rank, placement)`: freezes the whole model, then enables LoRA on
  the layers of a placement (`PLACEMENTS`: the attention's query and value projections,
  as Hu et al. do, or those and the feed-forward layers) of every `TransformerBlock`.
  Keras's `enable_lora` freezes only that layer's kernel: every other weight of the
  model, the layer's own bias included, stays trainable unless frozen too. Here only the
  factors train, so the adapter is exactly `A` and `B` and removing it (`B = 0`) gives
  back the base model, bit for bit.
- `lora_parameter_count(model, rank, placement)`: the count, from the kernels' shapes.
  In `MultiHeadAttention` the query kernel of an `EinsumDense` has shape `(d_model,
  heads, head_dim)`, and Keras factors it as `A: (d_model, heads, rank)` times `B:
  (rank, head_dim)`, a rank-`rank` update for each head (rank up to `heads * rank` for
  the whole projection) sharing `B` across heads; a `Dense` kernel `(d_in, d_out)` as
  `A: (d_in, rank)`, `B: (rank, d_out)`.
- `save_adapter(model, path)` / `load_adapter(model, path)`: what `model.save` does not
  give. `model.save` writes each adapted kernel merged, `W + (alpha / rank) A B`, into the
  `.keras` file: a full copy of the model per task, with the factors gone (a layer whose
  config carries `lora_rank`, such as a top-level `Dense`, is re-enabled on loading with
  `A = B = 0`; the attention's projections come back as plain kernels), so training the
  "adapter" of a reloaded model starts from scratch on top of the merged weights. An
  adapter file holds the factors alone, a small fraction of the model, and
  `load_adapter` puts them on any copy of the base model.
- `remove_adapter(model)`: sets every `B` to zero: the base model again.
"""

import io
import json
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

from zoo.language_model import blocks

PLACEMENTS = {
    "attention": ("query", "value"),
    "attention_and_feed_forward": ("query", "value", "feed_forward_in", "feed_forward_out"),
}
ADAPTER_FORMAT = "zoo-lora-adapter/1"


def target_layers(model, placement="attention"):
    """The layers a placement adapts, `{path: layer}`, in every `TransformerBlock` of
    `model`: the attention's `query_dense` / `value_dense` and the block's
    `feed_forward_in` / `feed_forward_out`."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {list(PLACEMENTS)}, got {placement!r}")
    found = {}
    for block in blocks(model):
        for role in PLACEMENTS[placement]:
            layer = (
                getattr(block.attention, f"{role}_dense")
                if role in ("query", "value")
                else getattr(block, role)
            )
            found[f"{block.name}/{role}"] = layer
    if not found:
        raise ValueError(f"model {model.name!r} has no TransformerBlock to adapt")
    return found


def lora_parameter_count(model, rank, placement="attention"):
    """How many weights LoRA at `rank` on `placement` trains: for each adapted kernel of
    shape `(..., d_out)`, `A` has `prod(...) * rank` and `B` has `rank * d_out`."""
    total = 0
    for layer in target_layers(model, placement).values():
        shape = tuple(layer.kernel.shape)
        total += int(np.prod(shape[:-1])) * rank + rank * shape[-1]
    return total


def enable_lora(model, rank, placement="attention", alpha=None):
    """Freezes `model` and adapts the layers of `placement` with LoRA at `rank`.

    Args:
        model: a built language model (`zoo.language_model.build_language_model`).
        rank: the rank of each update.
        placement: a key of `PLACEMENTS`.
        alpha: the update is scaled by `alpha / rank` (Keras's default `alpha = rank`:
            scale 1).

    Returns:
        The adapted layers, `{path: layer}`. Afterwards `model.trainable_weights` are the
        factors `lora_kernel_a` and `lora_kernel_b` of those layers and nothing else.
    """
    if not isinstance(rank, int) or rank < 1:
        raise ValueError(f"rank must be a positive integer, got {rank!r}")
    targets = target_layers(model, placement)
    model.trainable = True  # every layer; the weights are frozen one by one below
    for layer in targets.values():
        layer.enable_lora(rank, lora_alpha=alpha)
    factors = {id(variable) for variable in _factors(targets.values())}
    for variable in model.weights:
        if id(variable) not in factors:
            variable.trainable = False
    return targets


def _factors(layers):
    return [variable for layer in layers for variable in (layer.lora_kernel_a, layer.lora_kernel_b)]


def _adapted(model):
    return [layer for layer in model._flatten_layers() if getattr(layer, "lora_enabled", False)]


def adapter_weights(model):
    """The LoRA factors of `model`, `{variable path: array}`."""
    return {
        variable.path: keras.ops.convert_to_numpy(variable)
        for variable in _factors(_adapted(model))
    }


def save_adapter(model, path, placement=None):
    """Writes the LoRA factors of `model` (and how to put them back: rank, alpha,
    placement) to `path`, a NumPy `.npz` file, atomically. Returns the path."""
    layers = _adapted(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no LoRA adapter to save")
    ranks = {layer.lora_rank for layer in layers}
    alphas = {layer.lora_alpha for layer in layers}
    if len(ranks) != 1 or len(alphas) != 1:
        raise ValueError("every adapted layer must have the same rank and alpha")
    placement = placement or _placement_of(model, layers)
    header = dict(format=ADAPTER_FORMAT, rank=ranks.pop(), alpha=alphas.pop(), placement=placement)
    path = Path(path)
    buffer = io.BytesIO()
    np.savez(buffer, __header__=np.array(json.dumps(header)), **adapter_weights(model))
    descriptor, temporary = tempfile.mkstemp(dir=path.parent or ".", suffix=".partial")
    with os.fdopen(descriptor, "wb") as file:
        file.write(buffer.getvalue())
    os.replace(temporary, path)
    return path


def _placement_of(model, layers):
    adapted = {id(layer) for layer in layers}
    for placement in PLACEMENTS:
        if {id(layer) for layer in target_layers(model, placement).values()} == adapted:
            return placement
    raise ValueError("the adapted layers match no placement of PLACEMENTS")


def load_adapter(model, path):
    """Puts the adapter saved at `path` on `model`, a copy of the base model it was
    trained on (LoRA is enabled on it first if it is not yet): afterwards `model`
    predicts exactly as the adapted model did.

    Raises:
        ValueError: the file is not an adapter, or does not fit the model.
    """
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        header = json.loads(str(arrays.pop("__header__")))
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a LoRA adapter file: {error}") from None
    if header.get("format") != ADAPTER_FORMAT:
        raise ValueError(f"{path} is not a LoRA adapter file (format {header.get('format')!r})")
    targets = target_layers(model, header["placement"])
    if not all(getattr(layer, "lora_enabled", False) for layer in targets.values()):
        enable_lora(model, header["rank"], header["placement"], alpha=header["alpha"])
    current = {variable.path: variable for variable in _factors(targets.values())}
    if set(current) != set(arrays):
        raise ValueError(f"the adapter in {path} does not fit model {model.name!r}")
    for name, variable in current.items():
        if tuple(variable.shape) != arrays[name].shape:
            raise ValueError(
                f"{name}: the adapter has shape {arrays[name].shape}, the model {variable.shape}"
            )
        variable.assign(arrays[name])
    return model


def remove_adapter(model):
    """Zeroes every LoRA update of `model` (`B = 0`): it predicts as the base model did."""
    for layer in _adapted(model):
        layer.lora_kernel_b.assign(np.zeros(layer.lora_kernel_b.shape, "float32"))
    return model
