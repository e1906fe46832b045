"""``make bench``: the scripts it lists exist and start, and the pairing they share is fair."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.append(str(BENCHMARKS))  # after the repository: its ml package, not ml.py

import handlers  # noqa: E402 - needs the path above
import harness  # noqa: E402
import load_client  # noqa: E402
import synth  # noqa: E402


def listed() -> list[str]:
    found = re.search(r"^BENCHMARKS := (.+)$", (REPO / "Makefile").read_text(), re.M)
    assert found is not None
    return found.group(1).split()


def test_make_bench_runs_every_listed_script() -> None:
    recipe = re.search(r"^bench:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.M)
    assert recipe is not None and "$(BENCHMARKS)" in recipe.group(1)
    assert {"synth", "handlers", "serving", "contention", "demo"} <= set(listed())


@pytest.mark.parametrize("name", listed())
def test_each_listed_benchmark_starts(name: str) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "usage:" in completed.stdout


def test_a_and_b_alternate_which_runs_first() -> None:
    calls: list[str] = []
    pairs = harness.paired(lambda: calls.append("a") or 1, lambda: calls.append("b") or 2, 4)
    assert pairs == [(1, 2)] * 4
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]


def test_interleaved_keeps_the_fastest_call_of_each() -> None:
    slow = iter([0.02, 0.0, 0.0])

    def a() -> None:
        import time

        time.sleep(next(slow, 0.0))

    best_a, best_b = harness.interleaved(a, lambda: None, 3)
    assert best_a < 0.02 and best_b < 0.02


def test_steps_in_sequence_run_in_order_each_keeping_its_fastest_time() -> None:
    calls: list[str] = []
    delays = iter([0.02, 0.0])

    def first() -> None:
        import time

        calls.append("first")
        time.sleep(next(delays))

    best = handlers.in_sequence({"first": first, "second": lambda: calls.append("second")}, 2)
    assert calls == ["first", "second", "first", "second"]
    assert list(best) == ["first", "second"] and best["first"] < 20.0


def test_context_switches_are_counted_per_call() -> None:
    import time

    assert handlers.switches(lambda: None, 50) <= 0.1  # a preemption at most
    assert handlers.switches(lambda: time.sleep(0.001), 20) >= 1.0  # each sleep yields the CPU


def test_a_span_is_min_to_max_or_one_figure() -> None:
    assert harness.span([1.234, 0.5, 2.0]) == "0.50-2.00"
    assert harness.span([1.001, 1.002]) == "1.00"


def test_the_load_client_reads_status_length_and_close() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nConnection: close\r\n\r\n"
    assert load_client.parse_head(head) == (200, 12, True)
    assert load_client.parse_head(b"HTTP/1.1 408 Request Timeout\r\n\r\n") == (408, 0, False)


def test_the_import_floor_touches_the_provider_class_of_each_resource_type() -> None:
    types = [
        "aws:s3/bucket:Bucket",
        "aws:lambda/function:Function",
        "aws:iam/role:Role",
        "docker-build:index:Image",
        "pulumi:providers:aws",
    ]
    names = synth.floor_imports(types)
    assert names == [
        "pulumi",
        "pulumi_aws.iam.Role",
        "pulumi_aws.lambda_.Function",
        "pulumi_aws.s3.Bucket",
        "pulumi_docker_build.Image",
        "pydantic",
        "yaml",
    ]
    code = synth.floor_code(names)
    assert code.splitlines()[0] == "import pulumi, pulumi_aws, pulumi_docker_build, pydantic, yaml"
    assert "pulumi_aws.s3.Bucket" in code.splitlines()


def test_the_readme_states_a_time_for_make_demo_that_the_benchmark_reads() -> None:
    import demo

    assert 30 <= demo.stated_seconds() <= 600


def test_the_gate_benchmark_replays_a_seed_with_the_pipelines_functions() -> None:
    import gates

    result = gates.replay(0, gates.Setting(rows=4_000, population=4_000))
    assert {"first", "challenger", "broken"} <= set(result)
    assert all("registered" in result[name] for name in ("first", "challenger", "broken"))


def test_seeds_are_read_as_lists_and_ranges() -> None:
    import simulate_seeds

    assert simulate_seeds.seeds_of("1-3,7") == [1, 2, 3, 7]
    assert simulate_seeds.seeds_of("5") == [5]


def test_each_invariant_prints_the_figures_that_decide_it() -> None:
    from types import SimpleNamespace

    import simulate_seeds

    check = SimpleNamespace(
        name="bad fleet: rolled back within 5 minutes", figures={"rollback_minutes": 1}
    )
    assert simulate_seeds.figures_of(check) == "rollback_minutes=1"
    drift = SimpleNamespace(
        name="drift: caught", figures={"first_alarm_hour": 6.133, "onset_to_serving_hours": 4.3}
    )
    assert simulate_seeds.figures_of(drift) == "first_alarm_hour=6.13 onset_to_serving_hours=4.30"
