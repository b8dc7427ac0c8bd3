import os from 'node:os';
import type { Context } from '../core/context.js';
import { describeError } from '../core/errors.js';
import { CLAIMABLE, claimAndRun } from '../flow/runner.js';
import { newOwner } from '../flow/lease.js';
import type { Db } from '../remote/mysql.js';
import { aliveTest } from '../rds/host-ops.js';
import type { Node } from '../rds/layout.js';
import { FAILOVER_FLOW_NAME } from './flows.js';
import { enqueueHaTask, failoverPrecheck, haSession, loadPair, probeServer, type Pair } from './operate.js';
import { recordEvent } from './records.js';
import { KEEP_USERS as FENCE_KEEP_USERS } from './steps.js';
import { execWithin, killClientSessions, receiveMark, serverState, setReadOnly } from './server.js';

// `ha watch`, the seed's aurora: watches every running instance of the profile. A master is
// declared dead only when two vantage points agree: direct probes have failed for a whole window
// (never one missed probe), and the standby's IO thread has lost it or its NC says mariadbd is not
// running (or does not answer either). Then the failover flow runs. Several watchers share the
// fleet through per-instance leases in dbaas.ha_watch_lease: exactly one acts for an instance;
// when a watcher dies its leases expire and another takes them over.
//
// The watcher never prints: it returns events to the command through onEvent.

export interface WatchOptions {
  intervalMs: number;
  /** Direct probes must fail for this long (and at least 3 times) before the second vantage point is asked. */
  windowMs: number;
  leaseTtlMs: number;
  probeTimeoutMs: number;
  quietSec: number;
  /** Stop after this many rounds (tests, --once); null: until the signal. */
  rounds: number | null;
  /** Act (run failovers) or only report. */
  act: boolean;
}

export interface WatchEvent {
  ins_name: string;
  kind: 'acquired' | 'lost' | 'suspect' | 'recovered' | 'dead' | 'failover' | 'failover_failed' | 'no_failover' | 'fenced';
  detail: string;
}

interface Tracked {
  failures: number;
  firstFailure: number | null;
  failing: Promise<void> | null;
  lastSampleWrite: number;
  /** The standby's receive mark at the first failed probe (see receiveMark). */
  standbyMark: string | null;
  /** A revived old master (marked for rebuild) being fenced. */
  fencing: boolean;
}

export class Watcher {
  readonly owner = newOwner();
  private readonly tracked = new Map<number, Tracked>();
  private readonly db: Db;

  constructor(
    private readonly ctx: Context,
    private readonly o: WatchOptions,
    private readonly onEvent: (e: WatchEvent) => void,
  ) {
    this.db = ctx.db('dbaas');
  }

  async run(signal: AbortSignal): Promise<number> {
    const started = new Date();
    let round = 0;
    try {
      while (!signal.aborted && (this.o.rounds === null || round < this.o.rounds)) {
        const t0 = Date.now();
        const ids = await this.round(started);
        round++;
        if (this.o.rounds !== null && round >= this.o.rounds) break;
        await sleep(Math.max(0, this.o.intervalMs - (Date.now() - t0)), signal);
        void ids;
      }
    } finally {
      await Promise.all([...this.tracked.values()].map((t) => t.failing).filter(Boolean));
      await this.db.execute('DELETE FROM ha_watcher WHERE owner = ?', [this.owner]).catch(() => undefined);
      await this.db.execute('UPDATE ha_watch_lease SET expires_at = NOW(3) WHERE owner = ?', [this.owner]).catch(() => undefined);
    }
    return round;
  }

