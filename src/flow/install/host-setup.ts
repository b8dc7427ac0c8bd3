import { ConflictError, RemoteError } from '../../core/errors.js';
import { readGreeting } from '../../remote/mysql-instance.js';
import { sh } from '../../remote/quote.js';
import type { Node } from '../../rds/layout.js';
import { checkParamRows, renderMyCnf } from '../../rds/mycnf.js';
import { mycnfForRole } from '../../ha/semisync.js';
import {
  aliveProbe,
  startingOrAliveProbe,
  dirsExistProbe,
  errorLogTail,
  installDbScript,
  installDoneProbe,
  makeDirsScript,
  portAndDirsScript,
  readFileScript,
  rmDirsScript,
  startScript,
  writeFileScript,
} from '../../rds/host-ops.js';
import { ensureInstanceKey } from '../../backup/encryption.js';
import type { StepDef, StepScope } from '../types.js';
import { pollUntil, type InstallCtx } from './context.js';
import { nodeTlsForMyCnf } from './tls.js';
import { instanceTlsRecord } from '../../rds/instance-tls.js';

// Directories, my.cnf, mariadb-install-db and the first start, on both NCs.

type Step = StepDef<InstallCtx, Node>;

export const doCheckPortAndDirExistsAndMakesureNotExist: Step = {
  name: 'do_check_port_and_dir_exists_and_makesure_not_exist',
  role: 'both',
  timeoutSec: 30,
  effect: 'check',
  async run(c, nodes, s) {
    const found = await Promise.all(nodes.map(async (n) => ({ n, lines: (await c.remote(n, portAndDirsScript(n.layout, n.ip), s)).split('\n').filter(Boolean) })));
    const foreign = found.filter((f) => f.lines.includes('port-foreign'));
    if (foreign.length) {
      const f = foreign[0]!;
      throw new RemoteError(`port ${f.n.port} on ${f.n.host} (${f.n.ip}) is in use by a process that is not this instance's mysqld`, { host: f.n.host, hint: 'find it with `ss -ltnp` on the NC' });
    }
    const notes = found.map(({ n, lines }) => {
      const dirs = lines.filter((l) => l.startsWith('dir ')).length;
      const own = lines.includes('port-own') ? ', own mysqld running' : '';
      return `${n.host}: port ${n.port} ${own ? 'used by this instance' : 'free'}${dirs ? `, ${dirs} dirs left over` : ''}`;
    });
    return notes.join('; ');
  },
};

export const doRmInstanceDirExists: Step = {
  name: 'do_rm_instance_dir_exists',
  role: 'both',
  timeoutSec: 120,
  effect: 'remote',
  plan: (n) => [rmDirsScript(n.layout)],
  async probe(c, nodes, s) {
    const states = await Promise.all(nodes.map(async (n) => (await c.test(n, aliveProbe(n.layout), s)) || !(await c.test(n, anyDirProbe(n), s))));
    return states.every(Boolean);
  },
  async run(c, nodes, s) {
    const out = await Promise.all(nodes.map(async (n) => `${n.host}: ${(await c.remote(n, rmDirsScript(n.layout), s)).trim()}`));
    return out.join('; ');
  },
};

function anyDirProbe(n: Node): string {
  return sh`for d in ${n.layout.dirs}; do [ -e "$d" ] && exit 0; done; exit 1`;
}

function makeDir(role: 'master' | 'slave'): Step {
  return {
    name: 'do_make_dir',
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: 'make_dir',
    plan: (n) => [makeDirsScript(n.layout, n.host)],
    probe: (c, [n], s) => c.test(n!, dirsExistProbe(n!.layout), s),
    async run(c, [n], s) {
      const user = (await c.remote(n!, makeDirsScript(n!.layout, n!.host), s)).trim();
      return `${n!.layout.dirs.length} dirs on ${n!.host}, owner ${user}`;
    },
  };
}
export const doMakeDirMaster = makeDir('master');
export const doMakeDirSlave = makeDir('slave');

async function renderFor(c: InstallCtx, n: Node, tls: boolean): Promise<string> {
  const params = checkParamRows(c.custins.id, await c.db.query<{ name: unknown; value: unknown }>('SELECT name, value FROM mycnf_custinstance WHERE custins_id = ? ORDER BY name', [c.custins.id]));
  if (!params.length) throw new ConflictError(`no mycnf_custinstance rows for ${c.custins.ins_name}: do_build_params has not run`);
  return renderMyCnf({ insName: c.custins.ins_name, node: n, serverId: n.instanceId, readOnly: n.role === 'slave' || c.custins.is_guard === 1, params: mycnfForRole(params, n.role), tls });
}

/**
 * Rewrite a host's my.cnf from the metadb (also used when a later step changes a parameter). For
 * an instance that speaks TLS the node's certificate is checked first (issued when missing, for
 * another address or near its end: a standby rebuilt or migrated onto a new NC gets its own).
 */
export async function writeMyCnf(c: InstallCtx, n: Node, s: StepScope): Promise<void> {
  const tls = await nodeTlsForMyCnf(c, n, s);
  await c.remote(n, writeFileScript(n.layout.mycnf, '0644'), s, { stdin: await renderFor(c, n, tls) });
}

