// A service's error reaches the browser as a typed error with a message
// key, and the page words it in the user's language.
import { test, expect, Page } from '@playwright/test';
import { hydrated, loginAdmin, watch as watchProblems } from './helpers';

const suffix = Date.now().toString(36);
const problems: string[] = [];

async function setLanguage(page: Page, label: string, lang: 'ko' | 'en', save: string) {
  await page.goto('/settings');
  await hydrated(page);
  await page.getByLabel(label).selectOption(lang);
  await page.getByRole('button', { name: save }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', lang);
}

test('errors: a duplicate project name is refused in Korean, inline', async ({ page }) => {
  watchProblems(page, problems);
  await loginAdmin(page);
  await setLanguage(page, 'Language', 'ko', 'Save');
  try {
    const name = `e2e-dup-${suffix}`;
    await page.goto('/identity/projects');
    await hydrated(page);
    await page.getByRole('button', { name: '프로젝트 생성' }).click();
    await page.getByRole('dialog').getByLabel('이름').fill(name);
    await page.getByRole('dialog').getByRole('button', { name: '생성' }).click();
    await expect(page.locator(`tr[data-project="${name}"]`)).toBeVisible();

    // The same name again: the identity service's conflict, in Korean.
    const refused = page.waitForResponse((r) => r.url().endsWith('/api/create_project'));
    await page.getByRole('button', { name: '프로젝트 생성' }).click();
    await page.getByRole('dialog').getByLabel('이름').fill(name);
    await page.getByRole('dialog').getByRole('button', { name: '생성' }).click();
    // The call's status follows the error's kind, as on the REST API.
    expect((await refused).status()).toBe(409);
    const alert = page.getByRole('dialog').getByRole('alert');
    await expect(alert).toHaveText(`이름이 “${name}”인 프로젝트가 이미 있습니다.`);
    await expect(alert).not.toContainText('already exists');
    await page.getByRole('dialog').getByRole('button', { name: '취소' }).click();
    await expect(page.locator(`tr[data-project="${name}"]`)).toHaveCount(1);
  } finally {
    await setLanguage(page, '언어', 'en', '저장');
  }
  expect(problems).toEqual([]);
});
