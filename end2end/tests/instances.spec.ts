// Project › Compute › Instances: launch from the dialog and watch the
// instance go ACTIVE without a reload (its changes are pushed by the
// server), stop and start it, read its console and action log, delete it;
// a launch over quota is refused inline with the quota's name; bulk
// actions; the page in Korean. The embedded agent runs on libvirt's test
// driver, so instances boot in milliseconds and no guest runs.
import { test, expect, APIRequestContext, Locator, Page } from '@playwright/test';
import * as crypto from 'node:crypto';
import { ADMIN_PASSWORD, hydrated, loginAdmin, watch as watchProblems } from './helpers';

const suffix = Date.now().toString(36);
const IMAGE = `e2e-boot-${suffix}`;
const PASSWORD = 'Inst-e2e-secret-7';
let imageId = '';

const problems: string[] = [];
const watch = (page: Page) => watchProblems(page, problems);

test.describe.configure({ mode: 'serial' });

test.afterEach(async ({}, info) => {
  if (info.status !== info.expectedStatus && problems.length) {
    console.log(`browser problems:\n${problems.join('\n')}`);
  }
});

async function adminToken(request: APIRequestContext) {
  const auth = await request.post('/identity/v3/auth/tokens', {
    data: {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    },
  });
  expect(auth.status()).toBe(201);
  return { 'X-Auth-Token': auth.headers()['x-subject-token'] };
}

test.beforeAll(async ({ request }) => {
  // A public image to boot from, made over the REST API.
  const headers = await adminToken(request);
  const created = await request.post('/image/v2/images', {
    headers,
    data: { name: IMAGE, disk_format: 'raw', container_format: 'bare', visibility: 'public' },
  });
  expect(created.status()).toBe(201);
  const id = (await created.json()).id;
  imageId = id;
  const put = await request.put(`/image/v2/images/${id}/file`, {
    headers: { ...headers, 'Content-Type': 'application/octet-stream' },
    data: crypto.randomBytes(64 * 1024),
  });
  expect(put.status()).toBe(204);
});

/** Opens a row's Actions menu and picks `action`; retried, since the table
 *  may be fetched again (a new instance appeared) while the menu is open. */
async function rowAction(row: Locator, action: string) {
  await expect(async () => {
    const menu = row.getByTestId('row-actions');
    if (!(await menu.getAttribute('open').catch(() => null))) await menu.locator('summary').click();
    await row.locator(`[data-action=${action}]`).click({ timeout: 1_000 });
  }).toPass();
}

async function openLaunch(page: Page) {
  const dialog = page.getByRole('dialog');
  await expect(async () => {
    if (!(await dialog.isVisible())) await page.getByTestId('launch').click();
    await expect(dialog).toBeVisible({ timeout: 1_000 });
  }).toPass();
  await expect(dialog.getByTestId('launch-form')).toBeVisible();
  return dialog;
}

async function launch(page: Page, name: string, opts: { flavor?: string; count?: number } = {}) {
  const d = await openLaunch(page);
  await d.getByLabel('Instance name').fill(name);
  await d.getByLabel('Image').selectOption(imageId);
  if (opts.flavor) await d.locator(`[data-flavor="${opts.flavor}"] input`).check();
  if (opts.count) await d.getByLabel('Count').fill(String(opts.count));
  await d.getByRole('button', { name: 'Launch Instance' }).click();
  return d;
}

