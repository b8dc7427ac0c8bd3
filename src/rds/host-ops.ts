import path from 'node:path';
import { sh } from '../remote/quote.js';
import type { HostLayout } from './layout.js';
import { PIN_SQL_MODE } from './sql-text.js';

// The shell an install step (or `instance delete`) runs on an NC, built only with remote/quote's
// sh`` so that every path and value is quoted. The scripts are POSIX sh and idempotent: each one
// checks first and does only what is missing, because a step may run again after a resume or a
// goto. Secrets never appear in a script: they travel on stdin.

/** sbin is not on a non-login PATH everywhere; mariadbd lives there. */
const PATH_PREFIX = 'PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin"; export PATH; ';

export function script(body: string): string {
  return `set -e; ${PATH_PREFIX}${body}`;
}

/** Sets $p and succeeds when this instance's own mysqld (started with its my.cnf) is running. */
export function aliveTest(l: HostLayout): string {
  return sh`{ p=$(cat ${l.pidFile} 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && tr '\\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF -- ${'--defaults-file=' + l.mycnf}; }`;
}

/** `u` = the user mysqld runs as: the owner do_make_dir gave the datadir. */
function runAs(l: HostLayout): string {
  return sh`u=$(stat -c %U ${l.dataDir}); `;
}

/** do_make_dir: the host must be the one the metadb says; then the three directories. */
export function makeDirsScript(l: HostLayout, expectedHost: string): string {
  return script(
    sh`h=$(hostname); if [ "$h" != ${expectedHost} ] && [ "\${h%%.*}" != ${expectedHost.split('.')[0]!} ]; then echo "this host is $h, not "${expectedHost} >&2; exit 3; fi; ` +
      sh`mkdir -p ${l.dirs}; chmod 750 ${l.dirs}; u=root; ` +
      // mysqld runs as mysql when that user exists and can reach the directories (as on
      // production and lab NCs); otherwise as root.
      sh`if id -u mysql >/dev/null 2>&1; then chown mysql:mysql ${l.dirs}; ` +
      sh`if command -v runuser >/dev/null 2>&1 && runuser -u mysql -- sh -c 'for d; do [ -w "$d" ] || exit 1; done' sh ${l.dirs}; then u=mysql; else chown root:root ${l.dirs}; fi; fi; echo "$u"`,
  );
}

export function dirsExistProbe(l: HostLayout): string {
  return sh`for d in ${l.dirs}; do [ -d "$d" ] || exit 1; done`;
}

/**
 * do_check_port_and_dir_exists_and_makesure_not_exist: what is in the way. Prints
 * "port-foreign", "port-own" and "dir <path>" lines; the step decides.
 */
export function portAndDirsScript(l: HostLayout, ip: string): string {
  return script(
    sh`if ss -Hltn 2>/dev/null | awk '{print $4}' | grep -qE ${`^(${ip.replace(/\./g, '\\.')}|0\\.0\\.0\\.0|\\*|\\[::\\]):${l.port}$`}; then ` +
      `if ${aliveTest(l)}; then echo port-own; else echo port-foreign; fi; fi; ` +
      sh`for d in ${l.dirs}; do if [ -e "$d" ]; then echo "dir $d"; fi; done; true`,
  );
}

/** do_rm_instance_dir_exists: leftovers of an earlier attempt go; a running install of this instance stays. */
export function rmDirsScript(l: HostLayout): string {
  return script(`if ${aliveTest(l)}; then echo "kept: mysqld of this instance is running (pid $p)"; exit 0; fi; ` + sh`removed=""; for d in ${l.dirs}; do if [ -e "$d" ]; then rm -rf -- "$d"; removed="$removed $d"; fi; done; echo "removed:$removed"`);
}

export function writeFileScript(file: string, mode: string): string {
  const dir = path.posix.dirname(file);
  const tmp = `${file}.rdsctl-tmp`;
  return script(sh`mkdir -p ${dir}; umask 077; cat > ${tmp}; chmod ${mode} ${tmp}; mv -f ${tmp} ${file}`);
}

export function readFileScript(file: string): string {
  return sh`cat ${file} 2>/dev/null || true`;
}

