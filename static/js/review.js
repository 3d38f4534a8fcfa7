/* The review page's keyboard shortcuts, listed on the page (#shortcuts).
 *
 * j / k: next / previous document (focused and scrolled into view; past the
 * last one, the next page of documents); x: exclude the current document;
 * s: select it for a bulk exclusion; a: approve, c: request changes (the
 * choice is made and the focus put where the decision goes on: Enter
 * records it, nothing is sent by a single key); n: the next corpus of the
 * queue; ?: the list of shortcuts. Keys typed into a field are the
 * field's, and the shortcuts can be turned off on the page. Without
 * JavaScript the page works by its links and buttons.
 */
(function () {
  "use strict";

  function documents() {
    return Array.prototype.slice.call(document.querySelectorAll("article.document"));
  }

  function current() {
    var active = document.activeElement;
    return active && active.closest ? active.closest("article.document") : null;
  }

  function focusDocument(article) {
    article.focus();
    article.scrollIntoView({block: "start"});
  }

  function move(step) {
    var list = documents();
    if (!list.length) {
      return;
    }
    var index = list.indexOf(current());
    var target = index === -1 ? (step > 0 ? 0 : list.length - 1) : index + step;
    if (target >= list.length) {
      var next = document.querySelector(".pagination a[rel=next]");
      if (next) {
        window.location.assign(next.href + "#documents-title");
      }
      return;
    }
    if (target < 0) {
      var previous = document.querySelector(".pagination a[rel=prev]");
      if (previous) {
        window.location.assign(previous.href);
      }
      return;
    }
    focusDocument(list[target]);
  }

  function decide(value, focusSelector) {
    var choice = document.querySelector(".decision-form input[name=decision][value=" + value + "]");
    if (!choice) {
      return;
    }
    choice.checked = true;
    choice.dispatchEvent(new Event("change", {bubbles: true}));
    var target = document.querySelector(focusSelector) || choice;
    target.focus();
  }

  var actions = {
    j: function () { move(1); },
    k: function () { move(-1); },
    x: function () {
      var article = current();
      var button = article && article.querySelector("button[data-exclude]");
      if (button) {
        button.click();
      }
    },
    s: function () {
      var article = current();
      var box = article && article.querySelector("input[type=checkbox][name=document]");
      if (box) {
        box.checked = !box.checked;
      }
    },
    a: function () { decide("approve", "#record-decision"); },
    c: function () { decide("request_changes", ".decision-form textarea"); },
    n: function () {
      var link = document.querySelector("a[data-shortcut=n]");
      if (link) {
        window.location.assign(link.href);
      }
    },
    "?": function () {
      var list = document.getElementById("shortcuts");
      if (list) {
        list.open = true;
        list.querySelector("summary").focus();
      }
    },
  };

  // Single-key shortcuts can be turned off (WCAG 2.1.4), remembered in this browser.
  var STORED = "openllm-review-shortcuts";

  function enabled() {
    try {
      return window.localStorage.getItem(STORED) !== "off";
    } catch (error) {
      return true;
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || !enabled()) {
      return;
    }
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) {
      return;
    }
    var action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.getElementById("shortcuts-on");
    if (toggle) {
      toggle.checked = enabled();
      toggle.closest(".shortcuts-switch").hidden = false;
      toggle.addEventListener("change", function () {
        try {
          window.localStorage.setItem(STORED, toggle.checked ? "on" : "off");
        } catch (error) {
          toggle.checked = true;  // nowhere to keep the choice
        }
      });
    }
    // Back from excluding a document: the keyboard goes on from it.
    var back = /^#document-\d+$/.test(window.location.hash) && document.querySelector(window.location.hash);
    if (back) {
      back.focus();
    }
    // "Select the documents of this page": only with a script, so shown here.
    var all = document.getElementById("select-all");
    if (!all) {
      return;
    }
    all.closest(".select-all").hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll("input[type=checkbox][name=document]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
})();
