/* OAuth 2.0 Form Post Response Mode: submit the authorization response to the application as soon
   as the page loads. Loaded with <script src> (the CSP forbids inline script). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.querySelector("form[data-form-post]");
    if (form) { form.submit(); }
  });
})();
