"""Variable-length batches for the recurrent layers: ``PackedSequence``, packing, padding.

As ``torch.nn.utils.rnn``. A packed batch stores the steps of sequences sorted by decreasing
length time-major: step ``t`` holds ``batch_sizes[t]`` rows, one per sequence still running.
``batch_sizes``, ``sorted_indices`` and ``unsorted_indices`` are int64 tensors on the data's
backend and device. Packing and padding are one ``take`` each, so gradients flow through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import polygrad as pg
from polygrad import Tensor

from ..functional._utils import creating_like

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class _Packed(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_Packed):
    """A packed batch of variable-length sequences (made by :func:`pack_padded_sequence` or
    :func:`pack_sequence`), accepted by RNN, LSTM and GRU.

    Fields: ``data`` (sum of lengths, *), ``batch_sizes`` (sequences running at each step),
    ``sorted_indices`` (the batch order by decreasing length, None when the input was
    already sorted) and ``unsorted_indices`` (its inverse).

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.nn.utils.rnn import pack_sequence
    >>> p = pack_sequence([polygrad.ones(3, 2), polygrad.ones(1, 2)])
    >>> p.data.shape, p.batch_sizes.tolist()
    ((4, 2), [2, 1, 1])
    """

    def __new__(
        cls,
        data: Any,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes))
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same batch with ``data`` converted by ``Tensor.to`` (indices follow it)."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(backend=data.backend, device=data.device)

        return type(self)(
            data, move(self.batch_sizes), move(self.sorted_indices), move(self.unsorted_indices)
        )

    def double(self) -> PackedSequence:
        return self.to(pg.float64)

    def float(self) -> PackedSequence:
        return self.to(pg.float32)


def _index_tensor(values: Sequence[int], like: Tensor) -> Tensor:
    with creating_like(like):
        return pg.tensor(list(values), dtype=pg.int64)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of ``0..n-1`` (None stays None)."""
    if permutation is None:
        return None
    p = [int(i) for i in permutation.tolist()]
    inverse = [0] * len(p)
    for i, j in enumerate(p):
        inverse[j] = i
    return _index_tensor(inverse, permutation)


def _lengths_list(lengths: Any) -> list[int]:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise RuntimeError(
                f"'lengths' argument should be a 1D int64 tensor, but got {lengths.ndim}D"
            )
        return [int(v) for v in lengths.tolist()]
    out = [int(v) for v in lengths]
    return out


def _batch_sizes(lengths: list[int]) -> list[int]:
    """Sequences still running at each step, for lengths sorted in decreasing order."""
    return [sum(1 for n in lengths if n > t) for t in range(lengths[0] if lengths else 0)]


