// errand's dashboard: one page, no dependencies, served by the admin API's
// router. Every value reaches the page as text (never as markup), every
// mutation asks first and carries the CSRF token, and live pages refresh
// every 2 seconds while the tab is visible.
'use strict';

const REFRESH_MS = 2000;
const STATES = ['scheduled', 'available', 'running', 'retrying', 'completed', 'failed', 'cancelled'];
const PAGES = ['overview', 'queues', 'jobs', 'dead', 'cron', 'batches', 'tenants', 'workers', 'audit'];

const session = { csrf: null, readOnly: false, token: sessionStorage.getItem('errand-token') };
let current = null; // { name, refresh }

// ---- DOM helpers -----------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// Replaces an element's content; arrays are flattened, absent parts skipped.
function fill(el, ...parts) {
  el.replaceChildren(...parts.flat(Infinity).filter((p) => p !== null && p !== undefined && p !== false));
}

function table(headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty || 'Nothing here.');
  return h('table', {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col', class: /^(#|count|due|total|scheduled|available|running|retrying|completed|failed|cancelled)$/.test(x) ? 'num' : null }, x)))),
    h('tbody', {}, rows));
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

function ago(iso) {
  if (!iso) return '';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  const abs = Math.abs(s);
  const text = abs < 90 ? `${abs}s` : abs < 5400 ? `${Math.round(abs / 60)}m` : abs < 172800 ? `${Math.round(abs / 3600)}h` : `${Math.round(abs / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

function stateTag(state) {
  return h('span', { class: `state ${state}` }, state);
}

function json(value) {
  return h('pre', {}, JSON.stringify(value, null, 2));
}

function flash(message, isError) {
  const box = document.getElementById('flash');
  box.replaceChildren(h('div', { class: isError ? 'error' : null }, message));
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => box.replaceChildren(), isError ? 10000 : 4000);
}

// ---- the API -----------------------------------------------------------------

// The API lives under the page's path: `/errand` and `/errand/` both mean `/errand/api/...`.
const base = new URL(location.pathname.endsWith('/') ? location.pathname : `${location.pathname}/`, location.origin);

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    if (session.csrf) headers['x-csrf-token'] = session.csrf;
  }
  const response = await fetch(new URL(path, base), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (response.status === 401) {
    await login();
    return api(method, path, body);
  }
  if (!response.ok) {
    const e = data && data.error;
    throw new Error(e ? `${e.message}${e.field ? ` (${e.field}: ${e.value})` : ''}` : `${method} ${path}: ${response.status}`);
  }
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function login() {
  return new Promise((resolve) => {
    const dialog = document.getElementById('login');
    const input = document.getElementById('login-token');
    dialog.addEventListener('close', () => {
      session.token = input.value.trim();
      sessionStorage.setItem('errand-token', session.token);
      resolve();
    }, { once: true });
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}

// Asks before a change; resolves to { note } when confirmed, null otherwise.
function confirmAction(title, text, { note = false, label = 'Confirm' } = {}) {
  return new Promise((resolve) => {
    const dialog = document.getElementById('confirm');
    document.getElementById('confirm-title').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-ok').textContent = label;
    const noteLabel = document.getElementById('confirm-note-label');
    const noteInput = document.getElementById('confirm-note');
    noteLabel.hidden = !note;
    noteInput.value = '';
    dialog.returnValue = 'cancel';
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'ok' ? { note: noteInput.value.trim() || null } : null);
    }, { once: true });
    dialog.showModal();
    (note ? noteInput : document.getElementById('confirm-cancel')).focus();
  });
}

// Runs a change after asking; says what it did, then refreshes the page.
async function act(title, text, run, options) {
  const answer = await confirmAction(title, text, options);
  if (!answer) return;
  try {
    const done = await run(answer.note);
    flash(`${title}: done${done && done.result ? ` (${done.result})` : ''}`);
  } catch (e) {
    flash(`${title}: ${e.message}`, true);
  }
  if (current) await current.refresh();
}

function button(label, onclick, cls) {
  if (session.readOnly) return null;
  return h('button', { type: 'button', class: cls, onclick }, label);
}

// ---- pages -------------------------------------------------------------------

function chart(samples) {
  const width = 600;
  const height = 130;
  const rates = samples.map((s) => ({
    c: s.seconds > 0 ? (s.completed / s.seconds) * 60 : 0,
    f: s.seconds > 0 ? (s.failed / s.seconds) * 60 : 0,
  }));
  const max = Math.max(1, ...rates.map((r) => Math.max(r.c, r.f)));
  const step = rates.length > 1 ? width / (rates.length - 1) : width;
  const line = (key) => rates.map((r, i) => `${(i * step).toFixed(1)},${(height - (r[key] / max) * (height - 10)).toFixed(1)}`).join(' ');
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const last = rates[rates.length - 1] || { c: 0, f: 0 };
  svg.setAttribute('aria-label', `Jobs finished per minute: ${last.c.toFixed(0)} completed, ${last.f.toFixed(0)} failed`);
  for (const key of ['c', 'f']) {
    const poly = document.createElementNS(ns, 'polyline');
    poly.setAttribute('class', key === 'c' ? 'completed' : 'failed');
    poly.setAttribute('points', rates.length ? line(key) : '');
    svg.append(poly);
  }
  return h('div', { class: 'chart' },
    h('div', { class: 'legend' }, 'Jobs finished per minute, sampled every 2 s while a dashboard is open: ',
      h('b', { class: 'c' }, `completed ${last.c.toFixed(0)}`), ' · ',
      h('b', { class: 'f' }, `failed ${last.f.toFixed(0)}`), ` · peak ${max.toFixed(0)}`,
      rates.length < 2 ? ' · collecting samples…' : null),
    svg,
    samples.length > 1 ? h('div', { class: 'legend axis' },
      h('span', {}, `${ago(samples[0].at)}`), h('span', {}, 'now')) : null);
}

function queueRows(queues, withActions) {
  return queues.map((q) => h('tr', { 'data-queue': q.queue },
    h('td', {}, q.queue),
    h('td', { class: 'num' }, q.due),
    h('td', {}, q.oldest_due_at ? ago(q.oldest_due_at).replace(' ago', '') : '–'),
    h('td', { class: 'num' }, q.counts.running || 0),
    h('td', { class: 'num' }, q.counts.failed || 0),
    h('td', {}, q.paused ? h('span', { class: 'paused-tag' }, `paused by ${q.paused.by}${q.paused.note ? `: ${q.paused.note}` : ''}`) : 'active'),
    withActions ? h('td', {}, q.paused
      ? button('Resume', () => act(`Resume queue ${q.queue}`, 'Workers claim its jobs again.', () => api('POST', `api/queues/${encodeURIComponent(q.queue)}/resume`), { label: 'Resume' }))
      : button('Pause', () => act(`Pause queue ${q.queue}`, 'Workers everywhere stop claiming its jobs within a second; running jobs finish; enqueue goes on.',
        (note) => api('POST', `api/queues/${encodeURIComponent(q.queue)}/pause`, { note }), { note: true, label: 'Pause' }))) : null));
}

const QUEUE_HEADERS = ['queue', 'due', 'lag', 'running', 'failed', 'state'];

async function overview(main) {
  const o = await api('GET', 'api/overview');
  const global = o.queues.pauses.find((p) => p.scope === 'all');
  fill(main, 
    h('h2', {}, 'Overview'),
    global ? h('p', { class: 'paused-tag' }, `All processing is paused by ${global.by}${global.note ? `: ${global.note}` : ''}`) : null,
    h('div', { class: 'cards' },
      STATES.map((s) => h('a', { class: 'card', href: `#/jobs?state=${s}`, 'data-state': s },
        h('div', { class: 'n' }, o.counts[s] || 0), h('div', { class: 'l' }, s))),
      h('a', { class: 'card', href: '#/workers' }, h('div', { class: 'n' }, o.workers.alive), h('div', { class: 'l' }, 'workers alive'))),
    chart(o.samples),
    h('h3', {}, 'Queues: depth and lag'),
    table(QUEUE_HEADERS, queueRows(o.queues.queues, false), 'No queue has jobs.'));
}

