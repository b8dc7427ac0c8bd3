import { RdsctlError } from '../core/errors.js';
import type { FlowDef } from './types.js';
import { installFlow } from './install/index.js';
import { backupFlow } from '../backup/backup-flow.js';
import { cloneFlow } from '../backup/clone-flow.js';
import { failoverFlow, switchoverFlow } from '../ha/flows.js';
import { rebuildFlow } from '../ha/rebuild.js';
import { encryptFlow } from '../backup/encrypt-flow.js';

// Every flow rdsctl can run, by the name task_queue.flow records.

type AnyFlow = FlowDef<unknown, unknown>;

const FLOWS: Record<string, AnyFlow> = {
  [installFlow.name]: installFlow as unknown as AnyFlow,
  [backupFlow.name]: backupFlow as unknown as AnyFlow,
  [cloneFlow.name]: cloneFlow as unknown as AnyFlow,
  [switchoverFlow.name]: switchoverFlow as unknown as AnyFlow,
  [failoverFlow.name]: failoverFlow as unknown as AnyFlow,
  [rebuildFlow.name]: rebuildFlow as unknown as AnyFlow,
  [encryptFlow.name]: encryptFlow as unknown as AnyFlow,
};

export function flowByName(name: string): AnyFlow {
  const f = FLOWS[name];
  if (!f) throw new RdsctlError(`task flow "${name}" is not known to this rdsctl (known: ${Object.keys(FLOWS).join(', ')})`, 9);
  return f;
}
