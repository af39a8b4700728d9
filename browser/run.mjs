// The browser tests: every page of the generated app (default combination) in Debian's
// chromium through playwright-core, each checked for console errors, uncaught
// exceptions, CSP violations and serious or critical axe-core violations, and
// screenshotted at 390 and 1280 px; plus the flows and the behaviour static/js/app.js
// adds to the pages.
//
// Run by tests/browser.rs (`cargo test --test browser`), which builds and starts the app
// and passes, in the environment: BROWSER_BASE_URL, BROWSER_LIMITED_BASE_URL (an
// instance allowing one form post), BROWSER_MAIL_DIR (the SMTP test server's mail),
// BROWSER_SCREENSHOTS, BROWSER_ADMIN_EMAIL, BROWSER_ADMIN_PASSWORD, BROWSER_CHROMIUM.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";

import { checkPage, launch, open, settings, sleep, until, waitForMail, watchedContext } from "./lib.mjs";

const PASSWORD = "Lantern-Quartz-Meadow-7";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Runs `body` in a fresh browser profile. `s.check(name)` runs the checks every page
// gets and keeps their problems; at the end, whatever else went wrong on any page
// (console, exceptions, CSP) is added, and the test fails with all of it.
async function inBrowser(what, body) {
  const { context, watcher } = await watchedContext(browser);
  const page = await context.newPage();
  const problems = [];
  const s = {
    context,
    watcher,
    page,
    async check(name) {
      problems.push(...(await checkPage(page, watcher, name)));
    },
  };
  let failure = null;
  try {
    await body(s);
  } catch (error) {
    failure = error;
  }
  const rest = watcher.take(what);
  if (rest) problems.push(rest);
  await context.close();
  if (failure) {
    if (problems.length) failure.message += `\nand before that:\n${problems.join("\n")}`;
    throw failure;
  }
  if (problems.length) throw new Error(problems.join("\n"));
}

// Clicks `button` (a submit button) and waits for the document the form leads to,
// checking its status.
async function submit(page, watcher, button, status = 200) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === page.mainFrame() && r.request().method() === "POST"),
    page.locator(button).click(),
  ]);
  await page.waitForLoadState("load");
  // A POST answered with a redirect is followed: the final document is what the user sees.
  const final = await page.evaluate(() => location.href);
  if (response.status() >= 300 && response.status() < 400) {
    return final;
  }
  if (response.status() !== status) {
    // A 403 here is most often the CSRF check refusing what the browser sent.
    const sent = await response.request().allHeaders();
    assert.fail(
      `${button} on ${response.url()} answered ${response.status()}, expected ${status} ` +
        `(the browser sent Origin: ${sent.origin ?? "(none)"}, Sec-Fetch-Site: ${sent["sec-fetch-site"] ?? "(none)"}, ` +
        `Referer: ${sent.referer ?? "(none)"})`,
    );
  }
  if (status >= 400) watcher.expectStatus(response.url(), status);
  return final;
}

// Like submit, for a form static/js/passkeys.js sends once the browser's passkey
// prompt is answered: the click starts the ceremony, the form is posted later.
async function submitWithPasskey(page, button) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().isNavigationRequest() && r.request().frame() === page.mainFrame() && r.request().method() === "POST", { timeout: 15000 }),
    page.waitForEvent("load", { timeout: 15000 }),
    page.locator(button).click(),
  ]);
  assert.equal(response.status(), 303, `${button} on ${response.url()} answered ${response.status()}`);
  return page.url();
}

function path(page) {
  return new URL(page.url()).pathname;
}

async function fillSignup(page, { name, email, password }) {
  await page.locator("input[name=name]").fill(name);
  await page.locator("input[name=email]").fill(email);
  await page.locator("input[name=password]").fill(password);
  await page.locator("input[name=password_confirmation]").fill(password);
}

// Signs up through the form; leaves the page on /verify.
async function signUp(page, watcher, user) {
  await open(page, watcher, "/signup");
  await fillSignup(page, user);
  await submit(page, watcher, 'form[action="/signup"] button[type=submit]');
  assert.equal(path(page), "/verify", `after signing up as ${user.email} the browser is on ${page.url()}, not /verify`);
}

async function codeFromMail(email, nth = 1) {
  const mail = await waitForMail(email, nth);
  const code = /^\s*(\d{6})\s*$/m.exec(mail.text || "");
  assert.ok(code, `no 6-digit code on a line of its own in the mail to ${email}:\n${mail.text}`);
  return code[1];
}

async function enterCode(page, watcher, code) {
  await page.locator("input#code").fill(code);
  await submit(page, watcher, 'form[action="/verify"] button[type=submit]');
}

async function signUpVerified(page, watcher, user) {
  await signUp(page, watcher, user);
  await enterCode(page, watcher, await codeFromMail(user.email));
  assert.equal(path(page), "/dashboard", `after entering the code the browser is on ${page.url()}`);
}

async function signIn(page, watcher, email, password, url = settings.baseUrl) {
  await open(page, watcher, `${url}/login`);
  await page.locator("input[name=email]").fill(email);
  await page.locator("input[name=password]").fill(password);
  await submit(page, watcher, 'form[action^="/login"]:not([data-passkey-form]) button[type=submit]');
  assert.notEqual(path(page), "/login", `signing in as ${email} left the browser on the login page`);
}

async function signOut(page, watcher) {
  await submit(page, watcher, 'form[action="/logout"] button[type=submit]');
  assert.equal(path(page), "/login", `after signing out the browser is on ${page.url()}`);
}

