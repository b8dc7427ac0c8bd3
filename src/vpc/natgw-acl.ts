import type { Db } from '../remote/mysql.js';
import { ConflictError, NotFoundError, UsageError } from '../core/errors.js';
import type { PlannedChange } from '../core/mutation.js';
import { nearByPrefix } from '../core/near.js';
import { cidrArg, descriptionArg, idArg, oneOf } from './validate.js';

// The NAT gateway's ACL table (houyi.natgw_acl), which the seeds change through go2hyapi to
// connect an ECS into a VPC (`rdsctl hyapi add_natgw_acl|list_natgw_acl|delete_natgw_acl`, in
// commands/hyapi.ts): every parameter is validated before anything is written, and a rule that
// already exists is refused rather than silently kept.

export const DIRECTIONS = ['ingress', 'egress'] as const;
export const PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
export const POLICIES = ['accept', 'drop'] as const;
export type Direction = (typeof DIRECTIONS)[number];
export type Protocol = (typeof PROTOCOLS)[number];
export type Policy = (typeof POLICIES)[number];

/** icmp and all have no ports; the table writes that as "-1/-1". */
export const NO_PORTS = '-1/-1';
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 100;
export const DEFAULT_PRIORITY = 100;

export interface AclRuleInput {
  natgw_id: string;
  direction: Direction;
  protocol: Protocol;
  src_cidr: string;
  dst_cidr: string;
  port_range: string;
  policy: Policy;
  priority: number;
  description: string | null;
}

/** A rule as `list_natgw_acl -o json` prints it (the field names are a stable API). */
export interface AclRule extends AclRuleInput {
  id: number;
  vpc_id: string | null;
  gmt_created: Date;
}

const PORT = /^[1-9][0-9]{0,4}$/;

/** "N/M" with 1 ≤ N ≤ M ≤ 65535 for tcp/udp; "-1/-1" (also the default) for icmp/all. */
export function parsePortRange(value: string | undefined, protocol: Protocol): string {
  if (protocol === 'icmp' || protocol === 'all') {
    if (value === undefined || value === NO_PORTS) return NO_PORTS;
    throw new UsageError(`port_range: protocol ${protocol} has no ports; use ${NO_PORTS} or leave it out (got "${value}")`);
  }
  if (value === undefined) throw new UsageError(`port_range: required for protocol ${protocol} (N/M, e.g. 80/80 or 1024/65535)`);
  const m = /^([^/]*)\/([^/]*)$/.exec(value);
  if (!m || !PORT.test(m[1]!) || !PORT.test(m[2]!)) throw new UsageError(`port_range: "${value}" is not N/M with ports 1-65535`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo > 65535 || hi > 65535) throw new UsageError(`port_range: "${value}": ports go up to 65535`);
  if (lo > hi) throw new UsageError(`port_range: "${value}": the first port must not be above the second`);
  return `${lo}/${hi}`;
}

export function parsePriority(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PRIORITY;
  const n = /^[0-9]{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(n >= PRIORITY_MIN && n <= PRIORITY_MAX)) throw new UsageError(`priority: "${value}" is not a whole number from ${PRIORITY_MIN} to ${PRIORITY_MAX}`);
  return n;
}

/** Params in, a validated rule out; UsageError naming the parameter otherwise. Pure. */
export function validateAclRule(p: Readonly<Record<string, string>>): AclRuleInput {
  const req = (k: string): string => {
    const v = p[k];
    if (v === undefined || v === '') throw new UsageError(`${k}: required`);
    return v;
  };
  const protocol = oneOf(req('protocol').toLowerCase(), PROTOCOLS, 'protocol');
  return {
    natgw_id: idArg(req('natgw_id'), 'natgw_id'),
    direction: oneOf(req('direction').toLowerCase(), DIRECTIONS, 'direction'),
    protocol,
    src_cidr: cidrArg(req('src_cidr'), 'src_cidr'),
    dst_cidr: cidrArg(req('dst_cidr'), 'dst_cidr'),
    port_range: parsePortRange(p.port_range, protocol),
    policy: oneOf((p.policy ?? 'accept').toLowerCase(), POLICIES, 'policy'),
    priority: parsePriority(p.priority),
    description: descriptionArg(p.description, 'description'),
  };
}

const SELECT_RULES = `
  SELECT a.id, a.natgw_id, g.vpc_id, a.direction, a.protocol, a.src_cidr, a.dst_cidr, a.port_range,
         a.policy, a.priority, a.description, a.gmt_created
    FROM natgw_acl a LEFT JOIN natgw g ON g.natgw_id = a.natgw_id`;

interface Gateway {
  natgw_id: string;
  vpc_id: string;
  status: string;
}

async function gateway(db: Db, natgwId: string, lock = false): Promise<Gateway> {
  const rows = await db.query<Gateway>(`SELECT natgw_id, vpc_id, status FROM natgw WHERE natgw_id = ?${lock ? ' FOR UPDATE' : ''}`, [natgwId]);
  if (rows[0]) return rows[0];
  const near = await nearByPrefix(natgwId, async (like) =>
    (await db.query<{ natgw_id: string }>('SELECT natgw_id FROM natgw WHERE natgw_id LIKE ? ORDER BY natgw_id LIMIT 20', [like])).map((r) => r.natgw_id),
  );
  throw new NotFoundError(`NAT gateway ${natgwId} not found in houyi.natgw`, near);
}

