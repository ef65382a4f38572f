"""A bounded schemathesis run over ``/openapi.json``: no input makes a 5xx, and every
response matches what the document says about it.

Deterministic (derandomized, a fixed number of examples per operation) so a failure
reproduces; requests carry a fresh tenant's token, so authenticated operations are
reached too. (schemathesis' lazy pytest fixture does not work with this pytest, so the
test walks the operations itself.)
"""

from __future__ import annotations

import pytest
import schemathesis
from factories import Api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance]


def run_operation(operation, headers: dict) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    def check(case) -> None:
        case.call_and_validate(headers={**headers, **(case.headers or {})}, checks=CHECKS)

    check()


@pytest.mark.slow
def test_no_input_breaks_the_api_or_its_documented_shapes(app):
    headers = Api(app.test_client()).signup().auth
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            run_operation(operation, headers)
        except (Exception, BaseExceptionGroup) as failure:  # report every operation's
            failures.append(f"{operation.method.upper()} {operation.path}:\n{failure}")
    assert operations >= 3
    assert not failures, "\n\n".join(failures)
