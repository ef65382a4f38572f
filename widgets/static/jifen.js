/*
 * Jifen widgets, v1 — https://<jifen>/widgets/v1/jifen.js
 *
 * Paste one script tag and any of these elements into a page; nothing to build:
 *
 *   <script src="https://jifen.example/widgets/v1/jifen.js" defer></script>
 *   <jifen-balance publishable-key="pk_…" token="mt_…"></jifen-balance>
 *   <jifen-history publishable-key="pk_…" token="mt_…"></jifen-history>
 *   <jifen-rewards publishable-key="pk_…" token="mt_…"></jifen-rewards>
 *   <jifen-swap    publishable-key="pk_…" token="mt_…"></jifen-swap>
 *
 * `token` is a member token the merchant's backend got from POST /v1/members/{id}/tokens.
 * Labels are Chinese or English, from the element's `lang` attribute or the page's.
 * Theming: --jifen-accent, --jifen-bg, --jifen-fg, --jifen-muted, --jifen-radius,
 * --jifen-font.
 *
 * Balance and history read /v1/me/* directly (CORS answers only origins the merchant
 * registered for its publishable key). Rewards and swap run in a frame served from
 * Jifen's origin; the page and the frame talk by postMessage, each checking the other's
 * origin and window, and the frame reports its height (ResizeObserver) so it never
 * scrolls. Every value is written with textContent: no data ever goes through innerHTML.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var BASE = new URL(script ? script.src : "/", window.location.href).origin;

  var LABELS = {
    en: {
      balance: "Points", available: "available", expiring: "expiring on", history: "History",
      rewards: "Rewards", swap: "Swap points", loading: "Loading…", empty: "Nothing yet.",
      expired: "Your session has expired. Reload the page to continue.",
      invalid: "This member token is not valid.",
      origin: "This site is not registered for this publishable key.",
      mismatch: "The member token belongs to another program than this publishable key.",
      key: "Unknown publishable key.", network: "Jifen cannot be reached from this page.",
      failed: "Something went wrong.",
      kinds: { earn: "Earned", redeem: "Redeemed", reward: "Reward", swap: "Swap", award: "Award",
               expire: "Expired", transfer: "Transfer", refund: "Refund", adjust: "Adjustment" }
    },
    "zh-CN": {
      balance: "积分", available: "可用", expiring: "到期日", history: "积分明细",
      rewards: "积分兑礼", swap: "积分互换", loading: "加载中…", empty: "暂无记录。",
      expired: "登录已过期，请刷新页面。", invalid: "会员令牌无效。",
      origin: "本网站未登记使用此可发布密钥。", mismatch: "会员令牌与可发布密钥不属于同一计划。",
      key: "可发布密钥无效。", network: "无法连接积分服务。", failed: "出错了。",
      kinds: { earn: "获得", redeem: "使用", reward: "兑换礼品", swap: "互换", award: "奖励",
               expire: "过期", transfer: "转赠", refund: "退款", adjust: "调整" }
    }
  };

  var STYLE = [
    ":host { display: block; font-family: var(--jifen-font, system-ui, sans-serif);",
    "  color: var(--jifen-fg, #222); }",
    ".box { background: var(--jifen-bg, #fff); border-radius: var(--jifen-radius, 10px);",
    "  padding: 12px 14px; box-shadow: 0 1px 3px rgba(0,0,0,.15); }",
    "h3 { margin: 0 0 8px; font-size: 14px; color: var(--jifen-muted, #666); font-weight: 500; }",
    ".points { font-size: 28px; font-weight: 700; color: var(--jifen-accent, #1f4e5f); }",
    ".muted { color: var(--jifen-muted, #666); font-size: 12px; }",
    ".error { color: #a11; background: #fde8e8; padding: 6px 8px; border-radius: 6px; }",
    "ul { list-style: none; margin: 0; padding: 0; }",
    "li { display: flex; justify-content: space-between; padding: 4px 0;",
    "  border-bottom: 1px solid rgba(0,0,0,.06); font-size: 13px; }",
    ".plus { color: #1d7d3f; } .minus { color: #a33; }",
    "iframe { border: 0; width: 100%; height: 80px; display: block; }"
  ].join("\n");

  function languageOf(element) {
    var lang = element.getAttribute("lang") ||
      (element.closest && element.closest("[lang]") && element.closest("[lang]").getAttribute("lang")) ||
      document.documentElement.lang || "zh-CN";
    return lang.toLowerCase().indexOf("en") === 0 ? "en" : "zh-CN";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* Remembers, per publishable key, whether this page's origin may use it. */
  var configs = {};
  function checkOrigin(key) {
    if (!configs[key]) {
      configs[key] = fetch(BASE + "/widgets/v1/config?publishable_key=" + encodeURIComponent(key))
        .then(function (r) { return r.json(); });
    }
    return configs[key];
  }

  function ApiError(code, message) { this.code = code; this.message = message; }

  class JifenElement extends HTMLElement {
    static get observedAttributes() { return ["token", "publishable-key", "lang"]; }

    constructor() {
      super();
      this.root = this.attachShadow({ mode: "open" });
      var style = el("style"); style.textContent = STYLE;
      this.box = el("div", "box");
      this.root.append(style, this.box);
      this.refresh = this.refresh.bind(this);
    }

    connectedCallback() {
      document.addEventListener("jifen:changed", this.refresh);
      this.refresh();
    }

    disconnectedCallback() { document.removeEventListener("jifen:changed", this.refresh); }

    attributeChangedCallback(name, before, after) {
      if (this.isConnected && before !== after) this.refresh();
    }

    get labels() { return LABELS[languageOf(this)]; }
    get key() { return this.getAttribute("publishable-key") || ""; }
    get token() { return this.getAttribute("token") || ""; }

    show() {
      this.box.replaceChildren.apply(this.box, arguments);
      this.setAttribute("data-state", "ready");
    }

    showError(error) {
      var t = this.labels, message = t.failed;
      if (error instanceof ApiError) {
        message = {
          token_expired: t.expired, token_revoked: t.expired, invalid_token: t.invalid,
          unauthenticated: t.invalid, origin_not_allowed: t.origin, key_tenant_mismatch: t.mismatch,
          invalid_publishable_key: t.key, network: t.network
        }[error.code] || error.message || t.failed;
      }
      var box = el("p", "error", message);
      box.setAttribute("role", "alert");
      this.box.replaceChildren(box);
      this.setAttribute("data-state", "error");
      this.setAttribute("data-error", error && error.code ? error.code : "failed");
    }

    /* Checks the origin, then GETs a /v1/me path with the member token. */
    me(path) {
      var self = this;
      return checkOrigin(this.key).then(function (config) {
        if (!config.known_key) throw new ApiError("invalid_publishable_key");
        if (!config.origin_allowed) throw new ApiError("origin_not_allowed");
        var sep = path.indexOf("?") < 0 ? "?" : "&";
        return fetch(BASE + "/v1/me" + path + sep + "publishable_key=" + encodeURIComponent(self.key), {
          headers: { Authorization: "Bearer " + self.token }, credentials: "omit"
        });
      }, function () { throw new ApiError("network"); }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            var code = response.headers.get("X-Jifen-Auth-Problem") || (body.error && body.error.code);
            throw new ApiError(code, body.error && body.error.message);
          }
          return body;
        });
      });
    }

    refresh() {
      if (!this.key || !this.token) return;
      this.box.replaceChildren(el("p", "muted", this.labels.loading));
      this.setAttribute("data-state", "loading");
      this.load().catch(this.showError.bind(this));
    }
  }

  class JifenBalance extends JifenElement {
    load() {
      var t = this.labels, self = this;
      return this.me("/balance").then(function (b) {
        var nodes = [el("h3", null, t.balance + " · " + b.currency)];
        var points = el("div", "points", b.points.toLocaleString());
        points.setAttribute("part", "points");
        points.setAttribute("data-points", String(b.points));
        nodes.push(points);
        if (b.held) nodes.push(el("div", "muted", b.available.toLocaleString() + " " + t.available));
        if (b.expiring && b.expiring.length) {
          var soon = b.expiring[0];
          nodes.push(el("div", "muted", soon.points + " · " + t.expiring + " " + soon.expires_at.slice(0, 10)));
        }
        self.show.apply(self, nodes);
      });
    }
  }

  class JifenHistory extends JifenElement {
    load() {
      var t = this.labels, self = this;
      return this.me("/transactions?limit=" + (Number(this.getAttribute("limit")) || 10)).then(function (page) {
        var list = el("ul");
        page.data.forEach(function (tx) {
          var row = el("li");
          row.append(
            el("span", null, (t.kinds[tx.kind] || tx.kind) + " · " + tx.created.slice(0, 10)),
            el("span", tx.points >= 0 ? "plus" : "minus", (tx.points > 0 ? "+" : "") + tx.points)
          );
          list.append(row);
        });
        self.show(el("h3", null, t.history), page.data.length ? list : el("p", "muted", t.empty));
      });
    }
  }

  /* Hosts a frame from Jifen's origin; hands it the token once it says it is ready. */
  class JifenFrame extends JifenElement {
    load() {
      var self = this;
      return checkOrigin(this.key).then(function (config) {
        if (!config.known_key) throw new ApiError("invalid_publishable_key");
        if (!config.origin_allowed) throw new ApiError("origin_not_allowed");
        self.mount();
      });
    }

    mount() {
      if (this.frame) { this.frame.remove(); }
      var query = "?publishable_key=" + encodeURIComponent(this.key) +
        "&parent_origin=" + encodeURIComponent(window.location.origin) +
        "&lang=" + encodeURIComponent(languageOf(this));
      this.frame = el("iframe");
      this.frame.title = this.labels[this.kind];
      this.frame.src = BASE + "/widgets/v1/frame/" + this.kind + query;
      if (!this.listening) {
        window.addEventListener("message", this.onMessage.bind(this));
        this.listening = true;
      }
      this.show(el("h3", null, this.labels[this.kind]), this.frame);
    }

    onMessage(event) {
      if (!this.frame || event.source !== this.frame.contentWindow) return;
      if (event.origin !== BASE) return; // only Jifen's own frame may talk to us
      var data = event.data || {};
      if (data.type === "jifen:ready") {
        this.frame.contentWindow.postMessage({ type: "jifen:token", token: this.token }, BASE);
      } else if (data.type === "jifen:resize" && typeof data.height === "number") {
        this.frame.style.height = Math.min(Math.max(data.height, 40), 2000) + "px";
      } else if (data.type === "jifen:changed") {
        document.dispatchEvent(new CustomEvent("jifen:changed", { detail: { source: this.kind } }));
        this.dispatchEvent(new CustomEvent("jifen-" + data.what, { bubbles: true, composed: true }));
      }
    }

    attributeChangedCallback(name, before, after) {
      if (!this.isConnected || before === after) return;
      this.setAttribute("data-state", "stale"); // a new token or key: a new frame
      this.refresh();
    }

    refresh(event) {
      if (!this.key || !this.token) return;
      if (this.frame && this.getAttribute("data-state") === "ready") {
        // the frame keeps its own state; another widget's change asks it to reload
        var other = event && event.detail && event.detail.source !== this.kind;
        if (other && this.frame.contentWindow) {
          this.frame.contentWindow.postMessage({ type: "jifen:refresh" }, BASE);
        }
        return;
      }
      JifenElement.prototype.refresh.call(this);
    }
  }

  class JifenRewards extends JifenFrame { get kind() { return "rewards"; } }
  class JifenSwap extends JifenFrame { get kind() { return "swap"; } }

  [["jifen-balance", JifenBalance], ["jifen-history", JifenHistory],
   ["jifen-rewards", JifenRewards], ["jifen-swap", JifenSwap]].forEach(function (pair) {
    if (!customElements.get(pair[0])) customElements.define(pair[0], pair[1]);
  });
})();
