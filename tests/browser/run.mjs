// The browser half of `make browser-check` (started by check.py, which starts the API):
// bundles page.js, serves this folder on --page-port, and has headless Chromium load the page
// from the allowed origin (http://127.0.0.1:<port>) and from a disallowed one
// (http://localhost:<port>). Prints one line per check and a summary; exit code 0 when all pass.
import { createServer } from "node:http";
import { mkdir, readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { chromium } from "playwright-core";

const { values: args } = parseArgs({
  options: {
    api: { type: "string" },
    "page-port": { type: "string" },
    out: { type: "string", default: "results" },
  },
});
const here = import.meta.dirname;
const port = Number(args["page-port"]);
const allowedOrigin = `http://127.0.0.1:${port}`;
const refusedOrigin = `http://localhost:${port}`;
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

await build({
  entryPoints: [join(here, "page.js")],
  bundle: true,
  format: "iife",
  outfile: join(here, "dist", "page.js"),
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
});

// A tiny static server: this folder only, no listing.
const types = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };
const pages = createServer(async (request, response) => {
  const path = normalize(new URL(request.url, "http://x").pathname).replace(/^\/+/, "");
  if (!["index.html", "dist/page.js"].includes(path || "index.html")) {
    response.writeHead(404).end();
    return;
  }
  const body = await readFile(join(here, path || "index.html"));
  response.writeHead(200, { "content-type": types[extname(path || ".html")] }).end(body);
});
await new Promise((resolve) => pages.listen(port, resolve)); // both 127.0.0.1 and ::1

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: FLAGS,
});
await mkdir(args.out, { recursive: true });

// Visits the page from `origin`; returns its checks plus what the preflights looked like
// (the browser's own requests, seen through the DevTools protocol).
async function visit(origin, expectAllowed, screenshot) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const preflights = new Map();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.requestWillBeSent", (event) => {
    if (event.initiator?.type === "preflight") preflights.set(event.requestId, { status: null, allowOrigin: null });
  });
  cdp.on("Network.responseReceived", (event) => {
    const entry = preflights.get(event.requestId);
    if (!entry) return;
    const headers = Object.fromEntries(
      Object.entries(event.response.headers).map(([k, v]) => [k.toLowerCase(), v]),
    );
    entry.status = event.response.status;
    entry.allowOrigin = headers["access-control-allow-origin"] ?? null;
    entry.allowHeaders = headers["access-control-allow-headers"] ?? null;
  });
  const consoleErrors = [];
  page.on("console", (message) => message.type() === "error" && consoleErrors.push(message.text()));
  await page.goto(`${origin}/index.html`);
  const results = await page.evaluate((options) => window.runChecks(options), {
    api: args.api,
    expectAllowed,
  });
  await page.screenshot({ path: join(args.out, screenshot), fullPage: true });
  await context.close();
  return { results, preflights: [...preflights.values()], consoleErrors };
}

const allowed = await visit(allowedOrigin, true, "allowed-origin.png");
const refused = await visit(refusedOrigin, false, "disallowed-origin.png");
await browser.close();
pages.close();

const okPreflights = allowed.preflights.filter((p) => p.status === 204 && p.allowOrigin === allowedOrigin);
const checks = [
  ...allowed.results.map((r) => ({ ...r, origin: allowedOrigin })),
  {
    name: "CORS preflights from the allowed origin answered 204 with Access-Control-Allow-Origin",
    ok: allowed.preflights.length > 0 && okPreflights.length === allowed.preflights.length,
    detail: `${allowed.preflights.length} preflight(s): ${allowed.preflights
      .map((p) => `${p.status} ${p.allowOrigin}`)
      .join(", ")}`,
    origin: allowedOrigin,
  },
  ...refused.results.map((r) => ({ ...r, origin: refusedOrigin })),
  {
    name: "CORS preflights from the disallowed origin carried no Access-Control-Allow-Origin",
    ok: refused.preflights.length > 0 && refused.preflights.every((p) => p.allowOrigin === null),
    detail: `${refused.preflights.length} preflight(s): ${refused.preflights
      .map((p) => `${p.status} ${p.allowOrigin ?? "(none)"}`)
      .join(", ")}`,
    origin: refusedOrigin,
  },
];

console.log(`\nbrowser check: Chromium ${browser.version()} · API ${args.api}`);
for (const check of checks) {
  console.log(`  ${check.ok ? "PASS" : "FAIL"}  [${check.origin}] ${check.name}\n        ${check.detail}`);
  for (const request of check.requests ?? []) {
    const what = `${request.method}${request.hashed ? " hash" : ""}${request.withText ? " +query" : ""}`;
    const outcome = request.failed ?? `${request.status} ${request.errorCodes.join(",")}`.trim();
    console.log(`          ${what} → ${outcome}`);
  }
}
const failed = checks.filter((check) => !check.ok).length;
console.log(`\n${checks.length - failed} passed, ${failed} failed`);
console.log(`screenshots: ${join(args.out, "allowed-origin.png")}, ${join(args.out, "disallowed-origin.png")}`);
process.exit(failed === 0 ? 0 : 1);