export interface AclFilter {
  natgw_id?: string;
  direction?: Direction;
}

export async function listAcl(db: Db, f: AclFilter): Promise<AclRule[]> {
  if (f.natgw_id !== undefined) await gateway(db, f.natgw_id);
  return db.query<AclRule>(
    `${SELECT_RULES}
      WHERE (? IS NULL OR a.natgw_id = ?) AND (? IS NULL OR a.direction = ?)
      ORDER BY a.natgw_id, a.direction, a.priority, a.id`,
    [f.natgw_id ?? null, f.natgw_id ?? null, f.direction ?? null, f.direction ?? null],
  );
}

const FIND_SAME = `${SELECT_RULES}
  WHERE a.natgw_id = ? AND a.direction = ? AND a.protocol = ? AND a.src_cidr = ? AND a.dst_cidr = ? AND a.port_range = ?`;

const INSERT_RULE = `INSERT INTO natgw_acl (natgw_id, direction, protocol, src_cidr, dst_cidr, port_range, policy, priority, description)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function sameKey(r: AclRuleInput): unknown[] {
  return [r.natgw_id, r.direction, r.protocol, r.src_cidr, r.dst_cidr, r.port_range];
}

function duplicate(r: AclRuleInput, existing: AclRule): ConflictError {
  return new ConflictError(
    `NAT gateway ${r.natgw_id} already has rule ${existing.id} for ${r.direction} ${r.protocol} ${r.src_cidr} -> ${r.dst_cidr} ports ${r.port_range} (${existing.policy}, priority ${existing.priority})`,
  );
}

function insertParams(r: AclRuleInput): unknown[] {
  return [...sameKey(r), r.policy, r.priority, r.description];
}

function assertUsable(g: Gateway): void {
  if (g.status !== 'available') throw new ConflictError(`NAT gateway ${g.natgw_id} is ${g.status}, not available`);
}

/** Checked against the table (gateway usable, no duplicate); apply() checks again under the gateway's row lock and inserts. */
export async function planAddAcl(db: Db, rule: AclRuleInput): Promise<PlannedChange<AclRule>> {
  assertUsable(await gateway(db, rule.natgw_id));
  const [dup] = await db.query<AclRule>(FIND_SAME, sameKey(rule));
  if (dup) throw duplicate(rule, dup);
  return {
    plan: { action: `add ${rule.direction} ${rule.policy} rule to NAT gateway ${rule.natgw_id}`, targets: [rule.natgw_id], sql: [{ db: 'houyi', statement: INSERT_RULE, params: insertParams(rule) }] },
    audit: { command: 'hyapi add_natgw_acl', targets: [rule.natgw_id], detail: { rule } },
    resultDetail: (row) => ({ acl_id: row.id }),
    apply: () =>
      db.transaction(async (tx) => {
        // The gateway row is the lock two operators adding the same rule queue on.
        assertUsable(await gateway(tx, rule.natgw_id, true));
        const [again] = await tx.query<AclRule>(FIND_SAME, sameKey(rule));
        if (again) throw duplicate(rule, again);
        const { insertId } = await tx.execute(INSERT_RULE, insertParams(rule));
        const [created] = await tx.query<AclRule>(`${SELECT_RULES} WHERE a.id = ?`, [insertId]);
        return created!;
      }),
  };
}

/** The rule to delete (on natgwId when given) and its plan; apply() finds it again under lock and deletes it. */
export async function planDeleteAcl(db: Db, id: number, natgwId: string | undefined): Promise<PlannedChange<AclRule> & { rule: AclRule; what: string }> {
  const find = async (d: Db, lock: boolean): Promise<AclRule> => {
    const [r] = await d.query<AclRule>(`${SELECT_RULES} WHERE a.id = ?${lock ? ' FOR UPDATE' : ''}`, [id]);
    if (!r || (natgwId !== undefined && r.natgw_id !== natgwId)) throw new NotFoundError(`ACL rule ${id} not found${natgwId ? ` on NAT gateway ${natgwId}` : ''}`);
    return r;
  };
  const rule = await find(db, false);
  const what = `delete ACL rule ${rule.id} of ${rule.natgw_id}: ${describeRule(rule)}`;
  return {
    rule,
    what,
    plan: { action: what, targets: [rule.natgw_id], sql: [{ db: 'houyi', statement: 'DELETE FROM natgw_acl WHERE id = ?', params: [rule.id] }] },
    audit: { command: 'hyapi delete_natgw_acl', targets: [rule.natgw_id], detail: { rule } },
    resultDetail: () => ({ acl_id: rule.id }),
    apply: async () => {
      await db.transaction(async (tx) => {
        await find(tx, true);
        await tx.execute('DELETE FROM natgw_acl WHERE id = ?', [rule.id]);
      });
      return rule;
    },
  };
}

/** acl_id=N: a rule id. */
export function parseAclId(v: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(id)) throw new UsageError(`acl_id: "${v}" is not a rule id`);
  return id;
}

export function describeRule(r: AclRuleInput): string {
  return `${r.direction} ${r.protocol} ${r.src_cidr} -> ${r.dst_cidr} ports ${r.port_range} ${r.policy} priority ${r.priority}`;
}
