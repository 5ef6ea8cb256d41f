// Live counts on a campaign's page: the /events stream (Server-Sent Events) sends the status
// object at every change; the page updates its numbers in place and reloads when the state
// changes (so the buttons match it). Everything else in the console works without script.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var stateEl = document.getElementById("state");
  var shown = stateEl ? stateEl.getAttribute("data-state") : null;
  function set(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }
  var source = new EventSource(live.getAttribute("data-events"));
  source.addEventListener("status", function (event) {
    var s = JSON.parse(event.data);
    if (shown !== null && s.state !== shown) { source.close(); window.location.reload(); return; }
    set("final", s.final);
    set("contacts", s.contacts);
    set("rate", s.rate_per_min);
    set("eta", s.eta && s.final < s.contacts ? s.eta : "—");
    var bar = document.getElementById("progress");
    if (bar) { bar.max = Math.max(s.contacts, 1); bar.value = s.final; }
    Object.keys(s.counts).forEach(function (key) {
      var cell = document.querySelector('[data-count="' + key + '"]');
      if (cell) { cell.textContent = s.counts[key]; }
    });
    var list = document.getElementById("waiting");
    if (list) {
      list.textContent = "";
      (s.waiting.length ? s.waiting : [null]).forEach(function (line) {
        var item = document.createElement("li");
        item.textContent = line ? line.count + " · " + line.reason : "—";
        list.appendChild(item);
      });
    }
    live.setAttribute("data-updated", s.generated_at);
  });
})();
