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
reading the body into columns, scoring those columns, writing the answer; the
first two alone are the floor no formatting can go under.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
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
    from ml.inference import invoke, model_fn, output_fn, predict_fn
    from ml.request_body import parse_columns
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
                pairs = [
                    interleaved(
                        lambda b=batch: loaded.model.predict_proba(b),
                        lambda body=body, k=kind: invoke(loaded, body, k, k),
                        CALLS[rows],
                    )
                    for _ in range(args.repeats)
                ]
                ratios = [b / a for a, b in pairs]
                ok = median(ratios) <= target
                failures += not ok
                bare_ms = span([a * 1e3 for a, _ in pairs], "{:.3f}")
                print(
                    f"{rows:>5} row(s) {kind:<16} A {bare_ms} ms"
                    f"  B {span([b * 1e3 for _, b in pairs], '{:.3f}')} ms"
                    f"  B/A {span(ratios)}x (target <= {target}x, median): {verdict(ok)}",
                    flush=True,
                )
                if rows > 1:
                    print(floor(loaded, body, kind, parse_columns, predict_fn, output_fn, bare_ms))
    print(f"\nhandler targets: {verdict(failures == 0)}")


def floor(loaded, body, kind, parse_columns, predict_fn, output_fn, bare_ms) -> str:
    """B's parts, each timed alone: read the body, score its columns, write the answer."""
    columns = parse_columns(body, kind)
    prediction = predict_fn(columns, loaded)
    parts = {
        "read": lambda: parse_columns(body, kind),
        "score": lambda: predict_fn(columns, loaded),
        "answer": lambda: output_fn(prediction, kind),
    }
    ms = {name: fastest(part, CALLS[1_000]) * 1e3 for name, part in parts.items()}
    return (
        "      of which: "
        + ", ".join(f"{name} {value:.3f} ms" for name, value in ms.items())
        + f"; read + score alone {ms['read'] + ms['score']:.3f} ms against A {bare_ms} ms"
    )


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