def pack_padded_sequence(
    input: Tensor,  # noqa: A002  (torch's name)
    lengths: Tensor | Sequence[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of
    the given ``lengths``.

    With ``enforce_sorted`` the lengths must be in decreasing order; otherwise the batch is
    sorted here and ``sorted_indices`` records the order.

    Raises
    ------
    RuntimeError
        If the lengths are unsorted under ``enforce_sorted``, not positive, longer than the
        padded length, or not one per sequence.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.nn.utils.rnn import pack_padded_sequence
    >>> p = pack_padded_sequence(polygrad.ones(4, 2, 3), [4, 2])
    >>> p.batch_sizes.tolist()
    [2, 2, 1, 1]
    """
    lens = _lengths_list(lengths)
    if input.ndim < 2:
        raise RuntimeError(f"pack_padded_sequence: input must be at least 2-D, got {input.shape}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if len(lens) != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
            f"(batch_size={batch})"
        )
    sorted_indices = None
    order = list(range(batch))
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
    else:
        order = sorted(range(batch), key=lambda i: -lens[i])
        sorted_indices = _index_tensor(order, input)
    lens = [lens[i] for i in order]
    if batch and lens[-1] <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if batch and lens[0] > steps:
        raise RuntimeError(
            f"pack_padded_sequence: a length of {lens[0]} is longer than the padded input's "
            f"{steps} steps (input shape {input.shape}, batch_first={batch_first})"
        )
    sizes = _batch_sizes(lens)
    rows = [
        (b * steps + t if batch_first else t * batch + b)
        for t, n in enumerate(sizes)
        for b in order[:n]
    ]
    flat = pg.reshape(input, (steps * batch, *input.shape[2:]))
    data = pg.take(flat, _index_tensor(rows, input), axis=0)
    return PackedSequence(data, _index_tensor(sizes, input), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``, the batch in its
    original order, padded with ``padding_value`` to ``total_length`` steps if given.

    Raises
    ------
    ValueError
        If ``total_length`` is shorter than the longest sequence.
    """
    data = sequence.data
    sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    steps = len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    batch = sizes[0] if sizes else 0
    lens = [sum(1 for n in sizes if n > b) for b in range(batch)]
    unsorted = (
        list(range(batch))
        if sequence.unsorted_indices is None
        else [int(i) for i in sequence.unsorted_indices.tolist()]
    )
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    pad_row = offsets[-1]
    rows = []
    outer, inner = (unsorted, range(steps)) if batch_first else (range(steps), unsorted)
    for a in outer:
        for b in inner:
            t, s = (b, a) if batch_first else (a, b)
            rows.append(offsets[t] + s if t < len(sizes) and s < sizes[t] else pad_row)
    with creating_like(data):
        fill = pg.full((1, *data.shape[1:]), padding_value, dtype=data.dtype)
    padded = pg.take(pg.concat([data, fill]), _index_tensor(rows, data), axis=0)
    shape = (batch, steps) if batch_first else (steps, batch)
    padded = pg.reshape(padded, (*shape, *data.shape[1:]))
    return padded, _index_tensor([lens[i] for i in unsorted], data)


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes (L_i, *) into (L_max, B, *) (or (B, L_max, *)), padding
    with ``padding_value`` on the ``padding_side`` (``"right"`` or ``"left"``); the result
    has the first sequence's dtype, as in torch.

    Examples
    --------
    >>> import polygrad
    >>> from polygrad.nn.utils.rnn import pad_sequence
    >>> pad_sequence([polygrad.ones(3), polygrad.ones(1)], batch_first=True).tolist()
    [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    """
    if isinstance(sequences, Tensor):
        sequences = list(sequences)
    elif not isinstance(sequences, Iterable):
        raise RuntimeError(
            "pad_sequence: Expected iterable for input sequences, but got arg of type: "
            f"{type(sequences)}"
        )
    seqs = list(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    for s in seqs:
        if s.ndim == 0:
            raise RuntimeError("pad_sequence: every sequence needs at least one dimension")
        if s.shape[1:] != seqs[0].shape[1:]:
            raise RuntimeError(
                f"pad_sequence: sequences have trailing shapes {seqs[0].shape[1:]} and "
                f"{s.shape[1:]}; all must match"
            )
    longest = max(s.shape[0] for s in seqs)
    dtype = seqs[0].dtype
    padded = []
    for s in seqs:
        if s.dtype != dtype:
            s = pg.astype(s, dtype)
        extra = longest - s.shape[0]
        if extra:
            side = [0, extra] if padding_side == "right" else [extra, 0]
            s = pg.pad(s, [0, 0] * (s.ndim - 1) + side, value=padding_value)
        padded.append(s)
    return pg.stack(padded, axis=0 if batch_first else 1)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False
) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length (the inverse of
    :func:`pad_sequence`)."""
    lens = _lengths_list(lengths)
    if batch_first:
        return [padded_sequences[b, :n, ...] for b, n in enumerate(lens)]
    return [padded_sequences[:n, b, ...] for b, n in enumerate(lens)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of shapes (L_i, *) (decreasing lengths unless
    ``enforce_sorted`` is False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a PackedSequence holds (the inverse of :func:`pack_sequence`)."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
