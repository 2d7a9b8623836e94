"""Distillation (MLP teacher → liquid student, then end to end), evaluation and reports."""

from .activations import Activations, capture
from .distill import (
    DistillConfig,
    StageConfig,
    init_least_squares,
    layer_errors,
    logit_gram,
    stage1,
    stage2,
)
from .evaluation import evaluate, perplexity
from .suffix import final_hidden, supports_suffix

__all__ = [
    "Activations",
    "DistillConfig",
    "StageConfig",
    "capture",
    "evaluate",
    "final_hidden",
    "init_least_squares",
    "layer_errors",
    "logit_gram",
    "perplexity",
    "stage1",
    "stage2",
    "supports_suffix",
]
