import { script } from '../rds/host-ops.js';
import type { HostLayout } from '../rds/layout.js';
import { sh, shq } from '../remote/quote.js';
import { MANIFEST, STREAM_DONE } from './manifest.js';
import { muxCommands, muxSocket, ncToStore, type Store } from './store.js';

// The shell the backup, verify, restore and archive work runs on NCs and on the store. Built
// with remote/quote's sh`` only. Streams run under bash for pipefail: a pipeline is good only
// when every stage of it exited 0 (mbstream on the store can exit 0 on a truncated stream).
// Secrets (the superuser password) arrive on stdin into a 0600 option file removed on exit.

export const BACKUP_BIN = 'b=$(command -v mariadb-backup || command -v mariabackup) || { echo "mariadb-backup is not installed (Debian package mariadb-backup)" >&2; exit 127; }; ';

/** The option file on stdin: [client] user and password, plus the instance's my.cnf. */
const OPTION_FILE = 'f=$(mktemp); trap \'rm -f "$f"\' EXIT; cat > "$f"; ';

function bash(body: string): string {
  return script(`exec bash -c ${shq(`set -eo pipefail; ${body}`)}`);
}

/** Lock file of backup/restore work of one instance on an NC: a resumed step waits for an orphan of a killed runner. */
export function workLock(l: HostLayout): string {
  return `${l.dbsDir}/.backup.lock`;
}

/**
 * A shell function: `hashz` hashes the NUL-separated paths on its stdin with openssl's sha256
 * ("<hex> *<path>" lines, sha256sum's binary-mode format, on stdout). Two openssl processes at
 * once (a set is many files, the host more than one core; openssl's sha256 costs about a fifth of
 * coreutils' sha256sum in CPU), each writing its own file, so that their lines never interleave
 * (two writers on one pipe may split a line at a buffer boundary). Fails (xargs' 123) when a
 * file could not be read; the lines of the others are still printed.
 */
const HASHZ =
  'hashz() { local t rc=0; t=$(mktemp -d) || return 1; ' +
  `xargs -0 -r -P 2 -n 32 sh -c ${shq('o=$(mktemp "$0/h.XXXXXX") && exec openssl dgst -sha256 -r "$@" > "$o"')} "$t" || rc=$?; ` +
  'cat "$t"/h.* 2>/dev/null || true; rm -rf "$t"; return $rc; }; ';

/** What follows the stream on the store side: the set's file list with sizes and sha256 (see hashSetScript). */
function hashListing(): string {
  return (
    sh`find . -type f ! -name ${MANIFEST} ! -name ${MANIFEST + '.tmp'} ! -name ${STREAM_DONE} -printf '%s %P\\n' | sort; echo --; ` +
    // The files were just written, so they are read back from the page cache (HASHZ: openssl, two at once).
    HASHZ +
    sh`find . -type f ! -name ${MANIFEST} ! -name ${MANIFEST + '.tmp'} ! -name ${STREAM_DONE} -print0 | hashz; echo --; ` +
    'cat xtrabackup_binlog_info 2>/dev/null || true'
  );
}

/**
 * On the source NC: stream a physical backup to the store, extracted there by mbstream, which
 * then hashes every file in the same session (the listing comes back on stdout, for the
 * manifest). Skips when the store already has the stream-done marker (a resumed step after the
 * orphan of a killed runner finished). Prints "already" or the listing, then "streamed".
 */
export function streamBackupScript(s: Store, nc: string, l: HostLayout, dir: string): string {
  const sock = muxSocket(nc, l.port);
  const mux = muxCommands(s, sock);
  const toStore = (remote: string): string => ncToStore(s, remote, { mux: sock });
  const log = `${l.dbsDir}/backup-stream.log`;
  return bash(
    sh`exec 9>>${workLock(l)}; flock -w 3000 9 || { echo "another backup of this instance holds "${workLock(l)} >&2; exit 1; }; ` +
      'f=$(mktemp); cat > "$f"; ' +
      `${mux.open}; trap ${shq(`rm -f "$f"; ${mux.close}`)} EXIT; ` +
      `if [ "$(${toStore(sh`if [ -f ${dir + '/' + STREAM_DONE} ]; then echo already; else umask 077; rm -rf ${dir} && mkdir -p ${dir} && echo ready; fi`)})" = already ]; then echo already; exit 0; fi; ` +
      BACKUP_BIN +
      // mariadb-backup resolves relative paths of the server's options (an encrypted instance's key file) from the datadir.
      sh`cd ${l.dataDir}; "$b" --defaults-file="$f" --backup --stream=xbstream --parallel=2 --socket=${l.socket} --tmpdir=${l.tmpDir} 2> ${log} | ` +
      `${toStore(sh`mbstream -x -C ${dir} && cd ${dir} && ` + hashListing())} || { tail -n 5 ${log} >&2; exit 1; }; ` +
      `${toStore(sh`touch ${dir + '/' + STREAM_DONE}`)}; echo streamed`,
  );
}

