/*
 * Jifen wallet pages: countdowns to a quote's or a counter code's expiry.
 *
 * Served from /widgets/v1/wallet.js: the wallet's Content-Security-Policy allows only
 * scripts from Jifen's own origin, never inline ones. The server renders the seconds
 * left (data-expires-in, from its own clock, so a phone whose clock is wrong still counts
 * right) and the page works without this script: a late confirm is refused by the server.
 *
 * In a [data-expiring] container, when the time is up: every [data-live] button is
 * disabled, every other [data-live] element hidden, and [data-expired] shown.
 */
(function () {
  "use strict";

  function start(counter) {
    var seconds = Number(counter.dataset.expiresIn);
    if (!isFinite(seconds)) return;
    var began = performance.now();
    var scope = counter.closest("[data-expiring]") || document;
    var shown = counter.querySelector("[data-countdown]");
    var timer = null;

    function expire() {
      scope.querySelectorAll("[data-live]").forEach(function (element) {
        if ("disabled" in element) element.disabled = true;
        else element.hidden = true;
      });
      scope.querySelectorAll("[data-expired]").forEach(function (element) {
        element.hidden = false;
      });
    }

    function tick() {
      var left = Math.max(0, Math.ceil(seconds - (performance.now() - began) / 1000));
      if (shown) shown.textContent = String(left);
      if (left <= 0) {
        if (timer !== null) clearInterval(timer);
        expire();
      }
    }

    tick();
    if (seconds > 0) timer = setInterval(tick, 250);
  }

  function init() {
    document.querySelectorAll("[data-expires-in]").forEach(start);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
