"""The merchant's settings: API clients and keys, the exchange settings of the tenant's
currency, and the program editor with its simulate panel.

Like the rest of the merchant console, every view acts for the tenant the signed-in
user picked. Forms go through the same services as the API (``platform.auth``,
``exchange.settings``, ``tenants.program``); a refusal is shown next to the form with
the field it names, the page answers 422, and nothing is stored.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp
from .security import require
from .views_operator import flatten

SWITCHES = ("inbound", "outbound", "acceptance")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _tenant() -> str:
    return g.staff.tenant_id


def _field(error: JifenError) -> str:
    return (error.param or "form").replace(".", "_")


# --- API clients and keys -----------------------------------------------------------------


def _clients_page(*, issued=None, rotated: bool = False, errors: dict[str, str] | None = None):
    from jifen.platform.auth.model import TENANT_SCOPES
    from jifen.platform.auth.services import list_clients

    page = render_template(
        "console/clients.html",
        clients=list_clients(_tenant()),
        scopes=TENANT_SCOPES,
        issued=issued,
        rotated=rotated,
        name=request.form.get("name", "") if errors else "",
        chosen=set(request.form.getlist("scopes")) if errors else set(),
        errors=errors or {},
    )
    return page, 422 if errors else 200


@blp.get("/clients")
@require("clients.view")
def clients():
    return _clients_page()


@blp.post("/clients")
@require("clients.manage")
def create_client():
    """The new secret is shown on this response only: it is stored hashed and never put
    in the session or a redirect."""
    from jifen.platform.auth.services import create_tenant_client

    try:
        issued = create_tenant_client(
            _tenant(), request.form.get("name", "")[:200], request.form.getlist("scopes")
        )
    except JifenError as error:
        return _clients_page(errors={_field(error): error.message})
    return _clients_page(issued=issued)


@blp.post("/clients/<client_id>/revoke")
@require("clients.manage")
def revoke_client(client_id: str):
    from jifen.platform.auth.services import revoke_client as revoke

    revoke(_tenant(), client_id)
    flash(_("The API client is revoked: its tokens no longer work."), "ok")
    return redirect(url_for("console.clients"), code=303)


@blp.post("/clients/<client_id>/rotate")
@require("clients.manage")
def rotate_client(client_id: str):
    """Like a new client, the new secret is shown on this response only. The old secret
    and the tokens issued with it stop working at once."""
    from jifen.platform.auth.services import rotate_client_secret

    try:
        issued = rotate_client_secret(_tenant(), client_id)
    except NotFound:
        raise
    except JifenError as error:
        flash(error.message, "error")
        return redirect(url_for("console.clients"), code=303)
    return _clients_page(issued=issued, rotated=True)


# --- exchange settings ----------------------------------------------------------------------


def _exchange_form(row) -> dict[str, str]:
    from jifen.exchange.pricing import format_spu

    if row is None:
        return {"minimum": "1", "increment": "1"}
    form = {"spu_rate": format_spu(row.spu_rate), "minimum": str(row.minimum)}
    form["increment"] = str(row.increment)
    form["daily_inbound_cap"] = "" if row.daily_inbound_cap is None else str(row.daily_inbound_cap)
    form.update({name: "on" for name in SWITCHES if getattr(row, name)})
    return form


def _exchange_page(form=None, errors: dict[str, str] | None = None):
    from jifen.exchange.settings import get_settings

    try:
        row = get_settings(_tenant())
    except NotFound:
        row = None
    page = render_template(
        "console/exchange.html",
        settings=row,
        form=form if errors else _exchange_form(row),
        switches=SWITCHES,
        errors=errors or {},
    )
    return page, 422 if errors else 200


def _exchange_changes(form) -> dict:
    """The form as ``PUT /v1/exchange/settings`` takes it, checked by its schema. Raises
    marshmallow's ValidationError."""
    from jifen.exchange.schemas import SettingsInput

    def whole(name: str) -> int | str:
        text = form.get(name, "").strip()
        return int(text) if text.isdigit() else text

    body: dict = {name: name in form for name in SWITCHES}
    if form.get("spu_rate", "").strip():
        body["spu_rate"] = form["spu_rate"].strip()
    body["minimum"], body["increment"] = whole("minimum"), whole("increment")
    body["daily_inbound_cap"] = whole("daily_inbound_cap") or None
    return SettingsInput().load(body)


@blp.get("/exchange")
@require("exchange.view")
def exchange_settings():
    return _exchange_page()


@blp.post("/exchange")
@require("exchange.edit")
def save_exchange_settings():
    from marshmallow import ValidationError

    from jifen.exchange.settings import put_settings

    try:
        put_settings(_tenant(), _exchange_changes(request.form))
    except ValidationError as error:
        return _exchange_page(request.form, flatten(error.messages))
    except JifenError as error:
        return _exchange_page(request.form, {_field(error): error.message})
    flash(_("The exchange settings are saved."), "ok")
    return redirect(url_for("console.exchange_settings"), code=303)


# --- the program editor ---------------------------------------------------------------------