/** do_init_mysql_db_*: mariadb-install-db once; a half-done earlier attempt is cleared first. */
export function installDbScript(l: HostLayout): string {
  return script(
    // A runner killed mid-install leaves mariadb-install-db running on the NC: wait for it.
    sh`exec 8>>${l.dbsDir + '/.install.lock'}; flock -w 170 8 || { echo "another mariadb-install-db holds "${l.dbsDir + '/.install.lock'} >&2; exit 1; }; ` +
      sh`if [ -f ${l.installDoneMarker} ]; then echo already; exit 0; fi; ` +
      `if ${aliveTest(l)}; then echo "mysqld (pid $p) is running from ${l.dataDir}; not reinitialising it" >&2; exit 1; fi; ` +
      sh`find ${l.dataDir} -mindepth 1 -delete; ` +
      runAs(l) +
      'inst=$(command -v mariadb-install-db || command -v mysql_install_db) || { echo "neither mariadb-install-db nor mysql_install_db is installed" >&2; exit 127; }; ' +
      // An option file mysqld cannot parse makes mariadb-install-db fall back to the compiled-in
      // datadir and still exit 0: read the file back as the server will, and refuse unless it
      // names this instance's datadir and port.
      'pd=$(command -v my_print_defaults || command -v mariadb-print-defaults) || { echo "my_print_defaults is not installed" >&2; exit 127; }; ' +
      sh`got=$("$pd" --defaults-file=${l.mycnf} mysqld) || { echo ${l.mycnf}" is not a readable option file" >&2; exit 1; }; ` +
      // The last occurrence wins in mysqld, so that is the one compared.
      sh`[ "$(printf '%s\\n' "$got" | sed -n 's/^--datadir=//p' | tail -n 1)" = ${l.dataDir} ] && [ "$(printf '%s\\n' "$got" | sed -n 's/^--port=//p' | tail -n 1)" = ${String(l.port)} ] || { echo ${l.mycnf}" does not set datadir "${l.dataDir}" and port "${String(l.port)}" for mysqld; not initialising" >&2; exit 1; }; ` +
      sh`"$inst" --defaults-file=${l.mycnf} --user="$u" --skip-test-db --auth-root-authentication-method=socket > ${l.installLog} 2>&1 || { tail -n 5 ${l.installLog} >&2; exit 1; }; ` +
      sh`[ -f ${l.dataDir + '/mysql/global_priv.frm'} ] || { echo "mariadb-install-db exited 0 but "${l.dataDir}" has no system tables (see "${l.installLog}")" >&2; exit 1; }; ` +
      sh`touch ${l.installDoneMarker}; echo "initialised as $u"`,
  );
}

/** do_check_mysql_init_db_success_*: the marker and the system tables are there. */
export function installDoneProbe(l: HostLayout): string {
  return sh`[ -f ${l.installDoneMarker} ] && [ -f ${l.dataDir + '/mysql/global_priv.frm'} ] && [ -f ${l.dataDir + '/mysql/db.frm'} ]`;
}

/**
 * Start this instance's mysqld detached (setsid + nohup, all streams closed) so the SSH channel
 * returns at once; the limits file written by do_config_resource is applied when present. The
 * same body serves the init script.
 */
export function startBody(l: HostLayout): string {
  return (
    `if ${aliveTest(l)}; then echo "already running (pid $p)"; exit 0; fi; ` +
    'b=$(command -v mariadbd || command -v mysqld) || { echo "no mariadbd or mysqld on PATH" >&2; exit 127; }; ' +
    runAs(l) +
    sh`if [ -f ${l.limitsFile} ]; then . ${l.limitsFile}; ulimit -n "$NOFILE" 2>/dev/null || true; fi; ` +
    sh`rm -f ${l.pidFile}; setsid nohup "$b" --defaults-file=${l.mycnf} --user="$u" </dev/null >/dev/null 2>&1 & echo "started $b as $u"`
  );
}

export function startScript(l: HostLayout): string {
  return script(startBody(l));
}

export function aliveProbe(l: HostLayout): string {
  return aliveTest(l);
}

/**
 * A mariadbd/mysqld whose first argument is this instance's --defaults-file: the server exists
 * even before it writes its pid file (after storage-engine start, seconds on a loaded host).
 * argv[0] is matched too, so the shell running this test (whose own text holds the path) does
 * not count.
 */
export function serverProcessTest(l: HostLayout): string {
  return (
    sh`{ f=${'--defaults-file=' + l.mycnf}; r=1; for d in /proc/[0-9]*; do ` +
    `case "$(tr '\\0' '\\n' < "$d/cmdline" | sed -n 1p)" in *mariadbd|*mysqld) ` +
    `if [ "$(tr '\\0' '\\n' < "$d/cmdline" | sed -n 2p)" = "$f" ]; then r=0; break; fi ;; esac; ` +
    // A process may exit between the glob and the read; its vanished cmdline is no news.
    `done 2>/dev/null; [ $r = 0 ]; }`
  );
}

