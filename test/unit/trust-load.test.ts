import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkAccountRow } from '../../src/rds/accounts.js';
import { checkCustinsRow, checkInstanceRow, type CustinsRow, type InstanceRow } from '../../src/rds/custins.js';
import { BadRowError } from '../../src/rds/domain.js';
import { hostLayout } from '../../src/rds/layout.js';
import { checkParamRows, cnfValue, renderMyCnf } from '../../src/rds/mycnf.js';
import { renderRules } from '../../src/rds/whitelist.js';
import { plainField } from '../../src/flow/install/host-files.js';

// Hostile metadb rows are refused where they are loaded, with the table, key and column named;
// renderers escape per format even if handed a bad value. The rows are the review's: an ins_name
// with a newline and shell text, a datadir row, a value that starts a new option-file group.

const HOSTILE = ['rm-x\n[client]\nuser=root', 'rm-x; touch /tmp/pwned', 'rm-x\x1b]0;pwned\x07', "rm-x'", 'RM-X', 'rm-x$(id)', ' rm-x', 'rm-x\u2028y'];

const custins = (over: Partial<CustinsRow>): CustinsRow => ({
  id: 12, ins_name: 'rm-good', engine: 'mysql', version: '10.11', minor_version: null, class_code: 'rds.mysql.s1.small', storage_gb: 20, storage_type: 'local_ssd', zone: 'cn-lab-a',
  network_type: 'classic', vpc_id: null, is_guard: 0, status: 'running', conn_ip: null, conn_port: null, gmt_created: new Date(), gmt_modified: new Date(), gmt_deleted: null, ...over,
});
const inst = (over: Partial<InstanceRow>): InstanceRow => ({ id: 7, custins_id: 12, role: 'master', hostinfo_id: 3, host_name: 'nc-a01', ip: '127.0.0.5', port: 3306, ssh_port: 22, cpu: 1, mem_mb: 1024, disk_gb: 20, status: 'running', ...over });

function badRow(fn: () => unknown): BadRowError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BadRowError) return e;
    throw e;
  }
  throw new Error('no BadRowError');
}

test('a custins row with a hostile name, zone, class or address is refused naming table, key and column', () => {
  for (const v of HOSTILE) {
    const e = badRow(() => checkCustinsRow(custins({ ins_name: v })));
    expect([e.table, e.key, e.column, e.exitCode]).toEqual(['dbaas.custins', 'id=12', 'ins_name', 9]);
    expect(e.message).not.toMatch(/[\n\x1b\x07\u2028]/);
  }
  for (const [col, v] of [['zone', 'a b'], ['class_code', 'x;y'], ['conn_ip', '1.2.3.4\n'], ['conn_port', 70000], ['vpc_id', "vpc-1'"], ['engine', '$(id)'], ['status', 'pwned']] as const) {
    expect(badRow(() => checkCustinsRow(custins({ [col]: v } as Partial<CustinsRow>))).column).toBe(col);
  }
  expect(checkCustinsRow(custins({}))).toMatchObject({ ins_name: 'rm-good' });
});

test('an instance row with a hostile host, address or port is refused', () => {
  for (const [col, v] of [['host_name', 'nc-a01; rm -rf /'], ['host_name', '-oProxyCommand=x'], ['ip', '127.0.0.1 -p 1'], ['ip', 'localhost'], ['port', 0], ['port', 65536], ['port', '3306 '], ['role', 'both'], ['ssh_port', -1]] as const) {
    const e = badRow(() => checkInstanceRow(inst({ [col]: v } as Partial<InstanceRow>)));
    expect(e.column).toBe(col);
  }
  expect(checkInstanceRow(inst({ ip: '::1' })).ip).toBe('::1');
});