test("public pages and the 404 and 410 pages", () =>
  inBrowser("public pages and the 404 and 410 pages", async (s) => {
    const { page, watcher } = s;
    for (const [name, url, status] of [
      ["home", "/", 200],
      ["signup", "/signup", 200],
      ["login", "/login", 200],
      ["forgot-password", "/forgot-password", 200],
      ["reset-password-invalid", "/reset-password?token=not-a-real-token", 410],
      ["error-404", "/no-such-page", 404],
    ]) {
      await open(page, watcher, url, status);
      await assert.doesNotReject(page.locator("h1").first().waitFor({ timeout: 2000 }), `${url} shows no heading`);
      await s.check(name);
    }
    // The landing page sits on the header's grid: its hero and cards start where the
    // wordmark does, and nothing is wider than the screen.
    await open(page, watcher, "/");
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
      const edges = await page.evaluate(() => ({
        brand: document.querySelector(".site-header .brand").getBoundingClientRect().left,
        hero: document.querySelector("main h1").getBoundingClientRect().left,
        cards: [...document.querySelectorAll("main .card")].map((card) => card.getBoundingClientRect().left),
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      }));
      assert.ok(Math.abs(edges.hero - edges.brand) <= 1, `at ${width} px the home heading starts at ${edges.hero}, the wordmark at ${edges.brand}`);
      assert.ok(Math.abs(edges.cards[0] - edges.brand) <= 1, `at ${width} px the first feature card starts at ${edges.cards[0]}, the wordmark at ${edges.brand}`);
      assert.equal(edges.overflow, 0, `at ${width} px the home page is wider than the screen`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    // Browsers ask for the page's icon on their own (/favicon.ico when the page names
    // none), and log a console error when it is missing; when they ask varies, so the
    // icon is checked here directly.
    await open(page, watcher, "/");
    const icon = await page.evaluate(() => document.querySelector('link[rel~="icon"]')?.href || new URL("/favicon.ico", location.href).href);
    const answer = await page.request.get(icon);
    assert.equal(answer.status(), 200, `the site's icon ${icon} answers ${answer.status()}: browsers log a console error on every first visit`);
  }));

test("auth pages: the heading stays at the same height from one page to the next", () =>
  inBrowser("auth pages: the heading stays at the same height from one page to the next", async (s) => {
    const { page, watcher } = s;
    const pages = [
      ["/login", 200],
      ["/signup", 200],
      ["/forgot-password", 200],
      ["/reset-password?token=not-a-real-token", 410],
    ];
    const widths = [390, 1280];
    const heading = async () => Math.round((await page.locator("main h1").first().boundingBox()).y);
    const tops = new Map(widths.map((width) => [width, []]));
    for (const width of widths) {
      await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
      for (const [url, status] of pages) {
        await open(page, watcher, url, status);
        tops.get(width).push([url, await heading()]);
      }
    }
    // The code page, after a sign-up.
    await page.setViewportSize({ width: 1280, height: 800 });
    await signUp(page, watcher, { name: "Hana Height", email: "hana@example.com", password: PASSWORD });
    for (const width of widths) {
      await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
      tops.get(width).push(["/verify", await heading()]);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
    for (const [width, seen] of tops) {
      const heights = new Set(seen.map(([, y]) => y));
      assert.equal(heights.size, 1, `at ${width} px the heading moves between pages: ${JSON.stringify(seen)}`);
    }
  }));

test("sign-up: the 6-digit code from the mail leads to the dashboard", () =>
  inBrowser("sign-up: the 6-digit code from the mail leads to the dashboard", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Ann Example", email: "ann@example.com", password: PASSWORD };
    await signUp(page, watcher, user);
    const said = await page.locator("main").innerText();
    assert.ok(said.includes(user.email), `the verify page does not say where the code went:\n${said}`);
    const repeated = await page.locator(".flashes .flash").allInnerTexts();
    assert.deepEqual(repeated, [], "a flash repeats what the code page says");
    await s.check("verify");

    const code = await codeFromMail(user.email);
    await enterCode(page, watcher, code);
    assert.equal(path(page), "/dashboard", `after entering the code the browser is on ${page.url()}`);
    const heading = await page.locator("h1").first().innerText();
    assert.match(heading, /Ann Example/, `the dashboard's heading does not greet the user: ${heading}`);
    const flashes = await page.locator(".flashes .flash").allInnerTexts();
    assert.ok(flashes.some((t) => /verified/i.test(t)), `no "verified" flash on the dashboard: ${JSON.stringify(flashes)}`);
    await s.check("dashboard");
    // Each card is as tall as what it holds, not stretched to its neighbour's height.
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      const slack = await page.locator("main .card").evaluateAll((cards) =>
        cards.map((card) => {
          const padding = parseFloat(getComputedStyle(card).paddingBottom);
          return Math.round(card.getBoundingClientRect().bottom - card.lastElementChild.getBoundingClientRect().bottom - padding);
        }),
      );
      assert.ok(slack.every((gap) => gap <= 2), `at ${width} px a dashboard card has empty space below its content: ${JSON.stringify(slack)} px`);
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    await open(page, watcher, "/account");
    await s.check("account-profile");
    await open(page, watcher, "/account/password");
    await s.check("account-password");
    await open(page, watcher, "/account/sessions");
    const sessions = await page.locator("[data-session-id]").count();
    assert.equal(sessions, 1, `the sessions page lists ${sessions} sessions for a user signed in once`);
    assert.equal(await page.locator("[data-this-device]").count(), 1, "the sessions page does not mark this device");
    await s.check("account-sessions");
    await open(page, watcher, "/account/confirm?next=%2Faccount%2Fsessions");
    await s.check("account-confirm");
    await open(page, watcher, "/account/delete");
    await s.check("account-delete");

    // A signed-in user who is not an administrator.
    await open(page, watcher, "/admin", 403);
    await s.check("error-403");
  }));

test("password reset: the mailed link opens the form and the new password signs in", () =>
  inBrowser("password reset: the mailed link opens the form and the new password signs in", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Rita Reset", email: "rita@example.com", password: PASSWORD };
    await signUpVerified(page, watcher, user);
    await signOut(page, watcher);

    await open(page, watcher, "/forgot-password");
    await page.locator("input[name=email]").fill(user.email);
    await submit(page, watcher, 'form[action="/forgot-password"] button[type=submit]');
    const mail = await waitForMail(user.email, 2);
    const link = /https?:\/\/\S+\/reset-password\?token=[\w%-]+/.exec(mail.text || "");
    assert.ok(link, `no reset link in the second mail to ${user.email}:\n${mail.text}`);
    await open(page, watcher, link[0]);
    await s.check("reset-password");

    const newPassword = "Harbour-Violet-Engine-58";
    await page.locator("input[name=password]").fill(newPassword);
    await page.locator("input[name=password_confirmation]").fill(newPassword);
    await submit(page, watcher, "form[action^='/reset-password'] button[type=submit]");
    assert.equal(path(page), "/login", `after choosing a new password the browser is on ${page.url()}`);
    await signIn(page, watcher, user.email, newPassword);
    assert.equal(path(page), "/dashboard", `signing in with the new password led to ${page.url()}`);
  }));

