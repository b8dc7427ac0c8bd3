import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import type { Context } from '../../src/core/context.js';
import type { CliResult } from '../support/run.js';
import { sharedLab, type TestLab } from '../support/lab.js';
import { CANARY_TABLE, label } from '../support/hostile-corpus.js';

// The metadb side of the hostile corpus: in production the metadbs are written by many other
// systems, so every name, address, port, path and parameter column a command reads gets hostile
// values planted in it, and every command that reads that column runs against the planted row.
// Each run must end in a handled result (exit 0/3/4 for views, 9 for a row refused where it is
// loaded, 5/8 for an unreachable address) with one stderr line and no stack, and:
//   - nothing ran: the canary table keeps its row, the canary file in this test's own directory
//     stays, the marker file the shell payloads would create never appears;
//   - nothing leaked to the terminal: the escape detector finds no control character (ESC, CSI,
//     OSC, CR, bidi, U+2028) in stdout or stderr, and no planted line break forged a line.

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-hostile-metadb-'));
const MARKER = path.join(tmp, 'pwned');
const CANARY = path.join(tmp, 'canary');

/** Values for text columns: shell, SQL, option-file, terminal and line-forging payloads. */
const TEXT: string[] = [
  `rm-x\n[client]\nuser=root`,
  `x; touch ${MARKER}`,
  `$(touch ${MARKER})`,
  `\`touch ${MARKER}\``,
  `x'; DROP TABLE dbaas.${CANARY_TABLE}; -- `,
  `x"; rm -f ${CANARY}; "`,
  `x\n-A INPUT -j ACCEPT`,
  '\x1b]0;pwned\x07\x1b[2J\x1b[H',
  'x\r\nrm-forged  running  cn-lab-a',
  '\u202ex\u2028y',
  'x\x9b31m',
  '../../../../etc',
  `-oProxyCommand=touch ${MARKER}`,
  '%',
  '',
  ' ',
  "%'; GRANT ALL ON *.* TO 'evil'@'%' -- ",
];

/** The terminal-escape detector: anything a terminal acts on besides the line feed ending a line and tsv's tab. */
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

interface Plant {
  /** table.column, for messages */
  column: string;
  values: string[];
  set(v: string): Promise<void>;
  restore(): Promise<void>;
  commands: string[][];
  /** exit codes besides 0 that mean "handled" for this column */
  codes: number[];
}

let lab: TestLab;
let ctx: Context;
let ins: string;
let custinsId: number;
let nc: string;
const results: string[] = [];

async function q<T = Record<string, unknown>>(db: Parameters<Context['db']>[0], sql: string, params: unknown[] = []): Promise<T[]> {
  return ctx.db(db).query<T>(sql, params);
}

beforeAll(async () => {
  lab = sharedLab();
  ctx = lab.context().ctx;
  ins = `rm-hm${randomBytes(3).toString('hex')}`;
  const c = await lab.run(['instance', 'create', '--name', ins, '--no-wait', '--reason', 'hostile metadb']);
  if (c.code !== 0) throw new Error(`instance create --no-wait: ${c.stderr}`);
  // Park the task as an operator would: nothing here may run the install for real.
  await q('dbaas', "UPDATE task_queue t JOIN custins c ON c.id = t.custins_id SET t.status = 'paused' WHERE c.ins_name = ?", [ins]);
  custinsId = (await q<{ id: number }>('dbaas', 'SELECT id FROM custins WHERE ins_name = ?', [ins]))[0]!.id;
  await q('dbaas', `INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES (?, 'sync_binlog', '1', 'baseline') ON DUPLICATE KEY UPDATE value = value`, [custinsId]).catch(() => undefined);
  nc = (await q<{ host_name: string }>('dbaas', "SELECT host_name FROM instance WHERE custins_id = ? AND role = 'master'", [custinsId]))[0]!.host_name;
  await q('dbaas', `CREATE TABLE IF NOT EXISTS ${CANARY_TABLE} (id INT PRIMARY KEY, v VARCHAR(64) NOT NULL)`);
  await q('dbaas', `INSERT IGNORE INTO ${CANARY_TABLE} (id, v) VALUES (1, 'canary')`);
  fs.writeFileSync(CANARY, 'canary\n');
});

