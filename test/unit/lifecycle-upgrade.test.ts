import { parse } from '../../src/commands/instance/upgrade.js';
import { UsageError } from '../../src/core/errors.js';
import { flows } from '../../src/flow/flows.js';
import { binaryVersion, parseUpgradeParams, UPGRADE_STEPS, upgradeRefusal, versionLabel } from '../../src/lifecycle/upgrade.js';

// The upgrade flow's pure parts: which minor versions are allowed, the version label the lab's
// servers report, the task parameters, the rolling order of its steps.

const raw = { leaseTtl: '60', output: 'table' };

test('flags are checked before any context', () => {
  expect(() => parse('rm-x', raw)).toThrow(new UsageError('--minor-version is required'));
  expect(() => parse('rm-x', { ...raw, minorVersion: '8.0' })).toThrow(new UsageError('--minor-version "8.0": x.y.z'));
  expect(parse('rm-x', { ...raw, minorVersion: '8.0.35', allowDowngrade: true })).toMatchObject({ minor: '8.0.35', allowDowngrade: true });
});

test('allowed: the same series, not newer than offered, a change, no downgrade unless allowed', () => {
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.30', '8.0.36', false)).toBeNull();
  expect(upgradeRefusal('8.0', '8.0.36', null, '8.0.31', false)).toBeNull();
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.30', '8.0.37', false)).toBe('--minor-version 8.0.37 is newer than the newest 8.0 offered (8.0.36, dbaas.engine_version)');
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.30', '5.7.43', false)).toBe('--minor-version 5.7.43 is not a 8.0 version');
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.36', '8.0.36', false)).toBe('the instance runs 8.0.36 already');
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.36', '8.0.35', false)).toBe('--minor-version 8.0.35 is older than 8.0.36: a downgrade needs --allow-downgrade');
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.36', '8.0.35', true)).toBeNull();
  expect(upgradeRefusal('8.0', '8.0.36', '8.0.9', '8.0.10', false)).toBeNull();
});

test('the version label keeps the binary version in front and replaces an earlier label', () => {
  expect(binaryVersion('mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64 (Debian 12)')).toBe('10.11.19-MariaDB-0+deb12u1');
  expect(binaryVersion('no such thing')).toBeNull();
  expect(versionLabel('10.11.19-MariaDB-0+deb12u1', '8.0.36')).toBe('10.11.19-MariaDB-0+deb12u1-rds8.0.36');
  expect(versionLabel('10.11.19-MariaDB-0+deb12u1-rds8.0.35', '8.0.36')).toBe('10.11.19-MariaDB-0+deb12u1-rds8.0.36');
});

test('task parameters and the rolling order', () => {
  expect(parseUpgradeParams({ upgrade: { minor_from: null, minor_to: '8.0.36' } })).toEqual({ minor_from: null, minor_to: '8.0.36', allow_downgrade: false });
  expect(() => parseUpgradeParams({ upgrade: { minor_from: null, minor_to: '8.0' } })).toThrow(new UsageError('task parameter upgrade.minor_to: a minor version x.y.z'));
  expect(flows.get('upgrade')?.name).toBe('upgrade');
  const c = { power: { scope: 'both', switchover: true } } as never;
  const names = UPGRADE_STEPS.filter((s) => !s.skip || s.skip(c) === null).map((s) => `${s.name}:${s.role}`);
  expect(names.slice(0, 3)).toEqual(['do_ensure_minor_version:both', 'do_build_params:metadb', 'do_build_mysql_params:both']);
  expect(names.indexOf('do_stop_mysql:slave')).toBeLessThan(names.indexOf('do_promote_standby:slave'));
  expect(names.indexOf('do_promote_standby:slave')).toBeLessThan(names.indexOf('do_stop_mysql:master'));
  expect(names.slice(-2)).toEqual(['do_check_minor_version:both', 'do_update_minor_version_in_metadb:metadb']);
});
