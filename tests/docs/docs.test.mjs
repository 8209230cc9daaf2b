// The interactive API docs page (/docs) in Debian's headless Chromium, driven by playwright-core:
//
//   1. the page shows every operation of the OpenAPI document the server serves;
//   2. "Try it out" on GET /health/ready works: open the operation, "Try it out", "Execute", and
//      the live response on the page reads 200.
//
// The page gets no network but the API on 127.0.0.1: every other request is aborted, recorded,
// and fails the test, because the docs must work on a machine with no internet (the Swagger UI
// assets are vendored into the binary).
//
// Environment: CASEBRIDGE_URL (e.g. http://127.0.0.1:8080, a running server), optionally
// CHROMIUM_PATH (default /usr/bin/chromium) and DOCS_REPORT (a file to receive the findings as
// JSON, which tests/docs/render.sh turns into its summary line).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE_URL = (process.env.CASEBRIDGE_URL ?? "").replace(/\/+$/, "");
if (!BASE_URL) throw new Error("CASEBRIDGE_URL must be set (see tests/docs/render.sh)");
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

// The machine may have two busy cores: generous, but every wait has an end.
const LAUNCH_TIMEOUT_MS = 45_000;
const PAGE_TIMEOUT_MS = 45_000;
const ACTION_TIMEOUT_MS = 20_000;

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Requests of the browser itself (not of the page) never reach the route handler below; this
  // makes every host name but the API's address unresolvable for them too.
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
];

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** Requests the page attempted to anything but the API; each one fails the test. */
const blocked = [];
/** Requests to the API that failed anyway, JavaScript errors and console errors, for diagnosis. */
const troubles = [];
const report = { operations: 0, expected: 0, missing: [], tryItOutStatus: null, blocked };

let browser;
let page;

before(async () => {
  browser = await launch();
  const context = await browser.newContext({ serviceWorkers: "block" });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(PAGE_TIMEOUT_MS);
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLocal(url)) return route.continue();
    blocked.push(`${route.request().method()} ${url}`);
    return route.abort("blockedbyclient");
  });
  page = await context.newPage();
  page.on("pageerror", (error) => troubles.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") troubles.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => {
    if (isLocal(request.url())) {
      troubles.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`);
    }
  });
});

after(async () => {
  if (blocked.length > 0) {
    console.error(`requests to hosts other than 127.0.0.1 (blocked):\n  ${blocked.join("\n  ")}`);
  }
  if (troubles.length > 0) console.error(`seen in the browser:\n  ${troubles.join("\n  ")}`);
  await browser?.close();
  if (process.env.DOCS_REPORT) writeFileSync(process.env.DOCS_REPORT, JSON.stringify(report));
});

test("/docs shows every operation of the OpenAPI document, with no network but 127.0.0.1", async () => {
  const documented = await documentedOperations();
  report.expected = documented.length;
  assert.ok(documented.length > 0, "the OpenAPI document has operations");

  const answer = await page.goto(`${BASE_URL}/docs/`, { waitUntil: "load" });
  assert.equal(answer?.status(), 200, "GET /docs/ answers 200");
  // Swagger UI fetches the document after load and then renders every operation at once.
  await page
    .waitForFunction((n) => document.querySelectorAll(".opblock").length >= n, documented.length, {
      timeout: PAGE_TIMEOUT_MS,
    })
    .catch(() => {});

  const shown = new Set(
    await page.$$eval(".opblock", (blocks) =>
      blocks.map((block) => {
        const method = block.querySelector(".opblock-summary-method")?.textContent ?? "";
        const path = block.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
        return `${method.trim().toUpperCase()} ${path}`;
      }),
    ),
  );
  report.operations = shown.size;
  report.missing = documented.filter((operation) => !shown.has(operation));
  assert.deepEqual(report.missing, [], "every documented operation is on the page");
  assert.equal(shown.size, documented.length, "the page shows no operation the document lacks");
  assert.deepEqual(blocked, [], "the page needs nothing outside 127.0.0.1");
});

test('"Try it out" on GET /health/ready shows the live answer 200', async () => {
  const operation = page
    .locator(".opblock.opblock-get")
    .filter({ has: page.locator('.opblock-summary-path[data-path="/health/ready"]') });
  await operation.locator(".opblock-summary").first().click();
  await operation.locator("button.try-out__btn").click();

  const served = page.waitForResponse(
    (response) => new URL(response.url()).pathname === "/health/ready" && response.request().method() === "GET",
    { timeout: ACTION_TIMEOUT_MS },
  );
  await operation.locator("button.execute").click();
  assert.equal((await served).status(), 200, "the server answered the page's request with 200");

  const live = operation.locator(".live-responses-table tbody .response-col_status").first();
  await live.waitFor({ state: "visible" });
  report.tryItOutStatus = (await live.innerText()).trim();
  assert.equal(report.tryItOutStatus, "200", "the page shows the live response code 200");
  const body = await operation.locator(".live-responses-table tbody .response-col_description").first().innerText();
  assert.match(body, /"status":\s*"ok"/, "the page shows the answer's body");
  assert.deepEqual(blocked, [], "the page needs nothing outside 127.0.0.1");
});

/** "METHOD /path" of every operation in the document the server serves. */
async function documentedOperations() {
  const answer = await fetch(`${BASE_URL}/api/v1/openapi.json`, { signal: AbortSignal.timeout(ACTION_TIMEOUT_MS) });
  assert.equal(answer.status, 200, "GET /api/v1/openapi.json answers 200");
  const document = await answer.json();
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.has(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** Chromium can be slow to start on a loaded machine: one more try before giving up. */
async function launch() {
  const options = { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS };
  try {
    return await chromium.launch(options);
  } catch (error) {
    console.error(`chromium did not start, trying once more: ${error.message}`);
    return chromium.launch(options);
  }
}

/** @param {string} url */
function isLocal(url) {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:") return true;
  return (protocol === "http:" || protocol === "https:") && hostname === "127.0.0.1";
}
