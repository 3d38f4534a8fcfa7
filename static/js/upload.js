/* Files sent in chunks from the corpus page, through the site's tus API
 * (contributions/api/tus.py) with tus-js-client (static/vendor/tus-js-client).
 *
 * Progressive enhancement: without JavaScript (or in a browser tus-js-client
 * does not support) the form marked data-tus-endpoint posts its files at
 * once. With it, each chosen file goes in chunks of data-chunk-size bytes,
 * one file after the other, each with its progress bar, speed, time left and
 * a Pause/Resume button. A dropped connection is tried again (the upload
 * goes on from the server's offset, never from 0); a file chosen again after
 * a reload resumes the upload started before (its URL stays in localStorage
 * until it succeeds). The answer to the last chunk says whether the server
 * accepted the file, or why not.
 *
 * When every file has ended, the parts of the page that data-refresh names
 * (CSS selectors) are swapped in place for those of the page asked again:
 * the new files show without a reload.
 *
 * Every text comes from the template, translated there (the data-t-*
 * attributes of <template data-upload-row>, where {name} is filled in here).
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-tus-endpoint]");
  var tus = window.tus;
  if (!form || !tus || !tus.isSupported || !window.fetch || !window.DOMParser || !window.Promise) {
    return; // the form posts the files itself
  }
  var template = form.querySelector("template[data-upload-row]");
  var rowsBox = form.querySelector("[data-upload-rows]");
  var summary = form.querySelector("[data-upload-summary]");
  var input = form.querySelector("input[type=file]");
  var submit = form.querySelector("button[type=submit]");
  if (!template || !rowsBox || !input) {
    return;
  }

  var DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
  // Milliseconds before each new try after a failed request; the count
  // starts again whenever a try got bytes through.
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 10000, 15000, 30000, 30000, 60000, 60000, 60000];
  // Seconds of progress over which the speed is measured.
  var SPEED_WINDOW = 5000;
  var ACTIVE = { starting: true, running: true, paused: true, offline: true };
  var ENDED = { done: true, rejected: true, failed: true };

  var endpoint = form.getAttribute("data-tus-endpoint");
  var corpus = form.getAttribute("data-corpus");
  var items = [];
  var serial = 0;
  var batchOpen = false;
  var addedSinceRefresh = 0;
  var numbers;
  try {
    numbers = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 1 });
  } catch (error) {
    numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  }

  // ------------------------------------------------------------ texts

  function t(key, values) {
    var text = template.getAttribute("data-t-" + key) || "";
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function size(bytes) {
    var units = ["bytes", "kb", "mb", "gb"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return numbers.format(value) + "\u00a0" + t(units[unit]);
  }

  function duration(seconds) {
    var whole = Math.max(1, Math.round(seconds));
    if (whole < 90) {
      return t("seconds", { s: whole });
    }
    if (whole < 90 * 60) {
      return t("minutes", { m: Math.floor(whole / 60), s: whole % 60 });
    }
    return t("hours", { h: Math.floor(whole / 3600), m: Math.floor((whole % 3600) / 60) });
  }

  // The server's words for a refused request: its JSON error (every
  // message, when there are several), or its status.
  function serverMessage(response) {
    var body = null;
    try {
      body = JSON.parse(response.getBody());
    } catch (error) {
      body = null;
    }
    if (body && Array.isArray(body.errors) && body.errors.length) {
      var messages = [];
      body.errors.forEach(function (error) {
        if (error && error.message && messages.indexOf(error.message) === -1) {
          messages.push(error.message);
        }
      });
      if (messages.length) {
        return messages.join(" ");
      }
    }
    if (body && typeof body.message === "string" && body.message) {
      return body.message;
    }
    return t("server-error", { status: response.getStatus() });
  }

  function field(name, fallback) {
    var element = form.elements.namedItem(name);
    return element && typeof element.value === "string" ? element.value : fallback;
  }

  function retryDelays() {
    try {
      var delays = JSON.parse(form.getAttribute("data-retry-delays") || "null");
      if (Array.isArray(delays) && delays.length) {
        return delays;
      }
    } catch (error) {
      // the default below
    }
    return RETRY_DELAYS;
  }

  // A dropped connection, a server away for a moment, an upload at another
  // offset (409) or busy (423), too many requests (429): worth trying again.
  function retryable(response) {
    var status = response ? response.getStatus() : 0;
    return !status || status >= 500 || status === 409 || status === 423 || status === 429;
  }

  // ------------------------------------------------------------ one file

  function Item(file, options) {
    var item = this;
    var id = "upload-progress-" + (serial += 1);
    this.file = file;
    this.options = options;
    this.state = "waiting";
    this.samples = [];
    this.shownAt = 0;
    this.upload = null;
    this.row = template.content.firstElementChild.cloneNode(true);
    this.progress = this.row.querySelector("progress");
    this.progress.id = id;
    this.numbers = this.row.querySelector("[data-numbers]");
    this.numbers.id = id + "-numbers";
    this.progress.setAttribute("aria-describedby", this.numbers.id);
    this.statusLine = this.row.querySelector("[data-status]");
    this.action = this.row.querySelector("[data-action]");
    var label = this.row.querySelector("[data-name]");
    label.htmlFor = id;
    label.textContent = file.name;
    this.row.querySelector("[data-action-name]").textContent = file.name;
    this.action.addEventListener("click", function () {
      item.toggle();
    });
    this.status(t("waiting"));
    this.show(0, file.size, true);
  }

  Item.prototype.status = function (text) {
    if (this.statusLine.textContent !== text) {
      this.statusLine.textContent = text;
    }
  };

  Item.prototype.button = function (key) {
    this.action.hidden = !key;
    if (key) {
      this.action.querySelector("[data-action-label]").textContent = t(key);
    }
  };

  Item.prototype.mark = function (state) {
    this.state = state;
    this.row.classList.toggle("is-done", state === "done");
    this.row.classList.toggle("is-error", state === "rejected" || state === "failed");
    this.row.classList.toggle("is-paused", state === "paused" || state === "offline");
  };

  Item.prototype.sample = function (sent) {
    var now = Date.now();
    var last = this.samples[this.samples.length - 1];
    if (last && sent < last.bytes) {
      this.samples = []; // sent again from the server's offset
    }
    this.samples.push({ time: now, bytes: sent });
    while (this.samples.length > 2 && now - this.samples[1].time > SPEED_WINDOW) {
      this.samples.shift();
    }
  };

  Item.prototype.speed = function () {
    if (this.samples.length < 2) {
      return 0;
    }
    var first = this.samples[0];
    var last = this.samples[this.samples.length - 1];
    var seconds = (last.time - first.time) / 1000;
    return seconds >= 0.5 ? (last.bytes - first.bytes) / seconds : 0;
  };

  // "x MB of y MB · z MB/s · n s left", at most four times a second.
  Item.prototype.show = function (sent, total, force) {
    this.sent = sent;
    this.progress.value = total ? Math.min(100, (sent / total) * 100) : 100;
    var now = Date.now();
    if (!force && now - this.shownAt < 250 && sent < total) {
      return;
    }
    this.shownAt = now;
    var speed = this.speed();
    this.numbers.textContent = speed > 0 && sent < total
      ? t("progress", {
        done: size(sent), total: size(total), speed: t("speed", { size: size(speed) }),
        left: duration((total - sent) / speed),
      })
      : t("progress-short", { done: size(sent), total: size(total) });
  };

  // Nothing moves (a retry ahead, offline, paused): no speed, no time left.
  Item.prototype.still = function () {
    this.samples = [];
    this.show(this.sent, this.file.size, true);
  };

  Item.prototype.begin = function () {
    var item = this;
    var options = this.options;
    var file = this.file;
    this.mark("starting");
    this.status(t("starting"));
    this.button(null);
    this.upload = new tus.Upload(file, {
      endpoint: endpoint,
      chunkSize: parseInt(form.getAttribute("data-chunk-size"), 10) || DEFAULT_CHUNK_SIZE,
      retryDelays: retryDelays(),
      metadata: {
        filename: file.name, corpus: corpus, split: options.split, separator: options.separator,
        text_column: options.textColumn,
      },
      headers: { "X-CSRFToken": options.csrf },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      // The same file into the same corpus with the same options: another
      // corpus, or other options, make another upload.
      fingerprint: function (chosen) {
        return Promise.resolve([
          "openllm-upload", endpoint, corpus, options.split, options.separator, options.textColumn,
          chosen.name, chosen.type, chosen.size, chosen.lastModified,
        ].join("|"));
      },
      onProgress: function (sent, total) {
        item.sample(sent);
        item.show(sent, total, false);
        if (total > 0 && sent === total && item.state === "running") {
          item.status(t("checking"));
        }
      },
      onAfterResponse: function (request, response) {
        var method = request.getMethod();
        var status = response.getStatus();
        if (method === "HEAD" && status === 200) {
          var offset = parseInt(response.getHeader("Upload-Offset"), 10);
          if (!isNaN(offset)) {
            item.samples = [];
            item.show(offset, file.size, true);
            item.status(t("resumed", { done: size(offset), total: size(file.size) }));
          }
        } else if (method === "POST" && status === 201) {
          item.status(t("sending"));
        }
      },
      onShouldRetry: function (error, attempt, settings) {
        if (!retryable(error.originalResponse) || navigator.onLine === false) {
          return false; // refused, or offline: onError says it
        }
        var delay = settings.retryDelays[attempt] || 0;
        item.still();
        item.status(delay >= 1000 ? t("retrying", { seconds: Math.round(delay / 1000) }) : t("retrying-now"));
        return true;
      },
      onSuccess: function () {
        item.mark("done");
        item.show(file.size, file.size, true);
        item.status(t("done"));
        item.button(null);
        addedSinceRefresh += 1;
        pump();
      },
      onError: function (error) {
        var response = error.originalResponse || null;
        if (retryable(response) && navigator.onLine === false) {
          item.offline();
          return;
        }
        item.still();
        if (retryable(response)) {
          item.mark("failed");
          item.status(t("failed-network"));
          item.button("retry");
        } else {
          item.mark("rejected");
          item.status(t("rejected", { message: serverMessage(response) }));
          item.button(null);
        }
        pump();
      },
    });
    this.upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        // The newest first (tus-js-client stores the time as Date's text).
        previous.sort(function (a, b) {
          return (Date.parse(b.creationTime) || 0) - (Date.parse(a.creationTime) || 0);
        });
        item.upload.resumeFromPreviousUpload(previous[0]);
        item.status(t("resuming"));
      }
    }, function () {
      return null; // nothing to resume from: a new upload
    }).then(function () {
      item.go();
    });
  };

  Item.prototype.go = function () {
    this.mark("running");
    this.button("pause");
    this.upload.start();
  };

  // The browser says the network is gone: go on when it is back.
  Item.prototype.offline = function () {
    var item = this;
    this.mark("offline");
    this.status(t("offline"));
    this.button("pause");
    this.still();
    function back() {
      window.removeEventListener("online", back);
      if (item.state === "offline") {
        item.status(t("resuming"));
        item.go();
      }
    }
    window.addEventListener("online", back);
  };

  Item.prototype.toggle = function () {
    if (this.state === "running" || this.state === "offline") {
      this.upload.abort();
      this.mark("paused");
      this.status(t("paused"));
      this.button("resume");
      this.still();
    } else if (this.state === "paused") {
      this.status(t("resuming"));
      this.go();
    } else if (this.state === "failed") {
      // Its turn again, from where the server's offset says.
      this.mark("waiting");
      this.status(t("waiting"));
      this.button(null);
      batchOpen = true;
      submit.disabled = true;
      pump();
    }
  };

  // ------------------------------------------------------------ the queue

  // One file at a time: the next starts when the one under way has ended
  // (a paused or offline one keeps its turn).
  function pump() {
    var waiting = null;
    for (var index = 0; index < items.length; index += 1) {
      if (ACTIVE[items[index].state]) {
        return;
      }
      if (!waiting && items[index].state === "waiting") {
        waiting = items[index];
      }
    }
    if (waiting) {
      if (waiting.upload) {
        waiting.status(t("resuming"));
        waiting.go();
      } else {
        waiting.begin();
      }
      return;
    }
    if (batchOpen) {
      batchOpen = false;
      finish();
    }
  }

  function finish() {
    var done = items.filter(function (item) {
      return item.state === "done";
    }).length;
    submit.disabled = false;
    if (summary) {
      summary.textContent = done === items.length ? t("all-done") : t("some-done", { done: done, total: items.length });
    }
    if (done === items.length) {
      input.value = "";
    }
    if (addedSinceRefresh) {
      addedSinceRefresh = 0;
      refresh();
    }
  }

  // The page asked again; the parts data-refresh names put in place of the
  // old ones (the form and its rows stay as they are).
  function refresh() {
    var selectors = (form.getAttribute("data-refresh") || "").split(",").map(function (selector) {
      return selector.trim();
    }).filter(Boolean);
    if (!selectors.length) {
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        selectors.forEach(function (selector) {
          var old = document.querySelector(selector);
          var now = fresh.querySelector(selector);
          if (old && now && !form.contains(old)) {
            old.replaceWith(document.importNode(now, true));
          }
        });
      })
      .catch(function () {
        // The rows already say each file is in; the page's own live parts
        // catch up. Never a reload: it would lose what the member typed.
      });
  }

  form.addEventListener("submit", function (event) {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) {
      return; // the server says what is missing
    }
    event.preventDefault();
    // What ended before leaves the list; what is under way stays.
    items = items.filter(function (item) {
      if (ENDED[item.state]) {
        item.row.remove();
        return false;
      }
      return true;
    });
    var options = {
      split: field("split", "file"),
      separator: field("separator", ""),
      textColumn: field("text_column", "text"),
      csrf: field("csrfmiddlewaretoken", ""),
    };
    files.forEach(function (file) {
      var item = new Item(file, options);
      items.push(item);
      rowsBox.appendChild(item.row);
    });
    if (summary) {
      summary.textContent = "";
    }
    batchOpen = true;
    submit.disabled = true;
    pump();
  });
})();
