// browser.mjs: the gateway's web page in real headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; no browser is ever
// downloaded). Run by tests/integration/web_browser.sh, which starts Redis,
// both workers and the gateway and passes:
//   GW_URL     the gateway's public URL
//   OUT_DIR    where the screenshots go (one per step, NN-name.png)
//   CF_PID     the CF worker's pid (killed at the "worker down" step)
//   DATA_KIND  "ml" on ml-latest-small (then "Toy Story 2" must be among the
//              blended similar movies too), "demo" on the demo data
//   CHROMIUM   the browser binary (default /usr/bin/chromium)
// Exit 0 when every step passed, 77 when Chromium cannot be launched (a
// skip), 1 on the first failed step (its name, what was seen, and the
// screenshot of the moment).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const GW = process.env.GW_URL;
const OUT = process.env.OUT_DIR;
const CF_PID = Number(process.env.CF_PID || 0);
const ML = process.env.DATA_KIND === 'ml';
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
if (!GW || !OUT) {
  console.error('browser.mjs: set GW_URL and OUT_DIR');
  process.exit(2);
}
mkdirSync(OUT, { recursive: true });

const t0 = Date.now();
let browser;
try {
  browser = await chromium.launch({
    executablePath: EXE,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
} catch (e) {
  console.log(`SKIP: Chromium cannot be launched (${EXE}): ${String(e.message || e).split('\n')[0]}`);
  process.exit(77);
}

let shot = 0;
let page;
let problems = []; // console errors, page errors, failed or non-2xx requests
let allowed = []; // regexps of problems one step expects

function watch(p) {
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  p.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  p.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
}

async function snap(name, p = page) {
  shot++;
  const file = join(OUT, `${String(shot).padStart(2, '0')}-${name}.png`);
  await p.screenshot({ path: file, fullPage: false });
  return file;
}

async function step(name, fn) {
  const s = Date.now();
  problems = [];
  allowed = [];
  try {
    await fn();
    const left = problems.filter((m) => !allowed.some((re) => re.test(m)));
    if (left.length) throw new Error(`console/network problems:\n  ${left.join('\n  ')}`);
    await snap(name);
    console.log(`ok - ${name} (${Date.now() - s} ms)`);
  } catch (e) {
    let file = '';
    try {
      file = await snap(`FAILED-${name}`);
    } catch (e2) {
      /* the page is gone */
    }
    console.log(`FAIL: ${name}: ${e.message}${file ? `\n  screenshot: ${file}` : ''}`);
    await browser.close();
    process.exit(1);
  }
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

const texts = (sel) => page.$$eval(sel, (els) => els.map((e) => e.textContent.trim()));
const similarTitles = () => texts('#similar li.result .title');
const forYouIds = () => page.$$eval('#foryou li.result', (els) => els.map((e) => e.dataset.itemId));
const bare = (t) => t.replace(/\s*\(\d{4}\)\s*$/, '');

// Waits until the similar list was answered in mode (data-mode is set once
// the answer is drawn).
async function waitSimilar(mode) {
  await page.waitForFunction((m) => {
    const l = document.getElementById('similar');
    return l.dataset.mode === m && l.getAttribute('aria-busy') !== 'true' && l.children.length > 0;
  }, mode, { timeout: 10000 });
}

// Types a title in the search box and presses Enter: the best match opens.
async function openBySearch(title) {
  // cleared first, so reopening the movie shown now is seen too
  await page.$eval('#movie-title', (e) => { e.textContent = ''; });
  const before = '';
  await page.fill('#q', '');
  await page.type('#q', title, { delay: 15 });
  await page.press('#q', 'Enter');
  await page.waitForFunction((b) => {
    const t = document.getElementById('movie-title').textContent;
    return t !== b && !document.getElementById('movie').hidden;
  }, before, { timeout: 10000 });
  const got = await page.$eval('#movie-title', (e) => e.textContent);
  check(bare(got).toLowerCase() === title.toLowerCase(), `Enter on "${title}" opened "${got}"`);
  await waitSimilar(await page.$eval('input[name="mode"]:checked', (e) => e.value));
}

async function forYouAfter(action, before) {
  const seqBefore = await page.$eval('#foryou-note', (e) => e.textContent);
  await action();
  await page.waitForFunction((b) => document.getElementById('foryou-note').textContent !== b, seqBefore,
    { timeout: 10000 });
  await page.waitForFunction(() => /^Saved/.test(document.getElementById('rate-msg').textContent), null,
    { timeout: 10000 });
  const after = await forYouIds();
  return { changed: JSON.stringify(after) !== JSON.stringify(before), after };
}

// ---------------------------------------------------------------- desktop
const ctx = await browser.newContext({ viewport: { width: 1200, height: 860 }, deviceScaleFactor: 1 });
page = await ctx.newPage();
watch(page);

let homeForYou = [];
await step('home', async () => {
  await page.goto(`${GW}/`, { waitUntil: 'load' });
  await page.waitForSelector('#foryou li.result', { timeout: 10000 });
  homeForYou = await forYouIds();
  check(homeForYou.length > 0, 'no "for you" items on a fresh visit');
  const note = await page.$eval('#foryou-note', (e) => e.textContent);
  check(/Popular/.test(note), `fresh visitor note: "${note}"`);
  const visitor = await page.$eval('#visitor', (e) => e.textContent);
  check(/^web-/.test(visitor), `visitor id "${visitor}"`);
});

await step('typeahead-arrows', async () => {
  await page.focus('#q');
  await page.keyboard.type('Toy Sto', { delay: 20 });
  await page.waitForSelector('#suggest:not([hidden]) li.opt', { timeout: 10000 });
  const opts = await texts('#suggest li.opt .t');
  check(opts.length >= 2, `suggestions for "Toy Sto": ${JSON.stringify(opts)}`);
  check(opts.every((t) => /toy sto/i.test(t)), `a suggestion without "Toy Sto": ${JSON.stringify(opts)}`);
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const active = await page.$eval('#q', (e) => e.getAttribute('aria-activedescendant'));
  check(active === 'opt-1', `two ArrowDowns: active option ${active}, expected opt-1`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((t) => document.getElementById('movie-title').textContent === t, opts[1],
    { timeout: 10000 });
  await waitSimilar('blend');
});

await step('enter-opens-toy-story', async () => {
  await openBySearch('Toy Story');
  const facts = await page.$eval('#movie-meta', (e) => e.textContent);
  check(/1995/.test(facts) && /Animation/.test(facts), `Toy Story's year and genres: "${facts}"`);
  const sim = await similarTitles();
  check(sim.length === 10, `10 similar movies by default, got ${sim.length}`);
  if (ML) check(sim.some((t) => /^Toy Story 2\b/.test(t)), `blend on ml-latest-small without Toy Story 2: ${sim}`);
  const bars = await page.$$eval('#similar li.result .bars .fill', (els) => els.map((e) => e.style.width));
  check(bars.length === 30 && bars.some((w) => parseFloat(w) > 0), `contribution bars: ${bars.slice(0, 6)}`);
  const why = await texts('#similar li.result .why');
  check(why.length > 0 && why.every((t) => /similar to Toy Story/.test(t)), `explanations: ${why.slice(0, 3)}`);
  const status = await page.$eval('#status', (e) => e.textContent);
  check(/models: content .*CF .*popularity/.test(status) && /\d+ ms/.test(status), `status line: "${status}"`);
});

let contentList = [];
await step('mode-content', async () => {
  await page.click('label[for="mode-content"]');
  await waitSimilar('content');
  contentList = await similarTitles();
  check(contentList.some((t) => /^Toy Story 2\b/.test(t)), `content mode without Toy Story 2: ${contentList}`);
  const cf = await page.$$eval('#similar li.result .bar.f .val', (els) => els.map((e) => e.textContent));
  check(cf.every((v) => Number(v) === 0), `content mode with CF contributions: ${cf}`);
});

await step('mode-behaviour-keyboard', async () => {
  // keyboard only: focus the checked radio, arrow to the next one
  await page.focus('#mode-content');
  await page.keyboard.press('ArrowRight');
  await waitSimilar('behaviour');
  const list = await similarTitles();
  check(JSON.stringify(list) !== JSON.stringify(contentList), 'behaviour mode answered the content list');
  const c = await page.$$eval('#similar li.result .bar.c .val', (els) => els.map((e) => e.textContent));
  check(c.every((v) => Number(v) === 0), `behaviour mode with content contributions: ${c}`);
});

await step('k-5-blend', async () => {
  await page.selectOption('#k', '5');
  await page.waitForFunction(() => document.querySelectorAll('#similar li.result').length === 5, null,
    { timeout: 10000 });
  await page.click('label[for="mode-blend"]');
  await waitSimilar('blend');
  check((await similarTitles()).length === 5, 'k=5 not kept across a mode switch');
});

const liked = ['Toy Story', 'Monsters, Inc.', 'Alien'];
let fy = homeForYou;
await step('rate-three', async () => {
  await openBySearch('Toy Story');
  let r = await forYouAfter(() => page.click('#stars button[data-stars="5"]'), fy);
  check(r.changed, '"for you" did not change after rating Toy Story 5 stars');
  fy = r.after;
  await openBySearch('Monsters, Inc.');
  r = await forYouAfter(() => page.click('#like'), fy);
  check(await page.$eval('#like', (e) => e.getAttribute('aria-pressed')) === 'true', 'like not shown as pressed');
  fy = r.after;
  await openBySearch('Alien');
  // keyboard: Tab to the stars, Enter on the fourth
  await page.focus('#stars button[data-stars="4"]');
  r = await forYouAfter(() => page.keyboard.press('Enter'), fy);
  fy = r.after;
  const nrated = await page.$eval('#nrated', (e) => e.textContent);
  check(nrated === '3', `"your ratings" count ${nrated}`);
  const why = await texts('#foryou li.result .why');
  const cites = why.filter((t) => liked.some((l) => t.includes(`because you liked ${l}`)));
  check(cites.length > 0, `"for you" cites none of ${liked}: ${JSON.stringify(why)}`);
  const note = await page.$eval('#foryou-note', (e) => e.textContent);
  check(/Personalised from your 3 ratings/.test(note), `for-you note: "${note}"`);
  check(JSON.stringify(fy) !== JSON.stringify(homeForYou), '"for you" still the popular list');
});

await step('dislike-never-cited', async () => {
  await openBySearch('Shrek');
  await forYouAfter(() => page.click('#dislike'), fy);
  const why = await texts('#foryou li.result .why');
  check(!why.some((t) => /because you liked Shrek/.test(t)), `a disliked movie cited: ${JSON.stringify(why)}`);
  check(why.some((t) => /because you liked/.test(t)), `no "because you liked" left: ${JSON.stringify(why)}`);
  const ids = await forYouIds();
  const shrek = await page.evaluate(() => location.hash);
  check(!ids.some((id) => shrek.endsWith(encodeURIComponent(id))), 'the disliked movie is recommended');
});

await step('known-user', async () => {
  await page.fill('#user-id', '1');
  await page.press('#user-id', 'Enter');
  await page.waitForSelector('#user-recs li.result', { timeout: 10000 });
  const why = await texts('#user-recs li.result .why');
  check(why.length > 0 && why.some((t) => t.length > 0), `user 1: no explanations ${JSON.stringify(why)}`);
  const status = await page.$eval('#status', (e) => e.textContent);
  check(/^User 1:/.test(status), `status after user 1: "${status}"`);
});

await step('readme', async () => {
  await openBySearch('Toy Story');
  await page.click('label[for="mode-blend"]');
  await page.selectOption('#k', '5');
  await waitSimilar('blend');
  await page.evaluate(() => {
    if (document.activeElement) document.activeElement.blur();
    window.scrollTo(0, 0);
  });
  // the README's picture (docs/web-page.png): the top of the page, small
  await page.screenshot({ path: join(OUT, 'readme.png'), clip: { x: 0, y: 0, width: 1200, height: 760 } });
});

await step('worker-down-degraded', async () => {
  check(CF_PID > 0, 'no CF_PID given');
  process.kill(CF_PID, 'SIGKILL');
  await new Promise((res) => setTimeout(res, 300));
  await page.selectOption('#k', '20'); // a request never asked before: not in the cache
  await page.waitForSelector('#degraded:not([hidden])', { timeout: 15000 });
  const banner = await page.$eval('#degraded', (e) => e.textContent);
  check(/Degraded answer/.test(banner) && /cf/i.test(banner), `degraded banner: "${banner}"`);
  const sim = await similarTitles();
  check(sim.length > 0, 'no similar movies with the CF worker down');
  check((await page.$eval('#error', (e) => e.hidden)) === true, 'an error banner besides the degraded one');
  const status = await page.$eval('#status', (e) => e.textContent);
  check(/DEGRADED/.test(status), `status line: "${status}"`);
});

await step('gateway-error-message', async () => {
  // an id longer than the gateway's max-id-bytes: 400 invalid_argument,
  // the one HTTP error this step expects
  allowed = [/HTTP 400 for GET .*\/recommendations/, /status of 400/];
  await page.fill('#user-id', 'x'.repeat(300));
  await page.press('#user-id', 'Enter');
  await page.waitForSelector('#error:not([hidden])', { timeout: 10000 });
  const msg = await page.$eval('#error', (e) => e.textContent);
  check(/invalid_argument/.test(msg) && /user_id/.test(msg), `error banner: "${msg}"`);
});
await ctx.close();

// ---------------------------------------------------------------- phone
const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1,
  isMobile: true, hasTouch: true });
page = await phone.newPage();
watch(page);
await step('phone', async () => {
  await page.goto(`${GW}/`, { waitUntil: 'load' });
  await page.waitForSelector('#foryou li.result', { timeout: 10000 });
  await openBySearch('Toy Story');
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(over <= 1, `the page is ${over}px wider than a phone's viewport`);
  const fs = await page.$eval('#similar li.result .title', (e) => parseFloat(getComputedStyle(e).fontSize));
  check(fs >= 14, `result titles at ${fs}px on a phone`);
});
await phone.close();
await browser.close();
console.log(`all steps passed in ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${OUT}`);
