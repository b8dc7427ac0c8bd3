import { parse } from '../../src/commands/instance/resize.js';
import { UsageError } from '../../src/core/errors.js';
import { flows } from '../../src/flow/flows.js';
import { chooseTarget, type Placement } from '../../src/lifecycle/placement.js';
import { capacityDelta, parseResizeParams, RESIZE_STEPS, resizeFlow, runsAsAsked, sameValue, serverValue, type ResizeCtx } from '../../src/lifecycle/resize.js';
import { nodeCapacity } from '../../src/lifecycle/resize-plan.js';
import type { TaskRow } from '../../src/flow/store.js';
import { DbStub } from '../support/doubles.js';

// The resize flow's pure parts: values as the server shows them, capacity taken and given back,
// the NC check, the task parameters checked before anything is written, the steps a task runs.

const raw = { leaseTtl: '60', output: 'table', migrate: true };

describe('instance resize flags (checked before any context)', () => {
  test('--class is required and checked; --storage a positive number; --no-migrate', () => {
    expect(() => parse('rm-x', raw)).toThrow(new UsageError('--class is required (see `rdsctl instance classes`)'));
    expect(() => parse('rm-x', { ...raw, class: 'a b' })).toThrow(UsageError);
    expect(() => parse('rm-x', { ...raw, class: 'rds.mysql.s2.large', storage: '0' })).toThrow(new UsageError('--storage "0": a positive number of GB'));
    expect(() => parse('rm-x', { ...raw, class: 'rds.mysql.s2.large', storage: '1e3' })).toThrow(UsageError);
    const o = parse('rm-x', { ...raw, class: 'rds.mysql.s2.large', storage: '50', migrate: false });
    expect({ cls: o.classCode, gb: o.storageGb, migrate: o.migrate }).toEqual({ cls: 'rds.mysql.s2.large', gb: 50, migrate: false });
    expect(parse('rm-x', { ...raw, class: 'c' }).storageGb).toBeNull();
  });
});

describe('server values', () => {
  test('sizes in bytes, booleans alike, case aside', () => {
    expect(serverValue('1536M')).toBe(String(1536 * 2 ** 20));
    expect(serverValue('2G')).toBe(String(2 * 2 ** 30));
    expect(serverValue('300')).toBe('300');
    expect(sameValue('1610612736', '1536M')).toBe(true);
    expect(sameValue('ON', '1')).toBe(true);
    expect(sameValue('OFF', 'on')).toBe(false);
    expect(sameValue('READ-COMMITTED', 'read-committed')).toBe(true);
    expect(sameValue('600', '300')).toBe(false);
  });
  test('open_files_limit raised by the server counts as applied; nothing else does', () => {
    expect(runsAsAsked('open_files_limit', '4310', '1500')).toBe(true);
    expect(runsAsAsked('open_files_limit', '1000', '1500')).toBe(false);
    expect(runsAsAsked('max_connections', '700', '600')).toBe(false);
  });
});

