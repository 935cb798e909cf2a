/*
 * Catalog API: start-up code for the self-hosted GraphiQL page (see app/graphiql.py).
 *
 * Loaded with <script src> after the vendored React, ReactDOM and GraphiQL UMD builds in
 * /static/graphiql/, which define the React, ReactDOM and GraphiQL globals. The page has no
 * inline script (the Content-Security-Policy forbids it): the GraphQL endpoint comes from
 * the data-endpoint attribute of the #graphiql element.
 *
 * Subscriptions go over a WebSocket (graphql-transport-ws) to the same endpoint, with the
 * vendored graphql-ws client (the graphqlWs global); the Authorization header of the header
 * editor travels in connection_init's payload, as the server expects.
 */
(function () {
  'use strict';

  var root = document.getElementById('graphiql');
  if (!root) {
    return;
  }
  var endpoint = root.getAttribute('data-endpoint') || '/graphql';

  if (
    typeof window.React === 'undefined' ||
    typeof window.ReactDOM === 'undefined' ||
    typeof window.GraphiQL === 'undefined'
  ) {
    root.textContent = 'GraphiQL could not be loaded: /static/graphiql/ is missing files.';
    return;
  }

  // The header editor starts with this placeholder. While it is left as it is, the fetcher
  // below does not send it, so the schema still loads for anonymous queries.
  var PLACEHOLDER_TOKEN = '<paste an access token>';
  var DEFAULT_HEADERS = JSON.stringify({ Authorization: 'Bearer ' + PLACEHOLDER_TOKEN }, null, 2);

  var DEFAULT_QUERY = [
    '# Welcome to the Catalog API GraphiQL.',
    '#',
    '# Run a query with the play button (Ctrl-Enter).',
    '# The Docs panel (left) shows the schema.',
    '#',
    '# Operations that need a signed-in user need an',
    '# access token:',
    '#  1. Run the login mutation (see Docs for its',
    '#     arguments) and copy accessToken from the',
    '#     result.',
    '#  2. In the Headers tab below, replace the',
    '#     placeholder so that it reads',
    '#     {"Authorization": "Bearer <accessToken>"}',
    '#  3. Tokens are short-lived: log in again when',
    '#     requests fail as unauthenticated.',
    '#',
    '# Headers and variables are never saved in the',
    '# browser (history keeps only query texts), so',
    '# put passwords and tokens in variables/headers.',
    '',
    'query Hello {',
    '  __typename',
    '}',
    '',
  ].join('\n');

  var ACCEPT = 'application/graphql-response+json, application/json';

  function isPlaceholder(name, value) {
    return (
      name.toLowerCase() === 'authorization' &&
      typeof value === 'string' &&
      value.indexOf(PLACEHOLDER_TOKEN) !== -1
    );
  }

  // The operation GraphiQL is about to run, from the parsed document it passes along.
  function isSubscription(graphQLParams, opts) {
    var document = opts && opts.documentAST;
    if (!document || !document.definitions) {
      return /^\s*subscription\b/.test(graphQLParams.query || '');
    }
    var operations = document.definitions.filter(function (d) {
      return d.kind === 'OperationDefinition';
    });
    var named = operations.filter(function (d) {
      return d.name && d.name.value === graphQLParams.operationName;
    });
    // No name, or one the document no longer has (just edited): its only operation.
    var chosen = named[0] || (operations.length === 1 ? operations[0] : undefined);
    return Boolean(chosen) && chosen.operation === 'subscription';
  }

  // One WebSocket client per Authorization value: a new token means a new connection.
  var socket = { authorization: undefined, client: null };

  function wsClient(authorization) {
    if (socket.client && socket.authorization === authorization) {
      return socket.client;
    }
    if (socket.client) {
      socket.client.dispose();
    }
    var url = new URL(endpoint, window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket.authorization = authorization;
    socket.client = window.graphqlWs.createClient({
      url: url.href,
      lazy: true,
      connectionParams: authorization ? { authorization: authorization } : {},
    });
    return socket.client;
  }

  // A subscription: an async iterable of results GraphiQL shows one after another.
  function subscribe(graphQLParams, authorization) {
    var client = wsClient(authorization);
    var pending = [];
    var waiting = null;
    var finished = false;
    function push(item) {
      if (waiting) {
        var resolve = waiting;
        waiting = null;
        resolve(item);
      } else {
        pending.push(item);
      }
    }
    var dispose = client.subscribe(
      {
        query: graphQLParams.query,
        variables: graphQLParams.variables,
        operationName: graphQLParams.operationName,
      },
      {
        next: function (value) {
          push({ value: value, done: false });
        },
        error: function (error) {
          var message =
            error instanceof Error
              ? error.message
              : Array.isArray(error)
                ? error.map(function (e) { return e.message; }).join('; ')
                : error && error.code
                  ? 'WebSocket closed: ' + error.code + ' ' + (error.reason || '')
                  : String(error);
          push({ value: { errors: [{ message: message }] }, done: false });
          push({ value: undefined, done: true });
        },
        complete: function () {
          push({ value: undefined, done: true });
        },
      },
    );
    var iterator = {
      next: function () {
        if (finished) {
          return Promise.resolve({ value: undefined, done: true });
        }
        var item = pending.shift();
        var next = item ? Promise.resolve(item) : new Promise(function (r) { waiting = r; });
        return next.then(function (result) {
          finished = finished || result.done;
          return result;
        });
      },
      return: function () {
        finished = true;
        dispose();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  // GraphQL over HTTP: POST a JSON body to the same-origin endpoint. Headers from the
  // header editor override the defaults (Headers.set is case-insensitive).
  async function fetcher(graphQLParams, opts) {
    if (isSubscription(graphQLParams, opts) && window.graphqlWs) {
      var given = (opts && opts.headers) || {};
      var authorization;
      Object.keys(given).forEach(function (name) {
        if (name.toLowerCase() === 'authorization' && !isPlaceholder(name, given[name])) {
          authorization = String(given[name]);
        }
      });
      return subscribe(graphQLParams, authorization);
    }
    var headers = new Headers({ 'Content-Type': 'application/json', Accept: ACCEPT });
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (name) {
      var value = extra[name];
      if (value === undefined || value === null || isPlaceholder(name, value)) {
        return;
      }
      headers.set(name, String(value));
    });

    var response = await fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(graphQLParams),
      credentials: 'same-origin',
    });
    var contentType = response.headers.get('Content-Type') || '';
    if (contentType.indexOf('json') !== -1) {
      return response.json();
    }
    // Not a GraphQL response (a proxy error page, say): show it as an error rather than
    // failing on JSON.parse.
    var text = await response.text();
    return {
      errors: [
        {
          message:
            'HTTP ' + response.status + ' ' + response.statusText + ' (' +
            (contentType || 'no Content-Type') + '): ' + text.slice(0, 1000),
        },
      ],
    };
  }

  // GraphiQL saves its tabs and history in localStorage, headers (Bearer tokens) and variables
  // (passwords) included, whatever "Persist headers" says. Save everything but those.
  function scrubbed(value) {
    try {
      var data = JSON.parse(value);
    } catch (error) {
      return value;
    }
    (function strip(node) {
      if (Array.isArray(node)) {
        node.forEach(strip);
      } else if (node && typeof node === 'object') {
        Object.keys(node).forEach(function (key) {
          if (key === 'headers' || key === 'variables') {
            node[key] = key === 'headers' ? DEFAULT_HEADERS : '';
          } else {
            strip(node[key]);
          }
        });
      }
    })(data);
    return JSON.stringify(data);
  }

  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      if (/(headers|variables)$/.test(key)) {
        return; // the editors' own contents: kept in memory only
      }
      window.localStorage.setItem(key, scrubbed(value));
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    clear: function () {
      window.localStorage.clear();
    },
    get length() {
      return window.localStorage.length;
    },
  };

  var props = {
    fetcher: fetcher,
    storage: storage,
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: DEFAULT_HEADERS,
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: 'headers',
    shouldPersistHeaders: false,
  };

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