test("password fields have a Show/Hide toggle", () =>
  inBrowser("password fields have a Show/Hide toggle", async (s) => {
    const { page, watcher } = s;
    for (const url of ["/signup", "/login"]) {
      await open(page, watcher, url);
      const ids = await page.locator("input[type=password]").evaluateAll((inputs) => inputs.map((i) => i.id));
      assert.ok(ids.length > 0, `${url} has no password field`);
      for (const id of ids) {
        const input = page.locator(`input#${id}`);
        const toggle = page.locator(`input#${id} + button[data-password-toggle], input#${id} ~ button[data-password-toggle][aria-controls="${id}"]`).first();
        await assert.doesNotReject(
          toggle.waitFor({ state: "visible", timeout: 3000 }),
          `${url}: no visible button[data-password-toggle] after input#${id}`,
        );
        assert.equal(await toggle.getAttribute("aria-controls"), id, `${url}: the toggle of #${id} controls another element`);
        assert.equal(await toggle.getAttribute("aria-pressed"), "false", `${url}: the toggle of #${id} starts pressed`);
        assert.match(await toggle.innerText(), /^\s*Show\s*$/, `${url}: the toggle of #${id} does not read "Show"`);
        await input.fill("Secret-Value-1");
        await toggle.click();
        assert.equal(await input.getAttribute("type"), "text", `${url}: "Show" did not reveal #${id}`);
        assert.equal(await toggle.getAttribute("aria-pressed"), "true", `${url}: the toggle of #${id} is not pressed after "Show"`);
        assert.match(await toggle.innerText(), /^\s*Hide\s*$/, `${url}: the toggle of #${id} does not read "Hide" once shown`);
        assert.equal(await input.inputValue(), "Secret-Value-1", `${url}: toggling #${id} lost what was typed`);
        await toggle.click();
        assert.equal(await input.getAttribute("type"), "password", `${url}: "Hide" did not mask #${id} again`);
        assert.equal(await toggle.getAttribute("aria-pressed"), "false", `${url}: the toggle of #${id} stays pressed after "Hide"`);
      }
    }
  }));

test("the password checklist follows what is typed", () =>
  inBrowser("the password checklist follows what is typed", async (s) => {
    const { page, watcher } = s;
    await open(page, watcher, "/signup");
    const rules = await page.locator("ul#password-rules li[data-rule]").evaluateAll((items) => items.map((i) => i.dataset.rule));
    for (const rule of ["too_short", "too_long", "needs_lowercase", "needs_uppercase", "needs_digit", "contains_email"]) {
      assert.ok(rules.includes(rule), `the checklist has no item for ${rule}: ${JSON.stringify(rules)}`);
    }
    const met = () =>
      page.locator("ul#password-rules li[data-rule]").evaluateAll((items) =>
        Object.fromEntries(items.map((i) => [i.dataset.rule, i.classList.contains("met")])),
      );
    const expectMet = async (typed, expected) => {
      const state = await until(async () => {
        const now = await met();
        return Object.entries(expected).every(([rule, value]) => now[rule] === value) ? now : null;
      }, `after typing ${JSON.stringify(typed)} the checklist is ${JSON.stringify(await met())}, expected ${JSON.stringify(expected)}`, 2000).catch(
        async () => {
          throw new Error(`after typing ${JSON.stringify(typed)} the checklist shows ${JSON.stringify(await met())}, expected ${JSON.stringify(expected)}`);
        },
      );
      return state;
    };
    await page.locator("input[name=email]").fill("maria@example.com");
    const password = page.locator("input[name=password]");
    // Nothing typed: nothing is ticked.
    await expectMet("", { too_short: false, needs_lowercase: false, needs_uppercase: false, needs_digit: false });
    await password.pressSequentially("abc");
    await expectMet("abc", { needs_lowercase: true, needs_uppercase: false, needs_digit: false, too_short: false, too_long: true });
    await password.pressSequentially("D1");
    await expectMet("abcD1", { needs_lowercase: true, needs_uppercase: true, needs_digit: true, too_short: false });
    await password.pressSequentially("-mountain");
    await expectMet("abcD1-mountain", { too_short: true, contains_email: true });
    await password.pressSequentially("-maria");
    await expectMet("abcD1-mountain-maria", { too_short: true, contains_email: false });
    await password.fill("");
    await password.pressSequentially("ABC");
    await expectMet("ABC", { needs_lowercase: false, needs_uppercase: true });

    // The byte limit of the hashing is no advice: it shows only as a password nears it.
    const byteLimit = page.locator('ul#password-rules li[data-rule="too_long"]');
    assert.equal(await byteLimit.isVisible(), false, "the 72-byte rule shows for a short password");
    await password.fill("Aa1-".repeat(16));
    await until(() => byteLimit.isVisible(), "the 72-byte rule stays hidden for a 64-byte password", 2000);
    await password.fill("Aa1-".repeat(19));
    await expectMet("a 76-byte password", { too_long: false });
    assert.equal(await byteLimit.isVisible(), true, "the 72-byte rule hides while a password breaks it");

    // Every rule wears the same marker shape; the common-password rule too.
    const marker = (rule) =>
      page.locator(`ul#password-rules li[data-rule="${rule}"]`).evaluate((item) => {
        const style = getComputedStyle(item, "::before");
        return { width: style.width, height: style.height, radius: style.borderRadius, content: style.content };
      });
    await password.fill("");
    assert.deepEqual(await marker("too_common"), await marker("needs_digit"), "the common-password rule's marker differs from the others'");

    // A refused password: each broken rule is marked once, in the checklist, and the
    // field's own message only points there; editing the password hands back to the live check.
    await page.locator("input[name=name]").fill("Maria");
    await password.fill("password");
    await page.locator("input[name=password_confirmation]").fill("password");
    await submit(page, watcher, "form button[type=submit]", 422);
    const broken = await page.locator("ul#password-rules li.broken").evaluateAll((items) => items.map((i) => i.dataset.rule));
    assert.deepEqual(broken, ["too_short", "needs_uppercase", "needs_digit", "too_common"], "the refused password's rules are not marked");
    const body = await page.locator("main").innerText();
    for (const rule of ["Use at least 12 characters.", "Include a digit."]) {
      assert.equal(body.split(rule).length - 1, 1, `"${rule}" is not shown exactly once: ${body}`);
    }
    await password.pressSequentially("Aa1");
    await until(async () => (await page.locator("ul#password-rules li.broken").count()) === 0, "the server's marks stay after the password is edited", 2000);
    await expectMet("Aa1", { needs_uppercase: true, needs_digit: true, too_short: false });
  }));