test('launch from the dialog: BUILD then ACTIVE without a reload; stop, start, console, action log, delete', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/project/instances');
  await hydrated(page);
  // A marker that a reload would wipe: the page must change by itself.
  await page.evaluate(() => ((window as unknown as { stay: number }).stay = 1));

  const name = `e2e-vm-${suffix}`;
  const d = await openLaunch(page);
  // The quota impact follows the flavor and the count.
  await d.locator('[data-flavor="m1.small"] input').check();
  await d.getByLabel('Count').fill('2');
  await expect(d.locator('[data-quota="RAM"]')).toContainText('+ 4,096 MiB');
  await d.getByLabel('Count').fill('1');
  await d.locator('[data-flavor="m1.tiny"] input').check();
  await d.getByLabel('Instance name').fill(name);
  await d.getByLabel('Image').selectOption({ label: `${IMAGE} (64.0 KiB)` });
  await d.getByRole('button', { name: 'Launch Instance' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);

  const row = page.locator(`tr[data-instance="${name}"]`);
  await expect(row).toBeVisible();
  await expect(row).toHaveAttribute('data-status', 'ACTIVE');
  await expect(row).toContainText('Active');
  await expect(row).toContainText('Running');
  await expect(row).toContainText('m1.tiny');
  await expect(row).toContainText(IMAGE);

  // Shut off, then start: each change arrives pushed, with the task shown meanwhile.
  await rowAction(row, 'stop');
  await expect(row).toHaveAttribute('data-status', 'SHUTOFF');
  await expect(row).toContainText('Shut down');
  // What a shut-off instance cannot do is not offered.
  await expect(row.locator('[data-action=stop]')).toHaveCount(0);
  await expect(row.locator('[data-action=pause]')).toHaveCount(0);
  await rowAction(row, 'start');
  await expect(row).toHaveAttribute('data-status', 'ACTIVE');
  expect(await page.evaluate(() => (window as unknown as { stay?: number }).stay)).toBe(1);

  // The detail page: overview, console log, action log.
  await row.getByRole('link', { name }).click();
  await hydrated(page);
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await expect(page.getByTestId('detail-status').locator('[data-status]').first()).toHaveAttribute('data-status', 'ACTIVE');
  await page.getByRole('link', { name: 'Console Log' }).click();
  await expect(page.getByTestId('console-log')).toContainText('simulated instance');
  await page.getByRole('link', { name: 'Action Log' }).click();
  const log = page.getByTestId('action-log');
  await expect(log.locator('tr[data-action=create]')).toHaveCount(1);
  await expect(log.locator('tr[data-action=stop]')).toHaveCount(1);
  await expect(log.locator('tr[data-action=start]')).toHaveCount(1);
  // An action from the detail page shows there live too.
  await page.getByRole('navigation', { name: 'Instance views' }).getByRole('link', { name: 'Overview' }).click();
  await page.locator('button[data-action=pause]').click();
  await expect(page.getByTestId('detail-status').locator('[data-status]').first()).toHaveAttribute('data-status', 'PAUSED');
  await page.locator('button[data-action=unpause]').click();
  await expect(page.getByTestId('detail-status').locator('[data-status]').first()).toHaveAttribute('data-status', 'ACTIVE');

  // Delete asks first; the row then goes.
  await page.goto('/project/instances');
  await hydrated(page);
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog')).toContainText(name);
  await page.getByTestId('confirm').click();
  await expect(row).toHaveCount(0);
});

test('a launch over quota is refused inline, naming the quota, and creates nothing', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/project/instances');
  await hydrated(page);
  const name = `e2e-toomany-${suffix}`;
  // 50 × 8 vCPUs is far over the default of 20 cores.
  const d = await launch(page, name, { flavor: 'm1.xlarge', count: 50 });
  await expect(d.locator('[data-quota="vCPUs"]')).toContainText('/ 20');
  await expect(d.getByRole('alert')).toContainText('Quota exceeded for');
  await expect(d.getByRole('alert')).toContainText(/cores|instances|ram/);
  await expect(page.getByRole('dialog')).toBeVisible();
  await d.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator(`tr[data-instance^="${name}"]`)).toHaveCount(0);
  // A name is required, inline.
  const d2 = await launch(page, '   ');
  await expect(d2.getByRole('alert')).toContainText('Give the instance a name');
  await d2.getByRole('button', { name: 'Cancel' }).click();
});

