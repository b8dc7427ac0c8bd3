#!/usr/bin/env bash
# The floor for bench/create.mjs: the least a shell script does for a replicating MariaDB pair on
# two lab NCs — mariadb-install-db, start, a replication account and CHANGE MASTER both ways —
# over plain OpenSSH, one session per host per phase, both hosts at once. Nothing else: no
# metadb, no checks beyond "answers" and "both replication threads run", no accounts, no files.
#
#   create-floor.sh up|down SSH_PORT KEY KNOWN_HOSTS PORT HOST_A IP_A ROOT_A HOST_B IP_B ROOT_B
#
# `up` returns when both servers replicate from each other; `down` stops them and removes their
# directories. SQL (with the throwaway replication password) goes on stdin, never on a command line.
set -euo pipefail

[ $# -eq 11 ] || { echo "usage: $0 up|down SSH_PORT KEY KNOWN_HOSTS PORT HOST_A IP_A ROOT_A HOST_B IP_B ROOT_B" >&2; exit 2; }
action=$1 ssh_port=$2 key=$3 known_hosts=$4 port=$5
ip_a=$7 root_a=$8 ip_b=${10} root_b=${11}

on() { # on IP SCRIPT: run SCRIPT with sh on the host at IP
  ssh -F /dev/null -i "$key" -o UserKnownHostsFile="$known_hosts" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -p "$ssh_port" "root@$1" sh -s <<<"$2"
}

# Runs on the host: D is the pair member's directory under that host's root.
prelude() { # prelude ROOT
  printf 'set -e; PATH="$PATH:/usr/sbin"; D=%q/floor%s; S="$D/s.sock"; sql() { mariadb --no-defaults -S "$S" -uroot "$@"; }\n' "$1" "$port"
}

install_and_start() { # install_and_start ROOT IP SERVER_ID READ_ONLY
  prelude "$1"
  cat <<EOF
mkdir -p "\$D/data" "\$D/tmp"
cat > "\$D/my.cnf" <<CNF
[mysqld]
port = $port
bind_address = $2
datadir = \$D/data
tmpdir = \$D/tmp
socket = \$S
pid_file = \$D/pid
log_error = \$D/error.log
log_bin = \$D/bin
server_id = $3
log_slave_updates = ON
skip_name_resolve = ON
read_only = $4
CNF
mariadb-install-db --defaults-file="\$D/my.cnf" --user=root --skip-test-db > "\$D/install.log" 2>&1
setsid nohup mariadbd --defaults-file="\$D/my.cnf" --user=root </dev/null >/dev/null 2>&1 &
until sql -e 'SELECT 1' >/dev/null 2>&1; do sleep 0.02; done
sql <<SQL
SET sql_log_bin = 0;
CREATE USER rpl@'%' IDENTIFIED BY 'floor-Repl-1';
GRANT REPLICATION SLAVE ON *.* TO rpl@'%';
SQL
EOF
}

replicate_from() { # replicate_from ROOT PEER_IP
  prelude "$1"
  cat <<EOF
sql <<SQL
CHANGE MASTER TO MASTER_HOST='$2', MASTER_PORT=$port, MASTER_USER='rpl', MASTER_PASSWORD='floor-Repl-1', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
START SLAVE;
SQL
until [ "\$(sql -e 'SHOW SLAVE STATUS\G' | grep -cE '^ *Slave_(IO|SQL)_Running: Yes')" = 2 ]; do sleep 0.02; done
EOF
}

stop_and_remove() { # stop_and_remove ROOT
  prelude "$1"
  echo 'if [ -f "$D/pid" ]; then p=$(cat "$D/pid"); kill "$p" 2>/dev/null || true; while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; fi; rm -rf "$D"'
}

case "$action" in
  up)
    on "$ip_a" "$(install_and_start "$root_a" "$ip_a" 101 OFF)" & a=$!
    on "$ip_b" "$(install_and_start "$root_b" "$ip_b" 102 ON)" & b=$!
    wait $a; wait $b
    on "$ip_a" "$(replicate_from "$root_a" "$ip_b")" & a=$!
    on "$ip_b" "$(replicate_from "$root_b" "$ip_a")" & b=$!
    wait $a; wait $b
    echo ok ;;
  down)
    on "$ip_a" "$(stop_and_remove "$root_a")" & a=$!
    on "$ip_b" "$(stop_and_remove "$root_b")" & b=$!
    wait $a; wait $b ;;
  *) echo "$0: unknown action $action (up|down)" >&2; exit 2 ;;
esac
