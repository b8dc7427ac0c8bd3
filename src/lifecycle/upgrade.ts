import { ConflictError, NotFoundError, UnhealthyError, UsageError } from '../core/errors.js';
import { withSu } from '../flow/install/context.js';
import { doBuildMysqlParams } from '../flow/install/host-setup.js';
import type { FlowDef, FlowEnv, StepDef } from '../flow/types.js';
import { loadHaCtx, haNodesOf } from '../ha/context.js';
import { recordEvent } from '../ha/records.js';
import { compareVersions } from '../rds/catalog.js';
import { setMinorVersion } from '../rds/custins.js';
import type { Node } from '../rds/layout.js';
import type { Db } from '../remote/mysql.js';
import { RESTART_STEPS, type PowerCtx } from './power.js';
import { onBase } from './resize.js';

// `instance upgrade NAME --minor-version V`: a flow on the task engine, rolling as the restart
// flow is (standby first, switchover, old master), with the seed's do_ensure_minor_version /
// do_update_minor_version_in_metadb around it.
//
// The lab has one MariaDB installed; the "minor versions" are labels over it. The label is the
// server's version string: the `version` option (mariadbd takes `version = …` from my.cnf and
// reports it as @@version and in the handshake) set to "<the binary's own version>-rds<minor>",
// kept in mycnf_custinstance like every other option, so my.cnf renders it on both NCs and a
// rebuilt or migrated standby gets it too. The numeric prefix stays the binary's: mariadb-backup
// and clients read it. The mechanics are those of a real minor upgrade (a new binary needs a
// restart of each server): the version is checked on both NCs' binaries, my.cnf rewritten, the
// servers restarted one at a time, and each must report the new label before the metadb follows.

export const UPGRADE_FLOW_NAME = 'upgrade';
const MINOR_RE = /^\d+\.\d+\.\d+$/;

export interface UpgradeParams {
  minor_from: string | null;
  minor_to: string;
  allow_downgrade: boolean;
}

export interface UpgradeCtx extends PowerCtx {
  up: UpgradeParams;
}

type Step = StepDef<UpgradeCtx, Node>;

export function parseUpgradeParams(p: Record<string, unknown>): UpgradeParams {
  const u = (p.upgrade ?? null) as Record<string, unknown> | null;
  if (!u || typeof u !== 'object') throw new UsageError('task parameter upgrade: an object');
  if (typeof u.minor_to !== 'string' || !MINOR_RE.test(u.minor_to)) throw new UsageError('task parameter upgrade.minor_to: a minor version x.y.z');
  if (u.minor_from !== null && (typeof u.minor_from !== 'string' || !MINOR_RE.test(u.minor_from))) throw new UsageError('task parameter upgrade.minor_from: a minor version x.y.z or null');
  return { minor_from: u.minor_from as string | null, minor_to: u.minor_to, allow_downgrade: u.allow_downgrade === true };
}

/** The server's version string for a minor version label over the binary's own version. */
export function versionLabel(binaryVersion: string, minor: string): string {
  const base = binaryVersion.replace(/-rds\d+\.\d+\.\d+$/, '');
  return `${base}-rds${minor}`;
}

/** The binary's own version, from `mariadbd --version` ("mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for …"). */
export function binaryVersion(out: string): string | null {
  const m = /Ver\s+(\S+)/.exec(out);
  return m && /^\d+\.\d+\.\d+[A-Za-z0-9.+~_-]*$/.test(m[1]!) ? m[1]! : null;
}

/**
 * Whether `to` may replace `from` for an instance of `series` (its engine_version.version), the
 * catalogue offering `newest` of that series: the same series, not newer than offered, a change,
 * and no downgrade unless allowed. The reason when not, or null. Pure.
 */
export function upgradeRefusal(series: string, newest: string, from: string | null, to: string, allowDowngrade: boolean): string | null {
  if (!MINOR_RE.test(to)) return `--minor-version ${to}: not x.y.z`;
  if (!to.startsWith(`${series}.`)) return `--minor-version ${to} is not a ${series} version`;
  if (compareVersions(to, newest) > 0) return `--minor-version ${to} is newer than the newest ${series} offered (${newest}, dbaas.engine_version)`;
  if (from !== null && compareVersions(to, from) === 0) return `the instance runs ${from} already`;
  if (from !== null && compareVersions(to, from) < 0 && !allowDowngrade) return `--minor-version ${to} is older than ${from}: a downgrade needs --allow-downgrade`;
  return null;
}

const WHICH_SERVER = 'PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin"; b=$(command -v mariadbd || command -v mysqld) || { echo "no mariadbd or mysqld installed" >&2; exit 127; }; "$b" --version';

