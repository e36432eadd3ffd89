#!/bin/sh
# hybridhost lab guest: PID 1. Never exits (the kernel would panic).
export PATH=/bin
say() { echo "HYBRIDHOST-GUEST $* uptime=$(cut -d' ' -f1 /proc/uptime)"; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /run /tmp /www /dev/pts
mount -t devpts devpts /dev/pts
hostname hybridhost-guest
say "init kernel=$(uname -r)"
# shellcheck disable=SC2013 # one module name per line, no spaces: words are lines
for mod in $(cat /etc/hybridhost/modules); do
  insmod "/lib/modules/$mod.ko" || say "module=$mod failed"
done
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 100000; n=$((n+1)); done
[ -e /sys/class/net/eth0 ] || say "eth0=missing"
ip link set eth0 up
if ! sh /etc/hybridhost-config-drive; then
  until udhcpc -i eth0 -s /etc/udhcpc.script -O mtu -t 10 -T 2 -A 1 -n 2>/dev/null; do
    say "dhcp=retry"
  done
fi
addr=$(cut -d/ -f1 /run/hh-ip)
echo "hybridhost guest $addr" > /www/index.html
httpd -p 80 -h /www
sh /etc/hybridhost-ssh-keys /run/meta_data.json
# Key logins only; each host key is made at its first use (-R), never baked in. In the
# foreground of a background job: its start under TCG does not hold up the rest.
/usr/sbin/dropbear -F -R -s -E -p 22 -P /run/dropbear.pid &
keys=0
[ -s /root/.ssh/authorized_keys ] && keys=$(grep -c . /root/.ssh/authorized_keys)
say "ready ip=$addr keys=$keys"
extra=""
# shellcheck disable=SC2013 # the kernel command line's words are what is wanted
for word in $(cat /proc/cmdline); do
  case "$word" in hybridhost.ping=*) extra="$extra $(echo "${word#*=}" | tr , ' ')";; esac
done
# shellcheck disable=SC2086 # split on purpose: one argument per extra address
sh /etc/hybridhost-probe "$addr" $extra &
# PID 1 only reaps (foreground waits collect every orphan) from here on.
while :; do sleep 3600; done
