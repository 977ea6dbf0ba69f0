// Browser tests of the UI in web/, in a real browser against the real daemon.
//
// Debian's Chromium (/usr/bin/chromium, headless) driven through the npm
// package playwright-core (never a browser it downloads), talking to
// demucs-vocalsd on a free loopback port with the tiny fixture model:
//   - dropping the fixture mix: progress to 100 %, a player with a duration,
//     the download equal to the daemon's output; after a reload the row is
//     back, and after Remove and a reload it is not;
//   - two files chosen at once, one stem each, on a phone-sized screen, with
//     the event streams blocked so that the rows poll /status: both finish;
//   - a .txt file and a file that is not audio: the daemon's own error text
//     in the row;
//   - a reload during separation: the row comes back and goes on; then
//     cancel: the job is gone and the row says so;
//   - a file over the upload limit and a stopped server: errors in the rows;
//   - a server with an access token: the page asks for it once (a wrong one
//     is refused), then a song goes through (player and download use the
//     job's key), a reload does not ask again, a new tab does;
//   - screenshots of the finished page (desktop and phone) saved in
//     $DEMUCS_WEB_SCREENSHOTS (meson: build/meson-logs/web-screenshots/).
//
// meson runs it (suite 'web'); by hand, after `npm ci --prefix tests/web`:
//   DEMUCS_VOCALSD=build/daemon/demucs-vocalsd node --test tests/web/
// Environment: DEMUCS_VOCALSD (required), DEMUCS_WEB_DIR, DEMUCS_TEST_MODEL,
// DEMUCS_TEST_MIX, DEMUCS_WEB_SCREENSHOTS, CHROMIUM (default /usr/bin/chromium).
// A missing Chromium or playwright-core is a failure, not a skip:
// `scripts/install-deps.sh --tests` installs both.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const sourceRoot = path.resolve(__dirname, '..', '..');
const config = {
  daemon: process.env.DEMUCS_VOCALSD,
  webDir: process.env.DEMUCS_WEB_DIR || path.join(sourceRoot, 'web'),
  model: process.env.DEMUCS_TEST_MODEL || path.join(sourceRoot, 'tests', 'data', 'htdemucs-tiny-4s.th'),
  mix: process.env.DEMUCS_TEST_MIX || path.join(sourceRoot, 'tests', 'data', 'mix.wav'),
  screenshots: process.env.DEMUCS_WEB_SCREENSHOTS || path.join(os.tmpdir(), 'demucs-web-screenshots'),
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
};

const INSTALL_HINT = 'run scripts/install-deps.sh --tests (it installs chromium and runs npm ci --prefix tests/web)';
const SEPARATION_TIMEOUT_MS = 120000;

let chromium;
let browser;
let daemon;
let baseUrl;
let scratch;
let dataDir;

// ---------------------------------------------------------------- helpers

// One demucs-vocalsd on a free loopback port, its output kept for failures.
class Daemon {
  constructor(name, folder, extraArgs = []) {
    this.name = name;
    this.folder = folder;
    this.extraArgs = extraArgs;
    this.log = '';
    this.url = null;
    this.child = null;
  }

