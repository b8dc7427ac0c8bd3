import { ConflictError, NotFoundError, UnavailableError, UnhealthyError, UsageError } from '../../core/errors.js';
import { ensureAccount, generatePassword, maintainUsers, replicatorUser } from '../../rds/accounts.js';
import { pairSources } from './accounts.js';
import type { Node } from '../../rds/layout.js';
import { baselineParams, replaceParamRows, resolveParams, type ClassVars } from '../../rds/mycnf.js';
import { isNamedTimeZone } from '../../rds/names.js';
import { encryptionParams } from '../../backup/encryption.js';
import type { StepDef } from '../types.js';
import type { InstallCtx } from './context.js';
import { setMinorVersion } from '../../rds/custins.js';

// The metadb preparation at the head of the flow: context, minor version, parameters, the
// maintenance users and the replicator.

type Step = StepDef<InstallCtx, Node>;

export const doInit: Step = {
  name: 'do_init',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'check',
  async run(c) {
    if (c.master.hostinfoId === c.slave.hostinfoId || c.master.host === c.slave.host) throw new UnhealthyError(`master and slave are both on ${c.master.host}; they must be on different hosts`);
    const hosts = await c.db.query<{ hostname: string; status: string }>('SELECT hostname, status FROM hostinfo WHERE id IN (?, ?)', [c.master.hostinfoId, c.slave.hostinfoId]);
    const down = hosts.filter((h) => h.status !== 'online');
    if (down.length) throw new UnavailableError(`host ${down.map((h) => `${h.hostname} is ${h.status}`).join(', ')}: not online`);
    return `${c.custins.network_type} network; master ${c.master.host}:${c.master.port}, slave ${c.slave.host}:${c.slave.port}; params ${Object.keys(c.task.params).sort().join(',') || '-'}`;
  },
};

export const doEnsureMinorVersion: Step = {
  name: 'do_ensure_minor_version',
  role: 'both',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c, nodes, s) {
    let minor = c.params.minor_version;
    if (!minor) {
      const rows = await c.db.query<{ minor_version: string }>('SELECT minor_version FROM engine_version WHERE engine = ? AND version = ?', [c.custins.engine, c.custins.version]);
      if (!rows[0]) throw new NotFoundError(`${c.custins.engine} ${c.custins.version} is not in dbaas.engine_version`);
      minor = rows[0].minor_version;
    }
    if (!/^\d+\.\d+\.\d+[A-Za-z0-9._-]*$/.test(minor)) throw new UsageError(`minor version "${minor}" is not x.y.z`);
    const servers = await Promise.all(
      nodes.map(async (n) => {
        const out = await c.remote(n, 'PATH="$PATH:/usr/sbin:/usr/local/sbin:/sbin"; b=$(command -v mariadbd || command -v mysqld) || { echo "no mariadbd or mysqld installed" >&2; exit 127; }; "$b" --version', s);
        const m = /Ver\s+(\S+)/.exec(out);
        return `${n.host} ${m ? m[1] : out.trim().slice(0, 60)}`;
      }),
    );
    // The choice is the step's result (do_update_minor_version_in_metadb and a resume read it), not
    // a rewrite of the task's parameters from inside a step.
    c.params.minor_version = minor;
    return { detail: `minor ${minor}; server binaries: ${servers.join(', ')}`, result: { minor_version: minor } };
  },
};

export function classVars(c: InstallCtx): ClassVars {
  return { cpu: c.cls.cpu, mem_mb: c.cls.mem_mb, max_connections: c.cls.max_connections, max_iops: c.cls.max_iops, storage_gb: c.custins.storage_gb };
}

export const doBuildParams: Step = {
  name: 'do_build_params',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const tpl = await c.db.query<{ class_code: string; name: string; value: string }>('SELECT class_code, name, value FROM mycnf_template WHERE engine = ? AND version = ? AND class_code IN (?, ?)', [c.custins.engine, c.custins.version, '', c.custins.class_code]);
    // A named zone cannot be the default before the time zone tables exist (the server would not
    // start); do_reset_named_timezone_config sets it once they are loaded.
    const tz = isNamedTimeZone(c.params.time_zone) ? 'SYSTEM' : c.params.time_zone;
    const params = resolveParams(
      [
        { source: 'baseline', rows: baselineParams(classVars(c)) },
        { source: 'template', rows: tpl.filter((r) => r.class_code === '') },
        { source: 'class', rows: tpl.filter((r) => r.class_code !== '') },
        { source: 'task', rows: [{ name: 'default_time_zone', value: tz }, ...(c.params.encrypt ? encryptionParams(c.master.port) : [])] },
      ],
      classVars(c),
    );
    await c.tx((tx) => replaceParamRows(tx, c.custins.id, params));
    const bySource = (src: string): number => params.filter((p) => p.source === src).length;
    return `${params.length} parameters (${bySource('baseline')} baseline, ${bySource('template')} template, ${bySource('class')} class, ${bySource('task')} task)`;
  },
};

export const doCalculateMaintainUserList: Step = {
  name: 'do_calculate_maintain_user_list',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const users = maintainUsers(pairSources(c));
    await c.tx(async (tx) => {
      for (const u of users) await ensureAccount(tx, c.custins.id, u, generatePassword());
    });
    return users.map((u) => u.name).join(', ');
  },
};

export const doInitReplicatorIntoMeta: Step = {
  name: 'do_init_replicator_into_meta',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const r = replicatorUser(pairSources(c));
    await c.tx((tx) => ensureAccount(tx, c.custins.id, r, generatePassword()));
    return r.name;
  },
};

export const doUpdateMinorVersionInMetadb: Step = {
  name: 'do_update_minor_version_in_metadb',
  role: 'metadb',
  timeoutSec: 30,
  effect: 'metadb',
  async run(c) {
    const minor = c.params.minor_version;
    if (!minor) throw new ConflictError('no minor version chosen yet: run do_ensure_minor_version first');
    await c.tx((tx) => setMinorVersion(tx, c.custins.id, minor));
    return minor;
  },
};

