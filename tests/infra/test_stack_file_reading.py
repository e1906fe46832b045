"""Reading a stack file: limits on size and aliases, duplicate keys, encodings, namespaces.

Whatever is wrong with the file, the answer is one line naming the file and the
problem, fast, and never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra.config import ConfigError, load_stack
from infra.config.stack_file import read_stack_file

REPO = Path(__file__).resolve().parents[2]
ALIAS_BOMB = """config:
  mlops:tags:
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def stack(tmp_path: Path, text: str | bytes, name: str = "Pulumi.dev.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_stack("dev", path)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = stack(tmp_path, ALIAS_BOMB)
    started = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - started < 1.0
    assert "expands to more than 10,000 values through YAML aliases" in message


def test_a_few_anchors_and_merges_are_fine(tmp_path: Path) -> None:
    path = stack(
        tmp_path,
        "config:\n  mlops:tags: &tags {team: fraud, owner: ml}\n"
        "  pulumi:tags:\n    <<: *tags\n    team: platform\n",
    )
    assert load_stack("dev", path).tags == {"team": "fraud", "owner": "ml"}
    assert read_stack_file(path)["pulumi:tags"] == {"team": "platform", "owner": "ml"}


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = stack(tmp_path, "config:\n  aws:region: us-east-1\n" + "#" * (1 << 20) + "\n")
    assert "over the 1,048,576-byte limit" in refusal(path)


def test_deep_nesting_is_refused_in_one_line(tmp_path: Path) -> None:
    path = stack(tmp_path, "config:\n  mlops:tags: " + "[" * 5000 + "]" * 5000 + "\n")
    message = refusal(path)
    assert "nest" in message and "deep" in message


def test_a_key_given_twice_names_the_key_and_both_lines(tmp_path: Path) -> None:
    path = stack(tmp_path, "config:\n  mlops:namePrefix: abc\n  mlops:namePrefix: xyz\n")
    message = refusal(path)
    assert "line 3: key 'mlops:namePrefix' is given twice (first on line 2)" in message


def test_a_nested_key_given_twice_is_refused_too(tmp_path: Path) -> None:
    text = "config:\n  mlops:serving:\n    instanceCount: 2\n    instanceCount: 3\n"
    assert "key 'instanceCount' is given twice" in refusal(stack(tmp_path, text))


def test_a_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    path = stack(tmp_path, b"config:\n  mlops:tags:\n    owner: caf\xe9\n")
    message = refusal(path)
    assert "line 3 is not UTF-8 (byte 0xe9" in message and "save the file as UTF-8" in message


def test_a_bare_key_without_the_namespace_is_refused(tmp_path: Path) -> None:
    path = stack(tmp_path, "config:\n  serving:\n    instanceCount: 3\n")
    message = refusal(path)
    assert "config key 'serving' has no namespace" in message
    assert "write it as mlops:serving" in message


def test_a_misspelt_namespace_is_refused_with_the_likely_key(tmp_path: Path) -> None:
    message = refusal(stack(tmp_path, "config:\n  mlop:namePrefix: abc\n"))
    assert "namespace 'mlop', which nothing in this program reads" in message
    assert "did you mean mlops:namePrefix?" in message


def test_provider_namespaces_are_read(tmp_path: Path) -> None:
    text = "config:\n  aws:region: us-east-1\n  aws:profile: ops\n  pulumi:tags: {a: b}\n"
    assert sorted(read_stack_file(stack(tmp_path, text))) == [
        "aws:profile",
        "aws:region",
        "pulumi:tags",
    ]


def test_a_top_level_section_outside_config_is_refused(tmp_path: Path) -> None:
    message = refusal(stack(tmp_path, "config:\n  aws:region: us-east-1\nserving:\n  x: 1\n"))
    assert "top-level key 'serving' is not one Pulumi reads" in message
    assert "mlops:serving" in message


def test_a_bare_section_with_no_value_is_refused(tmp_path: Path) -> None:
    message = refusal(stack(tmp_path, "config:\n  mlops:serving:\n"))
    assert message.startswith("invalid config mlops:serving = None")


@pytest.mark.parametrize(
    "content",
    [
        ALIAS_BOMB.encode(),
        b"config:\n  mlops:tags:\n    owner: caf\xe9\n",
        b"config:\n  mlops:namePrefix: a\n  mlops:namePrefix: b\n",
        b"config:\n  mlop:namePrefix: abc\n",
        b"\xff\xfe\x00\x00",
        b"- just\n- a list\n",
    ],
    ids=["alias-bomb", "latin-1", "duplicate", "namespace-typo", "binary", "list"],
)
def test_synth_answers_a_broken_stack_file_with_one_line(tmp_path: Path, content: bytes) -> None:
    path = stack(tmp_path, content)
    done = subprocess.run(
        [sys.executable, "-m", "ops.cli", "synth", "--stack", "dev", "--config-file", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: stack file"), done.stderr
    assert "Traceback" not in done.stderr
