// drivetrain console: small conveniences on top of pages that work without script.
// No inline script anywhere (the Content-Security-Policy forbids it): this file only.
"use strict";

(function () {
  /** The session's CSRF token, which the layout puts in <meta name="csrf-token">. */
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  /**
   * POST JSON to the API as the signed-in user. The API refuses a cookie session's
   * state-changing request without its CSRF token, so it goes in X-CSRF-Token.
   */
  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body === undefined ? {} : body),
    });
  }

  /** A form marked data-busy disables its button and says so while the server works. */
  function markBusyForms() {
    document.querySelectorAll("form[data-busy]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var button = form.querySelector("button[type=submit]");
        if (button) {
          button.disabled = true;
          button.textContent = form.getAttribute("data-busy");
          button.setAttribute("aria-busy", "true");
        }
      });
    });
  }

  window.drivetrain = { csrfToken: csrfToken, postJSON: postJSON };
  document.addEventListener("DOMContentLoaded", markBusyForms);
})();
