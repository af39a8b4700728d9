// What every browser test shares: the settings the harness passes, the browser, the
// checks run on every page (console errors, uncaught exceptions, CSP violations, axe-core,
// screenshots), the mailbox the SMTP test server writes, and small waiting helpers.

import { readFileSync, readdirSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set. Run the browser tests through the harness: cargo test --test browser`,
    );
  }
  return value;
}

export const settings = {
  baseUrl: required("BROWSER_BASE_URL").replace(/\/$/, ""),
  limitedBaseUrl: required("BROWSER_LIMITED_BASE_URL").replace(/\/$/, ""),
  mailDir: required("BROWSER_MAIL_DIR"),
  screenshots: required("BROWSER_SCREENSHOTS"),
  adminEmail: required("BROWSER_ADMIN_EMAIL"),
  adminPassword: required("BROWSER_ADMIN_PASSWORD"),
  chromium: process.env.BROWSER_CHROMIUM || "/usr/bin/chromium",
};

export const WIDTHS = [390, 1280];
const SERIOUS = new Set(["serious", "critical"]);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export function launch() {
  return chromium.launch({
    executablePath: settings.chromium,
    headless: true,
    // The app runs at http://localhost:PORT (passkeys need a domain, not an address);
    // localhost goes to the IPv4 address the app listens on.
    args: ["--no-sandbox", "--host-resolver-rules=MAP localhost 127.0.0.1"],
  });
}

// A browser context whose pages are all watched: every console error, uncaught
// exception and Content-Security-Policy violation is recorded with its page's URL.
export async function watchedContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const watcher = new Watcher();
  // The page's own listener, so a violation is caught even if the browser stopped
  // reporting it on the console; it reports through the console, which is watched.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(
        `CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "(inline)"}` +
          ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}`,
      );
    });
  });
  context.on("page", (page) => watcher.watch(page));
  return { context, watcher };
}

class Watcher {
  constructor() {
    this.problems = [];
    // "url status" of the documents the tests expected to fail (error pages).
    this.expectedStatuses = new Set();
    this.seen = [];
  }

  watch(page) {
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location()?.url || page.url();
      this.problems.push({ kind: "console error", url: where, page: page.url(), text: message.text() });
    });
    page.on("pageerror", (error) => {
      this.problems.push({ kind: "uncaught exception", url: page.url(), page: page.url(), text: String(error.stack || error) });
    });
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) this.seen.push(frame.url());
    });
  }

  expectStatus(url, status) {
    this.expectedStatuses.add(`${url} ${status}`);
  }

  // Chromium reports a document answered with 4xx on the console ("Failed to load
  // resource"); for an error page the test asked for, that is the point.
  expected(problem) {
    const failed = /^Failed to load resource: the server responded with a status of (\d{3})/.exec(problem.text);
    return problem.kind === "console error" && failed && this.expectedStatuses.has(`${problem.url} ${failed[1]}`);
  }

  // The console errors, exceptions and CSP violations not reported yet, as one message
  // (null when there are none); each is reported once.
  take(what) {
    const problems = this.problems.filter((p) => !p.reported && !this.expected(p));
    problems.forEach((p) => (p.reported = true));
    if (!problems.length) return null;
    const lines = problems.map((p) => `  - ${p.kind} on ${p.page} (from ${p.url}): ${p.text}`);
    return `${what}: ${problems.length} console error(s), exception(s) or CSP violation(s):\n${lines.join("\n")}`;
  }
}

// Goes to `url` and checks that the document answered `status`.
export async function open(page, watcher, url, status = 200) {
  const absolute = url.startsWith("http") ? url : settings.baseUrl + url;
  const response = await page.goto(absolute);
  if (!response) throw new Error(`no response for ${absolute}`);
  if (response.status() !== status) {
    throw new Error(`${absolute} answered ${response.status()}, expected ${status}`);
  }
  if (status >= 400) watcher.expectStatus(response.url(), status);
  return response;
}

