#!/bin/sh
# hybridhost demo container: PID 1. Stays up; SIGTERM stops it at once.
probe=""
trap '[ -z "$probe" ] || kill "$probe"; exit 0' TERM INT
echo "HYBRIDHOST-CONTAINER start"
echo "hybridhost container $(hostname)" > /www/index.html
httpd -p 80 -h /www
# Key logins only; each host key is made at its first use (-R), never baked in.
/usr/sbin/dropbear -R -s -E -p 22 -P /run/dropbear.pid
addr=""
while [ -z "$addr" ]; do
  # shellcheck disable=SC2046 # split on purpose: the words of ip's line become $1..$n
  set -- $(ip -4 -o addr show scope global 2>/dev/null | head -n1)
  addr=${4:-}
  [ -n "$addr" ] || sleep 1
done
echo "HYBRIDHOST-CONTAINER ip=${addr%/*} prefix=${addr#*/}"
sh /etc/hybridhost-probe "${addr%/*}" &
probe=$!
# PID 1 only reaps from here on; short sleeps keep SIGTERM handling prompt.
while :; do sleep 1; done