async function queues(main) {
  const o = await api('GET', 'api/queues');
  const global = o.pauses.find((p) => p.scope === 'all');
  fill(main, 
    h('h2', {}, 'Queues'),
    h('div', { class: 'actions' },
      global
        ? [h('span', { class: 'paused-tag' }, `Everything is paused by ${global.by}. `),
          button('Resume everything', () => act('Resume everything', 'Workers claim jobs again.', () => api('POST', 'api/resume', {}), { label: 'Resume' }))]
        : button('Pause everything', () => act('Pause everything', 'Workers everywhere stop claiming any job within a second.',
          (note) => api('POST', 'api/pause', { note }), { note: true, label: 'Pause' }), 'danger')),
    table([...QUEUE_HEADERS, ''], queueRows(o.queues, true), 'No queue has jobs.'));
}

function filtersForm(fields, values, onsubmit) {
  const inputs = fields.map(([name, label, options]) => {
    const input = options
      ? h('select', { name }, h('option', { value: '' }, 'any'), options.map((o) => h('option', { value: o, selected: values[name] === o }, o)))
      : h('input', { name, value: values[name] || '', size: name === 'error' ? 18 : 10, autocomplete: 'off' });
    return h('label', {}, label, input);
  });
  const form = h('form', { class: 'filters', role: 'search' }, inputs, h('button', { type: 'submit', class: 'primary' }, 'Filter'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    onsubmit(data);
  });
  return form;
}

