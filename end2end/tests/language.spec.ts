// Korean as a first-class language: the portal follows the user's stored
// choice, else the choice made on the login page, else the browser's
// Accept-Language. Each test signs in as a new user (no stored language) in
// a browser context of its own, so nothing carries over between them.
import { test, expect, APIRequestContext, Browser, Page } from '@playwright/test';
import { ADMIN_PASSWORD, hydrated, watch } from './helpers';

const suffix = Date.now().toString(36);
const PASSWORD = 'Lang-e2e-secret-7';

/** A user with the member role on the admin project, made over the REST API. */
async function newUser(request: APIRequestContext, name: string) {
  const auth = await request.post('/identity/v3/auth/tokens', {
    data: {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    },
  });
  expect(auth.status()).toBe(201);
  const headers = { 'X-Auth-Token': auth.headers()['x-subject-token'] };
  const user = await request.post('/identity/v3/users', {
    headers,
    data: { user: { name, password: PASSWORD, domain_id: 'default' } },
  });
  expect(user.status()).toBe(201);
  const userId = (await user.json()).user.id;
  const project = (await (await request.get('/identity/v3/projects?name=admin', { headers })).json()).projects[0].id;
  const role = (await (await request.get('/identity/v3/roles?name=member', { headers })).json()).roles[0].id;
  const grant = await request.put(`/identity/v3/projects/${project}/users/${userId}/roles/${role}`, { headers });
  expect(grant.status()).toBe(204);
}

async function signIn(page: Page, name: string) {
  await page.locator('#username').fill(name);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('button[type=submit]').first().click();
  await expect(page).toHaveURL(/\/project/);
  await hydrated(page);
}

async function browserPage(browser: Browser, locale: string, problems: string[]) {
  const context = await browser.newContext({ locale });
  const page = await context.newPage();
  watch(page, problems);
  return { context, page };
}

test('language: 한국어 chosen on the login page stays after sign-in', async ({ browser, request }) => {
  const name = `e2e-lang-choice-${suffix}`;
  await newUser(request, name);
  const problems: string[] = [];
  const { context, page } = await browserPage(browser, 'en-US', problems);
  await page.goto('/login');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  await page.getByRole('button', { name: '한국어' }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(page.getByRole('heading', { name: '로그인' })).toBeVisible();
  await signIn(page, name);
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(page.getByRole('navigation', { name: '주 메뉴' })).toContainText('개요');
  // And on the next page too.
  await page.goto('/settings');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: '사용자 설정' })).toBeVisible();
  await context.close();
  expect(problems).toEqual([]);
});

test('language: a browser asking for ko-KR gets Korean, before and after sign-in', async ({ browser, request }) => {
  const name = `e2e-lang-browser-${suffix}`;
  await newUser(request, name);
  const problems: string[] = [];
  const { context, page } = await browserPage(browser, 'ko-KR', problems);
  await page.goto('/login');
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(page.getByRole('heading', { name: '로그인' })).toBeVisible();
  await expect(page.getByLabel('사용자 이름')).toBeVisible();
  await signIn(page, name);
  await expect(page.locator('html')).toHaveAttribute('lang', 'ko');
  await expect(page.getByRole('navigation', { name: '주 메뉴' })).toBeVisible();
  await context.close();
  expect(problems).toEqual([]);
});

test('language: a saved English preference wins over the browser and the login page', async ({ browser, request }) => {
  const name = `e2e-lang-saved-${suffix}`;
  await newUser(request, name);
  const problems: string[] = [];
  // The user saves English in Settings, from a Korean browser.
  const first = await browserPage(browser, 'ko-KR', problems);
  await first.page.goto('/login');
  await hydrated(first.page);
  await signIn(first.page, name);
  await expect(first.page.locator('html')).toHaveAttribute('lang', 'ko');
  await first.page.goto('/settings');
  await hydrated(first.page);
  await first.page.getByLabel('언어').selectOption('en');
  await first.page.getByRole('button', { name: '저장' }).click();
  await expect(first.page.getByRole('heading', { name: 'User settings' })).toBeVisible();
  await expect(first.page.locator('html')).toHaveAttribute('lang', 'en');
  await first.context.close();

  // Another device: a Korean browser, and 한국어 picked on the login page
  // too. After sign-in the stored choice decides.
  const second = await browserPage(browser, 'ko-KR', problems);
  await second.page.goto('/login');
  await hydrated(second.page);
  await expect(second.page.locator('html')).toHaveAttribute('lang', 'ko');
  await second.page.getByRole('button', { name: 'English' }).click();
  await expect(second.page.locator('html')).toHaveAttribute('lang', 'en');
  await second.page.getByRole('button', { name: '한국어' }).click();
  await expect(second.page.locator('html')).toHaveAttribute('lang', 'ko');
  await signIn(second.page, name);
  await expect(second.page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(second.page.getByRole('navigation', { name: 'Main' })).toContainText('Overview');
  await second.context.close();
  expect(problems).toEqual([]);
});
