// Drives the web UI in Debian's chromium (headless, through playwright-core) the way a person
// would: log in through the one-time URL, find the other peer's game with its size, download
// it and watch the bar move, see it installed, uninstall and remove it, look at the peers and
// the settings. Checks the disk at each step and fails on any page error or CSP violation.
// Screenshots of every state go to --shots. Run by tests/ui/test_web_ui_netns.py inside the
// downloader's network namespace; prints one line per step and exits non-zero on failure.
//
//   node ui_e2e.mjs --base http://127.0.0.1:7878 [--login URL] --game openarena
//                   --size "48.0 MiB" --peer seeder --games-dir DIR --shots DIR
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    login: { type: 'string' },
    game: { type: 'string' },
    size: { type: 'string' },
    peer: { type: 'string' },
    'games-dir': { type: 'string' },
    'peer-address': { type: 'string' },
    shots: { type: 'string' },
    browser: { type: 'string', default: '/usr/bin/chromium' },
    'step-timeout': { type: 'string', default: '60' },
  },
});
for (const k of ['base', 'game', 'size', 'peer', 'games-dir', 'peer-address', 'shots']) {
  if (!opt[k]) throw new Error(`--${k} is required`);
}
const STEP_MS = Number(opt['step-timeout']) * 1000;
const root = join(opt['games-dir'], opt.game);
mkdirSync(opt.shots, { recursive: true });

