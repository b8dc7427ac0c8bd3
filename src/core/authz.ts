import type { Context } from './context.js';
import type { Role } from './command.js';
import { ConfigError, PermissionError, RdsctlError, UnavailableError } from './errors.js';

// Who may do what. Roles come from where the profile says (`roles_source`): the dbaas
// `operator` table keyed by OS user, or nowhere (a personal profile: everything allowed).
// The check fails closed: when the table cannot be read, nothing that needs a role runs.

const RANK: Record<Exclude<Role, 'none'>, number> = { read: 1, operator: 2, admin: 3 };
const TABLE_ROLE: Record<string, Exclude<Role, 'none'>> = { readonly: 'read', operator: 'operator', admin: 'admin' };
function operatorRole(ctx: Context): Promise<Exclude<Role, 'none'> | null> {
  return ctx.once('operator-role', async () => {
    const rows = await ctx.db('dbaas').query<{ role: string }>('SELECT role FROM operator WHERE os_user = ?', [ctx.osUser]);
    return rows[0] ? TABLE_ROLE[rows[0].role] ?? null : null;
  });
}

/** Throws PermissionError unless the OS user holds at least `needed` for `what`. */
export async function requireRole(ctx: Context, needed: Role, what: string): Promise<void> {
  if (needed === 'none') return;
  const profile = ctx.profile();
  if (profile.roles_source === 'none') return;
  let has: Exclude<Role, 'none'> | null;
  try {
    has = await operatorRole(ctx);
  } catch (e) {
    const why = e instanceof RdsctlError ? e.message : String(e);
    // A profile whose dbaas login is wrong is a config error wherever it shows, here too.
    if (e instanceof ConfigError) throw new ConfigError(`cannot check the role of ${ctx.osUser} for ${what}: ${why}`, { cause: e });
    throw new UnavailableError(`cannot check the role of ${ctx.osUser} for ${what}: ${why}`);
  }
  if (!has) {
    // Said without a role name to aim for: a multi-action verb's sub-actions may need more than `needed`.
    throw new PermissionError(`${what} needs a role (${needed} or more); OS user ${ctx.osUser} has none in dbaas.operator`, { hint: 'ask an admin to add you' });
  }
  if (RANK[has] < RANK[needed]) {
    throw new PermissionError(`${what} needs role ${needed}; OS user ${ctx.osUser} has ${has}`);
  }
}
