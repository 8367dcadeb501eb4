import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The server under test: the already-built binary on a fresh SQLite
// database in a temporary directory, on a fixed port.
const port = Number(process.env.GUREUM_E2E_PORT ?? 3210);
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/gureum/target');
if (!process.env.GUREUM_E2E_DIR) {
  process.env.GUREUM_E2E_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'gureum-e2e-'));
}
export const ADMIN_PASSWORD = process.env.GUREUM_E2E_ADMIN_PASSWORD ?? 'admin-e2e-secret';
process.env.GUREUM_E2E_ADMIN_PASSWORD = ADMIN_PASSWORD;

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  // Removes the run's database and image store (GUREUM_E2E_KEEP=1 keeps them).
  globalTeardown: './teardown.ts',
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    headless: true,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `${process.env.GUREUM_E2E_SERVER ?? `${targetDir}/debug/gureum-server`} serve --bootstrap`,
    cwd: path.resolve(__dirname, '..'),
    url: `http://127.0.0.1:${port}/login`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      ...(process.env as Record<string, string>),
      GUREUM_DATABASE_URL: `sqlite:${path.join(process.env.GUREUM_E2E_DIR!, 'gureum.db')}`,
      GUREUM_LISTEN: `127.0.0.1:${port}`,
      GUREUM_PUBLIC_URL: `http://127.0.0.1:${port}`,
      GUREUM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // Image data stays in the run's own directory; images.spec.ts tests
      // the size limit against this cap.
      GUREUM_IMAGE__STORE_DIR: path.join(process.env.GUREUM_E2E_DIR!, 'images'),
      GUREUM_IMAGE__MAX_IMAGE_SIZE: String(64 * 1024 * 1024),
    },
  },
});
