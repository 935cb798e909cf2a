// The frontend of `make browser-check`: Apollo Client 4 (with the persisted-queries link, GET for
// hashed queries) and urql 6, in a page served from another origin than the API. The runner
// (run.mjs) calls window.runChecks and reads back what each request did; the page also shows
// the results, for the screenshot.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWsClient } from "graphql-ws";

// Every request the clients make, as the page sees it (preflights are the browser's own).
const traffic = [];
const browserFetch = window.fetch.bind(window);
window.fetch = async (input, init = {}) => {
  const url = new URL(typeof input === "string" ? input : input.url);
  const method = (init.method || "GET").toUpperCase();
  const body = typeof init.body === "string" ? JSON.parse(init.body) : null;
  const entry = {
    method,
    hashed: (url.searchParams.get("extensions") || JSON.stringify(body?.extensions || {})).includes(
      "sha256Hash",
    ),
    withText: Boolean(url.searchParams.get("query") || body?.query),
    status: null,
    errorCodes: [],
    failed: null,
  };
  traffic.push(entry);
  try {
    const response = await browserFetch(input, init);
    entry.status = response.status;
    const text = await response.clone().text();
    try {
      entry.errorCodes = (JSON.parse(text).errors || []).map((e) => e.extensions?.code);
    } catch {}
    return response;
  } catch (error) {
    entry.failed = String(error);
    throw error;
  }
};

async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function apollo(api, token) {
  const http = new HttpLink({
    uri: api,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return new ApolloClient({
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http),
    cache: new InMemoryCache(),
    clientAwareness: { name: "browser-check", version: "1.0.0" },
  });
}

function urql(api, token) {
  return new Client({
    url: api,
    exchanges: [cacheExchange, fetchExchange],
    requestPolicy: "network-only",
    fetchOptions: () => ({ headers: token ? { authorization: `Bearer ${token}` } : {} }),
  });
}

// Subscriptions: graphql-transport-ws on the same URL, ws: instead of http:.
function wsClient(api, token) {
  return createWsClient({
    url: api.replace(/^http/, "ws"),
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
}

function apolloWs(api, token) {
  return new ApolloClient({ link: new GraphQLWsLink(wsClient(api, token)), cache: new InMemoryCache() });
}

function urqlWs(api, token) {
  const ws = wsClient(api, token);
  return new Client({
    url: api,
    exchanges: [
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || "" };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
        },
      }),
    ],
  });
}

// The values a subscription delivers, one promise per value, in order.
function queue() {
  const values = [];
  const waiters = [];
  return {
    push(value) {
      const waiter = waiters.shift();
      if (waiter) waiter(value);
      else values.push(value);
    },
    next(ms = 10000) {
      if (values.length) return Promise.resolve(values.shift());
      return new Promise((resolve, reject) => {
        waiters.push(resolve);
        setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
      });
    },
  };
}

const LOGIN = gql`
  mutation BrowserCheckLogin($input: LoginInput!) {
    login(input: $input) { accessToken errors { code } }
  }
`;
const CREATE_PRODUCT = gql`
  mutation BrowserCheckCreate($input: CreateProductInput!) {
    createProduct(input: $input) { product { id } errors { code } }
  }
`;
const SET_STOCK = gql`
  mutation BrowserCheckStock($id: ID!, $stock: Int!) {
    updateProduct(id: $id, input: { stock: $stock }) { product { id } errors { code } }
  }
`;
const PRODUCT_UPDATED = `
  subscription BrowserCheckLive($ids: [ID!]!) { productUpdated(ids: $ids) { id inStock } }
`;