  /** One round: heartbeat, leases, a probe of every held instance. Returns the held custins ids. */
  async round(started: Date): Promise<number[]> {
    const instances = await this.db.query<{ id: number; ins_name: string }>(
      "SELECT c.id, c.ins_name FROM custins c JOIN aurora_ha a ON a.custins_id = c.id WHERE c.status = 'running' AND a.status = 'enabled' ORDER BY c.id",
    );
    const held: Array<{ id: number; ins_name: string }> = [];
    for (const i of instances) if (await this.lease(i.id)) held.push(i);
    await this.db.execute(
      'INSERT INTO ha_watcher (owner, host, pid, gmt_started, heartbeat_at, instances) VALUES (?, ?, ?, ?, NOW(3), ?) ON DUPLICATE KEY UPDATE heartbeat_at = NOW(3), instances = VALUES(instances)',
      [this.owner, os.hostname().slice(0, 128), process.pid, started, held.length],
    );
    for (const id of [...this.tracked.keys()]) {
      if (!held.some((h) => h.id === id) && !this.tracked.get(id)!.failing) {
        this.tracked.delete(id);
        this.onEvent({ ins_name: instances.find((i) => i.id === id)?.ins_name ?? String(id), kind: 'lost', detail: 'another watcher holds it now' });
      }
    }
    await Promise.all(held.map((i) => this.watchOne(i.id, i.ins_name)));
    return held.map((h) => h.id);
  }

  /** Take or renew the instance's watch lease; true when this watcher holds it. */
  private async lease(custinsId: number): Promise<boolean> {
    const ttl = this.o.leaseTtlMs * 1000;
    const ins = await this.db.execute('INSERT IGNORE INTO ha_watch_lease (custins_id, owner, expires_at, fencing_token) VALUES (?, ?, NOW(3) + INTERVAL ? MICROSECOND, 1)', [custinsId, this.owner, ttl]);
    if (ins.affectedRows === 1) return true;
    const r = await this.db.execute(
      'UPDATE ha_watch_lease SET fencing_token = fencing_token + IF(owner = ?, 0, 1), owner = ?, expires_at = NOW(3) + INTERVAL ? MICROSECOND WHERE custins_id = ? AND (owner = ? OR expires_at < NOW(3))',
      [this.owner, this.owner, ttl, custinsId, this.owner],
    );
    return r.affectedRows === 1;
  }

  private async watchOne(custinsId: number, insName: string): Promise<void> {
    let t = this.tracked.get(custinsId);
    if (!t) {
      t = { failures: 0, firstFailure: null, failing: null, lastSampleWrite: 0, standbyMark: null, fencing: false };
      this.tracked.set(custinsId, t);
      this.onEvent({ ins_name: insName, kind: 'acquired', detail: `watching as ${this.owner}` });
    }
    if (t.failing) return;
    let p: Pair;
    try {
      p = await loadPair(this.ctx, String(custinsId));
    } catch {
      return; // not running any more, or its pair is incomplete: nothing to watch
    }
    const m = await probeServer(this.ctx, p, p.master, this.o.probeTimeoutMs);
    if (!(m instanceof Error)) {
      if (t.failures) this.onEvent({ ins_name: insName, kind: 'recovered', detail: `${p.master.host} answers again after ${t.failures} failed probes` });
      t.failures = 0;
      t.firstFailure = null;
      t.standbyMark = null;
      if (!t.fencing) {
        t.fencing = true;
        void this.fenceRevived(p, insName).finally(() => (t!.fencing = false));
      }
      // The lossless-promotion evidence for a later failover: semi-sync in effect on the master.
      const on = m.semisync.masterActive && m.semisync.clients > 0 ? 1 : 0;
      await this.db.execute('UPDATE aurora_ha SET last_semisync_on = ?, last_sample_at = NOW(3) WHERE custins_id = ?', [on, custinsId]);
      return;
    }
    t.failures++;
    t.firstFailure ??= Date.now();
    if (t.failures === 1) {
      this.onEvent({ ins_name: insName, kind: 'suspect', detail: `${p.master.host} ${p.master.ip}:${p.master.port}: ${m.message}` });
      t.standbyMark = await this.standbyMark(p);
    }
    if (t.failures < 3 || Date.now() - t.firstFailure < this.o.windowMs) return;
    const second = await this.secondOpinion(p, t.standbyMark, Date.now() - t.firstFailure);
    if (!second.dead) {
      this.onEvent({ ins_name: insName, kind: 'suspect', detail: `direct probes fail for ${Date.now() - t.firstFailure} ms but ${second.why}: not declared dead` });
      return;
    }
    this.onEvent({ ins_name: insName, kind: 'dead', detail: `${p.master.host}: ${t.failures} direct probes failed over ${Date.now() - t.firstFailure} ms; ${second.why}` });
    if (!this.o.act) return;
    t.failing = this.failover(p, `${t.failures} direct probes failed over ${Date.now() - t.firstFailure} ms; ${second.why}`).finally(() => {
      t!.failing = null;
      t!.failures = 0;
      t!.firstFailure = null;
    });
  }