function pageParams() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, q] = hash.split('?');
  return { parts: path.split('/'), params: Object.fromEntries(new URLSearchParams(q || '')) };
}

function jobRows(jobs) {
  return jobs.map((j) => h('tr', { 'data-job': j.id },
    h('td', { class: 'num' }, h('a', { href: `#/job/${j.id}` }, j.id)),
    h('td', {}, j.kind), h('td', {}, j.queue), h('td', {}, stateTag(j.state)),
    h('td', {}, `${j.attempt}/${j.max_attempts}`),
    h('td', {}, j.tenant || ''),
    h('td', {}, j.finished_at ? `finished ${ago(j.finished_at)}` : `runs ${ago(j.run_at)}`),
    h('td', {}, j.errors.length ? j.errors[j.errors.length - 1].message : '')));
}

const JOB_FILTERS = [['state', 'state', STATES], ['kind', 'kind'], ['queue', 'queue'], ['tenant', 'tenant'], ['batch', 'batch'], ['unique_key', 'unique key'], ['id', 'id'], ['error', 'error text']];

async function jobs(main, fixed) {
  const { params } = pageParams();
  const filters = { ...params, ...(fixed || {}) };
  const page = await api('GET', `api/jobs${query({ ...filters, limit: 50 })}`);
  const go = (extra) => { location.hash = `#/${fixed ? 'dead' : 'jobs'}${query(extra)}`; };
  const fields = fixed ? JOB_FILTERS.filter(([n]) => !(n in fixed)) : JOB_FILTERS;
  const retryAll = fixed && !session.readOnly && page.jobs.length
    ? button('Retry all matching', () => {
      const filter = { state: 'failed' };
      for (const [k, key] of [['kind', 'kind'], ['queue', 'queue'], ['tenant', 'tenant'], ['error', 'error_contains']]) if (params[k]) filter[key] = params[k];
      if (params.batch) filter.batch_id = Number(params.batch);
      if (Object.keys(filter).length === 1) filter.all = true;
      return act('Retry dead letters', `Every failed job matching ${JSON.stringify(filter)} runs again.`, async () => {
        const r = await api('POST', 'api/jobs/retry', filter);
        return { result: `${r.retried} retried, ${r.skipped} skipped` };
      }, { label: 'Retry all' });
    }, 'primary') : null;
  fill(main, 
    h('h2', {}, fixed ? 'Dead letters' : 'Jobs'),
    fixed ? h('p', { class: 'muted' }, 'Jobs that failed for good. Fix the cause, then retry them.') : null,
    filtersForm(fields, params, (data) => go(data)),
    h('div', { class: 'actions' }, retryAll),
    table(['#', 'kind', 'queue', 'state', 'attempt', 'tenant', 'when', 'last error'], jobRows(page.jobs), 'No job matches.'),
    h('div', { class: 'actions' },
      params.before ? h('button', { type: 'button', onclick: () => { const p = { ...params }; delete p.before; go(p); } }, 'Newest') : null,
      page.next_before ? h('button', { type: 'button', onclick: () => go({ ...params, before: page.next_before }) }, 'Older →') : null));
}

