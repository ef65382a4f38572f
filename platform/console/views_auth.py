"""Sign in, sign out, pick a tenant, switch language."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request, session, url_for

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

    email = request.form.get("email", "")[:254]
    password = request.form.get("password", "")[:1024]
    wait = security.login_locked(email)
    if wait:
        return errors.page(429, retry_after=wait)
    user = authenticate_staff(email, password) if email and password else None
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
    session.clear()
    return redirect(url_for("console.login"))


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
