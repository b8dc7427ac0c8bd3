#!/usr/bin/env bash
# The comparison for bench/lifecycle.mjs's migrate case: what an SRE on the jump host does by hand
# to move a standby to another NC, with OpenSSH and the mariadb client, one step after another:
#   1. on the new NC: the instance's directories (owner as on the old NC), my.cnf and the init
#      script copied from the old standby (bind_address changed), the port's instance.conf line;
#   2. mariadb-backup --stream=xbstream on the master's NC piped through this host to mbstream on
#      the new NC (into the backup directory), --prepare, --move-back into the datadir;
#   3. start it with the init script and wait until it answers;
#   4. STOP SLAVE on the old standby (the copy has its server_id), then on the new one: the backup's
#      GTID as gtid_binlog_state and gtid_slave_pos, CHANGE MASTER … MASTER_USE_GTID = slave_pos,
#      START SLAVE, and MASTER_GTID_WAIT for the master's gtid_binlog_pos (caught up);
#   5. the master's own channel pointed at the new standby (not started, as rdsctl leaves it);
#   6. the metadb by hand in one transaction: instance host/ip, maxscale_link, capacity moved;
#   7. the old standby stopped and its directories, init script and instance.conf line removed.
# What rdsctl does on top (not done here): the checks before each step, the target's resource
# config, limits and rules files, insinfo, the admin whitelist, the port reservation, the task and
# step rows, the audit log.
#
# Everything comes from the environment (set by bench/lifecycle.mjs):
#   SSH_PORT SSH_USER SSH_KEY KNOWN_HOSTS   how to reach lab hosts
#   META_CNF                                mariadb client option file for the metadb
#   SU_CNF                                  option file with the instance's superuser (user, password)
#   REPL_PW_FILE                            file holding the replication account's password
#   PORT                                    the instance's port (the same on the new NC)
#   M_IP O_IP N_IP                          master, old standby, new NC addresses
#   N_HOST N_HOSTINFO O_HOSTINFO            the new NC's name and hostinfo ids of both NCs
#   INSTANCE_ID CUSTINS_ID CPU MEM_MB DISK_GB   the moving node and what it takes
set -euo pipefail

for v in SSH_PORT SSH_USER SSH_KEY KNOWN_HOSTS META_CNF SU_CNF REPL_PW_FILE PORT M_IP O_IP N_IP N_HOST N_HOSTINFO O_HOSTINFO INSTANCE_ID CUSTINS_ID CPU MEM_MB DISK_GB; do
  [ -n "${!v:-}" ] || { echo "$0: $v is not set" >&2; exit 2; }
done

on() { # on IP COMMAND…: a command on a lab host (stdin passes through)
  local ip=$1
  shift
  ssh -F /dev/null -i "$SSH_KEY" -o UserKnownHostsFile="$KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -p "$SSH_PORT" "$SSH_USER@$ip" "$@"
}
sql() { # sql IP STATEMENTS: as the superuser over TCP from this host
  mariadb --defaults-extra-file="$SU_CNF" -h "$1" -P "$PORT" --batch --skip-column-names -e "$2"
}

DBS=/mysqldata/dbs$PORT TMP=/mysqldata/tmp$PORT DATA=/home/mysql/data$PORT BAK=/mysqldata/backup$PORT
INITD=/etc/init.d/mysql$PORT CONF=/usr/local/rds/var/instance.conf

# 1. directories, my.cnf, init script, instance.conf line on the new NC
owner=$(on "$O_IP" "stat -c %U $DATA")
on "$N_IP" "set -e; mkdir -p $DBS $TMP $DATA $BAK; chown $owner $DBS $TMP $DATA $BAK; mkdir -p /usr/local/rds/var; touch $CONF; grep -qxF '$PORT = 1' $CONF || echo '$PORT = 1' >> $CONF"
on "$O_IP" "cat $DBS/my.cnf" | sed "s/^bind_address *=.*/bind_address = $N_IP/" | on "$N_IP" "cat > $DBS/my.cnf; chown $owner $DBS/my.cnf"
on "$O_IP" "cat $INITD" | on "$N_IP" "cat > $INITD; chmod 755 $INITD"

