"""The lab projects' quotas follow the box's capacity, against a hand-written fake of the
SDK's identity, compute and network proxies (only the quota calls hybridhost makes)."""

import types

from hybridhost import plan as box_plan
from hybridhost.lab import bootstrap
from tests.unit import confutils

NOVA_DEFAULTS = {"instances": 10, "cores": 20, "ram": 51200}
NEUTRON_DEFAULTS = {"ports": 500}


class FakeIdentity:
    def __init__(self, names):
        self.projects = {name: types.SimpleNamespace(id="id-%s" % name, name=name)
                         for name in names}

    def find_project(self, name, domain_id):
        assert domain_id == "default"
        return self.projects.get(name)


class FakeQuotas:
    """One quota table per project id, as nova's quota sets or neutron's quotas."""

    def __init__(self, defaults):
        self.defaults, self.table, self.updates = defaults, {}, []

    def current(self, project_id):
        return types.SimpleNamespace(**self.table.setdefault(project_id, dict(self.defaults)))

    def update(self, project_id, values):
        self.updates.append((project_id, values))
        self.table.setdefault(project_id, dict(self.defaults)).update(values)


class FakeCompute:
    def __init__(self):
        self.quotas = FakeQuotas(NOVA_DEFAULTS)

    def get_quota_set(self, project):
        return self.quotas.current(project.id)

    def update_quota_set(self, project, **values):
        self.quotas.update(project.id, values)


class FakeNetwork:
    def __init__(self):
        self.quotas = FakeQuotas(NEUTRON_DEFAULTS)

    def get_quota(self, project_id):
        return self.quotas.current(project_id)

    def update_quota(self, project_id, **values):
        self.quotas.update(project_id, values)


def _conn(projects=bootstrap.LAB_PROJECTS):
    return types.SimpleNamespace(identity=FakeIdentity(projects), compute=FakeCompute(),
                                 network=FakeNetwork())


def _plan(tmp_path, extra=""):
    return box_plan.build(confutils.load(tmp_path, extra))


class TestProjectQuotas:
    def test_from_each_sides_share_and_ratios(self, tmp_path):
        """8 vCPU, 32 GiB, 2 GiB reserved: each side 4 vCPU and 15360 MiB."""
        quotas = bootstrap.project_quotas(_plan(tmp_path))
        assert quotas == {"compute": {"instances": 4 * 128 + 4 * 4, "cores": 4 * 128 + 4 * 4,
                                      "ram": 15360 + 15360},
                          "network": {"ports": bootstrap.UNLIMITED}}

    def test_ratios_scale_them(self, tmp_path):
        quotas = bootstrap.project_quotas(_plan(
            tmp_path, "[host]\ndocker_cpu_allocation_ratio = 16\n"
                      "kvm_ram_allocation_ratio = 1.5\n"))
        assert quotas["compute"]["instances"] == 4 * 16 + 4 * 4
        assert quotas["compute"]["ram"] == 15360 + int(15360 * 1.5)


class TestEnsureQuotas:
    def test_raises_what_is_lower_in_every_lab_project(self, tmp_path):
        conn, plan = _conn(), _plan(tmp_path)
        raised = bootstrap.ensure_quotas(conn, plan)
        # nova's default ram quota (51200 MiB) is already above the box's 30720.
        assert raised == {name: {"instances": 528, "cores": 528, "ports": -1}
                          for name in bootstrap.LAB_PROJECTS}
        for name in bootstrap.LAB_PROJECTS:
            assert conn.compute.quotas.table["id-%s" % name] == {
                "instances": 528, "cores": 528, "ram": 51200}
            assert conn.network.quotas.table["id-%s" % name] == {"ports": -1}

    def test_a_second_run_changes_nothing(self, tmp_path):
        conn, plan = _conn(), _plan(tmp_path)
        bootstrap.ensure_quotas(conn, plan)
        updates = (list(conn.compute.quotas.updates), list(conn.network.quotas.updates))
        assert bootstrap.ensure_quotas(conn, plan) == {}
        assert (conn.compute.quotas.updates, conn.network.quotas.updates) == updates

    def test_never_lowers_a_quota_nor_limits_an_unlimited_one(self, tmp_path):
        conn, plan = _conn(), _plan(tmp_path)
        conn.compute.quotas.table["id-admin"] = {"instances": -1, "cores": 100000,
                                                 "ram": 10}
        raised = bootstrap.ensure_quotas(conn, plan)
        assert raised["admin"] == {"ram": 30720, "ports": -1}
        assert conn.compute.quotas.table["id-admin"] == {"instances": -1, "cores": 100000,
                                                         "ram": 30720}

    def test_an_unlimited_port_quota_is_left_and_a_high_one_lifted(self, tmp_path):
        """Unlimited ports: nova-api counts a limited project's ports at each boot."""
        conn, plan = _conn(), _plan(tmp_path)
        conn.network.quotas.table["id-admin"] = {"ports": -1}
        conn.network.quotas.table["id-service"] = {"ports": 100000}
        raised = bootstrap.ensure_quotas(conn, plan)
        assert "ports" not in raised["admin"] and raised["service"]["ports"] == -1
        assert conn.network.quotas.table["id-service"] == {"ports": -1}

    def test_a_project_the_lab_did_not_create_is_skipped(self, tmp_path):
        conn = _conn(projects=("admin",))
        assert sorted(bootstrap.ensure_quotas(conn, _plan(tmp_path))) == ["admin"]

    def test_the_report_line(self, tmp_path):
        plan = _plan(tmp_path)
        assert bootstrap.quotas_line(plan, {}) == (
            "quotas of admin, service at least instances 528, cores 528, ram 30720 MiB, "
            "ports unlimited (unchanged)")
        assert bootstrap.quotas_line(plan, {"service": {}, "admin": {}}).endswith(
            "(raised in admin, service)")
