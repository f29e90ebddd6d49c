import datetime as dt
from pathlib import Path

import pytest

from storage.workdays import default_calendar
from title_transfer.workflow import AssetKind, StepState, WorkflowError, load_workflows, schedule, waiting_on, workflows


def test_both_templates_load_with_the_domain_steps() -> None:
    wf = workflows()
    assert wf[AssetKind.real_estate].keys == [
        "balance_paid", "ruling_served", "assistance_notice", "tax_assessment", "tax_paid", "registration",
        "certificate_issued", "water_handover", "electricity_handover", "gas_handover", "delivery",
    ]
    assert wf[AssetKind.vehicle].keys == [
        "balance_paid", "ruling_served", "violations_cleared", "vehicle_registration", "delivery",
    ]


def test_utilities_and_delivery_run_in_parallel_with_the_tax_chain() -> None:
    re = workflows()[AssetKind.real_estate]
    for key in ("water_handover", "electricity_handover", "gas_handover", "delivery", "assistance_notice"):
        assert re.step(key).depends_on == ["ruling_served"]


def test_schedule_parallel_steps_share_a_start_and_chains_add_up() -> None:
    re = workflows()[AssetKind.real_estate]
    start = dt.date(2026, 11, 20)  # Friday
    due = schedule(re, start, {}, default_calendar())
    assert due["balance_paid"] == dt.date(2026, 11, 23)  # 1 working day: Monday
    assert due["ruling_served"] == dt.date(2026, 11, 24)
    assert due["assistance_notice"] == dt.date(2026, 11, 24)  # same working day
    assert due["tax_assessment"] == dt.date(2026, 11, 25)
    assert due["certificate_issued"] == dt.date(2026, 11, 27)
    assert due["water_handover"] == due["electricity_handover"] == dt.date(2026, 11, 27)
    assert due["delivery"] == dt.date(2026, 12, 15)  # 15 working days after the ruling


def test_schedule_follows_actual_completion_dates() -> None:
    re = workflows()[AssetKind.real_estate]
    late = schedule(re, dt.date(2026, 11, 20), {"balance_paid": dt.date(2026, 11, 30)}, default_calendar())
    assert late["ruling_served"] == dt.date(2026, 12, 1)


def test_waiting_on_names_unfinished_dependencies_only() -> None:
    re = workflows()[AssetKind.real_estate]
    states = {k: StepState.waiting for k in re.keys}
    states["ruling_served"] = StepState.done
    assert waiting_on(re, "water_handover", states) == []
    assert waiting_on(re, "tax_paid", states) == ["tax_assessment"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('depends_on = ["nope"]', "unknown step"),
        ('depends_on = ["b"]', "listed before its dependencies"),
    ],
)
def test_bad_templates_are_refused_at_load(tmp_path: Path, body: str, message: str) -> None:
    text = f"""
[real_estate]
name_zh = "x"
name_en = "x"
[[real_estate.steps]]
key = "a"
department = "court"
sla_days = 1
{body}
name_zh = "a"
name_en = "a"
action_zh = "a"
action_en = "a"
[[real_estate.steps]]
key = "b"
department = "court"
sla_days = 1
depends_on = []
name_zh = "b"
name_en = "b"
action_zh = "b"
action_en = "b"
"""
    path = tmp_path / "wf.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowError, match=message):
        load_workflows(path)


def test_unknown_department_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wf.toml"
    path.write_text(
        '[vehicle]\nname_zh="x"\nname_en="x"\n[[vehicle.steps]]\nkey="a"\ndepartment="police"\nsla_days=1\n'
        'depends_on=[]\nname_zh="a"\nname_en="a"\naction_zh="a"\naction_en="a"\n',
        encoding="utf-8",
    )
    with pytest.raises(WorkflowError, match="department"):
        load_workflows(path)
