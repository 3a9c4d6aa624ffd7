"""Training on rows that start alike: the shared start (the function-calling system prompt) is run once per
batch instead of once per row.

Every function-calling row begins with the same system message (a few hundred tokens of tool descriptions) and
differs only in a short request and answer. Causal attention means the hidden states of that common start do
not depend on what follows it, so one forward pass over it, whose keys and values (with their gradients) every
row of the batch then attends to, gives the same loss and the same gradients as running each full row, at a
fraction of the tokens: for the demo API and 16 rows a batch, about 2,000 tokens a step instead of 8,900.

The batch's common start is found on the token ids (right-padded rows, as trl's collator writes them) and
stops before the first token whose prediction is trained, so no trained token is lost. A batch without a
common start of :data:`MIN_SHARED` tokens is trained as usual. The keys and values need the model to return
its cache while training, which gradient checkpointing forbids: sharing is used only without it. The start is
run through the model's backbone only (its positions carry no trained label, so they need no vocabulary logits).
"""

from __future__ import annotations

from typing import Any

#: the shortest common start worth running once (shorter ones: the batch is trained row by row, as usual)
MIN_SHARED = 16
#: the shared start is cut to a multiple of this many tokens, so that its length, and that of the rows' part of
#: right-padded batches, repeats from batch to batch (the CPU's matrix kernels are compiled and kept per shape)
SHARED_MULTIPLE = 16


def shared_length(input_ids: Any, attention_mask: Any, labels: Any) -> int:
    """How many leading tokens every row of the batch has in common and may share: they are identical, not
    padding, and end before the first trained label of any row (that label's prediction is made by the token
    before it, which must then be in the row's own part)."""
    import torch

    same = (input_ids == input_ids[:1]).all(dim=0) & (attention_mask == 1).all(dim=0)
    common = int(same.long().cumprod(dim=0).sum())
    trained = (labels != -100).any(dim=0).nonzero()
    first = int(trained[0]) if len(trained) else int(input_ids.shape[1])
    n = max(0, min(common, first - 1, int(attention_mask.sum(dim=1).min()) - 1)) if torch.numel(input_ids) else 0
    return n - n % SHARED_MULTIPLE


def split_inputs(model: Any, inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The batch's inputs with its common start replaced by that start's cached keys and values (computed
    here, once, with gradients), or None when the batch has no common start worth sharing."""
    import torch

    ids, mask, labels = inputs["input_ids"], inputs.get("attention_mask"), inputs.get("labels")
    if mask is None or labels is None or ids.shape[0] < 2 or "position_ids" in inputs:
        return None
    n = shared_length(ids, mask, labels)
    if n < MIN_SHARED:
        return None
    from simulacra.train.lean import backbone

    key = cache_argument(model)
    # the backbone only: the start's own predictions are not trained, so its positions need no vocabulary logits
    head = backbone(model)(input_ids=ids[:1, :n], attention_mask=mask[:1, :n], use_cache=True)
    cache = getattr(head, "cache", None) or getattr(head, "past_key_values", None)
    if cache is None:  # the model did not return its cache (gradient checkpointing): train as usual
        return None
    cache.batch_repeat_interleave(ids.shape[0])
    positions = torch.arange(n, ids.shape[1], device=ids.device).unsqueeze(0).expand(ids.shape[0], -1)
    return {**{k: v for k, v in inputs.items() if k not in ("input_ids", "labels")},
            "input_ids": ids[:, n:], "labels": labels[:, n:], "attention_mask": mask, "position_ids": positions,
            key: cache}


def cache_argument(model: Any) -> str:
    """The name under which the model's forward takes a key/value cache (``cache`` in newer transformers,
    ``past_key_values`` before)."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(type(base).forward).parameters else "past_key_values"


def sharing_trainer(base: type) -> type:
    """``base`` (trl's SFTTrainer) with the loss computed over each batch's shared start once."""

    class SharedStartTrainer(base):  # type: ignore[misc, valid-type]
        #: tokens not run thanks to sharing, and tokens of the batches as written (for the report)
        saved_tokens = 0
        row_tokens = 0

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            with self.accelerator.autocast():  # the backbone is called directly, outside the model's autocast
                shared = split_inputs(model, inputs) if model.training else None
            if shared is None:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            rows, n = inputs["input_ids"].shape[0], inputs["input_ids"].shape[1] - shared["input_ids"].shape[1]
            self.saved_tokens += int(n * (rows - 1))
            self.row_tokens += int(inputs["input_ids"].numel())
            return super().compute_loss(model, shared, return_outputs, num_items_in_batch)

    return SharedStartTrainer


__all__ = ["MIN_SHARED", "SHARED_MULTIPLE", "cache_argument", "shared_length", "sharing_trainer", "split_inputs"]
