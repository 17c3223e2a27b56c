#!/usr/bin/env bash
# Local PostgreSQL and RabbitMQ for development and CI, private to this checkout.
#
#   deploy/local/services.sh up       install what is missing, start both, print the settings
#   deploy/local/services.sh down     stop both
#   deploy/local/services.sh status   say whether each runs; non-zero exit if one is down
#   deploy/local/services.sh env      print the settings only
#   deploy/local/services.sh restart-postgres | restart-rabbitmq
#                                     stop and start one server of this checkout (the chaos run's faults);
#                                     refused when it is not running or with EXCHANGE_EXTERNAL_SERVERS=1
#   deploy/local/services.sh up|down|status|env --cluster
#                                     cluster mode instead: three RabbitMQ nodes in one cluster and a PostgreSQL
#                                     primary with a streaming hot standby, under .local/cluster/; `up` also prints
#                                     EXCHANGE_AMQP_HOSTS, EXCHANGE_AMQP_QUORUM, EXCHANGE_PG_HOSTS, EXCHANGE_PG_STANDBY_PORT
#   deploy/local/services.sh stop-rabbitmq-node|start-rabbitmq-node [N] | failover-postgres | rebuild-standby
#                                     the cluster's faults for chaos.sh --cluster (N: EXCHANGE_CHAOS_RABBITMQ_NODE, else 2)
#
# Both servers listen on 127.0.0.1 only and keep their data and logs under .local/ of the checkout.
# RabbitMQ also listens for AMQP over TLS, with a certificate from a small CA of its own (.local/tls).
# `up` prints the settings as `export VAR=value` lines on standard output (messages go to standard
# error), so `eval "$(deploy/local/services.sh up)"` sets up a shell. With EXCHANGE_EXTERNAL_SERVERS=1
# nothing is started or stopped: `up` and `status` only check the servers the EXCHANGE_* variables
# name. See docs/operations.md, "Local servers" and "Past one machine".
set -Eeuo pipefail
trap 'printf "services: error: unexpected failure (line %s: %s)\n" "$LINENO" "$BASH_COMMAND" >&2' ERR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# shellcheck source=deploy/local/env.sh
. "$ROOT/deploy/local/env.sh"

LOCAL="$ROOT/.local"
LOG_DIR="$LOCAL/logs"
PG_BASE="$LOCAL/postgres"
RMQ_BASE="$LOCAL/rabbitmq"

LISTEN=127.0.0.1
PG_BIN="${EXCHANGE_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_MAX_CONNECTIONS="${EXCHANGE_PG_MAX_CONNECTIONS:-300}"
PG_LOG="$LOG_DIR/postgres.log"
PG_MARKER="$PG_BASE/datadir"
# The data folder's name when root keeps it outside the checkout (pg_choose_datadir).
PG_OUTSIDE_NAME=postgres
# More server settings (-c name=value ...), for cluster mode's primary and standby.
PG_EXTRA_OPTS=""

RMQ_BIN=/usr/lib/rabbitmq/bin
# The node's name is only seen by its own epmd (EXCHANGE_EPMD_PORT), so two checkouts' nodes with their own
# ports do not clash; a second node on the same epmd needs a name of its own.
RMQ_NODE="${EXCHANGE_RABBITMQ_NODE:-rabbit@localhost}"
RMQ_DIST_PORT="${EXCHANGE_RABBITMQ_DIST_PORT:-55679}"
RMQ_EPMD_PORT="${EXCHANGE_EPMD_PORT:-54369}"
# The shovel links the virtual hosts of federated hubs (docs/broker.md); the broker's own metrics are served for
# Prometheus on EXCHANGE_AMQP_PROMETHEUS_PORT (docs/observability.md).
RMQ_PLUGINS="${EXCHANGE_RABBITMQ_PLUGINS:-rabbitmq_management rabbitmq_shovel rabbitmq_shovel_management rabbitmq_prometheus}"
RMQ_PID_FILE="$RMQ_BASE/rabbit.pid"
RMQ_SERVER_OUT=rabbitmq-server.out

# AMQP over TLS: the node's TLS listener, and the CA that issues its certificate (the hosts trust that CA
# through EXCHANGE_AMQP_CA_FILE, which env.sh points at the same file).
TLS_DIR="$LOCAL/tls"
TLS_CA="$TLS_DIR/ca.pem"
TLS_CA_KEY="$TLS_DIR/ca.key"
TLS_CERT="$TLS_DIR/rabbitmq.pem"
TLS_KEY="$TLS_DIR/rabbitmq.key"

EXTERNAL="${EXCHANGE_EXTERNAL_SERVERS:-0}"

