import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { hostLayout } from '../../src/rds/layout.js';
import { layoutUnder } from '../support/layout.js';
import {
  addInstanceConfLine,
  dirsExistProbe,
  instanceConfProbe,
  leftoversScript,
  makeDirsScript,
  purgeScript,
  readFileScript,
  writeFileScript,
  writeInsinfoLine,
  writeResourceSection,
} from '../../src/rds/host-ops.js';
import { baselineParams, BINLOG_EXPIRE_SECONDS, myCnfValue, performanceSchemaFor, renderMyCnf, resolveParams, substitute } from '../../src/rds/mycnf.js';
import { INSTANCE_CLASSES } from '../../src/lab/seed.js';
import { stopBody } from '../../src/rds/host-ops.js';
import { accountSources, checkAccountRow, grantsFor, maintainUsers, replicatorUser, systemAccountSpecs } from '../../src/rds/accounts.js';
import { BadRowError } from '../../src/rds/domain.js';
import { ConfigError } from '../../src/core/errors.js';
import { normalizeProfile } from '../../src/core/config.js';
import { parseBatch } from '../../src/rds/instance-sql.js';
import { sqlAccount, sqlIdent, sqlString } from '../../src/rds/sql-text.js';
import { renderRules } from '../../src/rds/whitelist.js';
import { sectionOf } from '../../src/flow/install/host-files.js';

// The NC side of the install steps, run for real: every script goes through dash, the way it
// would go over SSH. On an NC the paths are the production ones (/mysqldata/dbs3007 …); here each
// is moved under a directory whose path is hostile (spaces, quotes, $(), backticks), which also
// keeps the scripts off this machine's own /mysqldata and /etc.

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-host-ops-'));
const root = path.join(base, `it's a $(touch pwned) \`touch pwned2\` root`);

const shim = path.join(base, 'bin');
fs.mkdirSync(shim, { recursive: true });
fs.writeFileSync(path.join(shim, 'hostname'), '#!/bin/sh\necho nc-t01\n', { mode: 0o755 });

