"""The widgets in a real browser: Debian's Chromium, headless, driven by Playwright (never
a downloaded browser), against the test app served on a free port (the wallet's own
browser test: ``test_wallet_browser.py``).

Screenshots land in ``test-artifacts/`` (git-ignored). Skipped, saying why, when
``/usr/bin/chromium`` or Playwright is missing; CI installs both.
"""

from __future__ import annotations

import http.server
import re
import threading

import pytest
from browser_support import ARTIFACTS, require_chromium, screenshot
from widgets_support import build_world, expire_member_token

sync_api = require_chromium()
expect = sync_api.expect


@pytest.fixture(scope="module")
def server(live_server):
    return live_server


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def shop(client, api, server):
    """A merchant whose registered origin is the live server, named as the demo page's."""
    from jifen.widgets import services

    world = build_world(client, api, origins=[server])
    services.set_demo_member(world.a.id, world.member_a, [server])
    return world


@pytest.fixture
def foreign_site(shop, server):
    """A tiny page on another port (another origin) that tries to use the key."""
    token = shop.member_token()
    html = f"""<!doctype html><html lang="en"><body><h1>Not the merchant</h1>
      <script src="{server}/widgets/v1/jifen.js"></script>
      <jifen-balance publishable-key="{shop.a.publishable_key}" token="{token}"></jifen-balance>
      <jifen-swap publishable-key="{shop.a.publishable_key}" token="{token}"></jifen-swap>
      </body></html>""".encode()
    # Framed by the merchant's page (as an ad might be), it posts to its siblings.
    attack = b"""<!doctype html><script>
      for (let i = 0; i < parent.frames.length; i++) {
        parent.frames[i].postMessage({type: "jifen:token", token: "mt_forged"}, "*");
      }
      parent.postMessage({type: "jifen:resize", height: 1999}, "*");
      </script>"""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(attack if self.path == "/attack" else html)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/", token
    httpd.shutdown()


def shot(page, name: str) -> None:
    screenshot(page, ARTIFACTS / f"{name}.png")


def balance_points(page):
    return page.locator("jifen-balance").first.locator("[data-points]")


def test_demo_page_shows_balance_redeems_and_swaps(page, shop, server):
    page.goto(f"{server}/demo/merchant")
    expect(balance_points(page)).to_have_attribute("data-points", "5000")

    rewards = page.frame_locator("jifen-rewards iframe")
    rewards.locator(f"button[data-reward='{shop.reward_id}']").click()
    expect(rewards.locator(".ok")).to_contain_text("Green tea")
    expect(balance_points(page)).to_have_attribute("data-points", "4700")
    expect(page.locator("jifen-history").first).to_contain_text("-300")

    swap = page.frame_locator("jifen-swap iframe")
    source = swap.locator(f"select[name=from_currency] option[value={shop.a.currency_code}]")
    expect(source).to_have_text(re.compile(r"· 4700$"))  # the swap frame heard of the redeem
    swap.locator("select[name=from_currency]").select_option(shop.a.currency_code)
    swap.locator("select[name=to_currency]").select_option(shop.b.currency_code)
    swap.locator("input[name=points]").fill("1000")
    swap.locator("button[type=submit]").click()
    expect(swap.locator(".countdown")).to_have_text(re.compile(r"\d+s|\d+秒"))
    shot(page, "widgets-demo-quote")
    swap.locator(".quote button").click()
    expect(swap.locator(".ok")).to_contain_text(f"1000 {shop.a.currency_code}")
    expect(balance_points(page)).to_have_attribute("data-points", "3700")
    # a member token covers its own membership only (API.md, Card holders): the frame lists
    # just it, and the destination has gained points all the same
    expect(swap.locator("select[name=from_currency] option")).to_have_count(1)
    assert shop.balance(shop.b, shop.member_b) > 0
    shot(page, "widgets-demo-after-swap")


def test_a_page_on_an_unregistered_origin_cannot_use_the_key(page, foreign_site, server):
    url, token = foreign_site
    page.goto(url)
    balance = page.locator("jifen-balance")
    expect(balance).to_have_attribute("data-error", "origin_not_allowed")
    expect(balance).to_contain_text("not registered")
    expect(page.locator("jifen-swap")).to_have_attribute("data-error", "origin_not_allowed")
    # and the API itself stays closed to it: the browser blocks the answer
    blocked = page.evaluate(
        """async ([base, token]) => {
             try {
               await fetch(base + "/v1/me/wallet", {headers: {Authorization: "Bearer " + token}});
               return "read";
             } catch (e) { return "blocked"; }
           }""",
        [server, token],
    )
    assert blocked == "blocked"
    shot(page, "widgets-foreign-origin")


def test_an_expired_member_token_shows_a_clear_message(page, shop, server):
    page.goto(f"{server}/demo/merchant")
    expect(balance_points(page)).to_have_attribute("data-points", "5000")
    token = shop.member_token()
    expire_member_token(token)
    page.evaluate(
        "t => document.querySelectorAll('jifen-balance').forEach(e => e.setAttribute('token', t))",
        token,
    )
    chinese, english = page.locator("jifen-balance").first, page.locator("jifen-balance").last
    expect(chinese).to_have_attribute("data-error", "token_expired")
    expect(chinese).to_contain_text("登录已过期")
    expect(english).to_contain_text("Your session has expired")
    shot(page, "widgets-expired-token")


def test_messages_from_a_foreign_origin_are_ignored_both_ways(page, shop, server, foreign_site):
    """A foreign frame on the merchant's page posts a resize to the page (ignored), and a
    foreign page that opens a widget frame cannot hand it a token (ignored)."""
    page.goto(f"{server}/demo/merchant")
    rewards = page.frame_locator("jifen-rewards iframe")
    expect(rewards.locator(f"button[data-reward='{shop.reward_id}']")).to_be_visible()
    height = page.locator("jifen-rewards iframe").evaluate("f => f.style.height")
    url, _token = foreign_site
    page.evaluate(
        "s => { const f = document.createElement('iframe'); f.src = s; document.body.append(f) }",
        url + "attack",
    )
    page.wait_for_timeout(1000)
    expect(rewards.locator(f"button[data-reward='{shop.reward_id}']")).to_be_visible()
    expect(rewards.locator(".error")).to_have_count(0)
    assert page.locator("jifen-rewards iframe").evaluate("f => f.style.height") == height

    foreign = page.context.new_page()
    foreign.goto(url)
    frame_url = (
        f"{server}/widgets/v1/frame/rewards?publishable_key={shop.a.publishable_key}"
        f"&parent_origin={server}"
    )
    with page.context.expect_page() as opened:
        foreign.evaluate("src => { window.popup = window.open(src); }", frame_url)
    popup = opened.value
    expect(popup.locator("#jifen-frame .status")).to_be_visible()
    foreign.evaluate("() => popup.postMessage({type: 'jifen:token', token: 'mt_forged'}, '*')")
    popup.wait_for_timeout(1000)
    expect(popup.locator("#jifen-frame .error")).to_have_count(0)
    expect(popup.locator("#jifen-frame li")).to_have_count(0)