/**
 * Before the prepare of a scratch copy of a set: an encrypted set's backup-my.cnf names the key
 * file as the source server saw it (relative to its datadir); point it at a private copy of
 * `keySrc` instead ($kw, removed by the caller's trap). The prepare then runs with
 * --defaults-file=<copy>/backup-my.cnf.
 */
function keyForPrepare(copy: string, keySrc: string): string {
  return (
    'kw=""; ' +
    sh`if grep -q '^file_key_management_filename=' ${copy + '/backup-my.cnf'}; then ` +
    sh`test -s ${keySrc} || { echo "the set is encrypted and no key is at "${keySrc} >&2; exit 1; }; ` +
    sh`kw=$(mktemp -d); (umask 077; cp ${keySrc} "$kw/keyfile"); ` +
    sh`sed -i "s|^file_key_management_filename=.*|file_key_management_filename=$kw/keyfile|" ${copy + '/backup-my.cnf'}; fi; `
  );
}

/** The option file a backup or replay reads: the instance's my.cnf, then the superuser. */
export function optionFile(l: HostLayout, user: string, password: string): string {
  return `!include ${l.mycnf}\n[client]\nuser=${user}\npassword=${password}\n`;
}

/**
 * On the store: the set's files with sizes and sha256 (manifest and marker excluded), then its
 * binlog position file. Sections separated by "--".
 */
export function hashSetScript(dir: string): string {
  return bash(sh`cd ${dir}; test -f ${STREAM_DONE} || { echo "no ${STREAM_DONE} marker: the stream did not finish" >&2; exit 4; }; ` + hashListing());
}

/** On the store: the manifest from stdin, fsynced under a temporary name, then renamed into place. */
export function writeManifestScript(dir: string): string {
  const tmp = `${dir}/${MANIFEST}.tmp`;
  return script(sh`cd ${dir}; umask 077; cat > ${tmp}; sync ${tmp}; mv -f ${tmp} ${dir + '/' + MANIFEST}; sync ${dir}`);
}

export function readManifestScript(dir: string): string {
  return sh`cat ${dir + '/' + MANIFEST}`;
}

/**
 * On the store: the checksum list on stdin ("<sha256>  <path>" lines, `sha256sum -c`'s input)
 * against the files, as strictly as `sha256sum --quiet --strict -c`: an empty list, or any line
 * that is not 64 lowercase hex digits, a space, a space or '*', and a path, fails before anything
 * is read; every file listed must exist and match, else exit 1 with `sha256sum -c`'s lines
 * "<path>: FAILED" / "<path>: FAILED open or read" on stdout. Hashed with openssl (HASHZ), not
 * coreutils: a fifth of the CPU. Paths are relative to `dir`, or absolute when `dir` is null.
 */
export function checkSumsScript(dir: string | null): string {
  return bash(
    (dir ? sh`cd ${dir}; ` : '') +
      'export LC_ALL=C; w=$(mktemp); g=$(mktemp); trap \'rm -f "$w" "$g"\' EXIT; cat > "$w"; ' +
      'if [ ! -s "$w" ]; then echo "no properly formatted checksum lines found" >&2; exit 1; fi; ' +
      "if bad=$(grep -n -v -E '^[0-9a-f]{64} [ *].+$' \"$w\" | head -n 1 | cut -d: -f1) && [ -n \"$bad\" ]; then echo \"line $bad: improperly formatted checksum line\" >&2; exit 1; fi; " +
      HASHZ +
      'cut -c67- "$w" | tr "\\n" "\\0" | hashz > "$g" 2>/dev/null || true; ' +
      // Every listed line against what was computed for its path; a path with no hash could not be read.
      "awk 'NR == FNR { h[substr($0, 67)] = substr($0, 1, 64); next } " +
      '{ p = substr($0, 67); if (!(p in h)) { print p ": FAILED open or read"; bad = 1 } else if (h[p] != substr($0, 1, 64)) { print p ": FAILED"; bad = 1 } } ' +
      'END { exit bad }\' "$g" "$w"',
  );
}