describe('capacity', () => {
  const host = { id: 3, hostname: 'nc-3', status: 'online', locked: 0, lock_reason: null, cpu_total: 4, cpu_allocated: 3, mem_total_mb: 8192, mem_allocated_mb: 6144, disk_total_gb: 100, disk_allocated_gb: 40 };
  test('what a bigger class takes and a smaller one gives back, per dimension', () => {
    expect(capacityDelta({ cpu: 1, mem_mb: 2048, disk_gb: 20 }, { cpu: 2, mem_mb: 1024, disk_gb: 20 })).toEqual({ take: { cpu: 1, mem_mb: 0, disk_gb: 0 }, give: { cpu: 0, mem_mb: 1024, disk_gb: 0 } });
  });
  test('an NC without room says what it lacks; allocated before and after', () => {
    const up = nodeCapacity('slave', 9, host, { cpu: 1, mem_mb: 2048, disk_gb: 20 }, { cpu: 2, mem_mb: 4096, disk_gb: 20 });
    expect(up.short).toBeNull();
    expect({ before: up.before, after: up.after }).toEqual({ before: { cpu: 3, mem_mb: 6144, disk_gb: 40 }, after: { cpu: 4, mem_mb: 8192, disk_gb: 40 } });
    const tooMuch = nodeCapacity('slave', 9, host, { cpu: 1, mem_mb: 2048, disk_gb: 20 }, { cpu: 4, mem_mb: 4096, disk_gb: 20 });
    expect(tooMuch.short).toBe('nc-3 has no room for 3 more cpu (free 1)');
    const down = nodeCapacity('master', 8, host, { cpu: 2, mem_mb: 4096, disk_gb: 20 }, { cpu: 1, mem_mb: 2048, disk_gb: 20 });
    expect({ short: down.short, after: down.after }).toEqual({ short: null, after: { cpu: 2, mem_mb: 4096, disk_gb: 40 } });
  });
  test('a migration target must have room for the new class, though only the old need is taken', () => {
    const cand = (id: number, free: number) => ({ id, hostname: `nc-${id}`, ip: `10.0.0.${id}`, zone: 'z', cluster: 'c', ssh_port: 22, status: 'online', locked: 0, cpu_total: 64, cpu_allocated: 0, mem_total_mb: free, mem_allocated_mb: 0, disk_total_gb: 1000, disk_allocated_gb: 0, port_min: 3000, port_max: 3010 });
    const p: Placement = { zone: 'z', need: { cpu: 1, memMb: 2048, diskGb: 20 }, port: 3001, fromHostinfoId: 1, peerHostinfoId: 2, peerCluster: null, toNc: null };
    const hosts = [cand(1, 99999), cand(2, 99999), cand(3, 3000), cand(4, 5000)];
    expect((chooseTarget(hosts, p, new Map()) as { host: { id: number } }).host.id).toBe(4);
    expect((chooseTarget([cand(1, 1), cand(2, 1), cand(3, 3000)], { ...p, room: { cpu: 2, memMb: 4096, diskGb: 20 } }, new Map()) as string)).toBe("no online unlocked RDS NC other than the instance's two has room for 2 cpu, 4096 MB, 20 GB and a free port");
    expect((chooseTarget(hosts, { ...p, room: { cpu: 2, memMb: 4096, diskGb: 20 } }, new Map()) as { host: { id: number } }).host.id).toBe(4);
  });
});

describe('the resize task', () => {
  const params = (over: Record<string, unknown> = {}) => ({
    from_instance_id: 1,
    to_instance_id: 2,
    scope: 'both',
    switchover: true,
    resize: {
      class_from: 'rds.mysql.s1.small',
      class_to: 'rds.mysql.s2.large',
      storage_from: 20,
      storage_to: 20,
      need_to: { cpu: 2, mem_mb: 4096, disk_gb: 20 },
      nodes: [
        { instance_id: 1, hostinfo_id: 1, host: 'nc-1', from: { cpu: 1, mem_mb: 2048, disk_gb: 20 } },
        { instance_id: 2, hostinfo_id: 2, host: 'nc-2', from: { cpu: 1, mem_mb: 2048, disk_gb: 20 } },
      ],
      changes: [
        { name: 'max_connections', from: '300', to: '600', source: 'template', live: true },
        { name: 'open_files_limit', from: '1500', to: '3000', source: 'baseline', live: false },
      ],
      restart: true,
      ...over,
    },
  });
  test('parameters are checked before anything is written', () => {
    expect(parseResizeParams(params()).changes.map((c) => c.live)).toEqual([true, false]);
    expect(() => parseResizeParams({})).toThrow(new UsageError('task parameter resize: an object'));
    expect(() => parseResizeParams(params({ class_to: 'x y' }))).toThrow(new UsageError('task parameter resize.class_to: a class code'));
    expect(() => parseResizeParams(params({ changes: [{ name: 'max_connections', from: '1', to: 'a\nb', source: 'class', live: true }] }))).toThrow(UsageError);
    expect(() => parseResizeParams(params({ changes: [{ name: 'innodb.x', from: '1', to: '2', source: 'class', live: true }] }))).toThrow(new UsageError('task parameter resize.changes[0]: innodb.x cannot be set live'));
    expect(flows.get('resize')?.name).toBe('resize');
  });
  test('no static change: no restart step runs; a static change: the rolling restart runs', () => {
    const runs = (p: Record<string, unknown>) => {
      const c = { rz: parseResizeParams(p), power: { scope: 'both', switchover: true } } as unknown as ResizeCtx;
      return RESIZE_STEPS.filter((s) => !s.skip || s.skip(c) === null).map((s) => `${s.name}:${s.role}`);
    };
    const live = runs(params({ changes: [{ name: 'thread_cache_size', from: '16', to: '32', source: 'template', live: true }], restart: false }));
    expect(live).toEqual(['do_check_resize:metadb', 'do_build_params:metadb', 'do_config_resource:master', 'do_config_resource:slave', 'do_persist_resource_config:master', 'do_persist_resource_config:slave', 'do_build_mysql_params:both', 'do_apply_dynamic_params:both', 'do_check_params_applied:both', 'do_update_class_in_metadb:metadb']);
    const rolling = runs(params());
    expect(rolling).toContain('do_stop_mysql:slave');
    expect(rolling).toContain('do_promote_standby:slave');
    expect(rolling.indexOf('do_stop_mysql:slave')).toBeLessThan(rolling.indexOf('do_stop_mysql:master'));
    expect(rolling).not.toContain('do_suspend_ha:metadb');
    expect(rolling[rolling.length - 1]).toBe('do_update_class_in_metadb:metadb');
  });
});

