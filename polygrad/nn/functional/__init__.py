"""The functions behind the nn layers: activations, linear, convolution, pooling, normalization,
dropout, embedding and the losses, each composed from polygrad Tensor ops.

Names and signatures follow ``torch.nn.functional`` (``dim=`` rather than ``axis=``), so code
written against torch runs with only the import changed. One file per family, as torch's
modules: ``activation``, ``linear``, ``sparse`` (embedding), ``dropout``, ``normalization``,
``conv`` (with ``fold`` and ``padding``), ``pooling`` and ``loss``.
"""

from ._utils import creating_like as creating_like  # nn.init allocates with it
from .activation import (
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
)
from .conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from .distance import cosine_similarity, pairwise_distance
from .dropout import alpha_dropout, dropout, dropout1d, dropout2d
from .fold import fold, unfold
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .padding import pad
from .pooling import avg_pool2d, max_pool2d
from .sparse import embedding, embedding_bag, one_hot

__all__ = [
    "relu",
    "leaky_relu",
    "tanh",
    "sigmoid",
    "gelu",
    "softplus",
    "softmax",
    "log_softmax",
    "celu",
    "elu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "selu",
    "silu",
    "softmin",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "linear",
    "embedding",
    "dropout",
    "layer_norm",
    "batch_norm",
    "alpha_dropout",
    "dropout1d",
    "dropout2d",
    "group_norm",
    "instance_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
    "embedding_bag",
    "one_hot",
    "cosine_similarity",
    "pairwise_distance",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fold",
    "unfold",
    "pad",
    "max_pool2d",
    "avg_pool2d",
    "mse_loss",
    "l1_loss",
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
]