export const doBuildMysqlParams: Step = {
  name: 'do_build_mysql_params',
  role: 'both',
  timeoutSec: 30,
  effect: 'remote',
  plan: (n) => [`${writeFileScript(n.layout.mycnf, '0644')}  # stdin: my.cnf rendered from the mycnf_custinstance rows do_build_params writes, server_id = the instance row id, read_only on the ${n.role === 'slave' ? 'standby' : 'master only for a guard'}`],
  async probe(c, nodes, s) {
    const tls = (await instanceTlsRecord(c.db, c.custins.id)) !== null;
    const same = await Promise.all(nodes.map(async (n) => (await c.remote(n, readFileScript(n.layout.mycnf), s)) === (await renderFor(c, n, tls))));
    return same.every(Boolean);
  },
  async run(c, nodes, s) {
    // --encrypt: the key must be on both NCs before my.cnf names it (mariadb-install-db reads it).
    const key = c.params.encrypt ? `; ${await ensureInstanceKey(c, s)}` : '';
    await Promise.all(nodes.map((n) => writeMyCnf(c, n, s)));
    return nodes.map((n) => n.layout.mycnf).join(', ') + key;
  },
};

function initDb(role: 'master' | 'slave'): Step {
  return {
    name: `do_init_mysql_db_${role}`,
    role,
    timeoutSec: 180,
    effect: 'remote',
    group: 'init_db',
    plan: (n) => [installDbScript(n.layout)],
    probe: (c, [n], s) => c.test(n!, installDoneProbe(n!.layout), s),
    async run(c, [n], s) {
      return `${n!.host}: ${(await c.remote(n!, installDbScript(n!.layout), s, { timeoutSec: 180 })).trim()}`;
    },
  };
}
export const doInitMysqlDbMaster = initDb('master');
export const doInitMysqlDbSlave = initDb('slave');

function checkInitDb(role: 'master' | 'slave'): Step {
  return {
    name: `do_check_mysql_init_db_success_${role}`,
    role,
    timeoutSec: 30,
    effect: 'check',
    group: 'check_init',
    async run(c, [n], s) {
      if (!(await c.test(n!, installDoneProbe(n!.layout), s))) {
        throw new RemoteError(`${n!.host}: ${n!.layout.dataDir} has no complete system tables (see ${n!.layout.installLog})`, { host: n!.host });
      }
      return `${n!.layout.dataDir} initialised`;
    },
  };
}
export const doCheckMysqlInitDbSuccessMaster = checkInitDb('master');
export const doCheckMysqlInitDbSuccessSlave = checkInitDb('slave');

function startNoblock(role: 'master' | 'slave'): Step {
  return {
    name: `do_start_instance_noblock_by_${role}`,
    role,
    timeoutSec: 30,
    effect: 'remote',
    group: 'start',
    plan: (n) => [startScript(n.layout)],
    probe: (c, [n], s) => c.test(n!, aliveProbe(n!.layout), s),
    async run(c, [n], s) {
      return `${n!.host}: ${(await c.remote(n!, startScript(n!.layout), s)).trim()}`;
    },
  };
}
export const doStartInstanceNoblockByMaster = startNoblock('master');
export const doStartInstanceNoblockBySlave = startNoblock('slave');

/**
 * Wait until the server answers the MySQL protocol on the NC's address and port. Polls every
 * 25 ms; twice a second it also checks the process is alive, so a server that died at start
 * fails the step at once with its error log instead of waiting for the timeout.
 */
export async function waitAnswering(c: InstallCtx, n: Node, s: StepScope): Promise<string> {
  let polls = 0;
  return pollUntil(c, s, 25, async () => {
    try {
      const g = await readGreeting({ name: n.host, host: n.ip, port: n.port }, 1000);
      return g.serverVersion ?? `error ${g.refused!.errno} for this client: ${g.refused!.message}`;
    } catch (e) {
      // The pid file comes late in mariadbd's start-up; the process itself is the sign of life.
      if (++polls % 20 === 0 && !(await c.test(n, startingOrAliveProbe(n.layout), s))) {
        const tail = (await c.remote(n, errorLogTail(n.layout), s)).trim().split('\n').slice(-3).join(' | ');
        throw new RemoteError(`${n.host}: mysqld is not running (${n.layout.errorLog}: ${tail || 'empty'})`, { host: n.host, cause: e });
      }
      return undefined;
    }
  });
}

function checkStart(name: string, role: 'master' | 'slave'): Step {
  return {
    name,
    role,
    timeoutSec: 120,
    effect: 'check',
    group: 'check_start',
    async run(c, [n], s) {
      const version = await waitAnswering(c, n!, s);
      return `${n!.ip}:${n!.port} answers (${version})`;
    },
  };
}
// The seed spells the master's variant "instnace"; runbooks use that name.
export const doCheckStartInstnaceSuccessMaster = checkStart('do_check_start_instnace_success_master', 'master');
export const doCheckStartInstanceSuccessSlave = checkStart('do_check_start_instance_success_slave', 'slave');
