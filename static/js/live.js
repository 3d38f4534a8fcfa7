/* Live parts of a page, updated in place (never by reloading the page).
 *
 * An element with data-live="URL" asks URL every few seconds for JSON
 * {"parts": {"element-id": "html", ...}, "active": true|false} and puts each
 * part into the element of that id when it changed. It stops once "active"
 * is false. Without JavaScript the page shows what the server rendered.
 */
(function () {
  "use strict";

  function follow(root) {
    var url = root.getAttribute("data-live");
    var every = parseInt(root.getAttribute("data-live-every") || "2000", 10);
    var shown = {};

    function apply(parts) {
      Object.keys(parts).forEach(function (id) {
        var element = document.getElementById(id);
        if (!element || shown[id] === parts[id]) {
          return;
        }
        // Someone about to press a button in it: try again at the next tick.
        if (element.contains(document.activeElement) && document.activeElement !== document.body) {
          return;
        }
        element.innerHTML = parts[id];
        shown[id] = parts[id];
      });
    }

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (data) {
          apply(data.parts || {});
          if (data.active) {
            window.setTimeout(tick, every);
          }
        })
        .catch(function () {
          // The server or the network is away for a moment: slower, not never.
          window.setTimeout(tick, every * 3);
        });
    }

    window.setTimeout(tick, every);
  }

  document.querySelectorAll("[data-live]").forEach(follow);
})();
