"""Courts, case types and the progress-node catalogue, kept as data (cases/data/*.toml).

Loaded and checked once at import: a duplicate key, a ``next`` naming no node, or a court
code that is not 浙 + digits stops the process with a message that says which entry is wrong.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import msgspec

DATA = Path(__file__).parent / "data"
_COURT_CODE = re.compile(r"^[\u4e00-\u9fff]\d{2,4}$")


class Court(msgspec.Struct, frozen=True):
    code: str
    name_zh: str
    name_en: str
    city_zh: str
    city_en: str
    phone: str
    address_zh: str
    address_en: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def address(self, lang: str) -> str:
        return self.address_zh if lang == "zh" else self.address_en


class CaseType(msgspec.Struct, frozen=True):
    code: str
    name_zh: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class Node(msgspec.Struct, frozen=True):
    key: str
    name_zh: str
    name_en: str
    next: list[str] = []
    closes: bool = False
    stage: str = ""  # filled in from the enclosing stage

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class Stage(msgspec.Struct, frozen=True):
    key: str
    name_zh: str
    name_en: str
    nodes: list[Node]

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class _CourtsFile(msgspec.Struct):
    courts: list[Court]


class _TypesFile(msgspec.Struct):
    types: list[CaseType]


class _NodesFile(msgspec.Struct):
    stages: list[Stage]


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Catalogue:
    courts: dict[str, Court]
    types: dict[str, CaseType]
    stages: list[Stage]
    nodes: dict[str, Node]

    def stage(self, key: str) -> Stage:
        return next(s for s in self.stages if s.key == key)

    def stage_position(self, key: str) -> int:
        return next(i for i, s in enumerate(self.stages) if s.key == key)

    def court_codes_longest_first(self) -> list[str]:
        return sorted(self.courts, key=len, reverse=True)


def _load(name: str, kind: type[msgspec.Struct]) -> msgspec.Struct:
    path = DATA / name
    try:
        return msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), kind)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc


@cache
def catalogue() -> Catalogue:
    courts_file = _load("courts.toml", _CourtsFile)
    types_file = _load("case_types.toml", _TypesFile)
    nodes_file = _load("nodes.toml", _NodesFile)
    assert isinstance(courts_file, _CourtsFile) and isinstance(types_file, _TypesFile)
    assert isinstance(nodes_file, _NodesFile)
    courts: dict[str, Court] = {}
    for court in courts_file.courts:
        if not _COURT_CODE.match(court.code):
            raise CatalogueError(f"courts.toml: court code {court.code!r} is not a province character and digits")
        if court.code in courts:
            raise CatalogueError(f"courts.toml: court {court.code} listed twice")
        courts[court.code] = court
    types: dict[str, CaseType] = {}
    for case_type in types_file.types:
        if case_type.code in types:
            raise CatalogueError(f"case_types.toml: type {case_type.code} listed twice")
        types[case_type.code] = case_type
    nodes: dict[str, Node] = {}
    stages: list[Stage] = []
    for stage in nodes_file.stages:
        staged = [msgspec.structs.replace(n, stage=stage.key) for n in stage.nodes]
        for node in staged:
            if node.key in nodes:
                raise CatalogueError(f"nodes.toml: node {node.key} listed twice")
            nodes[node.key] = node
        stages.append(msgspec.structs.replace(stage, nodes=staged))
    if len({s.key for s in stages}) != len(stages):
        raise CatalogueError("nodes.toml: a stage key is listed twice")
    for node in nodes.values():
        for following in node.next:
            if following not in nodes:
                raise CatalogueError(f"nodes.toml: node {node.key} names an unknown next node {following!r}")
    return Catalogue(courts=courts, types=types, stages=stages, nodes=nodes)


__all__ = ["CaseType", "Catalogue", "CatalogueError", "Court", "Node", "Stage", "catalogue"]
