// Fills an organization's slug from its name as the operator types (orgs/forms.py slug_from_name makes
// the same slug on the server when the field is left blank). Once the operator edits the slug
// themselves, it is theirs and the name no longer changes it.
(function () {
  "use strict";

  function slugFromName(name) {
    return name
      .normalize("NFKD")
      .replace(/[^\x00-\x7F]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9\s_-]/g, "")
      .trim()
      .replace(/[\s_-]+/g, "-")
      .slice(0, 50)
      .replace(/^-+|-+$/g, "");
  }

  document.querySelectorAll("input[data-slug-source]").forEach(function (slug) {
    var source = document.getElementById(slug.dataset.slugSource);
    if (!source) {
      return;
    }
    // A slug already typed (a form shown again with an error) stays unless it is the name's own.
    var ownedByOperator = slug.value !== "" && slug.value !== slugFromName(source.value);
    slug.addEventListener("input", function () {
      ownedByOperator = slug.value !== "";
    });
    source.addEventListener("input", function () {
      if (!ownedByOperator) {
        slug.value = slugFromName(source.value);
      }
    });
  });
})();
