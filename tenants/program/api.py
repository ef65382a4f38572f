"""Program endpoints: ``GET/PUT /v1/program``, ``GET /v1/program/versions`` and
``POST /v1/program/simulate``."""

from __future__ import annotations

from flask.views import MethodView

from jifen.platform.auth.callers import current_caller, requires, tenant
from jifen.platform.http import JifenBlueprint, ListArgs, list_of

from . import services
from .schemas import (
    ProgramInput,
    ProgramSchema,
    ProgramVersionSchema,
    SimulateInput,
    SimulationSchema,
)

blp = JifenBlueprint("program", __name__, url_prefix="/v1", description="Program rules")
SECURITY = [{"oauth2": []}]
READ = tenant("points:read", "program:write", any_scope=True)


def _tenant() -> str:
    return current_caller().tenant_id


@blp.route("/program")
class ProgramResource(MethodView):
    @blp.response(200, ProgramSchema)
    @blp.doc(security=SECURITY)
    @requires(READ)
    def get(self):
        """The program in force (scope ``points:read`` or ``program:write``)."""
        return services.get_program(_tenant())

    @requires(tenant("program:write"))
    @blp.arguments(ProgramInput)
    @blp.response(200, ProgramSchema)
    @blp.doc(security=SECURITY)
    def put(self, body: dict):
        """Replace the program with a new version. Invalid rules: 422 naming the field."""
        caller = current_caller()
        return services.put_program(caller.tenant_id, body, created_by=caller.id)


@blp.get("/program/versions")
@blp.arguments(ListArgs, location="query")
@blp.response(200, list_of(ProgramVersionSchema))
@blp.doc(security=SECURITY)
@requires(READ)
def list_versions(args: dict):
    """Every version of the program, newest first: who changed what, and when (scope
    ``points:read`` or ``program:write``)."""
    tenant_id = _tenant()
    return services.list_versions(tenant_id, args)


@blp.post("/program/simulate")
@blp.arguments(SimulateInput)
@blp.response(200, SimulationSchema)
@blp.doc(security=SECURITY)
@requires(READ)
def simulate(body: dict):
    """What an earn request would award, with the breakdown; posts nothing (scope
    ``points:read`` or ``program:write``). ``program`` tries a draft document instead."""
    return services.simulate_earn(_tenant(), body)