/**
 * On the store: a scratch copy of the set prepared with mariadb-backup, removed afterwards.
 * `keyFile`, for an encrypted set, is the store's copy of the instance's key.
 */
export function prepareScratchScript(storeDir: string, dir: string, keyFile: string | null): string {
  const scratchRoot = `${storeDir}/.scratch`;
  return bash(
    sh`mkdir -p ${scratchRoot}; chmod 700 ${scratchRoot}; t=$(mktemp -d ${scratchRoot + '/verify.XXXXXX'}); trap 'rm -rf "$t"' EXIT; ` +
      sh`cp -a ${dir + '/.'} "$t"/; rm -f "$t"/${MANIFEST} "$t"/${STREAM_DONE}; ` +
      (keyFile ? keyForPrepare('"$t"', keyFile).replace(/'"\$t"\/backup-my\.cnf'/g, '"$t"/backup-my.cnf') + 'trap \'rm -rf "$t" "$kw"\' EXIT; ' : '') +
      BACKUP_BIN +
      `"$b" --defaults-file="$t"/backup-my.cnf --prepare --target-dir="$t" > "$t.log" 2>&1 || { tail -n 5 "$t.log" >&2; rm -f "$t.log"; exit 1; }; ` +
      'grep -q "completed OK" "$t.log" || { tail -n 3 "$t.log" >&2; rm -f "$t.log"; exit 1; }; rm -f "$t.log"; ' +
      'grep -E "^(backup_type|to_lsn)" "$t"/xtrabackup_checkpoints | tr "\\n" " "',
  );
}

/** On the store: remove a set (only a directory of this store's layout). */
export function removeSetScript(dir: string): string {
  return script(sh`if [ -d ${dir} ]; then rm -rf -- ${dir}; echo removed; else echo absent; fi`);
}

/** The restore's scratch directory: inside the datadir, so that --move-back renames files instead of copying them. */
export const RESTORE_SCRATCH = '.rds-restore';

/**
 * On the target NC of a restore: pull the set from the store into a scratch directory,
 * prepare it and move it into the (otherwise empty) datadir, owned by the user mysqld runs as.
 * The scratch directory is inside the datadir: on the same filesystem whatever the NC's mounts
 * (the seed's /home/mysql and /mysqldata may be two), so --move-back renames the files instead
 * of copying the whole set a second time; a failed restore leaves it where `instance delete`
 * removes it. A datadir already restored (its marker present) is left as it is.
 */
