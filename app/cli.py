"""The `catalog` command line.

Without DATABASE_URL / REDIS_URL every command uses the embedded development services under
`.data/`, starting them if they are not running (and leaving them running if another process,
such as `make dev`, started them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from app.settings import PROJECT_ROOT, Settings, get_settings

SCHEMA_PATH = PROJECT_ROOT / "schema.graphql"


def with_services(settings: Settings) -> Settings:
    """Settings whose URLs point somewhere: the configured servers, else the embedded ones."""
    if settings.database_url and settings.redis_url:
        return settings
    if settings.is_production:
        raise SystemExit("DATABASE_URL and REDIS_URL must be set in production.")
    from app.devservices import start_dev_services

    services = start_dev_services(settings.data_dir)
    resolved = settings.model_copy(
        update={
            "database_url": settings.database_url or services.database_url,
            "redis_url": settings.redis_url or services.redis_url,
        }
    )
    # Made before any child starts, so every process signs with the same development key.
    resolved.signing_key  # noqa: B018
    # Child processes (uvicorn workers, the arq worker) inherit the resolved URLs.
    os.environ["DATABASE_URL"] = str(resolved.database_url)
    os.environ["REDIS_URL"] = str(resolved.redis_url)
    return resolved


def cmd_migrate(args: argparse.Namespace) -> int:
    from db.migrate import upgrade

    settings = with_services(get_settings())
    assert settings.database_url is not None
    upgrade(settings.database_url, args.revision)
    print(f"database migrated to {args.revision}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.balancer import STARTUP_FAILURE, serve_balanced

    settings = with_services(get_settings())
    config = uvicorn.Config(
        "app.asgi:create",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (app/proxies.py);
        # uvicorn's own handling would trust 127.0.0.1 by default.
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    if config.workers > 1:
        from app.logs import configure_logging

        # One process accepts and deals connections out in turn (app/balancer.py).
        configure_logging(settings.log_level)
        return serve_balanced(config)
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else STARTUP_FAILURE


def cmd_worker(args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from app.worker_supervisor import run_supervised

    settings = with_services(get_settings())
    configure_logging(settings.log_level)
    # Waits out Redis and PostgreSQL outages (app/worker_supervisor.py).
    return asyncio.run(run_supervised(settings, burst=args.burst))


def cmd_export_products(args: argparse.Namespace) -> int:
    from app.job_cli import export_products
    from app.logs import configure_logging

    settings = with_services(get_settings())
    configure_logging("WARNING")
    out = Path(args.out)
    file_format = args.format or ("xlsx" if out.suffix.lower() == ".xlsx" else "csv")
    return asyncio.run(export_products(settings, out, file_format))


def cmd_import_products(args: argparse.Namespace) -> int:
    from app.job_cli import import_products
    from app.logs import configure_logging

    settings = with_services(get_settings())
    configure_logging("WARNING")
    path = Path(args.file)
    if not path.is_file():
        print(f"catalog: no such file: {path}", file=sys.stderr)
        return 2
    return asyncio.run(
        import_products(settings, path, dry_run=args.dry_run, skip_rows=args.on_error == "skip")
    )


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema.root import schema

    sdl = schema.as_str() + "\n"
    path = Path(args.path)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != sdl:
            print(f"{path} is out of date: run `catalog export-schema`", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
        return 0
    path.write_text(sdl)
    print(f"wrote {path}")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from app.demo import create_user

    settings = with_services(get_settings())
    try:
        created = create_user(settings, args.email, args.name, args.password, args.role)
        user_id = asyncio.run(created)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"created {args.role} {args.email} (id {user_id})")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from app.outbox_reader import latest_emails

    settings = with_services(get_settings())
    assert settings.database_url is not None
    print(asyncio.run(latest_emails(settings.database_url, limit=args.limit, to=args.to)))
    return 0


def cmd_documents_register(args: argparse.Namespace) -> int:
    from app.document_registration import register_files

    settings = with_services(get_settings())
    assert settings.database_url is not None
    return register_files(settings.database_url, args.files)


def cmd_seed(args: argparse.Namespace) -> int:
    from app.seed import SeedError, seed_catalog
    from db.migrate import upgrade

    settings = with_services(get_settings())
    assert settings.database_url is not None
    upgrade(settings.database_url)
    seeding = seed_catalog(
        settings.database_url,
        categories=args.categories,
        products=args.products,
        users=args.users,
        reviews=args.reviews,
        seed=args.seed,
        reset=args.reset,
    )
    try:
        summary = asyncio.run(seeding)
    except SeedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary.report())
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    """Everything a developer needs: services, migrations, demo data, API and worker."""
    from app.demo import seed_demo
    from app.seed import seed_dev_catalog
    from db.migrate import upgrade

    settings = with_services(get_settings())
    assert settings.database_url is not None
    upgrade(settings.database_url)
    credentials = asyncio.run(seed_demo(settings))
    if catalog := asyncio.run(seed_dev_catalog(settings.database_url)):
        print(f"Seeded a demo catalog: {catalog}", flush=True)
    executable = [sys.executable, "-m", "app.cli"]
    children = [
        spawn([*executable, "serve", "--host", args.host, "--port", str(args.port)]),
        spawn([*executable, "worker"]),
    ]
    print(
        f"\n  Catalog API  http://{args.host}:{args.port}/graphql  (GraphiQL in a browser)\n"
        f"  Admin        {credentials.email} / {credentials.password}\n"
        f"  PostgreSQL   {settings.database_url}\n"
        f"  Redis        {settings.redis_url}\n"
        "  Ctrl-C stops everything; data stays under .data/\n",
        flush=True,
    )
    return supervise(children)


def spawn(command: list[str]) -> subprocess.Popen[bytes]:
    # A session of its own: Ctrl-C reaches only this supervisor, which stops the children
    # with SIGTERM, so each shuts down once, gracefully, instead of racing the terminal's SIGINT.
    return subprocess.Popen(command, start_new_session=True)  # noqa: S603


def supervise(children: Sequence[subprocess.Popen[bytes]]) -> int:
    """Wait until a child exits or we are interrupted, then stop all children."""
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    # The embedded services, if this process started them, stop at interpreter exit.
    return 0 if stopping else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catalog", description="Catalog API")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run services, migrations, demo data, API and worker")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.set_defaults(func=cmd_dev)

    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (one per core)")
    serve.set_defaults(func=cmd_serve)

    worker = commands.add_parser("worker", help="run the arq background worker")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(func=cmd_worker)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(func=cmd_migrate)

    export = commands.add_parser("export-schema", help="write the GraphQL SDL")
    export.add_argument("--path", default=str(SCHEMA_PATH))
    export.add_argument("--check", action="store_true", help="fail if the file is stale")
    export.set_defaults(func=cmd_export_schema)

    exports = commands.add_parser("export", help="export data to a file (runs the export job)")
    exports_commands = exports.add_subparsers(
        dest="export_command", required=True, metavar="COMMAND"
    )
    products = exports_commands.add_parser(
        "products", help="every product, in the import template's columns"
    )
    products.add_argument("--out", required=True, metavar="FILE")
    products.add_argument(
        "--format", choices=["csv", "xlsx"], default=None, help="default: from FILE's extension"
    )
    products.set_defaults(func=cmd_export_products)

    imports = commands.add_parser("import", help="import data from a file (runs the import job)")
    imports_commands = imports.add_subparsers(
        dest="import_command", required=True, metavar="COMMAND"
    )
    products_import = imports_commands.add_parser(
        "products", help="create and update products from a CSV or XLSX file (the template)"
    )
    products_import.add_argument("file", metavar="FILE")
    products_import.add_argument(
        "--dry-run", action="store_true", help="check every row and count; write nothing"
    )
    products_import.add_argument(
        "--on-error",
        choices=["abort", "skip"],
        default="abort",
        help="abort: apply nothing if a row fails (default); skip: apply the valid rows",
    )
    products_import.set_defaults(func=cmd_import_products)

    users = commands.add_parser("users", help="manage accounts")
    users_commands = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    create = users_commands.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--name", default=None, help="defaults to the email's local part")
    create.add_argument("--role", choices=["customer", "staff", "admin"], default="customer")
    create.set_defaults(func=cmd_users_create)

    outbox = commands.add_parser("outbox", help="print the latest emails of the outbox table")
    outbox.add_argument("--limit", type=int, default=5)
    outbox.add_argument("--to", default=None, help="only emails to this address")
    outbox.set_defaults(func=cmd_outbox)

    documents = commands.add_parser("documents", help="trusted documents (PERSISTED_QUERIES)")
    documents_commands = documents.add_subparsers(
        dest="documents_command", required=True, metavar="COMMAND"
    )
    register = documents_commands.add_parser(
        "register", help="register a client manifest (Apollo's, or GraphQL Code Generator's)"
    )
    register.add_argument("files", nargs="+", metavar="FILE")
    register.set_defaults(func=cmd_documents_register)

    seed = commands.add_parser("seed", help="fill an empty catalog with deterministic demo data")
    seed.add_argument("--categories", type=int, default=200, help="three-level tree size")
    seed.add_argument("--products", type=int, default=20_000)
    seed.add_argument("--users", type=int, default=2_000, help="customers @seed.example.com")
    seed.add_argument("--reviews", type=int, default=100_000)
    seed.add_argument("--seed", type=int, default=42, help="same seed, same rows")
    seed.add_argument("--reset", action="store_true", help="delete the catalog and seed users")
    seed.set_defaults(func=cmd_seed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except ValidationError as error:
        # A refused configuration (e.g. a weak SECRET_KEY in production): say which, briefly.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'settings'}: {issue['msg']}"
            for issue in error.errors()
        )
        print(f"catalog: configuration refused: {problems}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
