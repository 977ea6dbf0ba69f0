// The browser UI of demucs-vocalsd: one row per song, uploaded when the user
// presses Separate, followed through the daemon's Server-Sent Events (or by
// polling /status every second when a stream is not available), then played
// and downloaded from /download/{id}. Rows of uploaded songs come back after
// a reload. No framework, nothing from another host.
'use strict';

(() => {
  const $ = (selector, root = document) => root.querySelector(selector);

  const jobList = $('#job-list');
  const jobsSection = $('#jobs-section');
  const separateAll = $('#separate-all');
  const fileInput = $('#file-input');
  const dropzone = $('#dropzone');
  const serverStatus = $('#server-status');
  const template = $('#job-template');

  const rows = new Set();

  // Browsers allow six HTTP/1.1 connections per host and every event stream
  // holds one open: beyond a few streams, rows poll so that uploads,
  // downloads and the players still get connections.
  const MAX_STREAMS = 3;
  let openStreams = 0;
  const POLL_MS = 1000;

  const STEM_NAMES = {
    vocals: 'Vocals',
    instrumental: 'Instrumental',
    drums: 'Drums',
    bass: 'Bass',
    other: 'Other',
    guitar: 'Guitar',
    piano: 'Piano',
    'vocals,instrumental': 'Vocals + Instrumental',
    all: 'All stems',
  };

  // A choice that gives several stems: a zip, and a player per stem.
  function isSeveralStems(stem) {
    return stem === 'all' || String(stem).includes(',');
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    const units = ['KB', 'MB', 'GB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
  }

  function formatDuration(seconds) {
    if (!Number.isFinite(seconds)) return '';
    const total = Math.round(seconds);
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  }

  // The API's own words for an error response, else the HTTP status.
  function errorText(status, body) {
    try {
      const parsed = JSON.parse(body);
      if (parsed && typeof parsed.error === 'string' && parsed.error) return parsed.error;
    } catch (_) { /* not JSON */ }
    if (status === 503) return 'The server is unavailable right now; try again in a moment.';
    return `The server answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}.`;
  }

  const UNREACHABLE = 'The server is unavailable: it could not be reached. Is demucs-vocalsd running?';

  // The access token, when the server needs one (/health says so): asked
  // once, kept in sessionStorage (this tab, until it closes), sent as
  // "Authorization: Bearer". <audio>, download links and EventSource cannot
  // send headers: they use the job's own key (?key=) from /upload and /status.
  const TOKEN_KEY = 'demucs-vocals.token';
  const accessSection = $('#access-section');
  const accessForm = $('#access-form');
  const accessInput = $('#access-token');
  const accessError = $('#access-error');
  let token = '';
  try { token = sessionStorage.getItem(TOKEN_KEY) || ''; } catch (_) { /* storage unavailable */ }
  let tokenRequired = false;
  let onTokenAccepted = null;

  function authHeaders() {
    return token ? { Authorization: `Bearer ${token}` } : {};
  }

  // fetch() with the token; a 401 asks for it again.
  async function api(url, options = {}) {
    const response = await fetch(url, { cache: 'no-store', ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
    if (response.status === 401) askForToken(token ? 'The access token was refused. Enter it again.' : '');
    return response;
  }

  function withKey(url, key) {
    return key ? `${url}?key=${encodeURIComponent(key)}` : url;
  }

  function askForToken(problem) {
    token = '';
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (_) { /* storage unavailable */ }
    accessError.hidden = !problem;
    accessError.textContent = problem || '';
    if (accessSection.hidden) {
      accessSection.hidden = false;
      accessInput.focus();
    }
  }

  accessForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const candidate = accessInput.value.trim();
    if (!candidate) return;
    let status = 0;
    try {
      status = (await fetch('/jobs', { cache: 'no-store', headers: { Authorization: `Bearer ${candidate}` } })).status;
    } catch (_) { /* unreachable: status 0 */ }
    if (status === 200) {
      token = candidate;
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (_) { /* kept in memory only */ }
      accessInput.value = '';
      accessError.hidden = true;
      accessSection.hidden = true;
      if (onTokenAccepted) {
        const then = onTokenAccepted;
        onTokenAccepted = null;
        then();
      }
      return;
    }
    accessError.hidden = false;
    accessError.textContent = status === 401 ? 'That is not the right token.'
      : status === 0 ? UNREACHABLE : `The server answered ${status}.`;
    accessInput.select();
  });

  class Row {
    constructor(file, stem) {
      this.file = file;
      this.jobId = null;
      this.key = '';
      this.state = 'ready';
      this.xhr = null;
      this.stream = null;
      this.pollTimer = null;
      this.progress = 0;

      const el = template.content.firstElementChild.cloneNode(true);
      this.el = el;
      this.name = $('.job-name', el);
      this.stemSelect = $('.job-stem', el);
      this.stemFixed = $('.job-stem-fixed', el);
      this.startButton = $('.job-start', el);
      this.cancelButton = $('.job-cancel', el);
      this.removeButton = $('.job-remove', el);
      this.progressBar = $('.job-progress', el);
      this.stateText = $('.job-state', el);
      this.detailText = $('.job-detail', el);
      this.message = $('.job-message', el);
      this.result = $('.job-result', el);
      this.audio = $('.job-audio', el);
      this.download = $('.job-download', el);

      this.name.textContent = file.name;
      this.name.title = file.name;
      $('.job-size', el).textContent = formatSize(file.size);
      this.stemSelect.value = stem;
      this.stemSelect.setAttribute('aria-label', `Stem to keep from ${file.name}`);
      this.startButton.setAttribute('aria-label', `Separate ${file.name}`);
      this.cancelButton.setAttribute('aria-label', `Cancel ${file.name}`);
      this.removeButton.setAttribute('aria-label', `Remove ${file.name} from the list`);
      this.progressBar.setAttribute('aria-label', `Progress of ${file.name}`);
      this.audio.setAttribute('aria-label', `Preview of the result for ${file.name}`);

      this.startButton.addEventListener('click', () => this.start());
      this.cancelButton.addEventListener('click', () => this.cancel());
      this.removeButton.addEventListener('click', () => this.remove());
      this.audio.addEventListener('loadedmetadata', () => {
        if (this.state === 'done') this.detailText.textContent = ` · ${formatDuration(this.audio.duration)}`;
      });

      this.render();
    }

    // One place that turns the state into what the row shows.
    set(state, { detail = '', message = '', progress } = {}) {
      this.state = state;
      if (progress !== undefined) this.progress = progress;
      this.stateDetail = detail;
      this.stateMessage = message;
      this.render();
    }

    render() {
      const { el, state } = this;
      const hadFocus = el.contains(document.activeElement);
      el.dataset.state = state;

      const labels = {
        ready: 'Ready',
        uploading: 'Uploading',
        checking: 'Checking the file',
        waiting: 'Waiting',
        separating: 'Separating',
        cancelling: 'Cancelling',
        done: 'Done',
        error: 'Error',
        cancelled: 'Cancelled',
      };
      const label = labels[state];
      if (this.stateText.textContent !== label) this.stateText.textContent = label;
      this.detailText.textContent = this.stateDetail ? ` · ${this.stateDetail}` : '';

      const editable = state === 'ready';
      this.stemSelect.closest('label').hidden = !editable;
      this.stemFixed.hidden = editable;
      const stemName = STEM_NAMES[this.stemSelect.value] || this.stemSelect.value;
      if (this.stemFixed.dataset.stem !== stemName) {
        const hidden = document.createElement('span');
        hidden.className = 'visually-hidden';
        hidden.textContent = 'keeping ';
        this.stemFixed.replaceChildren(hidden, stemName);
        this.stemFixed.dataset.stem = stemName;
      }

      this.startButton.hidden = !editable;
      this.cancelButton.hidden = !['uploading', 'checking', 'waiting', 'separating', 'cancelling'].includes(state);
      // aria-disabled, not disabled: a disabled button loses the keyboard focus.
      this.cancelButton.setAttribute('aria-disabled', String(state === 'cancelling' || state === 'checking'));
      this.removeButton.hidden = !['ready', 'done', 'error', 'cancelled'].includes(state);

      const showsProgress = ['uploading', 'checking', 'waiting', 'separating', 'cancelling', 'done'].includes(state);
      this.progressBar.hidden = !showsProgress;
      if (showsProgress) {
        if (state === 'waiting' || state === 'checking') {
          this.progressBar.removeAttribute('value'); // indeterminate
        } else {
          this.progressBar.value = this.progress;
        }
      }

      this.message.hidden = !this.stateMessage;
      this.message.textContent = this.stateMessage;
      this.message.setAttribute('role', state === 'error' ? 'alert' : 'note');

      this.result.hidden = state !== 'done';

      if (hadFocus && !el.contains(document.activeElement)) this.focusSomething();
      updateToolbar();
    }

    // Keyboard users keep their place when the button they pressed goes away.
    focusSomething() {
      const candidates = [this.download, this.cancelButton, this.startButton, this.removeButton];
      const target = candidates.find((c) => !c.closest('[hidden]') && c.getAttribute('aria-disabled') !== 'true');
      if (target) target.focus();
    }

    start() {
      if (this.state !== 'ready') return;
      const form = new FormData();
      form.append('file', this.file, this.file.name);
      form.append('stem', this.stemSelect.value);

      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open('POST', '/upload');
      if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
      xhr.upload.addEventListener('progress', (event) => {
        if (!event.lengthComputable || this.state !== 'uploading') return;
        const percent = Math.floor((event.loaded / event.total) * 100);
        this.set('uploading', { detail: `${percent} %`, progress: percent });
      });
      xhr.upload.addEventListener('load', () => {
        if (this.state === 'uploading') this.set('checking', { detail: 'the server is reading it' });
      });
      xhr.addEventListener('load', () => {
        this.xhr = null;
        if (xhr.status === 200) {
          let reply = null;
          try { reply = JSON.parse(xhr.responseText); } catch (_) { /* handled below */ }
          if (!reply || !reply.job_id) {
            this.set('error', { message: 'The server accepted the upload but sent no job id.' });
            return;
          }
          this.jobId = reply.job_id;
          this.key = reply.key || '';
          this.el.dataset.jobId = reply.job_id;
          rememberJob(this);
          this.set('waiting', { detail: 'in the queue', progress: 0 });
          this.follow();
        } else {
          if (xhr.status === 401) askForToken('The access token was refused. Enter it again.');
          this.set('error', { message: errorText(xhr.status, xhr.responseText) });
        }
      });
      xhr.addEventListener('error', () => {
        this.xhr = null;
        this.set('error', { message: UNREACHABLE });
        checkServer();
      });
      xhr.addEventListener('abort', () => {
        this.xhr = null;
        this.set('cancelled', { message: 'The upload was stopped.' });
      });
      this.set('uploading', { detail: '0 %', progress: 0 });
      xhr.send(form);
    }

    // Status objects from the stream and from /status go through here.
    apply(status) {
      if (status.key) this.key = status.key;
      if (['done', 'error', 'cancelled', 'cancelling'].includes(this.state)) return;
      const progress = Math.max(0, Math.min(100, Number(status.progress) || 0));
      switch (status.status) {
        case 'pending': {
          const position = status.queue_position;
          const detail = position === 1 ? 'next in the queue'
            : position > 1 ? `position ${position} in the queue` : 'in the queue';
          this.set('waiting', { detail, progress: 0 });
          break;
        }
        case 'processing':
          this.set('separating', { detail: `${Math.floor(progress)} %`, progress });
          break;
        case 'completed':
          this.stopFollowing();
          this.finish();
          break;
        case 'error':
          this.stopFollowing();
          this.set('error', { message: status.error_message || 'The separation failed.' });
          break;
        default:
          break;
      }
    }

    finish() {
      const url = withKey(`/download/${encodeURIComponent(this.jobId)}`, this.key);
      this.download.href = url;
      if (isSeveralStems(this.stemSelect.value)) {
        // The zip of every stem, and a player and a download per stem (/status lists them).
        this.download.textContent = 'Download all';
        this.download.setAttribute('aria-label', `Download all stems of ${this.file.name} (zip)`);
        this.audio.hidden = true;
        this.showStems();
      } else {
        this.download.setAttribute('aria-label', `Download the result for ${this.file.name}`);
        this.audio.src = url;
      }
      this.set('done', { progress: 100 });
    }

    async showStems() {
      const list = $('.job-stems', this.el);
      try {
        const reply = await api(`/status/${encodeURIComponent(this.jobId)}`);
        const status = await reply.json();
        const stems = Array.isArray(status.stems) ? status.stems : [];
        const template = document.getElementById('stem-template');
        list.replaceChildren(...stems.map((stem) => {
          const item = template.content.firstElementChild.cloneNode(true);
          const name = STEM_NAMES[stem] || stem;
          const url = withKey(`/download/${encodeURIComponent(this.jobId)}/${encodeURIComponent(stem)}`, this.key);
          $('.job-stem-name', item).textContent = name;
          const audio = $('.job-stem-audio', item);
          audio.src = url;
          audio.setAttribute('aria-label', `${name} of ${this.file.name}`);
          const link = $('.job-stem-download', item);
          link.href = url;
          link.setAttribute('aria-label', `Download the ${name.toLowerCase()} of ${this.file.name}`);
          item.dataset.stem = stem;
          return item;
        }));
        list.hidden = stems.length === 0;
      } catch (_) {
        list.hidden = true;  // "Download all" still works
      }
    }

    follow() {
      if (typeof EventSource === 'function' && openStreams < MAX_STREAMS) {
        this.listen();
      } else {
        this.poll();
      }
    }

    listen() {
      const stream = new EventSource(withKey(`/events/${encodeURIComponent(this.jobId)}`, this.key));
      this.stream = stream;
      openStreams += 1;
      stream.addEventListener('status', (event) => {
        try {
          this.apply(JSON.parse(event.data));
        } catch (_) { /* ignore a malformed event; the next one or polling catches up */ }
      });
      stream.addEventListener('deleted', () => {
        this.stopFollowing();
        if (this.state !== 'cancelling' && this.state !== 'cancelled') {
          this.set('cancelled', { message: 'The job was removed from the server.' });
        }
      });
      // A stream that fails or ends before the job does: poll instead.
      stream.addEventListener('error', () => {
        if (this.stream !== stream) return;
        this.closeStream();
        if (['waiting', 'separating', 'checking'].includes(this.state)) this.poll();
      });
    }

    closeStream() {
      if (!this.stream) return;
      this.stream.close();
      this.stream = null;
      openStreams -= 1;
    }

    poll() {
      clearTimeout(this.pollTimer);
      this.pollTimer = setTimeout(async () => {
        this.pollTimer = null;
        if (!['waiting', 'separating', 'checking'].includes(this.state)) return;
        try {
          const response = await api(`/status/${encodeURIComponent(this.jobId)}`);
          const body = await response.text();
          if (!['waiting', 'separating', 'checking'].includes(this.state)) return;
          if (response.ok) {
            this.apply(JSON.parse(body));
          } else if (response.status === 404) {
            this.set('cancelled', { message: 'The job is no longer on the server.' });
            return;
          } else {
            this.stateDetail = errorText(response.status, body);
            this.render();
          }
        } catch (_) {
          this.stateDetail = 'the server is unavailable, retrying';
          this.render();
        }
        this.poll();
      }, POLL_MS);
    }

    stopFollowing() {
      this.closeStream();
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }

    async cancel() {
      if (this.cancelButton.getAttribute('aria-disabled') === 'true') return;
      if (this.xhr) {
        this.xhr.abort();
        return;
      }
      if (!this.jobId || !['waiting', 'separating'].includes(this.state)) return;
      const previous = this.state;
      this.stopFollowing();
      this.set('cancelling', { detail: 'stopping the job' });
      let failure = null;
      try {
        const response = await api(`/jobs/${encodeURIComponent(this.jobId)}`, { method: 'DELETE' });
        // 404: the job is already gone, which is what the user asked for.
        if (!response.ok && response.status !== 404) failure = errorText(response.status, await response.text());
      } catch (_) {
        failure = UNREACHABLE;
      }
      if (failure === null) {
        this.set('cancelled', { message: 'The job was stopped and its files removed from the server.' });
      } else {
        // The job goes on: show why it could not be cancelled and keep following it.
        this.set(previous, { message: `Could not cancel: ${failure}` });
        this.follow();
      }
    }

    remove() {
      if (this.jobId) forgetJob(this.jobId);
      this.stopFollowing();
      this.audio.removeAttribute('src');
      this.audio.load();
      rows.delete(this);
      const next = this.el.nextElementSibling || this.el.previousElementSibling;
      this.el.remove();
      updateToolbar();
      const focusTarget = next ? next.querySelector('button:not([hidden]), a[href]') : $('#choose-button');
      (focusTarget || $('#choose-button')).focus();
    }
  }

  // The jobs this browser started, kept across reloads in localStorage, so
  // that a reload or a closed tab during a long separation finds its rows
  // again. A job the server no longer has is forgotten.
  const SAVED_JOBS_KEY = 'demucs-vocals.jobs';

  function savedJobs() {
    try {
      const list = JSON.parse(localStorage.getItem(SAVED_JOBS_KEY) || '[]');
      return Array.isArray(list) ? list.filter((job) => job && typeof job.id === 'string') : [];
    } catch (_) {
      return [];
    }
  }

  function storeJobs(list) {
    try {
      localStorage.setItem(SAVED_JOBS_KEY, JSON.stringify(list));
    } catch (_) { /* storage unavailable (private mode): rows are not kept */ }
  }

  function rememberJob(row) {
    const entry = { id: row.jobId, name: row.file.name, size: row.file.size, stem: row.stemSelect.value };
    storeJobs([...savedJobs().filter((job) => job.id !== row.jobId), entry]);
  }

  function forgetJob(id) {
    storeJobs(savedJobs().filter((job) => job.id !== id));
  }

  async function restoreJobs() {
    for (const saved of savedJobs()) {
      let status = null;
      try {
        const response = await api(`/status/${encodeURIComponent(saved.id)}`);
        if (response.status === 404) {
          forgetJob(saved.id);
          continue;
        }
        if (response.ok) status = await response.json();
      } catch (_) { /* server unavailable: keep the job for the next visit */ }
      if (!status) continue;
      const row = new Row({ name: String(saved.name || 'song'), size: Number(saved.size) || 0 }, saved.stem || 'vocals');
      row.jobId = saved.id;
      row.el.dataset.jobId = saved.id;
      rows.add(row);
      jobList.append(row.el);
      row.set('waiting', { detail: 'in the queue', progress: 0 });
      row.apply(status);
      if (!['done', 'error'].includes(row.state)) row.follow();
    }
    updateToolbar();
    document.body.dataset.restored = 'true';
  }

  function updateToolbar() {
    jobsSection.hidden = rows.size === 0;
    const ready = [...rows].filter((row) => row.state === 'ready').length;
    // One ready row has its own Separate button; several get one for all.
    separateAll.hidden = ready < 2;
    separateAll.textContent = `Separate all (${ready})`;
  }

  function defaultStem() {
    const checked = document.querySelector('input[name="default-stem"]:checked');
    return checked ? checked.value : 'vocals';
  }

  function addFiles(fileList) {
    const files = [...fileList];
    if (files.length === 0) return;
    const stem = defaultStem();
    for (const file of files) {
      const row = new Row(file, stem);
      rows.add(row);
      jobList.append(row.el);
    }
    updateToolbar();
  }

  // The header line: is the daemon there, and is its model ready?
  let serverTimer = null;
  async function checkServer() {
    clearTimeout(serverTimer);
    let text;
    let state;
    let again = 0;
    try {
      const response = await fetch('/health', { cache: 'no-store' });
      const health = await response.json();
      tokenRequired = health.auth_required === true;
      // A model given as a path is shown by its file name.
      const model = health.model ? ` · model ${String(health.model).split('/').pop()}` : '';
      // An api node of several (health.role "api") runs no model: its workers do.
      const modelReady = health.model_loaded || !health.model_state || health.model_state === 'ready' || health.role === 'api';
      if (health.status === 'ok' && modelReady) {
        text = `Server ready${model}`;
        state = 'ok';
      } else if (health.status === 'ok') {
        const percent = Number.isFinite(health.model_download_percent) ? ` ${Math.floor(health.model_download_percent)} %` : '';
        text = health.model_state === 'downloading' ? `Downloading the model…${percent}` : `Loading the model…${model}`;
        state = 'busy';
        again = 2000;
      } else {
        const database = health.database && health.database.connected === false ? 'the job database is unreachable; retrying' : '';
        text = `Server problem: ${database || health.model_error || health.status || `answer ${response.status}`}`;
        state = 'down';
        again = 10000;
      }
    } catch (_) {
      text = 'Server unavailable';
      state = 'down';
      again = 10000;
    }
    if (serverStatus.textContent !== text) serverStatus.textContent = text;
    serverStatus.dataset.state = state;
    if (again) serverTimer = setTimeout(checkServer, again);
  }

  // Choosing files.
  $('#choose-button').addEventListener('click', () => fileInput.click());
  fileInput.addEventListener('change', () => {
    addFiles(fileInput.files);
    fileInput.value = '';
  });

  // Dropping files anywhere on the page; never let the browser open them.
  let dragDepth = 0;
  const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
  document.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    dropzone.classList.add('dragging');
  });
  document.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('dragleave', (event) => {
    if (!carriesFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropzone.classList.remove('dragging');
  });
  document.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove('dragging');
    addFiles(event.dataTransfer.files);
  });

  separateAll.addEventListener('click', () => {
    for (const row of rows) {
      if (row.state === 'ready') row.start();
    }
  });

  // Rows of earlier uploads come back once the server can be asked about them.
  (async () => {
    await checkServer();
    if (tokenRequired && !token) {
      onTokenAccepted = restoreJobs;
      askForToken('');
    } else {
      restoreJobs();
    }
  })();
})();
