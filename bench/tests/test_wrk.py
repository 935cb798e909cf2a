"""The wrk driver: its Lua script, its result line, and a real run against a stub server."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from bench.servers import RssSampler, Server, free_port, tree_rss
from bench.wrk import (
    RESULT_PREFIX,
    WrkParams,
    WrkResult,
    lua_script,
    lua_string,
    parse_result,
    run_wrk,
)

SAMPLE = (
    "Running 1s test @ http://127.0.0.1:1/graphql\n"
    "  Requests/sec: 100.00\n"
    f"{RESULT_PREFIX}"
    '{"requests":250,"duration_us":2500000,"bytes":1000,'
    '"latency_us":{"mean":1500.5,"stdev":10.0,"max":9000,"p50":1200,"p90":2000,"p99":4500,'
    '"p999":8000},"errors":{"connect":0,"read":1,"write":0,"status":3,"timeout":2},'
    '"non2xx":3,"graphql_errors":4}\n'
)


def test_parse_result() -> None:
    result = parse_result(SAMPLE)
    assert result.requests_per_second == 100.0
    assert result.p50_ms == 1.2
    assert result.p99_ms == 4.5
    assert result.failures == 1 + 2 + 3 + 4
    assert "3 non-2xx responses" in result.describe_failures()
    assert "4 responses with GraphQL errors" in result.describe_failures()
    assert result.as_dict()["requests_per_second"] == 100.0


def test_parse_result_without_the_line() -> None:
    with pytest.raises(RuntimeError, match="BENCH_RESULT"):
        parse_result("wrk: connection refused\n")


def test_clean_result_has_no_failures() -> None:
    result = WrkResult(
        requests=10,
        duration_us=1_000_000,
        bytes=1,
        latency_us={"p50": 1.0, "p99": 2.0},
        errors={"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0},
        non2xx=0,
        graphql_errors=0,
    )
    assert result.failures == 0
    assert result.describe_failures() == "none"


def test_lua_string_holds_any_text() -> None:
    assert lua_string("abc") == "[[\nabc]]"
    assert lua_string("a]]b") == "[=[\na]]b]=]"
    assert lua_string("a]]b]=]c") == "[==[\na]]b]=]c]==]"


def test_lua_script_embeds_the_body_as_compact_json() -> None:
    script = lua_script({"query": "{ a }", "variables": {"x": "]]"}})
    assert '[=[\n{"query":"{ a }","variables":{"x":"]]"}}]=]' in script
    assert "__" not in script  # every placeholder filled


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_counts_what_the_server_answers(tmp_path: Path) -> None:
    """Against a stub that answers data, GraphQL errors and 500 in turn."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.tests.stub_app:app",
        "--port",
        str(port := free_port()),
        "--workers",
        "2",
        "--log-level",
        "warning",
    ]
    root = Path(__file__).resolve().parents[2]
    with Server("stub", command, port=port, env={}, log_dir=tmp_path, cwd=root) as server:
        assert tree_rss(server.pid) > 0
        script = tmp_path / "stub.lua"
        script.write_text(lua_script({"query": "{ x }", "variables": {}}))
        with RssSampler(server.pid, interval=0.05) as sampler:
            result, output = run_wrk(
                shutil.which("wrk") or "wrk", server.url + "/graphql", script, WrkParams(2, 4, 1)
            )
        assert sampler.samples >= 2
        assert sampler.peak_mib > 10  # the master and two workers
    assert server.process is None  # stopped
    assert result.requests > 30, output
    # Each third answer: one of 200 data, 200 errors, 500 (none malformed, so no 400s).
    assert abs(result.graphql_errors - result.requests / 3) <= 4 * 2
    assert abs(result.non2xx - result.requests / 3) <= 4 * 2
    assert result.errors["status"] == result.non2xx
    assert result.failures >= result.graphql_errors + result.non2xx
    assert result.latency_us["p50"] <= result.latency_us["p99"]


def test_server_that_fails_to_start_shows_its_log(tmp_path: Path) -> None:
    from bench.servers import ServerFailed

    command = [sys.executable, "-c", "import sys; print('no such app'); sys.exit(3)"]
    server = Server("broken", command, port=free_port(), env={}, log_dir=tmp_path, cwd=tmp_path)
    with pytest.raises(ServerFailed, match="exited with 3") as failure:
        server.start()
    assert "no such app" in str(failure.value)
    server.stop()