async function job(main, id) {
  const j = await api('GET', `api/jobs/${encodeURIComponent(id)}`);
  const finished = ['completed', 'failed', 'cancelled'].includes(j.state);
  const timeline = [
    ['created', j.created_at], ['due', j.run_at], ['started', j.started_at], ['finished', j.finished_at],
    ...j.errors.map((e) => [`attempt ${e.attempt} failed`, e.at]),
  ].filter(([, at]) => at).sort((a, b) => new Date(a[1]) - new Date(b[1]));
  fill(main, 
    h('h2', {}, `Job ${j.id} `, stateTag(j.state)),
    h('div', { class: 'actions' },
      finished ? button('Retry', () => act(`Retry job ${j.id}`, 'It runs again from its first attempt.', () => api('POST', `api/jobs/${j.id}/retry`), { label: 'Retry' }), 'primary') : null,
      !finished && j.state !== 'running' ? button('Run now', () => act(`Run job ${j.id} now`, 'It becomes due now.', () => api('POST', `api/jobs/${j.id}/run_now`), { label: 'Run now' })) : null,
      !finished ? button('Cancel', () => act(`Cancel job ${j.id}`, j.state === 'running' ? 'The running attempt is asked to stop.' : 'It will not run.', () => api('POST', `api/jobs/${j.id}/cancel`), { label: 'Cancel job' }), 'danger') : null,
      j.state !== 'running' ? button('Delete', () => act(`Delete job ${j.id}`, 'It is removed for good, with its errors and output.', async () => {
        const r = await api('DELETE', `api/jobs/${j.id}`);
        location.hash = '#/jobs';
        return r;
      }, { label: 'Delete' }), 'danger') : null),
    j.waiting_on && j.waiting_on.length ? h('div', {}, h('h3', {}, 'Why it is not running'),
      h('ul', { class: 'holds' }, j.waiting_on.map((w) => h('li', { 'data-hold': w.reason }, h('b', {}, w.reason), ': ', w.message)))) : null,
    h('div', { class: 'grid2' },
      h('div', {},
        h('dl', { class: 'props' },
          [['kind', j.kind], ['queue', j.queue], ['priority', j.priority], ['tenant', j.tenant], ['attempt', `${j.attempt} of ${j.max_attempts}`],
            ['unique key', j.unique_key], ['batch', j.batch_id], ['cron', j.cron && j.cron.name], ['worker', j.worker],
            ['lease until', when(j.lease_until)], ['cancel requested', j.cancel_requested ? 'yes' : null]]
            .filter(([, v]) => v !== null && v !== undefined && v !== '')
            .map(([k, v]) => [h('dt', {}, k), h('dd', {}, k === 'batch' ? h('a', { href: `#/batches?id=${v}` }, v) : v)])),
        h('h3', {}, 'Timeline'),
        table(['event', 'at'], timeline.map(([what, at]) => h('tr', {}, h('td', {}, what), h('td', {}, `${when(at)} (${ago(at)})`))))),
      h('div', {},
        h('h3', {}, 'Input'), json(j.input),
        j.output !== null && j.output !== undefined ? [h('h3', {}, 'Output'), json(j.output)] : null,
        Object.keys(j.meta || {}).length ? [h('h3', {}, 'Meta'), json(j.meta)] : null)),
    h('h3', {}, 'Errors, every attempt'),
    table(['attempt', 'at', 'kind', 'message'], j.errors.map((e) => h('tr', { class: 'error-row' },
      h('td', {}, e.attempt), h('td', {}, when(e.at)), h('td', {}, e.kind), h('td', { class: 'error' }, e.message))), 'No attempt failed.'));
}

