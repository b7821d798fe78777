// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  function selectAll(input) {
    input.focus();
    input.select();
    input.setSelectionRange(0, input.value.length);
  }

  // Older browsers, or pages not served over a secure context, have no clipboard API.
  function fallbackCopy(input) {
    selectAll(input);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function setUpCopyButtons(root) {
    root.querySelectorAll("[data-copy-target]").forEach(function (button) {
      if (button.dataset.copyReady) return;
      button.dataset.copyReady = "1";
      var input = document.getElementById(button.dataset.copyTarget);
      var status = root.querySelector("[data-copy-status]");
      button.hidden = false;
      if (status) status.textContent = "Use the Copy button, or select the field and copy it.";

      function report(copied) {
        button.textContent = copied ? "Copied" : "Copy";
        if (status) {
          // A page may word the success itself (data-copied-message), as the admin's does.
          status.textContent = copied
            ? status.dataset.copiedMessage || "Copied to the clipboard."
            : "Could not copy automatically: it is selected, press Ctrl+C (⌘C on a Mac).";
        }
        if (!copied) selectAll(input);
      }

      button.addEventListener("click", function () {
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(
            function () { report(true); },
            function () { report(fallbackCopy(input)); }
          );
        } else {
          report(fallbackCopy(input));
        }
      });
    });
    root.querySelectorAll("[data-copy-source]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  }

  // A double click on "Generate token" must not send the form twice (the server refuses a
  // second use of the form anyway, but the person would then see a warning, not their token).
  function setUpSubmitOnce(root) {
    root.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.submitted) {
          event.preventDefault();
          return;
        }
        form.dataset.submitted = "1";
      });
    });
  }

  // Revoke: the list page's <dialog> asks first (without JavaScript the Revoke button leads to
  // the confirmation page). Once confirmed, htmx posts and swaps the row and the count line;
  // focus then goes to the next row's Revoke button, or to this row's status, and the change is
  // said to screen readers.
  function setUpRevokeDialog() {
    var dialog = document.getElementById("revoke-dialog");
    if (!dialog || typeof dialog.showModal !== "function" || !window.htmx) return;
    var pending = null;

    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches || !form.matches("form[data-revoke]")) return;
      event.preventDefault();
      pending = form.querySelector("button");
      dialog.querySelector("[data-dialog-name]").textContent = form.dataset.revoke;
      dialog.returnValue = "";
      dialog.showModal();
    });

    dialog.addEventListener("close", function () {
      var button = pending;
      pending = null;
      if (!button) return;
      if (dialog.returnValue !== "revoke") {
        button.focus();
        return;
      }
      var row = button.closest("tr");
      var next = row && row.nextElementSibling;
      var name = row.querySelector(".token-row__name strong");
      document.body.addEventListener("htmx:afterSettle", function settled() {
        document.body.removeEventListener("htmx:afterSettle", settled);
        var swapped = document.getElementById(row.id);
        var target = next && next.querySelector("form[data-revoke] button");
        if (!target && swapped) target = swapped.querySelector("[id$='-status']");
        if (target) target.focus();
        var count = document.getElementById("token-count");
        announce(
          "Token " + (name ? name.textContent : "") + " revoked." +
          (count ? " " + count.textContent : "")
        );
      });
      htmx.trigger(button, "confirmed");
    });
  }

  // Issue 20: focus goes into what opened and back to where it came from. Rotate in a row:
  // htmx swaps the confirmation panel into the row; focus moves into the panel, and Esc or
  // Cancel puts the row back as it was, with focus on its Rotate button (without JavaScript,
  // Rotate leads to a page and Cancel is a link back). "Show revoked and expired" and the page
  // links replace the table: focus stays on the control of the same name in the new one.
  function setUpFocusAfterSwaps() {
    if (!window.htmx) return;
    var rows = {};
    var opened = null;
    var origin = null;

    // The row is kept as it was before htmx marks it busy, so Esc can put it back as it was.
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      var target = event.detail.target;
      origin = elt ? { text: elt.textContent.trim(), rel: elt.getAttribute("rel") } : null;
      if (event.detail.requestConfig && event.detail.requestConfig.verb === "get" &&
          target && target.matches && target.matches("tr.token-row:not(.token-row--confirm)")) {
        rows[target.id] = target.outerHTML;
        opened = target.id;
      }
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      var target = event.detail.target;
      if (target && target.id === "token-table") {
        var links = target.querySelectorAll(".table-toolbar a, .pagination a");
        var same = Array.prototype.filter.call(links, function (link) {
          if (!origin) return false;
          if (origin.rel && link.getAttribute("rel") === origin.rel) return true;
          return /revoked and expired/.test(origin.text) && /revoked and expired/.test(link.textContent);
        })[0];
        if (same) same.focus();
        return;
      }
      var row = opened && document.getElementById(opened);
      opened = null;
      var panel = row && row.querySelector(".rotate-panel");
      if (panel) panel.focus();
    });

    function restore(row) {
      var html = rows[row.id];
      if (!html) return false;
      delete rows[row.id];
      row.insertAdjacentHTML("afterend", html);
      var back = row.nextElementSibling;
      row.remove();
      back.removeAttribute("aria-busy");
      back.classList.remove("htmx-request");
      back.querySelectorAll("[data-disabled-by-htmx]").forEach(function (el) {
        el.disabled = false;
        el.removeAttribute("data-disabled-by-htmx");
      });
      htmx.process(back);
      var rotate = back.querySelector("form[action$='/rotate/'] button");
      if (rotate) rotate.focus();
      return true;
    }
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      var row = event.target.closest && event.target.closest("tr.token-row--confirm");
      if (row && restore(row)) event.preventDefault();
    });
    document.addEventListener("click", function (event) {
      var cancel = event.target.closest && event.target.closest(".rotate-panel [data-cancel]");
      if (!cancel) return;
      if (restore(cancel.closest("tr"))) event.preventDefault();
    });
  }

  // Issue 20: every action shows that it is working. A row whose revoke or rotate is on its way
  // says so (htmx marks it .htmx-request; the label names the action), is aria-busy, and screen
  // readers hear it; a confirming form's button says what it does while the next page loads.
  function setUpBusyStates() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (event.defaultPrevented || !form.matches || !form.matches("form[data-submit-once]")) return;
      var button = form.querySelector("button[data-busy-label]");
      if (button) button.textContent = button.dataset.busyLabel;
      form.setAttribute("aria-busy", "true");
    });
    if (!window.htmx) return;
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var elt = event.detail.elt;
      var label = elt && elt.dataset && elt.dataset.busyLabel;
      if (!label) return;
      var row = elt.closest("tr");
      if (row) {
        row.setAttribute("aria-busy", "true");
        var busy = row.querySelector(".token-row__busy");
        if (busy) busy.textContent = label;
      }
      announce(label);
    });
    document.body.addEventListener("htmx:afterRequest", function (event) {
      var row = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("tr");
      if (row) row.removeAttribute("aria-busy");
    });
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // After a failed submit: focus the error summary, so the person hears what went wrong first.
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  }

  // The create form: "Select all" ticks the scopes in place (without JavaScript it is a submit
  // button and the server ticks them); a preset clears the custom date, a date picks "Custom".
  function setUpCreateForm() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest && event.target.closest("[data-select-all]");
      if (!button) return;
      event.preventDefault();
      var boxes = button.form.querySelectorAll("input[name='" + button.dataset.selectAll + "']");
      boxes.forEach(function (box) { box.checked = true; });
      announce("All " + boxes.length + " scopes selected.");
    });
    document.addEventListener("change", function (event) {
      var input = event.target;
      if (input.name === "expires_in" && input.value !== "custom") {
        var day = input.form && input.form.querySelector("input[name='expires_at']");
        if (day) day.value = "";
      }
    });
    document.addEventListener("input", function (event) {
      var input = event.target;
      if (input.name !== "expires_at" || !input.form) return;
      var custom = input.form.querySelector("input[name='expires_in'][value='custom']");
      if (custom && input.value) custom.checked = true;
    });
  }

  // Coming back through the history cache: the form may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUpCopyButtons(document);
    setUpSubmitOnce(document);
    setUpRevokeDialog();
    setUpFocusAfterSwaps();
    setUpBusyStates();
    setUpCreateForm();
    focusErrorSummary();
  });
})();
