"""Onboarding endpoints: ``POST /v1/signup`` and ``GET /v1/tenant``."""

from jifen.platform.auth.callers import ANY_CALLER, PUBLIC, current_caller, requires
from jifen.platform.errors import Forbidden
from jifen.platform.http import JifenBlueprint

from . import services
from .schemas import SignupInput, SignupSchema, TenantSchema

blp = JifenBlueprint("tenants", __name__, url_prefix="/v1", description="Onboarding")


@blp.post("/signup")
@blp.arguments(SignupInput)
@blp.response(201, SignupSchema)
@requires(PUBLIC)
def signup(body: dict):
    """Sign up a merchant or an alliance. The client secret is shown only here."""
    return services.sign_up(**body)


@blp.get("/tenant")
@blp.response(200, TenantSchema)
@blp.doc(security=[{"oauth2": []}])
@requires(ANY_CALLER)
def get_tenant():
    """The caller's tenant."""
    caller = current_caller()
    if caller.tenant_id is None:
        raise Forbidden("The platform operator has no tenant.")
    return services.get_tenant(caller.tenant_id)