  start() {
    fs.mkdirSync(this.folder, { recursive: true });
    return new Promise((resolve, reject) => {
      const args = [
        '--host', '127.0.0.1', '--port', '0',
        '--data-dir', this.folder,
        '--model', config.model,
        '--device', 'cpu',
        '--web-dir', config.webDir,
        '--shutdown-grace', '0',
        ...this.extraArgs,
      ];
      const child = spawn(config.daemon, args, {
        env: {
          ...process.env,
          OMP_WAIT_POLICY: 'PASSIVE',
          DEMUCS_VOCALS_CACHE: path.join(scratch, 'model-cache'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      this.child = child;
      const timer = setTimeout(() => reject(new Error(`demucs-vocalsd printed no "Listening on" line in 60 s:\n${this.log}`)), 60000);
      child.stdout.on('data', (chunk) => {
        this.log += chunk.toString();
        const match = /Listening on (http:\/\/\S+)/.exec(this.log);
        if (match && !this.url) {
          this.url = match[1].endsWith('/') ? match[1] : `${match[1]}/`;
          clearTimeout(timer);
          resolve(this.url);
        }
      });
      child.stderr.on('data', (chunk) => { this.log += chunk.toString(); });
      child.on('error', (error) => { clearTimeout(timer); reject(error); });
      child.on('exit', (code, signal) => {
        if (!this.url) {
          clearTimeout(timer);
          reject(new Error(`demucs-vocalsd exited (${code ?? signal}) before listening:\n${this.log}`));
        }
      });
    });
  }

  // SIGTERM, as a service manager stops it; the exit code and signal.
  stop() {
    const { child } = this;
    return new Promise((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolve(null);
      const kill = setTimeout(() => child.kill('SIGKILL'), 15000);
      child.on('exit', (code, signal) => { clearTimeout(kill); resolve({ code, signal }); });
      child.kill('SIGTERM');
    });
  }
}

const daemons = [];
async function startDaemon(name, extraArgs) {
  const started = new Daemon(name, path.join(scratch, name), extraArgs);
  daemons.push(started);
  await started.start();
  return started;
}

// A WAV file made of `times` copies of the fixture's audio, for a separation
// that lasts long enough to be cancelled in the middle.
function longerWav(source, times) {
  const wav = fs.readFileSync(source);
  let offset = 12;
  let format = null;
  let data = null;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('latin1', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    if (id === 'fmt ') format = wav.subarray(offset, offset + 8 + size);
    if (id === 'data') data = wav.subarray(offset + 8, offset + 8 + size);
    offset += 8 + size + (size % 2);
  }
  assert.ok(format && data, `${source} is not a WAV file with fmt and data chunks`);
  const header = Buffer.alloc(12);
  const dataHeader = Buffer.alloc(8);
  const body = Buffer.concat(Array(times).fill(data));
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(4 + format.length + 8 + body.length, 4);
  header.write('WAVE', 8, 'latin1');
  dataHeader.write('data', 0, 'latin1');
  dataHeader.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, format, dataHeader, body]);
}

function filesUnder(folder) {
  const found = [];
  if (!fs.existsSync(folder)) return found;
  for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(full));
    else if (entry.isFile()) found.push(full);
  }
  return found;
}

async function api(pathAndQuery, options) {
  const response = await fetch(new URL(pathAndQuery, baseUrl), options);
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, body };
}

async function openPage(viewport = { width: 1280, height: 900 }, url = baseUrl) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // Anything the page does that its Content-Security-Policy forbids.
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  await page.goto(url);
  // The page asked /health and says the server is ready.
  await page.locator('#server-status[data-state="ok"]').waitFor({ timeout: 30000 })
    .catch(async (error) => {
      throw new Error(`the page never said the server is ready; it says "${await page.locator('#server-status').textContent()}" (${error.message.split('\n')[0]})`);
    });
  return { context, page, problems };
}

function row(page, fileName) {
  return page.locator('.job', { has: page.locator('.job-name', { hasText: fileName }) });
}

async function waitForState(rowLocator, states, timeout = SEPARATION_TIMEOUT_MS) {
  const wanted = [].concat(states);
  const selector = wanted.map((state) => `[data-state="${state}"]`).join(', ');
  await rowLocator.page().waitForFunction(
    ({ element, selector: s }) => element.matches(s),
    { element: await rowLocator.elementHandle(), selector },
    { timeout, polling: 50 });
  return rowLocator.getAttribute('data-state');
}

// Every state and progress value each row shows, in order.
async function recordRows(page) {
  await page.evaluate(() => {
    window.rowHistory = {};
    const note = () => {
      for (const job of document.querySelectorAll('.job')) {
        const name = job.querySelector('.job-name').textContent;
        const bar = job.querySelector('.job-progress');
        const entry = { state: job.dataset.state, progress: bar.hasAttribute('value') ? Number(bar.value) : null };
        const history = (window.rowHistory[name] ||= []);
        const last = history[history.length - 1];
        if (!last || last.state !== entry.state || last.progress !== entry.progress) history.push(entry);
      }
    };
    new MutationObserver(note).observe(document.querySelector('#job-list'),
      { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'value'] });
  });
}

async function dropFiles(page, files) {
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const { name, type, base64 } of list) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type }));
    }
    return transfer;
  }, files.map((f) => ({ name: f.name, type: f.mimeType, base64: f.buffer.toString('base64') })));
  await page.dispatchEvent('#dropzone', 'dragenter', { dataTransfer });
  await page.dispatchEvent('#dropzone', 'dragover', { dataTransfer });
  await page.dispatchEvent('#dropzone', 'drop', { dataTransfer });
}

