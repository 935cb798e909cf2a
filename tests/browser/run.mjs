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
    "staff-email": { type: "string" },
    "staff-password": { type: "string" },
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
    staff: { email: args["staff-email"], password: args["staff-password"] },
  });
  await page.screenshot({ path: join(args.out, screenshot), fullPage: true });
  await context.close();
  return { results, preflights: [...preflights.values()], consoleErrors };
}

// GraphiQL, served by the API itself, runs a subscription over its WebSocket (graphql-ws):
// the current state shows, then the change a mutation (sent from here) made.
async function graphiqlSubscription() {
  const name = "GraphiQL (on the API's origin) runs a subscription and shows the event";
  const post = async (query, variables, token) => {
    const headers = { "content-type": "application/json" };
    if (token) headers.authorization = `Bearer ${token}`;
    const response = await fetch(args.api, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    return (await response.json()).data;
  };
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const login = await post("mutation ($input: LoginInput!) { login(input: $input) { accessToken } }", {
      input: { email: args["staff-email"], password: args["staff-password"] },
    });
    const token = login.login.accessToken;
    const created = await post(
      "mutation ($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
      { input: { name: "GraphiQL mug", sku: `GQ-${Date.now()}`, price: "5.00", stock: 2, status: "PUBLISHED" } },
      token,
    );
    const id = created.createProduct.product.id;
    await page.goto(args.api);
    await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: 20000 });
    await page.evaluate((query) => {
      document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(query);
    }, `subscription Live {\n  productUpdated(ids: ["${id}"]) { id name inStock }\n}\n`);
    await page.waitForTimeout(500); // GraphiQL re-reads the operation name after an edit
    await page.click(".graphiql-execute-button");
    const shows = (text) =>
      (document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror.getValue() ?? "").includes(text);
    await page.waitForFunction(shows, '"inStock": true', { timeout: 15000 });
    await post("mutation ($id: ID!) { updateProduct(id: $id, input: {stock: 0}) { product { id } } }", { id }, token);
    await page.waitForFunction(shows, '"inStock": false', { timeout: 15000 });
    await page.screenshot({ path: join(args.out, "graphiql-subscription.png"), fullPage: true });
    return { name, ok: true, detail: "inStock true, then false after updateProduct, in GraphiQL's result pane", origin: new URL(args.api).origin };
  } catch (error) {
    await page.screenshot({ path: join(args.out, "graphiql-subscription.png"), fullPage: true }).catch(() => {});
    return { name, ok: false, detail: String(error?.message || error), origin: new URL(args.api).origin };
  } finally {
    await context.close();
  }
}

const allowed = await visit(allowedOrigin, true, "allowed-origin.png");
const refused = await visit(refusedOrigin, false, "disallowed-origin.png");
const graphiql = await graphiqlSubscription();
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
  graphiql,
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
