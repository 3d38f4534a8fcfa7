/* Live parts of a page, updated in place (never by reloading the page).
 *
 * An element with data-live="URL" asks URL every few seconds (data-live-every,
 * in milliseconds, 2000 by default) for JSON
 * {"parts": {"element-id": "html", ...}, "active": true|false} and puts each
 * part into the element of that id when it changed. It stops once "active"
 * is false, and waits while the tab is hidden. Without JavaScript the page
 * shows what the server rendered.
 *
 * Only what changed is touched: the new HTML is laid over the old node by
 * node, so an unchanged row, link or text stays the same node (a screen
 * reader's place and a selection stay where they are, and aria-live reads
 * out only the change). A part that holds the focus waits for the next
 * tick: typed text and the caret are never disturbed.
 */
(function () {
  "use strict";

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // Whitespace between tags is layout of the template, not content.
  function significant(parent) {
    return Array.prototype.filter.call(parent.childNodes, function (node) {
      return !(node.nodeType === Node.TEXT_NODE && !node.nodeValue.trim());
    });
  }

  function syncAttributes(target, source) {
    Array.prototype.slice.call(target.attributes).forEach(function (attribute) {
      if (!source.hasAttribute(attribute.name)) {
        target.removeAttribute(attribute.name);
      }
    });
    Array.prototype.forEach.call(source.attributes, function (attribute) {
      if (target.getAttribute(attribute.name) !== attribute.value) {
        target.setAttribute(attribute.name, attribute.value);
      }
    });
  }

  // Make target's children look like source's, changing as few nodes as can be.
  function morphChildren(target, source) {
    var before = significant(target);
    var after = significant(source);
    if (before.length !== after.length) {
      target.replaceChildren.apply(target, Array.prototype.slice.call(source.childNodes));
      return;
    }
    before.forEach(function (old, index) {
      var fresh = after[index];
      if (old.nodeType !== fresh.nodeType || old.nodeName !== fresh.nodeName) {
        target.replaceChild(fresh.cloneNode(true), old);
      } else if (old.nodeType === Node.ELEMENT_NODE) {
        if (!old.isEqualNode(fresh)) {
          syncAttributes(old, fresh);
          morphChildren(old, fresh);
        }
      } else if (old.nodeValue !== fresh.nodeValue) {
        old.nodeValue = fresh.nodeValue;
      }
    });
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
        morphChildren(element, parse(parts[id]));
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
