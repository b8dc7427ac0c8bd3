import type { CommandSpec } from '../core/command.js';

// Every command rdsctl has: its words, one-line summary, the role it needs, and where it lives.
// `rdsctl --help` is built from this table; a verb's module loads only when it runs.
// Groups (config, lab, instance, …) get their summary from GROUPS.

export const GROUPS: Record<string, string> = {
  config: 'Profiles: which metadbs and SSH settings rdsctl uses',
  audit: 'The audit trail of every mutating command: who, when, targets, reason, result',
  lab: 'A local region on real MariaDB and OpenSSH for trying rdsctl and for tests',
};

export const COMMANDS: CommandSpec[] = [
  { path: ['audit', 'list'], summary: 'Show audit records (intent + result per command run)', role: 'read', load: () => import('./audit/list.js') },
  { path: ['audit', 'backfill'], summary: 'Copy local audit records missing from dbaas.ops_audit', role: 'operator', load: () => import('./audit/backfill.js') },
  { path: ['config', 'list'], summary: 'List profiles; * marks the active one', role: 'none', load: () => import('./config/list.js') },
  { path: ['config', 'show'], summary: 'Show a profile with secrets masked', role: 'none', load: () => import('./config/show.js') },
  { path: ['config', 'use'], summary: 'Make a profile the current one', role: 'none', load: () => import('./config/use.js') },
  { path: ['config', 'set'], summary: 'Set one key of a profile', role: 'none', load: () => import('./config/set.js') },
];
