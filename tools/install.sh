#!/usr/bin/env bash
# Install what hybridhost needs on a fresh Debian 12 machine (idempotent, as root):
# Debian packages for the host services, and a virtualenv with the pinned OpenStack
# 2026.2 releases (constraints.txt) and hybridhost itself, installed non-editable
# (nova loads the driver shim only from site-packages: see shim/).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HYBRIDHOST_VENV:-/opt/hybridhost/venv}"
APT_PACKAGES=(docker.io openvswitch-switch busybox-static iproute2 util-linux procps
              python3-venv gcc python3-dev qemu-system-x86
              # qemu-img: nova's libvirt driver inspects every image with it
              qemu-utils
              # the lab (hybridhost lab up): control plane, libvirt side, DHCP, config drives
              mariadb-server rabbitmq-server libvirt-daemon-system libvirt-dev pkg-config
              # mysqlclient, the services' MariaDB driver, builds against it
              libmariadb-dev
              dnsmasq-base genisoimage conntrack
              # the ssh tests log into the demo images with it (ssh, ssh-keygen)
              openssh-client
              # the unit tests check the guest's shell scripts with it
              shellcheck
              # systemd-analyze verify checks the rendered hybridhost.service (a unit
              # test; no running systemd needed, nothing is started)
              systemd)
# The lab's control plane in the venv (pinned by constraints.txt); libvirt-python and
# mysqlclient build against Debian's libvirt-dev and libmariadb-dev (gcc, pkg-config).
LAB_PIP_PACKAGES=(keystone glance openstack-placement uWSGI python-openstackclient PyMySQL
                  mysqlclient libvirt-python)
# The test and lint tools tools/run-tests uses (pinned by constraints.txt too), and the
# type stubs mypy needs for docker (types-requests comes with them).
DEV_PIP_PACKAGES=(pytest import-linter ruff mypy docutils types-docker types-requests)

step() { printf '[%5ss] %s\n' "$SECONDS" "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "tools/install.sh: run as root (it installs Debian packages and starts daemons)" >&2
    exit 2
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt: installing ${missing[*]}"
    # Keep the packages' own services (mariadb, rabbitmq, libvirtd, dockerd, OVS) from
    # starting: supervisord runs them on the box, and the lab uses the same ports.
    own_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        own_policy=yes
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
    [ "$own_policy" = no ] || rm -f /usr/sbin/policy-rc.d
else
    step "apt: all packages present"
fi

PYTHON="${HYBRIDHOST_PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x "$VENV/bin/python" ]; then
    step "venv: creating $VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install -q -U pip wheel setuptools
fi
step "venv: installing hybridhost and its pinned dependencies"
"$VENV/bin/pip" install -q -c "$HERE/constraints.txt" "$HERE" "${DEV_PIP_PACKAGES[@]}" \
    "${LAB_PIP_PACKAGES[@]}"
# Reinstall our own package every time, so a changed tree is what gets tested.
"$VENV/bin/pip" install -q --no-deps --force-reinstall "$HERE"
step "venv: ready ($("$VENV/bin/hybridhost" --help >/dev/null && echo hybridhost OK))"

# The commands a user of the box types, on PATH: hybridhost, supervisorctl (controls the
# box's supervisord) and openstack (the lab's client). A file there that is not ours
# is left alone.
for cmd in hybridhost supervisorctl openstack; do
    link=/usr/local/bin/$cmd
    if [ -L "$link" ] && [ "$(readlink "$link")" = "$VENV/bin/$cmd" ]; then
        continue
    elif [ -e "$link" ] || [ -L "$link" ]; then
        step "PATH: $link exists and is not $VENV/bin/$cmd; left as it is"
    else
        ln -s "$VENV/bin/$cmd" "$link"
        step "PATH: $link -> $VENV/bin/$cmd"
    fi
done
