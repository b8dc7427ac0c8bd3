import { ConflictError, RemoteError, UnhealthyError } from '../core/errors.js';
import { loadInstallCtx, nodesOf, pollUntil, withSu, type InstallCtx } from '../flow/install/context.js';
import { writeMyCnf } from '../flow/install/host-setup.js';
import { bindPairAccounts } from '../flow/install/accounts.js';
import type { FlowDef, StepDef } from '../flow/types.js';
import { REPLICATOR, SUPERUSER, secretOf } from '../rds/accounts.js';
import { aliveTest, makeDirsScript, script, startScript, stopBody } from '../rds/host-ops.js';
import { toNode, type Node } from '../rds/layout.js';
import { sh } from '../remote/quote.js';
import { sshPipe } from '../remote/ssh-pipe.js';
import { recordEvent } from './records.js';
import { replicateFrom, replicating, serverState } from './server.js';
import { replicationTlsParams } from '../rds/instance-tls.js';

// `instance rebuild-standby`: a new standby from a streamed mariadb-backup of the master, after a
// failover (the old master, marked for rebuild) or when a standby's data is lost. Optionally on
// another NC (--nc). The stream goes master NC -> standby NC through two ssh sessions joined by a
// pipe on the jump host (the lab's NCs hold no key of each other): nothing is stored here.
// The standby's GTID position comes from the backup (xtrabackup_binlog_info); its binlog state is
// reset to that position, so the master can later replicate from it (switchover) from there.

export const REBUILD_FLOW_NAME = 'rebuild_standby';

type Step = StepDef<InstallCtx, Node>;

const BACKUP_BIN = 'b=$(command -v mariadb-backup || command -v mariabackup) || { echo "mariadb-backup is not installed" >&2; exit 127; }; ';

function targetNc(c: InstallCtx): string | null {
  const v = c.task.params.nc;
  return typeof v === 'string' && /^[A-Za-z0-9_.-]{1,128}$/.test(v) ? v : null;
}

const doCheckRebuildSource: Step = {
  name: 'do_check_rebuild_source',
  role: 'master',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    const st = await withSu(c, c.master, serverState);
    if (st.readOnly) throw new UnhealthyError(`the master ${c.master.host} is read-only: rebuild a standby only from a writable master`);
    return `${c.master.host} writable at ${st.gtidBinlogPos || '-'}`;
  },
};

const doStopOldStandby: Step = {
  name: 'do_stop_old_standby',
  role: 'slave',
  timeoutSec: 90,
  effect: 'remote',
  plan: (n) => [`on ${n.host}: ${script(stopBody(n.layout))}`],
  probe: async () => false,
  async run(c, [n], s) {
    const r = await c.ssh.exec(n!.target, script(stopBody(n!.layout)), { signal: s.signal, timeoutSec: 60 });
    if (r.exitCode === 0) return `${n!.host}: ${r.stdout.trim()}`;
    const nc = targetNc(c);
    if (nc && nc !== n!.host) return `${n!.host} unreachable (${r.error ?? r.category}); the standby moves to ${nc}`;
    throw new RemoteError(`${n!.host}: cannot stop the old standby (${r.error ?? r.stderr.trim() ?? r.category}); give --nc to rebuild it elsewhere`, { host: n!.host });
  },
};

const doMoveStandbyToNc: Step = {
  name: 'do_move_standby_to_nc',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  skipRule: 'applies with --nc naming another NC',
  skip: (c) => (targetNc(c) && targetNc(c) !== c.slave.host ? null : 'the standby is rebuilt on its own NC'),
  async run(c) {
    const nc = targetNc(c)!;
    await c.tx(async (tx) => {
      const h = (await tx.query<{ id: number; ip: string; status: string }>('SELECT id, ip, status FROM hostinfo WHERE hostname = ? FOR UPDATE', [nc]))[0];
      if (!h || h.status !== 'online') throw new ConflictError(`--nc ${nc}: not an online RDS host in dbaas.hostinfo`);
      if (nc === c.master.host) throw new ConflictError(`--nc ${nc} is the master's NC: master and standby must be on different hosts`);
      await tx.execute('UPDATE instance SET hostinfo_id = ?, host_name = ?, ip = ? WHERE id = ?', [h.id, nc, h.ip, c.slave.instanceId]);
    });
    const row = (await c.db.query<{ id: number; role: 'master' | 'slave'; hostinfo_id: number; host_name: string; ip: string; port: number; ssh_port: number }>('SELECT i.id, i.role, i.hostinfo_id, i.host_name, i.ip, i.port, h.ssh_port FROM instance i JOIN hostinfo h ON h.id = i.hostinfo_id WHERE i.id = ?', [c.slave.instanceId]))[0]!;
    c.slave = toNode(row);
    return `standby instance ${row.id} now on ${nc} (${row.ip}:${row.port})`;
  },
};

