"""A simulated malicious care centre, for the robustness tests and benchmarks of `robust`.

The attack of the model-poisoning literature that FedAvg cannot survive: the centre trains as
usual, then answers with its update scaled and sign-flipped, ``w_global − scale · Δ`` instead of
``w_global + Δ`` (``scale`` 50 in the tests). It is a Flower client mod, so the centre's own
ClientApp and the wire are untouched; only what it sends is changed.
"""

from __future__ import annotations

from collections.abc import Callable

from flwr.app import Array, ArrayRecord, Context, Message, MessageType


def sign_flip_mod(partition: int, scale: float = 50.0) -> Callable:
    """A client mod under which centre ``partition`` sends ``w_global − scale · Δ``."""

    def mod(msg: Message, context: Context, call_next) -> Message:
        reply = call_next(msg, context)
        if (int(context.node_config.get("partition-id", -1)) != partition
                or msg.metadata.message_type != MessageType.TRAIN or reply.has_error()
                or "arrays" not in msg.content.array_records):
            return reply
        sent = {name: a.numpy() for name, a in msg.content["arrays"].items()}
        poisoned = ArrayRecord()
        for name, array in reply.content["arrays"].items():
            local = array.numpy()
            poisoned[name] = Array((sent[name] - scale * (local - sent[name])).astype(local.dtype))
        reply.content["arrays"] = poisoned
        return reply

    return mod
