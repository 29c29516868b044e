// Removes every "resolved" field from package-lock.json so the lock file names
// no registry host. `npm ci` works without them (it uses the configured
// registry). Run after `npm install` when dependencies change:
//   node strip-lock-resolved.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(new URL('./package-lock.json', import.meta.url));
const lock = JSON.parse(readFileSync(file, 'utf8'));
let n = 0;
for (const pkg of Object.values(lock.packages ?? {})) {
  if ('resolved' in pkg) { delete pkg.resolved; n++; }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`removed ${n} resolved field(s)`);