afterAll(async () => {
  try {
    await q('houyi', "DELETE FROM vm WHERE instance_id LIKE 'i-hostile%'");
    await q('dbaas', "DELETE FROM ops_audit WHERE record_id LIKE 'hostile-%'");
    const d = await lab.run(['instance', 'delete', ins, '--yes', '--reason', 'hostile metadb cleanup']);
    if (d.code !== 0) throw new Error(`instance delete ${ins}: ${d.stderr}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await ctx.close();
  }
});

function verdict(p: Plant, v: string, args: string[], r: CliResult): string | null {
  const where = `${p.column}=${label(v)} | ${args.join(' ')}`;
  if (/^\s+at .+:\d+:\d+\)?$/m.test(r.stderr) || /\b(?:TypeError|RangeError|SyntaxError|ReferenceError)\b/.test(r.stderr)) return `${where}: stack or JS error: ${r.stderr.slice(0, 300)}`;
  if (![0, ...p.codes].includes(r.code)) return `${where}: exit ${r.code}: ${r.stderr.slice(0, 300)}`;
  for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    const m = TERMINAL_CONTROL.exec(text);
    if (m) return `${where}: raw ${JSON.stringify(m[0])} on ${name}: ${JSON.stringify(text.slice(Math.max(0, m.index - 40), m.index + 40))}`;
  }
  // A planted line break may not make a line of its own.
  if (/[\n]/.test(v)) for (const part of v.split(/\r?\n/).slice(1)) if (part.length > 3 && (r.stdout + r.stderr).split('\n').some((l) => l.startsWith(part))) return `${where}: forged line ${JSON.stringify(part)}`;
  // A step run prints its progress lines ("[10/81] …"), then the one error line.
  const talk = r.stderr.split('\n').filter((l) => !/^\[\s*\d+\/\d+\] /.test(l));
  if (r.code !== 0 && r.code !== 4 && (talk.length !== 2 || !talk[0]!.startsWith('rdsctl: '))) return `${where}: not one stderr line: ${JSON.stringify(r.stderr.slice(0, 300))}`;
  return null;
}

async function runPlant(p: Plant): Promise<string[]> {
  const failures: string[] = [];
  let runs = 0;
  let planted = 0;
  const t0 = Date.now();
  try {
    for (const v of p.values) {
      try {
        await p.set(v);
      } catch {
        // The column's type or length refuses the value: MariaDB itself keeps it out.
        continue;
      }
      planted++;
      const rs = await Promise.all(p.commands.map(async (args) => ({ args, r: await lab.run(args) })));
      runs += rs.length;
      for (const { args, r } of rs) {
        const bad = verdict(p, v, args, r);
        if (bad) failures.push(bad);
      }
    }
  } finally {
    await p.restore();
  }
  results.push(`  ${p.column}: ${planted}/${p.values.length} values planted, ${runs} runs, ${Date.now() - t0} ms`);
  return failures;
}

const id = (): string => String(custinsId);

function custinsPlant(column: string, values: string[] = TEXT): Plant {
  let saved: unknown;
  return {
    column: `dbaas.custins.${column}`,
    values,
    async set(v) {
      if (saved === undefined) saved = (await q<Record<string, unknown>>('dbaas', `SELECT ${column} AS v FROM custins WHERE id = ?`, [custinsId]))[0]!.v;
      await q('dbaas', `UPDATE custins SET ${column} = ? WHERE id = ?`, [v, custinsId]);
    },
    async restore() {
      if (saved !== undefined) await q('dbaas', `UPDATE custins SET ${column} = ? WHERE id = ?`, [saved, custinsId]);
    },
    commands: [
      ['instance', 'show', id()],
      ['instance', 'show', id(), '-o', 'json'],
      ['instance', 'list', '--nc', nc],
      ['instance', 'list', '--nc', nc, '-o', 'tsv'],
      ['instance', 'delete', id(), '--dry-run'],
      ['instance', 'step', id(), 'list'],
      ['instance', 'step', id(), 'run', 'do_check_port_and_dir_exists_and_makesure_not_exist', '--yes', '--reason', 'hostile metadb'],
      ['task', 'list', '--instance', id()],
      ['go2which', id()],
    ],
    codes: [3, 4, 9],
  };
}

function instancePlant(column: string, values: string[]): Plant {
  let saved: unknown;
  return {
    column: `dbaas.instance.${column}`,
    values,
    async set(v) {
      if (saved === undefined) saved = (await q<Record<string, unknown>>('dbaas', `SELECT ${column} AS v FROM instance WHERE custins_id = ? AND role = 'master'`, [custinsId]))[0]!.v;
      await q('dbaas', `UPDATE instance SET ${column} = ? WHERE custins_id = ? AND role = 'master'`, [v, custinsId]);
    },
    async restore() {
      if (saved !== undefined) await q('dbaas', `UPDATE instance SET ${column} = ? WHERE custins_id = ? AND role = 'master'`, [saved, custinsId]);
    },
    commands: [
      ['instance', 'show', id()],
      ['instance', 'show', id(), '--live'],
      ['instance', 'list', '--status', 'creating', '-o', 'wide'],
      ['instance', 'delete', id(), '--dry-run'],
      ['instance', 'step', id(), 'run', 'do_check_port_and_dir_exists_and_makesure_not_exist', '--yes', '--reason', 'hostile metadb'],
      ['go2which', id()],
    ],
    codes: [3, 4, 5, 8, 9],
  };
}

function rowPlant(column: string, values: string[], insert: (v: string) => Promise<void>, remove: () => Promise<void>, commands: string[][], codes: number[]): Plant {
  return {
    column,
    values,
    async set(v) {
      await remove();
      await insert(v);
    },
    restore: remove,
    commands,
    codes,
  };
}

const STEP_RUN = (step: string): string[] => ['instance', 'step', id(), 'run', step, '--yes', '--reason', 'hostile metadb'];

describe('hostile values in every metadb column a command reads', () => {
  const plants = (): Plant[] => [
    custinsPlant('ins_name'),
    custinsPlant('zone'),
    custinsPlant('class_code'),
    custinsPlant('engine'),
    custinsPlant('version'),
    custinsPlant('minor_version'),
    custinsPlant('storage_type'),
    custinsPlant('vpc_id'),
    custinsPlant('conn_ip'),
    instancePlant('host_name', TEXT),
    instancePlant('ip', [...TEXT, '127.0.0.1 -p 1', '::1', '0.0.0.0']),
    instancePlant('port', ['0', '65535', '22']),
    rowPlant(
      'dbaas.mycnf_custinstance.name/value',
      [...TEXT.map((v) => `name:${v}`), ...TEXT.map((v) => `value:${v}`), 'name:datadir', 'name:log-bin', 'value:/etc', 'name:sql_mode'],
      async (v) => {
        const [kind, ...rest] = v.split(':');
        const text = rest.join(':');
        await q('dbaas', "INSERT INTO mycnf_custinstance (custins_id, name, value, source) VALUES (?, ?, ?, 'task')", [custinsId, kind === 'name' ? text : 'init_connect', kind === 'name' ? '/etc' : text]);
      },
      () => q('dbaas', "DELETE FROM mycnf_custinstance WHERE custins_id = ? AND source = 'task'", [custinsId]).then(() => undefined),
      [STEP_RUN('do_build_mysql_params'), ['instance', 'show', id()]],
      [5, 9],
    ),
    rowPlant(
      'dbaas.custins_account.account_name/host',
      [...TEXT.map((v) => `host:${v}`), ...TEXT.map((v) => `name:${v}`)],
      async (v) => {
        const [kind, ...rest] = v.split(':');
        const text = rest.join(':');
        await q('dbaas', "INSERT INTO custins_account (custins_id, account_name, account_type, host, privilege, dbs, status) VALUES (?, ?, 'maintain', ?, 'ALL', NULL, 'creating')", [custinsId, kind === 'name' ? text : 'hostile_acc', kind === 'host' ? text : '%']);
      },
      () => q('dbaas', "DELETE FROM custins_account WHERE custins_id = ? AND account_type = 'maintain' AND account_name NOT IN ('aliyun_root', 'aurora')", [custinsId]).then(() => undefined),
      [STEP_RUN('do_initialize_mysql_account_by_master'), ['instance', 'show', id()]],
      [5, 9],
    ),
    rowPlant(
      'dbaas.custins_whitelist.group_name/ips',
      [...TEXT.map((v) => `ips:${v}`), ...TEXT.map((v) => `group:${v}`)],
      async (v) => {
        const [kind, ...rest] = v.split(':');
        const text = rest.join(':');
        await q('dbaas', "INSERT INTO custins_whitelist (custins_id, group_name, group_type, ips) VALUES (?, ?, 'user', ?)", [custinsId, kind === 'group' ? text : 'hostile', kind === 'ips' ? text : '10.0.0.1']);
      },
      () => q('dbaas', "DELETE FROM custins_whitelist WHERE custins_id = ? AND group_name NOT IN ('default', 'rds_admin')", [custinsId]).then(() => undefined),
      [STEP_RUN('do_flush_user_whitelist'), ['instance', 'show', id()]],
      [5, 9],
    ),
    rowPlant(
      'houyi.vm.name/image/ip',
      [...TEXT.map((v) => `name:${v}`), ...TEXT.map((v) => `image:${v}`)],
      async (v) => {
        const [kind, ...rest] = v.split(':');
        const text = rest.join(':');
        await q('houyi', "INSERT INTO vm (instance_id, name, nc_id, status, vcpu, mem_mb, ip, image, vpc_id) SELECT 'i-hostile1', ?, id, 'stopped', 1, 512, '127.255.255.254', ?, NULL FROM nc WHERE hostname = ?", [kind === 'name' ? text : 'vm-hostile', kind === 'image' ? text : 'img', nc]);
      },
      () => q('houyi', "DELETE FROM vm WHERE instance_id LIKE 'i-hostile%'").then(() => undefined),
      [['go2vmlist', nc], ['go2vmlist', nc, '-o', 'tsv'], ['go2vmlist', nc, '-o', 'json'], ['hyapi', 'list_vm', `nc_name=${nc}`, '-o', 'table'], ['go2which', nc]],
      [3, 4],
    ),
    rowPlant(
      'dbaas.ops_audit.command/targets/reason/os_user',
      TEXT,
      async (v) => {
        await q(
          'dbaas',
          "INSERT INTO ops_audit (record_id, phase, ts, os_user, profile, command, targets, reason, dry_run, ok, exit_code, detail) VALUES (?, 'intent', NOW(3), ?, 'lab', ?, ?, ?, 0, NULL, NULL, ?)",
          [`hostile-${randomBytes(8).toString('hex')}`, v.slice(0, 64), v.slice(0, 128), JSON.stringify([v]), v, JSON.stringify({ note: v })],
        );
      },
      () => q('dbaas', "DELETE FROM ops_audit WHERE record_id LIKE 'hostile-%'").then(() => undefined),
      [['audit', 'list', '--source', 'metadb', '--limit', '5'], ['audit', 'list', '--source', 'metadb', '--limit', '5', '-o', 'tsv'], ['audit', 'list', '--source', 'metadb', '--limit', '5', '-o', 'wide']],
      [],
    ),
  ];

  test('every planted value is handled, nothing runs, nothing reaches the terminal raw', async () => {
    const failures: string[] = [];
    for (const p of plants()) failures.push(...(await runPlant(p)));
    process.stderr.write(`hostile metadb:\n${results.join('\n')}\n`);
    expect(failures).toEqual([]);
  });

  test('no injection ran: canary table, canary file, no marker', async () => {
    expect(await q(`dbaas`, `SELECT id, v FROM ${CANARY_TABLE}`)).toEqual([{ id: 1, v: 'canary' }]);
    expect(fs.readFileSync(CANARY, 'utf8')).toBe('canary\n');
    expect(fs.existsSync(MARKER)).toBe(false);
    expect((await q<{ n: number }>('dbaas', "SELECT COUNT(*) AS n FROM information_schema.USER_PRIVILEGES WHERE GRANTEE LIKE '%evil%'"))[0]!.n).toBe(0);
  });

  test('a bad row is refused where it is loaded: exit 9, naming table, key and column', async () => {
    await q('dbaas', 'UPDATE custins SET zone = ? WHERE id = ?', ['cn\n[client]', custinsId]);
    try {
      const r = await lab.run(['instance', 'show', id()]);
      expect(r.code).toBe(9);
      expect(r.stderr).toMatch(new RegExp(`^rdsctl: metadb row dbaas\\.custins id=${custinsId}: column zone holds "cn\\\\n\\[client\\]"`));
    } finally {
      const z = (await q<{ zone: string }>('dbaas', 'SELECT h.zone FROM hostinfo h JOIN instance i ON i.hostinfo_id = h.id WHERE i.custins_id = ? LIMIT 1', [custinsId]))[0]!.zone;
      await q('dbaas', 'UPDATE custins SET zone = ? WHERE id = ?', [z, custinsId]);
    }
  });
});
