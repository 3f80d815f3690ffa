// What the browser scripts share: their arguments, the screenshot folder,
// and Debian's chromium (CHROMIUM overrides its path).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

// The command line's arguments by name; a missing one prints the usage and exits 2.
export function args(script, names) {
  const values = process.argv.slice(2);
  if (values.length < names.length || values.some((v) => !v)) {
    console.error(`usage: node ${script} ${names.map((n) => `<${n}>`).join(' ')}`);
    process.exit(2);
  }
  return values;
}

// A headless chromium, with the screenshot folder made.
export async function launch(shots) {
  mkdirSync(shots, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}