say() { printf 'services: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }
is_external() { [ "$EXTERNAL" = 1 ] || [ "$EXTERNAL" = true ]; }

# True when something accepts TCP connections on host $1, port $2.
# shellcheck disable=SC2016  # $1 and $2 expand in the inner shell
port_open() { timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# Who listens on local TCP port $1 (for error messages).
port_owner() { ss -Hltnp "sport = :$1" 2>/dev/null | head -3 || true; }

# Waits up to $3 seconds for host $1 port $2 to accept connections.
wait_port() {
  local deadline=$((SECONDS + $3))
  until port_open "$1" "$2"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

print_settings() {
  local v
  for v in EXCHANGE_PG_HOST EXCHANGE_PG_PORT EXCHANGE_PG_USER EXCHANGE_PG_PASSWORD \
           EXCHANGE_AMQP_HOST EXCHANGE_AMQP_PORT EXCHANGE_AMQP_USER EXCHANGE_AMQP_PASSWORD \
           EXCHANGE_AMQP_VHOST EXCHANGE_AMQP_MGMT_PORT EXCHANGE_AMQP_TLS_PORT EXCHANGE_AMQP_PROMETHEUS_PORT \
           EXCHANGE_AMQP_CA_FILE EXCHANGE_HOME; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
}

# ---------------------------------------------------------------------------------------------
# Package installation

# Runs a command as root: directly, or through password-less sudo.
as_admin() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 126
  fi
}

install_packages() {
  if ! is_root && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    die "missing Debian packages: $*. Install them (sudo apt-get install $*) or run this script as root."
  fi
  say "installing $* (apt-get) ..."
  # Debian starts a package's system service on install. Ours are private nodes on other ports, so
  # keep the system services from starting (policy-rc.d, the standard switch), unless the machine
  # already has a policy of its own.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    as_admin sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added_policy=1
    trap 'as_admin rm -f '"$policy"' || true' EXIT
  fi
  local apt_opts=(-q -o DPkg::Lock::Timeout=300)
  as_admin env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update >/dev/null \
    || die "apt-get update failed"
  as_admin env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y \
    --no-install-recommends "$@" >"$LOG_DIR/apt-install.log" 2>&1 \
    || { tail -20 "$LOG_DIR/apt-install.log" >&2; die "apt-get install $* failed (log: $LOG_DIR/apt-install.log)"; }
  if [ "$added_policy" = 1 ]; then as_admin rm -f "$policy"; trap - EXIT; fi
  say "installed $*"
}

ensure_packages() {
  local missing=()
  [ -x "$PG_BIN/initdb" ] || missing+=(postgresql-15)
  [ -x "$RMQ_BIN/rabbitmq-server" ] || missing+=(rabbitmq-server)
  [ "${#missing[@]}" -eq 0 ] || install_packages "${missing[@]}"
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL binaries at $PG_BIN (set EXCHANGE_PG_BIN)"
  [ -x "$RMQ_BIN/rabbitmq-server" ] || die "no RabbitMQ at $RMQ_BIN"
  if is_root && ! id -u postgres >/dev/null 2>&1; then
    die "running as root needs the 'postgres' system user (package postgresql-common) to run PostgreSQL"
  fi
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

# PostgreSQL refuses to run as root: as root, run its programs as the postgres user.
pg_as() {
  if is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# Sets PGDATA to the data folder in use (or that would be used), without creating anything.
pg_locate() {
  if [ -f "$PG_MARKER" ]; then PGDATA="$(cat "$PG_MARKER")"; else PGDATA="$PG_BASE/data"; fi
}

# Chooses the data folder for `up`: .local/postgres/data, or when root and the postgres user
# cannot reach into the checkout (a parent folder it may not traverse), a folder outside it.
pg_choose_datadir() {
  mkdir -p "$PG_BASE"
  PGDATA="$PG_BASE/data"
  if is_root; then
    # Our own folders may be traversed (not listed) by the postgres user.
    chmod o+x "$LOCAL" "$PG_BASE"
    if ! runuser -u postgres -- test -x "$PG_BASE"; then
      local hash
      hash="$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
      local outside="/var/tmp/exchange-$hash"
      if [ -L "$outside" ] || { [ -e "$outside" ] && [ "$(stat -c %u "$outside")" != 0 ]; }; then
        die "$outside exists and is not a folder owned by root; remove it"
      fi
      mkdir -p "$outside"
      chmod 0755 "$outside"
      PGDATA="$outside/$PG_OUTSIDE_NAME"
      say "note: the postgres user cannot traverse the folders above $ROOT,"
      say "      so PostgreSQL keeps its data outside the checkout, in $PGDATA"
      # A fresh .local means fresh state: drop data left there by an earlier .local.
      if [ ! -f "$PG_MARKER" ] && [ -e "$PGDATA" ] && ! pg_running; then
        say "      (removing data left there by an earlier .local)"
        rm -rf "$PGDATA"
      fi
    fi
  fi
  printf '%s\n' "$PGDATA" > "$PG_MARKER"
}

pg_running() {
  [ -f "$PGDATA/postmaster.pid" ] && pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1
}

pg_pid() { head -1 "$PGDATA/postmaster.pid" 2>/dev/null || true; }

pg_ready() {
  "$PG_BIN/pg_isready" -q -h "$1" -p "$2" -t 3 >/dev/null 2>&1
}

# Prints t when the configured user logs in with its password and may create databases.
pg_login_check() {
  PGPASSWORD="$EXCHANGE_PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -A -t -q \
    -h "$1" -p "$2" -U "$EXCHANGE_PG_USER" -d postgres \
    -c 'select rolsuper or rolcreatedb from pg_roles where rolname = current_user' 2>&1
}

pg_initdb() {
  say "PostgreSQL: creating the cluster in $PGDATA"
  mkdir -p "$PGDATA"
  if is_root; then chown postgres:postgres "$PGDATA"; fi
  chmod 0700 "$PGDATA"
  local pwfile
  pwfile="$(mktemp)"
  printf '%s\n' "$EXCHANGE_PG_PASSWORD" > "$pwfile"
  if is_root; then chown postgres "$pwfile"; fi
  # The bootstrap superuser is the application user: it creates the databases it needs.
  if ! pg_as "$PG_BIN/initdb" -D "$PGDATA" -U "$EXCHANGE_PG_USER" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale=C.UTF-8 \
      >>"$LOG_DIR/postgres-initdb.log" 2>&1; then
    rm -f "$pwfile"
    tail -20 "$LOG_DIR/postgres-initdb.log" >&2
    die "initdb failed (log: $LOG_DIR/postgres-initdb.log)"
  fi
  rm -f "$pwfile"
}

pg_up() {
  pg_choose_datadir
  if pg_running; then
    say "PostgreSQL: already running (pid $(pg_pid))"
    local running_port
    running_port="$(sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null || true)"
    if [ -n "$running_port" ] && [ "$running_port" != "$EXCHANGE_PG_PORT" ]; then
      die "it listens on port $running_port, not $EXCHANGE_PG_PORT: run 'down' first to change the port"
    fi
  else
    if port_open "$LISTEN" "$EXCHANGE_PG_PORT"; then
      die "port $EXCHANGE_PG_PORT is taken by another process: $(port_owner "$EXCHANGE_PG_PORT")"
    fi
    [ -f "$PGDATA/PG_VERSION" ] || pg_initdb
    say "PostgreSQL: starting on $LISTEN:$EXCHANGE_PG_PORT"
    local opts="-c listen_addresses=$LISTEN -c port=$EXCHANGE_PG_PORT"
    opts+=" -c max_connections=$PG_MAX_CONNECTIONS -c unix_socket_directories=''"
    opts+="$PG_EXTRA_OPTS"
    # The server writes its log to our log file (opened here, so the postgres user needs no
    # access to .local/logs). It must not inherit the lock (fd 9).
    if ! pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -w -t 60 -o "$opts" start >>"$PG_LOG" 2>&1 9>&-; then
      tail -20 "$PG_LOG" >&2
      die "PostgreSQL did not start (log: $PG_LOG)"
    fi
  fi
  local deadline=$((SECONDS + 30))
  until pg_ready "$LISTEN" "$EXCHANGE_PG_PORT"; do
    [ "$SECONDS" -lt "$deadline" ] || die "PostgreSQL does not accept connections on $LISTEN:$EXCHANGE_PG_PORT (log: $PG_LOG)"
    sleep 0.5
  done
  local check
  check="$(pg_login_check "$LISTEN" "$EXCHANGE_PG_PORT")" || true
  if [ "$check" != t ]; then
    say "PostgreSQL: $check"
    die "user '$EXCHANGE_PG_USER' cannot log in, or may not create databases. The cluster in $PGDATA was created with other settings: run 'down', remove it, and run 'up' again."
  fi
  say "PostgreSQL: ready at $LISTEN:$EXCHANGE_PG_PORT, user $EXCHANGE_PG_USER (log $PG_LOG)"
}

pg_down() {
  pg_locate
  if pg_running; then
    say "PostgreSQL: stopping (pid $(pg_pid))"
    pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >>"$PG_LOG" 2>&1 \
      || die "PostgreSQL did not stop (log: $PG_LOG)"
    say "PostgreSQL: stopped"
  else
    say "PostgreSQL: not running"
  fi
}

pg_status() {
  pg_locate
  if pg_running && pg_ready "$LISTEN" "$EXCHANGE_PG_PORT"; then
    echo "services: postgres  running  $LISTEN:$EXCHANGE_PG_PORT  pid $(pg_pid)  data $PGDATA"
  elif pg_running; then
    echo "services: postgres  running but not accepting connections on $LISTEN:$EXCHANGE_PG_PORT  pid $(pg_pid)"
    return 1
  else
    echo "services: postgres  not running"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# TLS for the local RabbitMQ: a CA of this checkout (10 years) and a server certificate for 127.0.0.1
# and localhost (2 years; `up` makes a new one when less than 30 days are left). Development only: the
# CA's key lies next to it, unencrypted.

tls_ensure() {
  command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the RabbitMQ TLS certificate (apt-get install openssl)"
  mkdir -p "$TLS_DIR"
  chmod 0700 "$TLS_DIR"
  if [ ! -s "$TLS_CA" ] || [ ! -s "$TLS_CA_KEY" ] || ! openssl x509 -in "$TLS_CA" -noout -checkend 2592000 >/dev/null 2>&1; then
    say "TLS: creating a local CA in $TLS_DIR"
    (umask 077; openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 \
      -subj "/O=Exchange local development/CN=Exchange local TLS CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$TLS_CA_KEY" -out "$TLS_CA" >>"$LOG_DIR/tls.log" 2>&1) || die "openssl could not make the CA (log: $LOG_DIR/tls.log)"
    chmod 0644 "$TLS_CA"
    rm -f "$TLS_CERT"
  fi
  if [ ! -s "$TLS_CERT" ] || [ ! -s "$TLS_KEY" ] || ! openssl x509 -in "$TLS_CERT" -noout -checkend 2592000 >/dev/null 2>&1 \
      || ! openssl verify -CAfile "$TLS_CA" "$TLS_CERT" >/dev/null 2>&1; then
    say "TLS: issuing the RabbitMQ server certificate (127.0.0.1, localhost)"
    local csr ext
    csr="$(mktemp)"
    ext="$(mktemp)"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > "$ext"
    if ! { (umask 077; openssl req -newkey rsa:2048 -sha256 -nodes -subj "/O=Exchange local development/CN=localhost" \
             -keyout "$TLS_KEY" -out "$csr") \
           && openssl x509 -req -in "$csr" -CA "$TLS_CA" -CAkey "$TLS_CA_KEY" -CAcreateserial -CAserial "$TLS_DIR/ca.srl" \
             -days 730 -sha256 -extfile "$ext" -out "$TLS_CERT"; } >>"$LOG_DIR/tls.log" 2>&1; then
      rm -f "$csr" "$ext"
      die "openssl could not issue the server certificate (log: $LOG_DIR/tls.log)"
    fi
    rm -f "$csr" "$ext"
  fi
}

# ---------------------------------------------------------------------------------------------
# RabbitMQ

# The environment of our private node, for the server and for every CLI call (same cookie, same
# epmd). The /usr/sbin wrappers switch user and drop the environment, so we call the scripts
# under /usr/lib/rabbitmq/bin directly.
rmq_set_env() {
  RMQ_ENV=(
    "HOME=$RMQ_BASE/home"
    "RABBITMQ_NODENAME=$RMQ_NODE"
    "RABBITMQ_NODE_IP_ADDRESS=$LISTEN"
    "RABBITMQ_NODE_PORT=$EXCHANGE_AMQP_PORT"
    "RABBITMQ_DIST_PORT=$RMQ_DIST_PORT"
    "RABBITMQ_MNESIA_BASE=$RMQ_BASE/mnesia"
    "RABBITMQ_LOG_BASE=$LOG_DIR"
    "RABBITMQ_PID_FILE=$RMQ_PID_FILE"
    "RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_BASE/enabled_plugins"
    "RABBITMQ_CONFIG_FILE=$RMQ_BASE/rabbitmq.conf"
    "RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_BASE/advanced.config"
    "RABBITMQ_CONF_ENV_FILE=$RMQ_BASE/rabbitmq-env.conf"
    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    "RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
    "RABBITMQ_CTL_DIST_PORT_MIN=$((RMQ_DIST_PORT + 1))"
    "RABBITMQ_CTL_DIST_PORT_MAX=$((RMQ_DIST_PORT + 10))"
    "ERL_EPMD_ADDRESS=$LISTEN"
    "ERL_EPMD_PORT=$RMQ_EPMD_PORT"
    "ERL_CRASH_DUMP=$LOG_DIR/erl_crash.dump"
  )
}
rmq_set_env

rmq_env() { env -u RABBITMQ_USE_LONGNAME "${RMQ_ENV[@]}" "$@"; }
rmqctl() { rmq_env "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"; }

rmq_pid() {
  local pid
  pid="$(cat "$RMQ_PID_FILE" 2>/dev/null || true)"
  if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && grep -q '^beam' "/proc/$pid/comm"; then
    echo "$pid"
  fi
}

rmq_running() { [ -n "$(rmq_pid)" ]; }

reserve_ports() {
  # Our ports lie inside Linux's ephemeral range (32768-60999): an outgoing connection can be given one as its source
  # port, and a server restarting then cannot listen on it (EADDRINUSE). Reserve them when we may (root; CI is).
  local f=/proc/sys/net/ipv4/ip_local_reserved_ports
  [ -w "$f" ] || return 0
  local want="$EXCHANGE_PG_PORT,$EXCHANGE_AMQP_PORT,$EXCHANGE_AMQP_MGMT_PORT,${EXCHANGE_AMQP_TLS_PORT:-55671},$EXCHANGE_AMQP_PROMETHEUS_PORT,$RMQ_DIST_PORT-$((RMQ_DIST_PORT + 10)),$RMQ_EPMD_PORT"
  local have
  have="$(cat "$f" 2>/dev/null || true)"
  printf '%s\n' "${have:+$have,}$want" > "$f" 2>/dev/null || true
}

rmq_plugins_list() { printf '%s' "$RMQ_PLUGINS" | tr -s ' ,' ',,' | sed 's/^,//; s/,$//'; }

rmq_ensure_plugins() {
  # A node started before the plugin list grew gets the missing plugins without a restart.
  [ "$(cat "$RMQ_BASE/enabled_plugins" 2>/dev/null)" = "[$(rmq_plugins_list)]." ] && return 0
  say "RabbitMQ: enabling plugins $RMQ_PLUGINS"
  # rabbitmq.conf is read only at start: without this, the Prometheus plugin enabled online would listen on its
  # default port (15692) on every interface.
  rmq_env "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" eval \
    "application:set_env(rabbitmq_prometheus, tcp_config, [{ip, \"$LISTEN\"}, {port, $EXCHANGE_AMQP_PROMETHEUS_PORT}])." >/dev/null \
    || die "could not set the port of the RabbitMQ Prometheus plugin"
  # shellcheck disable=SC2086 # one argument per plugin
  rmq_env "$RMQ_BIN/rabbitmq-plugins" -n "$RMQ_NODE" set --online $(rmq_plugins_list | tr ',' ' ') >/dev/null \
    || die "could not enable the RabbitMQ plugins $RMQ_PLUGINS"
}

rmq_write_config() {
  mkdir -p "$RMQ_BASE/home" "$RMQ_BASE/mnesia"
  chmod 0700 "$RMQ_BASE" "$RMQ_BASE/home"
  local cookie="$RMQ_BASE/home/.erlang.cookie"
  if [ -n "${RMQ_COOKIE_FILE:-}" ] && ! cmp -s "$RMQ_COOKIE_FILE" "$cookie"; then
    # A cluster's nodes must share one cookie to talk to each other.
    rm -f "$cookie"
    (umask 077; cp "$RMQ_COOKIE_FILE" "$cookie")
    chmod 0400 "$cookie"
  fi
  if [ ! -s "$cookie" ]; then
    # Written before the first start, so that the server and the CLI never race to create it.
    (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F > "$cookie")
    chmod 0400 "$cookie"
  fi
  printf '[%s].\n' "$(rmq_plugins_list)" > "$RMQ_BASE/enabled_plugins"
  # Written on every start, from the current settings. The default_* keys only act when the node
  # creates its database (first start): then there is never a guest user.
  cat > "$RMQ_BASE/rabbitmq.conf" <<EOF
# Generated by deploy/local/services.sh on each start; edits are lost.
default_vhost = $EXCHANGE_AMQP_VHOST
default_user = $EXCHANGE_AMQP_USER
default_pass = $EXCHANGE_AMQP_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
management.tcp.ip = $LISTEN
management.tcp.port = $EXCHANGE_AMQP_MGMT_PORT
# The broker's metrics for Prometheus (rabbitmq_prometheus): /metrics, and /metrics/detailed for per-queue ones.
prometheus.tcp.ip = $LISTEN
prometheus.tcp.port = $EXCHANGE_AMQP_PROMETHEUS_PORT
log.file.level = info
log.console = false
# AMQP over TLS (https://www.rabbitmq.com/docs/ssl). Clients log in with user and password inside TLS;
# the node asks for no client certificate.
listeners.ssl.default = $LISTEN:$EXCHANGE_AMQP_TLS_PORT
ssl_options.cacertfile = $TLS_CA
ssl_options.certfile = $TLS_CERT
ssl_options.keyfile = $TLS_KEY
ssl_options.verify = verify_none
ssl_options.fail_if_no_peer_cert = false
ssl_options.versions.1 = tlsv1.3
ssl_options.versions.2 = tlsv1.2
EOF
}

# Makes sure the vhost and the user exist with the configured password, tag and permissions
# (the first start creates them; this repairs a database made with other settings).
rmq_ensure_user() {
  if command -v curl >/dev/null 2>&1 && curl -fsS -m 10 -u "$EXCHANGE_AMQP_USER:$EXCHANGE_AMQP_PASSWORD" \
      "http://$LISTEN:$EXCHANGE_AMQP_MGMT_PORT/api/permissions/$EXCHANGE_AMQP_VHOST/$EXCHANGE_AMQP_USER" 2>/dev/null \
      | grep -q '"configure":".\*","write":".\*","read":".\*"'; then
    return 0
  fi
  say "RabbitMQ: setting up vhost '$EXCHANGE_AMQP_VHOST' and user '$EXCHANGE_AMQP_USER'"
  rmqctl -q list_vhosts name 2>/dev/null | grep -qxF "$EXCHANGE_AMQP_VHOST" \
    || rmqctl -q add_vhost "$EXCHANGE_AMQP_VHOST" >/dev/null
  if rmqctl -q list_users 2>/dev/null | cut -f1 | grep -qxF "$EXCHANGE_AMQP_USER"; then
    rmqctl -q change_password "$EXCHANGE_AMQP_USER" "$EXCHANGE_AMQP_PASSWORD" >/dev/null
  else
    rmqctl -q add_user "$EXCHANGE_AMQP_USER" "$EXCHANGE_AMQP_PASSWORD" >/dev/null
  fi
  rmqctl -q set_user_tags "$EXCHANGE_AMQP_USER" administrator >/dev/null
  rmqctl -q set_permissions -p "$EXCHANGE_AMQP_VHOST" "$EXCHANGE_AMQP_USER" '.*' '.*' '.*' >/dev/null
  if [ "$EXCHANGE_AMQP_USER" != guest ]; then rmqctl -q delete_user guest >/dev/null 2>&1 || true; fi
}

rmq_up() {
  RMQ_LAUNCHED=""
  if rmq_running && port_open "$LISTEN" "$EXCHANGE_AMQP_PORT"; then
    say "RabbitMQ: already running (pid $(rmq_pid))"
    rmq_ensure_plugins
  else
    rmq_launch
    rmq_await
  fi
  rmq_say_ready
}

# Starts the node unless it runs; RMQ_LAUNCHED is then the pid of its launcher (empty when it already ran).
rmq_launch() {
  RMQ_LAUNCHED=""
  rmq_running && return 0
  local p
  for p in "$EXCHANGE_AMQP_PORT" "$EXCHANGE_AMQP_MGMT_PORT" "$EXCHANGE_AMQP_TLS_PORT" "$EXCHANGE_AMQP_PROMETHEUS_PORT" "$RMQ_DIST_PORT" ; do
    if port_open "$LISTEN" "$p"; then
      die "port $p is taken by another process: $(port_owner "$p")"
    fi
  done
  tls_ensure
  rmq_write_config
  say "RabbitMQ: starting node $RMQ_NODE on $LISTEN:$EXCHANGE_AMQP_PORT"
  # In its own session, so that a Ctrl-C in the terminal that ran us does not reach it.
  (cd "$RMQ_BASE" && exec setsid nohup env -u RABBITMQ_USE_LONGNAME "${RMQ_ENV[@]}" \
    "$RMQ_BIN/rabbitmq-server" >>"$LOG_DIR/$RMQ_SERVER_OUT" 2>&1 </dev/null 9>&-) &
  RMQ_LAUNCHED=$!
}

# Waits for the node rmq_launch started (or found running) to serve, then checks its user.
rmq_await() {
  local launched="$RMQ_LAUNCHED"
  local deadline=$((SECONDS + 180))
  until rmqctl -q await_startup --timeout 10 >/dev/null 2>&1; do
    if [ -n "$launched" ] && ! kill -0 "$launched" 2>/dev/null; then
      tail -30 "$LOG_DIR/$RMQ_SERVER_OUT" >&2 || true
      die "RabbitMQ exited while starting (logs: $LOG_DIR/$RMQ_SERVER_OUT, $LOG_DIR/$RMQ_NODE.log)"
    fi
    [ "$SECONDS" -lt "$deadline" ] || die "RabbitMQ did not start within 180 s (logs: $LOG_DIR/$RMQ_NODE.log)"
    sleep 1
  done
  wait_port "$LISTEN" "$EXCHANGE_AMQP_PORT" 30 \
    || die "RabbitMQ runs but does not accept connections on $LISTEN:$EXCHANGE_AMQP_PORT"
  if [ -n "$launched" ]; then
    wait_port "$LISTEN" "$EXCHANGE_AMQP_TLS_PORT" 30 \
      || die "RabbitMQ runs but its TLS listener does not answer on $LISTEN:$EXCHANGE_AMQP_TLS_PORT (log: $LOG_DIR/$RMQ_NODE.log)"
  fi
  if [[ " $RMQ_PLUGINS " == *rabbitmq_management* ]]; then
    wait_port "$LISTEN" "$EXCHANGE_AMQP_MGMT_PORT" 30 \
      || die "the RabbitMQ management listener does not answer on $LISTEN:$EXCHANGE_AMQP_MGMT_PORT"
  fi
  rmq_ensure_user
}

rmq_say_ready() {
  say "RabbitMQ: ready at amqp://$LISTEN:$EXCHANGE_AMQP_PORT/$EXCHANGE_AMQP_VHOST, management http://$LISTEN:$EXCHANGE_AMQP_MGMT_PORT (logs $LOG_DIR/$RMQ_NODE.log)"
  if port_open "$LISTEN" "$EXCHANGE_AMQP_TLS_PORT"; then
    say "RabbitMQ: AMQP over TLS at amqps://$LISTEN:$EXCHANGE_AMQP_TLS_PORT (CA $TLS_CA)"
  else
    say "RabbitMQ: note: no TLS listener on $LISTEN:$EXCHANGE_AMQP_TLS_PORT: the node was started before it had one; 'down' then 'up' adds it"
  fi
}

rmq_kill_epmd() {
  # Our private epmd (started by the node on its own port) stays behind the node: stop it too.
  port_open "$LISTEN" "$RMQ_EPMD_PORT" || return 0
  local epmd
  epmd="$(command -v epmd || ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -1 || true)"
  [ -n "$epmd" ] || return 0
  if ERL_EPMD_PORT="$RMQ_EPMD_PORT" "$epmd" -names 2>/dev/null | grep -q '^name '; then
    return 0  # some node still uses it
  fi
  local epmd_pid
  epmd_pid="$(port_owner "$RMQ_EPMD_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)"
  ERL_EPMD_PORT="$RMQ_EPMD_PORT" "$epmd" -kill >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 10))
  while { port_open "$LISTEN" "$RMQ_EPMD_PORT" || { [ -n "$epmd_pid" ] && kill -0 "$epmd_pid" 2>/dev/null; }; } \
      && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.2
  done
}

rmq_down() {
  local pid
  pid="$(rmq_pid)"
  if [ -n "$pid" ]; then
    say "RabbitMQ: stopping (pid $pid)"
    # The rabbitmq-server script that started the VM exits after it: wait for both.
    local launcher
    launcher="$(ps -o ppid= -p "$pid" 2>/dev/null | tr -d ' ' || true)"
    if [ -z "$launcher" ] || [ "$launcher" -le 1 ] || ! grep -qx 'rabbitmq-server' "/proc/$launcher/comm" 2>/dev/null; then
      launcher=""
    fi
    if ! rmqctl -q shutdown --timeout 60 >/dev/null 2>&1; then
      say "RabbitMQ: shutdown command failed; sending TERM"
      kill -TERM "$pid" 2>/dev/null || true
    fi
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        say "RabbitMQ: still running after 60 s; killing"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.5
    done
    deadline=$((SECONDS + 10))
    while [ -n "$launcher" ] && kill -0 "$launcher" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
      sleep 0.2
    done
    rm -f "$RMQ_PID_FILE"
    say "RabbitMQ: stopped"
  else
    say "RabbitMQ: not running"
  fi
  rmq_kill_epmd
}

rmq_status() {
  local pid
  pid="$(rmq_pid)"
  if [ -n "$pid" ] && port_open "$LISTEN" "$EXCHANGE_AMQP_PORT"; then
    local tls="no TLS listener"
    if port_open "$LISTEN" "$EXCHANGE_AMQP_TLS_PORT"; then tls="TLS $LISTEN:$EXCHANGE_AMQP_TLS_PORT"; fi
    echo "services: rabbitmq  running  $LISTEN:$EXCHANGE_AMQP_PORT  $tls  management $LISTEN:$EXCHANGE_AMQP_MGMT_PORT  pid $pid  node $RMQ_NODE"
  elif [ -n "$pid" ]; then
    echo "services: rabbitmq  running but not accepting connections on $LISTEN:$EXCHANGE_AMQP_PORT  pid $pid"
    return 1
  else
    echo "services: rabbitmq  not running"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Cluster mode (--cluster): three RabbitMQ nodes joined into one cluster (the hosts make their queues quorum queues)
# and a PostgreSQL primary with a streaming hot standby. Its state lives under .local/cluster/, apart from single
# mode's; node 1 and the first PostgreSQL server take single mode's ports, so only one mode runs at a time.

CLUSTER_BASE="$LOCAL/cluster"
CLUSTER_NODES=3
# Node k listens on node 1's ports plus k-1 steps; the second PostgreSQL server on EXCHANGE_PG_PORT plus one step.
PORT_STEP="${EXCHANGE_CLUSTER_PORT_STEP:-100}"
PG_STANDBY_PORT="${EXCHANGE_PG_STANDBY_PORT:-$((EXCHANGE_PG_PORT + PORT_STEP))}"
PG_REPL_USER="${EXCHANGE_PG_REPLICATION_USER:-replicator}"
PG_REPL_PASSWORD="${EXCHANGE_PG_REPLICATION_PASSWORD:-replicator}"
# Enough WAL kept on the primary for a standby that was stopped a while to catch up without a slot.
PG_CLUSTER_OPTS=" -c wal_level=replica -c max_wal_senders=10 -c wal_keep_size=512MB -c hot_standby=on"
# The node the chaos run stops (EXCHANGE_CHAOS_RABBITMQ_NODE): by default not node 1, whose management API the hosts
# provision their broker users through; node 1 leads the queues provisioning declared, so stopping it moves their leaders.
CHAOS_NODE="${EXCHANGE_CHAOS_RABBITMQ_NODE:-2}"

# Node 1's settings, from which every node's are derived (cluster_node changes the globals the functions above read).
BASE_NODE="$RMQ_NODE"
BASE_AMQP_PORT="$EXCHANGE_AMQP_PORT"
BASE_MGMT_PORT="$EXCHANGE_AMQP_MGMT_PORT"
BASE_TLS_PORT="$EXCHANGE_AMQP_TLS_PORT"
BASE_PROMETHEUS_PORT="$EXCHANGE_AMQP_PROMETHEUS_PORT"
BASE_DIST_PORT="$RMQ_DIST_PORT"
BASE_PG_PORT="$EXCHANGE_PG_PORT"

# Makes RabbitMQ node $1 (1..3) the one the rmq_* functions act on.
cluster_node() {
  local k="$1" off=$(( ($1 - 1) * PORT_STEP ))
  RMQ_BASE="$CLUSTER_BASE/rabbitmq-$k"
  RMQ_PID_FILE="$RMQ_BASE/rabbit.pid"
  RMQ_SERVER_OUT="rabbitmq-server-$k.out"
  RMQ_COOKIE_FILE="$CLUSTER_BASE/erlang.cookie"
  if [ "$k" = 1 ]; then RMQ_NODE="$BASE_NODE"; else RMQ_NODE="${BASE_NODE%@*}-$k@${BASE_NODE#*@}"; fi
  EXCHANGE_AMQP_PORT=$((BASE_AMQP_PORT + off))
  EXCHANGE_AMQP_MGMT_PORT=$((BASE_MGMT_PORT + off))
  EXCHANGE_AMQP_TLS_PORT=$((BASE_TLS_PORT + off))
  EXCHANGE_AMQP_PROMETHEUS_PORT=$((BASE_PROMETHEUS_PORT + off))
  RMQ_DIST_PORT=$((BASE_DIST_PORT + off))
  rmq_set_env
}

# host:port of every node's plain AMQP listener, comma-separated (EXCHANGE_AMQP_HOSTS).
cluster_amqp_hosts() {
  local k list=""
  for ((k = 1; k <= CLUSTER_NODES; k++)); do
    list+="${list:+,}$LISTEN:$((BASE_AMQP_PORT + (k - 1) * PORT_STEP))"
  done
  printf '%s' "$list"
}

cluster_reserve_ports() {
  local k
  for ((k = 1; k <= CLUSTER_NODES; k++)); do cluster_node "$k"; reserve_ports; done
  EXCHANGE_PG_PORT="$PG_STANDBY_PORT" reserve_ports
  cluster_node 1
}

cluster_rmq_up() {
  mkdir -p "$CLUSTER_BASE"
  if [ ! -s "$CLUSTER_BASE/erlang.cookie" ]; then
    (umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F > "$CLUSTER_BASE/erlang.cookie")
  fi
  # One node after another, node 1 first. Nodes launched together were seen to crash at boot here (RabbitMQ 3.10:
  # incompatible_feature_flags, badrpc, while syncing feature flags with a peer still booting). A node that was
  # not the last of its cluster to stop waits at boot for the one that was; `down --cluster` stops node 1 last,
  # but a node may have stopped otherwise. So when no node runs, node 1 is told to boot without waiting
  # (force_boot): what only a later-stopped node recorded (a user or queue declared while node 1 was down) is lost.
  local k any=0
  for ((k = 1; k <= CLUSTER_NODES; k++)); do cluster_node "$k"; if rmq_running; then any=1; fi; done
  cluster_node 1
  if [ "$any" = 0 ] && [ -d "$RMQ_BASE/mnesia" ] && [ -f "$RMQ_BASE/joined" -o -f "$CLUSTER_BASE/rabbitmq-2/joined" ]; then
    rmqctl -q force_boot >>"$LOG_DIR/rabbitmq-cluster.log" 2>&1 || say "RabbitMQ: note: force_boot on $RMQ_NODE failed (log: $LOG_DIR/rabbitmq-cluster.log)"
  fi
  for ((k = 1; k <= CLUSTER_NODES; k++)); do
    cluster_node "$k"
    if rmq_running && port_open "$LISTEN" "$EXCHANGE_AMQP_PORT"; then
      say "RabbitMQ: node $RMQ_NODE already running (pid $(rmq_pid))"
      rmq_ensure_plugins
    else
      rmq_launch
      rmq_await
    fi
  done
  # A fresh node 2 or 3 is a cluster of its own: reset it and join it to node 1 (it takes node 1's users and vhost).
  for ((k = 2; k <= CLUSTER_NODES; k++)); do
    cluster_node "$k"
    [ -f "$RMQ_BASE/joined" ] && continue
    say "RabbitMQ: joining $RMQ_NODE to $BASE_NODE"
    { rmqctl -q stop_app && rmqctl -q reset && rmqctl -q join_cluster "$BASE_NODE" && rmqctl -q start_app; } \
      >>"$LOG_DIR/rabbitmq-cluster.log" 2>&1 || die "could not join $RMQ_NODE to $BASE_NODE (log: $LOG_DIR/rabbitmq-cluster.log)"
    rmqctl -q await_startup --timeout 120 >/dev/null 2>&1 || die "$RMQ_NODE did not start after joining"
    touch "$RMQ_BASE/joined"
  done
  cluster_node 1
  local running
  running="$(cluster_running_nodes)"
  [ "$running" = "$CLUSTER_NODES" ] || die "the RabbitMQ cluster has $running running node(s), not $CLUSTER_NODES (logs: $LOG_DIR)"
  rmq_ensure_user
  say "RabbitMQ: cluster of $CLUSTER_NODES nodes ready at $(cluster_amqp_hosts), management http://$LISTEN:$BASE_MGMT_PORT"
}

# How many nodes of the cluster run, as node 1 (or, when it is down, node 2) sees it.
cluster_running_nodes() {
  local k json
  for k in 1 2; do
    cluster_node "$k"
    rmq_running || continue
    json="$(rmqctl -q cluster_status --formatter json 2>/dev/null)" || continue
    printf '%s' "$json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("running_nodes", [])))'
    cluster_node 1
    return 0
  done
  cluster_node 1
  echo 0
}

cluster_rmq_down() {
  local k
  # Node 1 last: it then boots first next time without waiting for the others.
  for ((k = CLUSTER_NODES; k >= 1; k--)); do
    cluster_node "$k"
    rmq_down
  done
}

cluster_rmq_status() {
  local k rc=0
  for ((k = 1; k <= CLUSTER_NODES; k++)); do
    cluster_node "$k"
    rmq_status || rc=1
  done
  echo "services: rabbitmq  cluster: $(cluster_running_nodes) of $CLUSTER_NODES nodes running"
  return "$rc"
}

# PostgreSQL: two servers, a (EXCHANGE_PG_PORT) and b (the standby port). Which is primary is a matter of state, not
# of name: the one whose data has no standby.signal. A fresh pair starts with a as primary; after a fail-over b is.

# Makes server $1 (a or b) the one the pg_* functions act on.
cluster_pg() {
  PG_BASE="$CLUSTER_BASE/postgres-$1"
  PG_MARKER="$PG_BASE/datadir"
  PG_OUTSIDE_NAME="cluster-postgres-$1"
  PG_LOG="$LOG_DIR/postgres-$1.log"
  PG_EXTRA_OPTS="$PG_CLUSTER_OPTS"
  if [ "$1" = a ]; then EXCHANGE_PG_PORT="$BASE_PG_PORT"; else EXCHANGE_PG_PORT="$PG_STANDBY_PORT"; fi
  pg_locate
}

cluster_other() { if [ "$1" = a ]; then echo b; else echo a; fi; }

# The server that is (or, stopped, would start as) the primary: data without standby.signal; a when neither has data.
cluster_pg_primary() {
  local x
  for x in a b; do
    cluster_pg "$x"
    if [ -f "$PGDATA/PG_VERSION" ] && [ ! -f "$PGDATA/standby.signal" ]; then echo "$x"; return 0; fi
  done
  echo a
}

cluster_psql() { # port, sql
  PGPASSWORD="$EXCHANGE_PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 \
    -h "$LISTEN" -p "$1" -U "$EXCHANGE_PG_USER" -d postgres -c "$2"
}

cluster_pg_up() {
  mkdir -p "$CLUSTER_BASE"
  if is_root; then chmod o+x "$CLUSTER_BASE"; fi
  local primary standby primary_port
  primary="$(cluster_pg_primary)"
  standby="$(cluster_other "$primary")"
  cluster_pg "$primary"
  say "PostgreSQL: primary is server $primary"
  pg_up
  primary_port="$EXCHANGE_PG_PORT"
  if [ "$(cluster_psql "$primary_port" "select count(*) from pg_roles where rolname = '$PG_REPL_USER'")" = 0 ]; then
    cluster_psql "$primary_port" "create role \"$PG_REPL_USER\" with replication login password '$PG_REPL_PASSWORD'" >/dev/null
  fi
  cluster_pg "$standby"
  pg_choose_datadir
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    say "PostgreSQL: making server $standby a standby of server $primary (pg_basebackup -R)"
    rm -rf "$PGDATA"
    mkdir -p "$PGDATA"
    if is_root; then chown postgres:postgres "$PGDATA"; fi
    chmod 0700 "$PGDATA"
    # -R writes standby.signal and primary_conninfo (with this password), so the copy starts as a streaming standby.
    if ! pg_as env PGPASSWORD="$PG_REPL_PASSWORD" "$PG_BIN/pg_basebackup" -h "$LISTEN" -p "$primary_port" -U "$PG_REPL_USER" \
        -D "$PGDATA" -R -X stream -c fast >>"$PG_LOG" 2>&1; then
      tail -20 "$PG_LOG" >&2
      die "pg_basebackup failed (log: $PG_LOG)"
    fi
  fi
  pg_up
  local deadline=$((SECONDS + 60))
  until [ "$(cluster_psql "$primary_port" "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null)" = 1 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "the standby (server $standby) does not stream from the primary (logs: $LOG_DIR/postgres-*.log)"
    sleep 0.5
  done
  say "PostgreSQL: server $standby ($LISTEN:$EXCHANGE_PG_PORT) streams from server $primary ($LISTEN:$primary_port), hot standby"
}

cluster_pg_down() {
  local x
  # The standby first: a primary stopping first would leave it retrying its connection.
  for x in "$(cluster_other "$(cluster_pg_primary)")" "$(cluster_pg_primary)"; do
    cluster_pg "$x"
    pg_down
  done
}

cluster_pg_status() {
  local x rc=0 role
  for x in a b; do
    cluster_pg "$x"
    if pg_running && pg_ready "$LISTEN" "$EXCHANGE_PG_PORT"; then
      role="$(cluster_psql "$EXCHANGE_PG_PORT" "select case when pg_is_in_recovery() then 'standby' else 'primary' end" 2>/dev/null || echo unknown)"
      echo "services: postgres  $role  $LISTEN:$EXCHANGE_PG_PORT  pid $(pg_pid)  data $PGDATA (server $x)"
    else
      echo "services: postgres  server $x ($LISTEN:$EXCHANGE_PG_PORT) not running"
      rc=1
    fi
  done
  return "$rc"
}

# The chaos run's fail-over: stop the primary (fast shutdown: it first sends the standby all its WAL), promote the
# standby, and drop the old primary's data, now behind; `up --cluster` (or rebuild-standby) copies it again.
cluster_pg_failover() {
  local primary standby
  primary="$(cluster_pg_primary)"
  standby="$(cluster_other "$primary")"
  cluster_pg "$standby"
  pg_running || die "the standby (server $standby) is not running; no fail-over"
  cluster_pg "$primary"
  pg_running || die "the primary (server $primary) is not running; no fail-over"
  local started=$SECONDS
  pg_down
  cluster_pg "$standby"
  say "PostgreSQL: promoting server $standby ($LISTEN:$EXCHANGE_PG_PORT)"
  pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -w -t 60 promote >>"$PG_LOG" 2>&1 || die "promotion failed (log: $PG_LOG)"
  local deadline=$((SECONDS + 60))
  until [ "$(cluster_psql "$EXCHANGE_PG_PORT" "select pg_is_in_recovery()" 2>/dev/null)" = f ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "server $standby still in recovery after promotion (log: $PG_LOG)"
    sleep 0.2
  done
  say "PostgreSQL: server $standby is the primary, $((SECONDS - started)) s after the old one began to stop"
  cluster_pg "$primary"
  rm -rf "$PGDATA"
  say "PostgreSQL: server $primary's data removed; rebuild-standby or up --cluster makes it a standby again"
}

cluster_print_settings() {
  EXCHANGE_PG_PORT="$BASE_PG_PORT" EXCHANGE_AMQP_PORT="$BASE_AMQP_PORT" EXCHANGE_AMQP_MGMT_PORT="$BASE_MGMT_PORT" \
    EXCHANGE_AMQP_TLS_PORT="$BASE_TLS_PORT" EXCHANGE_AMQP_PROMETHEUS_PORT="$BASE_PROMETHEUS_PORT" print_settings
  # The hosts' cluster settings (docs/operations.md, "Past one machine"): every broker node, quorum queues, both
  # PostgreSQL servers (writers pick the primary, the auditors' host prefers the standby).
  printf 'export %s=%q\n' EXCHANGE_AMQP_HOSTS "$(cluster_amqp_hosts)" EXCHANGE_AMQP_QUORUM 1 \
    EXCHANGE_PG_HOSTS "$LISTEN:$BASE_PG_PORT,$LISTEN:$PG_STANDBY_PORT" EXCHANGE_PG_STANDBY_PORT "$PG_STANDBY_PORT"
}

# ---------------------------------------------------------------------------------------------
# Servers run elsewhere (EXCHANGE_EXTERNAL_SERVERS=1)

external_check() {
  local ok=0 pg_ok=1
  if [ -x "$PG_BIN/pg_isready" ]; then
    pg_ready "$EXCHANGE_PG_HOST" "$EXCHANGE_PG_PORT" || pg_ok=0
  else
    port_open "$EXCHANGE_PG_HOST" "$EXCHANGE_PG_PORT" || pg_ok=0
  fi
  if [ "$pg_ok" = 1 ]; then
    if [ -x "$PG_BIN/psql" ]; then
      local check
      check="$(pg_login_check "$EXCHANGE_PG_HOST" "$EXCHANGE_PG_PORT")" || true
      if [ "$check" = t ]; then
        echo "services: postgres  reachable  $EXCHANGE_PG_HOST:$EXCHANGE_PG_PORT  user $EXCHANGE_PG_USER logs in"
      else
        echo "services: postgres  reachable  $EXCHANGE_PG_HOST:$EXCHANGE_PG_PORT  but user $EXCHANGE_PG_USER cannot log in or create databases: $check"
        ok=1
      fi
    else
      echo "services: postgres  reachable  $EXCHANGE_PG_HOST:$EXCHANGE_PG_PORT  (no psql here to check the login)"
    fi
  else
    echo "services: postgres  NOT reachable at $EXCHANGE_PG_HOST:$EXCHANGE_PG_PORT"
    ok=1
  fi
  if port_open "$EXCHANGE_AMQP_HOST" "$EXCHANGE_AMQP_PORT"; then
    echo "services: rabbitmq  reachable  $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_PORT"
  else
    echo "services: rabbitmq  NOT reachable at $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_PORT"
    ok=1
  fi
  if port_open "$EXCHANGE_AMQP_HOST" "$EXCHANGE_AMQP_TLS_PORT"; then
    echo "services: rabbitmq  TLS listener reachable  $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_TLS_PORT"
  else
    echo "services: rabbitmq  warning: no TLS listener at $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_TLS_PORT (EXCHANGE_AMQP_TLS_PORT); the AMQP-over-TLS test needs one"
  fi
  if command -v curl >/dev/null 2>&1; then
    local code
    code="$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -u "$EXCHANGE_AMQP_USER:$EXCHANGE_AMQP_PASSWORD" \
      "http://$EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_MGMT_PORT/api/whoami" 2>/dev/null || true)"
    case "$code" in
      200) echo "services: rabbitmq  management API at $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_MGMT_PORT accepts user $EXCHANGE_AMQP_USER" ;;
      401)
        echo "services: rabbitmq  management API at $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_MGMT_PORT rejects user $EXCHANGE_AMQP_USER (wrong password?)"
        ok=1 ;;
      *) echo "services: rabbitmq  warning: no management API at $EXCHANGE_AMQP_HOST:$EXCHANGE_AMQP_MGMT_PORT (HTTP ${code:-none}); the hosts need it to manage broker users" ;;
    esac
  fi
  return "$ok"
}

# ---------------------------------------------------------------------------------------------

take_lock() {
  exec 9>"$LOCAL/.services.lock"
  if ! flock -n 9; then
    say "waiting for another services.sh (lock $LOCAL/.services.lock)"
    flock -w 600 9 || die "another services.sh holds $LOCAL/.services.lock"
  fi
}

prepare_local() {
  mkdir -p "$LOCAL" "$LOG_DIR" || die "cannot create $LOCAL"
  [ -w "$LOCAL" ] && [ -w "$LOG_DIR" ] \
    || die "$LOCAL is not writable by $(id -un) (was it created by another user?)"
}

cmd="${1:-}"
if [ "${2:-}" = --cluster ]; then
  is_external && die "EXCHANGE_EXTERNAL_SERVERS=1: cluster mode starts servers of this checkout; unset it"
  case "$cmd" in
    up)
      prepare_local
      take_lock
      ensure_packages
      cluster_reserve_ports
      cluster_pg_up
      cluster_rmq_up
      cluster_print_settings
      ;;
    down)
      if [ ! -d "$CLUSTER_BASE" ]; then say "nothing to stop (no $CLUSTER_BASE)"; exit 0; fi
      take_lock
      cluster_pg_down
      cluster_rmq_down
      ;;
    status)
      rc=0
      cluster_pg_status || rc=1
      cluster_rmq_status || rc=1
      exit "$rc"
      ;;
    env)
      cluster_print_settings
      ;;
    *)
      echo "usage: $0 up|down|status|env --cluster" >&2
      exit 2
      ;;
  esac
  exit 0
