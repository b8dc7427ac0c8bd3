import { FlowRegistry } from './registry.js';
import { deleteFlow } from './delete/index.js';
import { installFlow } from './install/index.js';
import { backupFlow } from '../backup/backup-flow.js';
import { cloneFlow } from '../backup/clone-flow.js';
import { failoverFlow, switchoverFlow } from '../ha/flows.js';
import { rebuildFlow } from '../ha/rebuild.js';
import { migrateFlow, migrateUndoFlow } from '../lifecycle/migrate.js';
import { resizeFlow } from '../lifecycle/resize.js';
import { upgradeFlow } from '../lifecycle/upgrade.js';
import { restartFlow, startFlow, stopFlow } from '../lifecycle/power.js';
import { haEnableFlow } from '../ha/enable.js';
import { encryptFlow } from '../backup/encrypt-flow.js';

// Every flow rdsctl can run, by the name task_queue.flow records. A new flow adds itself here
// (one import, one entry); see "How to add a flow" in the README.

export const flows = new FlowRegistry([installFlow, deleteFlow, backupFlow, cloneFlow, encryptFlow, switchoverFlow, failoverFlow, rebuildFlow, haEnableFlow, startFlow, stopFlow, restartFlow, migrateFlow, migrateUndoFlow, resizeFlow, upgradeFlow]);
