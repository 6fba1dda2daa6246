/* The Compliance Ledger's consent banner (docs/privacy-center.md tells a vendor how to embed it).

   <script src="{the ledger's address}/banner.js" data-site="{the site's key}" defer></script>
   <a href="#" data-ledger-consent>Cookie settings</a>

   The same bytes for every site: everything a site differs in (texts, notice version, whether
   the browser sent Global Privacy Control) comes from the ledger's config answer. Texts go in
   with textContent only, so a site's texts can never become markup or script. Nothing is
   pre-ticked, and "reject all" sits beside "accept all", the same size, on the first layer. */
(function () {
  "use strict";
  // Captured now: document.currentScript is null in every later callback.
  var script = document.currentScript;
  var siteKey = script && script.getAttribute("data-site");
  if (!siteKey || !window.fetch || !window.crypto) return;
  // Included twice (a template and a tag manager, say), it still shows one banner.
  if (document.documentElement.hasAttribute("data-ledger-banner")) return;
  document.documentElement.setAttribute("data-ledger-banner", siteKey);
  // Every URL of the ledger is derived from the script's own address: no host is written here.
  var base = new URL(".", script.src).href;
  var api = base + "v1/banner/" + encodeURIComponent(siteKey);
  var YEAR = 365 * 24 * 3600;
  var FALLBACK = {
    en: "Your choice could not be recorded ({status}). Please try again.",
    nl: "Uw keuze kon niet worden vastgelegd ({status}). Probeer het opnieuw."
  };

  var config = null, texts = null, language = "en";
  var root = null, details = null, boxes = {}, alertLine = null, savedLine = null;
  var buttons = {}, busy = false, pendingOpen = false, hiding = null;

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var at = parts[i].indexOf("=");
      if (parts[i].slice(0, at) === name) {
        try { return decodeURIComponent(parts[i].slice(at + 1)); } catch (e) { return null; }
      }
    }
    return null;
  }

  function writeCookie(name, value) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + encodeURIComponent(value) + "; path=/; max-age=" + YEAR +
      "; SameSite=Lax" + secure;
  }

  // Made only when the visitor makes a choice: nothing is stored on a first look.
  function visitorId(fresh) {
    var known = readCookie("ledger_visitor");
    if (!fresh && known && /^[A-Za-z0-9_-]{22,64}$/.test(known)) return known;
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var made = btoa(String.fromCharCode.apply(null, bytes))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    writeCookie("ledger_visitor", made);
    return made;
  }

  function storedChoice() {
    try {
      var kept = JSON.parse(readCookie("ledger_consent") || "null");
      return kept && typeof kept.v === "string" && kept.c ? kept : null;
    } catch (e) { return null; }
  }

  // The stored choice holds while the notice is the same, and while it does not allow tracking
  // that the browser now refuses (asked again, the refusal is recorded as GPC's).
  function choiceInForce() {
    var kept = storedChoice();
    if (!kept || kept.v !== config.notice_version) return null;
    return config.gpc && kept.c && kept.c.tracking ? null : kept;
  }

  function element(tag, className, text) {
    var made = document.createElement(tag);
    if (className) made.className = className;
    if (text) made.textContent = text;
    return made;
  }

  function button(name, className, action) {
    var made = element("button", "ledger-button " + className, texts[name]);
    made.type = "button";
    made.addEventListener("click", action);
    buttons[name] = made;
    return made;
  }

  function category(entry) {
    var id = "ledger-category-" + entry.id;
    var row = element("div", "ledger-category");
    var box = element("input", "ledger-checkbox");
    box.type = "checkbox";
    box.id = id;
    box.checked = !!entry.fixed;
    box.disabled = !!entry.fixed || (entry.id === "tracking" && config.gpc);
    var label = element("label", "ledger-label", texts[entry.id] || entry.id);
    label.htmlFor = id;
    var detail = element("p", "ledger-detail", texts[entry.id + "_detail"]);
    detail.id = id + "-detail";
    box.setAttribute("aria-describedby", detail.id);
    row.appendChild(box);
    row.appendChild(label);
    row.appendChild(detail);
    if (!entry.fixed) boxes[entry.id] = box;
    return row;
  }

  function build() {
    root = element("div", "ledger-banner");
    root.id = "ledger-banner";
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-labelledby", "ledger-banner-title");
    root.setAttribute("aria-describedby", "ledger-banner-intro");
    root.setAttribute("lang", language);
    root.tabIndex = -1;
    root.hidden = true;
    var title = element("h2", "ledger-title", texts.title);
    title.id = "ledger-banner-title";
    var intro = element("p", "ledger-intro", texts.intro + " ");
    intro.id = "ledger-banner-intro";
    var link = element("a", "ledger-link", texts.privacy_link);
    if (/^https?:/.test(config.privacy_url)) link.href = config.privacy_url;
    intro.appendChild(link);
    root.appendChild(title);
    root.appendChild(intro);
    if (config.gpc) root.appendChild(element("p", "ledger-gpc", texts.gpc_note));
    details = element("div", "ledger-details");
    details.hidden = true;
    for (var i = 0; i < config.categories.length; i++) {
      details.appendChild(category(config.categories[i]));
    }
    root.appendChild(details);
    alertLine = element("p", "ledger-alert");
    alertLine.setAttribute("role", "alert");
    savedLine = element("p", "ledger-saved");
    savedLine.setAttribute("role", "status");
    root.appendChild(alertLine);
    root.appendChild(savedLine);
    var row = element("div", "ledger-buttons");
    row.appendChild(button("reject_all", "ledger-choice", function () { choose(false); }));
    row.appendChild(button("accept_all", "ledger-choice", function () { choose(true); }));
    row.appendChild(button("customise", "ledger-secondary", function () { customise(true); }));
    row.appendChild(button("save", "ledger-secondary", function () { choose(null); }));
    row.appendChild(button("close", "ledger-quiet", close));
    root.appendChild(row);
    root.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") { event.preventDefault(); close(); }
    });
    document.body.appendChild(root);
  }

  function showButtons(inDetails, saved) {
    buttons.reject_all.hidden = buttons.accept_all.hidden = saved;
    buttons.customise.hidden = saved || inDetails;
    buttons.save.hidden = saved || !inDetails;
    // Closing without a choice records nothing: offered once a choice is known, in the
    // customise layer (back to the first), and after saving.
    buttons.close.hidden = !(saved || inDetails || storedChoice());
  }

  function customise(open) {
    details.hidden = !open;
    showButtons(open, false);
    var first = open && firstFree();
    (first || (open ? root : buttons.customise)).focus({preventScroll: true});
  }

  function firstFree() {
    for (var id in boxes) if (!boxes[id].disabled) return boxes[id];
    return null;
  }

  function open(withDetails) {
    if (!config) { pendingOpen = true; return; }
    if (!root) build();
    window.clearTimeout(hiding);
    var kept = storedChoice();
    for (var id in boxes) {
      // Nothing pre-ticked: a box shows the visitor's own last choice, else it is empty.
      boxes[id].checked = !!(kept && !boxes[id].disabled && kept.c[id] === true);
    }
    alertLine.textContent = savedLine.textContent = "";
    root.hidden = false;
    details.hidden = !withDetails;
    showButtons(withDetails, false);
    var first = withDetails && firstFree();
    (first || root).focus({preventScroll: true});
  }

  function close() {
    if (!details.hidden && !storedChoice() && !buttons.save.hidden) {
      customise(false);
      return;
    }
    root.hidden = true;
  }

  function recorded(answer, purpose, asked) {
    var list = answer.recorded || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].purpose === purpose) return list[i].status === "given";
    }
    return asked;
  }

  // all: true accept all, false reject all, null the boxes as they are. `again`: the
  // ledger answered 410 (this visitor was erased), so the choice is made once more as a
  // new visitor, with a new id.
  function choose(all, again) {
    if (busy) return;
    var body = {visitor_id: visitorId(again), notice_version: config.notice_version,
      language: language};
    for (var id in boxes) {
      // A disabled box (tracking under GPC) is never sent as yes, whatever the button.
      body[id] = !boxes[id].disabled && (all === null ? boxes[id].checked : all);
    }
    busy = true;
    root.setAttribute("aria-busy", "true");
    alertLine.textContent = "";
    fetch(api + "/choices", {
      method: "POST", mode: "cors", credentials: "omit",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 410 && !again) {
        busy = false;
        return choose(all, true);
      }
      if (response.status !== 201) return failed(response.status);
      return response.json().then(function (answer) { saved(body, answer); });
    }, function () { failed("network"); }).then(function () {
      busy = false;
      root.removeAttribute("aria-busy");
    });
  }

  function failed(status) {
    function say() {
      alertLine.textContent = (texts.error || FALLBACK[language]).replace("{status}", status);
    }
    // The notice changed since the config was read: said once the next attempt will name
    // the current one.
    if (status === 409) loadConfig(say, say); else say();
  }

  function saved(body, answer) {
    // What the ledger recorded, which under GPC is not what was asked for tracking.
    var choice = {analytics: recorded(answer, "analytics_cookies", body.analytics),
      tracking: recorded(answer, "tracking_cookies", body.tracking),
      receipt_id: answer.receipt_id};
    writeCookie("ledger_consent", JSON.stringify({v: answer.notice_version || body.notice_version,
      c: {analytics: choice.analytics, tracking: choice.tracking}, r: answer.receipt_id}));
    root.setAttribute("data-receipt", answer.receipt_id);
    savedLine.textContent = (texts.saved || "").replace("{receipt}", answer.receipt_id);
    details.hidden = true;
    showButtons(false, true);
    buttons.close.focus({preventScroll: true});
    document.dispatchEvent(new CustomEvent("ledger:consent", {detail: choice}));
    hiding = window.setTimeout(function () { root.hidden = true; }, 6000);
  }

  function loadConfig(then, otherwise) {
    fetch(api + "/config", {mode: "cors", credentials: "omit"}).then(function (response) {
      if (response.status !== 200) throw new Error("config answered " + response.status);
      return response.json();
    }).then(function (answer) {
      config = answer;
      texts = answer.texts[language] || answer.texts.en;
      then();
    }).catch(function (error) {
      if (window.console) console.warn("ledger banner:", error.message);
      if (otherwise) otherwise();
    });
  }

  function start() {
    var kept = choiceInForce();
    if (kept) {
      // Every page learns the choice in force, as it learns a new one.
      document.dispatchEvent(new CustomEvent("ledger:consent", {detail:
        {analytics: kept.c.analytics === true, tracking: kept.c.tracking === true,
          receipt_id: kept.r, stored: true}}));
    }
    if (!kept || pendingOpen) open(pendingOpen);
  }

  var asked = (document.documentElement.lang || navigator.language || "").toLowerCase();
  language = asked.indexOf("nl") === 0 ? "nl" : "en";

  var style = document.createElement("link");
  style.rel = "stylesheet";
  style.href = base + "banner.css";
  document.head.appendChild(style);

  // A footer link (or any element) with data-ledger-consent reopens it, also when added later.
  document.addEventListener("click", function (event) {
    var target = event.target;
    var opener = target && target.closest && target.closest("[data-ledger-consent]");
    if (!opener) return;
    event.preventDefault();
    open(true);
  });

  function begin() { loadConfig(start); }
  if (document.body) begin(); else document.addEventListener("DOMContentLoaded", begin);
})();
