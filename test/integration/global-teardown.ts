import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

// Stops the run's lab (every process, by pid) and removes its files. Node-only imports, like
// global-setup.ts (Jest loads both with Node's own loader).
const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

export default async function globalTeardown(): Promise<void> {
  const root = process.env.RDSCTL_TEST_LAB_ROOT;
  if (!root) return;
  const env: NodeJS.ProcessEnv = { ...process.env, RDSCTL_CONFIG: path.join(root, 'config.json') };
  delete env.RDSCTL_PROFILE;
  execFileSync(process.execPath, [path.join(REPO, 'bin/rdsctl'), 'lab', 'down', '--purge', '--dir', path.join(root, 'lab')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  fs.rmSync(root, { recursive: true, force: true });
}