/** Running, or started and still coming up: what the start check waits on before it calls the server dead. */
export function startingOrAliveProbe(l: HostLayout): string {
  return `${aliveTest(l)} || ${serverProcessTest(l)}`;
}

/** How long a stop waits for mysqld to finish its shutdown before it reports the stop as stuck. */
export const STOP_WAIT_SEC = 30;

/**
 * Graceful stop: SIGTERM, which mysqld handles as `mysqladmin shutdown` does (connections closed,
 * InnoDB flushed, binlog closed), then wait for the pid to exit. A shutdown still running after
 * STOP_WAIT_SEC is reported as stuck (exit 1, one line on stderr naming the pid, its process state
 * and the error log) and the server is left alone: a kill -9 skips the shutdown (the next start is
 * a crash recovery, a semi-sync master's last commits may not be on its standby, a stuck stop's
 * cause is gone from view), so the operator decides, knowing why it hangs. Quiet when nothing runs.
 */
export function stopBody(l: HostLayout): string {
  const ticks = STOP_WAIT_SEC * 20;
  return (
    `if ${aliveTest(l)}; then kill -TERM "$p"; i=0; while kill -0 "$p" 2>/dev/null; do i=$((i+1)); ` +
    `if [ $i -ge ${ticks} ]; then st=$(sed -n 's/^[0-9]* (.*) \\([A-Za-z]\\) .*/\\1/p' "/proc/$p/stat" 2>/dev/null); ` +
    sh`echo "stop stuck: mysqld pid $p of port ${String(l.port)} still runs ${String(STOP_WAIT_SEC)} s after SIGTERM (process state \${st:-?}); not killed (kill -9 means crash recovery at the next start), see "${l.errorLog} >&2; exit 1; fi; ` +
    'sleep 0.05; done; echo "stopped pid $p"; else echo "not running"; fi'
  );
}

export function errorLogTail(l: HostLayout, lines = 5): string {
  return sh`tail -n ${lines} ${l.errorLog} 2>/dev/null || true`;
}

/** SQL on stdin to the instance as root over its unix socket (unix_socket auth: no password exists). */
export function socketSqlCommand(l: HostLayout, o: { database?: string } = {}): string {
  return script(
    'c=$(command -v mariadb || command -v mysql) || { echo "no mariadb or mysql client on PATH" >&2; exit 127; }; ' +
      sh`"$c" --no-defaults --socket=${l.socket} --user=root --batch ${'--init-command=' + PIN_SQL_MODE}${o.database ? sh` --database=${o.database}` : ''}`,
  );
}

/** do_insert_time_zone_tables: the NC's system zoneinfo into the instance, as root over the socket, not binlogged. */
export function loadTimeZonesScript(l: HostLayout): string {
  return script(
    'g=$(command -v mariadb-tzinfo-to-sql || command -v mysql_tzinfo_to_sql) || { echo "mariadb-tzinfo-to-sql is not installed" >&2; exit 127; }; ' +
      'c=$(command -v mariadb || command -v mysql); ' +
      sh`"$g" --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | "$c" --no-defaults --socket=${l.socket} --user=root ${'--init-command=' + PIN_SQL_MODE} --database=mysql`,
  );
}

/** Run `body` holding the NC-wide lock that serialises edits of the shared RDS files. */
export function withHostLock(l: HostLayout, body: string): string {
  return script(sh`mkdir -p ${path.posix.dirname(l.lockFile)}; exec 9>>${l.lockFile}; flock -w 30 9 || { echo "timed out waiting for "${l.lockFile} >&2; exit 1; }; ` + body);
}

/** do_add_port_to_instance_config: the line "<port> = 1", once. */
export function addInstanceConfLine(l: HostLayout): string {
  const line = `${l.port} = 1`;
  return withHostLock(l, sh`mkdir -p ${path.posix.dirname(l.instanceConf)}; touch ${l.instanceConf}; if grep -qxF -- ${line} ${l.instanceConf}; then echo present; else printf '%s\\n' ${line} >> ${l.instanceConf}; echo added; fi`);
}

export function instanceConfProbe(l: HostLayout): string {
  return sh`grep -qxF -- ${`${l.port} = 1`} ${l.instanceConf} 2>/dev/null`;
}

/** Replace the lines of `file` whose first field is `key` with stdin (which may be empty). */
function replaceKeyedLines(file: string, key: string): string {
  return sh`mkdir -p ${path.posix.dirname(file)}; touch ${file}; awk -v k=${key} '$1 != k' ${file} > ${file + '.rdsctl-tmp'}; cat >> ${file + '.rdsctl-tmp'}; mv -f ${file + '.rdsctl-tmp'} ${file}`;
}

