// The captcha in place: «Другой код» swaps the picture, «Не могу прочитать код» solves the
// challenge's puzzle (SHA-256 proof of work, WebCrypto) instead of reading the picture.
// Without JavaScript the same buttons submit the form and the server brings it back.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("captcha");
  var form = box && box.closest("form");
  var imagePart = document.getElementById("captcha-image-part");
  var nonvisualPart = document.getElementById("captcha-nonvisual");
  if (!form || !imagePart || !nonvisualPart || !window.fetch) return;
  var image = document.getElementById("captcha-image");
  var refresh = document.getElementById("captcha-refresh");
  var idInput = document.getElementById("captcha_id");
  var modeInput = document.getElementById("captcha_mode");
  var answer = document.getElementById("captcha_answer");
  var solution = document.getElementById("captcha-solution-value");
  var explained = document.getElementById("captcha_solution");
  var status = document.getElementById("captcha-status");
  var run = 0; // the latest solving run; an older one stops
  var waiting = null; // a submit pressed while the check was still running
  var native = false; // let the next submit through to the server (the no-JS path)

  function say(text) { status.textContent = text; }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  // Finds n in 0..max with SHA-256(salt + n) == challenge, a thousand digests at a time.
  function solve(salt, challenge, max, mine) {
    var encoder = new TextEncoder();
    function batch(start) {
      if (mine !== run) return Promise.reject(new Error("superseded"));
      if (start > max) return Promise.reject(new Error("no solution"));
      var end = Math.min(start + 1000, max + 1), jobs = [];
      for (var n = start; n < end; n++) jobs.push(crypto.subtle.digest("SHA-256", encoder.encode(salt + n)));
      return Promise.all(jobs).then(function (digests) {
        for (var i = 0; i < digests.length; i++) if (hex(digests[i]) === challenge) return start + i;
        return batch(end);
      });
    }
    return batch(0);
  }

  function startCheck() {
    var mine = ++run;
    solution.value = "";
    if (!window.crypto || !crypto.subtle || !window.TextEncoder) {
      say("Этот браузер не умеет проверку без картинки. Введите код с картинки или позвоните в службу поддержки.");
      return;
    }
    say("Идёт проверка без картинки, подождите несколько секунд…");
    solve(box.dataset.powSalt, box.dataset.powChallenge, Number(box.dataset.powMax), mine).then(function (n) {
      if (mine !== run) return;
      solution.value = String(n);
      say("Проверка пройдена. Можно отправить форму.");
      if (waiting) { var submitter = waiting; waiting = null; form.requestSubmit(submitter); }
    }, function () {
      if (mine === run) say("Проверка не удалась. Нажмите «Ввести код с картинки» или позвоните в службу поддержки.");
    });
  }

  function showMode(mode) {
    modeInput.value = mode;
    imagePart.hidden = mode !== "image";
    nonvisualPart.hidden = mode !== "nonvisual";
  }

  function nativeSubmit(button) { native = true; form.requestSubmit(button); }

  refresh.addEventListener("click", function (event) {
    if (native) return;
    event.preventDefault();
    fetch("/api/v1/captcha", { method: "POST", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) {
        idInput.value = data.captcha_id;
        box.dataset.powSalt = data.puzzle.salt;
        box.dataset.powChallenge = data.puzzle.challenge;
        box.dataset.powMax = String(data.puzzle.max_number);
        image.src = "/api/v1/captcha/" + encodeURIComponent(data.captcha_id) + ".png";
        answer.value = "";
        answer.focus();
        say("Показан новый код.");
      })
      .catch(function () { nativeSubmit(refresh); });
  });

  document.getElementById("captcha-to-nonvisual").addEventListener("click", function (event) {
    if (native) return;
    event.preventDefault();
    showMode("nonvisual");
    explained.focus();
    startCheck();
  });

  document.getElementById("captcha-to-image").addEventListener("click", function (event) {
    if (native) return;
    event.preventDefault();
    run++; // stop a running check
    waiting = null;
    solution.value = "";
    showMode("image");
    say("");
    answer.focus();
  });

  form.addEventListener("submit", function (event) {
    if (native || modeInput.value !== "nonvisual" || solution.value) return;
    var submitter = event.submitter;
    if (submitter && submitter.name === "captcha_action") return;
    event.preventDefault();
    waiting = submitter || null;
    say("Подождите: проверка без картинки ещё идёт, форма отправится сама.");
  });

  if (modeInput.value === "nonvisual") startCheck();
});
