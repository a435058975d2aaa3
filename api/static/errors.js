// A link of the error summary puts the cursor in its field and scrolls so that the
// field's label (or the group's legend) and its error stay in view; a plain jump to
// the input would hide them above the screen edge.
// Loaded right after the summary (not deferred), so it works from the first key press.
"use strict";
(function () {
  var summary = document.getElementById("error-summary");
  if (!summary) return;
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) return;
    var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!target) return;
    var label = document.querySelector("label[for='" + target.id + "']");
    var group = target.closest("fieldset");
    var top = (group && group.querySelector("legend")) || label || target;
    event.preventDefault();
    top.scrollIntoView({ block: "start" });
    target.focus({ preventScroll: true });
  });
})();
