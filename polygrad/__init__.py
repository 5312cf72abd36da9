"""polygrad: a readable reverse-mode autograd engine on any array API backend.

Two front doors to one engine: ``polygrad.array_api`` is the array API standard's namespace
(what ``Tensor.__array_namespace__`` returns and what gradient rules are written against, so
one rule runs on raw arrays and, for ``create_graph=True``, on Tensors); this top-level module
is the PyTorch-flavoured API (``zeros(2, 3)``, ``nn``, ``optim``, ``utils.data``).
"""

import sys as _sys
import types as _types

# _inplace attaches the in-place methods and t[k] = v to Tensor
# the torch-flavoured front door: torch's names and argument conventions over the same ops
from . import _backend, _inplace, _serialization, _tensor, _torch, array_api
from ._autograd import RemovableHandle, grad
from ._backend import (
    BackendError,
    get_backend,
    get_rng_state,
    manual_seed,
    set_backend,
    set_rng_state,
    use_backend,
)
from ._creation import (
    arange,
    asarray,
    empty,
    eye,
    full,
    get_default_dtype,
    linspace,
    ones,
    rand,
    randn,
    set_default_dtype,
    tensor,
    zeros,
)
from ._devices import device
from ._dtypes import (
    DType,
    bfloat16,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._dtypes import bool_ as bool  # noqa: A004  (torch's and the standard's name)
from ._grad_mode import enable_grad, is_grad_enabled, no_grad
from ._serialization import CheckpointError, load, save
from ._tensor import Function, Tensor
from ._torch import (
    linalg,  # torch.linalg (the standard's is polygrad.array_api.linalg)
    return_types,
)
from ._torch import methods as _torch_methods  # noqa: F401  (attaches the Tensor methods)
from ._torch.creation import (
    as_tensor,
    bernoulli,
    empty_like,
    from_numpy,
    full_like,
    multinomial,
    normal,
    ones_like,
    rand_like,
    randint,
    randint_like,
    randn_like,
    randperm,
    zeros_like,
)
from ._torch.extras import (
    broadcast_tensors,
    count_nonzero,
    finfo,
    hstack,
    iinfo,
    is_complex,
    is_floating_point,
    is_nonzero,
    meshgrid,
    std_mean,
    tensordot,
    tile,
    var_mean,
    vstack,
)
from ._torch.functions import (
    addmm,
    all,
    allclose,
    amax,
    amin,
    any,
    argmax,
    argmin,
    argsort,
    baddbmm,
    bmm,
    cat,
    chunk,
    clamp,
    clamp_max,
    clamp_min,
    clip,
    cumprod,
    cumsum,
    diag,
    diagonal,
    dot,
    einsum,
    eq,
    flatten,
    flip,
    gather,
    ge,
    gt,
    index_add,
    index_fill,
    index_select,
    is_tensor,
    isclose,
    kthvalue,
    le,
    lerp,
    log_softmax,
    logsumexp,
    lt,
    masked_fill,
    masked_select,
    max,
    mean,
    median,
    min,
    mm,
    mode,
    movedim,
    mv,
    nanmedian,
    narrow,
    ne,
    nonzero,
    norm,
    numel,
    outer,
    permute,
    prod,
    repeat_interleave,
    reshape,
    roll,
    scatter,
    scatter_add,
    softmax,
    sort,
    split,
    squeeze,
    stack,
    std,
    sum,
    t,
    topk,
    trace,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
    var,
    where,
)
from ._torch.pointwise import (  # torch's pointwise names and arguments
    absolute,
    acos,
    acosh,
    add,
    addcdiv,
    addcmul,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    ceil,
    copysign,
    cosh,
    deg2rad,
    div,
    divide,
    exp2,
    expm1,
    fix,
    float_power,
    floor,
    floor_divide,
    fmax,
    fmin,
    fmod,
    frac,
    heaviside,
    hypot,
    isinf,
    isneginf,
    isposinf,
    isreal,
    ldexp,
    log2,
    log10,
    logaddexp2,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    mul,
    multiply,
    mvlgamma,
    nan_to_num,
    neg,
    negative,
    nextafter,
    positive,
    rad2deg,
    remainder,
    round,
    rsqrt,
    sgn,
    signbit,
    sinc,
    sinh,
    square,
    sub,
    subtract,
    tan,
    true_divide,
    trunc,
)
from ._torch_compat import get_default_device, set_default_device
from .ops import (
    abs,
    add_at,
    astype,
    broadcast_to,
    clone,
    concat,
    cos,
    digamma,
    equal,
    erf,
    erfc,
    erfinv,
    exp,
    expand_dims,
    gelu,
    getitem,
    greater,
    greater_equal,
    isfinite,
    isnan,
    leaky_relu,
    less,
    less_equal,
    lgamma,
    log,
    log1p,
    logaddexp,
    logit,
    matmul,
    matrix_transpose,
    maximum,
    minimum,
    not_equal,
    pad,
    permute_dims,
    pow,
    reciprocal,
    relu,
    sigmoid,
    sign,
    sin,
    softplus,
    sqrt,
    take,
    tanh,
    xlogy,
)
from .ops import special as _ops_special
from .utils import data as _utils_data  # makes polygrad.utils.data an attribute
from .utils.data import Generator

swapaxes = transpose

__version__ = "0.1.0"

_backend._init_from_environment()
# the namespace Tensor.__array_namespace__ returns, and the one recorded (create_graph)
# rules run with: the same functions plus the non-standard ones rules use
_tensor._engine.namespace = array_api
_tensor._engine.rules = _types.SimpleNamespace(
    **{k: getattr(array_api, k) for k in dir(array_api) if not k.startswith("__")},
    erf=erf,
    erfc=erfc,
    erfinv=erfinv,
    gammaln=lgamma,
    psi=digamma,
    trigamma=_ops_special.trigamma_recorded,
    sigmoid=sigmoid,
    pad=pad,
    add_at=add_at,
)

# -- torch's layout: the subpackages as attributes (``import polygrad`` gives polygrad.nn ...),
# imported last because they build on the names above; the engine modules import none of them
from . import _unsupported as _unsupported  # noqa: E402
from . import (  # noqa: E402
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    distributed,
    jit,
    nn,
    onnx,
    optim,
    serialization,
    sparse,
    special,
    testing,
    utils,
)
from .amp import autocast  # noqa: E402
from .autograd import inference_mode, is_inference_mode_enabled, set_grad_enabled  # noqa: E402
from .nn import parallel as _nn_parallel  # noqa: E402, F401  (torch.nn.parallel)

_sys.modules[__name__ + ".linalg"] = linalg  # import polygrad.linalg, as import torch.linalg
_serialization._torch.PARAMETER.append(nn.Parameter)  # torch-format files rebuild Parameters


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """False: polygrad's ``autocast`` never enables lower precision (see ``polygrad.amp``)."""
    return False


from ._compile import compile  # noqa: A001, E402  (torch's name)

sparse_coo_tensor = _unsupported.function("torch.sparse_coo_tensor", "polygrad tensors are dense")
sparse_csr_tensor = _unsupported.function("torch.sparse_csr_tensor", "polygrad tensors are dense")

# torch's dtype aliases; last, since ``int`` and ``float`` shadow the builtins in this module
long = int64
int = int32  # noqa: A001
float = float32  # noqa: A001
double = float64
half = float16
short = int16
cfloat = complex64
cdouble = complex128


def __getattr__(name: str) -> object:
    raise _unsupported.missing_attribute("torch", name)