# 2. stream, prepare, move-back
on "$M_IP" "f=\$(mktemp); trap 'rm -f \"\$f\"' EXIT; cat > \"\$f\"; cd $DATA; mariadb-backup --defaults-file=\"\$f\" --backup --stream=xbstream --socket=$DBS/mysql.sock --tmpdir=$TMP 2>$DBS/hand-stream.log" \
  < <(printf '!include %s\n' "$DBS/my.cnf"; cat "$SU_CNF") |
  on "$N_IP" "mbstream -x -C $BAK"
gtid=$(on "$N_IP" "set -e; mariadb-backup --prepare --target-dir=$BAK > $DBS/hand-prepare.log 2>&1; cut -f3 $BAK/xtrabackup_binlog_info; mariadb-backup --defaults-file=$DBS/my.cnf --move-back --target-dir=$BAK > $DBS/hand-moveback.log 2>&1; chown -R $owner $DATA; rm -rf $BAK" | head -n 1)

# 3. start
on "$N_IP" "$INITD start >/dev/null"
until sql "$N_IP" 'SELECT 1' >/dev/null 2>&1; do sleep 0.1; done

# 4. replication from the backup's position; caught up
sql "$O_IP" 'STOP SLAVE'
repl_pw=$(cat "$REPL_PW_FILE")
sql "$N_IP" "STOP SLAVE; RESET SLAVE ALL; RESET MASTER; SET GLOBAL gtid_binlog_state = '$gtid'; SET GLOBAL gtid_slave_pos = '$gtid';
  SET GLOBAL rpl_semi_sync_master_enabled = OFF; SET GLOBAL rpl_semi_sync_slave_enabled = ON;
  CHANGE MASTER TO MASTER_HOST = '$M_IP', MASTER_PORT = $PORT, MASTER_USER = 'replicator', MASTER_PASSWORD = '$repl_pw', MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1; START SLAVE"
pos=$(sql "$M_IP" 'SELECT @@GLOBAL.gtid_binlog_pos')
[ "$(sql "$N_IP" "SELECT MASTER_GTID_WAIT('$pos', 300)")" = 0 ] || { echo "$0: the new standby did not reach $pos" >&2; exit 1; }

# 5. the master's channel follows (stopped)
sql "$M_IP" "STOP SLAVE; CHANGE MASTER TO MASTER_HOST = '$N_IP', MASTER_PORT = $PORT, MASTER_USER = 'replicator', MASTER_PASSWORD = '$repl_pw', MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1"

# 6. the metadb
mariadb --defaults-extra-file="$META_CNF" dbaas -e "START TRANSACTION;
  UPDATE instance SET hostinfo_id = $N_HOSTINFO, host_name = '$N_HOST', ip = '$N_IP' WHERE id = $INSTANCE_ID;
  UPDATE maxscale_link SET ip = '$N_IP' WHERE custins_id = $CUSTINS_ID AND instance_id = $INSTANCE_ID;
  UPDATE hostinfo SET cpu_allocated = cpu_allocated + $CPU, mem_allocated_mb = mem_allocated_mb + $MEM_MB, disk_allocated_gb = disk_allocated_gb + $DISK_GB WHERE id = $N_HOSTINFO;
  UPDATE hostinfo SET cpu_allocated = cpu_allocated - $CPU, mem_allocated_mb = mem_allocated_mb - $MEM_MB, disk_allocated_gb = disk_allocated_gb - $DISK_GB WHERE id = $O_HOSTINFO;
  COMMIT"

# 7. the old standby goes
on "$O_IP" "p=\$(cat $DBS/mysqld.pid 2>/dev/null || true); if [ -n \"\$p\" ] && kill \"\$p\" 2>/dev/null; then while kill -0 \"\$p\" 2>/dev/null; do sleep 0.05; done; fi; rm -rf $DBS $TMP $DATA $BAK $INITD; sed -i '/^$PORT = 1\$/d' $CONF"
echo "moved instance $INSTANCE_ID to $N_HOST ($N_IP:$PORT) from GTID $gtid"
