import { checkLabFlags, defaultLabDir, LAB_DEFAULTS, LAB_FLAG_PARSERS, resolveLabParams, type LabFile, type ParsedFlags } from '../../src/lab/params.js';
import { ExitCode } from '../../src/core/errors.js';

const existing: LabFile = { version: 1, name: 'lab', dir: '/x/lab', mariadb_port: 13306, net: '127.77', ssh_port: 2222, ncs: 12, vms: 40, config: '/x/config.json', created_at: '2024-01-01T00:00:00.000Z' };

describe('lab parameters', () => {
  test('defaults: 12 NCs, 40 VMs, MariaDB 13306, net 127.77, ssh 2222, profile lab', () => {
    expect(resolveLabParams('/d', {}, undefined)).toEqual({ dir: '/d', name: 'lab', port: 13306, net: '127.77', sshPort: 2222, ncs: 12, vms: 40, scale: 'lab' });
    expect(LAB_DEFAULTS.ncs).toBeGreaterThanOrEqual(12);
  });

  test('flags are parsed and checked (commander argument parsers)', () => {
    const P = LAB_FLAG_PARSERS;
    expect([P.ncs('20'), P.vms('0'), P.port('13307'), P.net('127.88'), P.sshPort('2223'), P.name('lab2'), P.scale('fleet')]).toEqual([20, 0, 13307, '127.88', 2223, 'lab2', 'fleet']);
    expect(checkLabFlags({})).toEqual({});
    const bad: Array<[(v: string) => unknown, string, RegExp]> = [
      [P.ncs, '5', /^--ncs 5: must be a whole number from 6 to 2000$/],
      [P.ncs, 'x', /^--ncs x:/],
      [P.vms, '-1', /^--vms -1:/],
      [P.port, '70000', /^--port 70000:/],
      [P.net, '10.0', /^--net 10\.0: expected 127\.X/],
      [P.net, '127.0', /^--net 127\.0:/],
      [P.net, '127.300', /^--net 127\.300:/],
      [P.name, 'a b', /^--name a b: a profile name is/],
      [P.scale, 'huge', /^--scale huge: valid: lab, fleet$/],
    ];
    for (const [parse, v, msg] of bad) expect(() => parse(v)).toThrow(expect.objectContaining({ exitCode: ExitCode.USAGE, message: expect.stringMatching(msg) }));
  });

  test('fleet scale: 1000 served NCs and no served VMs by default; its VMs are metadb rows only', () => {
    expect(checkLabFlags({ scale: 'fleet', ncs: undefined })).toEqual({ scale: 'fleet' });
    expect(resolveLabParams('/d', { scale: 'fleet' }, undefined)).toMatchObject({ ncs: 1000, vms: 0, scale: 'fleet' });
    expect(resolveLabParams('/d', { scale: 'fleet', ncs: 200 }, undefined)).toMatchObject({ ncs: 200, vms: 0 });
    for (const bad of [{ scale: 'fleet', vms: 10 }, { scale: 'fleet', net: '127.253' }] as ParsedFlags[]) {
      expect(() => checkLabFlags(bad)).toThrow(expect.objectContaining({ exitCode: ExitCode.USAGE }));
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
