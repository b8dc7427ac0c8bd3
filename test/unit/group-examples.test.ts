import { COMMANDS, GROUP_EXAMPLES, GROUPS } from '../../src/commands/index.js';
import { runCli } from '../support/run.js';

// Every command group's --help ends with examples, and each example names a real command.

const env = { HOME: '/nonexistent', RDSCTL_CONFIG: '/nonexistent/config.json', PATH: process.env.PATH };

it('every group has examples', () => {
  expect(Object.keys(GROUP_EXAMPLES).sort()).toEqual(Object.keys(GROUPS).sort());
});

it.each(Object.entries(GROUP_EXAMPLES))('%s --help shows its examples, each a registered command', async (group, lines) => {
  const r = await runCli([group, '--help'], { env });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('\nExamples:\n');
  for (const line of lines) {
    expect(r.stdout).toContain(`  $ ${line}\n`);
    const words = line.slice(line.indexOf('rdsctl ') + 'rdsctl '.length).split(' ');
    expect(COMMANDS.some((c) => c.path.every((w, i) => words[i] === w) && c.path[0] === group)).toBe(true);
  }
});
