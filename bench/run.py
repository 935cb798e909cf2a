"""`make bench`: throughput, latency, SQL statements and memory of the catalog API under load.

    python -m bench.run [--duration 20] [--warmup 5] [--connections 32] [--threads 2]
                        [--skip-seed] [--keep] [--record]

1. PostgreSQL and Redis: DATABASE_URL / REDIS_URL when set, else the embedded services under
   `.data/bench` (never the dev or test data). The database `catalog_bench` is created on that
   server, migrated, and seeded once with `app.seed.seed_catalog` (reruns with the same
   arguments and seed code reuse it; see bench/dataset.py), and vacuumed before every run.
2. Our API runs the production way, `catalog serve --workers <nproc>` with ENVIRONMENT=production,
   a random SECRET_KEY and LOG_LEVEL=WARNING, on a free port. Every query of bench/queries.py is
   checked once over HTTP (data, no errors); each is then counted in-process (SQL statements per
   request) and driven by wrk: a warm-up run, then the measured run while the server's RSS (the
   uvicorn master and its workers) is sampled every 0.2 s.
3. The reference endpoint (bench/reference.py: the listing answered by one SQL statement) runs
   the same way under uvicorn with as many workers, and its listing is measured the same way.
4. A table on stdout; with --record, a dated section appended to docs/benchmarks.md. The raw
   numbers also go to bench/results/<time>.json (ignored by git).

Everything started here (servers, embedded services) is stopped on exit, Ctrl-C included; with
--keep, the servers stay up after the run until Ctrl-C, to be looked at by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from app.settings import PROJECT_ROOT
from bench import dataset, orders, report, wrk
from bench.queries import (
    LOOKUPS,
    QUERIES,
    REFERENCE_QUERIES,
    REFERENCE_QUERY,
    BenchQuery,
    lookups_used,
    request_body,
)
from bench.servers import RssSampler, Server, ServerFailed, cpu_count, free_port

DEFAULT_DATA_DIR = PROJECT_ROOT / ".data" / "bench"
RESULTS_DIR = PROJECT_ROOT / "bench" / "results"
BENCHMARKS_MD = PROJECT_ROOT / "docs" / "benchmarks.md"
HEADERS = {"content-type": "application/json", "accept": "application/graphql-response+json"}
DOCS_HEADER = "# Benchmarks\n"
BUSY_LOAD = 0.5  # load average per CPU above which the machine is not quiet enough to measure
NOTHING_COMPLETED = (
    "no request completed during the measured run (each took longer than --duration at this "
    "many --connections): run longer"
)


class BenchError(Exception):
    """A failure with a message meant for the person running the benchmark."""


@dataclass(frozen=True)
class Options:
    duration: int
    warmup: int
    connections: int
    threads: int
    workers: int
    skip_seed: bool
    keep: bool
    record: bool
    reference_only: bool
    orders_seconds: int
    orders_only: bool
    queries: tuple[BenchQuery, ...]
    data_dir: Path
    dataset: dataset.DatasetArgs


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description="Benchmark the catalog API (see docs/benchmarks.md)"
    )
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per query")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--workers", type=int, default=cpu_count(), help="server processes (default: nproc)"
    )
    parser.add_argument("--skip-seed", action="store_true", help="use the database as it is")
    parser.add_argument(
        "--keep", action="store_true", help="keep the servers running after the run until Ctrl-C"
    )
    parser.add_argument("--record", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument(
        "--reference-only",
        action="store_true",
        help="measure only the reference endpoint (proves the harness before the API exists)",
    )
    parser.add_argument(
        "--orders-seconds",
        type=int,
        default=10,
        help="seconds per placeOrder workload (bench/orders.py); 0 skips them",
    )
    parser.add_argument(
        "--orders-only", action="store_true", help="measure only the placeOrder workloads"
    )
    parser.add_argument(
        "--queries",
        default=",".join(q.name for q in QUERIES),
        help="comma-separated subset of: " + ", ".join(q.name for q in QUERIES),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="embedded services' data (default .data/bench; unused with DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    by_name = {q.name: q for q in QUERIES}
    names = [name.strip() for name in args.queries.split(",") if name.strip()]
    if unknown := [name for name in names if name not in by_name]:
        parser.error(f"unknown queries {unknown}; known: {sorted(by_name)}")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk needs one per thread)")
    if min(args.duration, args.warmup + 1, args.threads, args.workers) < 1:
        parser.error("--duration, --threads and --workers must be positive")
    return Options(
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        threads=args.threads,
        workers=args.workers,
        skip_seed=args.skip_seed,
        keep=args.keep,
        record=args.record,
        reference_only=args.reference_only,
        orders_seconds=args.orders_seconds,
        orders_only=args.orders_only,
        queries=() if args.orders_only else tuple(by_name[name] for name in names),
        data_dir=args.data_dir,
        dataset=dataset.DatasetArgs(),
    )


def succeeded(result: wrk.WrkResult) -> bool:
    return result.failures == 0 and result.requests > 0


def shown(path: Path) -> str:
    """`path` relative to the project when it is inside it."""
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def log(message: str) -> None:
    print(f"bench: {message}", flush=True)


# -- the servers ---------------------------------------------------------------------------------


def catalog_command() -> list[str]:
    """`.venv/bin/catalog` (the console script beside this interpreter), else `python -m`."""
    script = Path(sys.executable).with_name("catalog")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def api_server(servers: dataset.Servers, workers: int, log_dir: Path) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MAIL_TRANSPORT": "outbox",  # production refuses to start without a mail transport
        "DATABASE_URL": servers.bench_url,
        "REDIS_URL": servers.redis_url,
        "LOG_LEVEL": "WARNING",
        # wrk sends thousands of requests a second from one address: measure, don't throttle.
        "RATE_LIMIT": "false",
    }
    command = [*catalog_command(), "serve", "--workers", str(workers), "--port", str(port)]
    return Server("api", command, port=port, env=env, log_dir=log_dir, cwd=PROJECT_ROOT)


REFERENCE_SERVE = """
import sys, uvicorn
from app.balancer import serve_balanced
port, workers = int(sys.argv[1]), int(sys.argv[2])
sys.exit(serve_balanced(uvicorn.Config(
    "bench.reference:app", host="127.0.0.1", port=port, workers=workers,
    log_level="warning", access_log=False, server_header=False,
)))
"""


def reference_server(servers: dataset.Servers, workers: int, log_dir: Path) -> Server:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": servers.bench_url}
    # Served as `catalog serve` serves the API: workers behind the same dealer of connections
    # (app/balancer.py), so the two differ only in the application.
    command = [sys.executable, "-c", REFERENCE_SERVE, str(port), str(workers)]
    return Server("reference", command, port=port, env=env, log_dir=log_dir, cwd=PROJECT_ROOT)


# -- checking and measuring ----------------------------------------------------------------------


def precheck(
    server: Server, queries: Sequence[BenchQuery], values: Mapping[str, Any], *, ours: bool
) -> dict[str, Any]:
    """POST each query once; return the answers. Any error, or a non-2xx answer, fails."""
    answers: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for query in queries:
            response = client.post("/graphql", json=request_body(query, values), headers=HEADERS)
            try:
                payload = response.json()
            except ValueError:
                payload = None
            errors = payload.get("errors") if isinstance(payload, dict) else None
            data = payload.get("data") if isinstance(payload, dict) else None
            if response.status_code != 200 or errors or not isinstance(data, dict):
                raise BenchError(precheck_failure(server, query, response, errors, ours=ours))
            for field, value in data.items():
                if value is None or (isinstance(value, dict) and value.get("edges") == []):
                    log(
                        f"warning: {server.name} answers {query.name!r} with an empty "
                        f"{field!r}: that run measures an empty result (is the dataset seeded?)"
                    )
            answers[query.name] = payload
    return answers


def precheck_failure(
    server: Server, query: BenchQuery, response: httpx.Response, errors: Any, *, ours: bool
) -> str:
    if isinstance(errors, list) and errors:
        detail = "\n".join(
            f"  - {error.get('message')}" if isinstance(error, dict) else f"  - {error}"
            for error in errors[:5]
        )
    else:
        detail = "  " + response.text[:500]
    message = (
        f"{server.name} failed the pre-check for query {query.name!r} "
        f"(HTTP {response.status_code}):\n{detail}\n"
    )
    if ours:
        message += (
            "Our API does not answer the benchmark's documents. Either the catalog API "
            "(products, categories, reviews) has not landed yet, or its schema differs from "
            "bench/queries.py: compare the documents there with schema.graphql and adapt them. "
            "Meanwhile --reference-only measures just the reference endpoint."
        )
    return message


def measure(
    wrk_path: str,
    server: Server,
    query: BenchQuery,
    values: Mapping[str, Any],
    options: Options,
    work_dir: Path,
    *,
    title: str,
    sql_per_request: int | None,
) -> report.Measurement:
    script = work_dir / f"{server.name}-{query.name}.lua"
    script.write_text(wrk.lua_script(request_body(query, values)))
    url = server.url + "/graphql"
    if options.warmup:
        log(f"{server.name} / {query.name}: warm-up {options.warmup}s")
        params = wrk.WrkParams(options.threads, options.connections, options.warmup)
        wrk.run_wrk(wrk_path, url, script, params)
    log(f"{server.name} / {query.name}: measuring {options.duration}s")
    params = wrk.WrkParams(options.threads, options.connections, options.duration)
    with RssSampler(server.pid) as sampler:
        result, output = wrk.run_wrk(wrk_path, url, script, params)
    (work_dir / f"{server.name}-{query.name}.wrk.txt").write_text(output)
    measurement = report.Measurement(
        name=query.name,
        title=title,
        wrk=result,
        peak_rss_mib=sampler.peak_mib,
        sql_per_request=sql_per_request,
    )
    log(
        f"{server.name} / {query.name}: {result.requests_per_second:,.1f} req/s, "
        f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"peak RSS {sampler.peak_mib:,.0f} MiB, failures: {result.describe_failures()}"
    )
    return measurement


# -- the run -------------------------------------------------------------------------------------


def run(options: Options, stack: ExitStack) -> int:
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    wrk_path = "" if options.orders_only else wrk.ensure_wrk()
    work_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="catalog-bench-")))

    servers = dataset.resolve_servers(options.data_dir)
    where = "embedded services in " + str(options.data_dir) if servers.embedded else "DATABASE_URL"
    log(f"database {dataset.BENCH_DATABASE} on {where}")
    log(
        dataset.prepare(
            servers.admin_url, servers.bench_url, options.dataset, skip_seed=options.skip_seed
        )
    )
    if options.orders_seconds > 0 and not options.reference_only:
        # Before any answer is taken, so ours and the reference's see the same products.
        asyncio.run(orders.prepare(servers.bench_url, options.connections))
    if not options.skip_seed:
        # Earlier runs' checkouts updated product rows: until autovacuum passes, the pages they
        # touched are not all-visible and the listing's index-only count reads the heap for
        # them. Every run measures the same, freshly vacuumed, tables (about a second).
        asyncio.run(dataset.analyze(servers.bench_url))
    counts = asyncio.run(dataset.dataset_counts(servers.bench_url))
    log("dataset: " + ", ".join(f"{value} {key}" for key, value in counts.items()))
    reference_query = next(q for q in QUERIES if q.name == REFERENCE_QUERY)
    sent = (reference_query,) if options.reference_only else (*options.queries, reference_query)
    needed = {name: LOOKUPS[name] for name in lookups_used(sent)}
    values = asyncio.run(dataset.lookup_values(servers.bench_url, needed))
    if values:
        log("lookups: " + ", ".join(f"{key}={value!r}" for key, value in values.items()))

    result = report.Report(started=started, reference_of=REFERENCE_QUERY)
    if load_before > BUSY_LOAD * cpu_count():
        note = (
            f"Warning: the load average was {load_before:.1f} on {cpu_count()} CPUs when the run "
            "started: other work competes with the servers, so these numbers read low."
        )
        log(note)
        result.notes.append(note)
    our_listing: Any = None
    running: list[Server] = []

    if not options.reference_only:
        api = api_server(servers, options.workers, work_dir)
        log(f"starting the API: {' '.join(api.command)}")
        stack.callback(api.stop)
        api.start()
        running.append(api)
        answers = precheck(api, options.queries, values, ours=True)
        our_listing = answers.get(REFERENCE_QUERY)
        if our_listing is None and not options.orders_only:
            our_listing = precheck(api, [reference_query], values, ours=True)[REFERENCE_QUERY]
        log("pre-check passed; counting SQL statements per request in-process")
        statements = (
            asyncio.run(count_statements_in_process(servers, options.queries, values, work_dir))
            if options.queries
            else {}
        )
        for query in options.queries:
            result.measurements.append(
                measure(
                    wrk_path,
                    api,
                    query,
                    values,
                    options,
                    work_dir,
                    title=query.title,
                    sql_per_request=len(statements[query.name]),
                )
            )
        if options.orders_seconds > 0:
            result.notes.append(measure_orders(api, servers, options))
        if not options.keep:
            api.stop()
    if options.orders_only:
        print("\n" + "\n".join(result.notes) + "\n", flush=True)
        return record_orders_only(result, options)

    reference = reference_server(servers, options.workers, work_dir)
    log(f"starting the reference endpoint: {' '.join(reference.command)}")
    stack.callback(reference.stop)
    reference.start()
    running.append(reference)
    reference_answer = precheck(reference, [reference_query], values, ours=False)[REFERENCE_QUERY]
    if our_listing is not None:
        # `data` only: ours also says its cost in `extensions`.
        difference = report.first_difference(
            our_listing["data"], reference_answer["data"], ignore=frozenset({"endCursor"})
        )
        if difference:
            note = (
                "Warning: the reference's listing answer differs from ours at "
                f"{difference}; adapt bench/reference.py so the comparison stays fair."
            )
            log(note)
            result.notes.append(note)
        else:
            log("the reference's listing answer matches ours (cursors aside)")
    result.reference = measure(
        wrk_path,
        reference,
        reference_query,
        values,
        options,
        work_dir,
        title=f"reference {REFERENCE_QUERY} (1 SQL)",
        sql_per_request=1,
    )
    if not options.reference_only:
        for query in options.queries:
            if query.name == REFERENCE_QUERY or query.name not in REFERENCE_QUERIES:
                continue
            theirs = precheck(reference, [query], values, ours=False)[query.name]
            difference = report.first_difference(answers[query.name]["data"], theirs["data"])
            if difference:
                note = (
                    f"Warning: the reference's {query.name} answer differs from ours at "
                    f"{difference}; adapt bench/reference.py so the comparison stays fair."
                )
                log(note)
                result.notes.append(note)
            else:
                log(f"the reference's {query.name} answer matches ours")
            result.other_references.append(
                measure(
                    wrk_path,
                    reference,
                    query,
                    values,
                    options,
                    work_dir,
                    title=f"reference {query.name} (1 SQL)",
                    sql_per_request=1,
                )
            )
    if not options.keep:
        reference.stop()

    result.facts = facts(options, servers, counts, values)
    print("\n" + report.render_text(result) + "\n", flush=True)
    save_results(result, work_dir)

    failed = [
        m
        for m in [*result.measurements, result.reference, *result.other_references]
        if m and not succeeded(m.wrk)
    ]
    if failed:
        for m in failed:
            why = m.wrk.describe_failures() if m.wrk.failures else NOTHING_COMPLETED
            log(f"FAILED: {m.title}: {why}")
        log("some requests failed (see above): the numbers are not valid and were not recorded")
        return 1
    if options.record:
        header = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else DOCS_HEADER
        report.append_markdown(BENCHMARKS_MD, report.render_markdown(result), header)
        log(f"recorded in {shown(BENCHMARKS_MD)}")
    if options.keep:
        keep_running(servers, running)
    return 0


def measure_orders(api: Server, servers: dataset.Servers, options: Options) -> str:
    log(f"placeOrder: {options.connections} clients, {options.orders_seconds}s per workload")
    runs = asyncio.run(
        orders.run_orders(
            api.url,
            servers.bench_url,
            clients=options.connections,
            seconds=options.orders_seconds,
        )
    )
    for each in runs:
        log(f"placeOrder / {each.name}: {each.per_second:.1f} orders/s, oversold: {each.oversell}")
    return orders.render(runs)


def record_orders_only(result: report.Report, options: Options) -> int:
    load = os.getloadavg()
    result.notes.append(
        f"Load average after the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; commit "
        f"{report.git_revision(PROJECT_ROOT)}, {report.machine_description(cpu_count())}."
    )
    if options.record:
        header = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else DOCS_HEADER
        stamp = result.started.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        section = f"### {stamp} (placeOrder only)\n\n" + "\n\n".join(result.notes) + "\n"
        report.append_markdown(BENCHMARKS_MD, section, header)
        log(f"recorded in {shown(BENCHMARKS_MD)}")
    return 0


async def count_statements_in_process(
    servers: dataset.Servers,
    queries: Sequence[BenchQuery],
    values: Mapping[str, Any],
    work_dir: Path,
) -> dict[str, list[str]]:
    from bench.sqlcount import count_statements

    statements = await count_statements(
        servers.bench_url, servers.redis_url, queries, values, work_dir
    )
    for name, executed in statements.items():
        (work_dir / f"sql-{name}.txt").write_text("\n;\n".join(executed))
        log(f"{name}: {len(executed)} SQL statements per request")
    return statements


def facts(
    options: Options,
    servers: dataset.Servers,
    counts: Mapping[str, int],
    values: Mapping[str, Any],
) -> dict[str, str]:
    import uvicorn

    postgres = asyncio.run(dataset.server_versions(servers.bench_url))
    load = wrk.WrkParams(options.threads, options.connections, options.duration)
    marker = asyncio.run(dataset.read_marker(servers.bench_url)) or {}
    if marker.get("kind") == "seed_catalog":
        seeded = f"`catalog seed {dataset.DatasetArgs(**marker['args']).describe()}`"
    else:
        seeded = f"not seeded by `catalog seed` ({marker.get('kind', 'unknown data')})"
    return {
        "Commit": report.git_revision(PROJECT_ROOT),
        "Machine": report.machine_description(cpu_count()),
        "Software": (
            f"Python {sys.version.split()[0]}, PostgreSQL {postgres} "
            f"({'embedded' if servers.embedded else 'DATABASE_URL'}), uvicorn {uvicorn.__version__}"
        ),
        "Servers": (
            f"`catalog serve --workers {options.workers}` (ENVIRONMENT=production) and "
            f"`bench.reference:app` behind app/balancer.py with {options.workers} workers, "
            "run one after the other"
        ),
        "Dataset": f"{seeded}: "
        + ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in counts.items()),
        "Variables": ", ".join(f"{key} = {value!r}" for key, value in values.items()) or "none",
        "Load": (
            f"wrk {load.describe()} --timeout {wrk.TIMEOUT_SECONDS}s per query after a "
            f"{options.warmup}s warm-up, "
            "same machine as the servers and PostgreSQL"
        ),
    }


def save_results(result: report.Report, work_dir: Path) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    name = result.started.strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result.as_dict(), indent=2) + "\n")
    # wrk's own output, the statements counted and the server logs, for a closer look.
    details = RESULTS_DIR / name
    details.mkdir(exist_ok=True)
    for file in work_dir.iterdir():
        if file.suffix in (".txt", ".log", ".lua"):
            (details / file.name).write_bytes(file.read_bytes())
    log(f"raw results in {shown(path)} and {shown(details)}/")


def keep_running(servers: dataset.Servers, running: Sequence[Server]) -> None:
    for server in running:
        log(f"--keep: {server.name} at {server.url}/graphql (log: {server.log_path})")
    log(f"--keep: DATABASE_URL={servers.bench_url} REDIS_URL={servers.redis_url}")
    log("--keep: Ctrl-C stops everything")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        log("stopping")


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    log(f"{signal.Signals(signum).name}: stopping what was started")
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    # SIGTERM/SIGHUP would kill us without cleanup: make them a normal exit, as Ctrl-C is.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    with ExitStack() as stack:
        try:
            return run(options, stack)
        except (BenchError, ServerFailed) as error:
            log(str(error))
            return 1
        except KeyboardInterrupt:
            log("interrupted; stopping what was started")
            return 130
    # Embedded PostgreSQL/Redis that this process started stop at interpreter exit.


if __name__ == "__main__":
    sys.exit(main())