async function cron(main) {
  const entries = await api('GET', 'api/cron?limit=500');
  const path = (e, action) => {
    const t = e.tenant ? `?tenant=${encodeURIComponent(e.tenant)}` : '';
    return `api/cron/${encodeURIComponent(e.name)}${action ? `/${action}` : ''}${t}`;
  };
  const ledger = async (e, row) => {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('ledger')) { next.remove(); return; }
    const records = await api('GET', path(e, 'ledger') + (e.tenant ? '&' : '?') + 'limit=20');
    row.after(h('tr', { class: 'ledger' }, h('td', { colspan: 8 },
      table(['fire time', 'decided', 'reason', 'job'], records.map((r) => h('tr', {},
        h('td', {}, when(r.fire_at)), h('td', {}, when(r.decided_at)), h('td', {}, typeof r.reason === 'string' ? r.reason : JSON.stringify(r.reason)),
        h('td', {}, r.job_id ? h('a', { href: `#/job/${r.job_id}` }, r.job_id) : '–'))), 'No fire yet.'))));
  };
  const rows = entries.map((e) => {
    const row = h('tr', { 'data-cron': e.name },
      h('td', {}, e.name), h('td', {}, e.tenant || ''), h('td', {}, e.kind), h('td', {}, `${e.schedule} (${e.zone})`),
      h('td', {}, e.enabled ? 'enabled' : h('span', { class: 'paused-tag' }, `disabled${e.note ? `: ${e.note}` : ''}`)),
      h('td', {}, e.next_fire_at ? `${when(e.next_fire_at)} (${ago(e.next_fire_at)})` : '–'),
      h('td', {}, e.last_fire_at ? ago(e.last_fire_at) : '–'),
      h('td', {}, h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: (ev) => ledger(e, ev.target.closest('tr')) }, 'Ledger'),
        e.enabled
          ? button('Disable', () => act(`Disable ${e.name}`, 'It stops firing until enabled again.', (note) => api('POST', path(e, 'disable'), { note }), { note: true, label: 'Disable' }), 'danger')
          : button('Enable', () => act(`Enable ${e.name}`, 'It fires again from its next time.', () => api('POST', path(e, 'enable')), { label: 'Enable' })),
        button('Trigger', () => act(`Trigger ${e.name}`, 'Its job is enqueued now.', async () => { const r = await api('POST', path(e, 'trigger')); return { result: `job ${r.job}` }; }, { label: 'Trigger' })),
        button('Delete', () => act(`Delete ${e.name}`, 'The entry is removed; its ledger stays.', () => api('DELETE', path(e)), { label: 'Delete' }), 'danger'))));
    return row;
  });
  const create = session.readOnly ? null : (() => {
    const form = h('form', { class: 'filters', id: 'cron-create' },
      h('label', {}, 'name', h('input', { name: 'name', required: true, size: 12 })),
      h('label', {}, 'kind', h('input', { name: 'kind', required: true, size: 12 })),
      h('label', {}, 'schedule', h('input', { name: 'schedule', required: true, placeholder: '0 3 * * *', size: 12 })),
      h('label', {}, 'zone', h('input', { name: 'zone', placeholder: 'UTC', size: 12 })),
      h('label', {}, 'tenant', h('input', { name: 'tenant', size: 8 })),
      h('label', {}, 'input (JSON)', h('input', { name: 'input', placeholder: 'null', size: 14 })),
      h('button', { type: 'submit', class: 'primary' }, 'Create'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const d = Object.fromEntries(new FormData(form).entries());
      const body = { name: d.name, kind: d.kind, schedule: d.schedule };
      if (d.zone) body.zone = d.zone;
      if (d.tenant) body.tenant = d.tenant;
      try {
        if (d.input) body.input = JSON.parse(d.input);
        await api('POST', 'api/cron', body);
        flash(`Cron entry ${d.name} created`);
        form.reset();
      } catch (e) {
        flash(`Create ${d.name}: ${e.message}`, true);
      }
      await current.refresh();
    });
    return [h('h3', {}, 'New entry'), form];
  })();
  fill(main, h('h2', {}, 'Cron'),
    table(['name', 'tenant', 'kind', 'schedule', 'state', 'next fire', 'last fire', ''], rows, 'No cron entry.'),
    create);
}