def _program_text(program: dict) -> str:
    from jifen.tenants.program.services import READ_ONLY_KEYS

    document = {
        key: value for key, value in program.items() if key not in READ_ONLY_KEYS and key != "note"
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _program_page(*, text=None, errors=None, simulation=None, simulate_errors=None, draft=False):
    """The editor. ``draft``: the simulation (or its errors) is of the textarea's draft,
    not of the program in force."""
    from jifen.tenants.program.services import get_program, list_versions

    program = get_program(_tenant())
    versions = list_versions(_tenant(), {"limit": 10, "starting_after": None})["data"]
    earning_currency = (program.get("earning") or {}).get("currency")
    kept = bool(simulation or simulate_errors or (draft and errors))
    page = render_template(
        "console/program.html",
        program=program,
        text=text if text is not None else _program_text(program),
        note=request.form.get("note", "") if errors or draft else "",
        versions=versions,
        errors=errors or {},
        simulation=simulation,
        simulated_draft=draft,
        simulate_form=request.form if kept else {},
        simulate_errors={} if draft else simulate_errors or {},
        draft_errors=(simulate_errors or {}) if draft else {},
        default_currency=earning_currency or "CNY",
    )
    return page, 422 if errors or simulate_errors else 200


@blp.get("/program")
@require("program.view")
def program():
    return _program_page()


def _document(text: str) -> tuple[dict | None, dict[str, str] | None]:
    """The textarea's JSON object, or the errors to show beside it."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        message = _(
            "Not valid JSON: %(problem)s (line %(line)s, column %(column)s).",
            problem=error.msg,
            line=error.lineno,
            column=error.colno,
        )
        return None, {"document": message}
    if not isinstance(document, dict):
        return None, {"document": _("The program must be a JSON object.")}
    return document, None


@blp.post("/program")
@require("program.edit")
def save_program():
    """Store the textarea's document as the next version; a document that is not JSON
    or that the program refuses is shown again with the message, and nothing changes."""
    from jifen.tenants.program.services import put_program

    text = request.form.get("document", "")
    note = request.form.get("note", "").strip()[:500] or None
    document, errors = _document(text)
    if errors:
        return _program_page(text=text, errors=errors)
    try:
        saved = put_program(_tenant(), document, created_by=g.staff.user_id, note=note)
    except JifenError as error:
        return _program_page(text=text, errors={"document": error.message, "param": error.param})
    flash(_("Program version %(version)s is in force.", version=saved["version"]), "ok")
    return redirect(url_for("console.program"), code=303)


def _minor_units(amount: str, currency: str) -> int | None:
    from babel.numbers import get_currency_precision

    try:
        value = Decimal(amount.strip().replace(",", ""))
    except InvalidOperation:
        return None
    minor = value.scaleb(get_currency_precision(currency))
    if not minor.is_finite() or minor < 0 or minor != minor.to_integral_value():
        return None
    return int(minor)


def _sample_order(form) -> tuple[dict | None, dict[str, str] | None]:
    """The simulate form's order as ``/v1/program/simulate`` takes it, or its errors."""
    currency = form.get("currency", "").strip().upper()
    if not CURRENCY_CODE.fullmatch(currency):
        return None, {"currency": _("Give a three-letter currency code.")}
    amount = _minor_units(form.get("amount", ""), currency)
    if amount is None:
        message = _("Give the order amount in %(currency)s, zero or more.", currency=currency)
        return None, {"amount": message}
    query = {"amount": amount, "currency": currency}
    category = form.get("category", "").strip()[:32]
    if category:
        query["category"] = category
    return query, None


@blp.post("/program/simulate")
@require("program.simulate")
def simulate_program():
    """What an order of the amount would earn under the program in force; posts nothing."""
    from jifen.tenants.program.services import simulate_earn

    query, errors = _sample_order(request.form)
    if errors:
        return _program_page(simulate_errors=errors)
    try:
        result = simulate_earn(_tenant(), query)
    except JifenError as error:
        return _program_page(simulate_errors={_field(error): error.message})
    return _program_page(simulation=result)


@blp.post("/program/simulate-draft")
@require("program.simulate")
def simulate_draft():
    """What the sample order would earn under the textarea's draft, which is validated
    like a save but never stored. A refused draft shows the field it names."""
    from jifen.tenants.program.services import READ_ONLY_KEYS, simulate_earn

    text = request.form.get("document", "")
    document, errors = _document(text)
    if errors:
        return _program_page(text=text, errors=errors, draft=True)
    # The editor shows the version and note too; a draft is only the program's sections.
    draft = {k: v for k, v in document.items() if k not in (*READ_ONLY_KEYS, "version", "note")}
    query, sample_errors = _sample_order(request.form)
    if sample_errors:
        return _program_page(text=text, simulate_errors=sample_errors, draft=True)
    try:
        result = simulate_earn(_tenant(), {**query, "program": draft})
    except JifenError as error:
        param = error.param or ""
        if param == "program" or param.startswith("program."):
            shown = param.removeprefix("program").removeprefix(".") or None
            message = error.message.removeprefix("program.")
            return _program_page(
                text=text, errors={"document": message, "param": shown}, draft=True
            )
        return _program_page(text=text, simulate_errors={_field(error): error.message}, draft=True)
    return _program_page(text=text, simulation=result, draft=True)
