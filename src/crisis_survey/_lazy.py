"""Lazy re-exports for the packages' ``__init__`` modules (PEP 562; private module).

``crisis_survey``, ``crisis_survey.stats`` and ``crisis_survey.present`` list their public
names with the private module each comes from, and import that module the first time a
name is used, so importing the package stays cheap (no scipy, matplotlib or docx until
needed). Each package keeps its own two-line ``__getattr__``/``__dir__`` (so that type
checkers see ordinary module functions) and delegates here.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Iterable, Mapping, MutableMapping
from typing import Any

__all__ = ["lazy_attribute", "lazy_dir"]


def lazy_attribute(
    package: str,
    name: str,
    where: Mapping[str, str],
    namespace: MutableMapping[str, Any],
    *,
    submodules: Collection[str] = (),
) -> Any:
    """Import ``name`` for ``package`` and keep it in the package's ``namespace``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    name
        The attribute asked for.
    where
        Public name -> module it is defined in, relative to ``package`` (``"._rank"``).
    namespace
        The package's ``globals()``: the value is stored there, so the next lookup does not
        come back here.
    submodules
        Names of subpackages exported as such (``crisis_survey.stats``).

    Returns
    -------
    object
        The attribute.

    Raises
    ------
    AttributeError
        When ``name`` is not a lazily exported name (as for any missing module attribute).

    Examples
    --------
    >>> ns: dict[str, object] = {}
    >>> lazy_attribute("crisis_survey", "Codebook", {"Codebook": ".codebook"}, ns).__name__
    'Codebook'
    >>> "Codebook" in ns
    True
    """
    if name in submodules:
        value: Any = importlib.import_module(f".{name}", package)
    else:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
    namespace[name] = value
    return value


def lazy_dir(namespace: Iterable[str], public: Iterable[str]) -> list[str]:
    """``dir()`` of a lazy package: what is loaded so far and every public name.

    Examples
    --------
    >>> lazy_dir({"__doc__": None}, ["b", "a"])
    ['__doc__', 'a', 'b']
    """
    return sorted(set(namespace) | set(public))
