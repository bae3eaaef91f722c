"""Each word of the case vocabulary is spelled once: statuses, status groups and resolutions in
shared/vocabulary.py, event names in the contracts (shared/events) and the SOP table.

The developers' own code is searched (Python, the SQL in it, the pages' scripts); a list of
two or more of these words anywhere else is a copy that will drift, and fails this test.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from shared.events import CONTRACTS
from shared.events import workflow as wf
from shared.sop import ACTIONS, SOPS
from shared.vocabulary import (
    CLOSING_EVENTS,
    EVENT_LABELS,
    GROUPS,
    OPENING_EVENTS,
    PROGRESS_EVENTS,
    RESOLUTIONS,
    TOLD,
    Group,
    Status,
)

ROOT = Path(__file__).resolve().parents[1]

STATUSES = frozenset(status.value for status in Status)
GROUP_NAMES = frozenset(group.value for group in Group)
EVENTS = frozenset(contract.name for contract in CONTRACTS.values())
KINDS_OF_WORD = (STATUSES, GROUP_NAMES, EVENTS)

HOME = {
    "shared/vocabulary.py",  # statuses, groups, resolutions, the words for events
    "shared/sop.py",  # the SOP table: each action names the event it records
}
HOMES = ("shared/events/",)  # the contracts


def own_python() -> Iterator[tuple[str, ast.AST]]:
    """Every module of the developers' own code (tests excepted), parsed."""
    for folder in ("services", "shared", "deploy", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in HOME or name.startswith(HOMES):
                continue
            yield name, ast.parse(path.read_text(), filename=name)


def listed(node: ast.AST) -> list[str]:
    """The statuses, the group names or the event names (whichever are more) that a literal
    tuple, list, set or dict (its keys) spells out."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        items: list[ast.expr | None] = list(node.elts)
    elif isinstance(node, ast.Dict):
        items = list(node.keys)
    else:
        return []
    strings = [item.value for item in items if isinstance(item, ast.Constant)]
    return max(([s for s in strings if s in words] for words in KINDS_OF_WORD), key=len)


SQL_LITERAL = re.compile(r"'([A-Za-z_]+)'")


def test_no_python_module_lists_statuses_groups_resolutions_or_events() -> None:
    copies = [
        f"{name}:{getattr(node, 'lineno', 0)}: {words}"
        for name, tree in own_python()
        for node in ast.walk(tree)
        if len(words := listed(node)) >= 2
    ]
    assert not copies, "lists outside shared/vocabulary.py and the contracts:\n" + "\n".join(copies)


def test_no_sql_spells_a_status_or_a_resolution() -> None:
    """SQL takes them as parameters (`status = ANY($n)`), built from the vocabulary."""
    copies = [
        f"{name}:{node.lineno}: {found}"
        for name, tree in own_python()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for found in SQL_LITERAL.findall(node.value)
        if found in STATUSES | EVENTS
    ]
    schema = [
        f"{path.relative_to(ROOT)}: {found}"
        for path in sorted(ROOT.glob("services/*/*.sql"))
        for found in SQL_LITERAL.findall(path.read_text())
        if found in STATUSES | EVENTS
    ]
    assert not copies + schema, "\n".join(copies + schema)


JS_STRING = re.compile(r"""(["'`])([A-Za-z_]+)\1""")
JS_LIST = re.compile(r"\[[^\[\]]*\]|\{[^{}]*\}|new Set\([^()]*\)")


def test_no_page_script_keeps_a_status_or_an_event_list() -> None:
    """The scripts read statuses and their groups from /reporting/v1/vocabulary."""
    copies = []
    for path in sorted((ROOT / "web").rglob("*.js")):
        text = path.read_text()
        name = path.relative_to(ROOT).as_posix()
        copies += [f"{name}: status {m[2]!r}" for m in JS_STRING.finditer(text) if m[2] in STATUSES]
        for literal in JS_LIST.finditer(text):
            events = [m[2] for m in JS_STRING.finditer(literal[0]) if m[2] in EVENTS]
            if len(events) >= 2:
                copies.append(f"{name}: events {events}")
    assert not copies, "\n".join(copies)


def test_the_search_finds_a_copy() -> None:
    """The searches above would see the copies this issue removed (they are not blind)."""
    python = ast.parse(
        'OPEN = ("in_progress", "waiting_info")\nx = {"CaseRejected": 1, "CaseMerged": 2}'
    )
    assert [listed(node) for node in ast.walk(python) if listed(node)] == [
        ["in_progress", "waiting_info"],
        ["CaseRejected", "CaseMerged"],
    ]
    assert SQL_LITERAL.findall("AND status IN ('in_progress', 'waiting_info')") == [
        "in_progress",
        "waiting_info",
    ]
    script = 'const CLOSED = new Set(["resolved", "rejected", "merged"]);'
    assert [m[2] for m in JS_STRING.finditer(script)] == ["resolved", "rejected", "merged"]


def test_closing_and_progress_events_are_the_sop_tables_and_contracts() -> None:
    closing = {action.event for action in ACTIONS.values() if action.closes}
    assert set(CLOSING_EVENTS) == closing
    assert set(RESOLUTIONS) == closing | {wf.CaseImported.name}
    assert {wf.CaseRejected.name, wf.CaseMerged.name, wf.ResolvedDirectly.name} <= closing
    assert set(PROGRESS_EVENTS).isdisjoint(closing)
    assert set(OPENING_EVENTS) == {wf.CaseOpened.name, wf.CaseImported.name}
    words = {*CLOSING_EVENTS, *PROGRESS_EVENTS, *OPENING_EVENTS, *EVENT_LABELS, *TOLD}
    assert words <= EVENTS, words - EVENTS
    # ... and the forwarding to the agency in charge (the coordinator's transfer)
    assert set(TOLD) == set(CLOSING_EVENTS) | set(PROGRESS_EVENTS) | {wf.CaseTransferred.name}
    assert set(RESOLUTIONS) <= set(EVENT_LABELS)  # every resolution has a label
    # a step completed with no step after it closes the case: its event is a closing one,
    # whose status the case and the rekap read from RESOLUTIONS (`closes_as`)
    for sop in SOPS.values():
        assert all(action.closes for action in sop.case_steps[-1].actions), sop


def test_groups_partition_the_statuses() -> None:
    assert GROUPS[Group.OPEN] | GROUPS[Group.CLOSED] == set(Status)
    assert GROUPS[Group.OPEN].isdisjoint(GROUPS[Group.CLOSED])
    assert GROUPS[Group.WAITING] < GROUPS[Group.OPEN]
    assert GROUPS[Group.ANSWERED] < GROUPS[Group.CLOSED]
    assert Status.RECEIVED in GROUPS[Group.OPEN]  # the 14 working days run from receipt
    closed_as = {r.status for r in RESOLUTIONS.values() if r.status is not None}
    assert closed_as == GROUPS[Group.CLOSED]
