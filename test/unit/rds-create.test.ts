import { UsageError } from '../../src/core/errors.js';
import type { Catalog } from '../../src/rds/catalog.js';
import { compareVersions } from '../../src/rds/catalog.js';
import { choosePair, generateInsName, type HostCandidate } from '../../src/rds/allocate.js';
import { validateCreate, type CreateRequest } from '../../src/rds/validate.js';
import { checkPassword, checkTimeZone, isNamedTimeZone } from '../../src/rds/names.js';
import { firstFreeAddress } from '../../src/rds/vpc.js';

// CreateInstance validation (POP/Yaochi rules, defaults) and allocation policy (rdsapi).

const CAT: Catalog = {
  versions: [
    { engine: 'mysql', version: '5.7', minor_version: '5.7.43', is_default: 0, status: 'available' },
    { engine: 'mysql', version: '8.0', minor_version: '8.0.36', is_default: 1, status: 'available' },
    { engine: 'mysql', version: '5.6', minor_version: '5.6.51', is_default: 0, status: 'deprecated' },
  ],
  classes: [
    { class_code: 'rds.mysql.s1.small', engine: 'mysql', cpu: 1, mem_mb: 2048, max_connections: 300, max_iops: 600, sort_order: 10 },
    { class_code: 'rds.mysql.s2.large', engine: 'mysql', cpu: 2, mem_mb: 4096, max_connections: 600, max_iops: 1000, sort_order: 20 },
  ],
  storageTypes: [
    { name: 'cloud_ssd', min_gb: 20, max_gb: 6000, step_gb: 10, description: null },
    { name: 'local_ssd', min_gb: 5, max_gb: 2000, step_gb: 5, description: null },
  ],
  zones: [
    { zone: 'cn-hangzhou-a', hosts: 2, free_cpu: 100, free_mem_mb: 1000, free_disk_gb: 100 },
    { zone: 'cn-hangzhou-b', hosts: 3, free_cpu: 100, free_mem_mb: 9000, free_disk_gb: 100 },
    { zone: 'cn-hangzhou-c', hosts: 1, free_cpu: 100, free_mem_mb: 99999, free_disk_gb: 100 },
  ],
};

const req = (o: Partial<CreateRequest> = {}): CreateRequest => ({ dbs: [], accounts: [], guard: false, whitelist: [], ...o });

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('validateCreate', () => {
  test('defaults: mysql, newest available version, smallest class, local_ssd 20 GB, zone with most room and two hosts, classic', () => {
    const s = validateCreate(req(), CAT);
    expect(s).toMatchObject({ engine: 'mysql', version: '8.0', minorVersion: '8.0.36', storageGb: 20, storageType: 'local_ssd', zone: 'cn-hangzhou-b', network: 'classic', guard: false, timeZone: 'SYSTEM', whitelist: ['127.0.0.1'] });
    expect(s.cls.class_code).toBe('rds.mysql.s1.small');
  });

  test('each bad parameter names itself and lists the valid values', () => {
    expect(usage(() => validateCreate(req({ classCode: 'rds.mysql.huge' }), CAT))).toBe('--class rds.mysql.huge: no such mysql class (valid: rds.mysql.s1.small, rds.mysql.s2.large)');
    expect(usage(() => validateCreate(req({ version: '5.6' }), CAT))).toBe('--version 5.6: mysql 5.6 is not offered (valid: 5.7, 8.0)');
    expect(usage(() => validateCreate(req({ engine: 'oracle' }), CAT))).toBe('--engine oracle: not offered (valid: mysql)');
    expect(usage(() => validateCreate(req({ storageType: 'floppy' }), CAT))).toBe('--storage-type floppy: not offered (valid: cloud_ssd, local_ssd)');
    expect(usage(() => validateCreate(req({ storageGb: 7 }), CAT))).toBe('--storage 7: local_ssd takes 5-2000 GB in steps of 5 GB');
    expect(usage(() => validateCreate(req({ zone: 'mars-1' }), CAT))).toMatch(/^--zone mars-1: no online RDS hosts there \(valid: cn-hangzhou-a, cn-hangzhou-b\)$/);
    expect(usage(() => validateCreate(req({ network: 'lan' }), CAT))).toBe('--network lan: valid: classic, vpc');
    expect(usage(() => validateCreate(req({ network: 'vpc' }), CAT))).toBe('--network vpc needs --vpc-id and --vswitch-id');
  });

  test('names and passwords: console rules, reserved names, duplicates', () => {
    expect(usage(() => validateCreate(req({ dbs: ['mysql'] }), CAT))).toMatch(/reserved/);
    expect(usage(() => validateCreate(req({ dbs: ['a`b'] }), CAT))).toMatch(/^--db "a`b": database names are/);
    expect(usage(() => validateCreate(req({ dbs: ['shop', 'shop'] }), CAT))).toBe('--db shop is given twice');
    expect(usage(() => validateCreate(req({ accounts: [{ name: 'root', password: 'Aa1aaaaaaa' }] }), CAT))).toMatch(/reserved/);
    expect(usage(() => validateCreate(req({ accounts: [{ name: "x';DROP", password: 'Aa1aaaaaaa' }] }), CAT))).toMatch(/account names are/);
    expect(usage(() => validateCreate(req({ accounts: [{ name: 'app', password: 'short' }] }), CAT))).toMatch(/^password for account "app": 8-32 characters/);
    expect(usage(() => validateCreate(req({ accounts: [{ name: 'app', password: 'alllowercase' }] }), CAT))).toMatch(/three of/);
    expect(usage(() => validateCreate(req({ whitelist: ['10.0.0.0/33'] }), CAT))).toMatch(/IPv4 address or CIDR/);
    expect(usage(() => validateCreate(req({ ecsSg: 'sg-$(id)' }), CAT))).toMatch(/security group id/);
    expect(usage(() => validateCreate(req({ name: 'RM-Upper' }), CAT))).toMatch(/^--name "RM-Upper"/);
  });

  test('passwords and time zones', () => {
    expect(checkPassword('S3cure-pass', 'app')).toBe('S3cure-pass');
    expect(() => checkPassword("S3cure'pass", 'app')).toThrow(UsageError);
    expect(checkTimeZone('+08:00')).toBe('+08:00');
    expect(checkTimeZone('Asia/Shanghai')).toBe('Asia/Shanghai');
    expect(() => checkTimeZone("Asia/Shanghai'; DROP")).toThrow(UsageError);
    expect(isNamedTimeZone('Asia/Shanghai')).toBe(true);
    expect(isNamedTimeZone('+08:00')).toBe(false);
  });

  test('versions compare numerically', () => {
    expect(['8.0', '10.11', '5.7'].sort(compareVersions)).toEqual(['5.7', '8.0', '10.11']);
  });
});