describe('a cancelled resize', () => {
  const task = (resize: Record<string, unknown>) =>
    ({
      id: 5,
      custins_id: 42,
      params: {
        from_instance_id: 1,
        to_instance_id: 2,
        resize: {
          class_from: 'rds.mysql.s1.small',
          class_to: 'rds.mysql.s2.large',
          storage_from: 20,
          storage_to: 20,
          need_to: { cpu: 2, mem_mb: 4096, disk_gb: 20 },
          nodes: [
            { instance_id: 1, hostinfo_id: 11, host: 'nc-1', from: { cpu: 1, mem_mb: 2048, disk_gb: 20 } },
            { instance_id: 2, hostinfo_id: 12, host: 'nc-2', from: { cpu: 1, mem_mb: 2048, disk_gb: 20 } },
          ],
          changes: [
            { name: 'max_connections', from: '300', to: '600', source: 'template', live: true },
            { name: 'innodb_io_capacity', from: null, to: '1000', source: 'template', live: true },
          ],
          restart: false,
          ...resize,
        },
      },
    }) as unknown as TaskRow;
  test('before its last step: the capacity it took goes back and the parameter rows are put back', async () => {
    const tx = new DbStub('dbaas')
      .onQuery('SELECT cpu, mem_mb, disk_gb FROM instance WHERE id = ? FOR UPDATE', [{ cpu: 1, mem_mb: 2048, disk_gb: 20 }], { params: [1] })
      .onQuery('SELECT cpu, mem_mb, disk_gb FROM instance WHERE id = ? FOR UPDATE', [{ cpu: 1, mem_mb: 2048, disk_gb: 20 }], { params: [2] })
      .onExecute('UPDATE hostinfo SET cpu_allocated = GREATEST', { affectedRows: 1 }, { params: [1, 2048, 0, 11] })
      .onExecute('UPDATE hostinfo SET cpu_allocated = GREATEST', { affectedRows: 1 }, { params: [1, 2048, 0, 12] })
      .onExecute('UPDATE mycnf_custinstance SET value = ? WHERE custins_id = ? AND name = ?', { affectedRows: 1 }, { params: ['300', 42, 'max_connections'] })
      .onExecute('DELETE FROM mycnf_custinstance WHERE custins_id = ? AND name = ?', { affectedRows: 1 }, { params: [42, 'innodb_io_capacity'] });
    await resizeFlow.onCancel!(tx, task({}));
    tx.verify();
  });
  test('after its last step (the rows hold the new class): nothing is undone', async () => {
    const tx = new DbStub('dbaas').onQuery('SELECT cpu, mem_mb, disk_gb FROM instance WHERE id = ? FOR UPDATE', [{ cpu: 2, mem_mb: 4096, disk_gb: 20 }], { params: [1] });
    await resizeFlow.onCancel!(tx, task({}));
    tx.verify();
  });
});
