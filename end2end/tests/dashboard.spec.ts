import { test, expect, Page } from '@playwright/test';
import { ADMIN_PASSWORD, hydrated, watch as watchProblems } from './helpers';

const suffix = Date.now().toString(36);
const PROJECT = `e2e-project-${suffix}`;
const USER = `e2e-user-${suffix}`;
const USER_PW = 'first-Password-1';
const USER_PW2 = 'second-Password-2';

// Console problems seen on any page: hydration mismatches and panics.
const problems: string[] = [];
const watch = (page: Page) => watchProblems(page, problems);

async function login(page: Page, user: string, password: string) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function logout(page: Page) {
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByText('You have signed out.')).toBeVisible();
}

test.describe.configure({ mode: 'serial' });

test('login page renders', async ({ page }) => {
  watch(page);
  await page.goto('/login');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByLabel('Domain')).toHaveValue('Default');
  await page.screenshot({ path: 'test-results/login.png', fullPage: true });
});

test('a wrong password shows the error and never says whether the user exists', async ({ page }) => {
  watch(page);
  await login(page, 'admin', 'not-the-password');
  await expect(page.getByRole('alert')).toContainText('Invalid credentials');
  await login(page, `nobody-${suffix}`, 'not-the-password');
  await expect(page.getByRole('alert')).toContainText('Invalid credentials');
  await expect(page).toHaveURL(/\/login/);
});

test('admin manages identity, switches project, and a member signs in', async ({ page }) => {
  watch(page);
  // Pages need a session.
  await page.goto('/identity/users');
  await expect(page).toHaveURL(/\/login/);

  await login(page, 'admin', ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/project/);
  await hydrated(page);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Users' })).toBeVisible();

  // Create a project.
  await nav.getByRole('link', { name: 'Projects' }).click();
  await expect(page).toHaveURL(/\/identity\/projects/);
  await page.getByRole('button', { name: 'Create project' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill(PROJECT);
  await dialog.getByLabel('Description').fill('made by the browser test');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.locator(`tr[data-project="${PROJECT}"]`)).toBeVisible();

  // Filter and sort are server-side.
  await page.getByRole('searchbox').fill(PROJECT);
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${PROJECT}`));
  await expect(page.locator('tbody tr')).toHaveCount(1);

  // Create a user.
  await nav.getByRole('link', { name: 'Users' }).click();
  await expect(page).toHaveURL(/\/identity\/users/);
  await page.getByRole('button', { name: 'Create user' }).click();
  const ud = page.getByRole('dialog');
  await ud.getByLabel('Name', { exact: true }).fill(USER);
  await ud.getByLabel('Email').fill(`${USER}@example.com`);
  await ud.getByLabel('Password', { exact: true }).fill(USER_PW);
  await ud.getByLabel('Confirm password').fill(USER_PW);
  await ud.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.locator(`tr[data-user="${USER}"]`)).toBeVisible();
  await expect(page.getByTestId('pager-summary')).toContainText('of 2');

  // Grant the user (and admin) a role on the project.
  await nav.getByRole('link', { name: 'Projects' }).click();
  await page.locator(`tr[data-project="${PROJECT}"]`).getByRole('link', { name: 'Members' }).click();
  await expect(page.getByRole('heading', { name: `Members of ${PROJECT}` })).toBeVisible();
  await page.getByLabel('User').fill(USER);
  await page.getByLabel('Role').selectOption('member');
  await page.getByRole('button', { name: 'Grant role' }).click();
  await expect(page.locator(`tr[data-member="${USER}"]`)).toContainText('member');
  await page.getByLabel('User').fill('admin');
  await page.getByLabel('Role').selectOption('admin');
  await page.getByRole('button', { name: 'Grant role' }).click();
  await expect(page.locator('tr[data-member="admin"]')).toContainText('admin');

  // Switch project.
  await page.goto('/project');
  await hydrated(page);
  const switcher = page.getByTestId('project-switcher');
  await expect(switcher.locator('option', { hasText: PROJECT })).toHaveCount(1);
  await switcher.selectOption({ label: PROJECT });
  await expect(page).toHaveURL(/\/project/);
  await expect(page.getByTestId('project-switcher').locator('option:checked')).toHaveText(PROJECT);
  await hydrated(page);

  await logout(page);

  // The new user signs in: no Identity admin panels, refused at /identity/users.
  await login(page, USER, USER_PW);
  await expect(page).toHaveURL(/\/project/);
  await hydrated(page);
  await expect(page.getByTestId('project-switcher').locator('option:checked')).toHaveText(PROJECT);
  const unav = page.getByRole('navigation', { name: 'Main' });
  await expect(unav.getByRole('link', { name: 'Application Credentials' })).toBeVisible();
  await expect(unav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(unav.getByRole('link', { name: 'Projects' })).toHaveCount(0);
  await expect(unav.getByText('Admin', { exact: true })).toHaveCount(0);
  await page.goto('/identity/users');
  await expect(page.getByTestId('denied')).toBeVisible();
  await expect(page.locator('table')).toHaveCount(0);

  // Change the password: the session ends, back to the login page.
  await page.goto('/settings');
  await hydrated(page);
  await page.getByLabel('Current password').fill(USER_PW);
  await page.getByLabel('New password', { exact: true }).fill(USER_PW2);
  await page.getByLabel('Confirm new password').fill(USER_PW2);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/login\?msg=password_changed/);
  await expect(page.getByText('Your password was changed.')).toBeVisible();

  // The old password no longer works; the new one does.
  await login(page, USER, USER_PW);
  await expect(page.getByRole('alert')).toContainText('Invalid credentials');
  await login(page, USER, USER_PW2);
  await expect(page).toHaveURL(/\/project/);
  await hydrated(page);
  await expect(page.getByTestId('user-name')).toHaveText(USER);
  await logout(page);
});

test.afterAll(() => {
  expect(problems, problems.join('\n')).toEqual([]);
});
