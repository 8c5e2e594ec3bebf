"""``riesz.nn``: neural-network building blocks, built only on riesz's public API.

Models are :class:`Module` instances, which are pytrees of their parameters, so
``riesz.grad(loss)(model, x, y)`` returns a model-shaped gradient. Optimizers
live in :mod:`riesz.optim`.
"""
from .attention import attention
from .functions import (accuracy, binary_cross_entropy_with_logits, elu, gelu, leaky_relu,
                        log_sigmoid, log_softmax, logsumexp, mse, nll, one_hot, relu, sigmoid,
                        silu, softmax, softmax_cross_entropy, softplus, swish, tanh)
from .layers import Dropout, Embedding, LayerNorm, Linear, MLP, MultiHeadAttention, Sequential
from .module import Module
from .parallel import DataParallel
from .serialization import CheckpointError, load, named_leaves, save
from .training import FitResult, evaluate, fit, plot_history

__all__ = ["attention", "Module", "Linear", "MLP", "Embedding", "LayerNorm", "Dropout",
           "Sequential", "MultiHeadAttention", "relu", "gelu", "tanh", "sigmoid", "softplus",
           "silu", "swish", "log_sigmoid", "leaky_relu", "elu", "one_hot", "logsumexp", "softmax", "log_softmax", "softmax_cross_entropy", "nll", "mse",
           "binary_cross_entropy_with_logits", "accuracy", "save", "load", "named_leaves",
           "CheckpointError", "DataParallel", "fit", "evaluate", "plot_history", "FitResult"]