// Every page gets these: axe-core at both widths (no serious or critical violation),
// full-page screenshots named <name>-<width>.png, and no console error, uncaught
// exception or CSP violation. Returns the problems found (strings), so one run reports
// every page and writes every screenshot.
export async function checkPage(page, watcher, name) {
  await page.waitForLoadState("load");
  await page.evaluate(() => document.fonts.ready.then(() => true));
  const violations = new Map();
  mkdirSync(settings.screenshots, { recursive: true });
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
    for (const v of await axe(page)) {
      if (!violations.has(v.id)) violations.set(v.id, { ...v, widths: [] });
      violations.get(v.id).widths.push(width);
    }
    await page.screenshot({ path: path.join(settings.screenshots, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
  const problems = [];
  if (violations.size) {
    const lines = [...violations.values()].map(
      (v) =>
        `  - ${v.id} (${v.impact}, at ${v.widths.join(" and ")} px): ${v.help}\n    ${v.helpUrl}\n` +
        v.nodes.map((n) => `    element ${n.target.join(" ")}: ${n.summary.replace(/\n\s*/g, " ")}`).join("\n"),
    );
    problems.push(`page "${name}" (${page.url()}): axe-core found ${violations.size} serious or critical violation(s):\n${lines.join("\n")}`);
  }
  const seen = watcher.take(`page "${name}" (${page.url()})`);
  if (seen) problems.push(seen);
  return problems;
}

async function axe(page) {
  // Injected with evaluate: the app's CSP (script-src 'self') refuses script tags.
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.evaluate(axeSource);
  }
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return results.violations
    .filter((v) => SERIOUS.has(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary || n.html })),
    }));
}

// Polls `probe` until it returns a truthy value; throws `message` (with the last value)
// when it does not within `timeout` ms.
export async function until(probe, message, timeout = 5000, every = 100) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`${message} (waited ${timeout} ms; last saw ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The mail the SMTP test server accepted for `to`, newest last: the text/plain part of
// each, decoded.
export function mailsTo(to) {
  let files;
  try {
    files = readdirSync(settings.mailDir).filter((f) => f.endsWith(".eml"));
  } catch {
    return [];
  }
  return files
    .map((f) => {
      const file = path.join(settings.mailDir, f);
      return { ...parseMail(readFileSync(file, "latin1")), written: statSync(file).mtimeMs };
    })
    .filter((m) => (m.headers.to || "").toLowerCase().includes(to.toLowerCase()))
    .sort((a, b) => a.written - b.written);
}

// Waits for the `nth` mail (1-based) to `to` and returns its text.
export async function waitForMail(to, nth = 1, timeout = 15000) {
  const mails = await until(() => {
    const found = mailsTo(to);
    return found.length >= nth ? found : null;
  }, `no mail #${nth} to ${to} in ${settings.mailDir}`, timeout, 200);
  return mails[nth - 1];
}

function parseMail(raw) {
  const { headers, body } = splitHeaders(raw);
  return { headers, text: partOf(headers, body, "text/plain"), html: partOf(headers, body, "text/html") };
}

function splitHeaders(raw) {
  const end = raw.search(/\r?\n\r?\n/);
  const head = end < 0 ? raw : raw.slice(0, end);
  const body = end < 0 ? "" : raw.slice(end).replace(/^\r?\n\r?\n/, "");
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

// The decoded part of type `wanted` (text/plain, text/html) of a message, or null.
function partOf(headers, body, wanted) {
  const type = headers["content-type"] || "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type);
  if (/^multipart\//i.test(type) && boundary) {
    const parts = body.split(`--${boundary[1]}`).slice(1);
    for (const part of parts) {
      if (part.startsWith("--")) break;
      const inner = splitHeaders(part.replace(/^\r?\n/, ""));
      const found = partOf(inner.headers, inner.body, wanted);
      if (found !== null) return found;
    }
    return null;
  }
  if (!type.toLowerCase().startsWith(wanted)) return null;
  const encoding = (headers["content-transfer-encoding"] || "7bit").toLowerCase();
  let bytes;
  if (encoding === "base64") bytes = Buffer.from(body.replace(/\s+/g, ""), "base64");
  else if (encoding === "quoted-printable") {
    const soft = body.replace(/=\r?\n/g, "");
    bytes = Buffer.from(soft.replace(/=([0-9A-Fa-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))), "latin1");
  } else bytes = Buffer.from(body, "latin1");
  return bytes.toString("utf8");
}