function run(script: string, input = ''): { code: number; out: string } {
  try {
    const out = execFileSync('dash', ['-c', script], { input, cwd: base, env: { PATH: `${shim}:${process.env.PATH}` }, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return { code: 0, out };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: x.stdout + x.stderr };
  }
}

afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

describe('host scripts (real dash, hostile host root)', () => {
  const l = layoutUnder(path.join(root, 'nc-t01'), 3007);
  const l2 = layoutUnder(path.join(root, 'nc-t01'), 3008);

  test('do_make_dir refuses the wrong host, then makes the three directories', () => {
    const wrong = run(makeDirsScript(l, 'nc-other'));
    expect(wrong.code).toBe(3);
    expect(wrong.out).toMatch(/this host is nc-t01, not nc-other/);
    expect(run(dirsExistProbe(l)).code).toBe(1);
    const ok = run(makeDirsScript(l, 'nc-t01'));
    expect(ok.code).toBe(0);
    expect(['mysql', 'root']).toContain(ok.out.trim());
    for (const d of ['mysqldata/dbs3007', 'mysqldata/tmp3007', 'home/mysql/data3007']) expect(fs.statSync(path.join(root, 'nc-t01', d)).isDirectory()).toBe(true);
    expect(run(dirsExistProbe(l)).code).toBe(0);
  });

  test('instance.conf gets "<port> = 1" once, however often the step runs', () => {
    expect(run(instanceConfProbe(l)).code).not.toBe(0);
    expect(run(addInstanceConfLine(l)).out.trim()).toBe('added');
    expect(run(addInstanceConfLine(l)).out.trim()).toBe('present');
    expect(run(addInstanceConfLine(l2)).out.trim()).toBe('added');
    expect(fs.readFileSync(l.instanceConf, 'utf8')).toBe('3007 = 1\n3008 = 1\n');
    expect(run(instanceConfProbe(l)).code).toBe(0);
  });

  test('the resource config keeps one section per port; rewriting replaces it', () => {
    run(writeResourceSection(l), '[3007]\nrole = master\n');
    run(writeResourceSection(l2), '[3008]\nrole = slave\n');
    run(writeResourceSection(l), '[3007]\nrole = master\nmem_mb = 2048\n');
    const text = fs.readFileSync(l.resourceConf, 'utf8');
    expect(text).toBe('[3008]\nrole = slave\n[3007]\nrole = master\nmem_mb = 2048\n');
    expect(sectionOf(text, '3007')).toBe('[3007]\nrole = master\nmem_mb = 2048\n');
    expect(sectionOf(text, '3009')).toBeNull();
  });

  test('insinfo keeps one line per port', () => {
    run(writeInsinfoLine(l), '3007 rm-a master 1 10.0.0.2:3007\n');
    run(writeInsinfoLine(l2), '3008 rm-b slave 2 10.0.0.1:3008\n');
    run(writeInsinfoLine(l), '3007 rm-a master 1 10.0.0.3:3007\n');
    expect(fs.readFileSync(l.insinfoFile, 'utf8')).toBe('3008 rm-b slave 2 10.0.0.1:3008\n3007 rm-a master 1 10.0.0.3:3007\n');
  });

  test('files are written from stdin byte for byte', () => {
    const content = "it's \"quoted\" $(not run) `nor this`\n\\back\\slash\n";
    expect(run(writeFileScript(l.mycnf, '0644'), content).code).toBe(0);
    expect(run(readFileScript(l.mycnf)).out).toBe(content);
    expect((fs.statSync(l.mycnf).mode & 0o777).toString(8)).toBe('644');
  });

  test('purge removes this port everywhere and leaves the other port alone', () => {
    fs.mkdirSync(l.backupDir, { recursive: true });
    expect(run(leftoversScript(l)).out).not.toBe('');
    const r = run(purgeScript(l));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/not running[\s\S]*purged/);
    expect(run(leftoversScript(l)).out).toBe('');
    expect(fs.readFileSync(l.instanceConf, 'utf8')).toBe('3008 = 1\n');
    expect(fs.readFileSync(l.resourceConf, 'utf8')).toBe('[3008]\nrole = slave\n');
    expect(fs.readFileSync(l.insinfoFile, 'utf8')).toBe('3008 rm-b slave 2 10.0.0.1:3008\n');
    expect(run(purgeScript(l)).code).toBe(0);
  });

  test('nothing in the hostile path was ever executed', () => {
    const all = execFileSync('find', [base], { encoding: 'utf8' });
    expect(all).not.toMatch(/\/pwned2?$/m);
  });
});

