#!/bin/sh
# Writes each key of "public_keys" (a top-level object of meta_data.json, as nova puts
# it on the config drive: {"public_keys": {"<name>": "ssh-ed25519 AAAA... comment\n"}})
# into /root/.ssh/authorized_keys, one line each. A small JSON scanner: strings may hold
# escapes (\" \\ \n \uXXXX...); anything else in the file is skipped.
meta=${1:-/run/meta_data.json}
keys=${2:-/root/.ssh/authorized_keys}
[ -r "$meta" ] || exit 0
umask 077
mkdir -p "${keys%/*}"
awk '
function hex(h,   v, k) {
  v = 0
  for (k = 1; k <= length(h); k++) v = v * 16 + index("0123456789abcdef", tolower(substr(h, k, 1))) - 1
  return v
}
function utf8(c) {
  if (c < 128) return sprintf("%c", c)
  if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
  return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
}
# The JSON string starting at s[i] (a quote): its value; pos is left after its end.
function str(s, i,   out, c, e) {
  out = ""
  for (i++; i <= length(s); i++) {
    c = substr(s, i, 1)
    if (c == "\"") break
    if (c != "\\") { out = out c; continue }
    e = substr(s, ++i, 1)
    if (e == "n") out = out "\n"
    else if (e == "t") out = out "\t"
    else if (e == "r" || e == "b" || e == "f") out = out " "
    else if (e == "u") { out = out utf8(hex(substr(s, i + 1, 4))); i += 4 }
    else out = out e
  }
  pos = i + 1
  return out
}
# Each line of a key value, trailing blanks and newlines dropped, empty lines skipped.
function emit(v,   n, lines, k) {
  n = split(v, lines, "\n")
  for (k = 1; k <= n; k++) {
    sub(/[ \t\r]+$/, "", lines[k])
    if (lines[k] != "") print lines[k]
  }
}
BEGIN { RS = "\001" }
{
  s = $0; depth = 0; want = 0; inside = 0; i = 1
  while (i <= length(s)) {
    c = substr(s, i, 1)
    if (c == "\"") {
      v = str(s, i); i = pos
      while (substr(s, i, 1) ~ /[ \t\r\n]/) i++
      if (substr(s, i, 1) == ":") { want = (depth == 1 && v == "public_keys"); continue }
      if (inside && depth == inside) emit(v)
      want = 0
      continue
    }
    if (c == "{" || c == "[") { depth++; if (want && c == "{") inside = depth; want = 0 }
    else if (c == "}" || c == "]") { if (depth == inside) inside = 0; depth-- }
    else if (c !~ /[ \t\r\n,:]/) want = 0
    i++
  }
}' "$meta" > "$keys.new" && mv "$keys.new" "$keys"
