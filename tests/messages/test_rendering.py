"""Templates render in English and Chinese; the Chinese catalog is complete and compiled."""

from __future__ import annotations

from io import BytesIO

import jinja2
import pytest
from babel.messages.mofile import write_mo

from jifen.platform.messages import rendering, translate

CONTEXTS = {
    "holder_code": {"code": "482913", "minutes": 10},
    "wallet_link": {"link": "https://jifen.example/wallet/sign-in?t=Tk9xR2", "minutes": 15},
    "staff_invitation": {
        "link": "https://jifen.example/console/invitations/inv_Q8",
        "tenant_name": "茶馆 Tea House",
        "role": "admin",
        "days": 7,
    },
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("en", "en"),
        ("EN-us", "en"),
        ("en_GB", "en"),
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("fr", "zh-CN"),
        ("", "zh-CN"),
        (None, "zh-CN"),
    ],
)
def test_any_locale_reads_as_english_or_chinese(given, expected):
    assert rendering.normalize_locale(given) == expected


def test_the_sign_in_code_email_in_both_languages(app):
    english = rendering.render("holder_code", "en", "email", CONTEXTS["holder_code"])
    chinese = rendering.render("holder_code", "zh-CN", "email", CONTEXTS["holder_code"])
    assert english.subject == "Your Jifen sign-in code"
    assert chinese.subject == "您的积分卡登录验证码"
    assert "Your Jifen sign-in code is 482913." in english.body
    assert "It expires in 10 minutes." in english.body
    assert "您的积分卡登录验证码是 482913。" in chinese.body
    assert "10 分钟内有效" in chinese.body
    assert english.body.endswith("\n") and not english.body.startswith("\n")


def test_english_counts_one_minute_in_the_singular(app):
    one = rendering.render("holder_code", "en", "email", {"code": "1", "minutes": 1})
    assert "It expires in 1 minute." in one.body


@pytest.mark.parametrize("name", sorted(CONTEXTS))
@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_every_template_renders_for_both_channels(app, name, locale):
    context = CONTEXTS[name]
    email = rendering.render(name, locale, "email", context)
    sms = rendering.render(name, locale, "sms", context)
    assert email.subject and "\n" not in email.subject
    assert sms.subject is None and "\n" not in sms.body
    assert len(sms.body) < len(email.body)
    for value in context.values():
        if name == "staff_invitation" and value == "admin":
            continue  # shown as the role's name
        assert str(value) in email.body or str(value) in email.subject
        assert str(value) in sms.body
    chinese = locale == "zh-CN"
    assert any("\u4e00" <= c <= "\u9fff" for c in email.body.replace("茶馆", "")) == chinese


def test_the_sms_code_is_short(app):
    sms = rendering.render("holder_code", "zh-CN", "sms", CONTEXTS["holder_code"])
    assert sms.body == "【积分卡】验证码 482913，10 分钟内有效，请勿告诉他人。"
    assert len(sms.body) <= 70  # one SMS segment in UCS-2


def test_an_invitation_names_the_role_in_the_language(app):
    context = CONTEXTS["staff_invitation"]
    english = rendering.render("staff_invitation", "en", "email", context)
    chinese = rendering.render("staff_invitation", "zh-CN", "email", context)
    assert english.subject == "You are invited to 茶馆 Tea House on Jifen"
    assert "as administrator" in english.body and "7 days" in english.body
    assert chinese.subject == "「茶馆 Tea House」邀请您加入积分卡控制台"
    assert "以管理员身份" in chinese.body and "7 天内有效" in chinese.body


def test_a_missing_context_value_is_an_error_not_a_blank(app):
    with pytest.raises(jinja2.UndefinedError):
        rendering.render("holder_code", "en", "email", {"minutes": 10})


def test_an_unknown_template_or_channel_is_refused(app):
    with pytest.raises(ValueError):
        rendering.render("no_such_template", "en", "email", {})
    with pytest.raises(ValueError):
        rendering.render("holder_code", "en", "fax", CONTEXTS["holder_code"])


def test_rendering_leaves_the_console_language_alone(app):
    from flask_babel import get_locale

    with app.test_request_context("/console/", headers={"Accept-Language": "zh-CN"}):
        before = str(get_locale())
        rendering.render("holder_code", "en", "email", CONTEXTS["holder_code"])
        assert str(get_locale()) == before


def test_every_template_string_has_a_chinese_translation():
    catalog = translate.load()
    missing = [m.id for m in translate.extract() if m.id and not catalog.get(m.id, m.context)]
    assert missing == [] and translate.untranslated(catalog) == []


def test_the_compiled_catalog_matches_its_source():
    compiled = BytesIO()
    write_mo(compiled, translate.load())
    mo = translate.po_path().with_suffix(".mo").read_bytes()
    assert compiled.getvalue() == mo, "run python -m jifen.platform.messages.translate"
