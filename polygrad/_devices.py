"""``polygrad.device``: torch's device objects (``device('cpu')``, ``device('cuda', 0)``)."""

from __future__ import annotations

from typing import Any

#: the device types torch knows, in the order its error message lists them
TYPES = (
    "cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
    "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
)  # fmt: skip


class device(str):  # noqa: N801  (torch's name)
    """A device as torch describes one: ``type`` (``"cpu"``, ``"cuda"`` ...) and ``index``.

    Built like ``torch.device``: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``,
    ``device(0)`` (CUDA device 0) or from another device object. ``str``, ``repr``, ``type``,
    ``index``, equality and hashing are torch's, with one deliberate difference: a polygrad
    device *is* its string (``device("cpu") == "cpu"`` is True, where torch says False), which
    is what lets the NumPy backend take it wherever it takes ``"cpu"``. It compares equal to a
    ``torch.device`` with the same type and index.

    Which devices exist depends on the backend: ``"cpu"`` on numpy and torch (on
    array-api-strict it is that library's ``device1``, the simulated non-host device polygrad
    tests on; ``cpu:0`` is its ``CPU_DEVICE``, ``cpu:2`` its ``device2``), ``"cuda:N"`` on
    torch with CUDA and on cupy.

    Raises
    ------
    RuntimeError
        For an unknown device type or a malformed string, with torch's message.

    Examples
    --------
    >>> import polygrad
    >>> d = polygrad.device("cuda", 1)
    >>> d.type, d.index, str(d)
    ('cuda', 1, 'cuda:1')
    >>> polygrad.device("cpu")
    device(type='cpu')
    """

    __slots__ = ("type", "index")

    def __new__(cls, type: Any, index: int | None = None) -> device:  # noqa: A002
        if isinstance(type, device) and index is None:
            return type
        kind, idx = _parse(type, index)
        self = super().__new__(cls, kind if idx is None else f"{kind}:{idx}")
        self.type, self.index = kind, idx
        return self

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str.__eq__(self, other)
        kind, idx = getattr(other, "type", None), getattr(other, "index", None)
        if isinstance(kind, str):  # a torch.device, or another object torch-shaped
            return (self.type, self.index) == (kind, idx)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __reduce__(self) -> tuple:
        return (device, (self.type, self.index))


def _parse(spec: Any, index: int | None) -> tuple[str, int | None]:
    """(type, index) of what ``torch.device`` accepts, or torch's RuntimeError."""
    if isinstance(spec, int) and not isinstance(spec, bool) and index is None:
        return _parse("cuda", spec)  # torch.device(0) is cuda:0
    kind = getattr(spec, "type", None)
    if isinstance(kind, str) and not isinstance(spec, str):  # torch.device or alike
        return _parse(kind, getattr(spec, "index", None) if index is None else index)
    if not isinstance(spec, str):
        raise TypeError(f"device() received an invalid combination of arguments: {spec!r}")
    if not spec:
        raise RuntimeError("Device string must not be empty")
    kind, sep, rest = spec.partition(":")
    if kind not in TYPES:
        raise RuntimeError(
            f"Expected one of {', '.join(TYPES)} device type at start of device string: {spec}"
        )
    if sep:
        if index is not None:
            raise RuntimeError(
                f"type (string) must not include an index because index was "
                f"passed explicitly: {spec}"
            )
        if not rest.isdigit() or (len(rest) > 1 and rest[0] == "0") or not kind:
            raise RuntimeError(f"Invalid device string: '{spec}'")
        index = int(rest)
    if index is not None:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"device(): index must be an int, not {type(index).__name__}")
        if index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
    return kind, index


CPU = device("cpu")