// A mail's HTML part, in a blank page as a mail client shows it (not under the app's
// CSP): axe and screenshots, every sentence and link of the text part, no overflow, the
// wordmark, 44-px buttons and a code that copies as its digits.
async function checkMail(s, name, mail) {
  const { page } = s;
  assert.ok(mail.html, `the ${name} has no HTML part`);
  await page.goto("about:blank");
  await page.setContent(mail.html, { waitUntil: "load" });
  await s.check(name);
  // Every sentence and link of the text part is in the HTML part.
  const shown = (await page.locator("body").innerText()).replace(/\s+/g, " ");
  const hrefs = await page.locator("a[href]").evaluateAll((links) => links.map((a) => a.href));
  for (const line of mail.text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && l !== "--")) {
    if (/^https?:\/\/\S+$/.test(line)) {
      assert.ok(hrefs.includes(line) || hrefs.includes(line + "/"), `the ${name}'s HTML part has no link to ${line}: ${hrefs}`);
    } else {
      // A line that leads to a link ends in ":" in text, where the HTML links its words.
      const sentence = line.replace(/ - https?:\/\/\S+$/, "").replace(/[:.]$/, "").replace(/\s+/g, " ");
      assert.ok(shown.includes(sentence), `the ${name}'s HTML part does not say ${JSON.stringify(sentence)}:\n${shown}`);
    }
  }
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 844 });
    const seen = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      mark: !!document.querySelector(".brand .mark"),
      code: [...document.querySelectorAll(".code")].map((c) => ({ text: c.textContent, size: parseFloat(getComputedStyle(c).fontSize) })),
      buttons: [...document.querySelectorAll("a.button")].map((b) => b.getBoundingClientRect().height),
    }));
    assert.equal(seen.overflow, 0, `at ${width} px the ${name} is wider than the screen`);
    assert.ok(seen.mark, `the ${name} shows no wordmark`);
    assert.ok(seen.buttons.every((h) => h >= 44), `at ${width} px a button of the ${name} is under 44 px high: ${seen.buttons}`);
    if (name.endsWith("-code")) {
      assert.equal(seen.code.length, 1, `the ${name} does not show its code once`);
      assert.match(seen.code[0].text, /^\d{6}$/, `the code copies as ${JSON.stringify(seen.code[0].text)}, not just its digits`);
      assert.ok(seen.code[0].size >= 28, `at ${width} px the code is ${seen.code[0].size} px`);
    }
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

test("mails: the HTML part reads well at 390 and 1280 px and says all the text part says", () =>
  inBrowser("mails: the HTML part reads well at 390 and 1280 px and says all the text part says", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Mia Mail", email: "mia@example.com", password: PASSWORD };
    await signUpVerified(page, watcher, user);
    const code = await waitForMail(user.email, 1);
    await signOut(page, watcher);
    // The same address again: its owner is told instead.
    await signUp(page, watcher, user);
    const attempt = await waitForMail(user.email, 2);
    await open(page, watcher, "/forgot-password");
    await page.locator("input[name=email]").fill(user.email);
    await submit(page, watcher, 'form[action="/forgot-password"] button[type=submit]');
    const reset = await waitForMail(user.email, 3);
    // A browser the account never used (no device cookie): the owner is told.
    await s.context.clearCookies();
    await signIn(page, watcher, user.email, user.password);
    const notice = await waitForMail(user.email, 4);

    for (const [name, mail] of [
      ["mail-verification-code", code],
      ["mail-signup-attempt", attempt],
      ["mail-password-reset", reset],
      ["mail-new-sign-in", notice],
    ]) {
      await checkMail(s, name, mail);
    }
  }));

test("changing the email address: a code to the new address, then the profile shows it", () =>
  inBrowser("changing the email address: a code to the new address, then the profile shows it", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Eve Email", email: "eve@example.com", password: PASSWORD };
    const newAddress = "eve.new@example.org";
    await signUpVerified(page, watcher, user);
    await open(page, watcher, "/account");
    // On a phone every section of the account area is on screen, none cut off.
    await page.setViewportSize({ width: 390, height: 844 });
    const cut = await page.locator(".side-nav a").evaluateAll((links) =>
      links.filter((a) => a.getBoundingClientRect().right > document.documentElement.clientWidth).map((a) => a.textContent),
    );
    assert.deepEqual(cut, [], "at 390 px the account navigation cuts off sections");
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole("link", { name: "Email", exact: true }).click();
    await page.waitForLoadState("load");
    assert.equal(path(page), "/account/email", `the side navigation's "Email" leads to ${page.url()}`);
    await s.check("account-email");

    await page.locator("input[name=email]").fill(newAddress);
    await page.locator("input[name=current_password]").fill(user.password);
    await submit(page, watcher, 'form[action="/account/email"] button[type=submit]');
    assert.equal(path(page), "/account/email", `after asking for the code the browser is on ${page.url()}`);
    const said = await page.locator("main").innerText();
    assert.ok(said.includes(`We sent a 6-digit code to ${newAddress}`), `the page does not say where the code went:\n${said}`);
    const repeated = await page.locator(".flashes .flash").allInnerTexts();
    assert.deepEqual(repeated, [], "a flash repeats what the code card says");
    await s.check("account-email-code");

    const codeMail = await waitForMail(newAddress, 1);
    await page.locator("input#code").fill(await codeFromMail(newAddress));
    await submit(page, watcher, 'form[action="/account/email/confirm"] button[type=submit]');
    assert.equal(path(page), "/account", `after entering the code the browser is on ${page.url()}`);
    const flashes = await page.locator(".flashes .flash").allInnerTexts();
    assert.ok(flashes.some((t) => t.includes(`You now sign in with ${newAddress}`)), `no flash says the address changed: ${JSON.stringify(flashes)}`);
    const header = await page.locator(".page-header").innerText();
    assert.ok(header.includes(newAddress), `the profile does not show the new address:\n${header}`);
    // The verification code was the first mail to the old address; the notice is the second.
    const notice = await waitForMail(user.email, 2);
    await checkMail(s, "mail-email-change-code", codeMail);
    await checkMail(s, "mail-email-changed", notice);
  }));