function progress(c) {
  const pct = (n) => (c.total ? (n / c.total) * 100 : 0).toFixed(1);
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': c.total, 'aria-valuenow': c.completed + c.failed + c.cancelled,
    title: `${c.completed} completed, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.waiting} waiting of ${c.total}` },
  h('span', { class: 'done', 'data-w': pct(c.completed) }),
  h('span', { class: 'bad', 'data-w': pct(c.failed) }),
  h('span', { class: 'gone', 'data-w': pct(c.cancelled) }));
}

// The style attribute is set through the DOM: the security policy forbids
// inline styles in markup, not style properties set by a script.
function sizeBars(root) {
  for (const span of root.querySelectorAll('.bar span')) span.style.width = `${span.dataset.w}%`;
}

function batchTotals(t) {
  const c = t.counts || {};
  const jobs = ['waiting', 'running', 'completed', 'failed', 'cancelled'].filter((k) => c[k]).map((k) => `${c[k]} ${k}`);
  return `${t.batches} batches, ${t.unfinished} unfinished; their ${c.total || 0} jobs: ${jobs.join(', ') || 'none'}`;
}

async function batches(main) {
  const { params } = pageParams();
  const page = await api('GET', `api/batches${query({ tenant: params.tenant, before: params.before, limit: 50 })}`);
  const totals = await api('GET', `api/batches/totals${query({ tenant: params.tenant })}`);
  const list = params.id ? page.batches.filter((b) => String(b.id) === params.id) : page.batches;
  fill(main, h('h2', {}, 'Batches'),
    filtersForm([['tenant', 'tenant']], params, (d) => { location.hash = `#/batches${query(d)}`; }),
    h('p', { class: 'muted', id: 'batch-totals' }, batchTotals(totals)),
    table(['#', 'tenant', 'progress', 'done', 'state', 'created', ''], list.map((b) => {
      const c = b.counts;
      const state = b.cancelled_at ? 'cancelled' : b.finished_at ? 'finished' : b.sealed ? 'running' : 'open';
      return h('tr', { 'data-batch': b.id },
        h('td', { class: 'num' }, h('a', { href: `#/jobs?batch=${b.id}` }, b.id)), h('td', {}, b.tenant || ''),
        h('td', {}, progress(c)), h('td', {}, `${c.completed + c.failed + c.cancelled}/${c.total} (${c.failed} failed)`),
        h('td', {}, state), h('td', {}, ago(b.created_at)),
        h('td', {}, !b.finished_at && !b.cancelled_at ? button('Cancel', () => act(`Cancel batch ${b.id}`,
          'Its waiting jobs are cancelled and its running ones asked to stop.', async () => {
            const r = await api('POST', `api/batches/${b.id}/cancel`);
            return { result: `${r.outcome.cancelled} cancelled, ${r.outcome.signalled} asked to stop` };
          }, { label: 'Cancel batch' }), 'danger') : null));
    }), 'No batch.'),
    page.next_before ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { location.hash = `#/batches${query({ ...params, before: page.next_before })}`; } }, 'Older →')) : null);
  sizeBars(main);
}

