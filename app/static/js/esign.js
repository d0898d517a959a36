/* The signature dialog (app/templates/security/esign_macros.html): posts in the background and shows the
   server's userMessage inside the dialog. Loaded once per dialog; runs once per page. */
(function () {
  "use strict";
  if (window.rpSignatureDialog) { return; }
  window.rpSignatureDialog = true;

  var FALLBACK = "The signature could not be applied. Reload the page and try again.";

  function showError(form, body) {
    var box = form.querySelector(".rp-sign-error");
    box.textContent = (body && body.userMessage) || FALLBACK;
    if (body && body.traceId) {
      var ref = document.createElement("small");
      ref.className = "rp-sign-ref";
      ref.textContent = "Reference " + body.traceId;
      box.appendChild(ref);
    }
    box.classList.remove("hidden");
    var password = form.querySelector("input[type=password]");
    if (password) { password.value = ""; password.focus(); }
  }

  function busy(form, on) {
    var button = form.querySelector(".rp-sign-submit");
    if (!button) { return; }
    button.disabled = on;
    if (on) { button.setAttribute("aria-busy", "true"); } else { button.removeAttribute("aria-busy"); }
  }

  function done(form, target) {
    window.location.assign(target || form.getAttribute("data-next") || window.location.href);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("rp-sign-form") || !window.fetch) { return; }
    event.preventDefault();
    if (!form.checkValidity()) { form.reportValidity(); return; }
    form.querySelector(".rp-sign-error").classList.add("hidden");
    busy(form, true);
    var data = new FormData(form);
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      redirect: "manual",  // a redirect keeps its flash message for the page we go to next
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") || "" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (response.type === "opaqueredirect") { return done(form); }
      if (type.indexOf("application/json") !== -1) {
        return response.json().then(function (body) {
          if (response.ok) { return done(form, body && body.redirect); }
          busy(form, false);
          showError(form, body);
        });
      }
      if (response.ok) { return done(form); }
      busy(form, false);
      showError(form, null);
    }).catch(function () {
      busy(form, false);
      showError(form, { userMessage: "The server could not be reached. Check the connection and try again." });
    });
  });

  if (window.jQuery) {
    window.jQuery(document)
      .on("shown.bs.modal", ".rp-sign-modal", function () {
        var password = this.querySelector("input[type=password]");
        if (password) { password.focus(); }
      })
      .on("hidden.bs.modal", ".rp-sign-modal", function () {
        var password = this.querySelector("input[type=password]");
        if (password) { password.value = ""; }
        this.querySelector(".rp-sign-error").classList.add("hidden");
      });
  }
}());