// The code an authenticator app with the base32 `key` shows at `at` (RFC 6238: SHA-1,
// six digits, 30-second steps).
function totp(key, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bits = [...key.replace(/=+$/, "")].map((c) => alphabet.indexOf(c).toString(2).padStart(5, "0")).join("");
  const secret = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, "0");
}

// The first mail to `to` whose subject has `words`.
async function mailAbout(to, words) {
  for (let nth = 1; ; nth++) {
    const mail = await waitForMail(to, nth);
    if ((mail.headers.subject || "").includes(words)) return mail;
  }
}

test("two-factor sign-in: set up with the page's key, then sign in with a recovery code and with the app's code", () =>
  inBrowser("two-factor sign-in: set up with the page's key, then sign in with a recovery code and with the app's code", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Tess Totp", email: "tess@example.com", password: PASSWORD };
    await signUpVerified(page, watcher, user);
    await open(page, watcher, "/account");
    await page.getByRole("link", { name: "Two-factor sign-in", exact: true }).click();
    await page.waitForLoadState("load");
    assert.equal(path(page), "/account/two-factor", `the side navigation's "Two-factor sign-in" leads to ${page.url()}`);
    await s.check("account-two-factor-off");

    await submit(page, watcher, 'form[action="/account/two-factor"] button[type=submit]');
    const qr = await page.locator(".qr-code svg").boundingBox();
    assert.ok(qr && qr.width >= 150 && qr.height >= 150, `the QR code is too small to scan: ${JSON.stringify(qr)}`);
    const shown = (await page.locator(".setup-key").innerText()).trim();
    assert.match(shown, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/, "the key the page shows, in groups of four");
    const key = shown.replaceAll(" ", "");
    await s.check("account-two-factor-setup");

    await page.locator("input#code").fill(totp(key));
    await submit(page, watcher, 'form[action="/account/two-factor/enable"] button[type=submit]');
    const codes = await page.locator(".recovery-codes code").allInnerTexts();
    assert.equal(codes.length, 10, `the page shows ${codes.length} recovery codes`);
    await s.check("account-two-factor-codes");
    await checkMail(s, "mail-two-factor-enabled", await mailAbout(user.email, "Two-factor sign-in is on"));

    // A recovery code as copied from paper: capitals, a space for the dash.
    await open(page, watcher, "/dashboard");
    await signOut(page, watcher);
    await signIn(page, watcher, user.email, user.password);
    assert.equal(path(page), "/login/two-factor", `after the password the browser is on ${page.url()}`);
    await s.check("login-two-factor");
    await page.locator("input[name=code]").fill(codes[0].toUpperCase().replace("-", " "));
    await submit(page, watcher, 'form[action="/login/two-factor"] button[type=submit]');
    assert.equal(path(page), "/dashboard", `after the recovery code the browser is on ${page.url()}`);
    const flashes = await page.locator(".flashes .flash").allInnerTexts();
    assert.ok(flashes.some((t) => t.includes("9 left")), `no flash says how many codes are left: ${JSON.stringify(flashes)}`);
    await checkMail(s, "mail-recovery-code-used", await mailAbout(user.email, "recovery code was used"));

    // The set-up used this step's code; the next step's is accepted as drift.
    await open(page, watcher, "/dashboard");
    await signOut(page, watcher);
    await signIn(page, watcher, user.email, user.password);
    await page.locator("input[name=code]").fill(totp(key, Date.now() + 30000));
    await submit(page, watcher, 'form[action="/login/two-factor"] button[type=submit]');
    assert.equal(path(page), "/dashboard", `after the app's code the browser is on ${page.url()}`);
    await open(page, watcher, "/account/two-factor");
    const status = await page.locator("main").innerText();
    assert.ok(status.includes("9 of 10 recovery codes are left"), `the page does not say how many codes are left:\n${status}`);
    await s.check("account-two-factor-on");
  }));

test("passkeys: one added through Chromium's virtual authenticator signs in without the password", () =>
  inBrowser("passkeys: one added through Chromium's virtual authenticator signs in without the password", async (s) => {
    const { page, watcher, context } = s;
    const user = { name: "Pia Passkey", email: "pia@example.com", password: PASSWORD };
    // A platform authenticator that keeps discoverable passkeys and verifies its user.
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2",
        transport: "internal",
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    await signUpVerified(page, watcher, user);
    await open(page, watcher, "/account");
    await page.getByRole("link", { name: "Passkeys", exact: true }).click();
    await page.waitForLoadState("load");
    assert.equal(path(page), "/account/passkeys", `the side navigation's "Passkeys" leads to ${page.url()}`);
    assert.ok(await page.locator("[data-passkey-unsupported]").isHidden(), "the page says this browser cannot make passkeys");
    await s.check("account-passkeys-empty");

    await page.locator("#passkey-name").fill("Test laptop");
    await submitWithPasskey(page, 'form[action="/account/passkeys"] button[type=submit]');
    assert.equal(path(page), "/account/passkeys", `after adding a passkey the browser is on ${page.url()}`);
    const listed = await page.locator("[data-passkey-id]").allInnerTexts();
    assert.equal(listed.length, 1, `the page lists ${listed.length} passkeys`);
    assert.ok(listed[0].includes("Test laptop") && listed[0].includes("Never"), `the passkey as listed: ${listed[0]}`);
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    assert.equal(credentials.length, 1, `the authenticator holds ${credentials.length} passkeys`);
    assert.ok(credentials[0].isResidentCredential, "the passkey is not discoverable: it could not sign in without an address");
    await s.check("account-passkeys");
    await checkMail(s, "mail-passkey-added", await mailAbout(user.email, "passkey was added"));

    await open(page, watcher, "/dashboard");
    await signOut(page, watcher);
    await open(page, watcher, "/login");
    const button = page.getByRole("button", { name: "Sign in with a passkey" });
    assert.ok(await button.isVisible(), "the login page offers no passkey sign-in");
    await s.check("login-passkey");
    await submitWithPasskey(page, 'form[action="/login/passkey"] button[type=submit]');
    assert.equal(path(page), "/dashboard", `after the passkey the browser is on ${page.url()}`);
    await open(page, watcher, "/account/passkeys");
    const used = await page.locator("[data-passkey-id]").innerText();
    assert.ok(!used.includes("Never"), `the passkey's use is not shown: ${used}`);
  }));

