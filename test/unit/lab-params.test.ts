import { defaultLabDir, LAB_DEFAULTS, parseLabFlags, resolveLabParams, type LabFile } from '../../src/lab/params.js';
import { ExitCode } from '../../src/core/errors.js';

const existing: LabFile = { version: 1, name: 'lab', dir: '/x/lab', mariadb_port: 13306, net: '127.77', ssh_port: 2222, ncs: 12, vms: 40, config: '/x/config.json', created_at: '2024-01-01T00:00:00.000Z' };

describe('lab parameters', () => {
  test('defaults: 12 NCs, 40 VMs, MariaDB 13306, net 127.77, ssh 2222, profile lab', () => {
    expect(resolveLabParams('/d', {}, undefined)).toEqual({ dir: '/d', name: 'lab', port: 13306, net: '127.77', sshPort: 2222, ncs: 12, vms: 40, scale: 'lab' });
    expect(LAB_DEFAULTS.ncs).toBeGreaterThanOrEqual(12);
  });

  test('flags are parsed and checked', () => {
    expect(parseLabFlags({ ncs: '20', vms: '0', port: '13307', net: '127.88', sshPort: '2223', name: 'lab2' })).toEqual({ ncs: 20, vms: 0, port: 13307, net: '127.88', sshPort: 2223, name: 'lab2' });
    expect(parseLabFlags({})).toEqual({});
    for (const bad of [{ ncs: '5' }, { ncs: 'x' }, { vms: '-1' }, { port: '70000' }, { net: '10.0' }, { net: '127.0' }, { net: '127.300' }, { name: 'a b' }]) {
      expect(() => parseLabFlags(bad)).toThrow(expect.objectContaining({ exitCode: ExitCode.USAGE }));
    }
  });

  test('fleet scale: 1000 served NCs and no served VMs by default; its VMs are metadb rows only', () => {
    expect(parseLabFlags({ scale: 'fleet' })).toEqual({ scale: 'fleet' });
    expect(resolveLabParams('/d', { scale: 'fleet' }, undefined)).toMatchObject({ ncs: 1000, vms: 0, scale: 'fleet' });
    expect(resolveLabParams('/d', { scale: 'fleet', ncs: 200 }, undefined)).toMatchObject({ ncs: 200, vms: 0 });
    for (const bad of [{ scale: 'huge' }, { scale: 'fleet', vms: '10' }, { scale: 'fleet', net: '127.253' }]) {
      expect(() => parseLabFlags(bad)).toThrow(expect.objectContaining({ exitCode: ExitCode.USAGE }));
    }
    // lab.json files written before --scale existed are plain labs
    expect(resolveLabParams('/x/lab', {}, existing).scale).toBe('lab');
    expect(() => resolveLabParams('/x/lab', { scale: 'fleet' }, existing)).toThrow('was made with --scale lab');
  });

  test('an existing lab keeps its parameters; a flag that contradicts one is a usage error', () => {
    expect(resolveLabParams('/x/lab', {}, existing)).toMatchObject({ ncs: 12, vms: 40, port: 13306 });
    expect(resolveLabParams('/x/lab', { ncs: 12 }, existing)).toMatchObject({ ncs: 12 });
    expect(() => resolveLabParams('/x/lab', { ncs: 6, vms: 10 }, existing)).toThrow('the lab in /x/lab was made with --ncs 12 --vms 40; to change it run `rdsctl lab down --purge --dir /x/lab` first');
  });

  test('default dir: $XDG_DATA_HOME/rdsctl/lab, else ~/.local/share/rdsctl/lab', () => {
    expect(defaultLabDir({ XDG_DATA_HOME: '/data', HOME: '/home/u' })).toBe('/data/rdsctl/lab');
    expect(defaultLabDir({ XDG_DATA_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.local/share/rdsctl/lab');
    expect(defaultLabDir({ HOME: '/home/u' })).toBe('/home/u/.local/share/rdsctl/lab');
  });
});
