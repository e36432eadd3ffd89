"""Render every file of the box from hybridhost.conf, or refuse with the rule broken."""

from hybridhost import lab_state
from hybridhost import plan as box_plan
from hybridhost.render import control_plane
from hybridhost.render import l3_agent
from hybridhost.render import lab_openstack
from hybridhost.render import neutron
from hybridhost.render import nova
from hybridhost.render import rules
from hybridhost.render import supervisor
from hybridhost.render import watcher


def render(conf, detected=None):
    """Return ``(plan, files)``: files maps a path relative to the config dir to its text.

    Raises ``RenderRuleBroken`` (and renders nothing) when a rule would be broken.
    """
    plan = box_plan.build(conf, detected)
    lab_enabled = lab_state.enabled(conf)
    if lab_enabled:
        # The lab's control plane is what the computes and the agent join.
        conf = lab_openstack.with_lab_openstack(conf, lab_state.load_secrets(conf))
        conf = l3_agent.with_external_bridge(conf)
    files = {
        rules.DOCKER_CONF: nova.render_docker(conf, plan),
        rules.KVM_CONF: nova.render_kvm(conf, plan),
        nova.KVM_PROVIDER_CONFIG: nova.render_kvm_provider_config(),
        rules.AGENT_CONF: neutron.render_agent(conf, plan),
        "conf/supervisord.conf": supervisor.render_supervisord(conf, plan),
    }
    if conf.host.manage_services and "libvirtd" in conf.host.managed_services:
        files["conf/libvirtd.conf"] = supervisor.render_libvirtd(conf, plan)
    files.update(supervisor.render_program_files(conf, plan))
    if conf.watcher.enabled:
        files[watcher.WATCHER_CONF] = watcher.render_watcher(conf, plan)
    if lab_enabled:
        files.update(control_plane.render(conf, plan))
    rules.check_all(files, plan)
    return plan, dict(sorted(files.items()))