test('an account row whose host would end a SQL literal is refused', () => {
  const row = { custins_id: 1, account_name: 'app', account_type: 'normal' as const, host: '%', privilege: 'ReadWrite', dbs: 'appdb', status: 'active' as const };
  for (const host of ["%'; GRANT ALL ON *.* TO 'x'@'%' -- ", '% ', '\\', 'a"b', '']) expect(badRow(() => checkAccountRow({ ...row, host })).column).toBe('host');
  expect(badRow(() => checkAccountRow({ ...row, account_name: "a'b" })).column).toBe('account_name');
  expect(badRow(() => checkAccountRow({ ...row, dbs: 'a,b`c' })).column).toBe('dbs');
  expect(badRow(() => checkAccountRow({ ...row, privilege: 'ALL PRIVILEGES' })).column).toBe('privilege');
  expect(checkAccountRow({ ...row, host: '10.0.%' }).host).toBe('10.0.%');
});

test('mycnf_custinstance rows: per-host options, line breaks and bad names are refused as loaded', () => {
  expect(badRow(() => checkParamRows(5, [{ name: 'datadir', value: '/etc' }])).message).toMatch(/dbaas\.mycnf_custinstance custins_id=5 name="datadir": column name/);
  expect(badRow(() => checkParamRows(5, [{ name: 'log-bin', value: '/tmp/x' }])).column).toBe('name');
  expect(badRow(() => checkParamRows(5, [{ name: 'init_connect', value: 'x\n[client]' }])).column).toBe('value');
  expect(badRow(() => checkParamRows(5, [{ name: 'x\n[client]', value: '1' }])).column).toBe('name');
  expect(checkParamRows(5, [{ name: 'sql_mode', value: 'NO_BACKSLASH_ESCAPES' }])).toEqual([{ name: 'sql_mode', value: 'NO_BACKSLASH_ESCAPES' }]);
});

test('my.cnf values read back unchanged by the real my_print_defaults, comments stay comments', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-cnf-'));
  try {
    const values = ['SET NAMES utf8mb4 # not a comment', 'a"b', 'C:\\path\\x', "it's", '  padded  ', 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION', '[client]'];
    const node = { role: 'master' as const, instanceId: 1, hostinfoId: 1, host: 'nc-a01', ip: '127.0.0.5', port: 3306, sshPort: 22, target: { name: 'nc-a01', address: '127.0.0.5' }, layout: hostLayout({ host_root: dir }, 'nc-a01', 3306) };
    const text = renderMyCnf({ insName: 'rm-x\n[client]\nuser=root', node, serverId: 1, readOnly: false, params: values.map((value, i) => ({ name: `opt_${i}`, value })) });
    const file = path.join(dir, 'my.cnf');
    fs.writeFileSync(file, text);
    const lines = execFileSync('my_print_defaults', [`--defaults-file=${file}`, 'mysqld']).toString().split('\n');
    values.forEach((v, i) => expect(lines).toContain(`--opt_${i}=${v}`));
    expect(execFileSync('my_print_defaults', [`--defaults-file=${file}`, 'client']).toString()).toBe('');
    expect(lines.filter((l) => l.startsWith('--datadir='))).toEqual([`--datadir=${node.layout.dataDir}`]);
    expect(() => cnfValue('a\nb')).toThrow(/control characters/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('whitelist rules and NC files never get a second line from a value', () => {
  const text = renderRules('rm-x\n-A INPUT -j ACCEPT', 3306, [{ group_name: 'default', group_type: 'user', ips: '10.0.0.1' }]);
  expect(text.split('\n').filter((l) => l.startsWith('-A INPUT'))).toEqual([]);
  expect(() => renderRules('rm-x', 3306, [{ group_name: 'default', group_type: 'user', ips: '10.0.0.1 -j ACCEPT' }])).toThrow(BadRowError);
  for (const v of HOSTILE.filter((x) => x !== 'RM-X')) expect(() => plainField(v, 'ins_name')).toThrow(/not a plain word/);
  expect(plainField('rm-good', 'ins_name')).toBe('rm-good');
});
