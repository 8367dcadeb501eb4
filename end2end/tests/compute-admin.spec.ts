// Key Pairs, and the compute admin panels: Flavors, Hypervisors and
// System Information, in English and (one page) in Korean.
import { test, expect, Page } from '@playwright/test';
import { hydrated, loginAdmin, watch as watchProblems } from './helpers';

const suffix = Date.now().toString(36);

const problems: string[] = [];
const watch = (page: Page) => watchProblems(page, problems);

test.describe.configure({ mode: 'serial' });

// A valid ed25519 public key line (any 32 bytes make a well-formed key).
const ED25519 =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g e2e@gureum';

test('key pairs: a created private key is shown once; import and delete', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/project/key_pairs');
  await hydrated(page);

  const made = `e2e-made-${suffix}`;
  await page.getByRole('button', { name: 'Create Key Pair' }).first().click();
  const d = page.getByRole('dialog');
  await d.getByLabel('Name').fill(made);
  await d.getByRole('button', { name: 'Create Key Pair' }).click();
  // The dialog now holds the private key, with the warning and a download.
  const key = page.getByTestId('private-key');
  await expect(key).toHaveValue(/BEGIN OPENSSH PRIVATE KEY/);
  await expect(page.getByRole('dialog')).toContainText('only time');
  const download = page.getByTestId('download-key');
  await expect(download).toHaveAttribute('download', `${made}.pem`);
  await expect(download).toHaveAttribute('href', /^data:application\/x-pem-file/);
  const downloaded = page.waitForEvent('download');
  await download.click();
  expect((await downloaded).suggestedFilename()).toBe(`${made}.pem`);
  await page.getByRole('dialog').getByRole('button', { name: 'I have saved it' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  // The row stays, with its fingerprint; nothing shows the private key again.
  const row = page.locator(`tr[data-keypair="${made}"]`);
  await expect(row.getByTestId('fingerprint')).toHaveText(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
  await expect(page.getByTestId('private-key')).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(row).toBeVisible();
  await expect(page.getByTestId('private-key')).toHaveCount(0);
  expect(await page.content()).not.toContain('PRIVATE KEY');

  // Import: a bad key is refused inline by the service; a good one is listed.
  const imported = `e2e-imported-${suffix}`;
  await page.getByRole('button', { name: 'Import Public Key' }).click();
  const i = page.getByRole('dialog');
  await i.getByLabel('Name').fill(imported);
  await i.getByLabel('Public Key').fill('ssh-ed25519 not-a-key');
  await i.getByRole('button', { name: 'Import Public Key' }).click();
  await expect(i.getByRole('alert')).toContainText('Keypair data is invalid');
  await i.getByLabel('Public Key').fill(ED25519);
  await i.getByRole('button', { name: 'Import Public Key' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  const irow = page.locator(`tr[data-keypair="${imported}"]`);
  await expect(irow.getByTestId('fingerprint')).toHaveText(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

  // The filter finds one of them.
  await page.getByRole('searchbox').fill(`e2e-imported-${suffix}`);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await page.goto('/project/key_pairs');
  await hydrated(page);

  // Delete asks first.
  for (const name of [made, imported]) {
    const r = page.locator(`tr[data-keypair="${name}"]`);
    await r.getByRole('button', { name: 'Delete' }).click();
    await expect(page.getByRole('dialog')).toContainText(name);
    await page.getByTestId('confirm').click();
    await expect(r).toHaveCount(0);
  }
});

test('flavors: create, listed, a bad size refused inline, delete', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/admin/flavors');
  await hydrated(page);
  const name = `e2e.flavor-${suffix}`;
  await page.getByRole('button', { name: 'Create Flavor' }).click();
  const d = page.getByRole('dialog');
  await d.getByLabel('Name').fill(name);
  await d.getByLabel('VCPUs').fill('2');
  await d.getByLabel('RAM (MiB)').fill('1024');
  await d.getByLabel('Root Disk (GiB)').fill('5');
  await d.getByLabel('Description').fill('made by the browser test');
  await d.getByRole('button', { name: 'Create Flavor' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  const row = page.locator(`tr[data-flavor="${name}"]`);
  await expect(row).toContainText('1 GiB');
  await expect(row).toContainText('made by the browser test');

  // The same name again: the service's conflict, inline.
  await page.getByRole('button', { name: 'Create Flavor' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill(name);
  await page.getByRole('dialog').getByRole('button', { name: 'Create Flavor' }).click();
  await expect(page.getByRole('dialog').getByRole('alert')).toContainText('already exists');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();

  // Edit the description.
  await row.getByRole('button', { name: 'Edit Description' }).click();
  await page.getByRole('dialog').getByLabel('Description').fill('changed');
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(row).toContainText('changed');

  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(row).toHaveCount(0);
});

/** The embedded agent's node, once it has sent a heartbeat. */
async function nodeRow(page: Page) {
  const row = page.locator('tr[data-node]').first();
  await expect(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(row).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  return row;
}

test('hypervisors: the embedded node is up; disable with a reason, enable', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/admin/hypervisors');
  await hydrated(page);
  const row = await nodeRow(page);
  await expect(row.getByTestId('node-state')).toContainText('Up');
  await expect(row.getByTestId('node-status')).toContainText('Enabled');
  await expect(page.getByTestId('usage-vcpus')).toContainText('Used');
  await expect(page.getByTestId('usage-ram')).toContainText('Used');
  await expect(page.getByTestId('usage-disk')).toContainText('GiB');

  await row.getByRole('button', { name: 'Disable Service' }).click();
  await page.getByRole('dialog').getByLabel('Reason').fill('e2e maintenance');
  await page.getByRole('dialog').getByRole('button', { name: 'Disable Service' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(row.getByTestId('node-status')).toContainText('Disabled');
  await expect(row.getByTestId('node-status')).toContainText('e2e maintenance');

  await row.getByRole('button', { name: 'Enable Service' }).click();
  await expect(row.getByTestId('node-status')).toContainText('Enabled');
  await expect(row.getByRole('button', { name: 'Disable Service' })).toBeVisible();
});

test('system information: the catalog and the compute service', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/admin/info');
  await hydrated(page);
  for (const type of ['compute', 'identity', 'image']) {
    await expect(page.locator(`tr[data-service="${type}"]`)).toBeVisible();
  }
  await expect(page.locator('tr[data-service="identity"]')).toContainText('http');
  await page.locator('a[data-tab="compute"]').click();
  await expect(page).toHaveURL(/tab=compute/);
  const svc = page.locator('tr[data-compute-service]').first();
  await expect(svc).toContainText('nova-compute');
  await expect(svc.getByTestId('service-state')).toContainText('Up');
  await expect(svc.getByTestId('service-status')).toContainText('Enabled');
});

test('hypervisors and key pairs in Korean', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'ko-KR' });
  const page = await context.newPage();
  watch(page);
  // The admin's stored language is not set: the browser's Korean applies.
  await loginAdmin(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await page.goto('/admin/hypervisors');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: '하이퍼바이저', exact: true })).toBeVisible();
  await expect(page.getByText('하이퍼바이저 요약')).toBeVisible();
  const row = page.locator('tr[data-node]').first();
  await expect(row.getByTestId('node-state')).toContainText('작동 중');
  await expect(row.getByRole('button', { name: '서비스 비활성화' })).toBeVisible();
  await page.goto('/project/key_pairs');
  await hydrated(page);
  await expect(page.getByRole('button', { name: '공개 키 가져오기' })).toBeVisible();
  await page.getByRole('button', { name: '공개 키 가져오기' }).click();
  const d = page.getByRole('dialog');
  await d.getByLabel('이름').fill(`e2e-ko-${suffix}`);
  await d.getByLabel('공개 키').fill('garbage');
  await d.getByRole('button', { name: '공개 키 가져오기' }).click();
  await expect(d.getByRole('alert')).toContainText('키 페어 데이터가 올바르지 않습니다');
  await context.close();
});

test.afterAll(() => {
  expect(problems, problems.join('\n')).toEqual([]);
});