  private async standbyMark(p: Pair): Promise<string | null> {
    try {
      const su = await haSession(this.db, p.custins.id, p.slave, this.o.probeTimeoutMs);
      try {
        const r = await receiveMark(su);
        return r.masterHost === p.master.ip && r.io === 'Yes' ? r.mark : null;
      } finally {
        await su.close();
      }
    } catch {
      return null;
    }
  }

  /**
   * The second vantage point: the standby's IO thread, then the master's NC over SSH. An IO thread
   * that still runs counts as "alive" only if it received something (an event or a heartbeat, one
   * a second) since the direct probes began to fail; a frozen or cut-off master leaves it running
   * but silent until slave_net_timeout, and then the NC decides.
   */
  private async secondOpinion(p: Pair, markBefore: string | null, failingMs: number): Promise<{ dead: boolean; why: string }> {
    const s = await probeServer(this.ctx, p, p.slave, this.o.probeTimeoutMs);
    let silent = '';
    if (!(s instanceof Error) && s.replica && s.replica.masterHost === p.master.ip) {
      if (s.replica.ioRunning !== 'Yes') return { dead: true, why: `the standby ${p.slave.host} lost it too (IO thread ${s.replica.ioRunning})` };
      const now = await this.standbyMark(p);
      if (markBefore === null || now === null || now !== markBefore) return { dead: false, why: `the standby ${p.slave.host} still receives from it (IO thread running)` };
      silent = `the standby's IO thread runs but received nothing for ${failingMs} ms; `;
    }
    const nc = await ncSays(this.ctx, p.master);
    if (nc === 'alive') return { dead: false, why: `${silent}its NC ${p.master.host} says mariadbd runs` };
    return { dead: true, why: silent + (nc === 'stopped' ? `its NC ${p.master.host} says mariadbd is not running` : `its NC ${p.master.host} does not answer over SSH either`) };
  }

  /**
   * An old master marked for rebuild that answers again writable (its NC was frozen or cut off
   * during the failover, so the fence could not reach it) is fenced now: read-only, client
   * sessions ended. The route already leads away from it; this keeps "never two writable servers".
   */
  private async fenceRevived(p: Pair, insName: string): Promise<void> {
    const reb = (await this.db.query<{ r: number | null }>('SELECT rebuild_instance_id AS r FROM aurora_ha WHERE custins_id = ?', [p.custins.id]).catch(() => []))[0]?.r;
    if (!reb || Number(reb) !== p.slave.instanceId) return;
    try {
      const su = await haSession(this.db, p.custins.id, p.slave, this.o.probeTimeoutMs);
      try {
        if (!(await serverState(su)).readOnly) {
          await setReadOnly(su, true);
          const killed = await killClientSessions(su, FENCE_KEEP_USERS);
          const detail = `${p.slave.host} (instance ${p.slave.instanceId}, marked for rebuild) answered writable: read-only, ${killed} client sessions ended`;
          await recordEvent(this.db, { custinsId: p.custins.id, kind: 'fence', oldMaster: p.slave.instanceId, actor: this.owner, detail });
          this.onEvent({ ins_name: insName, kind: 'fenced', detail });
        }
      } finally {
        await su.close();
      }
    } catch {
      // down or unreachable: nothing to fence
    }
  }