test("deleting the account: the address typed out, then the home page says it is done", () =>
  inBrowser("deleting the account: the address typed out, then the home page says it is done", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Dora Delete", email: "dora@example.com", password: PASSWORD };
    await signUpVerified(page, watcher, user);
    await open(page, watcher, "/account");
    const download = page.waitForEvent("download");
    await page.getByRole("link", { name: "Download your data" }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /\.json$/, `the export downloads as ${file.suggestedFilename()}`);
    await page.getByRole("link", { name: "Delete account" }).click();
    await page.waitForLoadState("load");
    assert.equal(path(page), "/account/delete", `the side navigation's "Delete account" leads to ${page.url()}`);
    await page.locator("input[name=email]").fill(user.email);
    await submit(page, watcher, 'form[action="/account/delete"] button[type=submit]');
    assert.equal(path(page), "/", `after deleting the account the browser is on ${page.url()}`);
    const flashes = await page.locator(".flashes .flash").allInnerTexts();
    assert.ok(flashes.some((t) => t.includes("Your account is deleted")), `no flash says the account is deleted: ${JSON.stringify(flashes)}`);
    await open(page, watcher, "/login");
    await page.locator("input[name=email]").fill(user.email);
    await page.locator("input[name=password]").fill(user.password);
    await submit(page, watcher, 'form[action^="/login"]:not([data-passkey-form]) button[type=submit]', 422);
  }));

test("the code field keeps only the digits of a typed or pasted code", () =>
  inBrowser("the code field keeps only the digits of a typed or pasted code", async (s) => {
    const { page, watcher, context } = s;
    await signUp(page, watcher, { name: "Carl Code", email: "carl@example.com", password: PASSWORD });
    const code = page.locator("input#code[name=code]");
    assert.equal(await code.getAttribute("inputmode"), "numeric", "the code field does not ask for a numeric keyboard");
    await code.pressSequentially("123 456");
    assert.equal(await code.inputValue(), "123456", 'typing "123 456" into the code field');

    await code.fill("");
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: settings.baseUrl });
    await page.evaluate(() => navigator.clipboard.writeText("123 456"));
    await code.focus();
    await page.keyboard.press("ControlOrMeta+V");
    assert.equal(await code.inputValue(), "123456", 'pasting "123 456" into the code field');
  }));

test("the resend button counts down before it can be used", () =>
  inBrowser("the resend button counts down before it can be used", async (s) => {
    const { page, watcher } = s;
    await signUp(page, watcher, { name: "Rosa Resend", email: "rosa@example.com", password: PASSWORD });
    const button = page.locator('form[action="/verify/resend"] [data-countdown-seconds]');
    await assert.doesNotReject(button.waitFor({ timeout: 3000 }), "the resend button carries no data-countdown-seconds");
    const seconds = Number(await button.getAttribute("data-countdown-seconds"));
    assert.ok(seconds > 2, `data-countdown-seconds is ${seconds}; a code was just sent, so a wait is due`);
    assert.ok(await button.isDisabled(), "the resend button is usable while the countdown runs");
    const number = async () => Number((/(\d+)/.exec(await button.innerText()) || [])[1]);
    const first = await until(number, `the resend button shows no countdown: "${await button.innerText()}"`, 2000);
    assert.ok(first <= seconds, `the countdown shows ${first}, more than the ${seconds} s the server gave`);
    await until(async () => (await number()) < first, `the countdown stays at ${first}`, 3000);
  }));

test("flashes dismiss themselves after 5 s, wait while hovered or focused, and close on click", () =>
  inBrowser("flashes dismiss themselves after 5 s, wait while hovered or focused, and close on click", async (s) => {
    const { page, watcher } = s;
    await signUpVerified(page, watcher, { name: "Fay Flash", email: "fay@example.com", password: PASSWORD });
    const flash = page.locator(".flashes[role=status][aria-live=polite] .flash");
    const signOutAndSee = async () => {
      await signOut(page, watcher);
      await page.mouse.move(0, 0);
      await assert.doesNotReject(flash.first().waitFor({ state: "visible", timeout: 2000 }), "no visible flash after signing out");
      assert.match(await flash.first().innerText(), /signed out/i, "the flash after signing out does not say so");
      return Date.now();
    };
    const signInAgain = () => signIn(page, watcher, "fay@example.com", PASSWORD);

    // Untouched: gone about 5 s after the page showed it.
    let shown = await signOutAndSee();
    await until(async () => (await flash.count()) === 0, "the flash is still in the page 8 s after it appeared", 8000);
    const lasted = Date.now() - shown;
    assert.ok(lasted >= 3500, `the flash went after ${lasted} ms, well before the 5 s it should stay`);

    // Hovered, then focused: the timer waits while the pointer is on the flash or focus
    // is in it, and runs again once they leave (the full 5 s or what was left of them).
    const waitsWhile = async (what, enter, leave) => {
      await signInAgain();
      await signOutAndSee();
      await enter();
      await sleep(6500);
      assert.equal(await flash.count(), 1, `the flash went away while ${what}`);
      await leave();
      const left = Date.now();
      await sleep(1500);
      assert.equal(await flash.count(), 1, `the flash went away at once when no longer ${what}`);
      await until(async () => (await flash.count()) === 0, `the flash is still in the page 7 s after it was no longer ${what}`, 5500);
      return Date.now() - left;
    };
    await waitsWhile(
      "the pointer was on it",
      () => flash.first().hover(),
      () => page.mouse.move(0, 0),
    );
    await waitsWhile(
      "its close button had focus",
      () => flash.first().locator("button[data-flash-close]").focus(),
      () => page.evaluate(() => document.activeElement.blur()),
    );

    // Closed: the close button removes it at once.
    await signInAgain();
    shown = await signOutAndSee();
    const close = flash.first().locator("button[data-flash-close]");
    await assert.doesNotReject(close.waitFor({ state: "visible", timeout: 2000 }), "the flash has no visible button[data-flash-close]");
    await close.click();
    await until(async () => (await flash.count()) === 0, "the flash is still there after its close button was clicked", 1000);
    assert.ok(Date.now() - shown < 4000, "the close button took as long as the timer");
  }));

