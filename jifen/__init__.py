"""Jifen, a multi-tenant points-hosting platform (积分托管 / 积分银行).

This file is only the import root. The code lives in the repository's top-level folders,
mapped onto subpackages by setuptools ``package-dir`` (see pyproject.toml):
``platform/`` -> ``jifen.platform``, ``tenants/`` -> ``jifen.tenants``, and so on.

A normal install copies those folders under ``jifen/``. In a source checkout (editable
install, or the repository root on ``sys.path``) they are siblings of this folder, so the
repository root joins this package's search path. ``platform/`` has no ``__init__.py`` on
purpose: a top-level package of that name would shadow the standard library's
``platform`` module.
"""

from pathlib import Path

_here = Path(__file__).resolve().parent
if not (_here / "platform").is_dir():
    __path__.append(str(_here.parent))  # noqa: F821  (``__path__`` is set by the import system)
