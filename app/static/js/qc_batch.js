/* Batch QC table: live status preview, filters, attachments and history dialogs, review dialog.
 * The status shown while typing comes from the server's own rule (/qc/evaluate); nothing is stored
 * until Save Draft / Submit. */
(function ($) {
  "use strict";
  var form = document.getElementById("qc-form");
  if (!form) { return; }
  var evaluateUrl = form.getAttribute("data-evaluate");
  var attachments = JSON.parse(($("#qc-attachments-data").text() || "{}"));
  var history = JSON.parse(($("#qc-history-data").text() || "[]"));
  var names = JSON.parse(($("#qc-names-data").text() || "{}"));
  var maxBytes = +($("#qc-max-bytes").data("bytes") || 0);
  var csrf = $(form).find("input[name=csrf_token]").val();
  var dirty = false;
  var timers = {};
  var BADGE = {
    PENDING: ["rp-qc-pending", "fa-clock-o", "Pending"],
    PASS: ["rp-qc-pass", "fa-check", "Pass"],
    FAIL: ["rp-qc-fail", "fa-times", "Fail"],
    NOT_APPLICABLE: ["rp-qc-na", "fa-minus", "N/A"]
  };

  // Elements are built with textContent / setAttribute, never from HTML strings (values such as
  // reasons and file names are user text and must stay text in every context).
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === false || v === null || v === undefined) { return; }
      if (k === "text") { node.textContent = String(v); } else { node.setAttribute(k, String(v)); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false || c === "") { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function icon(name) { return el("i", {"class": "fa " + name, "aria-hidden": "true"}); }

  $('[data-toggle="tooltip"]').tooltip({ container: "body" });

  // --- filters -----------------------------------------------------------------------------------
  var filter = "all";
  function applyFilter() {
    var q = ($("#qc-search").val() || "").trim().toLowerCase();
    var shown = 0;
    $("#qc-table tbody tr.rp-qc-row").each(function () {
      var st = this.getAttribute("data-status");
      var ok = (filter === "all" || st === filter) && (!q || this.getAttribute("data-name").indexOf(q) >= 0);
      $(this).toggleClass("hidden", !ok);
      if (ok) { shown++; }
    });
    $("#qc-no-match").toggleClass("hidden", shown > 0 || !$("#qc-table tbody tr.rp-qc-row").length);
  }
  $(".rp-qc-filters [data-filter]").on("click", function () {
    filter = this.getAttribute("data-filter");
    $(".rp-qc-filters [data-filter]").removeClass("active").attr("aria-pressed", "false");
    $(this).addClass("active").attr("aria-pressed", "true");
    applyFilter();
  });
  $("#qc-search").on("input", applyFilter);

  // --- live status -------------------------------------------------------------------------------
  function rowValues(tr) {
    var id = tr.getAttribute("data-id");
    var num = $(tr).find("#numeric_" + id);
    var text = $(tr).find("#text_" + id);
    var pfRadio = $(tr).find("input[name=pf_" + id + "]:checked");
    var pfSelect = $(tr).find("select[name=pf_" + id + "]");
    return {
      result_id: +id,
      numeric_value: num.length ? num.val() : null,
      text_value: text.length ? text.val() : null,
      pass_fail_value: pfRadio.length ? pfRadio.val() : (pfSelect.length ? pfSelect.val() : null)
    };
  }
  function changed(tr) {
    var diff = false;
    $(tr).find(".js-value").each(function () {
      var orig = this.getAttribute("data-original") || "";
      if (this.type === "radio") {
        if (this.checked && this.value !== orig) { diff = true; }
      } else if ((this.value || "") !== orig) { diff = true; }
    });
    return diff;
  }
  function setBadge(tr, data) {
    var id = tr.getAttribute("data-id");
    var badge = $("#status_" + id);
    var spec = BADGE[data.status] || BADGE.PENDING;
    var tip = data.status === "FAIL" ? data.fail_reason : (data.alert_reason || (data.needs_verdict ? "Entered — needs a Pass/Fail decision" : ""));
    badge.tooltip("destroy");
    badge.attr("class", "rp-qc-badge " + spec[0] + (data.alert_reason && data.status === "PASS" ? " rp-qc-flagged" : ""));
    var node = badge[0];
    node.textContent = "";
    node.appendChild(icon(spec[1]));
    node.appendChild(document.createTextNode(" " + spec[2]));
    if (data.alert_reason && data.status === "PASS") { node.appendChild(document.createTextNode(" ")); node.appendChild(icon("fa-bell")); }
    if (data.needs_verdict) { node.appendChild(document.createTextNode(" ")); node.appendChild(icon("fa-question-circle")); }
    if (tip) {
      badge.attr({ title: tip, tabindex: 0, "data-toggle": "tooltip", "aria-label": spec[2] + ": " + tip }).tooltip({ container: "body" });
    } else {
      badge.removeAttr("title tabindex aria-label");
    }
    var cell = badge.closest("td");
    cell.find(".rp-qc-fail-reason, .rp-qc-alert-reason").remove();
    if (data.status === "FAIL" && data.fail_reason) {
      badge.after(el("div", {"class": "rp-qc-fail-reason small", text: data.fail_reason}));
    } else if (data.status === "PASS" && data.alert_reason) {
      badge.after(el("div", {"class": "rp-qc-alert-reason small", text: data.alert_reason}));
    }
    tr.setAttribute("data-status", data.status);
    tr.className = tr.className.replace(/rp-qc-row-\w+/, "rp-qc-row-" + data.status.toLowerCase());
  }
  function evaluateRow(tr) {
    var id = tr.getAttribute("data-id");
    var err = $("#error_" + id);
    fetch(evaluateUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(rowValues(tr))
    }).then(function (r) { return r.json(); }).then(function (data) {
      if (data.ok === false || data.code) {
        err.text(data.userMessage || "Check this value.");
        $(tr).find(".js-value").attr("aria-invalid", "true");
        return;
      }
      err.text("");
      $(tr).find(".js-value").removeAttr("aria-invalid");
      setBadge(tr, data);
      applyFilter();
    }).catch(function () { err.text("Could not check the value (connection). It will be checked on save."); });
  }
  $(form).on("input change", ".js-value", function () {
    var tr = $(this).closest("tr")[0];
    var id = tr.getAttribute("data-id");
    var isChanged = changed(tr);
    dirty = dirty || isChanged;
    if (tr.getAttribute("data-entered") === "1") {
      var box = $('[data-reason-for="' + id + '"]');
      box.toggleClass("rp-qc-reason-needed", isChanged).toggleClass("hidden", !isChanged);
      box.find("input").prop("required", isChanged);
    }
    clearTimeout(timers[id]);
    timers[id] = setTimeout(function () { evaluateRow(tr); }, this.type === "text" ? 350 : 0);
  });
  $(form).on("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (e) {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });

  // --- attachments -------------------------------------------------------------------------------
  $(form).on("click", ".js-attach", function () {
    var id = this.getAttribute("data-id");
    var tr = $(this).closest("tr");
    var list = attachments[id] || [];
    var items = list.length ? [] : [el("li", {"class": "text-muted", text: "No files yet."})];
    list.forEach(function (a) {
      var url = window.location.pathname.replace(/\/qc\/?$/, "/qc/attachments/" + a.id);
      items.push(el("li", {}, [icon("fa-file-o"), " ", el("a", {href: url, text: a.file_name}), " ",
        el("span", {"class": "text-muted small"}, [
          (a.file_size_bytes / 1024).toFixed(0) + " KB · " + (a.uploaded_by || "") + " · ",
          el("span", {title: "SHA-256", text: String(a.sha256 || "").slice(0, 12) + "…"})
        ])]));
    });
    var modal = $("#attach-modal");
    modal.find(".js-attach-name").text(names[id] || "");
    modal.find(".js-attach-list").empty().append(items);
    var f = modal.find(".js-attach-form");
    f.attr("action", f.data("action").replace(/\/rows\/0\//, "/rows/" + id + "/"));
    f.toggleClass("hidden", tr.attr("data-editable") !== "1");
    modal.modal("show");
  });
  $("#attach-modal .js-attach-form").on("submit", function (e) {
    var file = $("#attach-file")[0].files[0];
    var tooBig = !!(file && maxBytes && file.size > maxBytes);
    $(this).find(".js-attach-too-big").toggleClass("hidden", !tooBig);
    if (tooBig) { e.preventDefault(); }
  });

  // --- history -----------------------------------------------------------------------------------
  $(form).on("click", ".js-history", function () {
    var id = +this.getAttribute("data-id");
    var rows = history.filter(function (h) { return h.result_id === id; });
    var trs = rows.map(function (h) {
      return el("tr", {}, [
        el("td", {}, ["v" + h.version, h.kind !== "ENTRY" ? " " : null,
          h.kind !== "ENTRY" ? el("span", {"class": "label label-default", text: String(h.kind).toLowerCase()}) : null]),
        el("td", {}, [el("bdi", {dir: "ltr", text: h.value == null ? "" : h.value})]),
        el("td", {}, [h.status_label == null ? "" : String(h.status_label),
          h.fail_reason ? el("div", {"class": "small text-danger", text: h.fail_reason}) : null]),
        el("td", {}, [h.entered_by == null ? "" : String(h.entered_by),
          h.entered_by_role ? " " : null,
          h.entered_by_role ? el("span", {"class": "text-muted small", text: "(" + h.entered_by_role + ")"}) : null]),
        el("td", {"class": "rp-nowrap", text: h.when == null ? "" : h.when}),
        el("td", {text: h.reason || "—"})
      ]);
    });
    $("#history-modal .js-history-name").text(names[String(id)] || "");
    $("#history-modal .js-history-body").empty().append(trs);
    $("#history-modal").modal("show");
  });

  // --- review ------------------------------------------------------------------------------------
  var IMPACT = {
    APPROVE: "Approving confirms the results as entered. If every required before-release test passed, QC passes and the batch moves to QC Passed, where it waits for the QP to start the release review; if a required test failed, QC fails and an OOS case is opened.",
    REJECT: "Rejecting fails QC for this batch: it is blocked, an OOS investigation is opened and the QC Manager and QP are notified.",
    RETURN: "Returning sends the results back to the analyst for correction; nothing is decided yet."
  };
  $("#review-modal").on("show.bs.modal", function (e) {
    var decision = $(e.relatedTarget).data("decision") || "APPROVE";
    var modal = $(this);
    modal.find("input[name=decision]").val(decision);
    modal.find(".js-review-impact").text(IMPACT[decision]);
    var needsNote = decision !== "APPROVE";
    modal.find(".js-note-required").toggleClass("hidden", !needsNote);
    modal.find("#review-note").prop("required", needsNote);
    modal.find(".js-approve-block").toggleClass("hidden", decision !== "APPROVE");
    var blocked = decision === "APPROVE" && modal.find(".js-approve-block").length > 0;
    modal.find(".js-review-submit")
      .prop("disabled", blocked)
      .toggleClass("btn-danger", decision === "REJECT").toggleClass("btn-primary", decision !== "REJECT")
      .text({ APPROVE: "Approve results", REJECT: "Reject — fail QC", RETURN: "Return for correction" }[decision]);
    modal.find("#review-title").text({ APPROVE: "Approve QC results", REJECT: "Reject QC results", RETURN: "Return for correction" }[decision]);
  });
  applyFilter();
}(window.jQuery));