const problems = [];
let step = 'start';
const log = (msg) => console.log(`[${step}] ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Error(`${step}: ${msg}`);
}

const profile = mkdtempSync(join(tmpdir(), 'lanspread-ui-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: opt.browser,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run'],
  viewport: { width: 1280, height: 800 },
  colorScheme: 'light',
});
context.setDefaultTimeout(STEP_MS);
const page = context.pages()[0] ?? (await context.newPage());
let watching = false;  // console errors count once logged in (before, 401s are expected)
const expected = [];   // console errors a step provokes on purpose
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  const text = m.text();
  if (/Content[- ]Security[- ]Policy/i.test(text)) problems.push(`CSP: ${text}`);
  else if (watching && m.type() === 'error' && !expected.some((re) => re.test(text))) problems.push(`console error: ${text}`);
});

// Every state is photographed once it is reached; problems so far fail the step at once.
const shot = async (name, p = page) => {
  check(problems.length === 0, `problems on the page:\n  ${problems.join('\n  ')}`);
  const path = join(opt.shots, `${name}.png`);
  await p.screenshot({ path, fullPage: false });
  log(`screenshot ${path}`);
};
const card = () => page.locator(`article.card[data-game="${opt.game}"]`);
const button = (label) => card().getByRole('button', { name: label, exact: true });
const badge = (text) => card().locator('.badge', { hasText: text });

try {
  // The page's files, as the daemon serves them: no session needed, revalidated or immutable,
  // under the CSP; the API itself refuses a request without one.
  step = 'http';
  const index = await fetch(opt.base + '/');
  check(index.status === 200, `GET / answered ${index.status}`);
  check(index.headers.get('content-type') === 'text/html; charset=utf-8', `GET / is ${index.headers.get('content-type')}`);
  check(index.headers.get('cache-control') === 'no-cache', `GET / is cached as ${index.headers.get('cache-control')}`);
  check((index.headers.get('content-security-policy') ?? '').includes("default-src 'none'"), 'GET / has no strict CSP');
  const etag = index.headers.get('etag');
  check(!!etag, 'GET / has no ETag');
  const again = await fetch(opt.base + '/', { headers: { 'If-None-Match': etag } });
  check(again.status === 304, `GET / with its ETag answered ${again.status}, not 304`);
  const script = (await index.text()).match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  check(!!script, 'index.html names no script');
  const js = await fetch(opt.base + script);
  check(js.status === 200 && js.headers.get('content-type') === 'text/javascript; charset=utf-8', `GET ${script}: ${js.status} ${js.headers.get('content-type')}`);
  check((js.headers.get('cache-control') ?? '').includes('immutable'), `GET ${script} is not immutable`);
  if (opt.login) {
    const api = await fetch(opt.base + '/api/v1/status');
    check(api.status === 401, `the API answered ${api.status} without a session`);
  }
  log('files served with their types, ETags, caching and CSP');

  if (opt.login) {
    step = 'logged-out';
    await page.goto(opt.base + '/');
    await page.getByRole('heading', { name: 'Log in to lanspread' }).waitFor();
    check(await page.getByText('lanspread open').isVisible(), 'the login help does not say how to log in');
    await shot('01-logged-out');

    step = 'login';
    await page.goto(opt.login);
    await page.waitForURL((u) => !u.search.includes('token='));
    check(!page.url().includes('token'), `the token stayed in the address bar: ${page.url()}`);
  } else {
    step = 'open';
    await page.goto(opt.base + '/');
  }
  watching = true;

  step = 'library';
  await card().waitFor();
  await button('Download').waitFor();
  await badge('On 1 peer').waitFor();
  const gameName = await card().locator('h3').innerText();
  const sizeText = await card().locator('.size').innerText();
  check(sizeText.includes(opt.size), `size shows "${sizeText}", expected "${opt.size}"`);
  check(sizeText.includes('download'), `size is not labelled as a download: "${sizeText}"`);
  await page.locator('.conn-live').waitFor();
  await shot('02-library');

  step = 'download';
  await button('Download').click();
  const bar = card().getByRole('progressbar');
  await bar.waitFor();
  // The bar moves: two different values short of 100 % while the download runs.
  const seen = new Set();
  const deadline = Date.now() + STEP_MS;
  let shotTaken = false;
  while (seen.size < 2 && Date.now() < deadline) {
    const now = await bar.getAttribute('aria-valuenow').catch(() => null);
    const phase = await card().locator('.phase').innerText().catch(() => '');
    if (now !== null && phase === 'Downloading' && Number(now) < 100) {
      seen.add(now);
      if (!shotTaken && Number(now) > 0) {
        await page.waitForTimeout(300); // let the bar's width transition settle
        await shot('03-downloading');
        shotTaken = true;
        const stats = await card().locator('.progress-stats').first().innerText();
        log(`progress: ${now}% — ${stats}`);
        check(/ of /.test(stats), `no byte counts in "${stats}"`);
      }
    }
    await page.waitForTimeout(100);
  }
  check(seen.size >= 2, `the bar did not move below 100 % (values seen: ${[...seen].join(', ') || 'none'})`);
  log(`bar values seen: ${[...seen].join(', ')}`);

  step = 'installed';
  await badge('Installed').waitFor();
  await button('Uninstall').waitFor();
  check(await card().getByRole('progressbar').count() === 0, 'the bar is still shown after the end');
  check(existsSync(join(root, 'local')), `${root}/local is missing after the install`);
  check(existsSync(join(root, 'version.ini')), `${root}/version.ini is missing after the download`);
  await page.locator('.notice.success', { hasText: 'installed' }).waitFor();
  await shot('04-installed');

  step = 'uninstall';
  await button('Uninstall').click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  const warning = await dialog.innerText();
  check(warning.includes('local/') && /saved games/i.test(warning), `the uninstall warning does not mention saves in local/: ${warning}`);
  await shot('05-uninstall-confirm');
  await dialog.getByRole('button', { name: 'Uninstall' }).click();
  await badge('Downloaded').waitFor();
  await button('Install').waitFor();
  check(!existsSync(join(root, 'local')), `${root}/local still exists after uninstall`);
  check(existsSync(join(root, 'version.ini')), 'uninstall removed the download too');
  await shot('06-uninstalled');

  step = 'remove';
  await button('Remove').click();
  await page.getByRole('dialog').waitFor();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
  await button('Download').waitFor();
  check(!existsSync(join(root, 'version.ini')), `${root}/version.ini still exists after remove`);
  await shot('07-removed');

  step = 'peers';
  await page.getByRole('link', { name: /Peers/ }).click();
  const peerRow = page.locator('li.peer', { hasText: opt.peer });
  await peerRow.waitFor();
  const row = await peerRow.innerText();
  check(row.includes(gameName) && /\d+ games?/.test(row), `the peer row does not list its games: ${row}`);
  await shot('08-peers');

  step = 'settings';
  await page.getByRole('link', { name: 'Settings' }).click();
  const field = page.getByLabel('Folder');
  const before = await field.inputValue();
  check(before === opt['games-dir'], `the games folder shows "${before}", expected "${opt['games-dir']}"`);
  await field.fill('/nonexistent/lanspread-games');
  // The daemon refuses this with 400; the browser logs that as a failed resource.
  expected.push(/status of 400/);
  await page.getByRole('button', { name: 'Save' }).click();
  const error = page.locator('#games-dir-error');
  await error.waitFor();
  const reason = await error.innerText();
  check(reason.startsWith('/nonexistent/lanspread-games:'), `the refusal does not give the daemon's reason: "${reason}"`);
  await shot('09-settings-refused');

  step = 'network';
  const discovery = await page.getByTestId('discovery').innerText();
  check(discovery.startsWith('Looking for peers on '), `discovery reads "${discovery}"`);
  await page.getByLabel('Address').fill(opt['peer-address']);
  await page.getByRole('button', { name: 'Add' }).click();
  const manualRow = page.locator(`.manual-peers li[data-address="${opt['peer-address']}"]`);
  await manualRow.getByText('Connected').waitFor();
  await shot('09b-settings-network');
  await manualRow.getByRole('button', { name: 'Remove' }).click();
  await manualRow.waitFor({ state: 'detached' });

  step = 'small-screen';
  const phone = await context.newPage();
  await phone.setViewportSize({ width: 390, height: 844 });
  await phone.emulateMedia({ colorScheme: 'dark' });
  await phone.goto(opt.base + '/#/library');
  await phone.locator(`article.card[data-game="${opt.game}"]`).waitFor();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the page is ${overflow}px wider than a 390px screen`);
  await shot('10-phone-dark', phone);
  await phone.close();

  step = 'end';
  check(problems.length === 0, `problems on the page:\n  ${problems.join('\n  ')}`);
  log('all steps passed');
} catch (e) {
  console.error(`FAILED ${e instanceof Error ? e.message : e}`);
  try {
    await shot(`failed-${step}`);
  } catch {
    /* the page may be gone */
  }
  if (problems.length) console.error(`problems on the page:\n  ${problems.join('\n  ')}`);
  process.exitCode = 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
