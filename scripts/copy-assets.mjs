// Copies the generated reference tables next to the compiled code: src/tables/index.ts reads them
// relative to its own URL, and tsc does not copy non-TS files. Run after `tsc` in the build.
import { cpSync, existsSync } from 'node:fs';

const from = new URL('../src/tables/data/', import.meta.url);
const to = new URL('../dist/src/tables/data/', import.meta.url);

if (!existsSync(from)) {
  console.error('copy-assets: src/tables/data/ is missing; run `npx tsx scripts/update-tables.ts`');
  process.exit(1);
}
cpSync(from, to, { recursive: true });
