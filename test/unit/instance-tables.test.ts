import fs from 'node:fs';
import path from 'node:path';
import { INSTANCE_TABLES, NOT_RELEASED } from '../../src/rds/instance-tables.js';
import { METADATA_SQL } from '../../src/rds/delete.js';

// The delete's table list comes from one place (src/rds/instance-tables.ts), filled by the modules
// that own the tables. These checks keep it honest against the schema.

const SCHEMA = new URL('../../fixtures/schema/dbaas/', import.meta.url).pathname;

function tablesWithCustinsId(): string[] {
  const out: string[] = [];
  for (const f of fs.readdirSync(SCHEMA).filter((x) => x.endsWith('.sql')).sort()) {
    const text = fs.readFileSync(path.join(SCHEMA, f), 'utf8');
    for (const m of text.matchAll(/CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*?)\n\)/g)) if (/^\s*custins_id\s/m.test(m[2]!)) out.push(m[1]!);
  }
  return out;
}

describe('instance tables', () => {
  test('every dbaas table with a custins_id is released by the delete or listed as kept, never both', () => {
    const released = INSTANCE_TABLES.map((t) => t.table);
    const kept = Object.keys(NOT_RELEASED);
    expect(released.filter((t) => kept.includes(t))).toEqual([]);
    expect(tablesWithCustinsId().filter((t) => t !== 'custins' && !released.includes(t) && !kept.includes(t))).toEqual([]);
    expect(new Set(released).size).toBe(released.length);
  });

  test('each release acts on one instance: one placeholder, the custins id, on the table it names', () => {
    for (const t of INSTANCE_TABLES) {
      expect(t.release.split('?').length - 1).toBe(1);
      expect(t.release).toMatch(new RegExp(`^(UPDATE|DELETE FROM) ${t.table} .*WHERE (custins_)?id = \\?$`));
    }
  });

  test('the delete runs exactly these statements, in this order (behaviour of the hand-kept list before)', () => {
    expect(METADATA_SQL.map(([t]) => t)).toEqual([
      'custins', 'custins_account', 'custins_secret', 'custins_db', 'custins_whitelist', 'rds_ecs_sg_rel', 'custins_slb', 'vpc_custins_mapping',
      'maxscale_ins', 'maxscale_link', 'rds_data_route', 'baklist', 'logplan', 'instance_perf', 'db_perf', 'aurora_ha',
    ]);
    expect(METADATA_SQL.map(([, sql]) => sql)).toEqual(INSTANCE_TABLES.map((t) => t.release));
  });
});
