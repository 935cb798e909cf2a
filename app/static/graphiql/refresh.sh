#!/usr/bin/env bash
# Re-download the vendored GraphiQL / React browser builds from the npm registry with
# `npm pack` and copy the files the GraphiQL page needs into this folder, UNMODIFIED.
#
# Usage (from anywhere):
#   bash app/static/graphiql/refresh.sh
#   GRAPHIQL_VERSION=3.8.3 REACT_VERSION=18.3.1 bash app/static/graphiql/refresh.sh
#
# After a version bump, update the table in README.md, then run the tests:
#   .venv/bin/pytest tests/api/test_graphiql.py -q
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-3.8.3}"
REACT_VERSION="${REACT_VERSION:-18.3.1}"
GRAPHQL_WS_VERSION="${GRAPHQL_WS_VERSION:-5.16.2}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gql-vendor.XXXXXX")"
trap 'rm -rf "$work"' EXIT

cd "$work"
# npm pack checks each tarball against the registry's integrity hash.
npm pack --silent \
  "graphiql@${GRAPHIQL_VERSION}" \
  "react@${REACT_VERSION}" \
  "react-dom@${REACT_VERSION}" \
  "graphql-ws@${GRAPHQL_WS_VERSION}" >/dev/null

unpack() { # unpack NAME VERSION -> ./NAME/package/...
  mkdir -p "$1"
  tar -xzf "$1-$2.tgz" -C "$1"
  local got
  got="$(node -p "require('./$1/package/package.json').version")"
  if [ "$got" != "$2" ]; then
    echo "refresh.sh: expected $1@$2, got $got" >&2
    exit 1
  fi
}
unpack graphiql "$GRAPHIQL_VERSION"
unpack react "$REACT_VERSION"
unpack react-dom "$REACT_VERSION"
unpack graphql-ws "$GRAPHQL_WS_VERSION"

install -m 0644 graphiql/package/graphiql.min.js "$here/graphiql.min.js"
install -m 0644 graphiql/package/graphiql.min.css "$here/graphiql.min.css"
install -m 0644 graphiql/package/LICENSE "$here/LICENSE.graphiql"
install -m 0644 react/package/umd/react.production.min.js "$here/react.production.min.js"
install -m 0644 react/package/LICENSE "$here/LICENSE.react"
install -m 0644 react-dom/package/umd/react-dom.production.min.js \
  "$here/react-dom.production.min.js"
install -m 0644 react-dom/package/LICENSE "$here/LICENSE.react-dom"
install -m 0644 graphql-ws/package/umd/graphql-ws.min.js "$here/graphql-ws.min.js"
install -m 0644 graphql-ws/package/LICENSE.md "$here/LICENSE.graphql-ws"

cd "$here"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js \
  react-dom.production.min.js graphql-ws.min.js LICENSE.graphiql LICENSE.react \
  LICENSE.react-dom LICENSE.graphql-ws >SHA256SUMS

echo "Vendored graphiql@${GRAPHIQL_VERSION}, react@${REACT_VERSION}, react-dom@${REACT_VERSION}," \
  "graphql-ws@${GRAPHQL_WS_VERSION}:"
du -ch graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js \
  graphql-ws.min.js \
  | tail -n 1