  private async failover(p: Pair, cause: string): Promise<void> {
    const db = this.db;
    const quiet = (await db.query<{ q: number }>('SELECT quiet_until > NOW(3) AS q FROM aurora_ha WHERE custins_id = ?', [p.custins.id]))[0]?.q;
    const reb = (await db.query<{ r: number | null }>('SELECT rebuild_instance_id AS r FROM aurora_ha WHERE custins_id = ?', [p.custins.id]))[0]?.r;
    const last = (await db.query<{ id: number; flow: string; status: string; error: string | null }>('SELECT id, flow, status, error FROM task_queue WHERE custins_id = ? ORDER BY id DESC LIMIT 1', [p.custins.id]))[0];
    let refuse: string | null = null;
    if (String(quiet) === '1') refuse = 'within the quiet period after the last failover';
    else if (reb) refuse = `the standby is instance ${reb}, marked for rebuild: the pair has no standby to promote`;
    else if (last && last.flow === FAILOVER_FLOW_NAME && last.status === 'failed') refuse = `the last automatic failover (task ${last.id}) failed: ${last.error ?? ''}; an operator must act`;
    if (refuse) {
      this.onEvent({ ins_name: p.custins.ins_name, kind: 'no_failover', detail: refuse });
      await recordEvent(db, { custinsId: p.custins.id, kind: 'alert', oldMaster: p.master.instanceId, actor: this.owner, detail: `master dead (${cause}); no automatic failover: ${refuse}` }).catch(() => undefined);
      return;
    }
    await recordEvent(db, { custinsId: p.custins.id, kind: 'master_dead', oldMaster: p.master.instanceId, actor: this.owner, detail: cause });
    const audit = this.ctx.audit();
    const intent = { command: 'ha watch failover', targets: [p.custins.ins_name, p.master.host, p.slave.host], reason: `master dead: ${cause}`, detail: { watcher: this.owner } };
    const id = await audit.intent(intent);
    try {
      await failoverPrecheck(this.ctx, p);
      const taskId = await enqueueHaTask(db, p, 'failover', { createdBy: `ha-watch:${this.ctx.osUser}`, reason: null, cause, quietSec: this.o.quietSec });
      const { result } = await claimAndRun(this.ctx, taskId, { allow: CLAIMABLE.resume, mode: { kind: 'resume' }, ttlSec: 30 });
      const ok = !result.failed;
      await audit.result(id, { ok, exitCode: result.failed?.exitCode ?? 0, detail: { task_id: taskId, ...(result.failed ? { failed: result.failed.error } : {}) }, intent });
      this.onEvent({ ins_name: p.custins.ins_name, kind: ok ? 'failover' : 'failover_failed', detail: ok ? `task ${taskId}: ${p.slave.host} is master, route moved` : `task ${taskId} step ${result.failed!.name}: ${result.failed!.error}` });
    } catch (e) {
      const d = describeError(e);
      await audit.result(id, { ok: false, exitCode: d.exitCode, detail: { error: d.message }, intent }).catch(() => undefined);
      await recordEvent(db, { custinsId: p.custins.id, kind: 'alert', oldMaster: p.master.instanceId, actor: this.owner, detail: `failover not started: ${d.message}` }).catch(() => undefined);
      this.onEvent({ ins_name: p.custins.ins_name, kind: 'failover_failed', detail: d.message });
    }
  }
}

/** The NC over SSH, within 3 s including a fresh session (a lost NC accepts TCP and then says nothing). */
async function ncSays(ctx: Context, n: Node): Promise<'alive' | 'stopped' | 'unreachable'> {
  const r = await execWithin(await ctx.ssh(), n.target, `if ${aliveTest(n.layout)}; then echo alive; else echo stopped; fi`, 3000);
  if (r === null) return 'unreachable';
  return r.stdout.trim() === 'alive' ? 'alive' : 'stopped';
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