// The admin pages' layout where it broke before: the chart across its card with
// readable labels, the search controls of one height, a row menu inside the card at
// 1280 px even with a column an app adds, and rows stacked as cards at 390 px.
async function adminLayoutHolds(page, watcher) {
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });

    await open(page, watcher, "/admin");
    const chart = await page.evaluate(() => {
      const figure = document.querySelector("figure.chart");
      const bars = [...figure.querySelectorAll(".bar")].map((bar) => bar.getBoundingClientRect());
      const inner = figure.clientWidth - parseFloat(getComputedStyle(figure).paddingLeft) - parseFloat(getComputedStyle(figure).paddingRight);
      return {
        used: (bars.at(-1).right - bars[0].left) / inner,
        fonts: [...figure.querySelectorAll(".week, .count")].map((label) => parseFloat(getComputedStyle(label).fontSize)),
      };
    });
    assert.ok(chart.used >= 0.95, `at ${width} px the chart's bars use ${Math.round(chart.used * 100)} % of their card`);
    assert.ok(Math.min(...chart.fonts) >= 12, `at ${width} px the chart's labels are ${Math.min(...chart.fonts)} px`);

    await open(page, watcher, "/admin/users");
    const controls = await page.evaluate(() =>
      [...document.querySelectorAll("form.search input, form.search select, form.search button")].map((c) => {
        const box = c.getBoundingClientRect();
        return { id: c.id, height: Math.round(box.height), top: Math.round(box.top) };
      }),
    );
    // Side by side from 640 px; below, the button sits under full-width fields.
    const row = width >= 640 ? controls : controls.filter((c) => c.id);
    assert.equal(new Set(row.map((c) => c.height)).size, 1, `at ${width} px the search fields and button differ in height: ${JSON.stringify(controls)}`);
    if (width >= 640) {
      assert.equal(new Set(controls.map((c) => c.top)).size, 1, `at ${width} px the search controls are not aligned: ${JSON.stringify(controls)}`);
    }

    // A column an app adds to the directory (a plan, say).
    await page.evaluate(() => {
      const table = document.querySelector("table.users");
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = "Plan";
      table.querySelector("thead tr").insertBefore(th, table.querySelector("thead th:last-child"));
      for (const row of table.querySelectorAll("tbody tr")) {
        const td = document.createElement("td");
        td.dataset.label = "Plan";
        td.textContent = "Business annual";
        row.insertBefore(td, row.querySelector("td:last-child"));
      }
    });
    const fit = await page.evaluate(() => {
      const card = document.querySelector(".table-wrap").getBoundingClientRect();
      const menus = [...document.querySelectorAll("table.users details[data-row-menu] summary")].map((m) => m.getBoundingClientRect().right);
      const cells = [...document.querySelector("table.users tbody tr").children].map((td) => Math.round(td.getBoundingClientRect().left));
      return {
        card: card.right,
        menus,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        stacked: new Set(cells).size === 1,
      };
    });
    assert.equal(fit.overflow, 0, `at ${width} px the user directory with one more column is wider than the screen`);
    assert.ok(fit.menus.length > 0 && fit.menus.every((right) => right <= fit.card), `at ${width} px a row's action menu is past the card's edge (${fit.card}): ${JSON.stringify(fit.menus)}`);
    if (width < 768) assert.ok(fit.stacked, `at ${width} px the directory's rows are not stacked`);
    else assert.ok(!fit.stacked, `at ${width} px the directory's rows are stacked instead of a table`);

    // An open menu stays on the screen; Escape closes it and gives the focus back.
    const menu = page.locator("table.users details[data-row-menu]").first();
    await menu.locator("summary").click();
    const box = await menu.locator(".menu").boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= width, `at ${width} px an open row menu is off the screen: ${JSON.stringify(box)}`);
    await page.keyboard.press("Escape");
    assert.equal(await menu.evaluate((d) => d.open), false, `at ${width} px Escape does not close the row menu`);
    assert.equal(await menu.locator("summary").evaluate((s) => s === document.activeElement), true, `at ${width} px Escape leaves the focus off the menu's button`);

    await open(page, watcher, "/admin/audit");
    const audit = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      // Empty cells (no one acted on) are left out of a row's card.
      cells: [...document.querySelector("table.audit tbody tr").children]
        .filter((td) => td.getClientRects().length > 0)
        .map((td) => Math.round(td.getBoundingClientRect().left)),
    }));
    assert.equal(audit.overflow, 0, `at ${width} px the audit log is wider than the screen`);
    if (width < 768) assert.equal(new Set(audit.cells).size, 1, `at ${width} px the audit log's rows are not stacked`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

test("admin pages, and destructive actions ask first", async () => {
  // The user the administrator acts on, signed up in a browser of its own.
  const target = { name: "Tom Target", email: "tom@example.com", password: PASSWORD };
  await inBrowser("signing up the user the administrator acts on", (t) => signUpVerified(t.page, t.watcher, target));

  await inBrowser("admin pages, and destructive actions ask first", async (s) => {
    const { page, watcher } = s;
    await signIn(page, watcher, settings.adminEmail, settings.adminPassword);
    await open(page, watcher, "/admin");
    await s.check("admin-dashboard");
    await open(page, watcher, "/admin/audit");
    await assert.doesNotReject(
      page.getByText(settings.adminEmail).first().waitFor({ timeout: 2000 }),
      "the audit log does not show the administrator's own sign-in",
    );
    await s.check("admin-audit");
    await open(page, watcher, "/admin/mail");
    await s.check("admin-mail");
    await open(page, watcher, "/admin/users");
    await s.check("admin-users");
    await adminLayoutHolds(page, watcher);

    const listUrl = `/admin/users?q=${encodeURIComponent(target.email)}`;
    await open(page, watcher, listUrl);
    const row = page.locator("tr", { hasText: target.email });
    assert.equal(await row.count(), 1, `the search for ${target.email} does not show exactly one row`);
    const posts = [];
    page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));

    // Clicks the button of `action`, answers the dialog with `accept`, returns its message.
    const act = async (action, accept) => {
      const form = row.locator(`form[data-confirm][action$="/${action}"]`);
      assert.equal(await form.count(), 1, `no form[data-confirm] for "${action}" in ${target.email}'s row`);
      await row.locator("details[data-row-menu] summary").click();
      assert.ok(await form.isVisible(), `opening ${target.email}'s action menu does not show "${action}"`);
      const dialog = new Promise((resolve) => {
        page.once("dialog", async (d) => {
          const seen = { type: d.type(), message: d.message() };
          if (accept) await d.accept();
          else await d.dismiss();
          resolve(seen);
        });
      });
      posts.length = 0;
      const navigation = accept ? page.waitForNavigation() : null;
      await form.locator("button[type=submit]").click();
      const seen = await Promise.race([dialog, sleep(3000).then(() => null)]);
      assert.ok(seen, `clicking "${action}" asked nothing before acting`);
      assert.equal(seen.type, "confirm", `clicking "${action}" opened a ${seen.type}, not a confirm dialog`);
      assert.ok(seen.message.includes(target.email), `the "${action}" question does not name the user: ${seen.message}`);
      if (navigation) await navigation;
      else {
        await sleep(1000);
        assert.deepEqual(posts, [], `"${action}" was sent although the dialog was cancelled`);
      }
      return seen.message;
    };

    await act("disable", false);
    await open(page, watcher, listUrl);
    assert.equal(await row.getByText("Disabled", { exact: true }).count(), 0, "the user is disabled although the dialog was cancelled");
    await act("disable", true);
    assert.equal(await row.getByText("Disabled", { exact: true }).count(), 1, "the user is not shown as disabled after confirming");
    const done = await page.locator(".flashes .flash").allInnerTexts();
    assert.ok(done.some((t) => t.includes(target.email)), `no flash tells what was done: ${JSON.stringify(done)}`);

    await act("delete", false);
    await open(page, watcher, listUrl);
    assert.equal(await row.count(), 1, "the user is gone although deleting was cancelled");
    await act("delete", true);
    await open(page, watcher, listUrl);
    assert.equal(await row.count(), 0, "the user is still listed after confirming the deletion");
  });
});

