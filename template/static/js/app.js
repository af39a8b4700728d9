// Progressive enhancement only: every form works without this file. Nothing here sets
// inline styles; state is shown with classes, attributes and the `hidden` attribute.
(function () {
  "use strict";

  // How close to the byte limit a password comes before the limit's rule shows.
  var NEAR_LIMIT_BYTES = 12;

  // Show/hide toggle after every password field. The button is made here, so a page
  // without JavaScript has no button that does nothing.
  function addPasswordToggle(input) {
    if (!input.id) {
      return;
    }
    var button = document.createElement("button");
    button.type = "button";
    button.setAttribute("data-password-toggle", "");
    button.setAttribute("aria-controls", input.id);
    var render = function (shown) {
      button.setAttribute("aria-pressed", shown ? "true" : "false");
      button.textContent = shown ? "Hide" : "Show";
      button.setAttribute("aria-label", shown ? "Hide password" : "Show password");
    };
    render(false);
    button.addEventListener("click", function () {
      var show = input.type === "password";
      input.type = show ? "text" : "password";
      render(show);
    });
    input.insertAdjacentElement("afterend", button);
  }

  document.querySelectorAll("input[type=password]").forEach(addPasswordToggle);

  // Before a form is sent, its password fields go back to type=password, so browsers
  // offer to save them as passwords and no one reads them over a shoulder later.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("[data-password-toggle]").forEach(function (button) {
        var input = document.getElementById(button.getAttribute("aria-controls"));
        if (input && button.getAttribute("aria-pressed") === "true") {
          button.click();
        }
      });
    });
  });

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
    var maxBytes = parseInt(list.dataset.maxBytes, 10);
    // Each rule says in words, for screen readers, whether it is met; the look
    // (a tick, a cross or an empty circle) says it to everyone else. A refused form
    // comes back with the broken rules marked (and a state already in words); that
    // verdict stands until the password is edited.
    var states = [];
    list.querySelectorAll("li[data-rule]").forEach(function (item) {
      var state = item.querySelector(".sr-only");
      if (!state) {
        state = document.createElement("span");
        state.className = "sr-only";
        item.appendChild(state);
      }
      states.push({ item: item, state: state });
    });
    var edited = false;
    var update = function () {
      var email = emailInput ? emailInput.value : list.dataset.email || "";
      var met = checkPassword(input.value, email, list);
      var bytes = new TextEncoder().encode(input.value).length;
      states.forEach(function (entry) {
        var item = entry.item;
        var rule = item.dataset.rule;
        if (!edited && item.classList.contains("broken")) {
          return;
        }
        item.classList.remove("broken");
        if (rule === "too_long") {
          // A limit of the hashing, not advice: shown only as a password nears it.
          item.hidden = bytes < maxBytes - NEAR_LIMIT_BYTES;
        }
        if (rule in met) {
          var isMet = input.value.length > 0 && met[rule];
          item.classList.toggle("met", isMet);
          entry.state.textContent = isMet ? " (done)" : " (not yet)";
        } else {
          // Rules only the server can check (the common-password list).
          entry.state.textContent = " (checked when you submit)";
        }
      });
    };
    update();
    input.addEventListener("input", function () {
      edited = true;
      update();
    });
    if (emailInput) {
      emailInput.addEventListener("input", update);
    }
  });

  // The 6-digit code: keep only digits, so "123 456" or "123-456" pasted from the
  // mail becomes "123456". The server accepts those forms too, without this file.
  var codeInput = document.querySelector("input#code[name=code]");
  if (codeInput) {
    var keepDigits = function (text) {
      return (text || "").replace(/[^0-9]/g, "").slice(0, 6);
    };
    codeInput.addEventListener("input", function () {
      var digits = keepDigits(codeInput.value);
      if (digits !== codeInput.value) {
        codeInput.value = digits;
      }
    });
    codeInput.addEventListener("paste", function (event) {
      var pasted = event.clipboardData && event.clipboardData.getData("text");
      if (typeof pasted === "string") {
        event.preventDefault();
        codeInput.value = keepDigits(pasted);
        codeInput.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  }

  // "Send a new code" waits until the server would accept it. Without this file the
  // button is always enabled and the server says when it is too early.
  document.querySelectorAll("button[data-countdown-seconds]").forEach(function (button) {
    var seconds = parseInt(button.dataset.countdownSeconds, 10);
    if (!(seconds > 0)) {
      return;
    }
    var label = button.textContent.trim();
    // Counted against the clock, so a tab in the background does not fall behind.
    var deadline = Date.now() + seconds * 1000;
    var timer = null;
    var tick = function () {
      var remaining = Math.ceil((deadline - Date.now()) / 1000);
      if (remaining <= 0) {
        window.clearInterval(timer);
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = label + " in " + remaining + "s";
    };
    tick();
    timer = window.setInterval(tick, 250);
  });

  // Flash messages: a close button, and gone after 5 seconds unless the pointer is
  // over them or focus is inside (the rest of the time runs once it leaves).
  var FLASH_MS = 5000;
  document.querySelectorAll(".flashes .flash").forEach(function (flash) {
    var remaining = FLASH_MS;
    var startedAt = null;
    var timer = null;
    var hovered = false;
    var focused = false;
    var dismiss = function () {
      window.clearTimeout(timer);
      var next = flash.nextElementSibling || flash.previousElementSibling;
      var hadFocus = flash.contains(document.activeElement);
      var container = flash.parentNode;
      flash.remove();
      if (container && !container.querySelector(".flash")) {
        container.textContent = ""; // :empty again, so it takes no room
      }
      if (hadFocus) {
        var target = next && next.querySelector("[data-flash-close]");
        if (target) {
          target.focus();
        } else {
          document.getElementById("main").focus();
        }
      }
    };
    var start = function () {
      if (timer === null && !hovered && !focused) {
        startedAt = Date.now();
        timer = window.setTimeout(dismiss, remaining);
      }
    };
    var pause = function () {
      if (timer !== null) {
        window.clearTimeout(timer);
        timer = null;
        remaining = Math.max(0, remaining - (Date.now() - startedAt));
      }
    };

    var close = document.createElement("button");
    close.type = "button";
    close.setAttribute("data-flash-close", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", dismiss);
    flash.appendChild(close);

    flash.addEventListener("mouseenter", function () {
      hovered = true;
      pause();
    });
    flash.addEventListener("mouseleave", function () {
      hovered = false;
      start();
    });
    flash.addEventListener("focusin", function () {
      focused = true;
      pause();
    });
    flash.addEventListener("focusout", function (event) {
      if (!flash.contains(event.relatedTarget)) {
        focused = false;
        start();
      }
    });
    start();
  });

  // Row menus (native <details>): one open at a time, closed by Escape (focus back on
  // its button), by a click anywhere else or by tabbing out.
  var menus = document.querySelectorAll("details[data-row-menu]");
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (menu.open) {
        menus.forEach(function (other) {
          if (other !== menu) {
            other.open = false;
          }
        });
      }
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
    // Tabbing out of an open menu closes it, so it does not cover the rows below.
    menu.addEventListener("focusout", function (event) {
      if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) {
        menu.open = false;
      }
    });
  });
  if (menus.length) {
    document.addEventListener("click", function (event) {
      menus.forEach(function (menu) {
        if (menu.open && !menu.contains(event.target)) {
          menu.open = false;
        }
      });
    });
  }

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