export function restoreScript(s: Store, l: HostLayout, dir: string, marker: string): string {
  const scratch = `${l.dataDir}/${RESTORE_SCRATCH}`;
  const log = `${l.backupDir}/restore.log`;
  return bash(
    sh`exec 9>>${workLock(l)}; flock -w 3000 9 || { echo "another backup or restore of this instance holds "${workLock(l)} >&2; exit 1; }; ` +
      'sums=$(mktemp); trap \'rm -f "$sums"\' EXIT; cat > "$sums"; ' +
      sh`if [ -f ${marker} ]; then echo already; exit 0; fi; ` +
      // Phase times (bash's $EPOCHREALTIME) go into the result: where a slow restore spends its time.
      't0=$EPOCHREALTIME; ph=""; lap() { local t=$EPOCHREALTIME; ph="$ph${ph:+, }$1 $(awk -v a="$t0" -v b="$t" \'BEGIN { printf "%.1f", b - a }\') s"; t0=$t; }; ' +
      sh`mkdir -p ${l.backupDir}; chmod 700 ${l.backupDir}; rm -rf ${scratch}; mkdir -p ${scratch}; chmod 700 ${scratch}; ` +
      `${ncToStore(s, sh`cd ${dir} && test -f ${MANIFEST} && tar -cf - --exclude=./${MANIFEST} --exclude=./${STREAM_DONE} .`)} | tar -xf - -C ${shq(scratch)}; lap pull; ` +
      // What arrived is checked against the manifest (stdin) before anything uses it: end to end.
      // openssl (a fifth of sha256sum's CPU); the sorted "hash path" lists must be equal: a file
      // that differs, is missing or is extra fails the restore.
      sh`norm() { sed -E 's|^([0-9a-f]{64}) [ *](\\./)?|\\1 |' | LC_ALL=C sort; }; ` +
      HASHZ +
      sh`want=$(norm < "$sums"); got=$(cd ${scratch} && find . -type f -print0 | hashz | norm); ` +
      sh`if [ -z "$want" ]; then rm -rf ${scratch}; echo "no checksums given for the set" >&2; exit 4; fi; ` +
      sh`if [ "$want" != "$got" ]; then bad=$(diff <(printf '%s\\n' "$want") <(printf '%s\\n' "$got") | grep '^[<>]' | head -n 3 | tr '\\n' ' ' || true); rm -rf ${scratch}; echo "checksum mismatch: $bad" >&2; exit 4; fi; lap sha256; ` +
      BACKUP_BIN +
      // An encrypted set is prepared with this instance's key file (carried from the source).
      keyForPrepare(scratch, `${l.dbsDir}/keys/keyfile`) +
      sh`"$b" --defaults-file=${scratch + '/backup-my.cnf'} --prepare --target-dir=${scratch} > ${log} 2>&1 || { rm -rf "$kw"; tail -n 5 ${log} >&2; exit 1; }; rm -rf "$kw"; lap prepare; ` +
      sh`find ${l.dataDir} -mindepth 1 -maxdepth 1 ! -name ${RESTORE_SCRATCH} -exec rm -rf -- {} +; ` +
      // The datadir holds only the scratch directory: the one entry --force-non-empty-directories lets through.
      sh`"$b" --defaults-file=${l.mycnf} --move-back --force-non-empty-directories --target-dir=${scratch} --datadir=${l.dataDir} >> ${log} 2>&1 || { tail -n 5 ${log} >&2; exit 1; }; ` +
      sh`u=$(stat -c %U ${l.dbsDir}); chown -R "$u": ${l.dataDir}; rm -rf ${scratch}; touch ${marker}; lap move-back; echo "restored ($ph)"`,
  );
}

/** Binlog and relay-log names as the server reports them; nothing else reaches a script. */
export const BINLOG_NAME = /^[A-Za-z0-9_-]{1,48}\.[0-9]{6,}$/;

/**
 * mariadb-binlog's listing → "start_gtid\tlast_gtid\tfirst_time\tlast_time\tencrypted" (times as
 * printed, UTC under TZ=UTC). A local encrypted file lists its clear header, then "The rest of the
 * binlog is encrypted!": encrypted = 1.
 */
const BINLOG_META_AWK =
  "awk 'BEGIN{gl=\"\";lg=\"\";ft=\"\";lt=\"\";e=0} /^# The rest of the binlog is encrypted/{e=1} /^#[0-9][0-9][0-9][0-9][0-9][0-9] +[0-9:]+ server id/{t=\"20\" substr($1,2,2) \"-\" substr($1,4,2) \"-\" substr($1,6,2) \" \" $2; if(ft==\"\")ft=t; lt=t} " +
  "/Gtid list \\[/{if(gl==\"\"){x=$0; sub(/.*Gtid list \\[/,\"\",x); sub(/\\].*/,\"\",x); gl=x}} /[ \\t]GTID [0-9]+-[0-9]+-[0-9]+/{x=$0; sub(/.*[ \\t]GTID /,\"\",x); sub(/ .*/,\"\",x); lg=x} END{printf \"%s\\t%s\\t%s\\t%s\\t%s\", gl, lg, ft, lt, e}'";

/**
 * On the master NC: for each named closed binlog, its metadata (mariadb-binlog, times in UTC)
 * and a copy on the store whose sha256 is checked on both ends. One TSV line per file:
 * name size sha256 start_gtid last_gtid first_time last_time. An encrypted binlog is read
 * through the server (-R, the superuser's option file on stdin) for its metadata only; the
 * file itself is copied as it is on disk, encrypted.
 */
