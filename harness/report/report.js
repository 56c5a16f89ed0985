// chaos-harness report: a virtualised table of every operation (from the embedded JSON), and clicking an
// operation in a chart scrolls the table to it. Values are inserted with textContent only (never as HTML).
(function () {
  "use strict";
  var dataEl = document.getElementById("op-data");
  var scroller = document.getElementById("optable-scroll");
  if (!dataEl || !scroller) { return; }
  var data = JSON.parse(dataEl.textContent);
  var rows = data.rows, view = rows, ROW = 20, hl = -1;
  var spacer = document.getElementById("optable-spacer");
  var body = document.getElementById("optable-body");
  var count = document.getElementById("optable-count");
  function str(v) { return v === null || v === undefined ? "" : (typeof v === "string" ? v : JSON.stringify(v)); }
  function ms(v) { return v === null || v === undefined ? "never" : (v / 1000).toFixed(3) + " s"; }
  function cells(r) {
    return [String(r[0]), (typeof r[1] === "number" ? "p" : "") + str(r[1]) + (r[9] ? " @" + r[9] : ""), r[2], r[3], ms(r[4]), ms(r[5]), str(r[6]), str(r[7]) + (r[8] ? " ! " + r[8] : "")];
  }
  function draw() {
    spacer.style.height = (view.length * ROW) + "px";
    var first = Math.max(0, Math.floor(scroller.scrollTop / ROW) - 5);
    var last = Math.min(view.length, first + Math.ceil(scroller.clientHeight / ROW) + 12);
    var frag = document.createDocumentFragment();
    for (var i = first; i < last; i++) {
      var r = view[i], div = document.createElement("div");
      div.className = "optable-row t-" + r[3] + (r[0] === hl ? " hl" : "");
      var cs = cells(r);
      for (var c = 0; c < cs.length; c++) {
        var s = document.createElement("span"); s.textContent = cs[c]; s.title = cs[c]; div.appendChild(s);
      }
      frag.appendChild(div);
    }
    body.style.transform = "translateY(" + (first * ROW) + "px)";
    body.replaceChildren(frag);
    if (count) { count.textContent = view.length + " of " + rows.length + " operations"; }
  }
  var pending = false;
  scroller.addEventListener("scroll", function () {
    if (pending) { return; }
    pending = true;
    window.requestAnimationFrame(function () { pending = false; draw(); });
  });
  var filter = document.getElementById("optable-filter");
  var timer = null;
  if (filter) {
    filter.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = filter.value.trim().toLowerCase();
        view = q ? rows.filter(function (r) { return cells(r).join(" ").toLowerCase().indexOf(q) >= 0; }) : rows;
        scroller.scrollTop = 0; draw();
      }, 150);
    });
  }
  document.addEventListener("click", function (ev) {
    var t = ev.target && ev.target.closest ? ev.target.closest("[data-index]") : null;
    if (!t || t.closest("#optable-scroll")) { return; }
    var idx = parseInt(t.getAttribute("data-index"), 10);
    if (isNaN(idx)) { return; }
    if (filter && filter.value) { filter.value = ""; view = rows; }
    for (var i = 0; i < view.length; i++) {
      if (view[i][0] === idx) { hl = idx; scroller.scrollTop = Math.max(0, i * ROW - 100); draw(); break; }
    }
    scroller.scrollIntoView({block: "nearest"});
  });
  draw();
})();
