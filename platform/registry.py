"""Registrations the composition root makes: a decorator in the base marks a function
(``jobs.periodic``, ``audit.invariant``) and ``platform.shell`` names the modules that hold
marked functions; ``marked`` finds them there, in the order each module defines them.

The base never imports an area to find them: the shell imports every area and hands the
modules over at app creation, so a linter sees each tie and none is named in a string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def mark(fn: F, kind: str, entry: object) -> F:
    """Tag ``fn`` as a registration of ``kind`` carrying ``entry``."""
    setattr(fn, _attribute(kind), entry)
    return fn


def marked(modules: Iterable[ModuleType], kind: str) -> list[Any]:
    """The entries of ``kind`` tagged on functions defined in ``modules``."""
    attribute = _attribute(kind)
    return [
        getattr(value, attribute)
        for module in modules
        for value in vars(module).values()
        if getattr(value, "__module__", None) == module.__name__ and hasattr(value, attribute)
    ]


def _attribute(kind: str) -> str:
    return f"__jifen_{kind}__"
