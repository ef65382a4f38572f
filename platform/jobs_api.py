"""``POST /v1/platform/jobs``: the platform operator runs a periodic job now."""

import marshmallow as ma

from .auth.callers import operator, requires
from .http import JifenBlueprint, StrictSchema
from .jobs import run_periodic

blp = JifenBlueprint("platform_jobs", __name__, url_prefix="/v1/platform", description="Jobs")


class JobRunInput(StrictSchema):
    job = ma.fields.String(required=True, metadata={"example": "expiry"})


class JobRunSchema(ma.Schema):
    object = ma.fields.Constant("job_run")
    job = ma.fields.String()
    result = ma.fields.Dict()


@blp.post("/jobs")
@blp.arguments(JobRunInput)
@blp.response(200, JobRunSchema)
@blp.doc(security=[{"oauth2": ["platform:admin"]}])
@requires(operator("platform:admin"))
def run_job(body: dict):
    """Run a periodic job (``expiry``, ``reminders``, ``tiers``, ``settlement``, ...) now."""
    return {"job": body["job"], "result": run_periodic(body["job"])}
