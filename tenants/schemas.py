"""Request and response shapes for onboarding (API.md, Onboarding)."""

import marshmallow as ma
from marshmallow import validate

from jifen.platform.billing.plans import DEFAULT_PLAN, PLANS
from jifen.platform.http import ObjectSchema, StrictSchema

SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,62}$", error="Use 2-63 of a-z, 0-9 and '-'.")
CURRENCY_CODE = validate.Regexp(
    r"^[A-Z][A-Z0-9_]{1,15}$", error="Use 2-16 of A-Z, 0-9 and '_', starting with a letter."
)


class TenantInput(StrictSchema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    slug = ma.fields.String(required=True, validate=SLUG)
    kind = ma.fields.String(required=True, validate=validate.OneOf(["merchant", "alliance"]))


class CurrencyInput(StrictSchema):
    code = ma.fields.String(required=True, validate=CURRENCY_CODE)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class OwnerInput(StrictSchema):
    email = ma.fields.Email(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, validate=validate.Length(min=8, max=200))


class SignupInput(StrictSchema):
    tenant = ma.fields.Nested(TenantInput, required=True)
    currency = ma.fields.Nested(CurrencyInput, required=True)
    owner = ma.fields.Nested(OwnerInput, required=True)
    plan = ma.fields.String(load_default=DEFAULT_PLAN, validate=validate.OneOf(list(PLANS)))


class CurrencySchema(ObjectSchema):
    OBJECT = "currency"
    code = ma.fields.String()
    name = ma.fields.String()


class TenantSchema(ObjectSchema):
    OBJECT = "tenant"
    name = ma.fields.String()
    slug = ma.fields.String()
    kind = ma.fields.String()
    status = ma.fields.String()
    time_zone = ma.fields.String()
    publishable_key = ma.fields.String()
    currency = ma.fields.Nested(CurrencySchema)


class IssuedClientSchema(ma.Schema):
    client_id = ma.fields.String()
    client_secret = ma.fields.String()
    scope = ma.fields.String()


class SignupSchema(ma.Schema):
    object = ma.fields.Constant("signup")
    tenant = ma.fields.Nested(TenantSchema)
    currency = ma.fields.Nested(CurrencySchema)
    api_client = ma.fields.Nested(IssuedClientSchema)
    publishable_key = ma.fields.String()
    plan = ma.fields.String()

    class Meta:
        ordered = True
