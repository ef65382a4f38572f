/*
 * Jifen widget frame (rewards, swap): runs on Jifen's origin inside a merchant's page.
 *
 * The server rendered this page only for a parent origin that the publishable key's
 * tenant registered, and sent `frame-ancestors` listing only those origins. Here we
 * talk only to that parent: messages are posted with it as the target origin, and
 * messages whose origin or source window differ are ignored. The member token arrives
 * by postMessage (never in the URL). Data is written with textContent only.
 */
(function () {
  "use strict";

  var root = document.getElementById("jifen-frame");
  var KIND = root.dataset.kind;
  var PARENT = root.dataset.parentOrigin;
  var KEY = root.dataset.publishableKey;
  var EN = root.dataset.lang === "en";
  var RATES = JSON.parse(root.dataset.rates || "[]");
  var token = null;

  var T = EN ? {
    redeem: "Redeem", points: "points", redeemed: "Redeemed", code: "Code", none: "No rewards yet.",
    from: "From", to: "To", amount: "Points", quote: "Get quote", confirm: "Confirm swap",
    youGive: "You give", youGet: "you get", fee: "fee", expiresIn: "Quote valid for",
    seconds: "s", quoteExpired: "The quote expired. Get a new one.", swapped: "Swapped",
    waiting: "Connecting…", available: "available", physical: "Redeem at the shop",
    origin: "This site is not registered for this publishable key.",
    key: "Unknown publishable key.", expired: "Your session has expired. Reload the page to continue.",
    failed: "Something went wrong."
  } : {
    redeem: "兑换", points: "积分", redeemed: "已兑换", code: "券码", none: "暂无礼品。",
    from: "从", to: "到", amount: "积分数", quote: "获取报价", confirm: "确认互换",
    youGive: "支出", youGet: "获得", fee: "手续费", expiresIn: "报价有效期",
    seconds: "秒", quoteExpired: "报价已过期，请重新获取。", swapped: "已互换",
    waiting: "连接中…", available: "可用", physical: "请到店兑换",
    origin: "本网站未登记使用此可发布密钥。", key: "可发布密钥无效。",
    expired: "登录已过期，请刷新页面。", failed: "出错了。"
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function show() { root.replaceChildren.apply(root, arguments); }

  function tell(message) {
    if (PARENT) window.parent.postMessage(message, PARENT);
  }

  function errorBox(message, code) {
    var box = el("p", "error", message);
    box.setAttribute("role", "alert");
    if (code) box.dataset.code = code;
    return box;
  }

  function api(method, path, body) {
    var sep = path.indexOf("?") < 0 ? "?" : "&";
    var headers = { Authorization: "Bearer " + token };
    if (body) {
      headers["Content-Type"] = "application/json";
      headers["Idempotency-Key"] = "wgt_" + Array.from(crypto.getRandomValues(new Uint8Array(12)),
        function (b) { return b.toString(16).padStart(2, "0"); }).join("");
    }
    return fetch(path + sep + "publishable_key=" + encodeURIComponent(KEY), {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined,
      credentials: "omit"
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || T.failed);
          error.code = response.headers.get("X-Jifen-Auth-Problem") || (data.error && data.error.code);
          throw error;
        }
        return data;
      });
    });
  }

  function failure(error) {
    var expired = error.code === "token_expired" || error.code === "token_revoked";
    return errorBox(expired ? T.expired : error.message, error.code);
  }

  // --- rewards -------------------------------------------------------------------------

  function loadRewards(notice) {
    return Promise.all([api("GET", "/v1/me/balance"), api("GET", "/v1/me/rewards?limit=50")])
      .then(function (results) {
        var balance = results[0], rewards = results[1].data;
        var head = el("p", "status", balance.available + " " + T.points + " " + T.available);
        head.dataset.available = String(balance.available);
        var list = el("ul");
        rewards.forEach(function (reward) {
          var item = el("li");
          var text = el("div");
          text.append(el("div", "name", reward.name), el("div", "price", reward.price_points + " " + T.points));
          var button = el("button", null, reward.kind === "physical" ? T.physical : T.redeem);
          button.dataset.reward = reward.id;
          button.disabled = reward.kind === "physical" || reward.price_points > balance.available ||
            reward.stock === 0;
          button.addEventListener("click", function () { redeem(reward, button); });
          item.append(text, button);
          list.append(item);
        });
        var nodes = notice ? [notice, head] : [head];
        show.apply(null, nodes.concat([rewards.length ? list : el("p", "status", T.none)]));
      }).catch(function (error) { show(failure(error)); });
  }

  function redeem(reward, button) {
    button.disabled = true;
    api("POST", "/v1/me/rewards/" + encodeURIComponent(reward.id) + "/redeem", { quantity: 1 })
      .then(function (order) {
        var text = T.redeemed + ": " + reward.name + " (−" + order.points + " " + T.points + ")";
        if (order.codes && order.codes.length) text += " · " + T.code + " " + order.codes.join(", ");
        var notice = el("p", "ok", text);
        notice.setAttribute("role", "status");
        tell({ type: "jifen:changed", what: "redeemed" });
        return loadRewards(notice);
      })
      .catch(function (error) { root.prepend(failure(error)); button.disabled = false; });
  }

  // --- swap ----------------------------------------------------------------------------

  var timer = null;

  function loadSwap(notice) {
    return api("GET", "/v1/me/wallet").then(function (wallet) {
      var form = el("form");
      var from = el("select"); from.name = "from_currency";
      wallet.memberships.forEach(function (m) {
        var option = el("option", null, m.tenant.name + " (" + m.currency.code + ") · " + m.available);
        option.value = m.currency.code;
        from.append(option);
      });
      var to = el("select"); to.name = "to_currency";
      RATES.forEach(function (rate) {
        if (!rate.inbound) return;
        var option = el("option", null, rate.currency); option.value = rate.currency; to.append(option);
      });
      if (to.options.length > 1 && to.value === from.value) to.selectedIndex = 1;
      var points = el("input"); points.type = "number"; points.min = "1"; points.step = "1";
      points.name = "points"; points.required = true;
      var ask = el("button", null, T.quote); ask.type = "submit";
      var row = el("div", "row");
      row.append(labelled(T.from, from), labelled(T.to, to), labelled(T.amount, points), ask);
      var slot = el("div");
      form.append(row, slot);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        ask.disabled = true;
        api("POST", "/v1/exchange/quotes", {
          card_number: wallet.card_number, from_currency: from.value, to_currency: to.value,
          points: Number(points.value)
        }).then(function (quote) { showQuote(slot, quote); })
          .catch(function (error) { slot.replaceChildren(failure(error)); })
          .finally(function () { ask.disabled = false; });
      });
      show.apply(null, (notice ? [notice] : []).concat([form]));
    }).catch(function (error) { show(failure(error)); });
  }

  function labelled(text, control) {
    var label = el("label", null, text + " ");
    label.append(control);
    return label;
  }

  function showQuote(slot, quote) {
    clearInterval(timer);
    var box = el("div", "quote");
    box.dataset.quote = quote.id;
    box.append(el("p", null, T.youGive + " " + quote.from_points + " " + quote.from_currency + ", " +
      T.youGet + " " + quote.to_points + " " + quote.to_currency + " (" + T.fee + " " + quote.fee_spu + " SPU)"));
    var countdown = el("span", "countdown");
    var line = el("p", "status", T.expiresIn + " ");
    line.append(countdown);
    var confirm = el("button", null, T.confirm); confirm.type = "button";
    box.append(line, confirm);
    slot.replaceChildren(box);
    var deadline = Date.parse(quote.expires_at);
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = left + T.seconds;
      if (left <= 0) {
        clearInterval(timer);
        confirm.disabled = true;
        line.replaceChildren(errorBox(T.quoteExpired, "quote_expired"));
      }
    }
    tick();
    timer = setInterval(tick, 1000);
    confirm.addEventListener("click", function () {
      confirm.disabled = true;
      api("POST", "/v1/exchange/swaps", { quote_id: quote.id }).then(function (swap) {
        clearInterval(timer);
        var notice = el("p", "ok", T.swapped + ": " + swap.from_points + " " + swap.from_currency +
          " → " + swap.to_points + " " + swap.to_currency);
        notice.setAttribute("role", "status");
        tell({ type: "jifen:changed", what: "swapped" });
        return loadSwap(notice);
      }).catch(function (error) { slot.replaceChildren(failure(error)); });
    });
  }

  // --- wiring ----------------------------------------------------------------------------

  var problem = root.dataset.problem;
  if (problem) {
    show(errorBox(problem === "origin_not_allowed" ? T.origin : T.key, problem));
    return;
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== PARENT || event.source !== window.parent) return; // foreign: ignored
    var data = event.data || {};
    if (data.type === "jifen:token" && typeof data.token === "string") {
      token = data.token;
      (KIND === "swap" ? loadSwap : loadRewards)();
    } else if (data.type === "jifen:refresh" && token && !root.querySelector(".quote")) {
      (KIND === "swap" ? loadSwap : loadRewards)(); // another widget changed the balance
    }
  });

  new ResizeObserver(function () {
    tell({ type: "jifen:resize", height: Math.ceil(root.getBoundingClientRect().bottom) + 8 });
  }).observe(document.body);

  show(el("p", "status", T.waiting));
  tell({ type: "jifen:ready" });
})();
