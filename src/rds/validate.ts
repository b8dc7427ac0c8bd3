import { UsageError } from '../core/errors.js';
import type { Catalog, InstanceClass, StorageType } from './catalog.js';
import { compareVersions } from './catalog.js';
import { checkAccountName, checkDbName, checkInstanceName, checkPassword, checkSecurityGroup, checkTimeZone, checkWhitelistEntry } from './names.js';

// CreateInstance's parameter checks, as POP and Yaochi make them: every parameter is checked
// against the catalogue before anything is written, and a bad one is answered with the valid
// values. Missing parameters get the console's defaults: the newest version, the smallest
// class, the zone with the most room.

export interface AccountRequest {
  name: string;
  password: string;
}

export interface CreateRequest {
  name?: string;
  engine?: string;
  version?: string;
  classCode?: string;
  storageGb?: number;
  storageType?: string;
  zone?: string;
  network?: string;
  vpcId?: string;
  vswitchId?: string;
  dbs: string[];
  accounts: AccountRequest[];
  guard: boolean;
  whitelist: string[];
  ecsSg?: string;
  timeZone?: string;
}

export interface CreateSpec {
  name?: string;
  engine: string;
  version: string;
  minorVersion: string;
  cls: InstanceClass;
  storageGb: number;
  storageType: string;
  zone: string;
  network: 'classic' | 'vpc';
  vpcId: string | null;
  vswitchId: string | null;
  guard: boolean;
  dbs: string[];
  accounts: AccountRequest[];
  whitelist: string[];
  ecsSg: string | null;
  timeZone: string;
}

/** The storage size the console proposes: 20 GB, within the type's bounds. */
const DEFAULT_STORAGE_GB = 20;
const PREFERRED_STORAGE_TYPES = ['local_ssd', 'cloud_essd', 'cloud_ssd'];
export const DEFAULT_WHITELIST = ['127.0.0.1'];

function list(values: string[]): string {
  return values.length ? values.join(', ') : '(none in dbaas)';
}

export function validateCreate(req: CreateRequest, cat: Catalog): CreateSpec {
  const name = req.name === undefined ? undefined : checkInstanceName(req.name);

  const engines = [...new Set(cat.versions.filter((v) => v.status === 'available').map((v) => v.engine))];
  const engine = req.engine ?? (engines.includes('mysql') ? 'mysql' : engines[0]);
  if (!engine || !engines.includes(engine)) throw new UsageError(`--engine ${req.engine ?? ''}: not offered (valid: ${list(engines)})`);

  const versions = cat.versions.filter((v) => v.engine === engine && v.status === 'available').sort((a, b) => compareVersions(a.version, b.version));
  const ver = req.version === undefined ? versions[versions.length - 1] : versions.find((v) => v.version === req.version);
  if (!ver) throw new UsageError(`--version ${req.version}: ${engine} ${req.version} is not offered (valid: ${list(versions.map((v) => v.version))})`);

  const classes = cat.classes.filter((c) => c.engine === engine);
  const cls = req.classCode === undefined ? classes[0] : classes.find((c) => c.class_code === req.classCode);
  if (!cls) throw new UsageError(`--class ${req.classCode ?? ''}: no such ${engine} class (valid: ${list(classes.map((c) => c.class_code))})`);

  const st = pickStorageType(req.storageType, cat.storageTypes);
  const storageGb = req.storageGb ?? Math.min(st.max_gb, Math.max(st.min_gb, DEFAULT_STORAGE_GB));
  if (!Number.isInteger(storageGb) || storageGb < st.min_gb || storageGb > st.max_gb || (storageGb - st.min_gb) % st.step_gb !== 0) {
    throw new UsageError(`--storage ${req.storageGb}: ${st.name} takes ${st.min_gb}-${st.max_gb} GB in steps of ${st.step_gb} GB`);
  }

  const roomy = cat.zones.filter((z) => z.hosts >= 2);
  let zone: string;
  if (req.zone === undefined) {
    const best = [...roomy].sort((a, b) => b.free_mem_mb - a.free_mem_mb || b.free_cpu - a.free_cpu)[0];
    if (!best) throw new UsageError(`no zone has two online RDS hosts (zones: ${list(cat.zones.map((z) => `${z.zone} (${z.hosts})`))})`);
    zone = best.zone;
  } else {
    if (!cat.zones.some((z) => z.zone === req.zone)) throw new UsageError(`--zone ${req.zone}: no online RDS hosts there (valid: ${list(roomy.map((z) => z.zone))})`);
    zone = req.zone;
  }

  const network = req.network ?? 'classic';
  if (network !== 'classic' && network !== 'vpc') throw new UsageError(`--network ${network}: valid: classic, vpc`);
  if (network === 'classic' && (req.vpcId || req.vswitchId)) throw new UsageError('--vpc-id and --vswitch-id need --network vpc');
  if (network === 'vpc' && (!req.vpcId || !req.vswitchId)) throw new UsageError('--network vpc needs --vpc-id and --vswitch-id');

  const dbs = unique(req.dbs.map(checkDbName), '--db');
  const accounts = req.accounts.map((a) => ({ name: checkAccountName(a.name), password: checkPassword(a.password, a.name) }));
  unique(accounts.map((a) => a.name), '--account');

  return {
    ...(name === undefined ? {} : { name }),
    engine,
    version: ver.version,
    minorVersion: ver.minor_version,
    cls,
    storageGb,
    storageType: st.name,
    zone,
    network,
    vpcId: req.vpcId ?? null,
    vswitchId: req.vswitchId ?? null,
    guard: req.guard,
    dbs,
    accounts,
    whitelist: unique((req.whitelist.length ? req.whitelist : DEFAULT_WHITELIST).map(checkWhitelistEntry), '--whitelist'),
    ecsSg: req.ecsSg === undefined ? null : checkSecurityGroup(req.ecsSg),
    timeZone: checkTimeZone(req.timeZone ?? 'SYSTEM'),
  };
}

function pickStorageType(wanted: string | undefined, types: StorageType[]): StorageType {
  if (wanted !== undefined) {
    const t = types.find((x) => x.name === wanted);
    if (!t) throw new UsageError(`--storage-type ${wanted}: not offered (valid: ${list(types.map((x) => x.name))})`);
    return t;
  }
  const t = PREFERRED_STORAGE_TYPES.map((n) => types.find((x) => x.name === n)).find(Boolean) ?? types[0];
  if (!t) throw new UsageError('dbaas.storage_type is empty: no storage type to offer');
  return t;
}

function unique(values: string[], flag: string): string[] {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new UsageError(`${flag} ${v} is given twice`);
    seen.add(v);
  }
  return values;
}
