/* Batch pages (app/templates/batches/): the guided action dialog, live filters of the list,
   and parts that load after the page. No framework: Bootstrap 3 + jQuery from FAB, select2 from FAB.
   Everything user-typed is put in the page with textContent, never as HTML. */
(function () {
  "use strict";
  if (window.rpBatches) { return; }
  window.rpBatches = true;

  var $ = window.jQuery;
  var looks = {};
  try {
    var looksNode = document.getElementById("rp-status-looks");
    looks = looksNode ? JSON.parse(looksNode.textContent) : {};
  } catch (e) { looks = {}; }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function badge(status) {
    var look = (looks.batch || {})[status] || { label: status, tone: "neutral", icon: "circle" };
    var span = el("span", "rp-badge rp-tone-" + look.tone);
    var icon = el("i", "fa fa-" + look.icon);
    icon.setAttribute("aria-hidden", "true");
    span.appendChild(icon);
    span.appendChild(document.createTextNode(" " + look.label));
    return span;
  }

  /* --- guided action dialog ------------------------------------------------------------- */
  var FALLBACK = "The action could not be completed. Reload the page and try again.";

  function dialogParts() {
    var modal = document.getElementById("rp-action-dialog");
    if (!modal) { return null; }
    return { modal: modal, form: modal.querySelector("form") };
  }

  function openDialog(button) {
    var parts = dialogParts();
    if (!parts) { return; }
    var a;
    try { a = JSON.parse(button.getAttribute("data-rp-action")); } catch (e) { return; }
    var form = parts.form;
    form.action = button.getAttribute("data-url");
    form.querySelector(".rp-action-label").textContent = a.label;
    form.querySelector(".rp-action-batch").textContent = a.batch_no;
    var move = form.querySelector(".rp-action-move");
    move.textContent = "";
    move.appendChild(badge(a.from_status));
    var arrow = el("i", "fa fa-arrow-right rp-move-arrow");
    arrow.setAttribute("aria-label", "to");
    move.appendChild(arrow);
    move.appendChild(badge(a.to_status));

    var impact = form.querySelector(".rp-action-impact");
    impact.querySelector("span").textContent = a.impact || "";
    impact.className = "alert rp-action-impact " + (a.danger ? "alert-danger" : "alert-info");
    form.querySelector(".rp-action-override").classList.toggle("hidden", !a.is_override);

    var checklist = form.querySelector(".rp-action-checklist");
    var checks = form.querySelector(".rp-action-checks");
    checks.textContent = "";
    (a.checklist || []).forEach(function (text, i) {
      var wrap = el("div", "checkbox");
      var label = el("label");
      var box = el("input");
      box.type = "checkbox";
      box.name = "checklist";
      box.value = String(i);
      box.required = true;
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + text));
      wrap.appendChild(label);
      checks.appendChild(wrap);
    });
    checklist.classList.toggle("hidden", !(a.checklist || []).length);

    var fields = form.querySelector(".rp-action-fields");
    fields.textContent = "";
    (a.fields || []).forEach(function (f) {
      var group = el("div", "form-group");
      var id = "rp-field-" + f.name;
      var label = el("label", null, f.label + (f.unit ? " (" + f.unit + ")" : ""));
      label.setAttribute("for", id);
      var input = el("input", "form-control");
      input.id = id;
      input.name = "field_" + f.name;
      input.type = f.kind === "number" ? "number" : "text";
      if (f.kind === "number") { input.min = "0"; input.step = "any"; input.inputMode = "decimal"; }
      group.appendChild(label);
      group.appendChild(input);
      if (f.help) { group.appendChild(el("p", "help-block", f.help)); }
      fields.appendChild(group);
    });

    var note = form.querySelector("textarea[name=note]");
    note.value = "";
    note.required = !!a.needs_note;
    form.querySelector(".rp-note-flag").textContent = a.needs_note ? "(required)" : "(optional)";
    form.querySelector(".rp-note-flag").className = "rp-note-flag " + (a.needs_note ? "text-danger" : "text-muted");
    form.querySelector("#rp-action-note-help").textContent = a.is_override
      ? "Give the reason for the override; it is recorded with the event."
      : (a.needs_note ? "Say why: the note is part of the batch record." : "Recorded on the batch's timeline.");

    form.querySelector("input[name=to_status]").value = a.to_status;
    form.querySelector("input[name=version]").value = a.version;
    form.querySelector("input[name=override]").value = a.is_override ? "1" : "";
    form.querySelector(".rp-action-confirm").textContent = a.confirm;
    var submit = form.querySelector(".rp-action-submit");
    submit.querySelector("span").textContent = a.label;
    submit.className = "btn rp-action-submit " + (a.danger ? "btn-danger" : "btn-primary");
    submit.disabled = false;
    hideError(form);
    if ($) { $(parts.modal).modal("show"); }
  }

  /* The inputs an answer's details.fields name ({"actual_yield_mbq": [...]} is the dialog's
     field_actual_yield_mbq; "note" the note). */
  function fieldInputs(form, fields) {
    var found = [];
    Object.keys(fields || {}).forEach(function (name) {
      var input = form.querySelector("#rp-field-" + CSS.escape(name)) ||
        form.querySelector("[name='" + CSS.escape(name) + "']");
      if (input && input.type !== "hidden") { found.push(input); }
    });
    return found;
  }

  /* An old answer never stays on screen: cleared when the dialog is submitted again and as soon as
     a field is edited (typing, a tick), with the fields it marked. */
  function hideError(form) {
    var box = form.querySelector(".rp-action-error");
    box.classList.add("hidden");
    box.textContent = "";
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid=true]"), function (input) {
      input.removeAttribute("aria-invalid");
      var group = input.closest(".form-group");
      if (group) { group.classList.remove("has-error"); }
    });
  }

  function showError(form, message, ref, fields) {
    var box = form.querySelector(".rp-action-error");
    if (!box.id) { box.id = "rp-action-error"; }
    box.textContent = message || FALLBACK;
    if (ref) { box.appendChild(el("small", "rp-action-ref", "Reference " + ref)); }
    box.classList.remove("hidden");
    fieldInputs(form, fields).forEach(function (input) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-errormessage", box.id);
      var group = input.closest(".form-group");
      if (group) { group.classList.add("has-error"); }
    });
    box.setAttribute("tabindex", "-1");
    box.focus();
  }

  function clientCheck(form) {
    var unticked = form.querySelectorAll("input[name=checklist]:not(:checked)");
    if (unticked.length) {
      return "Confirm every check before you continue: " + unticked[0].parentNode.textContent.trim();
    }
    var note = form.querySelector("textarea[name=note]");
    if (note.required && !note.value.trim()) {
      note.focus();
      return "A note is required for this step: say why.";
    }
    var bad = Array.prototype.filter.call(form.querySelectorAll(".rp-action-fields input[type=number]"), function (i) {
      return i.value !== "" && !(Number(i.value) > 0);
    });
    if (bad.length) { bad[0].focus(); return "Enter a positive number, or leave it empty."; }
    return null;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-rp-action]");
    if (button) { event.preventDefault(); openDialog(button); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("rp-action-form")) { return; }
    event.preventDefault();
    hideError(form);
    var problem = clientCheck(form);
    if (problem) { showError(form, problem); return; }
    var submit = form.querySelector(".rp-action-submit");
    submit.disabled = true;
    submit.setAttribute("aria-busy", "true");
    var data = new FormData(form);
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrf_token") || "" }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") === -1) {
        throw new Error("not json");
      }
      return response.json().then(function (body) {
        if (response.ok && body.redirect) { window.location.assign(body.redirect); return; }
        submit.disabled = false;
        submit.removeAttribute("aria-busy");
        showError(form, body && body.userMessage, body && body.traceId,
          body && body.details && body.details.fields);
      });
    }).catch(function () {
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
      showError(form, "The server could not be reached or answered unexpectedly. Check the connection and try again.");
    });
  });

  function editedInDialog(event) {
    var form = event.target.closest && event.target.closest(".rp-action-form");
    if (form && !form.querySelector(".rp-action-error").classList.contains("hidden")) { hideError(form); }
  }
  document.addEventListener("input", editedInDialog);
  document.addEventListener("change", editedInDialog);

  if ($) {
    $(document).on("shown.bs.modal", "#rp-action-dialog", function () {
      var first = this.querySelector("input[name=checklist], .rp-action-fields input, textarea[name=note]");
      if (first) { first.focus(); }
    });
  }

  /* --- live filters of the list ---------------------------------------------------------- */
  var filters = document.getElementById("rp-filters");
  var results = document.getElementById("rp-results");
  var DEFAULTS = { date_field: "planned", sort: "planned_at", order: "desc" };

  function queryFromForm() {
    var params = new URLSearchParams();
    var hasDate = false;
    new FormData(filters).forEach(function (value, key) {
      if (typeof value !== "string" || !value.trim()) { return; }
      if (key === "date_from" || key === "date_to") { hasDate = true; }
      params.append(key, value.trim());
    });
    var out = new URLSearchParams();
    params.forEach(function (value, key) {
      if (DEFAULTS[key] === value) { return; }
      if (key === "date_field" && !hasDate) { return; }
      out.append(key, value);
    });
    return out.toString();
  }

  function syncForm(query) {
    var params = new URLSearchParams(query);
    Array.prototype.forEach.call(filters.elements, function (input) {
      if (!input.name) { return; }
      var values = params.getAll(input.name);
      if (input.type === "checkbox") { input.checked = values.indexOf(input.value) !== -1; return; }
      if (input.tagName === "SELECT") {
        Array.prototype.forEach.call(input.options, function (o) {
          o.selected = values.length ? values.indexOf(o.value) !== -1 : (!input.multiple && o.value === (DEFAULTS[input.name] || ""));
        });
        if ($ && $.fn.select2 && input.classList.contains("rp-select")) { $(input).trigger("change.select2"); }
        return;
      }
      if (input.type === "hidden" && DEFAULTS[input.name]) { input.value = values[0] || DEFAULTS[input.name]; return; }
      if (input.type !== "hidden") { input.value = values[0] || ""; }
    });
  }

  var pending = null;
  function refresh(url, push) {
    if (!results) { window.location.assign(url); return; }
    if (pending) { pending.abort(); }
    var controller = window.AbortController ? new AbortController() : null;
    pending = controller;
    results.classList.add("rp-loading");
    results.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { "X-RP-Partial": "1" }, signal: controller && controller.signal })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) {
        results.innerHTML = html;
        results.classList.remove("rp-loading");
        results.removeAttribute("aria-busy");
        pending = null;
        if (push) { window.history.pushState({ rp: true }, "", url); } else { window.history.replaceState({ rp: true }, "", url); }
        var inner = results.querySelector(".rp-results");
        var saveQuery = document.getElementById("rp-view-query");
        if (inner && saveQuery) { saveQuery.value = inner.getAttribute("data-query") || ""; }
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") { return; }
        results.classList.remove("rp-loading");
        results.removeAttribute("aria-busy");
        window.location.assign(url);  // fall back to a normal page load (it shows any error in words)
      });
  }

  function listUrl(query) {
    return filters.getAttribute("action") + (query ? "?" + query : "");
  }

  if (filters && results) {
    var timer = null;
    filters.addEventListener("input", function (event) {
      if (!event.target.hasAttribute("data-rp-debounce")) { return; }
      clearTimeout(timer);
      timer = setTimeout(function () { refresh(listUrl(queryFromForm()), false); }, 350);
    });
    filters.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-rp-debounce")) { return; }
      refresh(listUrl(queryFromForm()), true);
    });
    filters.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(timer);
      refresh(listUrl(queryFromForm()), true);
    });
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-rp-nav]");
      if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
      event.preventDefault();
      var url = link.getAttribute("href");
      syncForm(url.indexOf("?") === -1 ? "" : url.split("?")[1]);
      refresh(url, true);
    });
    window.addEventListener("popstate", function () {
      syncForm(window.location.search.slice(1));
      refresh(window.location.pathname + window.location.search, false);
    });
    if ($ && $.fn.select2) {
      $(filters).find(".rp-select").each(function () {
        var select = $(this);
        select.select2({ placeholder: select.data("placeholder") || "Any", allowClear: true, width: "100%", theme: "bootstrap" });
        select.on("change", function () { refresh(listUrl(queryFromForm()), true); });
      });
    }
  }

  /* --- parts loaded after the page -------------------------------------------------------- */
  Array.prototype.forEach.call(document.querySelectorAll("[data-rp-load]"), function (box) {
    fetch(box.getAttribute("data-rp-load"), { credentials: "same-origin", headers: { "X-RP-Partial": "1" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("status " + response.status); }
        return response.text();
      })
      .then(function (html) { box.innerHTML = html; box.removeAttribute("aria-busy"); })
      .catch(function () {
        box.textContent = "";
        box.appendChild(el("p", "alert alert-warning", "This part could not be loaded. Reload the page to try again."));
        box.removeAttribute("aria-busy");
      });
  });
}());