test('several launched at once appear live; bulk shut off and bulk delete', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/project/instances');
  await hydrated(page);
  const name = `e2e-bulk-${suffix}`;
  await launch(page, name, { count: 3 });
  await expect(page.getByRole('dialog')).toHaveCount(0);
  const rows = page.locator(`tr[data-instance^="${name}"]`);
  await expect(rows).toHaveCount(3);
  for (let i = 0; i < 3; i++) await expect(rows.nth(i)).toHaveAttribute('data-status', 'ACTIVE');
  for (let i = 0; i < 3; i++) await rows.nth(i).locator('input[type=checkbox]').check();
  await expect(page.getByTestId('bulk-count')).toHaveText('3 selected');
  await page.getByRole('button', { name: 'Shut Off' }).first().click();
  await expect(page.getByTestId('bulk-outcome')).toContainText('3 done');
  for (let i = 0; i < 3; i++) await expect(rows.nth(i)).toHaveAttribute('data-status', 'SHUTOFF');
  // Shutting off what is already off: each refusal is listed with its instance.
  await rows.nth(0).locator('input[type=checkbox]').check();
  await page.getByRole('button', { name: 'Shut Off' }).first().click();
  await expect(page.getByTestId('bulk-outcome').getByRole('alert')).toContainText(`${name}`);
  for (let i = 0; i < 3; i++) await rows.nth(i).locator('input[type=checkbox]').check();
  await page.getByTestId('bulk-delete').click();
  await page.getByTestId('confirm').click();
  await expect(rows).toHaveCount(0);
});

