// Shared by the browser tests: sign-in, the hydration marker, and a watch
// on the console for hydration errors and panics.
import { expect, Page } from '@playwright/test';

export const ADMIN_PASSWORD = process.env.GUREUM_E2E_ADMIN_PASSWORD ?? 'admin-e2e-secret';

/** Collects hydration errors, panics and page errors into `problems`. */
export function watch(page: Page, problems: string[]) {
  page.on('console', (msg) => {
    const text = msg.text();
    if (/hydrat|panicked|unreachable|RuntimeError|mismatch/i.test(text) && (msg.type() === 'error' || msg.type() === 'warning')) {
      problems.push(`${page.url()}: ${text}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`${page.url()}: ${err.message}`));
}

export async function hydrated(page: Page) {
  await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached', timeout: 30_000 });
}

export async function loginAdmin(page: Page) {
  await page.goto('/login');
  await hydrated(page);
  await page.locator('#username').fill('admin');
  await page.locator('#password').fill(ADMIN_PASSWORD);
  await page.locator('button[type=submit]').first().click();
  await expect(page).toHaveURL(/\/project/);
  await hydrated(page);
}

/** Stores `lang` as the signed-in user's language from /settings, whatever
 * the page's language is now (the admin is shared by every spec, and an
 * earlier spec may have stored one). */
export async function setStoredLanguage(page: Page, lang: 'ko' | 'en') {
  await page.goto('/settings');
  await hydrated(page);
  await page.locator('select#lang').selectOption(lang);
  await page.locator('form:has(select#lang) button[type=submit]').click();
  await expect(page.locator('html')).toHaveAttribute('lang', lang);
}
