/* QC template builder: lines grid with drag-and-drop order, criteria builder with live preview.
 * The criteria text here mirrors app/qc/domain/rules.criteria_text (the server regenerates and
 * validates everything on save; this is only the preview). */
(function ($) {
  "use strict";
  var linesEl = document.getElementById("qc-lines-data");
  if (!linesEl) { return; }
  var lines = JSON.parse(linesEl.textContent || "[]");
  var tests = JSON.parse(document.getElementById("qc-tests-data").textContent || "[]");
  var body = document.getElementById("qc-lines-body");
  var dirty = false;
  var editing = null;
  var NUMERIC_RULES = ["MIN", "MAX", "GT", "LT", "RANGE", "EQUAL"];
  var PER_VOLUME_RULES = ["MAX", "LT"];  // a per-mL limit from a per-dose amount is an upper limit
  var LOWER_RULES = ["MIN", "GT", "RANGE"], UPPER_RULES = ["MAX", "LT", "RANGE"];
  var dialog = document.getElementById("criteria-dialog");
  var maxVolume = dialog ? Number(dialog.getAttribute("data-max-volume") || "NaN") : NaN;
  var TIGHT_UNITS = ["%", "°C", "°"];
  var RULE_HELP = {
    "": "Analysts record a result and choose Pass or Fail themselves.",
    MIN: "Pass when the reported value is at least the minimum (e.g. RCP ≥95%).",
    MAX: "Pass when the reported value is at most the maximum (e.g. Kryptofix ≤ 2.2 mg/V per volume).",
    GT: "Pass when the reported value is strictly above the minimum (e.g. > 90%).",
    LT: "Pass when the reported value is strictly below the maximum (e.g. endotoxins < 175/V EU/mL per volume).",
    RANGE: "Pass when the reported value lies between the limits, inclusive (e.g. pH 4.5–8.5).",
    EQUAL: "Pass when the reported value is within the tolerance of the target (e.g. 511 ± 10 keV).",
    PASS_FAIL_ONLY: "Analysts choose Pass or Fail against the text you write.",
    CUSTOM_TEXT: "A written criterion; analysts record the result and choose Pass or Fail."
  };

  // Elements are built with textContent / setAttribute, never from HTML strings: a test name such
  // as `Q" onmouseover="..."` stays text in every context (attribute, element, option).
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === false || v === null || v === undefined) { return; }
      if (k === "text") { node.textContent = String(v); } else { node.setAttribute(k, v === true ? "" : String(v)); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false || c === "") { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function icon(name) { return el("i", {"class": "fa " + name, "aria-hidden": "true"}); }
  function fmtNumber(v) {
    if (v === null || v === undefined || v === "") { return ""; }
    var s = String(v).trim().replace(",", ".");
    if (s.indexOf(".") >= 0) { s = s.replace(/0+$/, "").replace(/\.$/, ""); }
    if (s === "-0" || s === "") { s = "0"; }
    return s;
  }
  function withUnit(n, unit) {
    if (!unit) { return n; }
    return TIGHT_UNITS.indexOf(unit) >= 0 ? n + unit : n + " " + unit;
  }
  // Mirrors rules.per_volume_limit / _per_volume_text: "< 175/15 mL = 11.7 EU/mL".
  function perVolumeText(rule, unit, places) {
    var sign = rule.rule_type === "LT" ? "<" : "≤";
    var perMl = (unit || "").replace("/V", "/mL") || "per mL";
    var number = fmtNumber(rule.max_value);
    var max = Number(rule.max_value);
    if (!(maxVolume > 0) || rule.max_value === null || rule.max_value === "" || isNaN(max)) {
      return sign + " " + number + "/V " + perMl + " (V = maximum dose volume, mL)";
    }
    var p = (places === null || places === undefined) ? 6 : places;
    var limit = max / maxVolume;
    var shown = (Math.sign(limit) * Math.round(Math.abs(limit) * Math.pow(10, p) + 1e-9) / Math.pow(10, p)).toFixed(p);
    if (places === null || places === undefined) { shown = fmtNumber(shown); }
    return sign + " " + number + "/" + fmtNumber(String(maxVolume)) + " mL = " + withUnit(shown, perMl);
  }
  function roundingNote(places) {
    if (places === null || places === undefined || places === "") { return ""; }
    if (+places === 0) { return " (result rounded to a whole number)"; }
    return " (result rounded to " + places + " decimal" + (+places === 1 ? "" : "s") + ")";
  }
  function criteriaText(rule, unit, places) {
    if (!rule || !rule.rule_type) { return "Record result"; }
    var t = rule.rule_type;
    if (rule.per_volume && PER_VOLUME_RULES.indexOf(t) >= 0) { return perVolumeText(rule, unit, places); }
    if (t === "RANGE") { return withUnit(fmtNumber(rule.min_value) + "–" + fmtNumber(rule.max_value), unit); }
    if (t === "MIN") { return "≥" + withUnit(fmtNumber(rule.min_value), unit); }
    if (t === "MAX") { return "≤" + withUnit(fmtNumber(rule.max_value), unit); }
    if (t === "GT") { return "> " + withUnit(fmtNumber(rule.min_value), unit); }
    if (t === "LT") { return "< " + withUnit(fmtNumber(rule.max_value), unit); }
    if (t === "EQUAL") {
      var tol = fmtNumber(rule.tolerance);
      if (tol && tol !== "0") { return withUnit(fmtNumber(rule.target_value) + " ± " + tol, unit); }
      return "= " + withUnit(fmtNumber(rule.target_value), unit);
    }
    if (t === "PASS_FAIL_ONLY") { return (rule.text_criteria_en || "").trim() || "Pass / Fail"; }
    return (rule.text_criteria_en || "").trim() || "See specification";
  }
  function display(line) {
    var numeric = !!(line.rule && NUMERIC_RULES.indexOf(line.rule.rule_type) >= 0);
    var generated = criteriaText(line.rule, line.unit, line.decimal_places);
    var note = numeric ? roundingNote(line.decimal_places) : "";
    var shown = line.criteria_text_override_en || (generated + note);
    var range = (line.criteria_text_override_en && numeric) ? "Range: " + generated : "";
    return { text: shown, range: range };
  }
  function alertText(line) {
    var r = line.rule, parts = [];
    if (!r) { return ""; }
    if (r.alert_min) { parts.push("below " + withUnit(fmtNumber(r.alert_min), line.unit)); }
    if (r.alert_max) { parts.push("above " + withUnit(fmtNumber(r.alert_max), line.unit)); }
    return parts.length ? "Alert " + parts.join(" or ") : "";
  }
  function markDirty() {
    dirty = true;
    $("#qc-dirty").removeClass("hidden");
  }

  function lineRow(line, i) {
    var d = display(line), a = alertText(line), name = line.test_name_en || "";
    var timing = el("select", {id: "timing-" + i, "class": "form-control input-sm js-timing"}, [
      el("option", {value: "BEFORE_RELEASE", selected: line.timing === "BEFORE_RELEASE", text: "Before release"}),
      el("option", {value: "AFTER_RELEASE", selected: line.timing === "AFTER_RELEASE", text: "After release"})
    ]);
    var required = el("input", {type: "checkbox", "class": "js-required", "aria-label": name + " required"});
    required.checked = !!line.is_required;
    var attach = el("input", {type: "checkbox", "class": "js-attach", "aria-label": name + " needs an attachment"});
    attach.checked = !!line.attachment_required;
    return el("tr", {draggable: "true", "data-index": i, "class": "rp-qc-line"}, [
      el("td", {"class": "rp-qc-col-order"}, [
        el("span", {"class": "rp-qc-handle", title: "Drag to reorder", "aria-hidden": "true"}, [icon("fa-bars")]), " ",
        el("span", {"class": "rp-qc-pos", text: i + 1}),
        el("div", {"class": "btn-group-vertical btn-group-xs rp-qc-move"}, [
          el("button", {type: "button", "class": "btn btn-link js-up", "aria-label": "Move " + name + " up",
                        disabled: i === 0}, [icon("fa-chevron-up")]),
          el("button", {type: "button", "class": "btn btn-link js-down", "aria-label": "Move " + name + " down",
                        disabled: i === lines.length - 1}, [icon("fa-chevron-down")])
        ])
      ]),
      el("td", {}, [el("div", {"class": "rp-qc-test"}, [
        el("div", {"class": "rp-qc-test-line"}, [
          el("span", {"class": "rp-qc-test-name", text: name}),
          line.test_name_ar ? el("span", {"class": "rp-qc-test-ar", dir: "rtl", lang: "ar", text: line.test_name_ar}) : null
        ]),
        el("div", {"class": "rp-qc-method", text: (line.method_en || "") + (line.unit ? " · " + line.unit : "")})
      ])]),
      el("td", {}, [
        el("bdi", {dir: "ltr", "class": "rp-qc-criteria", text: d.text}),
        d.range ? el("div", {"class": "rp-qc-range", text: d.range}) : null,
        a ? el("div", {"class": "rp-qc-range rp-qc-alert-text"}, [icon("fa-bell-o"), " " + a]) : null,
        line.allow_manual_pass_fail ? el("div", {"class": "rp-qc-range", text: "Manual Pass/Fail allowed"}) : null,
        el("button", {type: "button", "class": "btn btn-link btn-xs js-edit rp-qc-edit-criteria"},
           [icon("fa-sliders"), " Edit criteria"])
      ]),
      el("td", {}, [el("label", {"class": "sr-only", "for": "timing-" + i, text: "Timing"}), timing]),
      el("td", {"class": "text-center"}, [required]),
      el("td", {"class": "text-center"}, [attach]),
      el("td", {"class": "text-right"}, [
        el("button", {type: "button", "class": "btn btn-link text-danger js-remove", "aria-label": "Remove " + name},
           [icon("fa-trash-o")])
      ])
    ]);
  }

  function render() {
    body.textContent = "";
    lines.forEach(function (line, i) { body.appendChild(lineRow(line, i)); });
    if (!lines.length) {
      body.appendChild(el("tr", {}, [el("td", {colspan: "7"}, [
        el("div", {"class": "rp-empty", text: "No tests yet. Add the first one below."})
      ])]));
    }
    var used = lines.map(function (l) { return l.test_definition_id; });
    var select = document.getElementById("qc-add-test");
    if (!select) { return; }
    select.textContent = "";
    select.appendChild(el("option", {value: "", text: "Choose a test…"}));
    tests.forEach(function (t) {
      if (used.indexOf(t.id) < 0) {
        select.appendChild(el("option", {value: t.id, text: t.name_en + " (" + t.code + ")"}));
      }
    });
  }

  function move(from, to) {
    if (to < 0 || to >= lines.length || from === to) { return; }
    var item = lines.splice(from, 1)[0];
    lines.splice(to, 0, item);
    markDirty();
    render();
  }

  $(body).on("click", ".js-up", function () {
    var i = +$(this).closest("tr").data("index");
    move(i, i - 1);
    $(body).find("tr").eq(i - 1).find(".js-up").focus();
  });
  $(body).on("click", ".js-down", function () {
    var i = +$(this).closest("tr").data("index");
    move(i, i + 1);
    $(body).find("tr").eq(i + 1).find(".js-down").focus();
  });
  $(body).on("click", ".js-remove", function () {
    var i = +$(this).closest("tr").data("index");
    lines.splice(i, 1);
    markDirty();
    render();
  });
  $(body).on("change", ".js-timing", function () {
    lines[+$(this).closest("tr").data("index")].timing = this.value; markDirty();
  });
  $(body).on("change", ".js-required", function () {
    lines[+$(this).closest("tr").data("index")].is_required = this.checked; markDirty();
  });
  $(body).on("change", ".js-attach", function () {
    lines[+$(this).closest("tr").data("index")].attachment_required = this.checked; markDirty();
  });

  // Native drag and drop of rows.
  var dragFrom = null;
  body.addEventListener("dragstart", function (e) {
    var tr = e.target.closest("tr");
    if (!tr) { return; }
    dragFrom = +tr.getAttribute("data-index");
    tr.classList.add("rp-qc-dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", String(dragFrom));
  });
  body.addEventListener("dragover", function (e) {
    if (dragFrom === null) { return; }
    e.preventDefault();
    var tr = e.target.closest("tr");
    $(body).find("tr").removeClass("rp-qc-drop");
    if (tr) { tr.classList.add("rp-qc-drop"); }
  });
  body.addEventListener("drop", function (e) {
    e.preventDefault();
    var tr = e.target.closest("tr");
    if (tr && dragFrom !== null) { move(dragFrom, +tr.getAttribute("data-index")); }
    dragFrom = null;
  });
  body.addEventListener("dragend", function () {
    dragFrom = null;
    $(body).find("tr").removeClass("rp-qc-drop rp-qc-dragging");
  });

  $("#qc-add-button").on("click", function () {
    var id = +$("#qc-add-test").val();
    var t = tests.filter(function (x) { return x.id === id; })[0];
    if (!t) { return; }
    var rule = t.result_type === "NUMERIC" ? null : { rule_type: "PASS_FAIL_ONLY", text_criteria_en: "", fail_if_outside: true };
    lines.push({
      test_definition_id: t.id, test_code: t.code, test_name_en: t.name_en, test_name_ar: t.name_ar,
      method_en: t.method_en, result_type: t.result_type, unit: t.unit, decimal_places: t.decimal_places,
      is_required: true, attachment_required: false, timing: "BEFORE_RELEASE", rule: rule,
      criteria_text_override_en: null, criteria_text_override_ar: null, default_result_value: null,
      allow_manual_pass_fail: false
    });
    markDirty();
    render();
    openBuilder(lines.length - 1);
  });

  // --- criteria builder ----------------------------------------------------------------------
  var F = {
    type: $("#cb-rule-type"), min: $("#cb-min"), max: $("#cb-max"), target: $("#cb-target"),
    tol: $("#cb-tolerance"), amin: $("#cb-alert-min"), amax: $("#cb-alert-max"), fail: $("#cb-fail-outside"),
    perv: $("#cb-per-volume"),
    ten: $("#cb-text-en"), tar: $("#cb-text-ar"), oen: $("#cb-override-en"), oar: $("#cb-override-ar"),
    def: $("#cb-default"), manual: $("#cb-manual")
  };
  function val(el) { var v = (el.val() || "").trim(); return v === "" ? null : v.replace(",", "."); }
  function ruleFromForm() {
    var t = F.type.val();
    if (!t) { return null; }
    var numeric = NUMERIC_RULES.indexOf(t) >= 0;
    return {
      rule_type: t,
      min_value: LOWER_RULES.indexOf(t) >= 0 ? val(F.min) : null,
      max_value: UPPER_RULES.indexOf(t) >= 0 ? val(F.max) : null,
      target_value: t === "EQUAL" ? val(F.target) : null,
      tolerance: t === "EQUAL" ? val(F.tol) : null,
      alert_min: numeric && t !== "MAX" && t !== "LT" ? val(F.amin) : null,
      alert_max: numeric && t !== "MIN" && t !== "GT" ? val(F.amax) : null,
      text_criteria_en: numeric ? null : val(F.ten),
      text_criteria_ar: numeric ? null : val(F.tar),
      fail_if_outside: F.fail.prop("checked"),
      per_volume: PER_VOLUME_RULES.indexOf(t) >= 0 && F.perv.prop("checked")
    };
  }
  function showFor(type) {
    $("#criteria-dialog [data-for]").each(function () {
      var on = (" " + this.getAttribute("data-for") + " ").indexOf(" " + type + " ") >= 0;
      $(this).toggleClass("hidden", !on);
    });
    $("#cb-rule-help").text(RULE_HELP[type || ""] || "");
  }
  function preview() {
    var line = lines[editing];
    var temp = $.extend({}, line, { rule: ruleFromForm(), criteria_text_override_en: val(F.oen) });
    var d = display(temp);
    $("#cb-preview").text(d.text);
    $("#cb-preview-range").text([d.range, alertText(temp)].filter(Boolean).join(" · "));
  }
  function openBuilder(i) {
    editing = i;
    var line = lines[i], r = line.rule || {};
    $("#cb-test-name").text(line.test_name_en + (line.unit ? " (" + line.unit + ")" : ""));
    $(".cb-unit").text(line.unit || "").toggleClass("hidden", !line.unit);
    var numericTest = line.result_type === "NUMERIC";
    F.type.find("option").each(function () {
      var numericRule = NUMERIC_RULES.indexOf(this.value) >= 0;
      this.disabled = numericRule && !numericTest;
    });
    F.type.val(r.rule_type || "");
    F.min.val(fmtNumber(r.min_value)); F.max.val(fmtNumber(r.max_value));
    F.target.val(fmtNumber(r.target_value)); F.tol.val(fmtNumber(r.tolerance));
    F.amin.val(fmtNumber(r.alert_min)); F.amax.val(fmtNumber(r.alert_max));
    F.fail.prop("checked", r.fail_if_outside !== false);
    F.perv.prop("checked", !!r.per_volume);
    F.ten.val(r.text_criteria_en || ""); F.tar.val(r.text_criteria_ar || "");
    F.oen.val(line.criteria_text_override_en || ""); F.oar.val(line.criteria_text_override_ar || "");
    F.def.val(line.default_result_value || ""); F.manual.prop("checked", !!line.allow_manual_pass_fail);
    $(".rp-qc-cb-manual").toggleClass("hidden", !numericTest);
    $("#cb-error").addClass("hidden");
    showFor(F.type.val());
    preview();
    $("#criteria-dialog").modal("show");
  }
  function check(rule) {
    if (!rule) { return null; }
    var num = function (v) { return v === null || v === "" || isNaN(Number(v)) ? null : Number(v); };
    var bad = function (v) { return v !== null && v !== "" && isNaN(Number(v)); };
    var fields = ["min_value", "max_value", "target_value", "tolerance", "alert_min", "alert_max"];
    for (var k = 0; k < fields.length; k++) {
      if (bad(rule[fields[k]])) { return "Enter numbers only, for example 4.5."; }
    }
    if (rule.rule_type === "RANGE" && (num(rule.min_value) === null || num(rule.max_value) === null)) { return "A range needs a minimum and a maximum."; }
    if (rule.rule_type === "RANGE" && num(rule.min_value) > num(rule.max_value)) { return "The maximum is below the minimum."; }
    if ((rule.rule_type === "MIN" || rule.rule_type === "GT") && num(rule.min_value) === null) { return "Enter the minimum."; }
    if ((rule.rule_type === "MAX" || rule.rule_type === "LT") && num(rule.max_value) === null) { return "Enter the maximum."; }
    if (rule.per_volume && !(maxVolume > 0)) {
      return "This limit is per dose volume, but " + (dialog.getAttribute("data-product") || "the product") +
        " has no maximum volume (mL). Enter it on the product first, or untick “Per volume”.";
    }
    if (rule.per_volume && !(num(rule.max_value) > 0)) { return "A per-volume limit must be above zero."; }
    if (rule.rule_type === "EQUAL" && num(rule.target_value) === null) { return "Enter the target value."; }
    if (rule.rule_type === "CUSTOM_TEXT" && !rule.text_criteria_en) { return "Write the criterion text."; }
    return null;
  }
  $(body).on("click", ".js-edit", function () { openBuilder(+$(this).closest("tr").data("index")); });
  F.type.on("change", function () { showFor(this.value); preview(); });
  $("#criteria-dialog").on("input change", "input, select", preview);
  $("#cb-apply").on("click", function () {
    var rule = ruleFromForm();
    var problem = check(rule);
    if (problem) { $("#cb-error").text(problem).removeClass("hidden"); return; }
    var line = lines[editing];
    line.rule = rule;
    line.criteria_text_override_en = val(F.oen);
    line.criteria_text_override_ar = val(F.oar);
    line.default_result_value = val(F.def);
    line.allow_manual_pass_fail = F.manual.prop("checked") && line.result_type === "NUMERIC";
    markDirty();
    render();
    $("#criteria-dialog").modal("hide");
  });

  // --- save ------------------------------------------------------------------------------------
  function csrfToken() { return $("input[name=csrf_token]").first().val() || ""; }
  $("#qc-save-button").on("click", function () {
    var btn = $(this).prop("disabled", true);
    $("#qc-save-error").addClass("hidden");
    var payload = lines.map(function (l, i) {
      return {
        test_definition_id: l.test_definition_id, display_order: i + 1, is_required: !!l.is_required,
        attachment_required: !!l.attachment_required, timing: l.timing, rule: l.rule,
        criteria_text_override_en: l.criteria_text_override_en, criteria_text_override_ar: l.criteria_text_override_ar,
        default_result_value: l.default_result_value, allow_manual_pass_fail: !!l.allow_manual_pass_fail
      };
    });
    fetch(btn.data("url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ lines: payload })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { ok: r.ok, data: data }; });
    }).then(function (res) {
      if (res.ok) { dirty = false; window.location = res.data.redirect || window.location.href; return; }
      var msg = res.data.userMessage || "The draft could not be saved.";
      if (res.data.traceId) { msg += " (reference " + res.data.traceId + ")"; }
      $("#qc-save-error").text(msg).removeClass("hidden");
      btn.prop("disabled", false);
    }).catch(function () {
      $("#qc-save-error").text("The server could not be reached. Your changes are still here; try again.").removeClass("hidden");
      btn.prop("disabled", false);
    });
  });
  $("#activate-button").on("click", function (e) {
    if (dirty) {
      e.stopPropagation();
      $("#qc-save-error").text("Save the draft before activating: the signature covers the saved version.").removeClass("hidden");
    }
  });
  window.addEventListener("beforeunload", function (e) {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });
  render();
}(window.jQuery));
