// Passkeys, where the browser has them: shows the forms marked data-passkey-form and
// runs the browser's part of each ceremony. The server starts it (a POST to the
// form's data-passkey-form address, with the page's CSRF token), the browser asks the
// user, and the form carries the answer back as JSON in its `credential` field.
// Without this file, or without passkeys in the browser, the forms stay hidden.
(function () {
  "use strict";

  var supported =
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";
  var token = document.querySelector('meta[name="csrf-token"]');
  if (!supported || !token) {
    return;
  }
  document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) {
    note.hidden = true;
  });

  // The browser's parsers refuse `null` where the server left an option out.
  function withoutNulls(value) {
    if (Array.isArray(value)) {
      return value.map(withoutNulls);
    }
    if (value && typeof value === "object") {
      var copy = {};
      Object.keys(value).forEach(function (key) {
        if (value[key] !== null) {
          copy[key] = withoutNulls(value[key]);
        }
      });
      return copy;
    }
    return value;
  }

  function ask(options) {
    var publicKey = withoutNulls(options.publicKey);
    if (publicKey.user) {
      return navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(publicKey),
      });
    }
    return navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(publicKey),
    });
  }

  function message(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again when you are ready.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already has a passkey for your account.";
    }
    if (error && error.name === "SessionExpired") {
      return "This page is out of date. Reload it and try again.";
    }
    return "The passkey did not work. Try again, or use another way to sign in.";
  }

  document.querySelectorAll("form[data-passkey-form]").forEach(function (form) {
    var error = form.querySelector("[data-passkey-error]");
    var busy = false;
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      error.hidden = true;
      fetch(form.getAttribute("data-passkey-form"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token.content, Accept: "application/json" },
      })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
          if (!response.ok || !json) {
            var expired = new Error("the ceremony could not start");
            expired.name = "SessionExpired";
            throw expired;
          }
          return response.json();
        })
        .then(ask)
        .then(function (credential) {
          form.elements.credential.value = JSON.stringify(credential.toJSON());
          // The login form's "remember me" counts for a passkey sign-in too.
          var remember = document.querySelector("input[type=checkbox][name=remember_me]");
          if (remember && remember.checked && form.elements.remember_me) {
            form.elements.remember_me.disabled = false;
          }
          form.submit();
        })
        .catch(function (failure) {
          busy = false;
          error.textContent = message(failure);
          error.hidden = false;
        });
    });
  });
})();