test('admin › instances lists every project; a member sees only theirs; Korean throughout', async ({ page, browser, request }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/project/instances');
  await hydrated(page);
  const name = `e2e-admin-${suffix}`;
  await launch(page, name);
  await expect(page.locator(`tr[data-instance="${name}"]`)).toHaveAttribute('data-status', 'ACTIVE');
  await page.goto('/admin/instances');
  await hydrated(page);
  const row = page.locator(`tr[data-instance="${name}"]`);
  await expect(row).toContainText('admin');
  await expect(row).toContainText('Active');

  // A member of another project: an empty list, in Korean.
  const headers = await adminToken(request);
  const project = await request.post('/identity/v3/projects', { headers, data: { project: { name: `e2e-inst-${suffix}`, domain_id: 'default' } } });
  expect(project.status()).toBe(201);
  const projectId = (await project.json()).project.id;
  const user = await request.post('/identity/v3/users', {
    headers,
    data: { user: { name: `e2e-inst-${suffix}`, password: PASSWORD, domain_id: 'default', default_project_id: projectId } },
  });
  expect(user.status()).toBe(201);
  const userId = (await user.json()).user.id;
  const role = (await (await request.get('/identity/v3/roles?name=member', { headers })).json()).roles[0].id;
  expect((await request.put(`/identity/v3/projects/${projectId}/users/${userId}/roles/${role}`, { headers })).status()).toBe(204);
  const context = await browser.newContext({ locale: 'ko-KR' });
  const ko = await context.newPage();
  watch(ko);
  await ko.goto('/login');
  await hydrated(ko);
  await ko.locator('#username').fill(`e2e-inst-${suffix}`);
  await ko.locator('#password').fill(PASSWORD);
  await ko.locator('button[type=submit]').first().click();
  await expect(ko).toHaveURL(/\/project/);
  await ko.goto('/project/instances');
  await hydrated(ko);
  await expect(ko.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(ko.getByRole('heading', { name: '인스턴스' })).toBeVisible();
  await expect(ko.getByText('아직 인스턴스가 없습니다')).toBeVisible();
  await expect(ko.locator(`tr[data-instance="${name}"]`)).toHaveCount(0);
  // Its own launch, in Korean, goes live too.
  const d = await (async () => {
    const dialog = ko.getByRole('dialog');
    await expect(async () => {
      if (!(await dialog.isVisible())) await ko.getByTestId('launch').click();
      await expect(dialog).toBeVisible({ timeout: 1_000 });
    }).toPass();
    return dialog;
  })();
  await expect(d.getByRole('heading', { name: '인스턴스 시작' })).toBeVisible();
  await d.getByLabel('인스턴스 이름').fill(`e2e-ko-${suffix}`);
  await d.getByLabel('이미지').selectOption(imageId);
  await d.getByRole('button', { name: '인스턴스 시작' }).click();
  const mine = ko.locator(`tr[data-instance="e2e-ko-${suffix}"]`);
  await expect(mine).toHaveAttribute('data-status', 'ACTIVE');
  await expect(mine).toContainText('활성');
  await expect(mine).toContainText('실행 중');
  // A member is not shown Admin › Instances.
  await ko.goto('/admin/instances');
  await expect(ko.getByTestId('denied')).toBeVisible();
  await context.close();
  // Clean up the admin's instance.
  await page.goto('/project/instances');
  await hydrated(page);
  await page.locator(`tr[data-instance="${name}"]`).getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(page.locator(`tr[data-instance="${name}"]`)).toHaveCount(0);
});

test("an admin sets a project's quotas; its member's launch dialog shows them and holds to them", async ({ page, browser, request }) => {
  watch(page);
  // A project with one member, made over the REST API.
  const headers = await adminToken(request);
  const pname = `e2e-quota-${suffix}`;
  const project = await request.post('/identity/v3/projects', { headers, data: { project: { name: pname, domain_id: 'default' } } });
  expect(project.status()).toBe(201);
  const projectId = (await project.json()).project.id;
  const user = await request.post('/identity/v3/users', {
    headers,
    data: { user: { name: pname, password: PASSWORD, domain_id: 'default', default_project_id: projectId } },
  });
  expect(user.status()).toBe(201);
  const userId = (await user.json()).user.id;
  const role = (await (await request.get('/identity/v3/roles?name=member', { headers })).json()).roles[0].id;
  expect((await request.put(`/identity/v3/projects/${projectId}/users/${userId}/roles/${role}`, { headers })).status()).toBe(204);

  // The admin sets its limits on the project's Quotas form.
  await loginAdmin(page);
  const setLimits = async (limits: Record<string, string>) => {
    await page.goto('/identity/projects');
    await hydrated(page);
    await page.locator(`tr[data-project="${pname}"]`).getByTestId('quotas').click();
    await expect(page).toHaveURL(/\/quotas$/);
    await hydrated(page);
    for (const [r, v] of Object.entries(limits)) await page.locator(`#q-${r}`).fill(v);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('status')).toContainText('saved');
  };
  await setLimits({ instances: '2', cores: '3' });

  // The member's launch dialog shows the project's own limits.
  const context = await browser.newContext();
  const m = await context.newPage();
  watch(m);
  await m.goto('/login');
  await hydrated(m);
  await m.locator('#username').fill(pname);
  await m.locator('#password').fill(PASSWORD);
  await m.locator('button[type=submit]').first().click();
  await expect(m).toHaveURL(/\/project/);
  await m.goto('/project/instances');
  await hydrated(m);
  let d = await openLaunch(m);
  await d.locator('[data-flavor="m1.tiny"] input').check();
  await expect(d.locator('[data-quota="Instances"]')).toContainText('0 + 1 / 2');
  await expect(d.locator('[data-quota="vCPUs"]')).toContainText('0 + 1 / 3');
  // Three at once is over the project's limit: refused inline, nothing made.
  await d.getByLabel('Instance name').fill(`${pname}-vm`);
  await d.getByLabel('Image').selectOption(imageId);
  await d.getByLabel('Count').fill('3');
  await expect(d.locator('[data-quota="Instances"]')).toContainText('0 + 3 / 2');
  await d.getByRole('button', { name: 'Launch Instance' }).click();
  await expect(d.getByRole('alert')).toContainText('Quota exceeded for');
  await expect(d.getByRole('alert')).toContainText(/instances/i);
  await d.getByRole('button', { name: 'Cancel' }).click();
  await expect(m.locator(`tr[data-instance^="${pname}-vm"]`)).toHaveCount(0);

  // The admin raises the limit; the member's next dialog shows it and the
  // same launch goes through.
  await setLimits({ instances: '5' });
  d = await openLaunch(m);
  await expect(d.locator('[data-quota="Instances"]')).toContainText('0 + 1 / 5');
  await d.getByLabel('Instance name').fill(`${pname}-vm`);
  await d.getByLabel('Image').selectOption(imageId);
  await d.locator('[data-flavor="m1.tiny"] input').check();
  await d.getByLabel('Count').fill('3');
  await d.getByRole('button', { name: 'Launch Instance' }).click();
  await expect(m.getByRole('dialog')).toHaveCount(0);
  await expect(m.locator(`tr[data-instance^="${pname}-vm"]`)).toHaveCount(3);
  await context.close();
  expect(problems).toEqual([]);
});
