/* Half-life calculator on the QC page: two timed readings -> T½ = Δt·ln2 / ln(A1/A2) in the test's unit.
   The preview fills the result field at the test's decimals (the figure the verdict compares); the
   server recomputes from the readings and keeps both. */
(function () {
  "use strict";
  var PER = { s: 1, min: 60, h: 3600, d: 86400 };
  function num(el) { var v = (el.value || "").replace(",", "."); return v === "" ? NaN : Number(v); }
  function update(box) {
    var id = box.getAttribute("data-id"), unit = box.getAttribute("data-unit");
    var places = Number(box.getAttribute("data-places"));
    var t1 = document.getElementById("hl_t1_" + id).value, t2 = document.getElementById("hl_t2_" + id).value;
    var a1 = num(document.getElementById("hl_a1_" + id)), a2 = num(document.getElementById("hl_a2_" + id));
    var out = document.getElementById("hl_out_" + id);
    if (!t1 || !t2 || isNaN(a1) || isNaN(a2)) { out.textContent = "Enter both times and both activities."; return; }
    // Both times are site-local wall-clock times; the server converts them on the UTC timeline.
    var dt = (Date.parse(t2 + "Z") - Date.parse(t1 + "Z")) / 1000;
    if (!(dt > 0)) { out.textContent = "The second reading must be after the first."; return; }
    if (!(a1 > a2 && a2 > 0)) { out.textContent = "The second activity must be lower than the first, and above zero."; return; }
    var t = dt * Math.LN2 / Math.log(a1 / a2) / PER[unit];
    out.textContent = "T½ = " + t.toFixed(places) + " " + unit + " (Δt " + Math.round(dt) + " s; the server recomputes on UTC instants)";
    var field = document.getElementById("numeric_" + id);
    if (field) { field.value = t.toFixed(places); field.dispatchEvent(new Event("input", { bubbles: true })); }
  }
  document.querySelectorAll(".rp-qc-halflife").forEach(function (box) {
    box.addEventListener("input", function (e) { if (e.target.classList.contains("js-hl")) { update(box); } });
    box.addEventListener("change", function (e) { if (e.target.classList.contains("js-hl")) { update(box); } });
  });
})();
