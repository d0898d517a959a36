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

  function esc(s) { return $("<div>").text(s == null ? "" : String(s)).html(); }

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
    badge.html('<i class="fa ' + spec[1] + '" aria-hidden="true"></i> ' + spec[2] +
      (data.alert_reason && data.status === "PASS" ? ' <i class="fa fa-bell" aria-hidden="true"></i>' : "") +
      (data.needs_verdict ? ' <i class="fa fa-question-circle" aria-hidden="true"></i>' : ""));
    if (tip) {
      badge.attr({ title: tip, tabindex: 0, "data-toggle": "tooltip", "aria-label": spec[2] + ": " + tip }).tooltip({ container: "body" });
    } else {
      badge.removeAttr("title tabindex aria-label");
    }
    var cell = badge.closest("td");
    cell.find(".rp-qc-fail-reason, .rp-qc-alert-reason").remove();
    if (data.status === "FAIL" && data.fail_reason) {
      badge.after('<div class="rp-qc-fail-reason small">' + esc(data.fail_reason) + "</div>");
    } else if (data.status === "PASS" && data.alert_reason) {
      badge.after('<div class="rp-qc-alert-reason small">' + esc(data.alert_reason) + "</div>");
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
    var html = list.length ? "" : '<li class="text-muted">No files yet.</li>';
    list.forEach(function (a) {
      var url = window.location.pathname.replace(/\/qc\/?$/, "/qc/attachments/" + a.id);
      html += '<li><i class="fa fa-file-o" aria-hidden="true"></i> <a href="' + esc(url) + '">' + esc(a.file_name) + "</a> " +
        '<span class="text-muted small">' + (a.file_size_bytes / 1024).toFixed(0) + " KB · " + esc(a.uploaded_by) +
        ' · <span title="SHA-256">' + esc(a.sha256.slice(0, 12)) + "…</span></span></li>";
    });
    var modal = $("#attach-modal");
    modal.find(".js-attach-name").text(names[id] || "");
    modal.find(".js-attach-list").html(html);
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
    var html = "";
    rows.forEach(function (h) {
      html += "<tr><td>v" + h.version + (h.kind !== "ENTRY" ? ' <span class="label label-default">' + esc(h.kind.toLowerCase()) + "</span>" : "") +
        "</td><td><bdi dir=\"ltr\">" + esc(h.value) + "</bdi></td><td>" + esc(h.status_label) +
        (h.fail_reason ? '<div class="small text-danger">' + esc(h.fail_reason) + "</div>" : "") +
        "</td><td>" + esc(h.entered_by) + (h.entered_by_role ? ' <span class="text-muted small">(' + esc(h.entered_by_role) + ")</span>" : "") +
        "</td><td class=\"rp-nowrap\">" + esc(h.when) + "</td><td>" + esc(h.reason || "—") + "</td></tr>";
    });
    $("#history-modal .js-history-name").text(names[String(id)] || "");
    $("#history-modal .js-history-body").html(html);
    $("#history-modal").modal("show");
  });

  // --- review ------------------------------------------------------------------------------------
  var IMPACT = {
    APPROVE: "Approving confirms the results as entered. If every required before-release test passed, QC passes and the batch moves on to QP review; if a required test failed, QC fails and an OOS case is opened.",
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
