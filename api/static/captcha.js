// «Другой код» without a page reload. Without JavaScript the link simply reloads the
// registration form, which always comes with a new code.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var link = document.getElementById("captcha-refresh");
  var image = document.getElementById("captcha-image");
  var hidden = document.getElementById("captcha_id");
  var answer = document.getElementById("captcha_answer");
  var status = document.getElementById("captcha-status");
  if (!link || !image || !hidden || !window.fetch) return;
  if (link.tagName === "A") link.setAttribute("role", "button");
  link.hidden = false;
  link.addEventListener("click", function (event) {
    event.preventDefault();
    fetch("/api/v1/captcha", { method: "POST", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        hidden.value = data.captcha_id;
        image.src = "/api/v1/captcha/" + encodeURIComponent(data.captcha_id) + ".png";
        if (answer) { answer.value = ""; answer.focus(); }
        if (status) status.textContent = "Показан новый код.";
      })
      .catch(function () {  // the no-JS path, where there is one
        if (link.href) window.location.href = link.href;
        else if (status) status.textContent = "Не удалось показать новый код. Обновите страницу.";
      });
  });
});
