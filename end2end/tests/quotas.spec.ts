// Quota management: Admin › System › Defaults, a project's Quotas form
// (Identity › Projects › Quotas) and the Project Overview's limit summary.
// The tests run in order on one server: the defaults changed first are
// what the project form and the overview then show.
import { test, expect, Page } from '@playwright/test';
import { hydrated, loginAdmin, setStoredLanguage, watch as watchProblems } from './helpers';

const problems: string[] = [];
const watch = (page: Page) => watchProblems(page, problems);

test.describe.configure({ mode: 'serial' });

/** The admin project's Quotas form, reached from Identity › Projects. */
async function openAdminProjectQuotas(page: Page) {
  await page.goto('/identity/projects');
  await hydrated(page);
  await page.locator('tr[data-project="admin"]').getByTestId('quotas').click();
  await expect(page).toHaveURL(/\/identity\/projects\/[0-9a-f]+\/quotas$/);
  await hydrated(page);
  await expect(page.locator('tr[data-quota="instances"]')).toBeVisible();
}

test('defaults: the admin updates the defaults and sees them; a bad value changes nothing', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/admin/defaults');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: 'Defaults' })).toBeVisible();
  const instances = page.locator('tr[data-quota="instances"]');
  await expect(instances.getByTestId('limit')).toHaveText('10');
  await expect(instances).toContainText('From the configuration');
  // Both services' sections are there.
  await expect(page.locator('section[data-section="compute"]')).toBeVisible();
  await expect(page.locator('tr[data-quota="image_size_total"]')).toBeVisible();
  const cores = await page.locator('tr[data-quota="cores"]').getByTestId('limit').textContent();

  // An invalid value: the field says why, and nothing is written.
  await page.getByTestId('update-defaults').click();
  const d = page.getByRole('dialog');
  await d.locator('#d-instances').fill('25');
  await d.locator('#d-cores').fill('-5');
  await d.getByRole('button', { name: 'Save' }).click();
  await expect(d.locator('[data-field="cores"]').getByRole('alert')).toContainText('-1');
  await d.getByRole('button', { name: 'Cancel' }).click();
  await page.reload();
  await hydrated(page);
  await expect(instances.getByTestId('limit')).toHaveText('10');
  await expect(page.locator('tr[data-quota="cores"]').getByTestId('limit')).toHaveText(cores ?? '');

  // A good one, and an empty field is unlimited.
  await page.getByTestId('update-defaults').click();
  await d.locator('#d-instances').fill('25');
  await d.locator('#d-metadata_items').fill('');
  await d.getByRole('button', { name: 'Save' }).click();
  await expect(d).toHaveCount(0);
  await expect(instances.getByTestId('limit')).toHaveText('25');
  await expect(instances).toContainText('Changed by an admin');
  await expect(page.locator('tr[data-quota="metadata_items"]').getByTestId('limit')).toHaveText('Unlimited');
  await page.reload();
  await hydrated(page);
  await expect(instances.getByTestId('limit')).toHaveText('25');
  expect(problems).toEqual([]);
});

test('project quotas: a limit set beside usage, an inline error, then back to the default', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await openAdminProjectQuotas(page);
  const instances = page.locator('tr[data-quota="instances"]');
  // No own limit yet: the new default applies.
  await expect(instances.getByTestId('marker')).toHaveText('Default');
  await expect(page.locator('#q-instances')).toHaveValue('25');
  await expect(instances.getByTestId('in-use')).toHaveText('0');

  await page.locator('#q-instances').fill('7');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toContainText('saved');
  await expect(instances.getByTestId('marker')).toHaveText("Project's own");
  await expect(page.locator('#q-instances')).toHaveValue('7');

  // Invalid values are refused inline and change nothing.
  await page.locator('#q-cores').fill('-3');
  await page.locator('#q-instances').fill('9');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('tr[data-quota="cores"]').getByRole('alert')).toContainText('-1');
  await page.locator('#q-cores').fill('lots');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('tr[data-quota="cores"]').getByRole('alert')).toContainText('whole number');
  await page.reload();
  await hydrated(page);
  await expect(page.locator('#q-instances')).toHaveValue('7');
  await expect(page.locator('tr[data-quota="cores"]').getByTestId('marker')).toHaveText('Default');

  // The overview shows the project's limit next to what it uses.
  await page.goto('/project');
  await hydrated(page);
  const gauge = page.locator('[data-gauge="instances"]');
  await expect(gauge).toHaveAttribute('data-limit', '7');
  await expect(gauge.getByTestId('gauge-text')).toHaveText(/^Used \d+ of 7$/);

  // Reset to the default.
  await openAdminProjectQuotas(page);
  await instances.getByTestId('reset').click();
  await expect(instances.getByTestId('marker')).toHaveText('Default');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('status')).toContainText('saved');
  await page.reload();
  await hydrated(page);
  await expect(instances.getByTestId('marker')).toHaveText('Default');
  await expect(page.locator('#q-instances')).toHaveValue('25');
  expect(problems).toEqual([]);
});

test('overview: the limit summary charts every limit', async ({ page }) => {
  watch(page);
  await loginAdmin(page);
  await page.goto('/project');
  await hydrated(page);
  const summary = page.getByTestId('limit-summary');
  await expect(summary.getByRole('heading', { name: 'Limit Summary' })).toBeVisible();
  for (const r of ['instances', 'cores', 'ram', 'key_pairs', 'image_count_total', 'image_size_total']) {
    await expect(summary.locator(`[data-gauge="${r}"]`)).toBeVisible();
  }
  await expect(summary.locator('[data-gauge="instances"]')).toHaveAttribute('data-limit', '25');
  await expect(summary.locator('[data-gauge="instances"] svg')).toHaveCount(1);
  expect(problems).toEqual([]);
});

test('korean: the defaults page and the overview in Korean', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'ko-KR' });
  const page = await context.newPage();
  watch(page);
  await loginAdmin(page);
  // Stored explicitly: an earlier spec may have stored English for the admin.
  await setStoredLanguage(page, 'ko');
  try {
    await page.goto('/project');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: '한도 요약' })).toBeVisible();
    await expect(page.locator('[data-gauge="instances"]').getByTestId('gauge-text')).toHaveText(/^25 중 \d+ 사용$/);
    await page.goto('/admin/defaults');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: '기본값', exact: true })).toBeVisible();
    await expect(page.locator('tr[data-quota="instances"]')).toContainText('관리자가 변경함');
    // Back to the configured value (tidy for other specs on this server).
    await page.getByRole('button', { name: '기본값 수정' }).click();
    const d = page.getByRole('dialog');
    await d.locator('[data-field="instances"]').getByTestId('use-configured').click();
    await d.locator('[data-field="metadata_items"]').getByTestId('use-configured').click();
    await d.getByRole('button', { name: '저장' }).click();
    await expect(d).toHaveCount(0);
    await expect(page.locator('tr[data-quota="instances"]').getByTestId('limit')).toHaveText('10');
    await expect(page.locator('tr[data-quota="instances"]')).toContainText('설정 파일 값');
  } finally {
    await setStoredLanguage(page, 'en');
  }
  await context.close();
  expect(problems).toEqual([]);
});