describe('my.cnf', () => {
  const vars = { cpu: 2, mem_mb: 4096, max_connections: 600, max_iops: 1000, storage_gb: 20 };

  test('placeholders are computed from the class', () => {
    expect(substitute('{mem_mb*3/4}M', vars, 'x')).toBe('3072M');
    expect(substitute('{cpu*16/1}', vars, 'x')).toBe('32');
    expect(substitute('{max_connections}', vars, 'x')).toBe('600');
    expect(() => substitute('{nope}', vars, 'x')).toThrow(/unknown variable/);
  });

  test('hardened baseline: local_infile off, binlog expiry in the file, performance_schema only for classes of 8 GB and more', () => {
    const base = new Map(baselineParams(vars).map((p) => [p.name, p.value]));
    expect(base.get('local_infile')).toBe('0');
    expect(base.get('binlog_expire_logs_seconds')).toBe(String(BINLOG_EXPIRE_SECONDS));
    expect(BINLOG_EXPIRE_SECONDS).toBe(604800);
    expect(base.get('performance_schema')).toBe('OFF');
    const byClass = Object.fromEntries(INSTANCE_CLASSES.map((c) => [c.class_code, performanceSchemaFor(c)]));
    expect(byClass).toEqual({
      'rds.mysql.s1.small': 'OFF',
      'rds.mysql.s2.large': 'OFF',
      'rds.mysql.s2.xlarge': 'ON',
      'rds.mysql.s3.large': 'ON',
      'rds.mysql.m1.medium': 'ON',
      'rds.mysql.c1.large': 'ON',
      'rds.mysql.c1.xlarge': 'ON',
    });
    // A class template row still decides over the baseline.
    const p = resolveParams([{ source: 'baseline', rows: baselineParams({ ...vars, mem_mb: 16384 }) }, { source: 'class', rows: [{ name: 'performance_schema', value: 'OFF' }] }], vars);
    expect(p.find((x) => x.name === 'performance_schema')).toEqual({ name: 'performance_schema', value: 'OFF', source: 'class' });
  });

  test('the stop never kills: SIGTERM, a bounded wait, then a stuck report and exit 1', () => {
    const body = stopBody(hostLayout(3007));
    expect(body).toContain('kill -TERM "$p"');
    // The only signals sent: TERM once, and 0 (is it still there?).
    expect([...new Set(body.match(/kill -\S+ "\$p"/g))].sort()).toEqual(['kill -0 "$p"', 'kill -TERM "$p"']);
    expect(body).toMatch(/stop stuck: mysqld pid \$p of port 3007 still runs 30 s after SIGTERM/);
    expect(body).toContain('>&2; exit 1;');
  });

  test('later layers win; host parameters cannot be overridden; bad rows are refused', () => {
    const p = resolveParams(
      [
        { source: 'baseline', rows: [{ name: 'max_connections', value: '1' }, { name: 'sync_binlog', value: '1' }] },
        { source: 'template', rows: [{ name: 'max-connections', value: '{max_connections}' }, { name: 'port', value: '1' }, { name: 'datadir', value: '/etc' }] },
      ],
      vars,
    );
    expect(p).toEqual([
      { name: 'max_connections', value: '600', source: 'template' },
      { name: 'sync_binlog', value: '1', source: 'baseline' },
    ]);
    expect(() => resolveParams([{ source: 'template', rows: [{ name: 'x\n[client]', value: '1' }] }], vars)).toThrow(/not a server option name/);
    expect(() => resolveParams([{ source: 'template', rows: [{ name: 'init_connect', value: 'a\nb' }] }], vars)).toThrow(/one line/);
  });

  test('rendered per host: address, port, paths, server_id; the standby is read-only', () => {
    const node = { role: 'slave' as const, instanceId: 42, hostinfoId: 2, host: 'nc-t02', ip: '10.0.0.2', port: 3007, sshPort: 22, target: { name: 'nc-t02', address: '10.0.0.2' }, layout: hostLayout(3007) };
    const text = renderMyCnf({ insName: 'rm-x', node, serverId: 42, readOnly: true, params: [{ name: 'sync_binlog', value: '1' }] });
    expect(text).toMatch(/^\[mysqld\]$/m);
    for (const [k, v] of [
      ['port', '3007'],
      ['bind_address', '10.0.0.2'],
      ['datadir', '/home/mysql/data3007'],
      ['tmpdir', '/mysqldata/tmp3007'],
      ['socket', '/mysqldata/dbs3007/mysql.sock'],
      ['server_id', '42'],
      ['read_only', 'ON'],
      ['log_bin', '/mysqldata/dbs3007/mysql-bin'],
      ['sync_binlog', '1'],
    ]) expect(myCnfValue(text, k!)).toBe(v);
  });
});

describe('SQL text and batch output', () => {
  test('literals and identifiers cannot be broken out of', () => {
    expect(sqlString("it's")).toBe("'it\\'s'");
    expect(sqlString('a\\b\n')).toBe("'a\\\\b\\n'");
    expect(sqlIdent('we`ird')).toBe('`we``ird`');
    expect(sqlAccount("o'brien", '%')).toBe("'o\\'brien'@'%'");
    expect(() => sqlString('a\0b')).toThrow(/NUL/);
  });

  test('mariadb --batch output parses into rows, escapes and NULL included', () => {
    expect(parseBatch('User\tHost\nroot\tlocalhost\napp\t%\n')).toEqual([
      { User: 'root', Host: 'localhost' },
      { User: 'app', Host: '%' },
    ]);
    expect(parseBatch('a\tb\nx\\ty\\\\z\\n\tNULL\n')).toEqual([{ a: 'x\ty\\z\n', b: null }]);
    expect(parseBatch('')).toEqual([]);
  });
});

