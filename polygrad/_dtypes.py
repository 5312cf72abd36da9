"""polygrad's backend-independent dtypes and their mapping to each backend's own dtype objects."""

from __future__ import annotations

from typing import Any


class DType:
    """A dtype that means the same thing on every backend.

    Compare with ``==`` against another ``DType`` or a name (``t.dtype == "float32"``).
    ``kind`` is ``"float"``, ``"complex"``, ``"int"``, ``"uint"`` or ``"bool"``. Complex
    tensors hold values only (no gradients; see the README).
    """

    __slots__ = ("name", "kind", "bits")

    def __init__(self, name: str, kind: str, bits: int) -> None:
        self.name = name
        self.kind = kind
        self.bits = bits

    @property
    def is_complex(self) -> bool:
        """True for complex64 and complex128 (torch's ``dtype.is_complex``)."""
        return self.kind == "complex"

    @property
    def itemsize(self) -> int:
        """Bytes per element (torch's ``dtype.itemsize``)."""
        return self.bits // 8

    @property
    def is_floating_point(self) -> bool:
        """True for float32 and float64 (torch's ``dtype.is_floating_point``)."""
        return self.kind == "float"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return self is other
        if isinstance(other, str):
            return other == self.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"polygrad.{self.name}"

    def __reduce__(self) -> tuple:
        return (to_dtype, (self.name,))


float32 = DType("float32", "float", 32)
float64 = DType("float64", "float", 64)
int8 = DType("int8", "int", 8)
int16 = DType("int16", "int", 16)
int32 = DType("int32", "int", 32)
int64 = DType("int64", "int", 64)
uint8 = DType("uint8", "uint", 8)
uint16 = DType("uint16", "uint", 16)
uint32 = DType("uint32", "uint", 32)
uint64 = DType("uint64", "uint", 64)
complex64 = DType("complex64", "complex", 64)
complex128 = DType("complex128", "complex", 128)
bool_ = DType("bool", "bool", 8)

#: every dtype of the array API standard; a backend may lack some (torch's uint16-uint64
#: have almost no kernels): ``Backend.dtypes`` lists the ones it has
ALL: tuple[DType, ...] = (
    float32,
    float64,
    complex64,
    complex128,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
    bool_,
)
BY_NAME: dict[str, DType] = {d.name: d for d in ALL}

#: torch's half-precision dtypes: the objects exist (scripts name them), but no backend here
#: makes tensors of them, so creating one is a TypeError naming the supported float dtypes
float16 = DType("float16", "float", 16)
bfloat16 = DType("bfloat16", "float", 16)
HALF = {d.name: d for d in (float16, bfloat16)}

#: the dtype of tensors made from Python floats; ``polygrad.set_default_dtype`` changes it
default_float: DType = float32


def to_dtype(spec: Any) -> DType:
    """Return the polygrad DType for a DType, a name, or any backend's dtype object.

    Raises
    ------
    TypeError
        If ``spec`` names no dtype polygrad supports.
    """
    if isinstance(spec, DType):
        return spec
    if spec is bool:
        return bool_
    if spec is float:
        return float64
    if spec is int:
        return int64
    name = spec if isinstance(spec, str) else getattr(spec, "name", None)
    if name is None:
        # numpy scalar types (np.float32) and torch/strict dtypes print their name last
        name = str(spec).rsplit(".", 1)[-1].strip("'>")
    name = str(name).replace("torch.", "")
    dtype = BY_NAME.get(name, HALF.get(name))
    if dtype is None:
        supported = ", ".join(BY_NAME)
        raise TypeError(f"polygrad does not support dtype {spec!r}; supported dtypes: {supported}")
    return dtype


def _by(kind: str, bits: int) -> DType:
    return BY_NAME[f"{kind}{bits}"]


def promote_types(a: DType, b: DType) -> DType:
    """The dtype two dtypes promote to: the standard's lattice within a kind, torch's rule
    across kinds (the higher kind wins; a complex meeting a wider float widens).

    Raises
    ------
    TypeError
        For uint64 with a signed integer dtype (no dtype holds both).
    """
    if a is b:
        return a
    if a.kind == "bool" or b.kind == "bool":
        return b if a.kind == "bool" else a
    order = {"uint": 0, "int": 0, "float": 1, "complex": 2}
    if order[a.kind] != order[b.kind]:  # across kinds, as torch: the higher kind wins
        hi, lo = (a, b) if order[a.kind] > order[b.kind] else (b, a)
        if hi.kind == "complex" and lo.kind == "float":
            return _by("complex", max(hi.bits, 2 * lo.bits))
        return hi
    if a.kind == "complex":
        return a if a.bits >= b.bits else b
    if a.kind == b.kind:
        return a if a.bits >= b.bits else b
    signed, unsigned = (a, b) if a.kind == "int" else (b, a)
    if signed.bits > unsigned.bits:
        return signed
    if unsigned.bits == 64:
        raise TypeError(f"no dtype holds both {signed.name} and {unsigned.name}")
    return _by("int", 2 * unsigned.bits)
