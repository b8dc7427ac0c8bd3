import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RemoteError } from '../../src/core/errors.js';
import { liveCommand, parseLive } from '../../src/houyi/ncinfo.js';

describe('go2ncinfo --live', () => {
  it('parses uptime, load and a df -P line', () => {
    const out = '123456.78 234567.00\n0.52 0.40 0.31 2/345 6789\n/dev/mapper/vg data 103081248 20616252 77206040 22% /mysqldata\n';
    expect(parseLive(out, '/mysqldata')).toEqual({
      uptime_sec: 123456,
      load_1: 0.52,
      load_5: 0.4,
      load_15: 0.31,
      data_dir: '/mysqldata',
      data_dir_exists: true,
      disk_total_kb: 103081248,
      disk_used_kb: 20616252,
      disk_free_kb: 77206040,
      disk_used_pct: 22,
    });
  });

  it('reports a missing data directory', () => {
    const f = parseLive('10.0 1.0\n0.00 0.01 0.05 1/2 3\nRDSCTL-NO-DATA-DIR\n', '/x/mysqldata');
    expect(f.data_dir_exists).toBe(false);
    expect(f.disk_free_kb).toBeNull();
  });

  it('refuses output it cannot read', () => {
    expect(() => parseLive('sh: cat: not found\n', '/mysqldata')).toThrow(RemoteError);
  });

  it('runs in a real shell, with a data directory whose name is hostile', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "rdsctl ncinfo '$(x)` "));
    try {
      const dir = path.join(root, 'mysqldata');
      fs.mkdirSync(dir);
      const live = parseLive(execFileSync('sh', ['-c', liveCommand(dir)], { encoding: 'utf8' }), dir);
      expect(live.data_dir_exists).toBe(true);
      expect(live.disk_total_kb).toBeGreaterThan(0);
      expect(parseLive(execFileSync('sh', ['-c', liveCommand(path.join(root, 'nope; touch x'))], { encoding: 'utf8' }), 'x').data_dir_exists).toBe(false);
      expect(fs.existsSync(path.join(process.cwd(), 'x'))).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