async function audioDuration(rowLocator) {
  const audio = rowLocator.locator('audio');
  await audio.evaluate((element) => new Promise((resolve, reject) => {
    if (element.readyState >= 1) return resolve();
    element.addEventListener('loadedmetadata', resolve, { once: true });
    element.addEventListener('error', () => reject(new Error(`the player could not load ${element.src}: ${element.error && element.error.message}`)), { once: true });
  }));
  return audio.evaluate((element) => element.duration);
}

async function screenshot(page, name) {
  fs.mkdirSync(config.screenshots, { recursive: true });
  const file = path.join(config.screenshots, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}

function wavSeconds(bytes) {
  // 16-bit or float PCM: data size / byte rate, from the canonical chunks.
  let offset = 12;
  let byteRate = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') byteRate = bytes.readUInt32LE(offset + 16);
    if (id === 'data') return Math.min(size, bytes.length - offset - 8) / byteRate;
    offset += 8 + size + (size % 2);
  }
  return 0;
}

// A test that notes its failure, for the daemon's output at the end.
let failed = false;
function uiTest(name, body) {
  test(name, async (t) => {
    try {
      await body(t);
    } catch (error) {
      failed = true;
      throw error;
    }
  });
}

// ------------------------------------------------------------ setup/teardown

before(async () => {
  failed = true; // until the daemon and the browser are up
  assert.ok(config.daemon, 'DEMUCS_VOCALSD must name the demucs-vocalsd program (meson sets it)');
  assert.ok(fs.existsSync(config.daemon), `no demucs-vocalsd at ${config.daemon}`);
  assert.ok(fs.existsSync(config.chromium), `no Chromium at ${config.chromium}: ${INSTALL_HINT}`);
  try {
    ({ chromium } = require('playwright-core'));
  } catch (error) {
    assert.fail(`playwright-core is missing (${error.message.split('\n')[0]}): ${INSTALL_HINT}`);
  }
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'demucs-web-test-'));
  daemon = await startDaemon('data', ['--max-jobs', '1']);
  baseUrl = daemon.url;
  dataDir = daemon.folder;
  browser = await chromium.launch({
    executablePath: config.chromium,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required'],
  });
  failed = false;
  console.log(`daemon at ${baseUrl}, Chromium ${browser.version()}, screenshots in ${config.screenshots}`);
});

