"""Old spellings of public arguments, kept working with a DeprecationWarning."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

_UNSET: Any = object()


def renamed(old: str, new: str, old_value: Any, new_value: Any, where: str, *, default: Any = None) -> Any:
    """The value of argument ``new``, taking ``old`` (deprecated) into account.

    ``old_value`` is ``None`` when the caller did not pass the old name. Passing both names with
    different values is a ``TypeError``, as for any argument given twice.

    Examples
    --------
    >>> renamed("seed", "random_state", None, 3, "f")
    3
    """
    if old_value is None:
        return default if new_value is _UNSET else new_value
    warnings.warn(
        f"{where}: '{old}=' is deprecated and will be removed; use '{new}=' instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    if new_value is not _UNSET and new_value is not None and new_value != old_value:
        raise TypeError(f"{where}() got both '{old}' and '{new}'; pass only '{new}'.")
    return old_value


def swapped_order(out: Any, n_rows: Any, where: str) -> tuple[Any, Any]:
    """``(out, n_rows)``, accepting the deprecated order ``(n_rows, out)`` with a warning.

    Examples
    --------
    >>> swapped_order("out/", 10, "f")
    ('out/', 10)
    """
    if isinstance(n_rows, (str, Path)) and not isinstance(out, (str, Path)):
        warnings.warn(
            f"{where}(source, n_rows, out) is deprecated; pass (source, out, n_rows) as sample_to does.",
            DeprecationWarning,
            stacklevel=3,
        )
        return n_rows, out
    return out, n_rows
