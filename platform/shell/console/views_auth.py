"""Sign in, sign out, change one's password, pick a tenant, switch language."""

from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from . import blp, errors, i18n, queries, security


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not target.startswith("//"):
        return target.rstrip("?")
    return url_for("console.dashboard")


@blp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("console/login.html", next=request.args.get("next"))
    from jifen.platform.auth.services import authenticate_staff
    from jifen.platform.errors import Forbidden

    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")[:1024]
    wait = security.login_locked(email)
    if wait:
        return errors.page(429, retry_after=wait)
    try:
        user = authenticate_staff(email, password) if email and password else None
    except Forbidden as refused:  # the right password, but no way in any more
        page = render_template("console/login.html", refused=refused.code, email=email)
        return page, 403
    if user is None:
        security.record_login_failure(email)
        wait = security.login_locked(email)
        if wait:
            return errors.page(429, retry_after=wait)
        page = render_template("console/login.html", failed=True, email=email)
        return page, 401
    security.start_session(user.id)
    return redirect(_safe_next(request.form.get("next")))


@blp.post("/logout")
def logout():
    security.end_session()
    return redirect(url_for("console.login"))


@blp.route("/password", methods=["GET", "POST"])
def change_password():
    """Any signed-in user changes their own password (no role needed). Every session of
    theirs ends, and this browser is signed in again with a fresh one."""
    from jifen.platform.auth.services import change_staff_password
    from jifen.platform.errors import Forbidden, Unprocessable

    staff = g.get("staff")
    if staff is None:
        return redirect(url_for("console.login", next=request.full_path))
    if request.method == "GET":
        return _password_page()
    wait = security.login_locked(staff.email)
    if wait:
        return errors.page(429, retry_after=wait)
    new = request.form.get("new_password", "")[:1024]
    if new != request.form.get("new_password_again", "")[:1024]:
        return _password_page("passwords_differ", 422)
    try:
        change_staff_password(staff.user_id, request.form.get("current_password", "")[:1024], new)
    except Forbidden:
        security.record_login_failure(staff.email)
        return _password_page("wrong_password", 401)
    except Unprocessable as error:
        return _password_page(error.code, 422)
    security.start_session(staff.user_id)
    session["tenant"] = staff.tenant_id
    flash(_("Your password is changed. Your other sessions are signed out."), "ok")
    return redirect(url_for("console.dashboard"), 303)


def _password_page(problem: str | None = None, status: int = 200):
    from jifen.platform.auth.services import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

    page = render_template(
        "console/password.html",
        problem=problem,
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
    )
    return page, status


@blp.route("/tenant", methods=["GET", "POST"])
def choose_tenant():
    staff = g.get("staff")
    if staff is None:
        return redirect(url_for("console.login"))
    if request.method == "POST":
        tenant_id = request.form.get("tenant", "")
        if tenant_id not in staff.roles:
            return errors.page(403)
        session["tenant"] = tenant_id
        return redirect(url_for("console.dashboard"))
    names = queries.tenant_names(staff.roles)
    choices = sorted(
        ((tid, names.get(tid, (tid, ""))[0], role) for tid, role in staff.roles.items()),
        key=lambda item: item[1],
    )
    return render_template("console/choose_tenant.html", choices=choices)


@blp.post("/language")
def switch_language():
    language = request.form.get("language", "")
    response = make_response(redirect(_safe_next(request.form.get("next"))))
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, language, max_age=365 * 86400, samesite="Lax", httponly=True
        )
    return response
