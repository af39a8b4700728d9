// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  // Live password checklist. The rules and limits come from the server through
  // data attributes, so the page and the server can never disagree; the server
  // still checks everything (including the common-password list) on submit.
  function checkPassword(password, email, list) {
    var minChars = parseInt(list.dataset.minChars, 10);
    var maxBytes = parseInt(list.dataset.maxBytes, 10);
    var localPart = (email || "").split("@")[0].toLowerCase();
    var bytes = new TextEncoder().encode(password).length;
    return {
      too_short: Array.from(password).length >= minChars,
      too_long: bytes <= maxBytes,
      needs_lowercase: /\p{Ll}/u.test(password),
      needs_uppercase: /\p{Lu}/u.test(password),
      needs_digit: /[0-9]/.test(password),
      contains_email: localPart.length < 3 || password.toLowerCase().indexOf(localPart) === -1
    };
  }

  document.querySelectorAll("input[data-password-policy]").forEach(function (input) {
    var list = document.getElementById("password-rules");
    var emailInput = document.getElementById("email");
    if (!list) {
      return;
    }
    var update = function () {
      var met = checkPassword(input.value, emailInput ? emailInput.value : "", list);
      list.querySelectorAll("li[data-rule]").forEach(function (item) {
        var rule = item.dataset.rule;
        if (rule in met) {
          item.classList.toggle("met", input.value.length > 0 && met[rule]);
        }
      });
    };
    input.addEventListener("input", update);
    if (emailInput) {
      emailInput.addEventListener("input", update);
    }
  });

  // Destructive admin actions ask first; without this file they go straight through
  // (the server still refuses what it must).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
})();
