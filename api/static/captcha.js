// «Другой код» without a page reload. Without JavaScript the same button submits the
// form to /register/captcha, which re-renders it with a new code (values kept).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("captcha-refresh");
  var image = document.getElementById("captcha-image");
  var hidden = document.getElementById("captcha_id");
  var answer = document.getElementById("captcha_answer");
  var status = document.getElementById("captcha-status");
  if (!button || !image || !hidden || !window.fetch) return;
  button.addEventListener("click", function (event) {
    event.preventDefault();
    button.disabled = true;
    fetch("/api/v1/captcha", { method: "POST", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        hidden.value = data.captcha_id;
        image.src = "/api/v1/captcha/" + encodeURIComponent(data.captcha_id) + ".png";
        if (answer) { answer.value = ""; answer.focus(); }
        if (status) status.textContent = "Показан новый код.";
      })
      .then(function () { button.disabled = false; })
      .catch(function () {  // fall back to the no-JS path
        button.disabled = false;
        button.form.requestSubmit(button);
      });
  });
});