after(async () => {
  if (browser) await browser.close();
  for (const each of daemons) {
    const exit = await each.stop();
    if (exit && exit.code !== 0) console.log(`demucs-vocalsd (${each.name}) ended with ${exit.code ?? exit.signal} on SIGTERM`);
    if (failed && each.log) console.log(`--- demucs-vocalsd (${each.name}) output ---\n${each.log.slice(-20000)}`);
  }
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

// ------------------------------------------------------------------- tests

uiTest('a dropped song is separated: progress to 100 %, a player, the download is the daemon\'s output', async () => {
  const { context, page, problems } = await openPage();
  try {
    await recordRows(page);
    const requests = [];
    page.on('request', (request) => requests.push(new URL(request.url()).pathname));
    await dropFiles(page, [{ name: 'mix.wav', mimeType: 'audio/wav', buffer: fs.readFileSync(config.mix) }]);
    const job = row(page, 'mix.wav');
    await job.waitFor();
    assert.equal(await job.getAttribute('data-state'), 'ready');
    assert.match(await job.locator('.job-size').textContent(), /^1\.0 MB$/);
    assert.equal(await job.getByLabel('Stem to keep from mix.wav').inputValue(), 'vocals');

    await page.getByRole('button', { name: 'Separate mix.wav' }).click();
    assert.equal(await waitForState(job, ['done', 'error']), 'done',
      `the row ended in error: ${await job.locator('.job-message').textContent()}`);

    // The bar rose while separating and ends full, at 100 %.
    const history = (await page.evaluate(() => window.rowHistory))['mix.wav'];
    const states = history.map((entry) => entry.state).filter((s, i, all) => s !== all[i - 1]);
    const order = ['ready', 'uploading', 'checking', 'waiting', 'separating', 'done'];
    const ranks = states.map((state) => order.indexOf(state));
    assert.ok(ranks.every((rank, i) => rank >= 0 && (i === 0 || rank > ranks[i - 1])), `states out of order: ${states}`);
    assert.deepEqual([states[0], states[states.length - 1]], ['ready', 'done']);
    assert.ok(states.includes('uploading'), `states: ${states}`);
    const separating = history.filter((entry) => entry.state === 'separating').map((entry) => entry.progress);
    assert.ok(separating.length > 0, `no separating state seen: ${JSON.stringify(history)}`);
    for (let i = 1; i < separating.length; i += 1) {
      assert.ok(separating[i] >= separating[i - 1], `progress went back: ${separating}`);
    }
    assert.ok(separating[0] < 100, `progress started at ${separating[0]}`);
    assert.ok(separating.some((value) => value > 0 && value < 100), `no progress between 0 and 100 %: ${separating}`);
    const bar = job.locator('progress');
    assert.ok(await bar.isVisible());
    assert.equal(await bar.evaluate((element) => element.value), 100);
    assert.match(await job.locator('.job-status').textContent(), /Done/);

    const jobId = await job.getAttribute('data-job-id');
    // Progress came from the daemon's event stream, not from polling.
    assert.ok(requests.includes(`/events/${jobId}`), `requests: ${requests}`);
    assert.ok(!requests.includes(`/status/${jobId}`), `the page polled while the event stream worked: ${requests}`);
    const status = JSON.parse((await api(`status/${jobId}`)).body);
    assert.equal(status.status, 'completed');
    assert.equal(status.progress, 100);
    assert.equal(status.stem, 'vocals');

    // The player has the result: the fixture's 6 seconds.
    const duration = await audioDuration(job);
    assert.ok(duration > 5.9 && duration < 6.1, `player duration ${duration}`);

    // The download button gives exactly what the daemon made.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      job.getByRole('link', { name: 'Download the result for mix.wav' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'mix_vocals.wav');
    const downloaded = fs.readFileSync(await download.path());
    const direct = await api(`download/${jobId}`);
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.get('content-type'), 'audio/wav');
    assert.ok(downloaded.equals(direct.body), 'the downloaded file differs from GET /download');
    assert.equal(downloaded.toString('latin1', 0, 4), 'RIFF');
    assert.ok(Math.abs(wavSeconds(downloaded) - 6) < 0.05, `download lasts ${wavSeconds(downloaded)} s`);
    const onDisk = filesUnder(dataDir).filter((file) => fs.readFileSync(file).equals(downloaded));
    assert.ok(onDisk.length > 0, `no file in the daemon's data folder equals the download: ${filesUnder(dataDir).join(', ')}`);

    await screenshot(page, 'finished-desktop.png');

    // A reload finds the finished row again, with its player; Remove forgets it.
    await page.reload();
    await page.locator('body[data-restored="true"]').waitFor({ timeout: 30000 });
    const restored = row(page, 'mix.wav');
    assert.equal(await waitForState(restored, ['done', 'error'], 30000), 'done');
    assert.equal(await restored.getAttribute('data-job-id'), jobId);
    const restoredDuration = await audioDuration(restored);
    assert.ok(restoredDuration > 5.9 && restoredDuration < 6.1, `restored player duration ${restoredDuration}`);
    await restored.getByRole('button', { name: 'Remove mix.wav from the list' }).click();
    await page.reload();
    await page.locator('body[data-restored="true"]').waitFor({ timeout: 30000 });
    assert.equal(await page.locator('.job').count(), 0, 'a removed row came back after a reload');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

uiTest('"All stems": a player and a download per stem, and "Download all" gives the zip', async () => {
  const { context, page, problems } = await openPage();
  try {
    await page.getByLabel('All stems').check();
    await dropFiles(page, [{ name: 'stems.wav', mimeType: 'audio/wav', buffer: fs.readFileSync(config.mix) }]);
    const job = row(page, 'stems.wav');
    await job.waitFor();
    assert.equal(await job.getByLabel('Stem to keep from stems.wav').inputValue(), 'all');
    await page.getByRole('button', { name: 'Separate stems.wav' }).click();
    assert.equal(await waitForState(job, ['done', 'error']), 'done',
      `the row ended in error: ${await job.locator('.job-message').textContent()}`);
    const items = job.locator('.job-stem-result');
    await items.first().waitFor();
    assert.deepEqual(await items.evaluateAll((list) => list.map((item) => item.dataset.stem)),
      ['drums', 'bass', 'other', 'vocals', 'instrumental']);
    assert.equal(await job.locator('.job-audio').isVisible(), false, 'the one-stem player is hidden');
    for (const [stem, name] of [['drums', 'Drums'], ['vocals', 'Vocals'], ['instrumental', 'Instrumental']]) {
      const item = job.locator(`.job-stem-result[data-stem="${stem}"]`);
      assert.equal(await item.locator('.job-stem-name').textContent(), name);
      const duration = await audioDuration(item);
      assert.ok(Math.abs(duration - 6) < 0.05, `${stem} player: ${duration} s`);
      const link = await item.locator('.job-stem-download').getAttribute('href');
      const download = await api(link);
      assert.equal(download.status, 200);
      assert.ok(Math.abs(wavSeconds(download.body) - 6) < 0.01, `${stem} download: ${wavSeconds(download.body)} s`);
    }
    const all = job.getByRole('link', { name: 'Download all stems of stems.wav (zip)' });
    assert.equal(await all.textContent(), 'Download all');
    const zip = await api(await all.getAttribute('href'));
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get('content-type'), 'application/zip');
    assert.equal(zip.body.toString('latin1', 0, 4), 'PK\x03\x04');
    for (const stem of ['drums', 'bass', 'other', 'vocals', 'instrumental']) {
      assert.ok(zip.body.includes(Buffer.from(`${stem}.wav`)), `no ${stem}.wav in the zip`);
    }
    await screenshot(page, 'all-stems.png');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

uiTest('two songs chosen at once, one stem each, both finish', async () => {
  const { context, page, problems } = await openPage({ width: 390, height: 844 });
  try {
    const mix = fs.readFileSync(config.mix);
    // No event streams on this page: the rows must fall back to polling /status.
    const polls = [];
    await page.route('**/events/**', (route) => route.abort());
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/status/')) polls.push(Date.now());
    });
    // New rows take the stem chosen at the top; one row is changed before it starts.
    await page.getByLabel('Instrumental (karaoke)').check();
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.getByRole('button', { name: 'Choose files…' }).click(),
    ]);
    assert.ok(chooser.isMultiple());
    await chooser.setFiles([
      { name: 'first song.wav', mimeType: 'audio/wav', buffer: mix },
      { name: 'second song.wav', mimeType: 'audio/wav', buffer: mix },
    ]);
    const first = row(page, 'first song.wav');
    const second = row(page, 'second song.wav');
    assert.equal(await first.getByLabel('Stem to keep from first song.wav').inputValue(), 'instrumental');
    await second.getByLabel('Stem to keep from second song.wav').selectOption('vocals');

    await page.getByRole('button', { name: 'Separate all (2)' }).click();
    assert.equal(await waitForState(first, ['done', 'error']), 'done', await first.locator('.job-message').textContent());
    assert.equal(await waitForState(second, ['done', 'error']), 'done', await second.locator('.job-message').textContent());

    for (const [job, stem, file] of [[first, 'instrumental', 'first song_instrumental.wav'], [second, 'vocals', 'second song_vocals.wav']]) {
      const jobId = await job.getAttribute('data-job-id');
      const status = JSON.parse((await api(`status/${jobId}`)).body);
      assert.equal(status.status, 'completed');
      assert.equal(status.stem, stem);
      assert.equal(await job.locator('progress').evaluate((element) => element.value), 100);
      assert.equal((await job.locator('.job-stem-fixed').textContent()).toLowerCase(), `keeping ${stem}`);
      const duration = await audioDuration(job);
      assert.ok(duration > 5.9 && duration < 6.1, `player duration ${duration}`);
      const disposition = (await api(`download/${jobId}`)).headers.get('content-disposition') || '';
      assert.ok(disposition.includes(file), `Content-Disposition: ${disposition}`);
    }
    assert.ok(polls.length >= 2, `only ${polls.length} requests to /status while the event streams failed`);
    // Readable on a phone: nothing wider than the screen.
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(scrollWidth <= 390, `the page is ${scrollWidth}px wide on a 390px screen`);
    await screenshot(page, 'finished-phone.png');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

uiTest('a .txt file and a file that is not audio show the daemon\'s error in their rows', async () => {
  const { context, page, problems } = await openPage();
  try {
    const text = Buffer.from('These are notes, not a song.\n');
    const notAudio = Buffer.alloc(64 * 1024, 0x5a);
    await page.setInputFiles('#file-input', [
      { name: 'notes.txt', mimeType: 'text/plain', buffer: text },
      { name: 'broken.mp3', mimeType: 'audio/mpeg', buffer: notAudio },
    ]);
    await page.getByRole('button', { name: 'Separate all (2)' }).click();

    for (const [name, bytes, type] of [['notes.txt', text, 'text/plain'], ['broken.mp3', notAudio, 'audio/mpeg']]) {
      const job = row(page, name);
      assert.equal(await waitForState(job, ['error', 'done'], 30000), 'error');
      // What the daemon answers to the same upload, word for word.
      const form = new FormData();
      form.append('file', new Blob([bytes], { type }), name);
      const reply = await api('upload', { method: 'POST', body: form });
      assert.equal(reply.status, 415, reply.body.toString());
      const { error } = JSON.parse(reply.body);
      assert.ok(error && error.length > 0);
      const message = job.locator('.job-message');
      assert.equal((await message.textContent()).trim(), error);
      assert.equal(await message.getAttribute('role'), 'alert');
      assert.ok(await message.isVisible());
      assert.equal(await job.locator('.job-state').textContent(), 'Error');
      assert.ok(await job.getByRole('button', { name: `Remove ${name} from the list` }).isVisible());
    }
    assert.match(await row(page, 'notes.txt').locator('.job-message').textContent(), /mp3/i);
    assert.match(await row(page, 'broken.mp3').locator('.job-message').textContent(), /decoded/);
    await screenshot(page, 'errors.png');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

uiTest('cancel during separation stops the job and the row says so', async () => {
  const { context, page, problems } = await openPage();
  try {
    // Ten times the fixture: a separation long enough to cancel in the middle.
    await page.setInputFiles('#file-input', { name: 'long song.wav', mimeType: 'audio/wav', buffer: longerWav(config.mix, 10) });
    const job = row(page, 'long song.wav');
    await page.getByRole('button', { name: 'Separate long song.wav' }).click();
    assert.equal(await waitForState(job, ['separating', 'done', 'error']), 'separating');
    const jobId = await job.getAttribute('data-job-id');
    assert.equal(JSON.parse((await api(`status/${jobId}`)).body).status, 'processing');

    // A reload in the middle: the row comes back, still separating, and goes on rising.
    const before = Number(await job.locator('progress').evaluate((element) => element.value));
    await page.reload();
    await page.locator('body[data-restored="true"]').waitFor({ timeout: 30000 });
    assert.equal(await waitForState(job, ['separating', 'done', 'error']), 'separating');
    assert.equal(await job.getAttribute('data-job-id'), jobId);
    await page.waitForFunction(
      ({ element, floor }) => element.value > floor,
      { element: await job.locator('progress').elementHandle(), floor: before },
      { timeout: 30000, polling: 100 });

    const cancel = page.getByRole('button', { name: 'Cancel long song.wav' });
    await cancel.focus();
    await page.keyboard.press('Enter'); // from the keyboard
    assert.equal(await waitForState(job, ['cancelled', 'done', 'error'], 30000), 'cancelled');
    assert.equal(await job.locator('.job-state').textContent(), 'Cancelled');
    assert.match(await job.locator('.job-message').textContent(), /stopped/);
    assert.ok(await job.locator('.job-result').isHidden());
    // Focus stays in the row, on a button that is still there.
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Remove long song.wav from the list');

    // The job is gone from the daemon, and stays gone.
    assert.equal((await api(`status/${jobId}`)).status, 404);
    const { jobs } = JSON.parse((await api('jobs')).body);
    assert.ok(!jobs.some((j) => j.job_id === jobId), 'the cancelled job is still listed');
    await page.waitForTimeout(1500);
    assert.equal(await job.getAttribute('data-state'), 'cancelled');
    const leftovers = filesUnder(dataDir).filter((file) => file.includes(jobId));
    assert.deepEqual(leftovers, [], 'files of the cancelled job remain');
    await screenshot(page, 'cancelled.png');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

uiTest('a file over the upload limit, then a stopped server: the errors in their rows', async () => {
  // A second daemon with a 2 MB limit, stopped half-way through the test.
  const small = await startDaemon('small-limit', ['--max-upload-mb', '2']);
  const { context, page, problems } = await openPage({ width: 1280, height: 900 }, small.url);
  try {
    const big = Buffer.alloc(3 * 1024 * 1024, 0x11);
    await page.setInputFiles('#file-input', [
      { name: 'big.wav', mimeType: 'audio/wav', buffer: big },
      { name: 'later.wav', mimeType: 'audio/wav', buffer: fs.readFileSync(config.mix) },
    ]);
    const bigRow = row(page, 'big.wav');
    await page.getByRole('button', { name: 'Separate big.wav' }).click();
    assert.equal(await waitForState(bigRow, ['error', 'done'], 30000), 'error');
    const form = new FormData();
    form.append('file', new Blob([big], { type: 'audio/wav' }), 'big.wav');
    const reply = await fetch(new URL('upload', small.url), { method: 'POST', body: form });
    assert.equal(reply.status, 413);
    const { error } = await reply.json();
    assert.equal((await bigRow.locator('.job-message').textContent()).trim(), error);

    const exit = await small.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, 'demucs-vocalsd did not exit cleanly on SIGTERM');
    const laterRow = row(page, 'later.wav');
    await page.getByRole('button', { name: 'Separate later.wav' }).click();
    assert.equal(await waitForState(laterRow, ['error', 'done'], 30000), 'error');
    assert.match(await laterRow.locator('.job-message').textContent(), /server is unavailable/);
    await page.locator('#server-status[data-state="down"]').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('#server-status').textContent(), 'Server unavailable');
    await screenshot(page, 'too-large-and-unavailable.png');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

uiTest('a server with an access token: the page asks once, then works', async () => {
  const tokenFile = path.join(scratch, 'token');
  const secret = 'web-test-token-0123456789abcdef';
  fs.writeFileSync(tokenFile, `${secret}\n`);
  const guarded = await startDaemon('guarded', ['--api-token-file', tokenFile]);
  const { context, page, problems } = await openPage({ width: 1280, height: 900 }, guarded.url);
  try {
    const form = page.locator('#access-section');
    await form.waitFor({ state: 'visible', timeout: 10000 });
    const input = page.getByPlaceholder('Access token');
    assert.ok(await input.evaluate((element) => element === document.activeElement), 'the token field has the focus');
    await screenshot(page, 'token-asked.png');

    await input.fill('not-the-token');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.locator('#access-error', { hasText: 'not the right token' }).waitFor({ timeout: 5000 });
    assert.ok(await form.isVisible());

    await input.fill(secret);
    await page.getByRole('button', { name: 'Connect' }).click();
    await form.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await page.evaluate(() => sessionStorage.getItem('demucs-vocals.token')), secret);
    assert.equal(await page.evaluate(() => localStorage.getItem('demucs-vocals.token')), null);

    await dropFiles(page, [{ name: 'mix.wav', mimeType: 'audio/wav', buffer: fs.readFileSync(config.mix) }]);
    const job = row(page, 'mix.wav');
    await page.getByRole('button', { name: 'Separate mix.wav' }).click();
    assert.equal(await waitForState(job, ['done', 'error']), 'done',
      `the row ended in error: ${await job.locator('.job-message').textContent()}`);
    const duration = await audioDuration(job);
    assert.ok(Math.abs(duration - 6) < 0.1, `the player shows ${duration} s`);
    const href = await job.locator('.job-download').getAttribute('href');
    assert.match(href, /^\/download\/[0-9a-f-]{36}\?key=[0-9a-f]{32}$/);
    const [download] = await Promise.all([page.waitForEvent('download'), job.locator('.job-download').click()]);
    const saved = fs.readFileSync(await download.path());
    const id = await job.getAttribute('data-job-id');
    assert.ok(saved.equals(fs.readFileSync(path.join(guarded.folder, 'jobs', id, 'attempt-1', 'output.wav'))));
    // Without the token or the key, the same URL is closed.
    assert.equal((await fetch(new URL(`download/${id}`, guarded.url))).status, 401);

    // A reload keeps the token (same tab): no question, the row is back.
    await page.reload();
    await page.locator('body[data-restored="true"]').waitFor({ timeout: 10000 });
    assert.ok(await form.isHidden());
    assert.equal(await waitForState(row(page, 'mix.wav'), ['done'], 10000), 'done');
    await screenshot(page, 'token-accepted.png');
    assert.deepEqual(problems, []);

    // Another tab (a new browsing context) asks again.
    const other = await openPage({ width: 1280, height: 900 }, guarded.url);
    try {
      await other.page.locator('#access-section').waitFor({ state: 'visible', timeout: 10000 });
    } finally {
      await other.context.close();
    }
  } finally {
    await context.close();
  }
});
