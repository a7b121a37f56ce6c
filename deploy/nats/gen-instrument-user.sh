#!/bin/sh
# Makes the NATS user of one instrument PC: a user block for auth.conf and a password.
#
#   gen-instrument-user.sh [--add] [--secrets FILE] [--prefix P] NAME [INSTRUMENT...]
#
# NAME names the user (instrument-NAME) and, when no INSTRUMENT follows, the only
# instrument it may announce; a watcher that serves several instruments (WATCH_CONFIG)
# lists them all. The user may publish file.detected.<instrument> for each of them and
# watcher heartbeats, and read only its own replies (_INBOX_instrument-NAME).
#
#   --add          insert the block into auth.conf (before "# END INSTRUMENTS")
#                  instead of printing it
#   --secrets FILE append NATS_INSTRUMENT_<NAME>_PASSWORD=… to FILE, the env file the
#                  NATS server reads (NATS_INSTRUMENT_PASSWORDS in Compose); the password
#                  is printed for the instrument PC either way
#   --prefix P     the deployment's NATS_PREFIX; by default the one with-prefix.sh gave
#                  auth.conf, if any
#
# Then restart NATS on the NATS host (docker compose restart nats), and give the
# instrument PC the lines printed for it.
set -eu

usage() {
  # The comment block at the top of this file.
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 64
}

dir=$(cd "$(dirname "$0")" && pwd)
add=0
secrets=
prefix=
while [ $# -gt 0 ]; do
  case "$1" in
    --add) add=1; shift ;;
    --secrets) [ $# -ge 2 ] || usage; secrets=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
name=$1
shift
[ $# -ge 1 ] || set -- "$name"

token='^[A-Za-z0-9_-]{1,64}$'
auth="$dir/auth.conf"
# auth.conf rewritten by with-prefix.sh says its prefix in the monitor's heartbeat subject.
[ -n "$prefix" ] || prefix=$(sed -n 's/.*"\([A-Za-z0-9_-]\{1,\}\)\.heartbeat\.monitor\.\*".*/\1/p' "$auth" | head -n 1)
for n in "$name" "$@"; do
  printf '%s' "$n" | grep -Eq "$token" || { echo "\"$n\": letters, digits, - and _ only (1 to 64)" >&2; exit 65; }
done
if [ -n "$prefix" ]; then
  printf '%s' "$prefix" | grep -Eq "$token" || { echo "--prefix \"$prefix\": letters, digits, - and _ only" >&2; exit 65; }
  p="$prefix."
else
  p=
fi

user="instrument-$name"
var="NATS_INSTRUMENT_$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')_PASSWORD"
if grep -q "user: $user\$" "$auth"; then
  echo "$auth already has the user $user" >&2
  exit 65
fi
if grep -q "\$$var\$" "$auth"; then
  echo "$auth already uses \$$var (instrument names that differ only in - and _ share it)" >&2
  exit 65
fi

subjects="\"\$JS.API.INFO\""
for i in "$@"; do subjects="$subjects, \"${p}file.detected.$i\""; done
subjects="$subjects, \"${p}heartbeat.watcher.*\""

block=$(cat <<EOF

    # instrument $name ($*)
    {
      user: $user
      password: \$$var
      permissions: {
        publish: { allow: [$subjects] }
        subscribe: { allow: ["_INBOX_$user.>"] }
      }
    }
EOF
)

if [ "$add" -eq 1 ]; then
  grep -q '^[[:space:]]*# END INSTRUMENTS' "$auth" || { echo "$auth has no \"# END INSTRUMENTS\" line" >&2; exit 65; }
  tmp=$(mktemp "$auth.XXXXXX")
  # The block goes before the marker line, so the list stays inside users = [ … ].
  BLOCK="$block" awk '/^[[:space:]]*# END INSTRUMENTS/ { print substr(ENVIRON["BLOCK"], 2); print "" } { print }' "$auth" > "$tmp"
  mv "$tmp" "$auth"
  echo "added $user to $auth" >&2
else
  printf '%s\n' "$block"
fi

# Starts with a letter and has only letters and digits: nats-server parses the value.
password="p$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
if [ -n "$secrets" ]; then
  umask 077
  printf '%s=%s\n' "$var" "$password" >> "$secrets"
  echo "appended $var to $secrets (the NATS host's instrument passwords)" >&2
else
  echo "NATS host: set $var=$password" >&2
fi
cat >&2 <<EOF
instrument PC, its env file for Compose:
  INSTRUMENT=$1
  NATS_INSTRUMENT_USER=$user
  NATS_INSTRUMENT_PASSWORD=$password
  (a watcher run without Compose: NATS_USER=$user NATS_PASSWORD=<the same> NATS_INBOX_PREFIX=_INBOX_$user)
EOF
