"""The ledger's table, notes and JSON."""

import pytest

from hybridhost import plan as box_plan
from hybridhost.ledger import model
from hybridhost.ledger import report
from tests.unit import confutils
from tests.unit.ledger import fakes

FLAVORS = (model.Flavor("hh.container.tiny", "docker", 1, 64, 1),
           model.Flavor("hh.container.huge", "docker", 8, 1024, 1),
           model.Flavor("hh.vm", "kvm", 1, 256, 1))


@pytest.fixture
def plan(tmp_path):
    return box_plan.build(confutils.load(tmp_path))


class TestTable:
    def test_one_line_per_side_and_resource_with_units_and_the_plan(self, plan):
        lines = report.table(model.build(plan, fakes.as_rendered(plan, {
            "docker": {"VCPU": 3, "MEMORY_MB": 192, "DISK_GB": 3}})))
        assert lines == [
            "SIDE    PROVIDER    RESOURCE   UNIT  CAPACITY  USED   FREE  PLAN (offer x ratio)",
            "docker  box-docker  VCPU       vCPU       512     3    509  4 x 128 = 512",
            "docker  box-docker  MEMORY_MB  MiB      15360   192  15168  15360 x 1 = 15360",
            "docker  box-docker  DISK_GB    GiB         95     3     92  95 x 1 = 95",
            "kvm     box         VCPU       vCPU        16     0     16  4 x 4 = 16",
            "kvm     box         MEMORY_MB  MiB      15360     0  15360  15360 x 1 = 15360",
            "kvm     box         DISK_GB    GiB         95     0     95  95 x 1 = 95",
        ]

    def test_mismatch_and_over_use_are_marked_on_their_line(self, plan):
        providers = fakes.changed(fakes.as_rendered(plan, {"docker": {"VCPU": 600}}),
                                  "box", "MEMORY_MB", reserved=0)
        lines = report.table(model.build(plan, providers))
        assert lines[1].endswith("4 x 128 = 512  OVER-USED")
        assert lines[5].endswith("15360 x 1 = 15360  MISMATCH")
        assert "32768" in lines[5]
        assert not any(line.endswith(("MISMATCH", "OVER-USED")) for line in lines[2:5])

    def test_unknown_shows_question_marks_beside_the_plan(self, plan):
        lines = report.table(model.build(plan, unknown="x"))
        assert lines[1].split() == ["docker", "box-docker", "VCPU", "vCPU", "?", "?", "?",
                                    "4", "x", "128", "=", "512"]


class TestNotes:
    def test_agreement_and_the_room_left_per_side(self, plan):
        """The Docker side's VCPU max_unit is its 4 vCPU: an 8-vCPU flavor never fits,
        however much the ratio leaves free (nova says 'No valid host')."""
        notes = report.notes(model.build(plan, fakes.as_rendered(plan)), FLAVORS)
        assert notes == [
            "placement holds what the plan says (CAPACITY = offer x ratio).",
            "room on docker: 95 hh.container.tiny (limit DISK_GB), 0 hh.container.huge "
            "(asks 8 vCPU, above max_unit 4: never fits).",
            "room on kvm: 16 hh.vm (limit VCPU)."]

    def test_problems_are_listed(self, plan):
        providers = fakes.changed(fakes.as_rendered(plan), "box", "MEMORY_MB", reserved=0)
        notes = report.notes(model.build(plan, providers))
        assert len(notes) == 1 and notes[0].startswith("problem: kvm MEMORY_MB: placement")

    def test_unknown_use_is_one_line_saying_why(self, plan):
        ledger = model.build(plan, unknown="placement cannot be read: refused.")
        assert report.notes(ledger, FLAVORS) == [
            "use unknown: placement cannot be read: refused. The table shows the plan "
            "only: what each side offers placement x its allocation ratio."]


class TestJson:
    def test_every_line_with_placement_and_plan_figures(self, plan):
        data = report.as_dict(model.build(plan, fakes.as_rendered(plan)), FLAVORS)
        assert data["placement"] == "read" and data["unknown"] is None
        assert data["providers"] == {"docker": "uuid-docker", "kvm": "uuid-kvm"}
        assert data["resources"][3] == {
            "side": "kvm", "provider": "box", "resource": "VCPU", "unit": "vCPU",
            "capacity": 16, "used": 0, "free": 16, "offer": 4, "ratio": 4.0, "planned": 16,
            "matches_plan": True, "over_used": False,
            "placement": {"total": 8, "reserved": 4, "allocation_ratio": 4.0, "max_unit": 8}}
        assert data["problems"] == []
        assert data["room"] == [
            {"flavor": "hh.container.tiny", "side": "docker", "count": 95, "limit": "DISK_GB",
             "max_unit": None},
            {"flavor": "hh.container.huge", "side": "docker", "count": 0, "limit": "VCPU",
             "max_unit": 4},
            {"flavor": "hh.vm", "side": "kvm", "count": 16, "limit": "VCPU", "max_unit": None}]

    def test_unknown(self, plan):
        data = report.as_dict(model.build(plan, unknown="why"), FLAVORS)
        assert (data["placement"], data["unknown"]) == ("unknown", "why")
        assert data["resources"][0]["capacity"] is None
        assert data["resources"][0]["planned"] == 512
        assert data["resources"][0]["placement"] is None
        assert [room["count"] for room in data["room"]] == [None, None, None]
