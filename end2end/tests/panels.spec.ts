import { test, expect, Page } from '@playwright/test';
import { hydrated, loginAdmin, watch as watchProblems } from './helpers';

const suffix = Date.now().toString(36);

const problems: string[] = [];
const watch = (page: Page) => watchProblems(page, problems);

test.describe.configure({ mode: 'serial' });

test('roles: create, then delete through the confirm step', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const role = `e2e-role-${suffix}`;
  await page.goto('/identity/roles');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create role' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill(role);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const row = page.locator(`tr[data-role="${role}"]`);
  await expect(row).toBeVisible();
  // Creating the same name again shows the service's error inline.
  await page.getByRole('button', { name: 'Create role' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill(role);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('dialog').getByRole('alert')).toContainText('already exists');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  // Delete asks first; cancelling keeps the role.
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog')).toContainText(role);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toBeVisible();
  await row.getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(row).toBeVisible();
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(row).toHaveCount(0);
});

test('users: filter and sort on the server; a locked account says so', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const user = `e2e-lock-${suffix}`;
  await page.goto('/identity/users');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create user' }).click();
  const d = page.getByRole('dialog');
  await d.getByLabel('Name', { exact: true }).fill(user);
  await d.getByLabel('Password', { exact: true }).fill('lock-Password-1');
  await d.getByLabel('Confirm password').fill('lock-Password-1');
  await d.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator(`tr[data-user="${user}"]`)).toBeVisible();

  await page.getByRole('searchbox').fill('e2e-lock');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/q=e2e-lock/);
  await expect(page.locator('tbody tr')).toHaveCount(1);
  await page.getByRole('searchbox').fill('no-such-user-anywhere');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByText('Nothing matches this filter')).toBeVisible();

  await page.goto('/identity/users');
  await hydrated(page);
  await page.locator('a[data-sort="name"]').click();
  await expect(page).toHaveURL(/sort=name&dir=desc/);
  const names = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-user') ?? ''));
  expect(names).toEqual([...names].sort().reverse());

  // Sign out, then fail six times: the account locks and the page says so.
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await hydrated(page);
  let last = '';
  for (let i = 0; i < 6; i++) {
    await page.locator('#username').fill(user);
    await page.locator('#password').fill(`wrong-${i}`);
    await page.locator('button[type=submit]').first().click();
    await expect(page.getByRole('alert')).toBeVisible();
    await expect(page.locator('button[type=submit]').first()).toBeEnabled();
    last = (await page.getByRole('alert').textContent()) ?? '';
    if (/locked/.test(last)) break;
  }
  expect(last).toContain('locked');
});

test('application credentials: the secret is shown once', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const name = `e2e-cred-${suffix}`;
  await page.goto('/identity/application_credentials');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create application credential' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill(name);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const secret = page.getByTestId('ac-secret');
  await expect(secret).toBeVisible();
  expect((await secret.inputValue()).length).toBeGreaterThan(20);
  await page.getByRole('button', { name: 'I have saved it' }).click();
  await expect(page.getByTestId('ac-secret')).toHaveCount(0);
  await expect(page.locator(`tr[data-credential="${name}"]`)).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('ac-secret')).toHaveCount(0);
  await page.locator(`tr[data-credential="${name}"]`).getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(page.locator(`tr[data-credential="${name}"]`)).toHaveCount(0);
});

test('language: Korean is remembered for the user', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/settings');
  await hydrated(page);
  await page.getByLabel('Language').selectOption('ko');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('heading', { name: '사용자 설정' })).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  // Remembered across sessions: sign out and in again.
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: '로그아웃' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByRole('heading', { name: '로그인' })).toBeVisible();
  await loginAdmin(page);
  await expect(page.getByRole('navigation', { name: '주 메뉴' })).toContainText('사용자');
  await page.goto('/settings');
  await hydrated(page);
  await page.getByLabel('언어').selectOption('en');
  await page.getByRole('button', { name: '저장' }).click();
  await expect(page.getByRole('heading', { name: 'User settings' })).toBeVisible();
});

test('groups: create, add and remove a member', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const group = `e2e-group-${suffix}`;
  await page.goto('/identity/groups');
  await hydrated(page);
  await expect(page.getByText('No groups yet')).toBeVisible();
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill(group);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  const row = page.locator(`tr[data-group="${group}"]`);
  await expect(row).toBeVisible();
  await row.getByRole('link', { name: 'Members' }).click();
  await expect(page.getByRole('heading', { name: `Members of ${group}` })).toBeVisible();
  await expect(page.getByText('This group has no members')).toBeVisible();
  await page.getByLabel('User').fill('nobody-at-all');
  await page.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByRole('alert')).toContainText('Could not find a user named');
  await page.getByLabel('User').fill('admin');
  await page.getByRole('button', { name: 'Add user' }).click();
  const member = page.locator('tr[data-member="admin"]');
  await expect(member).toBeVisible();
  await member.getByRole('button', { name: 'Remove' }).click();
  await page.getByTestId('confirm').click();
  await expect(page.getByText('This group has no members')).toBeVisible();
});

test('projects and users: edit, disable, enable, set password, delete', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  const project = `e2e-edit-${suffix}`;
  await page.goto('/identity/projects');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByRole('dialog').getByLabel('Name').fill(project);
  await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
  let row = page.locator(`tr[data-project="${project}"]`);
  await expect(row).toContainText('Enabled');
  await row.getByRole('button', { name: 'Edit' }).click();
  await page.getByRole('dialog').getByLabel('Description').fill('edited');
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await expect(row).toContainText('edited');
  await row.getByRole('button', { name: 'Disable' }).click();
  await page.getByTestId('confirm').click();
  await expect(row).toContainText('Disabled');
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row).toContainText('Enabled');
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(row).toHaveCount(0);

  const user = `e2e-pw-${suffix}`;
  await page.goto('/identity/users');
  await hydrated(page);
  await page.getByRole('button', { name: 'Create user' }).click();
  const d = page.getByRole('dialog');
  await d.getByLabel('Name', { exact: true }).fill(user);
  await d.getByLabel('Password', { exact: true }).fill('short');
  await d.getByLabel('Confirm password').fill('short');
  await d.getByRole('button', { name: 'Create' }).click();
  await expect(d.getByRole('alert')).toContainText('Password does not meet the requirements');
  await d.getByLabel('Password', { exact: true }).fill('long-enough-1');
  await d.getByLabel('Confirm password').fill('long-enough-1');
  await d.getByRole('button', { name: 'Create' }).click();
  const urow = page.locator(`tr[data-user="${user}"]`);
  await expect(urow).toBeVisible();
  await urow.getByRole('button', { name: 'Set password' }).click();
  await page.getByRole('dialog').getByLabel('Password', { exact: true }).fill('another-Password-9');
  await page.getByRole('dialog').getByLabel('Confirm password').fill('another-Password-9');
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await urow.getByRole('button', { name: 'Disable' }).click();
  await page.getByTestId('confirm').click();
  await expect(urow).toContainText('Disabled');
  await urow.getByRole('button', { name: 'Delete' }).click();
  await page.getByTestId('confirm').click();
  await expect(urow).toHaveCount(0);
});

test.afterAll(() => {
  expect(problems, problems.join('\n')).toEqual([]);
});