const doPrepareStandbyDatadir: Step = {
  name: 'do_prepare_standby_datadir',
  role: 'slave',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n) => [`${makeDirsScript(n.layout, n.host)}; then with no mysqld of this instance running: empty ${n.layout.dataDir}, remove its binlogs and relay logs`],
  probe: async () => false,
  async run(c, [n], s) {
    const l = n!.layout;
    await c.remote(n!, makeDirsScript(l, n!.host), s);
    await c.remote(
      n!,
      script(`if ${aliveTest(l)}; then echo "mysqld (pid $p) of this instance still runs on ${n!.host}" >&2; exit 1; fi; ` + sh`find ${l.dataDir} -mindepth 1 -delete; rm -f ${l.binlogBase}.* ${l.relayLogBase}.*; echo emptied`),
      s,
    );
    await writeMyCnf(c, n!, s);
    return `${n!.host}: ${l.dataDir} empty, my.cnf written (read-only standby)`;
  },
};

const doStreamBackupFromMaster: Step = {
  name: 'do_stream_backup_from_master',
  role: 'slave',
  timeoutSec: 3600,
  effect: 'remote',
  plan: (n, v) => [`on ${v.peer.host}: mariadb-backup --backup --stream=xbstream (option file from stdin) | on ${n.host}: mbstream -x -C ${n.layout.dataDir}  # two ssh sessions joined by a pipe on this host; nothing stored here`],
  probe: async () => false,
  async run(c, [n], s) {
    const m = c.master.layout;
    const pw = await secretOf(c.db, c.custins.id, SUPERUSER);
    const log = `${m.dbsDir}/rebuild-stream.log`;
    const source = script(
      'f=$(mktemp); trap \'rm -f "$f"\' EXIT; cat > "$f"; ' + BACKUP_BIN + sh`cd ${m.dataDir}; "$b" --defaults-file="$f" --backup --stream=xbstream --socket=${m.socket} --tmpdir=${m.tmpDir} 2> ${log} || { tail -n 5 ${log} >&2; exit 1; }`,
    );
    const sink = script(sh`command -v mbstream >/dev/null || { echo "mbstream is not installed" >&2; exit 127; }; mbstream -x -C ${n!.layout.dataDir}; du -sb ${n!.layout.dataDir} | cut -f1`);
    c.lease.assertHeld();
    const t0 = Date.now();
    const r = await sshPipe(c.profile, { target: c.master.target, command: source, stdin: `!include ${m.mycnf}\n[client]\nuser=${SUPERUSER}\npassword=${pw}\n` }, { target: n!.target, command: sink }, { signal: s.signal, timeoutSec: 3500 });
    return `${c.master.host} -> ${n!.host}: ${Math.round(Number(r.toOut.trim()) / 1048576)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  },
};

const doPrepareBackup: Step = {
  name: 'do_prepare_backup',
  role: 'slave',
  timeoutSec: 1800,
  effect: 'remote',
  plan: (n) => [`on ${n.host}: mariadb-backup --prepare --target-dir=${n.layout.dataDir}; chown -R to the datadir's owner`],
  probe: async () => false,
  async run(c, [n], s) {
    const l = n!.layout;
    const log = `${l.dbsDir}/rebuild-prepare.log`;
    const out = await c.remote(
      n!,
      script(BACKUP_BIN + sh`"$b" --prepare --target-dir=${l.dataDir} > ${log} 2>&1 || { tail -n 5 ${log} >&2; exit 1; }; u=$(stat -c %U ${l.dbsDir}); chown -R "$u" ${l.dataDir}; cut -f3 ${l.dataDir + '/xtrabackup_binlog_info'}`),
      s,
      { timeoutSec: 1800 },
    );
    return `${n!.host}: prepared at GTID ${out.trim() || '-'}`;
  },
};

const doStartStandby: Step = {
  name: 'do_start_standby',
  role: 'slave',
  timeoutSec: 180,
  effect: 'remote',
  plan: (n) => [startScript(n.layout)],
  probe: async (c, [n], s) => c.test(n!, aliveTest(n!.layout), s),
  async run(c, [n], s) {
    await c.remote(n!, startScript(n!.layout), s);
    await pollUntil(c, s, 200, async () => ((await c.test(n!, aliveTest(n!.layout), s)) ? true : undefined));
    await pollUntil(c, s, 200, async () => (await withSu(c, n!, (su) => su.query('SELECT 1')).then(() => true).catch(() => undefined)));
    return `${n!.host}: mysqld up`;
  },
};

const doConfigureStandbyReplication: Step = {
  name: 'do_configure_standby_replication',
  role: 'slave',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n, v) => [`SQL over TCP to ${n.ip}:${n.port}: RESET MASTER; SET GLOBAL gtid_binlog_state = gtid_slave_pos = <the backup's GTID>; CHANGE MASTER TO ${v.peer.ip}:${v.peer.port}, MASTER_USE_GTID = slave_pos; semi-sync slave on, master side off; START SLAVE`],
  probe: async (c, [n]) => replicating(await withSu(c, n!, serverState), { ip: c.master.ip, port: c.master.port }),
  async run(c, [n], s) {
    const gtid = (await c.remote(n!, sh`cut -f3 ${n!.layout.dataDir + '/xtrabackup_binlog_info'}`, s)).trim();
    if (!/^[0-9,-]*$/.test(gtid)) throw new RemoteError(`${n!.host}: xtrabackup_binlog_info has no GTID position (${gtid.slice(0, 80)})`, { host: n!.host });
    // The standby's accounts came from the master's backup, bound to the pair as it was: a standby
    // on another NC (--nc, migrate) has a new address, which the replicator and the superuser
    // must follow on both servers (issue #16: no '%').
    // A migrate keeps its old standby (its undo may start it replicating again) until
    // do_remove_old_standby: its address stays bound until then.
    const old = (c as InstallCtx & { old?: Node }).old;
    const bound = await bindPairAccounts(c, [c.master, n!], old && old.ip !== n!.ip ? [old.ip] : []);
    const pw = await secretOf(c.db, c.custins.id, REPLICATOR);
    const tlsOptions = await replicationTlsParams(c.db, c.custins.id, n!.layout);
    await withSu(c, n!, async (su) => {
      await su.query('STOP SLAVE');
      await su.query('RESET SLAVE ALL');
      await su.query('RESET MASTER');
      if (gtid) await su.query('SET GLOBAL gtid_binlog_state = ?', [gtid]);
      await su.query('SET GLOBAL gtid_slave_pos = ?', [gtid]);
      await su.query('SET GLOBAL rpl_semi_sync_master_enabled = OFF');
      await su.query('SET GLOBAL rpl_semi_sync_slave_enabled = ON');
      await replicateFrom(su, { ip: c.master.ip, port: c.master.port }, REPLICATOR, pw, 'slave_pos', tlsOptions);
    });
    await pollUntil(c, s, 200, async () => {
      const st = await withSu(c, n!, serverState);
      if (replicating(st, { ip: c.master.ip, port: c.master.port })) return true;
      if (st.replica?.sqlRunning === 'No' && st.replica.lastError) throw new UnhealthyError(`${n!.host}: ${st.replica.lastError}`);
      return undefined;
    });
    return `${n!.host} replicates from ${c.master.host} from GTID ${gtid || '-'}; accounts ${bound}`;
  },
};

