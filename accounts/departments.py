"""The departments that own work, with their names in both languages."""

from __future__ import annotations

from enum import StrEnum


class Department(StrEnum):
    court = "court"
    tax = "tax"
    registry = "registry"
    water = "water"
    electricity = "electricity"
    gas = "gas"
    vehicles = "vehicles"
    urban_management = "urban_management"


DEPARTMENT_NAMES: dict[Department, tuple[str, str]] = {
    Department.court: ("法院执行局", "Court enforcement bureau"),
    Department.tax: ("税务局", "Tax bureau"),
    Department.registry: ("不动产登记中心", "Real-estate registry"),
    Department.water: ("供水公司", "Water company"),
    Department.electricity: ("供电公司", "Power company"),
    Department.gas: ("燃气公司", "Gas company"),
    Department.vehicles: ("车管所", "Vehicle administration"),
    Department.urban_management: ("综合行政执法局", "Urban management bureau"),
}


def department_name(dept: str, lang: str) -> str:
    zh, en = DEPARTMENT_NAMES[Department(dept)]
    return zh if lang == "zh" else en