// A published product made by staff, whose stock the checks then change.
async function staffProduct(api, staff) {
  const anonymous = apollo(api);
  const { data } = await anonymous.mutate({ mutation: LOGIN, variables: { input: staff } });
  expect(data.login.errors.length === 0, `staff login: ${JSON.stringify(data.login.errors)}`);
  const token = data.login.accessToken;
  const client = apollo(api, token);
  const sku = `BC-${Date.now()}`;
  const created = await client.mutate({
    mutation: CREATE_PRODUCT,
    variables: { input: { name: "Live mug", sku, price: "9.99", stock: 3, status: "PUBLISHED" } },
  });
  expect(created.data.createProduct.errors.length === 0, "createProduct refused");
  const id = created.data.createProduct.product.id;
  const setStock = (stock) => client.mutate({ mutation: SET_STOCK, variables: { id, stock } });
  return { id, setStock };
}

// One client's subscription: the current state first, then the change a mutation made.
async function subscriptionCheck(name, api, staff, subscribe) {
  return check(name, async () => {
    const product = await staffProduct(api, staff);
    const events = queue();
    const stop = subscribe(product.id, events.push);
    try {
      const first = await events.next();
      expect(first.id === product.id && first.inStock === true, `first: ${JSON.stringify(first)}`);
      await product.setStock(0);
      const changed = await events.next();
      expect(changed.inStock === false, `change: ${JSON.stringify(changed)}`);
      return `productUpdated: inStock ${first.inStock} → ${changed.inStock} after updateProduct`;
    } finally {
      stop();
    }
  });
}

// Named per run: the server's store must not know it yet (it outlives a run).
const GREETING = gql(`query BrowserCheckGreeting${Date.now()} { products(first: 3) { totalCount } }`);
const REGISTER = gql`
  mutation BrowserCheckRegister($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      user {
        email
      }
      errors {
        code
      }
    }
  }
`;
const ME = "query BrowserCheckMe { me { email } }";

