/* Book capacity: choose a window (and slot), see "4 doses × 6 min = 24 min", and the hold countdown. */
(function () {
  "use strict";
  var form = document.getElementById("rp-book-form");
  if (form) {
    var chosen = null;
    var doses = document.getElementById("rp-doses");
    var calc = document.getElementById("rp-calc");
    var book = document.getElementById("rp-book");
    var slotGroup = document.getElementById("rp-slot-group");
    var slotSel = document.getElementById("rp-slot");
    var product = document.getElementById("rp-product");
    var refresh = function () {
      if (!chosen) { calc.textContent = "Choose a window below"; book.disabled = true; return; }
      var n = parseInt(doses.value, 10);
      var per = parseInt(chosen.dataset.perDose, 10);
      if (!per) { calc.textContent = "No time standard for this product on that date"; book.disabled = true; return; }
      if (!(n >= 1 && n <= 500)) { calc.textContent = "Doses: 1 to 500"; book.disabled = true; return; }
      var need = n * per, left = parseInt(chosen.dataset.remaining, 10);
      calc.textContent = chosen.dataset.label + ": " + n + " doses × " + per + " min = " + need + " min (" + left + " min left)";
      book.disabled = false;
    };
    var choose = function (btn) {
      document.querySelectorAll(".rp-cap-win.rp-selected").forEach(function (b) { b.classList.remove("rp-selected"); });
      chosen = btn; btn.classList.add("rp-selected");
      document.getElementById("rp-window-id").value = btn.dataset.window;
      var slots = JSON.parse(btn.dataset.slots || "[]");
      slotSel.innerHTML = "";
      slots.forEach(function (s) {
        var o = document.createElement("option");
        o.value = s.id; o.textContent = s.start + "–" + s.end + " (" + s.remaining_minutes + " min left)";
        slotSel.appendChild(o);
      });
      slotGroup.style.display = slots.length ? "" : "none";
      document.getElementById("rp-slot-id").value = slots.length ? slotSel.value : "";
      refresh();
    };
    document.querySelectorAll(".rp-cap-win").forEach(function (b) {
      b.addEventListener("click", function () { choose(b); });
    });
    slotSel.addEventListener("change", function () { document.getElementById("rp-slot-id").value = slotSel.value; });
    doses.addEventListener("input", refresh);
    product.addEventListener("change", function () {
      var url = new URL(window.location.href);
      url.searchParams.set("product", product.value);
      url.searchParams.set("doses", doses.value);
      window.location.href = url.toString();
    });
    document.querySelectorAll(".rp-alt").forEach(function (a) {
      a.addEventListener("click", function () {
        var target = document.querySelector('.rp-cap-win[data-window="' + a.dataset.window + '"]');
        if (target) { choose(target); target.scrollIntoView({block: "center"}); }
      });
    });
  }
  var cd = document.getElementById("rp-countdown");
  if (cd) {
    // Counted from the server's seconds-left (not the browser clock, which may be wrong).
    var end = Date.now() + parseInt(cd.dataset.secondsLeft, 10) * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      if (left <= 0) {
        cd.textContent = "The hold has expired: the minutes are released.";
        cd.className = "rp-countdown text-danger";
        var actions = document.getElementById("rp-actions");
        if (actions) { actions.style.display = "none"; }
        return;
      }
      var m = Math.floor(left / 60), s = left % 60;
      cd.textContent = left >= 60
        ? "Held for you for " + Math.ceil(left / 60) + " more minutes (" + m + ":" + (s < 10 ? "0" : "") + s + ")"
        : "Held for you for " + left + " more seconds";
      setTimeout(tick, 1000);
    };
    tick();
  }
})();