const host = (id: number, o: Partial<HostCandidate> = {}): HostCandidate => ({
  id,
  hostname: `nc-${String(id).padStart(2, '0')}`,
  ip: `10.0.0.${id}`,
  cluster: 'c1',
  cpu_total: 64,
  cpu_allocated: 0,
  mem_total_mb: 65536,
  mem_allocated_mb: 0,
  disk_total_gb: 1000,
  disk_allocated_gb: 0,
  port_min: 3001,
  port_max: 3999,
  ...o,
});
const need = { cpu: 1, memMb: 2048, diskGb: 20 };

describe('choosePair', () => {
  test('the roomiest host is the master, the standby another host, preferring another cluster', () => {
    const a = choosePair([host(1, { mem_allocated_mb: 1000 }), host(2), host(3, { cluster: 'c2', mem_allocated_mb: 30000 })], need, new Map())!;
    expect([a.master.id, a.slave.id, a.port]).toEqual([2, 3, 3001]);
  });

  test('a host without room is never chosen; none with room means no allocation', () => {
    expect(choosePair([host(1, { cpu_allocated: 64 }), host(2)], need, new Map())).toBeNull();
    expect(choosePair([host(1, { disk_allocated_gb: 990 }), host(2), host(3)], need, new Map())!.master.id).not.toBe(1);
  });

  test('the port is the lowest free on both, within both ranges', () => {
    const used = new Map([
      [1, new Set([3001, 3002])],
      [2, new Set([3003])],
    ]);
    expect(choosePair([host(1), host(2)], need, used)!.port).toBe(3004);
    expect(choosePair([host(1, { port_min: 4000, port_max: 4001 }), host(2, { port_min: 4001, port_max: 4005 })], need, new Map())!.port).toBe(4001);
    expect(choosePair([host(1, { port_min: 3001, port_max: 3001 }), host(2, { port_min: 3001, port_max: 3001 })], need, new Map([[1, new Set([3001])]]))).toBeNull();
  });

  test('generated names look like the console\'s', () => {
    expect(generateInsName()).toMatch(/^rm-[a-z0-9]{14}$/);
  });
});

describe('VPC addresses', () => {
  test('the first usable address not in use (network, .1 gateway and broadcast excluded)', () => {
    expect(firstFreeAddress('172.16.1.0/24', new Set())).toBe('172.16.1.2');
    expect(firstFreeAddress('172.16.1.0/24', new Set(['172.16.1.2', '172.16.1.3']))).toBe('172.16.1.4');
    expect(firstFreeAddress('10.1.2.3/29', new Set())).toBe('10.1.2.2');
    expect(() => firstFreeAddress('10.1.2.0/30', new Set())).toThrow(/too small/);
  });
});
