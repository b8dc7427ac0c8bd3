import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

// The built binary, through a real pipe: output far beyond the 64 KiB pipe buffer must arrive
// whole before the process exits (runCli calls process.exit).
it('bin/rdsctl delivers large JSON through a pipe completely', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-pipe-'));
  try {
    const profiles = Array.from({ length: 3000 }, (_, i) => ({ name: `p${i}`, ssh: { user: 'operator-with-a-long-name' } }));
    fs.writeFileSync(path.join(tmp, 'c.json'), JSON.stringify({ current: 'p0', profiles }));
    const out = execFileSync('bin/rdsctl', ['--config', path.join(tmp, 'c.json'), 'config', 'list', '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(out.length).toBeGreaterThan(256 * 1024);
    expect(JSON.parse(out)).toHaveLength(3000);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