// One check: its name, whether it passed, what was seen.
async function check(name, body) {
  const before = traffic.length;
  try {
    const detail = await body();
    return { name, ok: true, detail, requests: traffic.slice(before) };
  } catch (error) {
    return { name, ok: false, detail: String(error?.message || error), requests: traffic.slice(before) };
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

// From the allowed origin: APQ round trip, sign-up, authenticated queries with both clients,
// and a subscription with each.
async function allowedChecks(api, staff) {
  const results = [];
  results.push(
    await subscriptionCheck("Apollo Client: GraphQLWsLink subscription gets productUpdated", api, staff, (id, push) => {
      const observable = apolloWs(api).subscribe({ query: gql(PRODUCT_UPDATED), variables: { ids: [id] } });
      const subscription = observable.subscribe({ next: (result) => push(result.data.productUpdated) });
      return () => subscription.unsubscribe();
    }),
  );
  results.push(
    await subscriptionCheck("urql: subscriptionExchange (graphql-ws) gets productUpdated", api, staff, (id, push) => {
      const { unsubscribe } = urqlWs(api)
        .subscription(PRODUCT_UPDATED, { ids: [id] })
        .subscribe((result) => result.data && push(result.data.productUpdated));
      return unsubscribe;
    }),
  );
  const anonymous = apollo(api);
  results.push(
    await check("Apollo Client: APQ, hash first, then retry with the query", async () => {
      const { data } = await anonymous.query({ query: GREETING, fetchPolicy: "network-only" });
      expect(data.products.totalCount >= 0, "no data");
      const seen = traffic.slice(-2);
      expect(seen.length === 2, `expected 2 requests, saw ${seen.length}`);
      const [first, retry] = seen;
      expect(first.method === "GET" && first.hashed && !first.withText, "first: hash-only GET");
      expect(first.errorCodes.includes("PERSISTED_QUERY_NOT_FOUND"), "first: not found");
      expect(retry.method === "POST" && retry.hashed && retry.withText, "retry: POST with query");
      expect(retry.status === 200 && retry.errorCodes.length === 0, "retry: data");
      return `GET hash → ${first.errorCodes[0]}; POST hash+query → ${retry.status}`;
    }),
  );
  results.push(
    await check("Apollo Client: APQ, later a hash-only GET succeeds", async () => {
      const { data } = await anonymous.query({ query: GREETING, fetchPolicy: "network-only" });
      expect(data.products.totalCount >= 0, "no data");
      const [last] = traffic.slice(-1);
      expect(last.method === "GET" && last.hashed && !last.withText, "hash-only GET");
      expect(last.status === 200 && last.errorCodes.length === 0, "answered");
      return `GET hash only → ${last.status}, totalCount ${data.products.totalCount}`;
    }),
  );
  let token = null;
  let email = `browser-${Date.now()}@example.com`;
  results.push(
    await check("Apollo Client: a mutation (POST) signs up", async () => {
      const { data } = await anonymous.mutate({
        mutation: REGISTER,
        variables: { input: { email, name: "Browser", password: "correct horse battery staple" } },
      });
      expect(data.register.errors.length === 0, JSON.stringify(data.register.errors));
      token = data.register.accessToken;
      expect(traffic.slice(-1)[0].method === "POST", "mutations are POSTed");
      return `registered ${data.register.user.email}`;
    }),
  );
  results.push(
    await check("Apollo Client: authenticated query (Authorization: Bearer)", async () => {
      const { data } = await apollo(api, token).query({ query: gql(ME) });
      expect(data.me?.email === email, `me is ${JSON.stringify(data.me)}`);
      return `me.email = ${data.me.email}`;
    }),
  );
  results.push(
    await check("urql: authenticated query (Authorization: Bearer)", async () => {
      const result = await urql(api, token).query(ME, {}).toPromise();
      expect(!result.error, String(result.error));
      expect(result.data.me?.email === email, `me is ${JSON.stringify(result.data.me)}`);
      return `me.email = ${result.data.me.email} (${traffic.slice(-1)[0].method})`;
    }),
  );
  results.push(
    await check("urql: anonymous query", async () => {
      const result = await urql(api, null).query("{ products(first: 1) { totalCount } }", {}).toPromise();
      expect(!result.error, String(result.error));
      return `totalCount ${result.data.products.totalCount}`;
    }),
  );
  return results;
}

// From an origin the API does not allow: the browser must refuse every answer.
async function refusedChecks(api) {
  return [
    await check("graphql-ws from a disallowed origin is refused at the handshake", async () => {
      const closed = await new Promise((resolve) => {
        const ws = createWsClient({ url: api.replace(/^http/, "ws"), retryAttempts: 0, lazy: false });
        ws.on("closed", (event) => resolve(event));
      });
      expect(closed.code !== 1000, `closed with ${closed.code}`);
      return `WebSocket closed with ${closed.code} before connection_ack`;
    }),
    await check("Apollo Client from a disallowed origin is refused", async () => {
      let failed = null;
      try {
        await apollo(api).query({ query: GREETING, fetchPolicy: "network-only" });
      } catch (error) {
        failed = String(error?.message || error);
      }
      expect(failed !== null, "the request succeeded");
      expect(traffic.slice(-1)[0].failed, "not a network (CORS) failure");
      return `refused: ${failed}`;
    }),
    await check("urql with a bearer token from a disallowed origin is refused", async () => {
      const result = await urql(api, "x").query(ME, {}).toPromise();
      expect(result.error?.networkError, "expected a network (CORS) error");
      return `refused: ${result.error.message}`;
    }),
  ];
}

function show(results) {
  const table = document.getElementById("results");
  for (const result of results) {
    const row = table.insertRow();
    row.className = result.ok ? "pass" : "fail";
    row.insertCell().textContent = result.ok ? "PASS" : "FAIL";
    row.insertCell().textContent = result.name;
    row.insertCell().textContent = result.detail;
  }
}

window.runChecks = async ({ api, expectAllowed, staff }) => {
  document.getElementById("origin").textContent = `${location.origin} → ${api}`;
  const results = expectAllowed ? await allowedChecks(api, staff) : await refusedChecks(api);
  show(results);
  return results;
};
