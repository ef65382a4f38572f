"""People on the staff: a tenant's Team page, the platform's Staff page, and the page an
invitation link opens.

Owners and admins invite people to their tenant by email with a role, change roles,
disable, enable and remove members (``platform.auth.staff`` holds every rule: only an
owner makes or changes an owner, the last owner stays). Platform operators do the same
for the platform's operators and finance team. Invitations go out through the outbox,
in the language picked on the form; their links are built from the configured public
URL (``JIFEN_BASE_URL``), never from the request's Host header, and are never shown to
the inviter: only the invitee's mailbox holds one.

``/console/invitations/<token>`` needs no sign-in: it shows who is invited to what, and
its form sets the new person's password (or takes an existing account's current
password), then signs them in. Unknown, used, withdrawn and expired links get the same
answer; a wrong token or a wrong password counts as a failed sign-in
(``security.login_locked``), so links and passwords cannot be guessed faster there than
on the sign-in page.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from jifen.platform.auth.model import PlatformRole, Role
from jifen.platform.errors import JifenError, NotFound

from . import blp, errors, i18n, queries, security
from .security import require

BAD_INVITATION = "invitation-link"  # the throttle's key for wrong invitation tokens
MESSAGE_LANGUAGES = {"zh-CN": "简体中文", "en": "English"}


def role_labels() -> dict[str, str]:
    return {
        Role.OWNER.value: _("Owner"),
        Role.ADMIN.value: _("Administrator"),
        Role.FINANCE.value: _("Finance"),
        Role.SUPPORT.value: _("Support"),
        Role.OPERATOR.value: _("Operator"),
    }


def _problem(error: JifenError) -> str:
    known = {
        "invalid_email": _("Give an email address."),
        "invalid_value": _("Choose one of the roles offered."),
        "owner_only": _("Only an owner may make someone an owner or change an owner."),
        "already_staff": _("This person already has a role here."),
        "last_owner": _(
            "The last owner cannot be demoted, disabled or removed: make someone else an "
            "owner first."
        ),
        "last_operator": _("The last platform operator cannot lose the role or be disabled."),
        "self": _("You cannot disable your own account."),
        "invalid_state": _("This invitation is no longer open."),
    }
    return known.get(error.code) or error.message


def _link_base() -> str:
    return current_app.extensions["jifen.config"].public_url


def _message_language() -> str:
    chosen = request.form.get("language", "")
    if chosen in MESSAGE_LANGUAGES:
        return chosen
    return "zh-CN" if i18n.language() == "zh_CN" else "en"


def _done(message: str, endpoint: str):
    flash(message, "ok")
    return redirect(url_for(endpoint), code=303)


def _refused(error: JifenError, endpoint: str):
    if isinstance(error, NotFound):
        raise error
    flash(_problem(error), "error")
    return redirect(url_for(endpoint), code=303)


# --- a tenant's team ----------------------------------------------------------------------


def _team_page(errors_: dict[str, str] | None = None):
    from jifen.platform.auth import staff

    tenant_id = g.staff.tenant_id
    labels = role_labels()
    offered = [r for r in labels if r != Role.OWNER or g.staff.role == Role.OWNER]
    page = render_template(
        "console/team.html",
        members=staff.list_team(tenant_id),
        invitations=staff.open_invitations(tenant_id),
        labels=labels,
        offered=offered,
        languages=MESSAGE_LANGUAGES,
        language=_message_language(),
        form=request.form if errors_ else {},
        errors=errors_ or {},
    )
    return page, 422 if errors_ else 200


@blp.get("/team")
@require("team.view")
def team():
    return _team_page()


@blp.post("/team/invitations")
@require("team.manage")
def invite_member():
    from jifen.platform.auth import staff

    try:
        invited = staff.invite(
            tenant_id=g.staff.tenant_id,
            email=request.form.get("email", "")[:300],
            role=request.form.get("role", ""),
            invited_by=g.staff.user_id,
            inviter_role=g.staff.role,
            tenant_name=g.get("tenant_name") or "",
            link_base=_link_base(),
            locale=_message_language(),
        )
    except JifenError as error:
        return _team_page({error.param or "form": _problem(error)})
    return _done(_("Invitation sent to %(email)s.", email=invited.invitation.email), "console.team")


@blp.post("/team/invitations/<invitation_id>/revoke")
@require("team.manage")
def revoke_member_invitation(invitation_id: str):
    from jifen.platform.auth import staff

    try:
        staff.revoke_invitation(g.staff.tenant_id, invitation_id)
    except JifenError as error:
        return _refused(error, "console.team")
    return _done(_("The invitation is withdrawn: its link no longer works."), "console.team")


@blp.post("/team/<user_id>/role")
@require("team.manage")
def change_member_role(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.change_role(
            g.staff.tenant_id, user_id, request.form.get("role", ""), actor_role=g.staff.role
        )
    except JifenError as error:
        return _refused(error, "console.team")
    return _done(_("Role changed. Their sessions are signed out."), "console.team")


@blp.post("/team/<user_id>/disable")
@require("team.manage")
def disable_member(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.disable_member(g.staff.tenant_id, user_id, actor_role=g.staff.role)
    except JifenError as error:
        return _refused(error, "console.team")
    return _done(_("Disabled: their role here grants nothing until enabled."), "console.team")


@blp.post("/team/<user_id>/enable")
@require("team.manage")
def enable_member(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.enable_member(g.staff.tenant_id, user_id, actor_role=g.staff.role)
    except JifenError as error:
        return _refused(error, "console.team")
    return _done(_("Enabled again."), "console.team")


@blp.post("/team/<user_id>/remove")
@require("team.manage")
def remove_member(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.remove_member(g.staff.tenant_id, user_id, actor_role=g.staff.role)
    except JifenError as error:
        return _refused(error, "console.team")
    return _done(_("Removed from the team."), "console.team")


# --- the platform's staff -------------------------------------------------------------------


def platform_role_labels() -> dict[str, str]:
    return {PlatformRole.OPERATOR.value: _("Operator"), PlatformRole.FINANCE.value: _("Finance")}


def _staff_page(errors_: dict[str, str] | None = None):
    from jifen.platform.auth import staff

    page = render_template(
        "console/staff.html",
        users=staff.list_platform_staff(),
        invitations=staff.open_invitations(None),
        labels=platform_role_labels(),
        languages=MESSAGE_LANGUAGES,
        language=_message_language(),
        form=request.form if errors_ else {},
        errors=errors_ or {},
    )
    return page, 422 if errors_ else 200


@blp.get("/operator/staff")
@require("staff.view", tenant=False)
def platform_staff():
    return _staff_page()


@blp.post("/operator/staff/invitations")
@require("staff.manage", tenant=False)
def invite_platform_staff():
    from jifen.platform.auth import staff

    try:
        invited = staff.invite(
            tenant_id=None,
            email=request.form.get("email", "")[:300],
            role=request.form.get("role", ""),
            invited_by=g.staff.user_id,
            link_base=_link_base(),
            locale=_message_language(),
        )
    except JifenError as error:
        return _staff_page({error.param or "form": _problem(error)})
    return _done(
        _("Invitation sent to %(email)s.", email=invited.invitation.email),
        "console.platform_staff",
    )


@blp.post("/operator/staff/invitations/<invitation_id>/revoke")
@require("staff.manage", tenant=False)
def revoke_platform_invitation(invitation_id: str):
    from jifen.platform.auth import staff

    try:
        staff.revoke_invitation(None, invitation_id)
    except JifenError as error:
        return _refused(error, "console.platform_staff")
    return _done(
        _("The invitation is withdrawn: its link no longer works."), "console.platform_staff"
    )


@blp.post("/operator/staff/<user_id>/role")
@require("staff.manage", tenant=False)
def change_platform_role(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.set_platform_role(user_id, request.form.get("role", ""))
    except JifenError as error:
        return _refused(error, "console.platform_staff")
    return _done(_("Role changed. Their sessions are signed out."), "console.platform_staff")


@blp.post("/operator/staff/<user_id>/disable")
@require("staff.manage", tenant=False)
def disable_platform_user(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.disable_user(user_id, actor_id=g.staff.user_id)
    except JifenError as error:
        return _refused(error, "console.platform_staff")
    return _done(
        _("Disabled: they cannot sign in, and their sessions are signed out."),
        "console.platform_staff",
    )


@blp.post("/operator/staff/<user_id>/enable")
@require("staff.manage", tenant=False)
def enable_platform_user(user_id: str):
    from jifen.platform.auth import staff

    try:
        staff.enable_user(user_id)
    except JifenError as error:
        return _refused(error, "console.platform_staff")
    return _done(_("Enabled again: they can sign in."), "console.platform_staff")


# --- accepting an invitation (no sign-in) ---------------------------------------------------


@blp.route("/invitations/<token>", methods=["GET", "POST"])
def staff_invitation(token: str):
    """An invitation link: GET shows the form, POST accepts (see the module docstring).
    ``g.invitation`` tells the activity log which invitation was answered."""
    from jifen.platform.auth import staff
    from jifen.platform.auth.services import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

    wait = security.login_locked(BAD_INVITATION)
    if wait:
        return errors.page(429, retry_after=wait)
    try:
        invitation = staff.open_invitation(token)
    except staff.InvitationInvalid:
        security.record_login_failure(BAD_INVITATION)
        return render_template("console/invitation.html", invalid=True), 404
    g.invitation = invitation

    def form_page(problem: str | None = None, status: int = 200):
        names = queries.tenant_names([invitation.tenant_id]) if invitation.tenant_id else {}
        labels = role_labels() if invitation.tenant_id else platform_role_labels()
        page = render_template(
            "console/invitation.html",
            invitation=invitation,
            place=names.get(invitation.tenant_id, ("",))[0] if invitation.tenant_id else None,
            role_label=labels.get(invitation.role, invitation.role),
            problem=problem,
            min_length=PASSWORD_MIN_LENGTH,
            max_length=PASSWORD_MAX_LENGTH,
        )
        return page, status

    if request.method == "GET":
        return form_page()
    wait = security.login_locked(invitation.email)
    if wait:
        return errors.page(429, retry_after=wait)
    password = request.form.get("password", "")[:1024]
    if not invitation.existing_user and password != request.form.get("password_again", "")[:1024]:
        return form_page("passwords_differ", 422)
    try:
        accepted = staff.accept_invitation(token, password=password)
    except staff.InvitationInvalid:
        return render_template("console/invitation.html", invalid=True), 404
    except JifenError as error:
        if error.code == "wrong_password":
            security.record_login_failure(invitation.email)
            return form_page("wrong_password", 401)
        return form_page(error.code, error.status)
    security.start_session(accepted.user_id)
    if accepted.tenant_id is not None:
        session["tenant"] = accepted.tenant_id
        flash(_("Welcome to the team."), "ok")
        return redirect(url_for("console.dashboard"), code=303)
    flash(_("Welcome to the platform team."), "ok")
    return redirect(url_for("console.batches"), code=303)
