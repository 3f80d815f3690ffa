// The dashboard behind a bearer token in read-only mode: it asks for the
// token once, then shows everything and offers no change.
//
// node readonly.mjs <url> <screenshot folder> <token> <failed job id>
import { join } from 'node:path';
import { args, launch } from './common.mjs';

const [url, shots, token, failedJob] = args('readonly.mjs', ['url', 'screenshot folder', 'token', 'failed job id']);
const browser = await launch(shots);
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // The first API call is refused (401): that is how the page learns it needs the token.
  page.on('response', (r) => {
    if (r.status() >= 400 && r.status() !== 401) problems.push(`${r.status()} from ${r.url()}`);
  });
  await page.goto(url);
  await page.waitForSelector('#login[open]');
  await page.fill('#login-token', token);
  await page.screenshot({ path: join(shots, '01-token.png') });
  await page.press('#login-token', 'Enter');
  await page.waitForSelector('main[data-page="overview"]');
  await page.goto(`${url}#/job/${failedJob}`);
  await page.waitForSelector('main[data-page="job"] .state.failed');
  await page.screenshot({ path: join(shots, '02-read-only-job.png') });
  for (const [hash, page_] of [[`#/job/${failedJob}`, 'job'], ['#/queues', 'queues'], ['#/cron', 'cron'], ['#/batches', 'batches']]) {
    await page.goto(`${url}${hash}`);
    await page.waitForSelector(`main[data-page="${page_}"]`);
    const changes = await page.locator('main button:text-matches("Retry|Cancel|Delete|Pause|Resume|Disable|Enable|Trigger|Create|Run now")').count();
    if (changes) problems.push(`${hash}: ${changes} buttons that change things in read-only mode`);
  }
} catch (e) {
  problems.push(e.message);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`read-only dashboard: screenshots in ${shots}`);
