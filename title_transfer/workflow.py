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
