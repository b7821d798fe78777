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

  // Coming back through the history cache: the form may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUpCopyButtons(document);
    setUpSubmitOnce(document);
  });
})();
