"""polygrad as the Python array API standard's namespace (placeholder: the linalg extension)."""

from . import linalg  # noqa: F401
