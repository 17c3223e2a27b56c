# shellcheck shell=bash
# Connection settings of the local servers, shared by the scripts of deploy/local and read by the
# .NET hosts and tests. Source it from bash:
#
#     . deploy/local/env.sh
#
# Every variable keeps a value that is already set, so to use servers you already run, export
# your own values (and EXCHANGE_EXTERNAL_SERVERS=1, see docs/operations.md) before sourcing.

_exchange_env_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"

: "${EXCHANGE_PG_HOST:=127.0.0.1}"
: "${EXCHANGE_PG_PORT:=55432}"
: "${EXCHANGE_PG_USER:=exchange}"
: "${EXCHANGE_PG_PASSWORD:=exchange}"

: "${EXCHANGE_AMQP_HOST:=127.0.0.1}"
: "${EXCHANGE_AMQP_PORT:=55672}"
: "${EXCHANGE_AMQP_USER:=exchange}"
: "${EXCHANGE_AMQP_PASSWORD:=exchange}"
: "${EXCHANGE_AMQP_VHOST:=exchange}"
: "${EXCHANGE_AMQP_MGMT_PORT:=55673}"
# The broker's own metrics for Prometheus (the rabbitmq_prometheus plugin; its usual port is 15692).
: "${EXCHANGE_AMQP_PROMETHEUS_PORT:=55692}"
# AMQP over TLS: the broker's TLS listener, and the CA file its certificate chains to (services.sh makes
# both for the local node). The hosts use TLS only with EXCHANGE_AMQP_TLS=1. A CA file set to the empty
# string means the system's trust store.
: "${EXCHANGE_AMQP_TLS_PORT:=55671}"
: "${EXCHANGE_AMQP_CA_FILE=${_exchange_env_root}/.local/tls/ca.pem}"

# Dev PKI, logs and other run state of the hosts.
: "${EXCHANGE_HOME:=${_exchange_env_root}/.local}"

# Development mode: the shared default logins above, hosts without their own broker user and the management API over
# plain HTTP are allowed only with it (docs/operations.md, "Development mode").
: "${EXCHANGE_DEVELOPMENT:=1}"

export EXCHANGE_PG_HOST EXCHANGE_PG_PORT EXCHANGE_PG_USER EXCHANGE_PG_PASSWORD
export EXCHANGE_AMQP_HOST EXCHANGE_AMQP_PORT EXCHANGE_AMQP_USER EXCHANGE_AMQP_PASSWORD
export EXCHANGE_AMQP_VHOST EXCHANGE_AMQP_MGMT_PORT EXCHANGE_AMQP_TLS_PORT EXCHANGE_AMQP_PROMETHEUS_PORT EXCHANGE_AMQP_CA_FILE
export EXCHANGE_HOME EXCHANGE_DEVELOPMENT

unset _exchange_env_root
