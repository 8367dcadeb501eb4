import { test, expect, Locator, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADMIN_PASSWORD, hydrated, loginAdmin, watch as watchProblems } from './helpers';

const suffix = Date.now().toString(36);
const MiB = 1024 * 1024;
// The e2e server's image size cap (playwright.config.ts).
const MAX_IMAGE = 64 * MiB;
const shots = process.env.GUREUM_E2E_SHOTS ?? os.tmpdir();

const problems: string[] = [];
// Test files, in a directory of the worker's own (the runner loads this
// module too, to list the tests).
let files = '';
const watch = (page: Page) => watchProblems(page, problems);

/** A small but valid qcow2 image (qemu-img when present, else a v3 header by hand). */
function qcow2File(file: string) {
  try {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
    return;
  } catch {
    // Fall through to the hand-made header.
  }
  const cluster = 65536;
  const buf = Buffer.alloc(4 * cluster);
  buf.write('QFI\xfb', 0, 'latin1');
  buf.writeUInt32BE(3, 4); // version
  buf.writeUInt32BE(16, 20); // cluster_bits
  buf.writeBigUInt64BE(BigInt(16 * MiB), 24); // size
  buf.writeUInt32BE(1, 36); // l1_size
  buf.writeBigUInt64BE(BigInt(3 * cluster), 40); // l1_table_offset
  buf.writeBigUInt64BE(BigInt(cluster), 48); // refcount_table_offset
  buf.writeUInt32BE(1, 56); // refcount_table_clusters
  buf.writeUInt32BE(4, 96); // refcount_order
  buf.writeUInt32BE(104, 100); // header_length
  fs.writeFileSync(file, buf);
}

/** The stock `openstack` CLI (make test exports its path) as the admin. */
function openstack(args: string[]): string {
  const cli = process.env.GUREUM_OPENSTACK_CLI;
  if (!cli) throw new Error('GUREUM_OPENSTACK_CLI is not set: run the browser tests through `make test`');
  const base = `http://127.0.0.1:${process.env.GUREUM_E2E_PORT ?? 3210}`;
  return execFileSync(cli, args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      OS_AUTH_URL: `${base}/identity/v3`,
      OS_IDENTITY_API_VERSION: '3',
      OS_USERNAME: 'admin',
      OS_PASSWORD: ADMIN_PASSWORD,
      OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
    },
  });
}

function fileSha(algo: string, file: string) {
  return crypto.createHash(algo).update(fs.readFileSync(file)).digest('hex');
}

/** Opens Create Image. The panel hydrates after the page's own marker (its
 *  data arrives asynchronously), so an early click is retried. */
async function openDialog(page: Page, button: Locator) {
  const dialog = page.getByRole('dialog');
  await expect(async () => {
    if (!(await dialog.isVisible())) await button.click();
    await expect(dialog).toBeVisible({ timeout: 1_000 });
  }).toPass();
  return dialog;
}