/** The seed's step: the version checked against the catalogue and the server binaries on both NCs; the label is its result. */
const doEnsureMinorVersion: Step = {
  name: 'do_ensure_minor_version',
  role: 'both',
  timeoutSec: 30,
  effect: 'check',
  async run(c, nodes, s) {
    const b = c.base;
    const [ev] = await b.db.query<{ minor_version: string }>('SELECT minor_version FROM engine_version WHERE engine = ? AND version = ?', [b.custins.engine, b.custins.version]);
    if (!ev) throw new NotFoundError(`${b.custins.engine} ${b.custins.version} is not in dbaas.engine_version`);
    const why = upgradeRefusal(b.custins.version, ev.minor_version, c.up.minor_from, c.up.minor_to, c.up.allow_downgrade);
    if (why) throw new ConflictError(`${b.custins.ins_name}: ${why}`);
    const versions = await Promise.all(nodes.map(async (n) => ({ n, v: binaryVersion(await b.remote(n, WHICH_SERVER, s)) })));
    const missing = versions.find((x) => x.v === null);
    if (missing) throw new UnhealthyError(`${missing.n.host}: cannot read the server binary's version`);
    const distinct = [...new Set(versions.map((x) => x.v!))];
    if (distinct.length !== 1) throw new UnhealthyError(`${b.custins.ins_name}: the NCs have different server binaries (${versions.map((x) => `${x.n.host} ${x.v}`).join(', ')})`);
    const label = versionLabel(distinct[0]!, c.up.minor_to);
    return { detail: `minor ${c.up.minor_from ?? '-'} -> ${c.up.minor_to}; server binaries ${distinct[0]} on ${nodes.map((n) => n.host).join(', ')}; version label ${label}`, result: { minor_version: c.up.minor_to, label } };
  },
};

const labelOf = (c: UpgradeCtx): string => {
  const r = c.base.base.result<{ label?: string }>('do_ensure_minor_version');
  if (!r?.label) throw new ConflictError('no version label chosen yet: run do_ensure_minor_version first');
  return r.label;
};

/** The label as the `version` option in mycnf_custinstance (the seed's name for the step that writes parameter rows). */
const doBuildParams: Step = {
  name: 'do_build_params',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const label = labelOf(c);
    await c.base.tx((tx) => tx.execute("INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES (?, 'version', ?, 'task') ON DUPLICATE KEY UPDATE value = VALUES(value), source = 'task'", [c.base.custins.id, label]));
    return `version = ${label}`;
  },
};

const doCheckMinorVersion: Step = {
  name: 'do_check_minor_version',
  role: 'both',
  timeoutSec: 60,
  effect: 'check',
  async run(c) {
    const label = labelOf(c);
    const seen: string[] = [];
    for (const n of [c.from, c.to]) {
      const v = String((await withSu(c.base, n, (su) => su.query<{ v: string }>('SELECT @@GLOBAL.version AS v')))[0]?.v ?? '');
      if (v !== label) throw new UnhealthyError(`${n.host} reports version ${v}, not ${label}`);
      seen.push(n.host);
    }
    return `${seen.join(', ')} report ${label}`;
  },
};

const doUpdateMinorVersionInMetadb: Step = {
  name: 'do_update_minor_version_in_metadb',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    await c.base.tx((tx) => setMinorVersion(tx, c.base.custins.id, c.up.minor_to));
    return `custins ${c.base.custins.ins_name}: minor_version ${c.up.minor_to}`;
  },
};

export const UPGRADE_STEPS: Step[] = [doEnsureMinorVersion, doBuildParams, onBase(doBuildMysqlParams), ...RESTART_STEPS, doCheckMinorVersion, doUpdateMinorVersionInMetadb];

async function loadUpgradeCtx(env: FlowEnv): Promise<UpgradeCtx> {
  return { ...(await loadHaCtx(env)), power: { scope: 'both', switchover: true }, up: parseUpgradeParams(env.task.params) };
}

export const upgradeFlow: FlowDef<UpgradeCtx, Node> = {
  name: UPGRADE_FLOW_NAME,
  version: 1,
  targetKind: 'instance',
  roles: ['master', 'slave', 'both', 'metadb'],
  steps: UPGRADE_STEPS,
  validateParams: (p) => void parseUpgradeParams(p),
  load: loadUpgradeCtx,
  nodesOf: haNodesOf,
  hostName: (n) => n.host,
  async onDone(c, tx) {
    await recordEvent(tx, { custinsId: c.base.custins.id, kind: 'switchover', oldMaster: c.from.instanceId, newMaster: c.to.instanceId, taskId: c.base.task.id, actor: c.params.requested_by ?? c.base.task.created_by ?? null, detail: `rolling restart of minor upgrade ${c.up.minor_from ?? '-'} -> ${c.up.minor_to}: ${c.from.host} -> ${c.to.host}` });
  },
  // A cancelled upgrade puts the version row back as it was (none, or the old label), unless it had
  // reached its last step; servers already restarted with the new label keep it until restarted.
  async onCancel(tx: Db, task) {
    if (task.custins_id === null) return;
    let up: UpgradeParams;
    try {
      up = parseUpgradeParams(task.params);
    } catch {
      return;
    }
    const [ci] = await tx.query<{ minor_version: string | null }>('SELECT minor_version FROM custins WHERE id = ?', [task.custins_id]);
    if (ci?.minor_version === up.minor_to) return;
    const row = (await tx.query<{ value: string }>("SELECT value FROM mycnf_custinstance WHERE custins_id = ? AND name = 'version'", [task.custins_id]))[0];
    if (row && up.minor_from !== null) await tx.execute("UPDATE mycnf_custinstance SET value = ? WHERE custins_id = ? AND name = 'version'", [versionLabel(row.value, up.minor_from), task.custins_id]);
  },
};
