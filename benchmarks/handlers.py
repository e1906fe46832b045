"""The request handler side by side with a bare ``predict_proba`` on the same rows.

Run: ``.venv/bin/python benchmarks/handlers.py [--repeats N]``. A is the model
called directly on a DataFrame of the rows (what a caller that already holds a
frame pays); B is what the server runs per request, ``ml.inference.invoke``:
parse the CSV or JSON body, score, format the answer. One OpenMP thread and
the model frozen out of the garbage collector's passes, as in each server
worker. A and B alternate call by call; each repeat keeps the fastest call of
each, and the figures are the min-max over repeats. Targets: B/A <= 1.5 at 1
row and <= 1.2 at 1,000 rows, for CSV and for JSON, judged on the median ratio.
Below each 1,000-row figure, where B's time goes (fastest calls, same run):
reading the body into columns, scoring those columns, writing the answer, each
alone and one after another as in a call (a part finds the CPU's caches as the
part before left them). Then the floor: the libraries' own reading of the body
(Arrow's CSV reader; orjson's parse and one ``itemgetter`` per object, the
least Python step that touches each value), then scoring and answering, with
none of B's checks or conversions, alternated with A as B is. Where the floor
is over the target, the target is out of reach with these libraries. Last,
context switches per call: Arrow's CSV reader hands the body to its I/O
thread, and on a shared machine other processes run meanwhile.
"""

from __future__ import annotations

import argparse
import gc
import json
import operator
import resource
import time
from collections.abc import Callable
from statistics import median

from harness import bench_model, describe_model, interleaved, machine_note, section, span, verdict

TARGETS = {1: 1.5, 1_000: 1.2}  # rows: the largest B/A allowed
CALLS = {1: 400, 1_000: 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from ml.data import generate
    from ml.inference import model_fn
    from ml.schema import FEATURE_COLUMNS

    print(machine_note())
    model = bench_model()
    print(describe_model(model))
    loaded = model_fn(model)
    gc.collect()
    gc.freeze()  # as ml.serve does before it forks its workers
    frame = generate(1_000, 2)[list(FEATURE_COLUMNS)]
    section("handler (B: parse, score, answer) vs bare predict_proba on a DataFrame (A)")
    failures = 0
    with threadpool_limits(1):
        for rows, target in TARGETS.items():
            batch = frame.head(rows)
            bodies = {
                "text/csv": batch.to_csv(index=False, header=False).encode(),
                "application/json": json.dumps(
                    {"instances": batch.to_dict(orient="records")}
                ).encode(),
            }
            for kind, body in bodies.items():
                failures += not compare(loaded, batch, body, kind, target, args.repeats)
    print(f"\nhandler targets: {verdict(failures == 0)}")


def compare(loaded, batch, body: bytes, kind: str, target: float, repeats: int) -> bool:
    """A and B alternated on one body; prints the figures, returns whether B meets the target."""
    rows = len(batch)

    def bare() -> object:
        return loaded.model.predict_proba(batch)

    pairs = [
        interleaved(bare, lambda: invoke_once(loaded, body, kind), CALLS[rows])
        for _ in range(repeats)
    ]
    ratios = [b / a for a, b in pairs]
    ok = median(ratios) <= target
    a_ms, b_ms = (
        span([a * 1e3 for a, _ in pairs], "{:.3f}"),
        span([b * 1e3 for _, b in pairs], "{:.3f}"),
    )
    print(
        f"{rows:>5} row(s) {kind:<16} A {a_ms} ms  B {b_ms} ms"
        f"  B/A {span(ratios)}x (target <= {target}x, median): {verdict(ok)}",
        flush=True,
    )
    if rows > 1:
        print("\n".join(parts(loaded, bare, body, kind, target, repeats)), flush=True)
    return ok


def parts(loaded, bare, body: bytes, kind: str, target: float, repeats: int) -> list[str]:
    """Where B's time goes: its parts alone and one after another, and the floor: the
    libraries' reading of the body, then scoring and answering, nothing else of B's."""
    from ml.inference import answer
    from ml.request_body import parse_columns

    columns = parse_columns(body, kind)
    scores = loaded.model.predict_proba(columns)[:, 1]
    ours = {
        "read": lambda: parse_columns(body, kind),
        "score": lambda: loaded.model.predict_proba(columns),
        "answer": lambda: answer(scores, scores >= loaded.threshold, kind),
    }
    calls = CALLS[1_000]
    alone = {name: fastest(part, calls) * 1e3 for name, part in ours.items()}
    floor = {**library_read(body, kind), "score": ours["score"], "answer": ours["answer"]}
    floor_pairs = [interleaved(bare, lambda: run_all(floor), calls) for _ in range(repeats)]
    floor_ratios = [b / a for a, b in floor_pairs]
    out_of_reach = median(floor_ratios) > target
    return [
        f"      of which, alone: {_listed(alone)}; read + score alone "
        f"{alone['read'] + alone['score']:.3f} ms",
        f"      one after another, as in a call: {_listed(in_sequence(ours, calls))}",
        f"      floor, one after another: {_listed(in_sequence(floor, calls))}; "
        f"all three {span([b * 1e3 for _, b in floor_pairs], '{:.3f}')} ms, "
        f"{span(floor_ratios)}x A (alternated as above)"
        + (f": over {target}x, the target is out of reach" if out_of_reach else ""),
        f"      context switches per call: A {switches(bare):.1f}, "
        f"B {switches(lambda: invoke_once(loaded, body, kind)):.1f}",
    ]


def run_all(steps: dict[str, Callable[[], object]]) -> None:
    for step in steps.values():
        step()


def library_read(body: bytes, kind: str) -> dict[str, Callable[[], object]]:
    """The least reading a body takes with the libraries B uses, none of B's checks or
    conversions: Arrow's CSV reader; orjson's parse and one ``itemgetter`` per object
    (the cheapest Python step that touches each value once)."""
    import orjson

    from ml.feature_columns import FEATURES
    from ml.request_body import arrow_table

    if kind == "text/csv":
        return {"Arrow's CSV reader": lambda: arrow_table(body)}
    fields = operator.itemgetter(*FEATURES)
    return {"orjson.loads + itemgetter": lambda: list(map(fields, orjson.loads(body)["instances"]))}


def _listed(ms: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.3f} ms" for name, value in ms.items())


def in_sequence(steps: dict[str, Callable[[], object]], calls: int) -> dict[str, float]:
    """Each step's fastest time (ms) when the steps run one after another, as in one call:
    a step then finds the CPU's caches as the step before it left them."""
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(calls):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: seconds * 1e3 for name, seconds in best.items()}


def switches(fn: Callable[[], object], calls: int = 200) -> float:
    """Context switches (voluntary and not) of this thread per call of ``fn``."""
    before = resource.getrusage(resource.RUSAGE_THREAD)
    for _ in range(calls):
        fn()
    after = resource.getrusage(resource.RUSAGE_THREAD)
    total = after.ru_nvcsw - before.ru_nvcsw + after.ru_nivcsw - before.ru_nivcsw
    return total / calls


def invoke_once(loaded, body: bytes, kind: str) -> tuple[str, str]:
    """B: one request as the server answers it."""
    from ml.inference import invoke

    return invoke(loaded, body, kind, kind)


def fastest(fn, calls: int) -> float:
    """The fastest of ``calls`` calls, in seconds."""
    best = float("inf")
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


if __name__ == "__main__":
    main()
