import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RDSCTL = path.join(ROOT, 'bin', 'rdsctl');
export const RESULTS = path.join(ROOT, 'bench', 'results');
