"""The members area's blueprints and the OpenAPI security of their views: ``api`` and
``adjustments_api`` both add views to ``blp``, so it lives here, below both."""

from __future__ import annotations

from jifen.platform.http import JifenBlueprint

blp = JifenBlueprint("members", __name__, url_prefix="/v1", description="Members and points")
me = JifenBlueprint("consumer", __name__, url_prefix="/v1/me", description="Consumer")

READ = {"security": [{"oauth2": ["points:read"]}]}
WRITE = {"security": [{"oauth2": ["points:write"]}]}