describe('whitelist rules file', () => {
  test('one ACCEPT per address of every group, then DROP, for this port only', () => {
    const t = renderRules('rm-x', 3007, [
      { group_name: 'default', group_type: 'user', ips: '10.1.0.0/16,192.168.1.5' },
      { group_name: 'rds_admin', group_type: 'admin', ips: '127.0.0.1' },
    ]);
    expect(t.split('\n').filter((x) => x.startsWith('-A'))).toEqual([
      '-A RDS-3007 -s 127.0.0.1/32 -p tcp --dport 3007 -m comment --comment admin:rds_admin -j ACCEPT',
      '-A RDS-3007 -s 10.1.0.0/16 -p tcp --dport 3007 -m comment --comment user:default -j ACCEPT',
      '-A RDS-3007 -s 192.168.1.5/32 -p tcp --dport 3007 -m comment --comment user:default -j ACCEPT',
      '-A RDS-3007 -p tcp --dport 3007 -j DROP',
    ]);
    expect(() => renderRules('rm-x', 3007, [{ group_name: 'x', group_type: 'user', ips: '1.2.3.4; rm -rf /' }])).toThrow(/column ips holds .* not a comma list of IPv4/);
  });
});

describe('system accounts bound to addresses (issue #16)', () => {
  const profile = { name: 'p', control_addresses: ['10.1.0.5', '10.1.0.6'] };
  const src = accountSources(profile, ['10.2.0.11', '10.2.0.12']);

  test('never %: the superuser from the AG, the pair and localhost; aurora from the AG; the replicator from the pair', () => {
    const by = Object.fromEntries(systemAccountSpecs(src).map((a) => [a.name, a.host.split(',')]));
    expect(by).toEqual({
      aliyun_root: ['localhost', '10.1.0.5', '10.1.0.6', '10.2.0.11', '10.2.0.12'],
      aurora: ['10.1.0.5', '10.1.0.6'],
      replicator: ['10.2.0.11', '10.2.0.12'],
    });
    // A lab: every lab host dials from 127.0.0.1 (one loopback stack), listed once.
    const lab = accountSources({ name: 'lab', control_addresses: ['127.0.0.1'], nc_source_addresses: ['127.0.0.1'] }, ['127.150.1.2', '127.150.1.3']);
    expect(replicatorUser(lab).host).toBe('127.150.1.2,127.150.1.3,127.0.0.1');
    expect(maintainUsers(lab)[0]!.host).toBe('localhost,127.0.0.1,127.150.1.2,127.150.1.3');
  });

  test('GRANT OPTION for the superuser only', () => {
    const grants = systemAccountSpecs(src).map((a) => [a.name, grantsFor(a, `'${a.name}'@'h'`, (x) => x).join(';')] as const);
    expect(grants.filter(([, g]) => /WITH GRANT OPTION/.test(g)).map(([n]) => n)).toEqual(['aliyun_root']);
  });

  test('a profile without control_addresses cannot install a pair: a config error saying what to set', () => {
    expect(() => accountSources({ name: 'prod' }, ['10.2.0.11'])).toThrow(ConfigError);
    expect(() => accountSources({ name: 'prod' }, ['10.2.0.11'])).toThrow(/profile "prod" has no control_addresses/);
  });

  test('custins_account.host holds one host or a comma list; anything else is a bad row', () => {
    const row = { custins_id: 7, account_name: 'replicator', account_type: 'replicator' as const, host: '10.2.0.11,10.2.0.12', privilege: 'REPLICATION', dbs: null, status: 'active' as const };
    expect(checkAccountRow(row).host).toBe('10.2.0.11,10.2.0.12');
    for (const host of ["10.2.0.11,'x", '10.2.0.11,,10.2.0.12', '10.2.0.11, 10.2.0.12', '']) expect(() => checkAccountRow({ ...row, host })).toThrow(BadRowError);
  });

  test('profile control_addresses and nc_source_addresses: lists of IP addresses', () => {
    const base = { name: 'p', databases: {}, ssh: {} };
    expect(normalizeProfile({ ...base, control_addresses: ['10.1.0.5', '10.1.0.5'] }, 'x').control_addresses).toEqual(['10.1.0.5']);
    expect(() => normalizeProfile({ ...base, control_addresses: ['ag-01'] }, 'x')).toThrow(/control_addresses: a list of 1-32 IP addresses/);
    expect(() => normalizeProfile({ ...base, nc_source_addresses: '127.0.0.1' }, 'x')).toThrow(/nc_source_addresses/);
  });
});
