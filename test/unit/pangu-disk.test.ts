import { parseDiskRef } from '../../src/pangu/offline.js';
import { chunkserverHealthy, panguName, type ChunkserverRow } from '../../src/pangu/status.js';
import { UsageError } from '../../src/core/errors.js';

describe('DISK names', () => {
  it.each([
    ['cs-a01:sdb', { chunkserver: 'cs-a01', device: 'sdb' }],
    ['cs.b-02:nvme0n1', { chunkserver: 'cs.b-02', device: 'nvme0n1' }],
  ])('%s', (s, ref) => expect(parseDiskRef(s)).toEqual(ref));

  it.each(['cs-a01', 'cs-a01:', ':sdb', 'cs-a01:sdb:x', 'cs a01:sdb', "cs-a01:sdb'; UPDATE disk SET status='ok'; --", 'cs-a01:$(reboot)', 'cs-a01:/dev/sdb', 'cs-a01:sd*', ''])('refuses %j', (s) => {
    expect(() => parseDiskRef(s)).toThrow(UsageError);
    expect(() => parseDiskRef(s)).toThrow(/expected <chunkserver>:<device>/);
  });

  it('cluster and chunkserver names', () => {
    expect(panguName('pangu-hz-a', '--cluster')).toBe('pangu-hz-a');
    expect(() => panguName('pangu hz', '--cluster')).toThrow(/--cluster "pangu hz": not a Pangu name/);
  });
});

describe('chunkserver health', () => {
  const cs = (o: Partial<ChunkserverRow>): ChunkserverRow => ({ hostname: 'cs', ip: '1', cluster: 'c', status: 'normal', last_heartbeat: null, disks: 4, disks_ok: 4, disks_error: 0, disks_out: 0, capacity_gb: 1, used_gb: 0, ...o });
  it('normal with no disk in error; offline disks are planned work, not a fault', () => {
    expect(chunkserverHealthy(cs({}))).toBe(true);
    expect(chunkserverHealthy(cs({ disks_out: 2, disks_ok: 2 }))).toBe(true);
    expect(chunkserverHealthy(cs({ disks_error: 1 }))).toBe(false);
    expect(chunkserverHealthy(cs({ status: 'abnormal' }))).toBe(false);
  });
});