/** Replace the [section] of an ini-style file with stdin (which may be empty). */
function replaceSection(file: string, section: string): string {
  return sh`mkdir -p ${path.posix.dirname(file)}; touch ${file}; awk -v s=${`[${section}]`} '/^\\[/{skip=($0==s)} !skip' ${file} > ${file + '.rdsctl-tmp'}; cat >> ${file + '.rdsctl-tmp'}; mv -f ${file + '.rdsctl-tmp'} ${file}`;
}

/** do_flush_insinfo_file: this port's line in the NC's insinfo file (stdin holds the new line). */
export function writeInsinfoLine(l: HostLayout): string {
  return withHostLock(l, replaceKeyedLines(l.insinfoFile, String(l.port)));
}

/** do_persist_resource_config: this port's section of /etc/rds_resource_config.conf (stdin). */
export function writeResourceSection(l: HostLayout): string {
  return withHostLock(l, replaceSection(l.resourceConf, String(l.port)));
}

/**
 * do_config_resource: write the limits file the init script sources, and apply what can be
 * applied to the running server without cgroups: its open-files limit (prlimit). prlimit runs as
 * the server's own user: root may change another user's process limits only with
 * CAP_SYS_RESOURCE, which containers (and the lab's hosts) do not always have, while the owner
 * may set its own limits up to the hard limit it already has.
 */
export function configResourceScript(l: HostLayout, nofile: number): string {
  return script(
    sh`mkdir -p ${path.posix.dirname(l.limitsFile)}; umask 022; cat > ${l.limitsFile + '.rdsctl-tmp'}; mv -f ${l.limitsFile + '.rdsctl-tmp'} ${l.limitsFile}; ` +
      `if ${aliveTest(l)}; then ` +
      sh`if command -v prlimit >/dev/null 2>&1; then runuser -u "$(stat -c %U "/proc/$p")" -- prlimit --pid "$p" --nofile=${nofile}:${nofile} && echo "nofile=${nofile} applied to pid $p"; else echo "prlimit not installed: limits apply at the next start"; fi; ` +
      'else echo "mysqld not running: limits apply at the next start"; fi',
  );
}

/** Everything an instance leaves on its NC, removed; the shared files lose only this port's entries. */
export function purgeScript(l: HostLayout): string {
  return withHostLock(
    l,
    stopBody(l) +
      '; ' +
      sh`rm -rf -- ${[...l.dirs, l.backupDir]}; rm -f -- ${[l.initScript, l.limitsFile, l.whitelistFile]}; ` +
      sh`if [ -f ${l.instanceConf} ]; then { grep -vxF -- ${`${l.port} = 1`} ${l.instanceConf} || true; } > ${l.instanceConf + '.rdsctl-tmp'}; mv -f ${l.instanceConf + '.rdsctl-tmp'} ${l.instanceConf}; fi; ` +
      sh`if [ -f ${l.insinfoFile} ]; then awk -v k=${String(l.port)} '$1 != k' ${l.insinfoFile} > ${l.insinfoFile + '.rdsctl-tmp'}; mv -f ${l.insinfoFile + '.rdsctl-tmp'} ${l.insinfoFile}; fi; ` +
      sh`if [ -f ${l.resourceConf} ]; then awk -v s=${`[${l.port}]`} '/^\\[/{skip=($0==s)} !skip' ${l.resourceConf} > ${l.resourceConf + '.rdsctl-tmp'}; mv -f ${l.resourceConf + '.rdsctl-tmp'} ${l.resourceConf}; fi; echo purged`,
  );
}

/** What purgeScript would leave behind: used by tests and by `delete` to confirm a clean host. */
export function leftoversScript(l: HostLayout): string {
  return (
    sh`for f in ${[...l.dirs, l.backupDir, l.initScript, l.limitsFile, l.whitelistFile]}; do if [ -e "$f" ]; then echo "file $f"; fi; done; ` +
    sh`if [ -f ${l.instanceConf} ] && grep -qxF -- ${`${l.port} = 1`} ${l.instanceConf}; then echo "line instance.conf"; fi; ` +
    sh`if [ -f ${l.resourceConf} ] && grep -qxF -- ${`[${l.port}]`} ${l.resourceConf}; then echo "section rds_resource_config.conf"; fi; ` +
    sh`if [ -f ${l.insinfoFile} ] && awk -v k=${String(l.port)} '$1 == k {f=1} END {exit !f}' ${l.insinfoFile}; then echo "line insinfo.conf"; fi; ` +
    `if ${aliveTest(l)}; then echo "process $p"; fi; true`
  );
}
