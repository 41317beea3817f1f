"""Every snippet in the README works: each Python block runs as written (in a scratch folder), and
each `portraitist ...` command line parses with the real command's parser, options and all."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", README, re.S)
PYTHON = [code for lang, code in BLOCKS if lang == "python"]
NEEDS_PACKS = ("load(", "celeba64")


def commands() -> list[str]:
    """`portraitist ...` invocations in the README's shell blocks (continuations joined, comments cut)."""
    out = []
    for lang, code in BLOCKS:
        if lang != "bash":
            continue
        for line in code.replace("\\\n", " ").splitlines():
            for part in re.split(r"&&|;", line):
                words = shlex.split(part, comments=True)
                while words and ("=" in words[0] and not words[0].startswith("-")):  # VAR=... prefixes
                    words = words[1:]
                if words and words[0].endswith("portraitist"):
                    out.append(words)
    return out


@pytest.mark.parametrize("words", commands(), ids=lambda w: " ".join(w[:3]))
def test_every_command_in_the_readme_parses(words):
    from portraitist.cli import build_parser

    args, rest = build_parser().parse_known_args(words[1:])
    assert not rest or getattr(args, "passthrough", False), rest
    if getattr(args, "passthrough", False):  # `portraitist train X ...`: the trainer's own parser
        from importlib import import_module

        trainer = import_module(f"portraitist.training.{args.what}")
        trainer.parse(rest)


@pytest.mark.slow
@pytest.mark.parametrize("code", PYTHON, ids=lambda c: c.strip().splitlines()[0][:40])
def test_every_python_block_in_the_readme_runs(code, tmp_path, monkeypatch, shared_data):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})


def test_the_readme_has_snippets_to_test():
    assert len(commands()) >= 15 and len(PYTHON) >= 2
