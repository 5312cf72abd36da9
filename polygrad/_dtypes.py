"""polygrad's backend-independent dtypes and their mapping to each backend's own dtype objects."""

from __future__ import annotations

from typing import Any


class DType:
    """A dtype that means the same thing on every backend.

    Compare with ``==`` against another ``DType`` or a name (``t.dtype == "float32"``).
    ``kind`` is ``"float"``, ``"int"``, ``"uint"`` or ``"bool"``.
    """

    __slots__ = ("name", "kind", "bits")

    def __init__(self, name: str, kind: str, bits: int) -> None:
        self.name = name
        self.kind = kind
        self.bits = bits

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
bool_ = DType("bool", "bool", 8)

ALL: tuple[DType, ...] = (float32, float64, int8, int16, int32, int64, uint8, bool_)
BY_NAME: dict[str, DType] = {d.name: d for d in ALL}

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
    dtype = BY_NAME.get(str(name).replace("torch.", ""))
    if dtype is None:
        supported = ", ".join(BY_NAME)
        raise TypeError(f"polygrad does not support dtype {spec!r}; supported dtypes: {supported}")
    return dtype
