"""The registration gates replayed over many seeds at the demo's data size, judged on fresh rows.

Each seed replays what the demo does: a first drop trains a model that the
gates judge with no champion (a first registration), a second drop trains a
challenger gated against it, and a third model is trained on the second drop
with one informative feature broken upstream (zeroed), a challenger that is
truly worse by a varying amount. Every drop has the demo's size
(``ops.demo.loop.DEFAULT_ROWS``) and is split as the Features step splits it
(latest 20% for test); training, scoring, the paired comparison and the gates
are the pipeline's own functions with the prod stack's gates.

The truth is a population the generator draws fresh (``--population`` rows,
a seed no split uses), scored independently of every split: each model's
true precision and recall at its own threshold, and its true PR AUC; against
a champion, the gate's question: the champion's true precision and recall
when it raises as many alerts in the population as the challenger does.
Reported, each over the seeds:

- registered models that flag nothing in the population (goal 0);
- registered challengers truly worse than their champion beyond a margin, on
  PR AUC or at the same alert volume (goal 0), and, for information, those
  whose own operating point lost recall or precision beyond a margin;
- truly better challengers rejected (a true gain in PR AUC and no true loss
  beyond a margin), and the rejection rate of the broken-feature challengers
  (the power to stop a bad model).

Run with ``.venv/bin/python benchmarks/gates.py [--seeds 30] [--jobs 2]``. On
the 2-core benchmark machine, 30 seeds at 100,000 rows took about 6 minutes
with two jobs (about 20 s per seed per core: three trainings, three scorings
of the population, two paired bootstraps).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POPULATION_SEED = 987_654
BROKEN_FEATURES = ("is_new_device", "distance_from_home_km", "account_age_days", "amount")


@dataclass(frozen=True)
class Setting:
    rows: int
    population: int


def prod_gates() -> Any:
    """The prod stack's gates, as its pipeline definition passes them to the Champion step."""
    from infra.config import load_stack
    from pipelines.definitions.training_spec import gates_of

    return gates_of(load_stack("prod").pipeline.gates)


def population(rows: int) -> Any:
    from ml.data import generate

    return generate(rows, POPULATION_SEED)


def truth(model: Any, threshold: float, frame: Any) -> dict[str, Any]:
    """A model's true PR AUC, precision, recall and flag count on the population."""
    from sklearn.metrics import average_precision_score

    from ml.features import feature_frame

    y = frame["is_fraud"].to_numpy()
    score = model.predict_proba(feature_frame(frame))[:, 1]
    return {"pr_auc": float(average_precision_score(y, score)), **at_threshold(y, score, threshold)}


def at_threshold(y: Any, score: Any, threshold: float) -> dict[str, float]:
    """Precision, recall and flag count of scores at a threshold."""
    import numpy as np

    flagged = score >= threshold
    caught = int((flagged & (y == 1)).sum())
    return {
        "precision": caught / int(flagged.sum()) if flagged.any() else float("nan"),
        "recall": caught / int(y.sum()),
        "flagged": int(flagged.sum()),
        "flag_rate": float(np.mean(flagged)),
    }


def champion_at_volume(champion: Any, frame: Any, flagged: int) -> dict[str, float]:
    """The champion's true precision and recall when it flags ``flagged`` population rows."""
    from ml.comparison import volume_threshold
    from ml.features import feature_frame

    y = frame["is_fraud"].to_numpy()
    score = champion.model.predict_proba(feature_frame(frame))[:, 1]
    return at_threshold(y, score, volume_threshold(score, flagged))


def gate(model: Any, threshold_info: dict[str, Any], test: Any, rival: Any, gates: Any) -> dict:
    """The Champion step's decision for a trained model on its test split (rival: champion)."""
    from ml.bootstrap import Scored
    from ml.comparison import compare_paired
    from ml.evaluate import compare, evaluate_scores
    from ml.features import feature_frame

    y = test["is_fraud"].to_numpy()
    x = feature_frame(test)
    score = model.model.predict_proba(x)[:, 1]
    evaluation = evaluate_scores(y, score, model.threshold, threshold_info)
    paired = None
    if rival is not None:
        rival_score = rival.model.predict_proba(x)[:, 1]
        paired = compare_paired(
            y,
            Scored(rival_score, rival.threshold),
            Scored(score, model.threshold),
            gates.margins(),
        )
    return compare(evaluation, None, gates, paired)


def replay(seed: int, setting: Setting) -> dict[str, Any]:
    """One seed: first model, challenger and broken challenger, gated and judged."""
    from threadpoolctl import threadpool_limits

    from ml.data import generate
    from ml.train import TrainParams, time_split, train_model
    from pipelines.jobs.features import TEST_SHARE

    def split(frame: Any) -> tuple[Any, Any]:
        return time_split(frame, TEST_SHARE)  # the Features step's cut: the latest share is test

    gates = prod_gates()
    fresh = population(setting.population)
    params = TrainParams(seed=seed)
    with threadpool_limits(1):
        first_train, first_test = split(generate(setting.rows, 10 * seed + 1))
        second_train, second_test = split(generate(setting.rows, 10 * seed + 2))
        champion = train_model(first_train, None, params)
        challenger = train_model(second_train, None, params)
        feature = BROKEN_FEATURES[seed % len(BROKEN_FEATURES)]
        broken = train_model(second_train.assign(**{feature: 0}), None, params)
        result = {"seed": seed, "broken_feature": feature}
        for name, model, test, rival in (
            ("first", champion, first_test, None),
            ("challenger", challenger, second_test, champion),
            ("broken", broken, second_test, champion),
        ):
            decision = gate(model, model.threshold_choice, test, rival, gates)
            result[name] = {
                "registered": decision["verdict"] == "pass",
                "reason": decision["reason"],
                "failed": [c["check"].split(" ")[0] for c in decision["checks"] if not c["passed"]],
                "kind": model.info["model"],
                "test_positives": int(test["is_fraud"].sum()),
                "truth": truth(model.model, model.threshold, fresh),
            }
            if rival is not None:
                flagged = result[name]["truth"]["flagged"]
                result[name]["champion_at_volume"] = champion_at_volume(rival, fresh, flagged)
    return result


