import { RemoteError } from '../core/errors.js';
import { loadInstallCtx, type InstallCtx } from '../flow/install/context.js';
import type { FlowEnv, StepScope } from '../flow/types.js';
import { storeOf, type Store } from './store.js';

// What the backup and clone steps see: the install step context (the instance's two nodes,
// remote(), su(), tx() under the lease) plus the backup store. Reusing the install context is
// what lets the clone flow run the install library's own steps unchanged.

export interface StoreScope {
  store: Store;
  /** A command on the store host; throws RemoteError naming it unless it exits 0. */
  onStore(command: string, s: StepScope, o?: { stdin?: string; timeoutSec?: number }): Promise<string>;
  /** A command on the store whose exit code is the answer; stdout and stderr come back either way. */
  tryOnStore(command: string, s: StepScope, o?: { stdin?: string; timeoutSec?: number }): Promise<{ ok: boolean; out: string; err: string }>;
}

export type BackupCtx = InstallCtx & StoreScope;

export async function loadBackupCtx(env: FlowEnv): Promise<BackupCtx> {
  const c = await loadInstallCtx(env);
  return withStore(c);
}

export function withStore<C extends InstallCtx>(c: C): C & StoreScope {
  const store = storeOf(c.profile);
  return Object.assign(c, {
    store,
    async onStore(command: string, s: StepScope, o: { stdin?: string; timeoutSec?: number } = {}) {
      c.lease.assertHeld();
      return c.ssh.run(store.target, command, { signal: s.signal, timeoutSec: o.timeoutSec ?? 300, ...(o.stdin === undefined ? {} : { stdin: o.stdin }) });
    },
    async tryOnStore(command: string, s: StepScope, o: { stdin?: string; timeoutSec?: number } = {}) {
      const r = await c.ssh.exec(store.target, command, { signal: s.signal, timeoutSec: o.timeoutSec ?? 300, ...(o.stdin === undefined ? {} : { stdin: o.stdin }) });
      if (r.category && r.category !== 'exit') throw new RemoteError(`backup store ${store.host}: ${r.error ?? r.category}`, { host: store.host });
      return { ok: r.exitCode === 0, out: r.stdout, err: r.stderr };
    },
  });
}
