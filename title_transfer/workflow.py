"""Workflow templates (data) and the rules that follow from them: order, readiness, due dates."""

from __future__ import annotations

import datetime as dt
import tomllib
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import msgspec

from accounts.departments import Department
from storage.workdays import WorkCalendar

WORKFLOWS_FILE = Path(__file__).parent / "data" / "workflows.toml"


class AssetKind(StrEnum):
    real_estate = "real_estate"
    vehicle = "vehicle"


class StepState(StrEnum):
    waiting = "waiting"
    ready = "ready"
    in_progress = "in_progress"
    done = "done"
    blocked = "blocked"
    not_applicable = "not_applicable"


# States whose step no longer holds anyone up.
SATISFIED = frozenset({StepState.done, StepState.not_applicable})


class Transition(msgspec.Struct, frozen=True):
    """What a staff action on one step needs: the states it may start from, and what to say
    when it may not (``{state}`` is the step's state; when the step still waits on others
    and its state is in ``waiting_states``, the refusal names them after ``waiting_*``)."""

    allowed_from: frozenset[StepState]
    refused_zh: str
    refused_en: str
    waiting_zh: str = ""
    waiting_en: str = ""
    waiting_states: frozenset[StepState] | None = None  # None: whatever the state


_OPEN = frozenset({StepState.waiting, StepState.ready, StepState.in_progress, StepState.blocked})

# The step's state machine (the effect of each action is in title_transfer.service).
TRANSITIONS: dict[str, Transition] = {
    "start": Transition(
        frozenset({StepState.ready}), "只有“可办理”的步骤才能开始。",
        "Only a ready step can be started (this one is {state}).",
        waiting_zh="前置步骤尚未完成:", waiting_en="Waiting on: "),
    "complete": Transition(
        frozenset({StepState.ready, StepState.in_progress}), "该步骤当前状态不能办结。",
        "A step that is {state} cannot be completed.",
        waiting_zh="前置步骤尚未完成,不能办结:", waiting_en="Cannot complete: still waiting on ",
        waiting_states=frozenset({StepState.waiting})),
    "block": Transition(
        frozenset({StepState.waiting, StepState.ready, StepState.in_progress}), "该步骤当前状态不能标记受阻。",
        "A step that is {state} cannot be blocked."),
    "unblock": Transition(frozenset({StepState.blocked}), "该步骤未处于受阻状态。", "This step is not blocked."),
    "not_applicable": Transition(_OPEN, "该步骤已办结或已不适用。", "This step is already done or not applicable."),
}


class StepTemplate(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    key: str
    department: Department
    sla_days: int
    depends_on: list[str]
    name_zh: str
    name_en: str
    action_zh: str
    action_en: str
    documents: list[str] = []
    utility: str | None = None


class WorkflowTemplate(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name_zh: str
    name_en: str
    steps: list[StepTemplate]

    def step(self, key: str) -> StepTemplate:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.steps]


class WorkflowError(ValueError):
    pass


def validate_template(kind: str, template: WorkflowTemplate) -> None:
    keys = [s.key for s in template.steps]
    if len(keys) != len(set(keys)):
        raise WorkflowError(f"{kind}: duplicate step keys")
    for step in template.steps:
        if step.sla_days < 0 or step.sla_days > 90:
            raise WorkflowError(f"{kind}.{step.key}: sla_days must be 0..90")
        for dep in step.depends_on:
            if dep not in keys:
                raise WorkflowError(f"{kind}.{step.key}: depends on unknown step {dep!r}")
    # Steps must be listed after what they depend on: this proves the graph has no cycle
    # and gives a stable display order.
    seen: set[str] = set()
    for step in template.steps:
        missing = [d for d in step.depends_on if d not in seen]
        if missing:
            raise WorkflowError(f"{kind}.{step.key}: listed before its dependencies {missing} (or a cycle)")
        seen.add(step.key)


def load_workflows(path: Path = WORKFLOWS_FILE) -> dict[AssetKind, WorkflowTemplate]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        parsed = msgspec.convert(raw, dict[AssetKind, WorkflowTemplate])
    except msgspec.ValidationError as exc:
        raise WorkflowError(f"{path.name}: {exc}") from None
    for kind, template in parsed.items():
        validate_template(kind, template)
    return parsed


@lru_cache(maxsize=1)
def workflows() -> dict[AssetKind, WorkflowTemplate]:
    return load_workflows()


def step_names(asset_kind: AssetKind | str, key: str) -> tuple[str, str]:
    """The step's name (zh, en) in its asset kind's workflow; the key itself if it has none."""
    template = workflows().get(AssetKind(asset_kind))
    if template is None:
        return key, key
    try:
        step = template.step(key)
    except KeyError:
        return key, key
    return step.name_zh, step.name_en


def waiting_on(template: WorkflowTemplate, key: str, states: dict[str, StepState]) -> list[str]:
    """The dependencies of ``key`` that are not yet done or not applicable."""
    return [d for d in template.step(key).depends_on if states[d] not in SATISFIED]


def schedule(
    template: WorkflowTemplate,
    start: dt.date,
    finished_on: dict[str, dt.date],
    calendar: WorkCalendar,
) -> dict[str, dt.date]:
    """Due date of every step.

    A step can start when its last dependency finished (actual date where it has one,
    its own due date otherwise); it is due ``sla_days`` working days later. Steps with
    no dependencies start on ``start`` (the sale date).
    """
    due: dict[str, dt.date] = {}
    for step in template.steps:  # listed in dependency order (validated)
        begins = start
        for dep in step.depends_on:
            dep_end = finished_on.get(dep, due[dep])
            begins = max(begins, dep_end)
        due[step.key] = calendar.add_working_days(begins, step.sla_days)
    return due
