// `make bench`: a portal page as a user's browser meets it — Chromium
// (headless, the machine's own) signs in, then loads the page RUNS times
// with a warm cache, as a returning user does. Printed per load, as
// medians: the HTML's arrival (responseEnd), the page drawn
// (domContentLoaded: the server-rendered table is on screen), and the page
// interactive (the front end hydrated, its marker on <body>).
//
//   node scripts/bench-browser.mjs BASE USER PASSWORD PATH [RUNS]
import { chromium } from '@playwright/test';

const [base, user, password, path, runsArg] = process.argv.slice(2);
const runs = Number(runsArg ?? 10);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const page = await (await browser.newContext()).newPage();
// The moment the front end marks <body> hydrated, in the page's own clock.
await page.addInitScript(() => {
  new MutationObserver((_, obs) => {
    if (document.body?.dataset.hydrated === 'true') {
      window.__hydratedAt = performance.now();
      obs.disconnect();
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-hydrated'] });
});
await page.goto(`${base}/login`);
await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached' });
await page.locator('#username').fill(user);
await page.locator('#password').fill(password);
await page.locator('button[type=submit]').first().click();
await page.waitForURL(/\/project/);

const samples = [];
// One load first warms the cache (the WASM and CSS), as a returning user's.
for (let i = 0; i <= runs; i++) {
  await page.goto(`${base}${path}`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('body[data-hydrated="true"]', { state: 'attached', timeout: 60_000 });
  const t = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return { html: n.responseEnd, drawn: n.domContentLoadedEventEnd, interactive: window.__hydratedAt, rows: document.querySelectorAll('tbody tr').length };
  });
  if (i > 0) samples.push(t);
}
await browser.close();
const median = (k) => {
  const xs = samples.map((s) => s[k]).sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)].toFixed(0);
};
console.log(
  `${path}: ${samples[0].rows} rows; median of ${runs} loads: HTML ${median('html')} ms, drawn ${median('drawn')} ms, interactive ${median('interactive')} ms`,
);
