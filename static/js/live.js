/* Live parts of a page, updated in place (never by reloading the page).
 *
 * An element with data-live="URL" asks URL every few seconds (data-live-every,
 * in milliseconds, 2000 by default) for JSON
 * {"parts": {"element-id": "html", ...}, "active": true|false} and puts each
 * part into the element of that id when it changed. It stops once "active"
 * is false, and waits while the tab is hidden. Without JavaScript the page
 * shows what the server rendered.
 *
 * Only a part whose content changed is touched, and never one that holds
 * the focus: typed text, the caret and a screen reader's place stay where
 * they are.
 */
(function () {
  "use strict";

  // The HTML as the browser would serialise it, to compare like with like
  // (the page may indent a part that the server sends without).
  function normalised(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.innerHTML.trim();
  }

  function follow(root) {
    var url = root.getAttribute("data-live");
    var every = parseInt(root.getAttribute("data-live-every") || "2000", 10);
    var timer = null;
    var paused = false;

    function apply(parts) {
      Object.keys(parts).forEach(function (id) {
        var element = document.getElementById(id);
        if (!element) {
          return;
        }
        // Someone about to press a button or typing in it: try again at the next tick.
        if (element.contains(document.activeElement) && document.activeElement !== document.body) {
          return;
        }
        var html = normalised(parts[id]);
        if (element.innerHTML.trim() !== html) {
          element.innerHTML = html;
        }
      });
    }

    function later(delay) {
      timer = window.setTimeout(tick, delay);
    }

    function tick() {
      timer = null;
      if (document.hidden) {
        // Nobody is looking: ask again when the tab comes back.
        paused = true;
        return;
      }
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
            later(every);
          }
        })
        .catch(function () {
          // The server or the network is away for a moment: slower, not never.
          later(every * 3);
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && paused && timer === null) {
        paused = false;
        tick();
      }
    });
    later(every);
  }

  document.querySelectorAll("[data-live]").forEach(follow);
})();