def outcome(model: dict[str, Any]) -> tuple[Any, ...]:
    """One model's line of the verbose output: registered, kind, true metrics, failed checks."""
    truth = model["truth"]
    return (
        model["registered"],
        model["kind"],
        *(round(truth[m], 3) for m in ("pr_auc", "precision", "recall")),
        model["failed"],
    )


def true_differences(result: dict[str, Any], name: str, own: bool = False) -> dict[str, float]:
    """Challenger less champion: PR AUC, and recall and precision at the same alert volume
    (``own``: at each model's own threshold)."""
    new, old = result[name]["truth"], result["first"]["truth"]
    matched = old if own else result[name]["champion_at_volume"]
    return {
        "pr_auc": new["pr_auc"] - old["pr_auc"],
        **{metric: new[metric] - matched[metric] for metric in ("recall", "precision")},
    }


def worse_beyond_margin(diff: dict[str, float], margins: dict[str, float]) -> bool:
    return any(not diff[m] >= -margins[m] for m in margins)


def summarise(results: list[dict[str, Any]], margins: dict[str, float], seconds: float) -> None:
    import numpy as np

    registered = [
        r[name]
        for r in results
        for name in ("first", "challenger", "broken")
        if r[name]["registered"]
    ]
    flag_nothing = sum(m["truth"]["flagged"] == 0 for m in registered)
    firsts = [r["first"] for r in results]
    print(f"\n{len(results)} seeds in {seconds:.0f} s; margins {margins}")
    print(
        f"first models registered: {sum(m['registered'] for m in firsts)}/{len(firsts)} "
        f"(test frauds min {min(m['test_positives'] for m in firsts)}, "
        f"kinds {sorted({m['kind'] for m in firsts})})"
    )
    print(f"registered models that flag nothing in the population: {flag_nothing} (goal 0)")
    if registered:
        precision = np.array([m["truth"]["precision"] for m in registered])
        recall = np.array([m["truth"]["recall"] for m in registered])
        print(
            f"registered models' true precision {np.nanmin(precision):.3f}-"
            f"{np.nanmax(precision):.3f}, true recall {recall.min():.3f}-{recall.max():.3f}"
        )
    for name, label in (("challenger", "retrained challengers"), ("broken", "broken-feature")):
        gated = [r for r in results if r["first"]["registered"]]
        worse = [r for r in gated if worse_beyond_margin(true_differences(r, name), margins)]
        better = [
            r
            for r in gated
            if true_differences(r, name)["pr_auc"] > 0
            and not worse_beyond_margin(true_differences(r, name), margins)
        ]
        own = [r for r in gated if worse_beyond_margin(true_differences(r, name, True), margins)]
        print(
            f"{label}: {sum(r[name]['registered'] for r in gated)}/{len(gated)} registered; "
            f"truly worse beyond a margin {len(worse)}, of them registered "
            f"{sum(r[name]['registered'] for r in worse)} (goal 0); truly better {len(better)}, "
            f"of them rejected {sum(not r[name]['registered'] for r in better)}; "
            f"own operating point worse beyond a margin {len(own)}, of them registered "
            f"{sum(r[name]['registered'] for r in own)}"
        )
    failed: dict[str, int] = {}
    for r in results:
        for name in ("first", "challenger", "broken"):
            for check in r[name]["failed"]:
                failed[f"{name}: {check}"] = failed.get(f"{name}: {check}", 0) + 1
    print("failed checks:", dict(sorted(failed.items())))


def main() -> int:
    from ops.demo.loop import DEFAULT_ROWS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds to replay (default 30)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows per data drop")
    parser.add_argument("--population", type=int, default=200_000, help="fresh rows for truth")
    parser.add_argument("--verbose", action="store_true", help="print each seed's outcome")
    args = parser.parse_args()
    setting = Setting(args.rows, args.population)
    print(f"replaying {args.seeds} seeds at {args.rows:,} rows per drop, {args.jobs} job(s)")
    started = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(replay, seed, setting) for seed in range(args.seeds)]
        for future in as_completed(futures):
            results.append(future.result())
            print(f"  {len(results)}/{args.seeds} seeds, {time.perf_counter() - started:.0f} s")
    results.sort(key=lambda r: r["seed"])
    if args.verbose:
        for r in results:
            print(r["seed"], {n: outcome(r[n]) for n in ("first", "challenger", "broken")})
    summarise(results, prod_gates().margins(), time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
