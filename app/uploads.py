"""File uploads on POST /graphql: the GraphQL multipart request spec, safely.

- CSRF: a multipart form is a "simple" request a hostile page can send without a CORS
  preflight, so one must carry a header no form can set (`GraphQL-Require-Preflight`, or
  Apollo's `Apollo-Require-Preflight` / `X-Apollo-Operation-Name`): else 400, before any of
  the body is read.
- Size: the whole request may be MAX_UPLOAD_BYTES (a declared Content-Length over it is 413 at
  once; the bytes are counted while they stream in, 413 as soon as they pass it, before the
  operation runs: nothing is stored). The `operations` and `map` fields keep the 1 MiB cap of
  every other request body.
- Files are spooled by the multipart parser (memory up to 1 MiB, then a temporary file), never
  held whole in memory; the resolver streams them into the file store. They are closed (and
  their temporary files deleted) when the response is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.types import Message
from strawberry.file_uploads.utils import replace_placeholders_with_files

from app.graphql_params import GraphQLParams, HttpError, decode_json, parse_params

MULTIPART = "multipart/form-data"
PREFLIGHT_HEADERS = (
    "graphql-require-preflight",
    "apollo-require-preflight",
    "x-apollo-operation-name",
)
MAX_FILES = 10


def is_multipart(request: Request) -> bool:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return request.method == "POST" and media == MULTIPART


def _too_large(limit: int) -> HttpError:
    return HttpError(413, f"The upload must be at most {limit} bytes.")


def _counting(request: Request, limit: int) -> Request:
    """The request, its body counted as it streams in: past `limit`, 413."""
    received = 0
    receive = request.receive

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _too_large(limit)
        return message

    return Request(request.scope, counted)


def _json_field(form: FormData, name: str) -> Any:
    value = form.get(name)
    if not isinstance(value, str):
        raise HttpError(400, f"A multipart request needs an `{name}` field of JSON.")
    try:
        return decode_json(value)
    except (ValueError, RecursionError) as error:
        raise HttpError(400, f"The `{name}` field must be JSON.") from error


def _files_map(raw: Any, form: FormData) -> dict[str, list[str]]:
    if not isinstance(raw, dict):
        raise HttpError(400, "The `map` field must be a JSON object.")
    files: dict[str, list[str]] = {}
    for key, paths in raw.items():
        if not isinstance(form.get(key), UploadFile):
            raise HttpError(400, f"The `map` names a file {key!r} the request does not carry.")
        if not isinstance(paths, list) or not all(
            isinstance(path, str) and path.startswith("variables.") for path in paths
        ):
            raise HttpError(400, "Each `map` entry must be a list of `variables.…` paths.")
        files[key] = paths
    return files


async def read_multipart(
    request: Request, *, max_upload_bytes: int, max_field_bytes: int
) -> tuple[GraphQLParams, FormData]:
    """The operation of a multipart request with its files in place, and the form (close it)."""
    if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
        raise HttpError(
            400,
            "A multipart request must carry a `GraphQL-Require-Preflight: 1` header "
            "(protection against cross-site request forgery).",
        )
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise HttpError(400, "The Content-Length header must be a number.")
    if declared is not None and int(declared) > max_upload_bytes:
        raise _too_large(max_upload_bytes)
    counted = _counting(request, max_upload_bytes)
    try:
        form = await counted.form(max_files=MAX_FILES, max_fields=10, max_part_size=max_field_bytes)
    except HttpError:
        raise
    except Exception as error:  # starlette's HTTPException: a malformed multipart body
        detail = getattr(error, "detail", None) or "The multipart request is malformed."
        raise HttpError(400, str(detail)) from error
    try:
        operations = _json_field(form, "operations")
        files_map = _files_map(_json_field(form, "map"), form)
        if not isinstance(operations, dict):
            raise HttpError(400, "Batched requests are not supported; send one operation.")
        params = parse_params(operations)
        uploads: Mapping[str, Any] = {key: form.get(key) for key in files_map}
        try:
            placed = replace_placeholders_with_files(
                {"variables": params.variables or {}}, files_map, uploads
            )
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise HttpError(400, "A `map` path names no variable of the operation.") from error
    except HttpError:
        await form.close()
        raise
    return (
        GraphQLParams(
            query=params.query,
            variables=placed["variables"],
            operation_name=params.operation_name,
            extensions=params.extensions,
        ),
        form,
    )
