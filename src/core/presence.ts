// Presence checks: one statement that says which of several lookups would find a row, so a
// command that tries many lookups on one metadb (go2which: every kind of name) asks once and then
// runs only the lookups that hit. Each lookup's owner writes its check next to its query: the
// same table and the same WHERE (an equality on the same index), so a check that finds nothing
// means the lookup finds nothing.

export interface Presence {
  /** "<table> <alias> WHERE <the lookup's condition>", with ? placeholders; fixed text, never built from input. */
  from: string;
  params: unknown[];
}

/**
 * One UNION ALL over the checks: a row `g = i` for each check i that finds at least one row.
 * Each branch stops at its first row (LIMIT 1) on the lookup's own index.
 */
export function presenceQuery(checks: readonly Presence[]): { sql: string; params: unknown[] } {
  return {
    sql: checks.map((c, i) => `(SELECT ${i} AS g FROM ${c.from} LIMIT 1)`).join(' UNION ALL '),
    params: checks.flatMap((c) => c.params),
  };
}