export function archiveBinlogsScript(s: Store, l: HostLayout, storeBinlogDir: string, files: string[], o: { viaServer: boolean; ip: string; port: number }): string {
  const parts = files.map((n) => {
    if (!BINLOG_NAME.test(n)) throw new Error(`binlog name ${n} is not a binlog name`);
    // A file mariadb-binlog cannot read (no event lines: encrypted) is read through the server.
    const viaServer = o.viaServer ? sh`if [ "$(printf '%s' "$meta" | cut -f5)" = 1 ] || [ -z "$(printf '%s' "$meta" | cut -f3)" ]; then enc=1; meta=$(TZ=UTC mariadb-binlog --defaults-extra-file="$f" --read-from-remote-server --host=${o.ip} --port=${o.port} ${n} 2>/dev/null | ` + BINLOG_META_AWK + ') || true; fi; ' : '';
    const dst = `${storeBinlogDir}/${n}`;
    return (
      sh`sz=$(stat -c %s ${n}); sha=$(openssl dgst -sha256 -r ${n} | cut -d" " -f1); enc=0; ` +
      // mariadb-binlog fails on an encrypted file: the empty listing says so (pipefail would stop here).
      sh`meta=$(TZ=UTC mariadb-binlog ${n} 2>/dev/null | ` + BINLOG_META_AWK + ') || true; ' +
      viaServer +
      // the encrypted flag is $enc, not the listing's fifth field
      'meta=$(printf \'%s\' "$meta" | cut -f1-4); ' +
      `got=$(${ncToStore(s, sh`mkdir -p ${storeBinlogDir} && cat > ${dst + '.tmp'} && openssl dgst -sha256 -r ${dst + '.tmp'} | cut -d" " -f1 && mv -f ${dst + '.tmp'} ${dst}`)} < ${shq(n)}); ` +
      sh`if [ "$got" != "$sha" ]; then echo ${n}": sha256 on the store ($got) differs from the NC's ($sha)" >&2; exit 1; fi; ` +
      sh`printf '%s\\t%s\\t%s\\t%s\\t%s\\n' ${n} "$sz" "$sha" "$meta" "$enc"; `
    );
  });
  return bash(sh`exec 8>>${l.dbsDir + '/.archive.lock'}; flock -w 600 8; cd ${l.dbsDir}; ` + OPTION_FILE + parts.join(''));
}

/**
 * On the clone's master NC: pull the archived binlogs from the store into a scratch dir, then
 * apply them with mariadb-binlog | mariadb as the superuser (option file on stdin), from the
 * set's GTID position up to the stop time (exclusive: events stamped at or after it are not
 * applied). Per file, so that each file starts where the one before ended.
 */
export function replayBinlogsScript(s: Store, l: HostLayout, storeBinlogDir: string, files: Array<{ name: string; startPos: string | null }>, stopDatetimeUtc: string | null): string {
  const scratch = `${l.backupDir}/replay`;
  const stop = stopDatetimeUtc ? sh` --stop-datetime=${stopDatetimeUtc}` : '';
  const pulls = files.map((f) => {
    if (!BINLOG_NAME.test(f.name)) throw new Error(`binlog name ${f.name} is not a binlog name`);
    return `${ncToStore(s, sh`cat ${storeBinlogDir + '/' + f.name}`)} > ${shq(`${scratch}/${f.name}`)}; `;
  });
  const applies = files.map(
    (f) => 'TZ=UTC mariadb-binlog' + (f.startPos ? sh` --start-position=${f.startPos}` : '') + stop + sh` ${`${scratch}/${f.name}`} | mariadb --defaults-extra-file="$f" --socket=${l.socket} --binary-mode; n=$((n+1)); `,
  );
  return bash(
    sh`exec 9>>${workLock(l)}; flock -w 600 9; ` + OPTION_FILE + sh`rm -rf ${scratch}; mkdir -p ${scratch}; chmod 700 ${scratch}; n=0; ` + pulls.join('') + applies.join('') + sh`rm -rf ${scratch}; echo "applied $n binlogs"`,
  );
}

/** The table mariadbd needs before it serves a dump from a GTID position. */
const GTID_SLAVE_POS_DDL =
  'SET sql_log_bin = 0; CREATE TABLE IF NOT EXISTS mysql.gtid_slave_pos (domain_id INT UNSIGNED NOT NULL, sub_id BIGINT UNSIGNED NOT NULL, server_id INT UNSIGNED NOT NULL, seq_no BIGINT UNSIGNED NOT NULL, PRIMARY KEY (domain_id, sub_id)) ENGINE=InnoDB';

