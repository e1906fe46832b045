"""A stand-in for the GitHub CLI's pull request commands, keeping pull requests in a JSON file.

``gh pr list --head B --state open|all --json number --jq '.[].number'`` prints the
numbers of the pull requests from branch B; ``gh pr create --base main --head B
--title T --body X`` records one and prints its URL. Like ``gh``, it refuses to
run without ``GH_TOKEN``. The file is ``$FAKE_GH_STATE``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if not os.environ.get("GH_TOKEN"):
        print("gh: set GH_TOKEN to authenticate", file=sys.stderr)
        return 4
    state = Path(os.environ["FAKE_GH_STATE"])
    pulls = json.loads(state.read_text()) if state.is_file() else []
    parser = argparse.ArgumentParser(prog="gh")
    parser.add_argument("area", choices=["pr"])
    parser.add_argument("verb", choices=["list", "create"])
    parser.add_argument("--head", required=True)
    parser.add_argument("--state", default="open", choices=["open", "closed", "merged", "all"])
    parser.add_argument("--json")
    parser.add_argument("--jq")
    parser.add_argument("--base")
    parser.add_argument("--title")
    parser.add_argument("--body")
    args = parser.parse_args(argv)
    if args.verb == "list":
        assert args.json == "number" and args.jq == ".[].number", "unexpected gh pr list form"
        for pull in pulls:
            if pull["head"] == args.head and args.state in ("all", pull["state"]):
                print(pull["number"])
        return 0
    number = len(pulls) + 1
    pulls.append(
        {
            "number": number,
            "base": args.base,
            "head": args.head,
            "title": args.title,
            "body": args.body,
            "state": "open",
        }
    )
    state.write_text(json.dumps(pulls, indent=2))
    print(f"https://github.com/example-org/fraud-platform/pull/{number}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
