// After the browser tests: the run's temporary directory (database, image
// store) goes, unless GUREUM_E2E_KEEP is set to look at it.
import * as fs from 'node:fs';

export default async function teardown() {
  const dir = process.env.GUREUM_E2E_DIR;
  if (dir && !process.env.GUREUM_E2E_KEEP) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
