"""The areas manifest (``platform.shell.areas``) leaves nothing out: every module that
defines tables, a periodic job or an audit check is listed, and the app registers them."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from jifen.platform import audit, jobs, registry
from jifen.platform.db import Base
from jifen.platform.shell import areas

# Every package of Jifen but the migrations (whose ``env`` runs only under Alembic).
PACKAGES = (
    "jifen.platform",
    "jifen.tenants",
    "jifen.exchange",
    "jifen.settlement",
    "jifen.widgets",
)


def every_module() -> list[ModuleType]:
    modules = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            modules.append(importlib.import_module(info.name))
    return modules


def test_every_module_with_tables_is_listed():
    defining = {mapper.class_.__module__ for mapper in Base.registry.mappers}
    assert defining == {module.__name__ for module in areas.MODEL_MODULES}


def test_every_periodic_job_is_registered(app):
    defined = {job.name for job in registry.marked(every_module(), "periodic_job")}
    assert defined == set(jobs.periodic_jobs())


def test_every_audit_check_is_registered(app):
    defined = {check.name for check in registry.marked(every_module(), "invariant")}
    assert defined == set(audit.checks())