async function openCreate(page: Page, label = 'Create image') {
  await page.goto('/project/images');
  await hydrated(page);
  return openDialog(page, page.getByRole('button', { name: label }));
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(() => {
  files = fs.mkdtempSync(path.join(os.tmpdir(), 'gureum-images-'));
});
test.afterAll(() => fs.rmSync(files, { recursive: true, force: true }));

test.afterEach(async ({}, info) => {
  if (info.status !== info.expectedStatus && problems.length) {
    console.log(`browser problems:\n${problems.join('\n')}`);
  }
});

test('create an image: upload with progress, Active, detail, download, edit, delete', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Images' })).toHaveCount(2);

  const name = `e2e-img-${suffix}`;
  const file = path.join(files, `${name}.img`);
  fs.writeFileSync(file, crypto.randomBytes(8 * MiB));
  const md5 = fileSha('md5', file);
  const sha512 = fileSha('sha512', file);

  const d = await openCreate(page);
  await d.locator('input[type=file]').setInputFiles(file);
  // The name comes from the file, the disk format from its extension.
  await expect(d.getByLabel('Name')).toHaveValue(name);
  await expect(d.getByLabel('Disk format')).toHaveValue('raw');
  await d.getByLabel('Description').fill('eight random MiB');
  // Watch for the progress bar from before the click: it appears as soon as
  // the upload starts and stays (at 100 %) once it is done.
  const progress = page.waitForSelector('[data-testid=upload-progress]', { state: 'attached' });
  await d.getByRole('button', { name: 'Create', exact: true }).click();
  await progress;
  await expect(d.getByRole('progressbar')).toBeVisible();
  await expect(d.getByTestId('upload-progress')).toHaveAttribute('data-done', 'true');
  await expect(d.getByTestId('upload-percent')).toHaveText('100%');
  await expect(d.getByTestId('upload-progress')).toContainText('8.0 MiB / 8.0 MiB');
  await page.screenshot({ path: path.join(shots, 'images-upload-done.png') });
  await d.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);

  const row = page.locator(`tr[data-image="${name}"]`);
  await expect(row.locator('[data-status]')).toHaveAttribute('data-status', 'active');
  await expect(row).toContainText('Active');
  await expect(row).toContainText('8.0 MiB');
  await expect(row).toContainText('Private');
  await expect(row).toContainText('admin'); // the owner's name
  await page.screenshot({ path: path.join(shots, 'images-list.png'), fullPage: true });

  // Search on the server.
  await page.getByRole('searchbox').fill(name);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${name}`));
  await expect(page.locator('tbody tr')).toHaveCount(1);

  await row.getByRole('link', { name }).click();
  await expect(page).toHaveURL(/\/project\/images\/[0-9a-f-]{36}$/);
  await expect(page.locator('[data-field=checksum]')).toHaveText(md5);
  await expect(page.locator('[data-field=os_hash_algo]')).toHaveText('sha512');
  await expect(page.locator('[data-field=os_hash_value]')).toHaveText(sha512);
  await expect(page.locator('[data-field=size]')).toContainText(`${8 * MiB} bytes`);
  await expect(page.locator('[data-property=description]')).toContainText('eight random MiB');
  await page.screenshot({ path: path.join(shots, 'images-detail.png'), fullPage: true });

  // The stock CLI downloads the browser's upload intact (it checks the
  // checksum itself too).
  const id = page.url().split('/').pop()!;
  const saved = path.join(files, `${name}.cli`);
  openstack(['image', 'save', '--file', saved, id]);
  expect(fileSha('sha512', saved)).toBe(sha512);

  // Download: the same bytes, named after the image.
  const pending = page.waitForEvent('download');
  await page.getByTestId('download').click();
  const download = await pending;
  expect(download.suggestedFilename()).toBe(`${name}.raw`);
  expect(fileSha('md5', await download.path())).toBe(md5);

  // Edit: tags, a property added, the description removed, protected.
  await page.getByRole('button', { name: 'Edit' }).click();
  const e = page.getByRole('dialog');
  await e.getByLabel('Tags').fill('e2e, linux');
  await e.getByLabel('Properties').fill('os_distro=debian');
  await e.getByLabel('Minimum disk (GiB)').fill('2');
  await e.getByLabel('Protected').check();
  await e.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.getByTestId('tags')).toContainText('e2e');
  await expect(page.getByTestId('tags')).toContainText('linux');
  await expect(page.locator('[data-property=os_distro]')).toContainText('debian');
  await expect(page.locator('[data-property=description]')).toHaveCount(0);
  await expect(page.locator('[data-field=min_disk]')).toHaveText('2');
  await expect(page.locator('[data-field=protected]')).toHaveText('Yes');

  // A protected image cannot be deleted: the service's capabilities offer
  // no Delete (and the service refuses it anyway, see the service tests).
  await expect(page.getByRole('button', { name: 'Delete' })).toHaveCount(0);
  await page.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('dialog').getByLabel('Protected').uncheck();
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('[data-field=protected]')).toHaveText('No');
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(page).toHaveURL(/\/project\/images$/);
  await expect(page.locator(`tr[data-image="${name}"]`)).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('a throttled upload shows its progress and can be cancelled', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const name = `e2e-slow-${suffix}`;
  const file = path.join(files, `${name}.img`);
  fs.writeFileSync(file, crypto.randomBytes(8 * MiB));
  const d = await openCreate(page);
  // Visibility: an admin may publish.
  await expect(d.getByLabel('Visibility').locator('option[value="public"]')).toHaveCount(1);
  await d.locator('input[type=file]').setInputFiles(file);
  // About 2 MiB/s up: the upload takes seconds, so it is seen half-way.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * MiB,
  });
  await d.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(d.getByTestId('upload-progress')).toBeVisible();
  await expect.poll(async () => Number((await d.getByRole('progressbar').getAttribute('aria-valuenow')) ?? 0)).toBeGreaterThan(0);
  const pct = Number(await d.getByRole('progressbar').getAttribute('aria-valuenow'));
  expect(pct).toBeLessThan(100);
  await expect(d.getByTestId('upload-progress')).toContainText('/ 8.0 MiB');
  await page.screenshot({ path: path.join(shots, 'images-upload-progress.png') });
  // Escape does not close the dialog while the upload runs; Cancel upload does stop it.
  await page.keyboard.press('Escape');
  await expect(d).toBeVisible();
  await d.getByRole('button', { name: 'Cancel upload' }).click();
  await expect(d.getByRole('alert')).toContainText('cancelled');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  const row = page.locator(`tr[data-image="${name}"]`);
  await expect(row.locator('[data-status]')).toHaveAttribute('data-status', 'queued');
  await d.getByRole('button', { name: 'Delete the queued image' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(row).toHaveCount(0);
  expect(problems).toEqual([]);
});

test('a qcow2 file declared raw is refused inline; the queued record can be deleted', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const name = `e2e-bad-${suffix}`;
  const file = path.join(files, `${name}.img`);
  qcow2File(file);

  const d = await openCreate(page);
  await d.locator('input[type=file]').setInputFiles(file);
  await expect(d.getByLabel('Disk format')).toHaveValue('raw');
  await d.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(d.getByRole('alert')).toContainText('qcow2');
  await expect(d.getByRole('alert')).toContainText('raw');
  await page.screenshot({ path: path.join(shots, 'images-format-error.png') });
  // The record stays queued (as in Horizon) until deleted from here.
  const row = page.locator(`tr[data-image="${name}"]`);
  await expect(row.locator('[data-status]')).toHaveAttribute('data-status', 'queued');
  await d.getByRole('button', { name: 'Delete the queued image' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(row).toHaveCount(0);

  // Declared as qcow2 (guessed from the extension), the same file is accepted.
  const good = path.join(files, `${name}.qcow2`);
  fs.copyFileSync(file, good);
  const d2 = await openCreate(page);
  await d2.locator('input[type=file]').setInputFiles(good);
  await expect(d2.getByLabel('Disk format')).toHaveValue('qcow2');
  await d2.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(d2.getByTestId('upload-progress')).toHaveAttribute('data-done', 'true');
  await d2.getByRole('button', { name: 'Done' }).click();
  const goodRow = page.locator(`tr[data-image="${name}"]`);
  await expect(goodRow.locator('[data-status]')).toHaveAttribute('data-status', 'active');
  await expect(goodRow).toContainText('qcow2');
  expect(problems).toEqual([]);
});

test('limits: a file over the cap is refused before any record; the upload route answers 413', async ({ page, request }) => {
  watch(page);
  await loginAdmin(page);
  const name = `e2e-big-${suffix}`;
  const file = path.join(files, `${name}.img`);
  fs.closeSync(fs.openSync(file, 'w'));
  fs.truncateSync(file, MAX_IMAGE + MiB); // sparse

  const d = await openCreate(page);
  await d.locator('input[type=file]').setInputFiles(file);
  await d.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(d.getByRole('alert')).toContainText('larger than the largest image accepted');
  await d.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator(`tr[data-image="${name}"]`)).toHaveCount(0);

  // The upload route itself: a record made for a small file, then a body
  // over the cap. The browser gets the server's 413 and message.
  const answer = await page.evaluate(async ({ name, size }) => {
    const form = new URLSearchParams({
      name, description: '', disk_format: 'raw', min_disk: '', min_ram: '',
      visibility: 'private', protected: 'false', size: '1',
    });
    const res = await fetch('/api/create_image', { method: 'POST', body: form });
    const id = await res.json();
    return await new Promise<{ status: number; body: string; id: string }>((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('PUT', `/portal/images/${id}/file`);
      xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText, id });
      xhr.onerror = () => resolve({ status: -1, body: '', id });
      xhr.send(new Blob([new Uint8Array(size)]));
    });
  }, { name, size: MAX_IMAGE + 1 });
  expect(answer.status).toBe(413);
  // The route answers the server functions' typed error (kind, key, English message).
  const refusal = JSON.parse(answer.body).Service;
  expect(refusal.kind).toBe('over_limit');
  expect(refusal.message).toContain('larger than the largest image accepted');

  // Without a session the route refuses; with one, a cross-site request is refused too.
  const anon = await request.put(`/portal/images/${answer.id}/file`, { data: Buffer.from('x'), failOnStatusCode: false });
  expect(anon.status()).toBe(401);
  const crossSite = await page.request.put(`/portal/images/${answer.id}/file`, {
    data: Buffer.from('x'), headers: { 'sec-fetch-site': 'cross-site' }, failOnStatusCode: false,
  });
  expect(crossSite.status()).toBe(403);

  await page.goto(`/project/images/${answer.id}`);
  await hydrated(page);
  await expect(page.locator('[data-field=status]')).toContainText('Queued');
  await openDialog(page, page.getByRole('button', { name: 'Delete' }));
  await page.getByTestId('confirm').click();
  await expect(page).toHaveURL(/\/project\/images$/);
  expect(problems).toEqual([]);
});

test('tabs, sharing with a project, and the admin panel', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  // A project to share with.
  const project = `e2e-imgshare-${suffix}`;
  await page.goto('/identity/projects');
  await hydrated(page);
  await openDialog(page, page.getByRole('button', { name: 'Create project' }));
  await page.getByRole('dialog').getByLabel('Name').fill(project);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const projectRow = page.locator(`tr[data-project="${project}"]`);
  await expect(projectRow).toBeVisible();
  const projectId = (await projectRow.locator('td.font-mono').textContent())!.trim();

  const name = `e2e-shared-${suffix}`;
  const file = path.join(files, `${name}.img`);
  fs.writeFileSync(file, crypto.randomBytes(64 * 1024));
  const d = await openCreate(page);
  await d.locator('input[type=file]').setInputFiles(file);
  await d.getByLabel('Visibility').selectOption('shared');
  await d.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(d.getByTestId('upload-progress')).toHaveAttribute('data-done', 'true');
  await d.getByRole('button', { name: 'Done' }).click();
  const row = page.locator(`tr[data-image="${name}"]`);
  await expect(row).toContainText('Shared');

  // Tabs keep their place in the URL; the image is the project's own, not public.
  await page.locator('a[data-tab="public"]').click();
  await expect(page).toHaveURL(/tab=public/);
  await expect(row).toHaveCount(0);
  await page.locator('a[data-tab="project"]').click();
  await expect(row).toBeVisible();

  // Share it with the project, by id; it is pending until that project answers.
  await row.getByRole('link', { name }).click();
  await hydrated(page);
  await page.getByLabel('Share with project (ID)').fill(projectId);
  await page.getByRole('button', { name: 'Share' }).click();
  const member = page.locator(`tr[data-member="${projectId}"]`);
  await expect(member).toContainText('Pending');
  await expect(member).toContainText(project);
  await page.screenshot({ path: path.join(shots, 'images-members.png'), fullPage: true });
  await member.getByRole('button', { name: 'Remove' }).click();
  await expect(member).toHaveCount(0);

  // Admin → Images: every project's images; deactivate and reactivate.
  await page.goto(`/admin/images?q=${name}`);
  await hydrated(page);
  await expect(page.getByRole('searchbox')).toHaveValue(name);
  const adminRow = page.locator(`tr[data-image="${name}"]`);
  await expect(adminRow).toContainText('admin');
  const status = adminRow.locator('[data-status]');
  await expect(async () => {
    const deactivate = adminRow.getByRole('button', { name: 'Deactivate' });
    if (await deactivate.isVisible()) await deactivate.click();
    await expect(status).toHaveAttribute('data-status', 'deactivated', { timeout: 2_000 });
  }).toPass();
  await expect(adminRow).toContainText('Deactivated');
  await page.screenshot({ path: path.join(shots, 'images-admin.png'), fullPage: true });
  await adminRow.getByRole('button', { name: 'Reactivate' }).click();
  await expect(status).toHaveAttribute('data-status', 'active');
  await adminRow.getByRole('link', { name }).click();
  await expect(page).toHaveURL(/\/admin\/images\/[0-9a-f-]{36}$/);
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(page).toHaveURL(/\/admin\/images$/);
  expect(problems).toEqual([]);
});

test('Korean: the images panel and its create dialog', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/settings');
  await hydrated(page);
  await page.getByLabel('Language').selectOption('ko');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  try {
    const d = await openCreate(page, '이미지 생성');
    await expect(page.getByRole('heading', { name: '이미지', exact: true })).toBeVisible();
    await expect(page.locator('a[data-tab="shared"]')).toHaveText('나와 공유됨');
    await expect(d.getByLabel('디스크 형식')).toHaveValue('raw');
    await page.screenshot({ path: path.join(shots, 'images-create-ko.png') });
    await page.keyboard.press('Escape');
  } finally {
    await page.goto('/settings');
    await hydrated(page);
    await page.getByLabel('언어').selectOption('en');
    await page.getByRole('button', { name: '저장' }).click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  }
  expect(problems).toEqual([]);
});