const doEnableSemisyncOnMaster: Step = {
  name: 'do_enable_semisync_on_master',
  role: 'master',
  timeoutSec: 30,
  effect: 'remote',
  plan: (n) => [`SQL over TCP to ${n.ip}:${n.port}: SET GLOBAL rpl_semi_sync_master_enabled = ON (its standby is back)`],
  probe: async (c, [n]) => (await withSu(c, n!, serverState)).semisync.masterEnabled,
  async run(c, [n]) {
    await withSu(c, n!, (su) => su.query('SET GLOBAL rpl_semi_sync_master_enabled = ON'));
    return `${n!.host}: semi-sync master side on`;
  },
};

const doMarkStandbyRebuilt: Step = {
  name: 'do_mark_standby_rebuilt',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.tx(async (tx) => {
      await tx.execute("UPDATE instance SET status = 'running' WHERE id = ?", [c.slave.instanceId]);
      await tx.execute('UPDATE aurora_ha SET rebuild_instance_id = NULL, slave_instance_id = ? WHERE custins_id = ?', [c.slave.instanceId, c.custins.id]);
      await tx.execute('UPDATE maxscale_link SET ip = ?, port = ? WHERE custins_id = ? AND instance_id = ?', [c.slave.ip, c.slave.port, c.custins.id, c.slave.instanceId]);
    });
    return `instance ${c.slave.instanceId} on ${c.slave.host} is the standby again`;
  },
};

export const REBUILD_STEPS: Step[] = [
  doCheckRebuildSource,
  doStopOldStandby,
  doMoveStandbyToNc,
  doPrepareStandbyDatadir,
  doStreamBackupFromMaster,
  doPrepareBackup,
  doStartStandby,
  doConfigureStandbyReplication,
  doEnableSemisyncOnMaster,
  doMarkStandbyRebuilt,
];

export const rebuildFlow: FlowDef<InstallCtx, Node> = {
  name: REBUILD_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'metadb'],
  steps: REBUILD_STEPS,
  load: loadInstallCtx,
  nodesOf,
  hostName: (n) => n.host,
  async onDone(c, tx) {
    await recordEvent(tx, { custinsId: c.custins.id, kind: 'rebuild', oldMaster: c.master.instanceId, newMaster: c.master.instanceId, taskId: c.task.id, actor: c.task.created_by ?? null, detail: `standby instance ${c.slave.instanceId} rebuilt on ${c.slave.host} from ${c.master.host}` });
  },
  async onFail(c, tx, error) {
    await recordEvent(tx, { custinsId: c.custins.id, kind: 'alert', taskId: c.task.id, detail: `rebuild failed: ${error}` });
  },
};
