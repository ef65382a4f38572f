"""The merchant's catalog: rewards with their stock, creating and editing them, code
pools of virtual rewards, and redemption orders (fulfil a physical one, cancel a pending
one).

Forms are checked by the API's own schemas (``tenants.catalog.schemas``) and stored by
its services (``tenants.catalog.services``), so a reward made here obeys the same rules
as one made with ``POST /v1/rewards``. Money is typed in major units (9.90) and stored in
minor units; a refusal is shown beside the field it names, the page answers 422, and
nothing is stored. Cancelling an order returns its points and stock through the service.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from jifen.platform.errors import JifenError, NotFound

from . import blp
from .security import require
from .views_operator import flatten
from .views_settings import _minor_units

PAGE = 25
MAX_UPLOAD_BYTES = 256 * 1024
ORDER_STATUSES = ("pending", "shipped", "delivered", "fulfilled", "cancelled")
KINDS = ("physical", "virtual", "coupon")


def _tenant() -> str:
    return g.staff.tenant_id


def _field(error: JifenError) -> str:
    return (error.param or "form").replace(".", "_")


def _whole(text: str) -> int | str:
    """A count as the schema wants it: digits become an int, anything else stays text so
    the schema names the field."""
    text = text.strip()
    # ASCII digits only: isdigit() also passes "²" or "①", which int() refuses.
    return int(text) if text.isascii() and text.isdecimal() else text


def _money(text: str, currency: str, field: str, errors: dict[str, str]) -> int | None:
    """Major units typed in the form -> integer minor units; None when blank."""
    if not text.strip():
        return None
    minor = _minor_units(text, currency or "CNY")
    if minor is None:
        errors[field] = _("Give an amount of money, zero or more (for example 9.90).")
    return minor


def _reward_body(form, *, kind: str, creating: bool) -> tuple[dict, dict[str, str]]:
    """The form as ``POST /v1/rewards`` (creating) or ``PATCH`` takes it, before the
    schema; and the errors of fields the schema cannot see (money)."""
    errors: dict[str, str] = {}
    body: dict = {"name": form.get("name", "").strip()}
    if creating:
        body["kind"] = kind
    description = form.get("description", "").strip()
    if description:
        body["description"] = description
    elif not creating:
        body["description"] = None
    body["price_points"] = _whole(form.get("price_points", ""))
    currency = form.get("currency", "").strip().upper()
    if currency:
        body["currency"] = currency
    cash = _money(form.get("cash_amount", ""), currency, "cash_amount", errors)
    body["cash_amount"] = cash or 0
    if kind != "virtual":
        stock = form.get("stock", "").strip()
        if stock or not creating or kind == "physical":
            body["stock"] = _whole(stock) if stock else None
    if kind == "coupon":
        coupon_currency = form.get("coupon_currency", "").strip().upper()
        amount_off = _money(
            form.get("coupon_amount_off", ""), coupon_currency, "coupon_amount_off", errors
        )
        coupon: dict = {"amount_off": amount_off, "currency": coupon_currency}
        valid_days = form.get("coupon_valid_days", "").strip()
        if valid_days:
            coupon["valid_days"] = _whole(valid_days)
        if amount_off is not None or coupon_currency or valid_days:
            body["coupon"] = coupon
    return body, errors


def _reward_form(reward) -> dict[str, str]:
    """A stored reward as its edit form shows it (money in major units)."""
    from decimal import Decimal

    from babel.numbers import get_currency_precision

    def major(minor: int | None, currency: str | None) -> str:
        if minor is None:
            return ""
        return str(Decimal(minor).scaleb(-get_currency_precision(currency or "CNY")))

    form = {
        "kind": reward.kind,
        "name": reward.name,
        "description": reward.description or "",
        "price_points": str(reward.price_points),
        "cash_amount": major(reward.cash_amount, reward.currency) if reward.cash_amount else "",
        "currency": reward.currency or "",
        "stock": "" if reward.stock is None else str(reward.stock),
    }
    if reward.coupon:
        currency = reward.coupon.get("currency")
        form["coupon_amount_off"] = major(reward.coupon.get("amount_off"), currency)
        form["coupon_currency"] = currency or ""
        form["coupon_valid_days"] = str(reward.coupon.get("valid_days") or "")
    return form


# --- rewards ------------------------------------------------------------------------------


@blp.get("/catalog")
@require("catalog.view")
def catalog():
    from jifen.tenants.catalog.services import list_rewards

    status = request.args.get("status") or "active"
    args = {"limit": PAGE, "starting_after": request.args.get("after") or None}
    if status in ("active", "archived"):
        args["status"] = status
    page = list_rewards(_tenant(), args)
    return render_template("console/catalog.html", page=page, status=status)


def _new_reward_page(form=None, errors: dict[str, str] | None = None):
    kind = (form or {}).get("kind") or request.args.get("kind") or "physical"
    page = render_template(
        "console/reward_form.html",
        reward=None,
        kind=kind if kind in KINDS else "physical",
        kinds=KINDS,
        form=form or {},
        errors=errors or {},
    )
    return page, 422 if errors else 200


@blp.get("/catalog/new")
@require("catalog.edit")
def new_reward():
    return _new_reward_page()


@blp.post("/catalog")
@require("catalog.edit")
def create_reward():
    from marshmallow import ValidationError

    from jifen.tenants.catalog.schemas import RewardInput
    from jifen.tenants.catalog.services import create_reward as create

    kind = request.form.get("kind", "")
    if kind not in KINDS:
        return _new_reward_page(request.form, {"kind": _("Choose the kind of reward.")})
    body, errors = _reward_body(request.form, kind=kind, creating=True)
    if errors:
        return _new_reward_page(request.form, errors)
    try:
        reward = create(_tenant(), RewardInput().load(body))
    except ValidationError as error:
        return _new_reward_page(request.form, flatten(error.messages))
    except JifenError as error:
        return _new_reward_page(request.form, {_field(error): error.message})
    flash(_("The reward %(name)s is in the catalog.", name=reward.name), "ok")
    return redirect(url_for("console.reward", reward_id=reward.id), code=303)


def _reward_page(reward_id: str, *, form=None, errors=None, code_errors=None, codes=""):
    from jifen.tenants.catalog.services import get_reward

    reward = get_reward(_tenant(), reward_id)
    page = render_template(
        "console/reward.html",
        reward=reward,
        kind=reward.kind,
        form=form if form is not None else _reward_form(reward),
        errors=errors or {},
        code_errors=code_errors or {},
        codes=codes,
    )
    return page, 422 if errors or code_errors else 200


@blp.get("/catalog/<reward_id>")
@require("catalog.view")
def reward(reward_id: str):
    return _reward_page(reward_id)


@blp.post("/catalog/<reward_id>")
@require("catalog.edit")
def update_reward(reward_id: str):
    from marshmallow import ValidationError

    from jifen.tenants.catalog.schemas import RewardUpdateInput
    from jifen.tenants.catalog.services import get_reward
    from jifen.tenants.catalog.services import update_reward as update

    kind = get_reward(_tenant(), reward_id).kind
    body, errors = _reward_body(request.form, kind=kind, creating=False)
    if errors:
        return _reward_page(reward_id, form=request.form, errors=errors)
    try:
        update(_tenant(), reward_id, RewardUpdateInput().load(body))
    except ValidationError as error:
        return _reward_page(reward_id, form=request.form, errors=flatten(error.messages))
    except NotFound:
        raise
    except JifenError as error:
        return _reward_page(reward_id, form=request.form, errors={_field(error): error.message})
    flash(_("The reward is saved."), "ok")
    return redirect(url_for("console.reward", reward_id=reward_id), code=303)


@blp.post("/catalog/<reward_id>/archive")
@require("catalog.edit")
def archive_reward(reward_id: str):
    from jifen.tenants.catalog.services import archive_reward as archive

    archive(_tenant(), reward_id)
    flash(_("The reward is archived: it can no longer be redeemed."), "ok")
    return redirect(url_for("console.reward", reward_id=reward_id), code=303)


def _uploaded_codes() -> list[str]:
    """One code a line, from the textarea and the file (UTF-8, a BOM allowed)."""
    text = request.form.get("codes", "")
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValueError(_("The file is larger than 256 KB; upload at most 1,000 codes."))
        try:
            text += "\n" + data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(_("The file must be UTF-8 text, one code a line.")) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


@blp.post("/catalog/<reward_id>/codes")
@require("catalog.edit")
def upload_codes(reward_id: str):
    from marshmallow import ValidationError

    from jifen.tenants.catalog.schemas import CodeUploadInput
    from jifen.tenants.catalog.services import upload_codes as upload

    typed = request.form.get("codes", "")
    try:
        codes = _uploaded_codes()
    except ValueError as error:
        return _reward_page(reward_id, code_errors={"codes": str(error)}, codes=typed)
    try:
        loaded = CodeUploadInput().load({"codes": codes})
        result = upload(_tenant(), reward_id, loaded.get("codes"))
    except ValidationError as error:
        messages = flatten(error.messages)
        message = next(iter(messages.values()), "")
        return _reward_page(reward_id, code_errors={"codes": message}, codes=typed)
    except NotFound:
        raise
    except JifenError as error:
        return _reward_page(reward_id, code_errors={"codes": error.message}, codes=typed)
    flash(
        _(
            "%(added)s codes added; %(stock)s left to sell.",
            added=result["added"],
            stock=result["stock"],
        ),
        "ok",
    )
    return redirect(url_for("console.reward", reward_id=reward_id), code=303)


# --- redemption orders --------------------------------------------------------------------


@blp.get("/orders")
@require("catalog.view")
def orders():
    from jifen.tenants.catalog.services import get_reward, list_orders

    status = request.args.get("status", "")
    args = {"limit": PAGE, "starting_after": request.args.get("after") or None}
    if status in ORDER_STATUSES:
        args["status"] = status
    else:
        status = ""
    page = list_orders(_tenant(), args)
    names = {rid: get_reward(_tenant(), rid).name for rid in {o.reward_id for o in page["data"]}}
    return render_template(
        "console/orders.html", page=page, status=status, statuses=ORDER_STATUSES, names=names
    )


def _back_to_orders():
    target = request.form.get("next", "")
    if not target.startswith("/console/") or target.startswith("//"):
        target = url_for("console.orders")
    return redirect(target, code=303)


def _order_error(error: JifenError) -> str:
    if error.code == "invalid_state":
        return _("This is not possible in the order's current status.")
    return error.message


@blp.post("/orders/<order_id>/fulfil")
@require("orders.fulfil")
def fulfil_order(order_id: str):
    from jifen.tenants.catalog.services import fulfil_order as fulfil

    status = request.form.get("status", "")
    if status not in ("shipped", "delivered"):
        abort(400)
    tracking = request.form.get("tracking_number", "").strip()[:100] or None
    try:
        order = fulfil(_tenant(), order_id, status=status, tracking_number=tracking)
    except NotFound:
        raise
    except JifenError as error:
        flash(_order_error(error), "error")
        return _back_to_orders()
    message = (
        _("Order %(order)s is marked shipped.", order=order.id)
        if order.status == "shipped"
        else _("Order %(order)s is marked delivered.", order=order.id)
    )
    flash(message, "ok")
    return _back_to_orders()


@blp.post("/orders/<order_id>/cancel")
@require("orders.cancel")
def cancel_order(order_id: str):
    from jifen.tenants.catalog.services import cancel_order as cancel

    try:
        order = cancel(_tenant(), order_id)
    except NotFound:
        raise
    except JifenError as error:
        flash(_order_error(error), "error")
        return _back_to_orders()
    flash(
        _("Order %(order)s is cancelled: the points and the stock are back.", order=order.id),
        "ok",
    )
    return _back_to_orders()
