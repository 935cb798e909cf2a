/*
 * Catalog API: start-up code for the self-hosted GraphiQL page (see app/graphiql.py).
 *
 * Loaded with <script src> after the vendored React, ReactDOM and GraphiQL UMD builds in
 * /static/graphiql/, which define the React, ReactDOM and GraphiQL globals. The page has no
 * inline script (the Content-Security-Policy forbids it): the GraphQL endpoint comes from
 * the data-endpoint attribute of the #graphiql element.
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

  // GraphQL over HTTP: POST a JSON body to the same-origin endpoint. Headers from the
  // header editor override the defaults (Headers.set is case-insensitive).
  async function fetcher(graphQLParams, opts) {
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
