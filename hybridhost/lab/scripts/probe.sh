#!/bin/sh
addr=$1
shift
extra="$*"
seen=/tmp/hybridhost-seen
mkdir -p "$seen"
can_ping=""
ping -c1 -W1 127.0.0.1 >/dev/null 2>&1 && can_ping=1
base=${addr%.*}
targets="$extra"
i=1
while [ $i -le 254 ]; do
  case " $addr $extra " in *" $base.$i "*) ;; *) targets="$targets $base.$i";; esac
  i=$((i+1))
done
jobs=""
collect() {
  for job in $jobs; do
    wait "${job%%:*}" || continue
    touch "$seen/ping-${job#*:}"
    echo "HYBRIDHOST-PING ${job#*:} ok"
    echo "${job#*:}" >> "$seen/round"
  done
  jobs=""
}
http_probe() {
  timeout 2 wget -q -O /dev/null "http://$1/" 2>/dev/null || return
  touch "$seen/http-$1"
  echo "HYBRIDHOST-HTTP $1 ok"
}
rounds=0
while :; do
  : > "$seen/round"
  n=0
  for t in $targets; do
    [ -e "$seen/http-$t" ] && continue
    if [ -z "$can_ping" ] || [ -e "$seen/ping-$t" ]; then
      echo "$t" >> "$seen/round"
      continue
    fi
    ping -c1 -W1 "$t" >/dev/null 2>&1 &
    jobs="$jobs $!:$t"
    n=$((n+1))
    [ $((n % PROBE_BATCH)) -eq 0 ] && collect
  done
  collect
  n=0
  # shellcheck disable=SC2013 # one address per line: words are lines
  for t in $(cat "$seen/round"); do
    http_probe "$t" &
    jobs="$jobs $!"
    n=$((n+1))
    # shellcheck disable=SC2086 # split on purpose: wait for each job's pid
    [ $((n % PROBE_BATCH)) -eq 0 ] && { wait $jobs; jobs=""; }
  done
  # shellcheck disable=SC2086 # split on purpose: wait for each job's pid
  [ -z "$jobs" ] || wait $jobs
  jobs=""
  rounds=$((rounds+1))
  # shellcheck disable=SC2170 # FAST_ROUNDS is a placeholder: a number once built
  if [ $rounds -lt FAST_ROUNDS ]; then sleep 2; else sleep SLOW_ROUND_S; fi
done