async function tenants(main) {
  const { params } = pageParams();
  const pauses = (await api('GET', 'api/pauses')).filter((p) => p.scope === 'tenant');
  const list = await api('GET', `api/tenants${query({ after: params.after })}`);
  const parts = [h('h2', {}, 'Tenants'),
    filtersForm([['tenant', 'tenant']], params, (d) => { location.hash = `#/tenants${query(d)}`; }),
    table(['tenant', ...STATES, 'total', ''], list.tenants.map((t) => h('tr', { 'data-tenant-row': t.tenant },
      h('td', {}, h('a', { href: `#/tenants?tenant=${encodeURIComponent(t.tenant)}` }, t.tenant)),
      ...STATES.map((s) => h('td', { class: 'num' }, t.counts[s] ? h('a', { href: `#/jobs?tenant=${encodeURIComponent(t.tenant)}&state=${s}` }, String(t.counts[s])) : '0')),
      h('td', { class: 'num' }, String(t.total)),
      h('td', {}, t.paused ? h('span', { class: 'state failed' }, 'paused') : ''))), 'No tenant has jobs.'),
    list.next_after ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { location.hash = `#/tenants${query({ after: list.next_after })}`; } }, 'Next →')) : null,
    h('h3', {}, 'Paused tenants'),
    table(['tenant', 'by', 'note', 'since', ''], pauses.map((p) => h('tr', { 'data-tenant': p.name },
      h('td', {}, h('a', { href: `#/tenants?tenant=${encodeURIComponent(p.name)}` }, p.name)), h('td', {}, p.by), h('td', {}, p.note || ''), h('td', {}, ago(p.at)),
      h('td', {}, button('Resume', () => act(`Resume tenant ${p.name}`, 'Workers claim its jobs again.', () => api('POST', 'api/resume', { tenant: p.name }), { label: 'Resume' }))))), 'No tenant is paused.')];
  if (params.tenant) {
    const t = params.tenant;
    const stats = await api('GET', `api/stats${query({ tenant: t })}`);
    const counts = {};
    for (const c of stats.counts) counts[c.state] = (counts[c.state] || 0) + c.count;
    const paused = pauses.some((p) => p.name === t);
    parts.push(h('h3', {}, `Tenant ${t}`),
      h('div', { class: 'cards' }, STATES.map((s) => h('a', { class: 'card', href: `#/jobs?tenant=${encodeURIComponent(t)}&state=${s}` },
        h('div', { class: 'n' }, counts[s] || 0), h('div', { class: 'l' }, s)))),
      h('div', { class: 'actions' },
        paused ? null : button(`Pause ${t}`, () => act(`Pause tenant ${t}`, 'Workers everywhere stop claiming its jobs.', (note) => api('POST', 'api/pause', { tenant: t, note }), { note: true, label: 'Pause' }), 'danger'),
        h('a', { href: `#/batches?tenant=${encodeURIComponent(t)}` }, 'its batches')));
  }
  fill(main, ...parts);
}

