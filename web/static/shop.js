// The shop's own script: countdowns, local times, and the card form (Stripe.js).
// Everything here only enhances: every page works without it.
(function () {
  "use strict";

  // The server's clock, so that a countdown reaches zero at the server's deadline even
  // where the visitor's clock is off.
  var serverNow = Date.parse(document.body.getAttribute("data-server-now") || "");
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function now() { return Date.now() + skew; }

  function leftText(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function tick() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var deadline = Date.parse(el.getAttribute("datetime"));
      if (isNaN(deadline)) return;
      var left = deadline - now();
      el.textContent = leftText(left);
      if (left <= 0 && !el.hasAttribute("data-ended")) {
        el.setAttribute("data-ended", "");
        var note = document.createElement("span");
        note.className = "muted";
        note.textContent = " The payment window has ended; confirming…";
        el.parentNode.appendChild(note);
        var form = document.getElementById("pay-form");
        if (form) form.querySelector("[data-pay-button]").disabled = true;
      }
    });
  }

  function localTimes(root) {
    root.querySelectorAll("[data-local-time]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (!isNaN(when.getTime())) el.textContent = when.toLocaleTimeString();
    });
  }

  function say(text, ok) {
    var box = document.getElementById("pay-message");
    if (!box) return;
    box.innerHTML = "";
    var p = document.createElement("p");
    p.className = ok ? "notice" : "alert";
    p.setAttribute("data-pay-outcome", ok ? "pending" : "declined");
    p.textContent = text;
    box.appendChild(p);
  }

  // localstripe's stand-in of Stripe.js draws bare inputs; give them names people read.
  var LABELS = {
    number: ["Card number", "1234 1234 1234 1234"],
    exp_month: ["Expiry month", "MM"],
    exp_year: ["Expiry year", "YY"],
    cvc: ["CVC", "CVC"],
    postal_code: ["Postal code", "ZIP"]
  };

  // A card number is written in groups ("4242 4242 4242 4242"), typed or pasted; the
  // stand-in's field reads its value as it is, so only the digits are kept, before it
  // reads them (this listener runs first: it captures on the way down).
  function digitsOnly(container) {
    container.addEventListener("input", function (event) {
      var input = event.target;
      if (input.getAttribute("aria-label") !== "Card number") return;
      var digits = input.value.replace(/\D+/g, "");
      if (digits !== input.value) input.value = digits;
    }, true);
  }

  // What the payment provider says reaches the buyer only as a sentence: never a bare
  // "Bad request".
  var CARD_NOT_TAKEN = "The card was not accepted. Check its number, expiry and CVC, " +
    "or try another card.";

  function asSentence(text, fallback) {
    text = String(text || "").trim();
    if (text.split(/\s+/).length < 3) return fallback || CARD_NOT_TAKEN;
    return /[.!?]$/.test(text) ? text : text + ".";
  }

  function labelInputs(container) {
    container.querySelectorAll("input").forEach(function (input) {
      var label = LABELS[input.getAttribute("placeholder")];
      if (label && !input.hasAttribute("aria-label")) {
        input.setAttribute("aria-label", label[0]);
        input.setAttribute("placeholder", label[1]);
        input.setAttribute("inputmode", "numeric");
        input.setAttribute("autocomplete", "off");
      }
    });
  }

  async function paymentMethodId(stripe, card) {
    var made = await stripe.createPaymentMethod({ type: "card", card: card });
    if (made && made.paymentMethod) return { id: made.paymentMethod.id };
    if (made && made.error) return { error: asSentence(made.error.message) };
    // localstripe's stand-in has no createPaymentMethod; the card of a token it makes
    // serves as the PaymentMethod (Stripe accepts card ids there too).
    var token = await stripe.createToken(card);
    if (token && token.token && token.token.card) return { id: token.token.card.id };
    return { error: asSentence(token && token.error && token.error.message) };
  }

  // localstripe's stand-in declares a global `class Element`, which as a page script
  // would shadow the DOM's Element for every script (htmx among them). So in development
  // its source is run inside a function instead, told where it came from.
  var standIn = null;
  function loadStripe(form) {
    if (typeof window.Stripe === "function") return Promise.resolve();
    var url = form.getAttribute("data-stripe-standin");
    if (!url) return Promise.reject(new Error("Stripe.js is missing"));
    standIn = standIn || fetch(url).then(function (response) {
      if (!response.ok) throw new Error("Stripe.js stand-in: " + response.status);
      return response.text();
    }).then(function (source) {
      var code = source.split("document.currentScript.src").join(JSON.stringify(url));
      (0, eval)("(function () {\n" + code + "\n})();");
    });
    return standIn;
  }

  function mountCardForm(root) {
    var form = root.querySelector ? root.querySelector("#pay-form") : null;
    if (!form && root.id === "pay-form") form = root;
    if (!form || form.hasAttribute("data-mounted")) return;
    form.setAttribute("data-mounted", "");
    form.hidden = false;
    loadStripe(form).then(function () { mountCard(form); }, function () {
      say("The card form could not be loaded. Reload the page to try again.", false);
    });
  }

  // The page's Stripe.js, once the card form has made it: it also confirms a payment
  // that the card's bank wants confirmed (3-D Secure).
  var pageStripe = null;

  async function confirmWithBank(el) {
    if (el.hasAttribute("data-started") || !pageStripe) return;
    el.setAttribute("data-started", "");
    var secret = el.getAttribute("data-client-secret");
    var button = document.querySelector("#pay-form [data-pay-button]");
    if (button) button.disabled = true;
    var result;
    try {
      // Stripe.js: handleNextAction; localstripe's stand-in knows confirmCardPayment.
      result = typeof pageStripe.handleNextAction === "function"
        ? await pageStripe.handleNextAction({ clientSecret: secret })
        : await pageStripe.confirmCardPayment(secret);
    } catch (error) {
      result = { error: { message: "The confirmation could not be completed." } };
    }
    el.setAttribute("data-settled", "");
    var intent = result && result.paymentIntent;
    var failed = result && result.error ? result.error : null;
    if (!failed && intent && ["succeeded", "processing"].indexOf(intent.status) < 0) {
      // Stripe.js reports a failed confirmation as an error; the stand-in as the intent.
      failed = intent.last_payment_error || {};
    }
    if (!result || failed) {
      say(asSentence(failed && failed.message, "Your bank did not confirm the payment.") +
          " Try again, or use another card.", false);
      if (button) button.disabled = false;
      return;
    }
    say("Confirmed with your bank. Completing the payment…", true);
  }

  function mountCard(form) {
    var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
    pageStripe = stripe;
    var card = stripe.elements().create("card");
    var holder = form.querySelector("#card-element");
    card.mount(holder);
    labelInputs(holder);
    digitsOnly(holder);
    var button = form.querySelector("[data-pay-button]");

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (button.disabled) return;
      button.disabled = true;
      say("Checking your card…", true);
      var result;
      try {
        result = await paymentMethodId(stripe, card);
      } catch (error) {
        result = { error: "Enter your card number, expiry and CVC." };
      }
      if (!result.id) {
        say(result.error, false);
        button.disabled = false;
        return;
      }
      form.querySelector("input[name=token]").value = result.id;
      say("Paying…", true);
      window.htmx.trigger(form, "tokenized");
    });
    form.addEventListener("htmx:afterRequest", function () {
      // Not while the bank's confirmation is under way: that payment is still open.
      if (!document.querySelector("[data-client-secret]:not([data-settled])")) {
        button.disabled = false;
      }
    });
  }

  function enhance(root) {
    // What is said only to visitors without scripts.
    root.querySelectorAll("[data-no-js]").forEach(function (el) { el.remove(); });
    localTimes(root);
    mountCardForm(root);
    var scope = root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("[data-client-secret]")) confirmWithBank(scope);
    scope.querySelectorAll("[data-client-secret]").forEach(confirmWithBank);
  }

  // The phone header's menu button: the links fold behind it (CSS, on narrow screens).
  function menu() {
    var button = document.querySelector(".menu-button");
    if (!button) return;
    document.documentElement.classList.add("has-menu");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // A form that asks first (Cancel order): its dialog, instead of the page that asks.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var id = form.getAttribute && form.getAttribute("data-opens-dialog");
    var dialog = id && document.getElementById(id);
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.showModal();
  });
  // The dialog's own form is sent by htmx; it closes as the request leaves.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog[open]");
    if (dialog) dialog.close();
  });

  menu();
  enhance(document);
  tick();
  setInterval(tick, 1000);
  document.body.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