test("too many form posts show the 429 page", () =>
  inBrowser("too many form posts show the 429 page", async (s) => {
    const { page, watcher } = s;
    // This instance allows one form post per address, then answers 429.
    await open(page, watcher, `${settings.limitedBaseUrl}/login`);
    const attempt = async (status) => {
      await page.locator("input[name=email]").fill("nobody@example.com");
      await page.locator("input[name=password]").fill("Not-The-Password-1");
      return submit(page, watcher, 'form[action^="/login"]:not([data-passkey-form]) button[type=submit]', status);
    };
    await attempt(422);
    await attempt(429);
    await s.check("error-429");
  }));

// Presses Tab until `selector` has the focus, checking on the way that every element
// that takes the focus shows it (an outline or a ring), as keyboard users need.
async function tabTo(page, selector, most = 25) {
  for (let presses = 0; presses < most; presses++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate((wanted) => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      // What focus changes: an outline or a ring that the element lacks without it.
      const look = () => {
        const style = getComputedStyle(el);
        const outline = style.outlineStyle === "none" || parseFloat(style.outlineWidth) === 0 ? "none" : `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`;
        return `${outline} | ${style.boxShadow}`;
      };
      const focusedLook = look();
      el.blur();
      const blurredLook = look();
      el.focus();
      const name = el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "") + (el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "");
      return { name, text: (el.innerText || "").trim().slice(0, 40), visible: focusedLook !== blurredLook, done: el.matches(wanted) };
    }, selector);
    if (!focused) continue;
    assert.ok(focused.visible, `${focused.name} "${focused.text}" on ${page.url()} takes the focus without showing it`);
    if (focused.done) return;
  }
  assert.fail(`${selector} on ${page.url()} was not reached with ${most} presses of Tab`);
}

test("keyboard only: skip link, sign-up, code and the dashboard without a mouse", () =>
  inBrowser("keyboard only: skip link, sign-up, code and the dashboard without a mouse", async (s) => {
    const { page, watcher } = s;
    const user = { name: "Kim Keys", email: "kim@example.com", password: PASSWORD };
    await open(page, watcher, "/");
    await page.keyboard.press("Tab");
    const first = await page.evaluate(() => document.activeElement?.innerText?.trim());
    assert.equal(first, "Skip to content", `the first Tab stop on the home page is ${JSON.stringify(first)}`);
    await page.keyboard.press("Enter");
    assert.equal(new URL(page.url()).hash, "#main", "the skip link does not lead to the content");

    await open(page, watcher, "/signup");
    await tabTo(page, "input[name=name]");
    await page.keyboard.type(user.name);
    await tabTo(page, "input[name=email]");
    await page.keyboard.type(user.email);
    await tabTo(page, "input[name=password]");
    await page.keyboard.type(user.password);
    await tabTo(page, "input[name=password_confirmation]");
    await page.keyboard.type(user.password);
    await Promise.all([page.waitForURL(/\/verify$/), page.keyboard.press("Enter")]);

    await tabTo(page, "input#code");
    await page.keyboard.type(await codeFromMail(user.email));
    await Promise.all([page.waitForURL(/\/dashboard$/), page.keyboard.press("Enter")]);
    // The flash's close button works from the keyboard too.
    await tabTo(page, "[data-flash-close]");
    await page.keyboard.press("Enter");
    assert.equal(await page.locator(".flashes .flash").count(), 0, "Enter on the flash's close button left it there");
  }));