fi

case "$cmd" in
  up)
    if is_external; then
      say "EXCHANGE_EXTERNAL_SERVERS=1: starting nothing, checking the configured servers"
      external_check >&2 || die "the configured servers are not all usable"
      print_settings
      exit 0
    fi
    prepare_local
    take_lock
    ensure_packages
    reserve_ports
    pg_up
    rmq_up
    print_settings
    ;;
  down)
    if is_external; then
      say "EXCHANGE_EXTERNAL_SERVERS=1: nothing to stop"
      exit 0
    fi
    if [ ! -d "$LOCAL" ]; then say "nothing to stop (no $LOCAL)"; exit 0; fi
    take_lock
    pg_down
    if [ -x "$RMQ_BIN/rabbitmqctl" ]; then rmq_down; else say "RabbitMQ: not installed"; fi
    ;;
  status)
    if is_external; then
      rc=0
      external_check || rc=1
      exit "$rc"
    fi
    rc=0
    pg_status || rc=1
    rmq_status || rc=1
    exit "$rc"
    ;;
  env)
    print_settings
    ;;
  restart-postgres|restart-rabbitmq)
    # Only ever this checkout's own servers, and only when they run: the chaos run (deploy/local/chaos.sh) restarts
    # them as a fault, and must never restart servers someone else started or shares.
    if is_external; then
      die "EXCHANGE_EXTERNAL_SERVERS=1: these servers are not this checkout's to restart"
    fi
    [ -d "$LOCAL" ] || die "nothing to restart (no $LOCAL)"
    take_lock
    reserve_ports
    if [ "$cmd" = restart-postgres ]; then
      pg_locate
      pg_running || die "this checkout's PostgreSQL is not running; not restarting it"
      pg_down
      pg_up
    else
      rmq_running || die "this checkout's RabbitMQ is not running; not restarting it"
      rmq_down
      rmq_up
    fi
    ;;
  stop-rabbitmq-node|start-rabbitmq-node|failover-postgres|rebuild-standby)
    # Cluster mode's faults for the chaos run (chaos.sh --cluster), on this checkout's cluster only.
    if is_external; then
      die "EXCHANGE_EXTERNAL_SERVERS=1: these servers are not this checkout's to stop"
    fi
    [ -d "$CLUSTER_BASE" ] || die "no cluster here (no $CLUSTER_BASE): run 'up --cluster' first"
    take_lock
    case "$cmd" in
      stop-rabbitmq-node|start-rabbitmq-node)
        node="${2:-$CHAOS_NODE}"
        [[ "$node" =~ ^[1-9]$ ]] && [ "$node" -le "$CLUSTER_NODES" ] || die "no node $node (1-$CLUSTER_NODES)"
        cluster_node "$node"
        if [ "$cmd" = stop-rabbitmq-node ]; then
          rmq_running || die "node $RMQ_NODE is not running"
          rmq_down
        else
          rmq_launch
          rmq_await
          rmq_say_ready
        fi
        say "RabbitMQ: cluster: $(cluster_running_nodes) of $CLUSTER_NODES nodes running"
        ;;
      failover-postgres) cluster_pg_failover ;;
      rebuild-standby) cluster_pg_up ;;
    esac
    ;;
  *)
    echo "usage: $0 up|down|status|env [--cluster] | restart-postgres | restart-rabbitmq" >&2
    echo "       $0 stop-rabbitmq-node|start-rabbitmq-node [N] | failover-postgres | rebuild-standby   (cluster mode)" >&2
    exit 2
    ;;
esac
