"""The production docs describe commands that exist, and the checks that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from polyarb.cli import build_parser
from polyarb.ops.gonogo import GoNoGoInputs, run_checks

REPO = Path(__file__).resolve().parents[2]
DOCS = ["PRODUCTION_PLAN.md", "GO_NO_GO_CHECKLIST.md", "PRODUCTION_RUNBOOK.md"]


def _commands() -> dict[str, set[str]]:
    """Top-level commands and, for each, its sub-actions (if it has any)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    out: dict[str, set[str]] = {}
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        nested = [
            a
            for a in p._actions
            if getattr(a, "choices", None) and a.dest in ("action", "kind", "KIND")
        ]
        out[name] = set(nested[0].choices) if nested else set()
    return out


@pytest.mark.parametrize("doc", DOCS)
def test_every_polyarb_command_in_the_docs_exists(doc: str) -> None:
    text = (REPO / "docs" / doc).read_text()
    known = _commands()
    used = re.findall(r"`[^`]*?\bpolyarb ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text)
    used += re.findall(r"^polyarb ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text, re.M)
    assert used
    for cmd, action in used:
        assert cmd in known, f"{doc}: polyarb {cmd} is not a command"
        if known[cmd] and action and not action.startswith("-"):
            assert action in known[cmd], f"{doc}: polyarb {cmd} {action} is not an action"


def test_checklist_doc_lists_every_check() -> None:
    text = (REPO / "docs" / "GO_NO_GO_CHECKLIST.md").read_text()
    names = [c.name for c in run_checks(GoNoGoInputs(phase=0, root=REPO / "no-such-dir"))]
    assert len(names) >= 18
    for name in names:
        assert f"`{name}`" in text, name


def test_runbook_names_every_alert_rule() -> None:
    from polyarb.alerts.rules import RULE_NAMES

    text = (REPO / "docs" / "PRODUCTION_RUNBOOK.md").read_text()
    for rule in RULE_NAMES:
        assert f"`{rule}`" in text, rule


def test_runbook_has_withdraw_and_support_chapters() -> None:
    """Issue 15 item 10: the runbook explains withdrawing funds (with ``polyarb withdraw``, issue
    14) and support/escalation (what to collect). Old runbook: neither chapter."""
    text = (REPO / "docs" / "PRODUCTION_RUNBOOK.md").read_text()
    withdraw = text.split("## 8. Withdraw funds", 1)[1].split("\n## ", 1)[0]
    for step in ("HALT", "positions", "pUSD", "polyarb withdraw", "transaction hash"):
        assert step in withdraw, step
    support = text.split("## 9. Support and escalation", 1)[1]
    for item in ("session id", "polyarb sessions check", "run.log", "polyarb parity", "Escalate"):
        assert item in support, item
