"""`make browser-check`: real frontends against a real server, from another origin.

Starts the API (`catalog serve`) on the embedded services under `.data/browser-check` (or on
DATABASE_URL / REDIS_URL), with CORS_ORIGINS allowing only the page's origin
(http://127.0.0.1:<page port>), then runs `run.mjs`: a static server for the page, and headless
Chromium (Debian's, driven by playwright-core) loading it from that origin and from a disallowed
one (http://localhost:<page port>), then GraphiQL on the API's own origin running a
subscription. Prints a pass/fail summary; exit code 0 when all passed.

Needs Node.js and npm (packages pinned in package-lock.json) and /usr/bin/chromium, installed
with apt-get when missing and we are root. Not part of `make test`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.settings import PROJECT_ROOT

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
DATA_DIR = PROJECT_ROOT / ".data" / "browser-check"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def ensure_tools() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        sys.exit("browser-check needs Node.js and npm (apt-get install nodejs npm)")
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            sys.exit(f"browser-check needs {CHROMIUM}: apt-get install chromium (as root)")
        print("installing Debian's chromium …", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True)
    if not (HERE / "node_modules" / "playwright-core").exists():
        print("installing the page's packages (npm ci) …", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def service_urls() -> tuple[str, str]:
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if database_url and redis_url:
        return database_url, redis_url
    from app.devservices import start_dev_services

    # Owned by this process: stopped when it exits.
    services = start_dev_services(DATA_DIR, database="catalog_browser_check")
    return services.database_url, services.redis_url


def wait_ready(url: str, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the API exited with {server.returncode} (see its log above)")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"the API was not ready at {url} within {seconds:.0f} s")


def main() -> int:
    ensure_tools()
    database_url, redis_url = service_urls()
    from db.migrate import upgrade

    upgrade(database_url)
    api_port, page_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATA_DIR": str(DATA_DIR),
        "CORS_ORIGINS": json.dumps([f"http://127.0.0.1:{page_port}"]),
        "PERSISTED_QUERIES": "automatic",
        "LOG_LEVEL": "WARNING",
    }
    catalog = [sys.executable, "-m", "app.cli"]
    api = subprocess.Popen(
        [*catalog, "serve", "--host", "127.0.0.1", "--port", str(api_port)],
        env=env,
        cwd=PROJECT_ROOT,
    )
    # A staff account: the subscription checks create a product and change it.
    staff_email, staff_password = (
        f"staff-{secrets.token_hex(4)}@example.com",
        secrets.token_urlsafe(18),
    )
    create_staff = ["users", "create", "--role", "staff", "--email", staff_email]
    subprocess.run(
        [*catalog, *create_staff, "--password", staff_password],
        env=env,
        cwd=PROJECT_ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{api_port}/readyz", api)
        runner = subprocess.run(
            [
                "node",
                "run.mjs",
                "--api",
                f"http://127.0.0.1:{api_port}/graphql",
                "--page-port",
                str(page_port),
                "--out",
                str(HERE / "results"),
                "--staff-email",
                staff_email,
                "--staff-password",
                staff_password,
            ],
            cwd=HERE,
            check=False,
        )
        return runner.returncode
    finally:
        api.terminate()
        try:
            api.wait(timeout=15)
        except subprocess.TimeoutExpired:
            api.kill()


if __name__ == "__main__":
    sys.exit(main())
