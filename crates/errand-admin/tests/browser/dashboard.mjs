// Drives errand's dashboard in Debian's chromium through the steps an
// operator takes: overview, filter jobs, open a failed job, retry it and
// see it complete, pause a queue, disable a cron entry, cancel a batch,
// read the audit. Each step keeps a screenshot in the folder given.
//
// node dashboard.mjs <url> <screenshot folder> <failed job id> <batch id>
import { join } from 'node:path';
import { args, launch } from './common.mjs';

const [url, shots, failedJob, batch] = args('dashboard.mjs', ['url', 'screenshot folder', 'failed job id', 'batch id']);
const browser = await launch(shots);
const problems = [];
let step = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1366, height: 800 } });
  page.setDefaultTimeout(20000);
  // A script error or a refused resource (the security policy) fails the run.
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`); });
  const shot = async (name) => {
    step += 1;
    await page.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: true });
  };
  const loaded = (name) => page.waitForSelector(`main[data-page="${name}"]`);
  const confirm = async (note) => {
    await page.waitForSelector('#confirm[open]');
    if (note !== undefined) await page.fill('#confirm-note', note);
    await shot('confirm');
    await page.click('#confirm-ok');
    await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
  };

  // 1. The overview: counts, chart, queues.
  await page.goto(url);
  await loaded('overview');
  await page.waitForSelector('a.card[data-state="failed"] .n:text("1")');
  await page.waitForSelector('.chart svg');
  await page.waitForSelector('tr[data-queue="mail"]');
  await shot('overview');

  // 2. Jobs, filtered to the failed ones of a kind, with the keyboard.
  await page.keyboard.press('3');
  await loaded('jobs');
  await page.selectOption('form.filters select[name="state"]', 'failed');
  await page.fill('form.filters input[name="kind"]', 'send_email');
  await page.press('form.filters input[name="kind"]', 'Enter');
  await page.waitForSelector('main[data-hash*="state=failed"][data-hash*="kind=send_email"]');
  await page.waitForSelector(`tr[data-job="${failedJob}"]`);
  const rows = await page.locator('tbody tr[data-job]').count();
  if (rows !== 1) problems.push(`the filter shows ${rows} jobs, not 1`);
  await shot('jobs-filtered');

  // 3. The failed job: its error, then a retry that completes.
  await page.click(`tr[data-job="${failedJob}"] a`);
  await loaded('job');
  await page.waitForSelector('.state.failed');
  await page.waitForSelector('td.error:text("mailbox full")');
  await shot('failed-job');
  await page.click('button:text("Retry")');
  await confirm();
  await page.waitForSelector('h2 .state.completed', { timeout: 30000 });
  await shot('retried-and-completed');

  // 4. Pause a queue, with a note.
  await page.goto(`${url}#/queues`);
  await loaded('queues');
  await page.click('tr[data-queue="mail"] button:text("Pause")');
  await confirm('provider down');
  await page.waitForSelector('tr[data-queue="mail"] .paused-tag:text("provider down")');
  await shot('queue-paused');

  // 5. Disable a cron entry, with a note.
  await page.goto(`${url}#/cron`);
  await loaded('cron');
  await page.click('tr[data-cron="nightly"] button:text("Disable")');
  await confirm('maintenance');
  await page.waitForSelector('tr[data-cron="nightly"] .paused-tag:text("maintenance")');
  await page.click('tr[data-cron="nightly"] button:text("Ledger")');
  await page.waitForSelector('tr.ledger');
  await shot('cron-disabled');

  // 6. Cancel a batch: asked first; Cancel in the dialog changes nothing.
  await page.goto(`${url}#/batches`);
  await loaded('batches');
  await page.waitForSelector(`tr[data-batch="${batch}"] .bar`);
  await page.click(`tr[data-batch="${batch}"] button:text("Cancel")`);
  await page.waitForSelector('#confirm[open]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#confirm:not([open])', { state: 'attached' });
  await page.click(`tr[data-batch="${batch}"] button:text("Cancel")`);
  await confirm();
  await page.waitForSelector(`tr[data-batch="${batch}"] td:text-is("cancelled")`);
  await shot('batch-cancelled');

  // The tenants page lists the batch's tenant with its cancelled jobs.
  await page.keyboard.press('7');
  await loaded('tenants');
  await page.waitForSelector('tr[data-tenant-row="acme"] a[href*="state=cancelled"]:text-is("3")');
  await shot('tenants');

  // 7. The audit shows each change; the workers page its worker.
  await page.keyboard.press('9');
  await loaded('audit');
  for (const action of ['jobs.retry', 'queue.pause', 'cron.disable', 'batches.cancel']) {
    await page.waitForSelector(`td:text-is("${action}")`);
  }
  await shot('audit');
  await page.keyboard.press('8');
  await loaded('workers');
  await page.waitForSelector('tr[data-worker]');
  await shot('workers');
} catch (e) {
  problems.push(`step ${step + 1}: ${e.message}`);
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`dashboard: ${step} screenshots in ${shots}`);
