/*
 * The rl dashboard page: loads the run's history, groups, config and status over HTTP, then, while
 * the run trains, follows the event-bus bridge (rl.run.metrics, rl.run.samples, rl.run.status,
 * rl.sampler.metrics). Everything the run produced is shown through textContent, never as HTML.
 * window.rlDashboard exposes counters for tests.
 */
(function () {
  'use strict';

  const MAX_GROUPS = 12;
  const token = new URLSearchParams(location.search).get('token');

  const state = {
    records: new Map(), // step -> metrics.jsonl line
    groups: [], // newest first
    config: null,
    status: null,
    live: false,
    bridge: 'none',
    bridgeRecords: 0,
    bridgeGroups: 0,
    historyRecords: 0,
    ready: false,
    errors: [], // script errors and refused resources, for tests
  };

  window.addEventListener('error', (e) => state.errors.push(
    'error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e.type)), true);
  window.addEventListener('unhandledrejection', (e) => state.errors.push('rejection: ' + e.reason));
  document.addEventListener('securitypolicyviolation', (e) =>
    state.errors.push('content security policy: ' + e.violatedDirective + ' ' + e.blockedURI));

  // ---- HTTP ----

  function withToken(path) {
    return token ? path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : path;
  }

  async function getJson(path) {
    const response = await fetch(withToken(path), { cache: 'no-store' });
    if (!response.ok) {
      throw new Error(path + ': HTTP ' + response.status + ' ' + (await response.text()));
    }
    return response.json();
  }

  function showError(message) {
    const box = document.getElementById('error');
    box.textContent = message;
    box.hidden = false;
  }

  // ---- formatting ----

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) {
      return '–';
    }
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m ${String(sec).padStart(2, '0')}s`;
  }

  function number(v) {
    if (v === null || v === undefined || typeof v !== 'number' || !isFinite(v)) {
      return '–';
    }
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) {
      return v.toExponential(2);
    }
    return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(3);
  }

  /** An axis label: Chart.js's own, but very small or large values in exponent form. */
  function tick(value, index, ticks) {
    const a = Math.abs(value);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) {
      return value.toExponential(1);
    }
    return window.Chart.Ticks.formatters.numeric.call(this, value, index, ticks);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  // ---- charts ----

  const COLORS = ['#1f77b4', '#e67e22', '#2a9d8f', '#c0392b', '#8e44ad', '#7f8c8d'];

  /** Each chart: its series are metrics.jsonl keys; band draws mean ± std as a shaded area. */
  const CHARTS = [
    { id: 'reward', title: 'Reward: mean ± std', band: { mean: 'reward_mean', std: 'reward_std' },
      series: [{ key: 'eval_reward_mean', label: 'eval (sampled)', dots: true }] },
    { id: 'pass', title: 'Eval pass@1 (greedy)', series: [{ key: 'eval_pass_at_1', label: 'pass@1', dots: true }],
      extra: /^eval_pass_at_([2-9]|\d\d+)$/ },
    { id: 'loss', title: 'Loss', series: [{ key: 'loss', label: 'loss' }] },
    { id: 'is', title: 'Importance weight', series: [
      { key: 'is_weight_mean', label: 'mean' }, { key: 'is_weight_min', label: 'min' },
      { key: 'is_weight_max', label: 'max' }] },
    { id: 'clipped', title: 'Clipped fraction', series: [{ key: 'clipped_fraction', label: 'clipped' }] },
    { id: 'kl', title: 'KL sampler → learner', series: [{ key: 'kl_sample_train', label: 'kl_sample_train' }] },
    { id: 'entropy', title: 'Entropy', series: [{ key: 'entropy', label: 'entropy' }] },
    { id: 'grad', title: 'Gradient norm', series: [{ key: 'grad_norm', label: 'grad norm' }] },
    { id: 'tps', title: 'Tokens/s', series: [
      { key: 'sampler_decode_tokens_per_s', label: 'sampler' }, { key: 'learner_tokens_per_s', label: 'learner' }] },
    { id: 'lag', title: 'Policy lag', series: [{ key: 'policy_lag', label: 'lag' }] },
    { id: 'errors', title: 'Reward errors', series: [{ key: 'reward_errors', label: 'errors' }] },
  ];

  const charts = [];

  function lineDataset(label, color, dots) {
    return {
      label, data: [], borderColor: color, backgroundColor: color, borderWidth: 1.6,
      pointRadius: dots ? 2.5 : 0, pointHoverRadius: 4, tension: 0, spanGaps: true, rlDots: !!dots,
    };
  }

  function createCharts() {
    const container = document.getElementById('charts');
    for (const spec of CHARTS) {
      const card = el('section', 'card');
      card.id = 'chart-' + spec.id;
      const title = el('h3', null);
      title.append(el('span', null, spec.title));
      const last = el('span', 'last', '–');
      title.append(last);
      const box = el('div', 'chart-box');
      const canvas = document.createElement('canvas');
      box.append(canvas);
      card.append(title, box);
      container.append(card);

      const datasets = [];
      const keys = [];
      if (spec.band) {
        datasets.push({ ...lineDataset('mean + std', 'rgba(31,119,180,0.18)'), borderWidth: 0, fill: '+1' });
        datasets.push({ ...lineDataset('mean − std', 'rgba(31,119,180,0.18)'), borderWidth: 0, fill: false });
        datasets.push(lineDataset('train reward', COLORS[0]));
        keys.push(null, null, spec.band.mean);
      }
      spec.series.forEach((s, i) => {
        datasets.push(lineDataset(s.label, COLORS[(spec.band ? 1 : 0) + i], s.dots));
        keys.push(s.key);
      });
      const chart = new window.Chart(canvas, {
        type: 'line',
        data: { datasets },
        options: {
          animation: false,
          parsing: false,
          normalized: true,
          maintainAspectRatio: false,
          interaction: { mode: 'nearest', axis: 'x', intersect: false },
          scales: {
            x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } },
            y: { beginAtZero: false, ticks: { callback: tick } },
          },
          plugins: {
            legend: {
              display: datasets.length > 1,
              labels: { boxWidth: 10, filter: (item) => !item.text.includes('std') },
            },
          },
        },
      });
      charts.push({ spec, chart, keys, last });
    }
  }

  function points(steps, key) {
    const out = [];
    for (const step of steps) {
      const v = state.records.get(step)[key];
      if (typeof v === 'number' && isFinite(v)) {
        out.push({ x: step, y: v });
      }
    }
    return out;
  }

  function renderCharts() {
    const steps = [...state.records.keys()].sort((a, b) => a - b);
    for (const c of charts) {
      const { spec, chart } = c;
      if (spec.extra) {
        // pass@k for the configured k: added the first time a record has it.
        for (const step of steps) {
          for (const key of Object.keys(state.records.get(step))) {
            if (spec.extra.test(key) && !c.keys.includes(key)) {
              chart.data.datasets.push(lineDataset(key.replace('eval_pass_at_', 'pass@'), COLORS[c.keys.length], true));
              chart.options.plugins.legend.display = true;
              c.keys.push(key);
            }
          }
        }
      }
      if (spec.band) {
        const mean = points(steps, spec.band.mean);
        const std = new Map(points(steps, spec.band.std).map((p) => [p.x, p.y]));
        chart.data.datasets[0].data = mean.map((p) => ({ x: p.x, y: p.y + (std.get(p.x) || 0) }));
        chart.data.datasets[1].data = mean.map((p) => ({ x: p.x, y: p.y - (std.get(p.x) || 0) }));
      }
      c.keys.forEach((key, i) => {
        if (key) {
          const dataset = chart.data.datasets[i];
          dataset.data = points(steps, key);
          // A lone point of a line drawn without dots would not show.
          dataset.pointRadius = dataset.rlDots || dataset.data.length === 1 ? 2.5 : 0;
        }
      });
      const main = c.keys.find((k) => k);
      const series = points(steps, spec.band ? spec.band.mean : main);
      c.last.textContent = series.length ? number(series[series.length - 1].y) : '–';
      chart.update('none');
    }
    document.body.dataset.points = String(pointCount());
  }

  let renderQueued = false;
  function scheduleRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(() => {
        renderQueued = false;
        renderCharts();
      });
    }
  }

  function pointCount() {
    let n = 0;
    for (const r of state.records.values()) {
      if (typeof r.loss === 'number') {
        n++;
      }
    }
    return n;
  }

  function addRecord(record) {
    if (typeof record.step !== 'number') {
      return;
    }
    // The baseline evaluation shares step 0 with nothing else; a step's line replaces a copy of it.
    state.records.set(record.step, Object.assign(state.records.get(record.step) || {}, record));
  }

  // ---- groups ----

  function advantages(rewards) {
    const n = rewards.length;
    const mean = rewards.reduce((a, b) => a + b, 0) / n;
    const flat = rewards.every((r) => r === rewards[0]);
    const normalize = state.config && state.config.objective && state.config.objective.normalize_advantages;
    let std = 0;
    if (normalize) {
      std = Math.sqrt(rewards.reduce((a, r) => a + (r - mean) * (r - mean), 0) / Math.max(1, n - 1));
    }
    return { flat, values: rewards.map((r) => (flat ? 0 : normalize ? (r - mean) / (std + 1e-6) : r - mean)) };
  }

  function addGroups(groups) {
    for (const g of groups) {
      state.groups.unshift(g);
    }
    state.groups.sort((a, b) => (b.step || 0) - (a.step || 0));
    state.groups.length = Math.min(state.groups.length, MAX_GROUPS);
    renderGroups();
  }

  function renderGroups() {
    const body = document.querySelector('#groups tbody');
    body.replaceChildren();
    for (const g of state.groups) {
      const rewards = g.rewards || [];
      const adv = advantages(rewards);
      const row = el('tr', adv.flat ? 'flat' : null);
      row.append(el('td', 'step', String(g.step)));
      const prompt = el('td', 'prompt', g.prompt || '');
      if (g.answer !== undefined && g.answer !== null && g.answer !== '') {
        prompt.append(el('div', 'answer', 'answer: ' + g.answer));
      }
      row.append(prompt);
      const cell = el('td', null);
      const list = el('ol', 'completions');
      (g.completions || []).forEach((text, i) => {
        const item = el('li', null);
        const a = adv.values[i];
        item.append(
          el('span', 'reward', number(rewards[i])),
          el('span', 'adv ' + (a > 0 ? 'pos' : a < 0 ? 'neg' : ''), (a > 0 ? '+' : '') + number(a)),
          el('span', 'text', text === '' ? '(empty)' : text));
        list.append(item);
      });
      cell.append(list);
      row.append(cell);
      body.append(row);
    }
  }

  // ---- status and config ----

  function renderStatus() {
    const s = state.status;
    if (!s) {
      return;
    }
    const pill = document.getElementById('state');
    pill.textContent = s.state;
    pill.className = 'pill ' + s.state;
    document.getElementById('step').textContent = String(s.step);
    document.getElementById('steps').textContent = String(s.steps);
    document.getElementById('elapsed').textContent = duration(s.elapsed_s);
    document.getElementById('eta').textContent = s.live ? duration(s.eta_s) : '–';
    if (s.run) {
      document.getElementById('run-name').textContent = s.run;
      document.title = s.run + ' · rl dashboard';
    }
  }

  function setBridge(value, text) {
    state.bridge = value;
    document.body.dataset.bridge = value;
    const pill = document.getElementById('bridge');
    pill.textContent = text;
    pill.className = 'pill ' + (value === 'open' ? 'live' : value === 'closed' ? 'down' : '');
  }

  function yaml(value, indent) {
    const pad = '  '.repeat(indent);
    if (Array.isArray(value)) {
      if (value.length === 0) {
        return '[]';
      }
      return value.map((v) => '\n' + pad + '- ' + yaml(v, indent + 1).replace(/^\n\s*/, '')).join('');
    }
    if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length === 0) {
        return '{}';
      }
      return keys.map((k) => '\n' + pad + k + ': ' + yaml(value[k], indent + 1)).join('');
    }
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  }

  // ---- the bridge ----

  let refetchQueued = false;
  async function refetchHistory() {
    if (refetchQueued) {
      return;
    }
    refetchQueued = true;
    try {
      (await getJson('api/history')).forEach(addRecord);
      scheduleRender();
    } catch (e) {
      showError(e.message);
    } finally {
      refetchQueued = false;
    }
  }

  function connect(attempt) {
    setBridge('connecting', attempt ? 'reconnecting…' : 'connecting…');
    const bus = new window.EventBusClient(new URL(withToken('eventbus'), location.href).href, {
      onopen: () => {
        setBridge('open', 'live');
        if (attempt) {
          refetchHistory(); // whatever was published while disconnected
        }
      },
      onclose: () => {
        const finished = state.status && state.status.state === 'finished';
        setBridge('closed', finished ? 'run ended' : 'disconnected');
        if (!finished) {
          setTimeout(() => connect(attempt + 1), Math.min(10000, 1000 * (attempt + 1)));
        }
      },
      onerror: (frame) => console.warn('bridge refused:', frame.body),
    });
    bus.on('rl.run.metrics', (line) => {
      const known = [...state.records.keys()];
      const last = known.length ? Math.max(...known) : null;
      state.bridgeRecords++;
      addRecord(line);
      if (last !== null && line.step > last + 1) {
        refetchHistory(); // a gap: steps published before this page registered
      }
      scheduleRender();
    });
    bus.on('rl.run.samples', (message) => {
      state.bridgeGroups += (message.groups || []).length;
      addGroups(message.groups || []);
    });
    bus.on('rl.run.status', (status) => {
      state.status = Object.assign(state.status || {}, status);
      renderStatus();
    });
    bus.on('rl.sampler.metrics', (m) => {
      // The sampler leaves the rate out of a second in which it did not decode.
      document.getElementById('sampler-now').textContent =
        (m.decode_tokens_per_s === undefined ? 'idle' : number(m.decode_tokens_per_s) + ' tok/s') +
        ', queue ' + m.queue_depth;
    });
  }

  // ---- start ----

  async function start() {
    createCharts();
    try {
      const [status, config] = await Promise.all([getJson('api/status'), getJson('api/config')]);
      state.status = status;
      state.config = config;
      state.live = status.live;
      renderStatus();
      document.getElementById('config').textContent = yaml(config, 0).replace(/^\n/, '');
      // Subscribe first, then read the files: a step lands in one or the other (or both, merged).
      if (state.live) {
        connect(0);
      } else {
        setBridge('offline', 'from files');
      }
      const [history, samples] = await Promise.all([getJson('api/history'), getJson('api/samples?limit=' + MAX_GROUPS)]);
      state.historyRecords = history.length;
      history.forEach(addRecord);
      addGroups(samples);
      renderCharts();
      state.ready = true;
      document.body.dataset.ready = 'true';
    } catch (e) {
      state.errors.push(e.message);
      showError(e.message);
    }
  }

  window.rlDashboard = {
    /** Training steps plotted (from history and bridge together). */
    pointCount,
    /** metrics lines received over the bridge. */
    bridgeRecords: () => state.bridgeRecords,
    /** groups received over the bridge. */
    bridgeGroups: () => state.bridgeGroups,
    historyRecords: () => state.historyRecords,
    groupRows: () => state.groups.length,
    bridgeState: () => state.bridge,
    status: () => state.status,
    ready: () => state.ready,
    errors: () => state.errors.slice(),
  };

  start();
})();