/**
 * On the clone's master NC, for encrypted archived binlogs (mariadb-binlog cannot decrypt a
 * file): the files are pulled from the store as they are (encrypted) into a 0700 scratch dir of
 * the mysqld user (under the instance's dbs directory), and
 * a throwaway mariadbd of this NC's mysqld user serves them: no network (a socket under the
 * scratch dir), no grant tables, an empty datadir, the binlogs as its own (an index listing them),
 * and the instance's key file (carried from the source before). mariadb-binlog reads them from it
 * decrypted (--read-from-remote-server, from the GTID position, across the files, up to the stop
 * time) straight into the clone's server: nothing is written to disk in clear. The helper server
 * is stopped and the scratch dir removed on every exit.
 */
export function replayEncryptedBinlogsScript(s: Store, l: HostLayout, storeBinlogDir: string, files: string[], startGtid: string | null, stopDatetimeUtc: string | null, keyFile: string): string {
  if (!files.length) throw new Error('replayEncryptedBinlogsScript: no files');
  for (const n of files) if (!BINLOG_NAME.test(n)) throw new Error(`binlog name ${n} is not a binlog name`);
  const base = files[0]!.replace(/\.[0-9]+$/, '');
  if (files.some((n) => n.replace(/\.[0-9]+$/, '') !== base)) throw new Error('replayEncryptedBinlogsScript: files of more than one binlog base name');
  if (startGtid !== null && !/^[0-9]+-[0-9]+-[0-9]+(,[0-9]+-[0-9]+-[0-9]+)*$/.test(startGtid)) throw new Error(`GTID position ${startGtid} is not a GTID list`);
  // Under the instance's dbs directory, which the mysqld user can reach (the backup dir is root's, 0700).
  const scratch = `${l.dbsDir}/replay-reader`;
  const b = `${scratch}/b`;
  const sock = `${scratch}/s.sock`;
  const pulls = files.map((n) => `${ncToStore(s, sh`cat ${storeBinlogDir + '/' + n}`)} > ${shq(`${b}/${n}`)}; `);
  const index = sh`printf '%s\n' ${files.map((n) => `${b}/${n}`)} > ${`${b}/${base}.index`}; `;
  const server =
    sh`mariadbd --no-defaults --user="$u" --datadir=${scratch + '/d'} --socket=${sock} --skip-networking --skip-grant-tables --skip-slave-start ` +
    sh`--log-bin=${b + '/' + base} --server-id=4294967290 --plugin-load-add=file_key_management --file-key-management-filename=${keyFile} --file-key-management-encryption-algorithm=AES_CTR --encrypt-binlog=ON ` +
    sh`--innodb-log-file-size=4M --innodb-buffer-pool-size=8M --pid-file=${scratch + '/pid'} --log-error=${scratch + '/err'} > ${scratch + '/start.out'} 2>&1 & p=$!; `;
  const start = startGtid ? sh` --start-position=${startGtid}` : '';
  const stop = stopDatetimeUtc ? sh` --stop-datetime=${stopDatetimeUtc}` : '';
  return bash(
    sh`exec 9>>${workLock(l)}; flock -w 600 9; ` +
      OPTION_FILE +
      sh`u=$(stat -c %U ${l.dbsDir}); test -s ${keyFile} || { echo "no key file at "${keyFile} >&2; exit 1; }; ` +
      sh`rm -rf ${scratch}; mkdir -p ${b} ${scratch + '/d/mysql'}; chmod 700 ${scratch}; p=""; ` +
      `trap ${shq(sh`if [ -n "$p" ]; then kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi; rm -rf ${scratch} "$f"`)} EXIT; ` +
      pulls.join('') +
      index +
      sh`chown -R "$u": ${scratch}; ` +
      server +
      sh`i=0; until mariadb-admin --no-defaults --socket=${sock} --user=root ping > /dev/null 2>&1; do i=$((i+1)); if [ $i -gt 600 ] || ! kill -0 "$p" 2>/dev/null; then echo "the binlog reader server did not start:" >&2; tail -n 5 ${scratch + '/start.out'} ${scratch + '/err'} >&2 || true; exit 1; fi; sleep 0.1; done; ` +
      sh`mariadb --no-defaults --socket=${sock} --user=root -e ${GTID_SLAVE_POS_DDL}; ` +
      sh`TZ=UTC mariadb-binlog --no-defaults --read-from-remote-server --socket=${sock} --user=root --to-last-log` +
      start +
      stop +
      sh` ${files[0]!} | mariadb --defaults-extra-file="$f" --socket=${l.socket} --binary-mode; ` +
      `echo "applied ${files.length} encrypted binlogs through a local reader with the instance's key"`,
  );
}