async function workers(main) {
  const w = await api('GET', 'api/workers');
  fill(main, h('h2', {}, `Workers (${w.alive} alive)`),
    table(['name', 'state', 'host', 'pid', 'running', 'queues', 'kinds', 'started', 'last beat', 'loop jobs'], w.workers.map((x) => h('tr', { 'data-worker': x.name },
      h('td', {}, x.name), h('td', {}, x.alive ? stateTag('running') : h('span', { class: 'state failed' }, 'dead')),
      h('td', {}, x.host), h('td', {}, x.pid), h('td', { class: 'num' }, `${x.running}/${x.concurrency}`),
      h('td', {}, x.queues.join(', ')), h('td', {}, x.kinds.join(', ')), h('td', {}, ago(x.started_at)), h('td', {}, ago(x.beat_at)),
      h('td', {}, x.loops.length ? x.loops.map((l) => h('div', {}, typeof l === 'object' ? Object.entries(l).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') : String(l))) : '–'))),
    'No worker has beat in the last hour.'));
}

async function audit(main) {
  const { params } = pageParams();
  const page = await api('GET', `api/audit${query({ before: params.before, limit: 50 })}`);
  fill(main, h('h2', {}, 'Audit'),
    h('p', { class: 'muted' }, 'Every change made through this API or the errand CLI, newest first.'),
    table(['#', 'at', 'actor', 'action', 'target', 'filter', 'count'], page.records.map((r) => h('tr', {},
      h('td', { class: 'num' }, r.id), h('td', {}, when(r.at)), h('td', {}, r.actor), h('td', {}, r.action),
      h('td', {}, r.target || ''), h('td', {}, r.filter ? JSON.stringify(r.filter) : ''), h('td', { class: 'num' }, r.count))), 'No change yet.'),
    page.next_before ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => { location.hash = `#/audit?before=${page.next_before}`; } }, 'Older →')) : null);
}

// ---- routing and refresh --------------------------------------------------

const RENDER = {
  overview: { draw: overview, live: true },
  queues: { draw: queues, live: true },
  jobs: { draw: (m) => jobs(m), live: true },
  dead: { draw: (m) => jobs(m, { state: 'failed' }), live: true },
  job: { draw: (m, id) => job(m, id), live: true },
  cron: { draw: cron, live: false },
  batches: { draw: batches, live: true },
  tenants: { draw: tenants, live: false },
  workers: { draw: workers, live: true },
  audit: { draw: audit, live: false },
};

async function show() {
  const { parts } = pageParams();
  const name = RENDER[parts[0]] ? parts[0] : 'overview';
  const page = RENDER[name];
  const main = document.getElementById('main');
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.page === (name === 'job' ? 'jobs' : name)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const draw = async () => {
    try {
      await page.draw(main, parts[1]);
      main.dataset.page = name;
      main.dataset.hash = location.hash;
    } catch (e) {
      fill(main, h('h2', {}, 'Could not load this page'), h('p', { class: 'error' }, e.message));
    }
  };
  current = { name, refresh: draw, live: page.live };
  await draw();
}

// Refreshes the page unless the tab is hidden, a dialog is open, or the
// user is typing: nothing they are doing is replaced under them.
function tick() {
  const live = document.getElementById('live');
  const busy = document.querySelector('dialog[open]') || (document.activeElement && /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName));
  if (document.hidden) { live.textContent = 'paused (hidden)'; live.classList.add('paused'); return; }
  live.textContent = 'live'; live.classList.remove('paused');
  if (current && current.live && !busy) current.refresh();
}

function keys(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (document.querySelector('dialog[open]')) return;
  if (/^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
  const n = Number(e.key);
  if (n >= 1 && n <= PAGES.length) {
    location.hash = `#/${PAGES[n - 1]}`;
    document.getElementById('main').focus();
  } else if (e.key === '/') {
    const first = document.querySelector('form.filters input');
    if (first) { e.preventDefault(); first.focus(); }
  }
}

async function start() {
  try {
    const s = await api('GET', 'api/session');
    session.csrf = s.csrf_token;
    session.readOnly = s.read_only;
    document.body.classList.toggle('read-only', s.read_only);
  } catch (e) {
    flash(`Cannot reach the admin API: ${e.message}`, true);
  }
  window.addEventListener('hashchange', show);
  document.addEventListener('keydown', keys);
  document.addEventListener('visibilitychange', tick);
  setInterval(tick, REFRESH_MS);
  await show();
}

start();
