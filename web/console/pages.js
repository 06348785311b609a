// The console's pages. Each page(view, ...args) fills `view` from the /admin/v1 API and shows only
// the controls the operator's permissions allow (ui.can); the API refuses the rest anyway.
import { get, post, put, patch, del, api } from './api.js';
import { barChart, columnChart } from './charts.js';
import {
  t, text, lang, h, field, can, state, toast, showError, confirmAction, actionButton, fmtTime, fmtFen,
  todayShanghai, table, pager, badge, heading, select, uid,
} from './ui.js';

export const NAV = [
  { route: 'queue', perm: 'applications.read' },
  { route: 'consultations', perm: 'consultations.read' },
  { route: 'catalogue', perm: 'catalogue.read' },
  { route: 'halls', perm: 'halls.read' },
  { route: 'payments', perm: 'payments.read' },
  { route: 'channels', perm: 'channels.read' },
  { route: 'dashboard', perm: 'scorecard.read' },
  { route: 'feedback', perm: 'consultations.read' },
  { route: 'operators', perm: 'operators.read' },
  { route: 'audit', perm: 'audit.read' },
];

// Native append() would print null and arrays as text: this one skips the absent and flattens lists.
const add = (el, ...children) => el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
const rerender = () => window.dispatchEvent(new Event('cg:rerender'));
const link = (href, label) => h('a', { href }, label);
const query = () => Object.fromEntries(new URLSearchParams(location.hash.split('?')[1] || ''));
const enc = encodeURIComponent;

function filterBar(fields, onApply) {
  const form = h('form', { class: 'filters', role: 'search' }, fields, h('button', { type: 'submit' }, t('filter')));
  form.addEventListener('submit', (event) => { event.preventDefault(); onApply(); });
  return form;
}

function countdown(deadline) {
  if (!deadline) return '—';
  if (deadline.finished_on) return t('finished_on', { date: deadline.finished_on });
  if (deadline.paused) return badge(t('paused'), 'muted');
  if (deadline.days_left === null || deadline.days_left === undefined) return '—';
  if (deadline.overdue || deadline.days_left < 0) return badge(t('overdue_days', { n: Math.abs(deadline.days_left) }), 'bad');
  return badge(t('days_left', { n: deadline.days_left }), deadline.days_left <= 1 ? 'warn' : 'ok');
}

// ---- work queue: applications ---------------------------------------------------------------------

async function queuePage(view, no) {
  if (no) return applicationPage(view, no);
  const q = query();
  const status = select([['', t('all')], ...['submitted', 'accepted', 'supplement_requested', 'resubmitted', 'approved', 'completed', 'rejected']
    .map((s) => [s, t('status.' + s)])], q.status || '');
  const overdue = h('input', { type: 'checkbox', checked: q.overdue === 'true' });
  const page = Number(q.page || 1);
  const apply = (p = 1) => { location.hash = '#/queue?' + new URLSearchParams({ status: status.value, overdue: overdue.checked, page: p }); };
  // Overdue first across every page: the overdue ones in their own table on top (the API lists newest
  // first), then the rest, each sorted by working days left.
  const [late, list] = await Promise.all([
    page === 1 && !overdue.checked ? get('/admin/v1/applications', { status: status.value, overdue: 'true', page_size: 100 }) : null,
    get('/admin/v1/applications', { status: status.value, overdue: overdue.checked ? 'true' : 'false', page, page_size: 50 })]);
  const left = (a) => (a.deadline && !a.deadline.paused && a.deadline.days_left !== null && a.deadline.days_left !== undefined ? a.deadline.days_left : 1e5);
  const byDays = (items) => [...items].sort((a, b) => left(a) - left(b));
  const columns = [
    { label: t('application_no'), cell: (a) => link('#/queue/' + enc(a.application_no), a.application_no) },
    { label: t('service'), cell: (a) => a.service_name },
    { label: t('department'), cell: (a) => a.department || '—' },
    { label: t('status'), cell: (a) => a.status_label },
    { label: t('deadline'), cell: (a) => countdown(a.deadline) },
    { label: t('submitted_at'), cell: (a) => fmtTime(a.submitted_at) },
  ];
  add(view, heading(t('nav.queue')),
    filterBar([field(t('status'), status), h('div', { class: 'field check' }, h('label', {}, overdue, ' ', t('overdue_only')))], () => apply()),
    late && !overdue.checked && late.total ? table(columns, byDays(late.items), t('overdue_total', { n: late.total })) : null,
    table(columns, byDays(list.items), overdue.checked ? t('overdue_total', { n: list.total }) : t('running_total', { n: list.total })),
    pager(list, apply));
}

// A material opens in a new tab from a blob: the download needs the bearer token, which a plain link
// cannot send. The tab opens at the click (one opened after a slow download is taken for a pop-up).
async function openFile(no, fileId) {
  const tab = window.open('about:blank', '_blank');
  try {
    const response = await api('GET', `/admin/v1/applications/${enc(no)}/files/${enc(fileId)}`, undefined, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    if (tab) { tab.opener = null; tab.location.href = url; }
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    if (tab) tab.close();
    throw error;
  }
}

const ACTIONS = ['accept', 'request_supplement', 'approve', 'complete', 'reject'];

async function applicationPage(view, no) {
  const app = await get('/admin/v1/applications/' + enc(no));
  let guide = null;
  if (can('catalogue.read')) {
    try { guide = (await get('/admin/v1/services/' + enc(app.service_code))).guide; } catch (error) { guide = null; }
  }
  const materialName = (key) => {
    const m = guide && (guide.materials || []).find((x) => x.key === key);
    return m ? text(m.name) : key;
  };
  const actionsBox = h('div', { class: 'actions' });
  const formBox = h('div', {});
  if (can('applications.work')) {
    for (const action of ACTIONS.filter((a) => app.allowed_actions.includes(a))) {
      actionsBox.append(h('button', { type: 'button', class: action === 'reject' ? 'danger' : 'primary', onclick: () => actionForm(action) }, t('action.' + action)));
    }
  }
  function actionForm(action) {
    const note = h('textarea', { rows: '2' });
    const parts = [];
    const missing = [];
    if (action === 'request_supplement') {
      const keys = guide ? (guide.materials || []).map((m) => m.key) : Object.keys(app.materials || {});
      const boxes = keys.map((key) => { const box = h('input', { type: 'checkbox', value: key }); missing.push(box); return h('label', { class: 'check' }, box, ' ', materialName(key)); });
      parts.push(h('fieldset', {}, h('legend', {}, t('supplement_list')), boxes));
    }
    let result = null; let carrier = null; let tracking = null;
    if (action === 'complete') {
      result = h('input', {});
      parts.push(field(t('result'), result));
      if (app.delivery && app.delivery.method === 'post') {
        carrier = h('input', { value: 'EMS' }); tracking = h('input', {});
        parts.push(field(t('carrier'), carrier), field(t('tracking_no'), tracking));
      }
    }
    parts.push(field(action === 'reject' ? t('reason') : t('note'), note));
    const go = h('button', { type: 'submit', class: 'primary' }, t('action.' + action));
    const errorBox = h('div', {});
    const form = h('form', { class: 'card', 'aria-label': t('action.' + action) }, h('h3', {}, t('action.' + action)), errorBox, parts,
      h('div', { class: 'actions' }, go, h('button', { type: 'button', onclick: () => formBox.replaceChildren() }, t('cancel'))));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { action, expected_version: app.version };
      if (action === 'reject') body.reason = note.value.trim(); else if (note.value.trim()) body.note = note.value.trim();
      if (action === 'request_supplement') body.missing_materials = missing.filter((b) => b.checked).map((b) => b.value);
      if (result && result.value.trim()) body.result = result.value.trim();
      if (tracking) body.delivery = { carrier: carrier.value.trim(), tracking_no: tracking.value.trim() };
      const summary = action === 'request_supplement' ? t('confirm_supplement', { list: body.missing_materials.map(materialName).join('、') || '—' })
        : t('confirm_action', { action: t('action.' + action), no: app.application_no });
      if (!await confirmAction(t('action.' + action), summary)) return;
      go.disabled = true;
      try {
        await post(`/admin/v1/applications/${enc(no)}/actions`, body);
        toast(t('done_action', { action: t('action.' + action) }));
        rerender();
      } catch (error) { showError(error, errorBox); go.disabled = false; }
    });
    formBox.replaceChildren(form);
    (form.querySelector('input, textarea') || go).focus();
  }
  const supplement = app.supplement ? h('section', { class: 'card' }, h('h2', {}, t('supplement_list')),
    h('ul', {}, (app.supplement.missing_materials || []).map((k) => h('li', {}, materialName(k)))), app.supplement.note ? h('p', {}, app.supplement.note) : null) : null;
  add(view, 
    heading(t('application') + ' ' + app.application_no, badge(app.status_label), countdown(app.deadline)),
    h('p', {}, link('#/queue', '← ' + t('nav.queue'))),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', {}, t('details')), h('dl', {},
        h('dt', {}, t('service')), h('dd', {}, app.service_name + ' (' + app.service_code + ')'),
        h('dt', {}, t('department')), h('dd', {}, app.department || '—'),
        h('dt', {}, t('submitted_at')), h('dd', {}, fmtTime(app.submitted_at)),
        h('dt', {}, t('deadline')), h('dd', {}, app.deadline && app.deadline.due_date ? app.deadline.due_date : '—'),
        h('dt', {}, t('materials')), h('dd', {}, h('ul', {}, Object.entries(app.materials || {}).map(([k, files]) => h('li', {}, materialName(k), ' ',
          (Array.isArray(files) ? files : [files]).filter((f) => f && f.file_id).map((f, i) => actionButton(t('open_file', { n: i + 1 }), () => openFile(no, f.file_id),
            { class: 'link', 'aria-label': `${t('open_file', { n: i + 1 })} ${materialName(k)}` })))))),
        h('dt', {}, t('form')), h('dd', {}, h('pre', {}, JSON.stringify(app.form, null, 2))))),
      h('section', { class: 'card' }, h('h2', {}, t('timeline')), h('ol', { class: 'timeline' }, app.timeline.map((e) =>
        h('li', {}, h('time', { datetime: e.at }, fmtTime(e.at)), ' ', h('strong', {}, e.action_label), ' → ', e.status_label,
          e.note ? h('div', { class: 'muted' }, e.note) : null))))),
    supplement,
    can('applications.work') ? h('section', { class: 'card', 'aria-label': t('actions') }, h('h2', {}, t('actions')),
      app.allowed_actions.length ? actionsBox : h('p', { class: 'muted' }, t('no_actions')), formBox) : null);
}

// ---- catalogue ------------------------------------------------------------------------------------

async function cataloguePage(view, code, tab) {
  if (code === '-misfiled') return misfiledPage(view);
  if (code === '-misses') return missesPage(view);
  if (code) return itemPage(view, code);
  const q = query();
  const status = select([['', t('all')], ['draft', t('status.draft')], ['published', t('status.published')]], q.status || '');
  const department = h('input', { value: q.department || '' });
  const page = Number(q.page || 1);
  const apply = (p = 1) => { location.hash = '#/catalogue?' + new URLSearchParams({ status: status.value, department: department.value.trim(), page: p }); };
  const list = await get('/admin/v1/services', { status: status.value, department: department.value.trim(), page, page_size: 50 });
  const newCode = h('input', { required: true, pattern: '[A-Za-z0-9\\-]+' });
  const newName = h('input', { required: true });
  const newDepartment = h('input', { value: state.me.department || '' });
  const createBox = h('div', {});
  const createForm = h('form', { class: 'card', 'aria-label': t('new_item') }, h('h2', {}, t('new_item')), createBox,
    h('div', { class: 'grid3' }, field(t('code'), newCode), field(t('name'), newName), field(t('department'), newDepartment)),
    h('button', { type: 'submit', class: 'primary' }, t('create')));
  createForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { code: newCode.value.trim(), name: { 'zh-CN': newName.value.trim() } };
    if (newDepartment.value.trim()) body.department = newDepartment.value.trim();
    if (state.me.region_code) body.region_code = state.me.region_code;
    try { const created = await post('/admin/v1/services', body); location.hash = '#/catalogue/' + enc(created.code); } catch (error) { showError(error, createBox); }
  });
  add(view, heading(t('nav.catalogue')), catalogueTabs('list'),
    filterBar([field(t('status'), status), field(t('department'), department)], () => apply()),
    table([
      { label: t('code'), cell: (s) => link('#/catalogue/' + enc(s.code), s.code) },
      { label: t('name'), cell: (s) => text(s.name) },
      { label: t('department'), cell: (s) => s.department || '—' },
      { label: t('status'), cell: (s) => badge(t('status.' + s.status), s.status === 'published' ? 'ok' : 'muted') },
      { label: t('updated_at'), cell: (s) => fmtTime(s.updated_at) },
    ], list.items, t('total', { n: list.total })), pager(list, apply), can('catalogue.write') ? createForm : null);
}

function catalogueTabs(current) {
  return h('nav', { class: 'subnav', 'aria-label': t('nav.catalogue') }, h('ul', {},
    [['list', '#/catalogue', t('items')], ['misfiled', '#/catalogue/-misfiled', t('misfiled')], ['misses', '#/catalogue/-misses', t('misses')]]
      .map(([key, href, label]) => h('li', {}, h('a', { href, 'aria-current': key === current ? 'page' : false }, label)))));
}

async function misfiledPage(view) {
  const report = await get('/admin/v1/catalogue/misfiled');
  add(view, heading(t('misfiled')), catalogueTabs('misfiled'), table([
    { label: t('code'), cell: (m) => link('#/catalogue/' + enc(m.code), m.code) },
    { label: t('name'), cell: (m) => text(m.name) },
    { label: t('department'), cell: (m) => m.department || '—' },
    { label: t('problem'), cell: (m) => m.problems.map((p) => `${p.field}: ${t('misfiling.' + p.reason)}${p.value ? ' (' + p.value + ')' : ''}`).join('；') },
  ], report.items, t('total', { n: report.total })));
}

async function missesPage(view) {
  const misses = await get('/admin/v1/search/misses', { page_size: 50 });
  const writable = can('catalogue.write');
  add(view, heading(t('misses')), catalogueTabs('misses'), table([
    { label: t('search_query'), cell: (m) => m.query },
    { label: t('count'), cell: (m) => String(m.count) },
    { label: t('last_at'), cell: (m) => fmtTime(m.last_at) },
    { label: t('add_alias'), cell: (m) => writable ? aliasForm(m.query) : '—' },
  ], misses.items, t('total', { n: misses.total })));
}

function aliasForm(queryText) {
  const code = h('input', { 'aria-label': t('alias_target', { q: queryText }), placeholder: t('code'), size: '10' });
  const form = h('form', { class: 'inline' }, code, h('button', { type: 'submit' }, t('add_alias')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const item = await get('/admin/v1/services/' + enc(code.value.trim()));
      const aliases = [...new Set([...(item.aliases || []), queryText])];
      await patch('/admin/v1/services/' + enc(item.code), { aliases });
      toast(t('alias_added', { q: queryText, code: item.code }));
    } catch (error) { showError(error); }
  });
  return form;
}

const LOCALES = [['zh-CN', '中文'], ['en', 'English']];
const DEPTHS = ['info_only', 'at_most_one_visit', 'online_application', 'whole_process_online'];

async function itemPage(view, code) {
  const item = await get('/admin/v1/services/' + enc(code));
  const writable = can('catalogue.write');
  const guide = item.guide || {};
  const inputs = {};      // problem field path -> the control its message goes beside
  const slots = {};       // problem field path -> the element holding its messages
  const loc = (value, l) => (value && typeof value === 'object' ? value[l] || '' : (l === 'zh-CN' ? value || '' : ''));
  function control(path, el, label, hint) {
    const wrap = field(label, el, hint);
    const slot = h('ul', { class: 'problems', id: uid('p') });
    wrap.append(slot);
    el.setAttribute('aria-describedby', [el.getAttribute('aria-describedby'), slot.id].filter(Boolean).join(' '));
    inputs[path] = el; slots[path] = slot;
    if (!writable) el.disabled = true;
    return wrap;
  }
  // Localised text: one input per locale, in the locale's tab panel.
  const localised = {
    name: (l) => loc(item.name, l), 'guide.legal_basis': (l) => loc(guide.legal_basis, l), 'guide.conditions': (l) => loc(guide.conditions, l),
    'guide.process': (l) => (guide.process || []).map((step) => loc(step, l)).join('\n'), 'guide.result.name': (l) => loc((guide.result || {}).name, l),
    'guide.fee.basis': (l) => loc((guide.fee || {}).basis, l),
  };
  const multiline = new Set(['guide.conditions', 'guide.process', 'guide.legal_basis']);
  const locInputs = {};
  const panels = LOCALES.map(([l, label], index) => {
    const rows = Object.entries(localised).map(([path, value]) => {
      const el = multiline.has(path) ? h('textarea', { rows: path === 'guide.process' ? '4' : '3', lang: l }, value(l)) : h('input', { value: value(l), lang: l });
      (locInputs[path] = locInputs[path] || {})[l] = el;
      const label2 = t('fld.' + path) + (l === 'en' ? ' (English)' : '');
      if (l === 'zh-CN') return control(path, el, label2, path === 'guide.process' ? t('one_step_per_line') : null);
      const wrap = field(label2, el); if (!writable) el.disabled = true; return wrap;
    });
    return h('div', { role: 'tabpanel', id: 'panel-' + l, 'aria-labelledby': 'tab-' + l, hidden: index !== 0 }, rows);
  });
  const tabs = LOCALES.map(([l, label], index) => h('button', { type: 'button', role: 'tab', id: 'tab-' + l, 'aria-controls': 'panel-' + l,
    'aria-selected': index === 0 ? 'true' : 'false', tabindex: index === 0 ? '0' : '-1', onclick: () => selectTab(index) }, label));
  function selectTab(index) {
    tabs.forEach((tab, i) => { tab.setAttribute('aria-selected', i === index ? 'true' : 'false'); tab.tabIndex = i === index ? 0 : -1; panels[i].hidden = i !== index; });
    tabs[index].focus();
  }
  const tablist = h('div', { role: 'tablist', 'aria-label': t('locales'), onkeydown: (e) => {
    const i = tabs.indexOf(document.activeElement);
    if (e.key === 'ArrowRight') selectTab((i + 1) % tabs.length); if (e.key === 'ArrowLeft') selectTab((i + tabs.length - 1) % tabs.length);
  } }, tabs);

  const plain = {
    department: h('input', { value: item.department || '' }), region_code: h('input', { value: item.region_code || '' }),
    handling_depth: select([['', '—'], ...DEPTHS.map((d) => [d, t('depth.' + d)])], item.handling_depth || ''),
    aliases: h('input', { value: (item.aliases || []).join('，') }),
    'guide.legal_time_limit_days': h('input', { type: 'number', min: '0', value: guide.legal_time_limit_days ?? '' }),
    'guide.promised_time_limit_days': h('input', { type: 'number', min: '0', value: guide.promised_time_limit_days ?? '' }),
    'guide.consultation_phone': h('input', { type: 'tel', value: guide.consultation_phone || '' }),
    'guide.supervision_phone': h('input', { type: 'tel', value: guide.supervision_phone || '' }),
    'guide.fee': select([['', '—'], ['free', t('fee_free')], ['charged', t('fee_charged')]], guide.fee ? (guide.fee.free ? 'free' : 'charged') : ''),
    'guide.fee.amount_fen': h('input', { type: 'number', min: '0', value: (guide.fee || {}).amount_fen ?? '' }),
    'guide.delivery.by_post': select([['', '—'], ['yes', t('yes')], ['no', t('no')]], guide.delivery && typeof guide.delivery.by_post === 'boolean' ? (guide.delivery.by_post ? 'yes' : 'no') : ''),
  };
  const json = {
    'guide.materials': h('textarea', { rows: '8', class: 'code' }, JSON.stringify(guide.materials || [], null, 2)),
    'guide.locations': h('textarea', { rows: '6', class: 'code' }, JSON.stringify(guide.locations || [], null, 2)),
    form_schema: h('textarea', { rows: '6', class: 'code' }, JSON.stringify(item.form_schema || {}, null, 2)),
  };
  const others = h('ul', { class: 'problems', 'aria-live': 'polite' });
  const otherBox = h('div', { hidden: true }, h('h3', {}, t('other_problems')), others);
  const summary = h('div', { role: 'status', 'aria-live': 'polite' });

  function showProblems(problems) {
    Object.values(slots).forEach((slot) => slot.replaceChildren());
    Object.values(inputs).forEach((el) => el.removeAttribute('aria-invalid'));
    others.replaceChildren();
    for (const problem of problems) {
      const path = Object.keys(slots).filter((p) => problem.field === p || problem.field.startsWith(p + '.') || problem.field.startsWith(p + '['))
        .sort((a, b) => b.length - a.length)[0] || (problem.field === 'guide.result' ? 'guide.result.name' : null);
      const message = typeof problem.message === 'object' ? text(problem.message) : problem.message;
      const line = h('li', { 'data-field': problem.field, 'data-code': problem.code }, message + (path && path !== problem.field ? ` (${problem.field})` : ''));
      if (path) { slots[path].append(line); inputs[path].setAttribute('aria-invalid', 'true'); }
      else others.append(line);
    }
    otherBox.hidden = !others.children.length;
    summary.replaceChildren(problems.length ? h('p', { class: 'warn-box' }, t('problems_count', { n: problems.length })) : h('p', { class: 'ok-box' }, t('publishable')));
  }

  function collect() {
    const textOf = (path) => { const v = {}; for (const [l] of LOCALES) { const s = locInputs[path][l].value.trim(); if (s) v[l] = s; } return v; };
    const parseJson = (path) => { try { return JSON.parse(json[path].value || 'null'); } catch (error) { throw Object.assign(new Error(t('bad_json', { field: t('fld.' + path) })), { errors: [] }); } };
    const g = { ...guide };
    for (const path of ['guide.legal_basis', 'guide.conditions']) { const v = textOf(path); if (Object.keys(v).length) g[path.slice(6)] = v; else delete g[path.slice(6)]; }
    const zhSteps = locInputs['guide.process']['zh-CN'].value.split('\n').map((x) => x.trim()).filter(Boolean);
    const enSteps = locInputs['guide.process'].en.value.split('\n').map((x) => x.trim());
    g.process = zhSteps.map((zh, i) => (enSteps[i] ? { 'zh-CN': zh, en: enSteps[i] } : { 'zh-CN': zh }));
    const resultName = textOf('guide.result.name');
    if (Object.keys(resultName).length) g.result = { ...(guide.result || {}), name: resultName };
    for (const key of ['legal_time_limit_days', 'promised_time_limit_days']) { const v = plain['guide.' + key].value; if (v === '') delete g[key]; else g[key] = Number(v); }
    for (const key of ['consultation_phone', 'supervision_phone']) { const v = plain['guide.' + key].value.trim(); if (v) g[key] = v; else delete g[key]; }
    const fee = plain['guide.fee'].value;
    if (fee === 'free') g.fee = { free: true };
    else if (fee === 'charged') {
      g.fee = { free: false };
      if (plain['guide.fee.amount_fen'].value !== '') g.fee.amount_fen = Number(plain['guide.fee.amount_fen'].value);
      const basis = textOf('guide.fee.basis'); if (Object.keys(basis).length) g.fee.basis = basis;
    } else delete g.fee;
    const post2 = plain['guide.delivery.by_post'].value;
    if (post2) g.delivery = { ...(guide.delivery || {}), by_post: post2 === 'yes' }; else delete g.delivery;
    g.materials = parseJson('guide.materials'); g.locations = parseJson('guide.locations');
    const body = { name: textOf('name'), guide: g, form_schema: parseJson('form_schema') || {},
      aliases: plain.aliases.value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean) };
    for (const key of ['department', 'region_code']) if (plain[key].value.trim()) body[key] = plain[key].value.trim();
    if (plain.handling_depth.value) body.handling_depth = plain.handling_depth.value;
    return body;
  }

  const previewBox = h('section', { class: 'card preview', 'aria-label': t('preview'), hidden: true });
  function preview() {
    let body; try { body = collect(); } catch (error) { showError(error); return; }
    const g = body.guide; const l = lang() === 'en' ? 'en' : 'zh-CN';
    const pick = (v) => (v && typeof v === 'object' ? v[l] || v['zh-CN'] || '' : v || '');
    previewBox.replaceChildren(h('h2', {}, t('preview_title')), h('div', { class: 'phone', lang: l },
      h('h3', {}, pick(body.name)), body.handling_depth ? badge(t('depth.' + body.handling_depth)) : null,
      h('h4', {}, t('fld.guide.conditions')), h('p', {}, pick(g.conditions) || '—'),
      h('h4', {}, t('materials')), h('ul', {}, (g.materials || []).map((m) => h('li', {}, pick(m.name)))),
      h('h4', {}, t('fld.guide.process')), h('ol', {}, (g.process || []).map((s) => h('li', {}, pick(s)))),
      h('h4', {}, t('time_limits')), h('p', {}, t('promised_days', { n: g.promised_time_limit_days ?? '—', legal: g.legal_time_limit_days ?? '—' })),
      h('h4', {}, t('fee')), h('p', {}, g.fee ? (g.fee.free ? t('fee_free') : fmtFen(g.fee.amount_fen)) : '—'),
      h('h4', {}, t('fld.guide.consultation_phone')), h('p', {}, g.consultation_phone || '—')));
    previewBox.hidden = false;
  }

  const status = badge(t('status.' + item.status), item.status === 'published' ? 'ok' : 'muted');
  const errorBox = h('div', {});
  async function save() {
    const saved = await patch('/admin/v1/services/' + enc(code), collect());
    Object.assign(item, saved); Object.assign(guide, saved.guide || {});
    showProblems(saved.problems || []);
    return saved;
  }
  const buttons = writable ? h('div', { class: 'actions sticky' },
    actionButton(t('save'), async () => { errorBox.replaceChildren(); try { await save(); toast(t('saved')); } catch (error) { showError(error, errorBox); } }),
    item.status === 'published'
      ? actionButton(t('unpublish'), async () => {
        if (!await confirmAction(t('unpublish'), t('confirm_unpublish', { code }))) return;
        await post(`/admin/v1/services/${enc(code)}/unpublish`); toast(t('unpublished')); rerender();
      })
      : actionButton(t('publish'), async () => {
        errorBox.replaceChildren();
        try {
          const saved = await save();
          // An incomplete item cannot go out: the gate's answer is shown without asking first.
          if (saved.publishable && !await confirmAction(t('publish'), t('confirm_publish', { code }))) return;
          await post(`/admin/v1/services/${enc(code)}/publish`);
          toast(t('published_ok')); rerender();
        } catch (error) {
          if (error.code === 'guide_incomplete') { showProblems(error.errors); errorBox.replaceChildren(h('p', { class: 'error', role: 'alert' }, error.message)); } else showError(error, errorBox);
        }
      }, { class: 'primary' }),
    h('button', { type: 'button', onclick: preview }, t('preview'))) : h('div', { class: 'actions' }, h('button', { type: 'button', onclick: preview }, t('preview')));

  add(view, heading(text(item.name) || code, status), h('p', {}, link('#/catalogue', '← ' + t('nav.catalogue'))), summary, errorBox,
    h('div', { class: 'editor' },
      h('form', { class: 'card', 'aria-label': t('editor'), onsubmit: (e) => e.preventDefault() },
        h('h2', {}, t('texts')), tablist, panels,
        h('h2', {}, t('settings')),
        h('div', { class: 'grid2' }, Object.entries(plain).map(([path, el]) => control(path, el, t('fld.' + path)))),
        h('h2', {}, t('structured')), Object.entries(json).map(([path, el]) => control(path, el, t('fld.' + path), t('json_hint'))),
        otherBox),
      previewBox),
    buttons);
  showProblems(item.problems || []);
}

// ---- consultations and complaints -----------------------------------------------------------------

async function consultationsPage(view, id) {
  if (id) return consultationPage(view, id);
  const q = query();
  const kind = select([['', t('all')], ['consultation', t('kind.consultation')], ['complaint', t('kind.complaint')]], q.kind || '');
  const unanswered = h('input', { type: 'checkbox', checked: q.unanswered === 'true' });
  const overdue = h('input', { type: 'checkbox', checked: q.overdue === 'true' });
  const page = Number(q.page || 1);
  const apply = (p = 1) => { location.hash = '#/consultations?' + new URLSearchParams({ kind: kind.value, unanswered: unanswered.checked, overdue: overdue.checked, page: p }); };
  const list = await get('/admin/v1/consultations', { kind: kind.value, unanswered: unanswered.checked ? 'true' : '', overdue: overdue.checked ? 'true' : '', page, page_size: 50 });
  add(view, heading(t('nav.consultations')),
    filterBar([field(t('kind'), kind), h('div', { class: 'field check' }, h('label', {}, unanswered, ' ', t('unanswered_only'))),
      h('div', { class: 'field check' }, h('label', {}, overdue, ' ', t('overdue_only')))], () => apply()),
    table([
      { label: t('subject'), cell: (c) => link('#/consultations/' + enc(c.id), c.subject) },
      { label: t('kind'), cell: (c) => t('kind.' + c.kind) },
      { label: t('service'), cell: (c) => text(c.service_name) },
      { label: t('status'), cell: (c) => t('cstatus.' + c.status) },
      { label: t('answer_due'), cell: (c) => dueBadge(c) },
    ], list.items, t('total', { n: list.total })), pager(list, apply));
}

function dueBadge(c) {
  if (c.first_answered_at) return badge(c.answered_late ? t('answered_late') : t('answered_in_time'), c.answered_late ? 'warn' : 'ok');
  const hours = (new Date(c.due_at) - new Date()) / 3600e3;
  return badge(c.overdue ? t('overdue') : t('due_at', { at: fmtTime(c.due_at) }), c.overdue ? 'bad' : hours < 4 ? 'warn' : 'ok');
}

async function consultationPage(view, id) {
  const c = await get('/admin/v1/consultations/' + enc(id));
  const work = can('consultations.work') && c.status !== 'closed';
  const reply = h('textarea', { rows: '4', required: true });
  const errorBox = h('div', {});
  const replyForm = h('form', { class: 'card', 'aria-label': t('reply') }, h('h2', {}, t('reply')), errorBox, field(t('reply_text'), reply),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('send_reply')),
      actionButton(t('close_case'), async () => {
        if (!await confirmAction(t('close_case'), t('confirm_close'))) return;
        await post(`/admin/v1/consultations/${enc(id)}/close`, reply.value.trim() ? { note: reply.value.trim() } : {});
        toast(t('closed')); rerender();
      })));
  replyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try { await post(`/admin/v1/consultations/${enc(id)}/reply`, { content: reply.value.trim() }); toast(t('replied')); rerender(); } catch (error) { showError(error, errorBox); }
  });
  add(view, heading(c.subject, badge(t('kind.' + c.kind)), badge(t('cstatus.' + c.status)), dueBadge(c)),
    h('p', {}, link('#/consultations', '← ' + t('nav.consultations'))),
    h('p', {}, t('service'), '：', text(c.service_name), ' · ', t('answer_due'), '：', fmtTime(c.due_at)),
    h('section', { class: 'card' }, h('h2', {}, t('messages')), h('ol', { class: 'thread' }, c.messages.map((m) =>
      h('li', { class: m.author }, h('div', { class: 'muted' }, t('author.' + m.author), ' · ', fmtTime(m.created_at)), h('p', {}, m.content))))),
    work ? replyForm : null);
}

// ---- error reports and bad ratings ------------------------------------------------------------------

async function feedbackPage(view) {
  const [reports, rects] = await Promise.all([get('/admin/v1/feedback', { page_size: 50 }), get('/admin/v1/rectifications', { page_size: 50 })]);
  const work = can('consultations.work');
  const resolve = (f) => {
    // pending → confirmed (then fixed) or explained; the API refuses any other step.
    const next = { pending: ['confirm', 'explain', 'fix'], confirmed: ['fix'] }[f.status];
    if (!work || !next) return f.answer || '—';
    const action = select(next.map((a) => [a, t('fb.' + a)]), next[0], { 'aria-label': t('resolution_of', { element: f.element }) });
    const note = h('input', { 'aria-label': t('resolution_note') });
    const form = h('form', { class: 'inline' }, action, note, h('button', { type: 'submit' }, t('resolve')));
    form.addEventListener('submit', async (e) => { e.preventDefault(); try { await post(`/admin/v1/feedback/${enc(f.id)}/resolution`, { action: action.value, note: note.value }); toast(t('saved')); rerender(); } catch (error) { showError(error); } });
    return form;
  };
  const respond = (r) => {
    const followUp = r.follow_up && r.follow_up.satisfied !== null && r.follow_up.satisfied !== undefined
      ? h('div', { class: 'hint' }, t(r.follow_up.satisfied ? 'follow_up_satisfied' : 'follow_up_unsatisfied'), r.follow_up.comment ? (lang() === 'en' ? ': ' : '：') + r.follow_up.comment : '') : null;
    if (!work || r.response) return r.response ? h('div', {}, r.response, followUp) : '—';
    const response = h('input', { 'aria-label': t('rect_response'), minlength: '10' });
    const form = h('form', { class: 'inline' }, response, h('button', { type: 'submit' }, t('respond')));
    form.addEventListener('submit', async (e) => { e.preventDefault(); try { await post(`/admin/v1/rectifications/${enc(r.id)}/response`, { response: response.value }); toast(t('saved')); rerender(); } catch (error) { showError(error); } });
    return form;
  };
  add(view, heading(t('nav.feedback')),
    h('h2', {}, t('error_reports')), table([
      { label: t('service'), cell: (f) => text(f.service_name) }, { label: t('element'), cell: (f) => (t('fld.' + f.element) === f.element.split('.').pop() ? f.element : t('fld.' + f.element)) },
      { label: t('description'), cell: (f) => f.description }, { label: t('status'), cell: (f) => t('fbstatus.' + f.status) },
      { label: t('resolution'), cell: resolve }], reports.items),
    h('h2', {}, t('bad_ratings')), table([
      { label: t('service'), cell: (r) => r.service_code },
      { label: t('rated_object'), cell: (r) => (r.target_type === 'application' ? link('#/queue/' + enc(r.target_id), r.target_id) : r.target_id) },
      { label: t('grade'), cell: (r) => r.grade_label },
      { label: t('comment'), cell: (r) => r.comment || '—' }, { label: t('answer_due'), cell: (r) => badge(fmtTime(r.due_at), r.overdue ? 'bad' : '') },
      { label: t('status'), cell: (r) => badge(t('rectstatus.' + r.status), { open: r.overdue ? 'bad' : 'warn', responded: 'ok', closed: 'muted' }[r.status] || '') },
      { label: t('rectification'), cell: respond }], rects.items));
}

// ---- halls ----------------------------------------------------------------------------------------

const WEEKDAYS = ['1', '2', '3', '4', '5', '6', '7'];

async function hallsPage(view, id) {
  if (id) return hallPage(view, id);
  const list = await get('/admin/v1/halls', { page_size: 100 });
  add(view, heading(t('nav.halls')), table([
    { label: t('name'), cell: (x) => link('#/halls/' + enc(x.id), text(x.name)) },
    { label: t('address'), cell: (x) => text(x.address) },
    { label: t('windows'), cell: (x) => x.windows.map((w) => w.number).join('、') },
  ], list.items, t('total', { n: list.total })), can('halls.manage') ? newHallForm() : null);
}

// A new hall: name, address, hours, region and its windows (each with the items it handles); the
// weekly quotas are set on the hall's own page afterwards.
function newHallForm() {
  const name = h('input', { required: true });
  const address = h('input', { required: true });
  const hours = h('input', {});
  const region = h('input', { inputmode: 'numeric' });
  const rows = h('div', {});
  const windows = [];
  const addWindow = () => {
    const n = windows.length + 1;
    const number = h('input', { required: true, value: String(n), size: '4' });
    const codes = h('input', { required: true });
    windows.push({ number, codes });
    rows.append(h('div', { class: 'grid3' }, field(t('window_no', { n }), number), field(t('window_services', { n }), codes)));
    return codes;
  };
  addWindow();
  const errorBox = h('div', {});
  const form = h('form', { class: 'card', 'aria-label': t('new_hall') }, h('h2', {}, t('new_hall')), errorBox,
    h('div', { class: 'grid3' }, field(t('hall_name'), name), field(t('address'), address), field(t('hours'), hours), field(t('region'), region)),
    h('fieldset', {}, h('legend', {}, t('windows')), rows,
      actionButton(t('add_window'), async () => { addWindow().closest('.grid3').querySelector('input').focus(); })),
    h('button', { type: 'submit', class: 'primary' }, t('create')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      name: { 'zh-CN': name.value.trim() }, address: { 'zh-CN': address.value.trim() },
      windows: windows.map((w) => ({ number: w.number.value.trim(), service_codes: w.codes.value.split(/[,，、\s]+/).filter(Boolean) })),
    };
    if (hours.value.trim()) body.hours = { 'zh-CN': hours.value.trim() };
    if (region.value.trim()) body.region_code = region.value.trim();
    try {
      const hall = await post('/admin/v1/halls', body);
      toast(t('saved'));
      location.hash = '#/halls/' + enc(hall.id);
    } catch (error) { showError(error, errorBox); }
  });
  return form;
}

async function hallPage(view, id) {
  const hall = await get('/admin/v1/halls/' + enc(id));
  const schedule = await get(`/admin/v1/halls/${enc(id)}/schedules`);
  const manage = can('halls.manage');
  const day = (d) => schedule.weekdays[d] || schedule.default;
  const times = [...new Set(WEEKDAYS.flatMap((d) => day(d).map((s) => s.start + '–' + s.end)))].sort();
  const cells = {};
  const grid = h('table', { class: 'week' }, h('caption', {}, t('week_calendar')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('time')), WEEKDAYS.map((d) => h('th', { scope: 'col' }, t('wd.' + d))))),
    h('tbody', {}, times.map((range) => h('tr', {}, h('th', { scope: 'row' }, range), WEEKDAYS.map((d) => {
      const slot = day(d).find((s) => s.start + '–' + s.end === range);
      if (!manage) return h('td', { class: slot ? 'open' : 'shut' }, slot ? String(slot.quota) : '—');
      const input = h('input', { type: 'number', min: '0', max: '10000', value: slot ? slot.quota : '', 'aria-label': t('quota_at', { day: t('wd.' + d), range }) });
      cells[d + range] = input;
      return h('td', {}, input);
    })))));
  async function saveWeek() {
    const slotsOf = (d) => times.map((range) => ({ range, v: cells[d + range].value })).filter((x) => x.v !== '')
      .map(({ range, v }) => ({ start: range.split('–')[0], end: range.split('–')[1], quota: Number(v) }));
    const def = slotsOf('1');
    const weekdays = {};
    for (const d of WEEKDAYS.slice(1)) { const s = slotsOf(d); if (JSON.stringify(s) !== JSON.stringify(def)) weekdays[d] = s; }
    const saved = await put(`/admin/v1/halls/${enc(id)}/schedules`, { default: def, weekdays });
    toast(saved.overbooked && saved.overbooked.length ? t('overbooked', { n: saved.overbooked.length }) : t('saved'));
  }
  // single-day exceptions
  const exDate = h('input', { type: 'date' });
  const exSlots = h('textarea', { rows: '3', placeholder: '09:00-12:00 6' });
  const exNote = h('input', {});
  const exForm = h('form', { class: 'card', 'aria-label': t('exceptions') }, h('h3', {}, t('add_exception')),
    h('div', { class: 'grid3' }, field(t('date'), exDate), field(t('slots_lines'), exSlots, t('slots_hint')), field(t('note'), exNote)),
    h('button', { type: 'submit' }, t('save_exception')));
  exForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const slots = exSlots.value.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
      const m = line.match(/^(\d\d:\d\d)\s*[-–]\s*(\d\d:\d\d)\s+(\d+)$/); return m ? { start: m[1], end: m[2], quota: Number(m[3]) } : { start: line, end: '', quota: 0 };
    });
    try { await put(`/admin/v1/halls/${enc(id)}/schedules/${enc(exDate.value)}`, { slots, ...(exNote.value.trim() ? { note: exNote.value.trim() } : {}) }); toast(t('saved')); rerender(); } catch (error) { showError(error); }
  });
  // today's queue
  const date = h('input', { type: 'date', value: query().date || todayShanghai() });
  const queueBox = h('div', {});
  const called = h('p', { class: 'called', role: 'status', 'aria-live': 'polite' });
  async function loadQueue() {
    const list = await get(`/admin/v1/halls/${enc(id)}/appointments`, { date: date.value, page_size: 100 });
    queueBox.replaceChildren(table([
      { label: t('queue_number'), cell: (a) => a.queue_number || '—' }, { label: t('time'), cell: (a) => a.start + '–' + a.end },
      { label: t('service'), cell: (a) => a.service_name }, { label: t('window'), cell: (a) => a.window || '—' },
      { label: t('status'), cell: (a) => t('astatus.' + a.status) },
    ], list.items, t('appointments_on', { date: date.value, n: list.total })));
  }
  date.addEventListener('change', () => loadQueue().catch(showError));
  const windows = can('halls.queue') ? h('div', { class: 'windows' }, hall.windows.map((w) => h('div', { class: 'card window' },
    h('h3', {}, t('window_n', { n: w.number }), w.name ? ' · ' + text(w.name) : ''),
    actionButton(t('call_next_at', { n: w.number }), async () => {
      try {
        const number = await post(`/admin/v1/halls/${enc(id)}/windows/${enc(w.number)}/call-next`);
        called.textContent = t('called', { number: number.queue_number, window: number.window, waiting: number.waiting });
        await loadQueue();
      } catch (error) { if (error.code === 'queue_empty') called.textContent = t('queue_empty', { window: w.number }); else throw error; }
    }, { class: 'primary' })))) : null;
  add(view, heading(text(hall.name)), h('p', {}, link('#/halls', '← ' + t('nav.halls')), ' · ', text(hall.address)),
    h('section', { class: 'card' }, h('h2', {}, t('todays_queue')), field(t('date'), date), windows, called, queueBox),
    h('section', { class: 'card' }, h('h2', {}, t('schedule')), h('div', { class: 'table-wrap' }, grid),
      manage ? actionButton(t('save_week'), saveWeek, { class: 'primary' }) : null),
    h('section', { class: 'card' }, h('h2', {}, t('exceptions')), table([
      { label: t('date'), cell: (x) => x.date }, { label: t('slots'), cell: (x) => x.slots.length ? x.slots.map((s) => `${s.start}–${s.end} ×${s.quota}`).join('，') : t('closed_day') },
      { label: t('note'), cell: (x) => text(x.note) || '—' },
      { label: t('actions'), cell: (x) => manage ? actionButton(t('remove'), async () => { await del(`/admin/v1/halls/${enc(id)}/schedules/${enc(x.date)}`); rerender(); }) : '—' },
    ], schedule.exceptions), manage ? exForm : null));
  await loadQueue();
}

// ---- payments -------------------------------------------------------------------------------------

async function paymentsPage(view, no) {
  if (no) return paymentPage(view, no);
  const q = query();
  const status = select([['', t('all')], ...['pending', 'paid', 'refunded', 'partially_refunded', 'closed'].map((s) => [s, t('pstatus.' + s)])], q.status || '');
  const application = h('input', { value: q.application_no || '' });
  const page = Number(q.page || 1);
  const apply = (p = 1) => { location.hash = '#/payments?' + new URLSearchParams({ status: status.value, application_no: application.value.trim(), page: p }); };
  const list = await get('/admin/v1/payments', { status: status.value, application_no: application.value.trim(), page, page_size: 50 });
  add(view, heading(t('nav.payments')), filterBar([field(t('status'), status), field(t('application_no'), application)], () => apply()),
    table([
      { label: t('order_no'), cell: (o) => link('#/payments/' + enc(o.order_no), o.order_no) },
      { label: t('application_no'), cell: (o) => o.application_no }, { label: t('amount'), cell: (o) => fmtFen(o.amount_fen) },
      { label: t('channel'), cell: (o) => o.channel }, { label: t('status'), cell: (o) => t('pstatus.' + o.status) },
      { label: t('paid_at'), cell: (o) => fmtTime(o.paid_at) },
    ], list.items, t('total', { n: list.total })), pager(list, apply));
}

async function paymentPage(view, no) {
  const o = await get('/admin/v1/payments/' + enc(no));
  const amount = h('input', { type: 'number', min: '0.01', step: '0.01', max: (o.refundable_fen / 100).toFixed(2), value: (o.refundable_fen / 100).toFixed(2) });
  const reason = h('input', { required: true });
  const errorBox = h('div', {});
  const refundForm = h('form', { class: 'card', 'aria-label': t('refund') }, h('h2', {}, t('refund')), errorBox,
    h('div', { class: 'grid2' }, field(t('refund_amount'), amount, t('refundable', { amount: fmtFen(o.refundable_fen) })), field(t('reason'), reason)),
    h('button', { type: 'submit', class: 'danger' }, t('refund')));
  refundForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const fen = Math.round(Number(amount.value) * 100);
    if (!await confirmAction(t('refund'), t('confirm_refund', { amount: fmtFen(fen), no }))) return;
    try { await post(`/admin/v1/payments/${enc(no)}/refunds`, { amount_fen: fen, reason: reason.value.trim() }); toast(t('refund_sent')); rerender(); } catch (error) { showError(error, errorBox); }
  });
  add(view, heading(t('order') + ' ' + o.order_no, badge(t('pstatus.' + o.status))), h('p', {}, link('#/payments', '← ' + t('nav.payments'))),
    h('section', { class: 'card' }, h('dl', {},
      [[t('application_no'), o.application_no], [t('amount'), fmtFen(o.amount_fen)], [t('refunded'), fmtFen(o.refunded_fen)], [t('channel'), `${o.channel} (${o.app_id})`],
        [t('trade_no'), o.channel_trade_no || '—'], [t('paid_at'), fmtTime(o.paid_at)], [t('anomaly'), o.anomaly || '—']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))),
    h('h2', {}, t('callbacks')), table([
      { label: t('received_at'), cell: (n) => fmtTime(n.received_at) }, { label: t('event'), cell: (n) => n.event_type || '—' },
      { label: t('outcome'), cell: (n) => t('callback.' + n.outcome) }, { label: t('reason'), cell: (n) => n.reason || '—' }, { label: 'HTTP', cell: (n) => String(n.http_status ?? '—') },
    ], o.notifications),
    h('h2', {}, t('refunds')), table([
      { label: t('refund_no'), cell: (r) => r.refund_no }, { label: t('amount'), cell: (r) => fmtFen(r.amount_fen) },
      { label: t('status'), cell: (r) => t('rstatus.' + r.status) }, { label: t('reason'), cell: (r) => r.reason }, { label: t('created_at'), cell: (r) => fmtTime(r.created_at) },
    ], o.refunds),
    can('payments.refund') && o.refundable_fen > 0 ? refundForm : null);
}

// ---- channels -------------------------------------------------------------------------------------

async function channelsPage(view, appId) {
  if (appId) return channelPage(view, appId);
  const list = await get('/admin/v1/channels', { page_size: 100 });
  add(view, heading(t('nav.channels')), table([
    { label: t('name'), cell: (c) => link('#/channels/' + enc(c.app_id), c.name) }, { label: t('kind'), cell: (c) => c.kind },
    { label: 'AppID', cell: (c) => c.app_id }, { label: t('enabled'), cell: (c) => badge(c.enabled ? t('yes') : t('no'), c.enabled ? 'ok' : 'muted') },
    { label: t('secret_set'), cell: (c) => (c.secret_set ? t('yes') : t('no')) },
  ], list.items, t('total', { n: list.total })));
}

async function channelPage(view, appId) {
  const c = await get('/admin/v1/channels/' + enc(appId));
  let merchant = null;
  if (can('channels.read')) { try { merchant = await get(`/admin/v1/channels/${enc(appId)}/merchant`); } catch (error) { merchant = null; } }
  const manage = can('channels.manage');
  const names = Object.keys(c.secrets || {});
  const secretName = select(names.map((n) => [n, n]), names[0]);
  const value = h('input', { type: 'password', autocomplete: 'new-password', required: true });
  const overlap = h('input', { type: 'number', min: '0', value: '3600' });
  const errorBox = h('div', {});
  const rotateForm = h('form', { class: 'card', 'aria-label': t('rotate') }, h('h2', {}, t('rotate')), errorBox,
    h('div', { class: 'grid3' }, field(t('secret'), secretName), field(t('new_value'), value, t('write_only')), field(t('overlap_seconds'), overlap)),
    h('button', { type: 'submit', class: 'primary' }, t('rotate')));
  rotateForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!await confirmAction(t('rotate'), t('confirm_rotate', { name: secretName.value }))) return;
    try {
      const rotated = await post(`/admin/v1/channels/${enc(appId)}/rotations`, { secret: secretName.value, value: value.value, overlap_seconds: Number(overlap.value || 0) });
      value.value = '';
      toast(t('rotated', { name: rotated.secret, until: fmtTime(rotated.previous_valid_until) })); rerender();
    } catch (error) { showError(error, errorBox); }
  });
  add(view, heading(c.name, badge(c.kind), badge(c.enabled ? t('enabled') : t('disabled'), c.enabled ? 'ok' : 'muted')),
    h('p', {}, link('#/channels', '← ' + t('nav.channels'))),
    h('section', { class: 'card' }, h('dl', {}, [['AppID', c.app_id], [t('api_base'), c.api_base_url], [t('timeout'), String(c.timeout_seconds)],
      [t('last_check'), c.last_check ? `${c.last_check.ok ? '✓' : '✗'} ${fmtTime(c.last_check.at)}` : '—']].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    manage ? actionButton(t('check'), async () => { const r = await post(`/admin/v1/channels/${enc(appId)}/check`); toast(r.ok ? t('check_ok') : t('check_failed'), r.ok ? 'ok' : 'bad'); }) : null),
    h('h2', {}, t('secrets')), table([
      { label: t('secret'), cell: ([n]) => n }, { label: t('fingerprint'), cell: ([, s]) => h('code', {}, s.fingerprint || '—') },
      { label: t('rotated_at'), cell: ([, s]) => fmtTime(s.rotated_at) },
      { label: t('previous'), cell: ([, s]) => (s.previous ? `${s.previous.fingerprint} → ${fmtTime(s.previous.valid_until)}` : '—') },
    ], Object.entries(c.secrets || {})),
    manage && names.length ? rotateForm : null,
    h('h2', {}, t('exposed_services')), manage ? exposureEditor(c) : table([
      { label: t('order_col'), cell: (e) => String(e.order) }, { label: t('code'), cell: (e) => link('#/catalogue/' + enc(e.code), e.code) },
      { label: t('regions'), cell: (e) => e.regions.join('、') || t('all') }], [...c.exposed_services].sort((a, b) => a.order - b.order)),
    merchant ? [h('h2', {}, t('merchant')), h('section', { class: 'card' }, h('dl', {}, [[t('configured'), merchant.configured ? t('yes') : t('no')],
      [t('mch_id'), merchant.mch_id || merchant.seller_id || '—'], [t('serial_no'), merchant.serial_no || '—'], [t('notify_path'), merchant.notify_path]]
      .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])))] : null);
}

// The services a channel exposes, in the order citizens coming through it see them.
function exposureEditor(c) {
  const rows = [...c.exposed_services].sort((a, b) => a.order - b.order).map((e) => ({ ...e }));
  const body = h('tbody', {});
  const errorBox = h('div', {});
  function draw() {
    body.replaceChildren(...(rows.length ? rows.map((e, i) => h('tr', {},
      h('td', {}, String(i + 1)), h('td', {}, link('#/catalogue/' + enc(e.code), e.code)),
      h('td', {}, h('input', { value: e.regions.join(','), 'aria-label': t('regions_of', { code: e.code }), oninput: (ev) => { e.regions = ev.target.value.split(/[,，、\s]+/).filter(Boolean); } })),
      h('td', {}, h('div', { class: 'actions' },
        h('button', { type: 'button', disabled: i === 0, 'aria-label': t('move_up', { code: e.code }), onclick: () => { rows.splice(i - 1, 0, rows.splice(i, 1)[0]); draw(); } }, '↑'),
        h('button', { type: 'button', disabled: i === rows.length - 1, 'aria-label': t('move_down', { code: e.code }), onclick: () => { rows.splice(i + 1, 0, rows.splice(i, 1)[0]); draw(); } }, '↓'),
        h('button', { type: 'button', 'aria-label': t('remove_code', { code: e.code }), onclick: () => { rows.splice(i, 1); draw(); } }, t('remove')))))) :
      [h('tr', {}, h('td', { colspan: '4', class: 'empty' }, t('exposes_all')))]));
  }
  draw();
  const code = h('input', { size: '12' });
  const addForm = h('form', { class: 'inline' }, field(t('add_service'), code), h('button', { type: 'submit' }, t('add')));
  addForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = code.value.trim();
    if (value && !rows.some((e) => e.code === value)) { rows.push({ code: value, order: rows.length + 1, regions: [] }); draw(); }
    code.value = '';
  });
  return h('div', { class: 'card' }, errorBox, h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, [t('order_col'), t('code'), t('regions'), t('actions')].map((x) => h('th', { scope: 'col' }, x)))), body)),
  addForm, actionButton(t('save_exposure'), async () => {
    try {
      await patch('/admin/v1/channels/' + enc(c.app_id), { exposed_services: rows.map((e, i) => ({ code: e.code, order: i + 1, regions: e.regions })) });
      toast(t('saved'));
    } catch (error) { showError(error, errorBox); }
  }, { class: 'primary' }));
}

// ---- dashboard ------------------------------------------------------------------------------------

const WORST_LINKS = { service: (c) => '#/catalogue/' + enc(c), application: (c) => '#/queue/' + enc(c), hall: (c) => '#/halls/' + enc(c),
  query: () => '#/catalogue/-misses', rectification: () => '#/feedback', department: (c) => '#/catalogue?department=' + enc(c), theme: () => '#/catalogue/-misfiled' };

async function dashboardPage(view) {
  const q = query();
  const department = h('input', { value: q.department || '' });
  const region = h('input', { value: q.region || '' });
  const card = await get('/admin/v1/scorecard', { department: q.department, region: q.region });
  const dims = card.dimensions.map((d) => ({ label: text(d.name), value: d.score }));
  const compare = h('section', { class: 'card', 'aria-busy': 'true' }, h('h2', {}, t('by_department')), h('p', { class: 'muted' }, t('loading')));
  add(view, heading(t('nav.dashboard'), badge(t('score', { score: card.score ?? '—', grade: card.grade ? t('grade.' + card.grade) : '—' }))),
    filterBar([field(t('department'), department), field(t('region'), region)], () => {
      location.hash = '#/dashboard?' + new URLSearchParams({ department: department.value.trim(), region: region.value.trim() });
    }),
    h('div', { class: 'grid2' },
      h('section', { class: 'card' }, h('h2', {}, t('dimensions')), barChart(dims, t('dimensions_chart'))), compare),
    card.dimensions.map((d) => h('section', { class: 'card' }, h('h2', {}, text(d.name), ' ', badge(d.score === null ? '—' : String(d.score))),
      table([{ label: t('indicator'), cell: (i) => text(i.name) }, { label: t('value'), cell: (i) => (i.value === null || i.value === undefined ? '—' : typeof i.value === 'object' ? JSON.stringify(i.value) : String(i.value)) },
        { label: t('score_col'), cell: (i) => (i.score === null ? '—' : String(i.score)) }], d.indicators),
      d.worst.length ? h('div', {}, h('h3', {}, t('worst')), h('ul', {}, d.worst.map((w) => h('li', {},
        WORST_LINKS[w.kind] ? link(WORST_LINKS[w.kind](w.code), `${w.name || w.code}`) : `${w.name || w.code}`, ' ', h('span', { class: 'muted' }, t('worst_kind.' + w.kind)))))) : null)));
  // Per department: one scorecard each, fetched side by side (the progress bar shows while they load).
  if (!q.department) {
    const services = await get('/admin/v1/services', { page_size: 100 });
    const departments = [...new Set(services.items.map((s) => s.department).filter(Boolean))].slice(0, 12);
    const cards = await Promise.all(departments.map((d) => get('/admin/v1/scorecard', { department: d, region: q.region }).catch(() => null)));
    const rows = departments.map((d, i) => ({ label: d, value: cards[i] ? cards[i].score : null, href: '#/dashboard?department=' + enc(d) }));
    compare.replaceChildren(h('h2', {}, t('by_department')), columnChart(rows, t('by_department')),
      h('ul', { class: 'inline-list' }, rows.map((r) => h('li', {}, link(r.href, `${r.label}: ${r.value ?? '—'}`)))));
  } else compare.replaceChildren(h('h2', {}, t('by_department')), h('p', {}, link('#/dashboard', t('all_departments'))));
  compare.removeAttribute('aria-busy');
}

// ---- operators and audit --------------------------------------------------------------------------

async function operatorsPage(view) {
  const list = await get('/admin/v1/operators', { page_size: 100 });
  const manage = can('operators.manage');
  const username = h('input', { required: true, autocomplete: 'off' });
  const name = h('input', {});
  const password = h('input', { type: 'password', autocomplete: 'new-password' });
  const department = h('input', {});
  const region = h('input', {});
  const roles = Object.keys(state.roles).map((r) => h('input', { type: 'checkbox', value: r }));
  const errorBox = h('div', {});
  const form = h('form', { class: 'card', 'aria-label': t('new_operator') }, h('h2', {}, t('new_operator')), errorBox,
    h('div', { class: 'grid3' }, field(t('username'), username), field(t('name'), name), field(t('password'), password),
      field(t('department'), department), field(t('region'), region)),
    h('fieldset', {}, h('legend', {}, t('roles')), roles.map((r) => h('label', { class: 'check' }, r, ' ', t('role.' + r.value)))),
    h('button', { type: 'submit', class: 'primary' }, t('create')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { username: username.value.trim(), roles: roles.filter((r) => r.checked).map((r) => r.value) };
    for (const [k, el] of [['name', name], ['password', password], ['department', department], ['region_code', region]]) if (el.value.trim()) body[k] = el.value.trim();
    try { await post('/admin/v1/operators', body); toast(t('saved')); rerender(); } catch (error) { showError(error, errorBox); }
  });
  // Editing an account's roles and scope (its sessions end, so its next login shows the new navigation).
  const editor = h('div', {});
  const edit = (o) => {
    const eName = h('input', { value: o.name || '' });
    const eDepartment = h('input', { value: o.department || '' });
    const eRegion = h('input', { value: o.region_code || '' });
    const eRoles = Object.keys(state.roles).map((r) => h('input', { type: 'checkbox', value: r, checked: o.roles.includes(r) }));
    const eErrors = h('div', {});
    const title = t('edit_operator', { name: o.username });
    const editForm = h('form', { class: 'card', 'aria-label': title }, h('h2', {}, title), eErrors,
      h('div', { class: 'grid3' }, field(t('name'), eName), field(t('department'), eDepartment), field(t('region'), eRegion)),
      h('fieldset', {}, h('legend', {}, t('roles')), eRoles.map((r) => h('label', { class: 'check' }, r, ' ', t('role.' + r.value)))),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('save')),
        actionButton(t('cancel'), async () => editor.replaceChildren())));
    editForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      // Only what changed: an unchanged scope is not sent, so the API judges just the change.
      const body = {};
      const chosen = eRoles.filter((r) => r.checked).map((r) => r.value);
      if (chosen.slice().sort().join() !== o.roles.slice().sort().join()) body.roles = chosen;
      for (const [k, el] of [['name', eName], ['department', eDepartment], ['region_code', eRegion]]) if (el.value.trim() !== (o[k] || '')) body[k] = el.value.trim();
      if (!Object.keys(body).length) { editor.replaceChildren(); return; }
      if ((body.roles || 'department' in body || 'region_code' in body) && !await confirmAction(title, t('confirm_roles', { name: o.username }))) return;
      try { await patch('/admin/v1/operators/' + enc(o.id), body); toast(t('saved')); rerender(); } catch (error) { showError(error, eErrors); }
    });
    editor.replaceChildren(editForm);
    eName.focus();
  };
  add(view, heading(t('nav.operators')), table([
    { label: t('username'), cell: (o) => o.username }, { label: t('name'), cell: (o) => o.name || '—' },
    { label: t('roles'), cell: (o) => o.roles.map((r) => t('role.' + r)).join('、') || '—' },
    { label: t('department'), cell: (o) => o.department || '—' }, { label: t('region'), cell: (o) => o.region_code || '—' },
    { label: t('status'), cell: (o) => badge(o.active ? t('active') : t('inactive'), o.active ? 'ok' : 'muted') },
    { label: 'TOTP', cell: (o) => (o.totp_enabled ? t('yes') : t('no')) },
    ...(manage ? [{ label: t('actions'), cell: (o) => (o.id === state.me.id ? '—' : h('div', { class: 'actions' },
      actionButton(t('edit'), async () => edit(o), { 'aria-label': `${t('edit')} ${o.username}` }),
      actionButton(o.active ? t('deactivate') : t('activate'), async () => {
        if (!await confirmAction(o.active ? t('deactivate') : t('activate'), t('confirm_operator', { action: o.active ? t('deactivate') : t('activate'), name: o.username }))) return;
        await patch('/admin/v1/operators/' + enc(o.id), { active: !o.active }); toast(t('saved')); rerender();
      }, { 'aria-label': `${o.active ? t('deactivate') : t('activate')} ${o.username}` }),
      o.totp_enabled ? actionButton(t('reset_totp'), async () => {
        if (!await confirmAction(t('reset_totp'), t('confirm_operator', { action: t('reset_totp'), name: o.username }))) return;
        await del(`/admin/v1/operators/${enc(o.id)}/totp`); toast(t('saved')); rerender();
      }, { 'aria-label': `${t('reset_totp')} ${o.username}` }) : null)) }] : []),
  ], list.items, t('total', { n: list.total })), manage ? [editor, form] : null);
}

async function auditPage(view) {
  const q = query();
  const inputs = { operator: h('input', { value: q.operator || '' }), action: h('input', { value: q.action || '' }), object: h('input', { value: q.object || '' }),
    from: h('input', { type: 'date', value: q.from || '' }), to: h('input', { type: 'date', value: q.to || '' }) };
  const filters = () => Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]));
  const page = Number(q.page || 1);
  const apply = (p = 1) => { location.hash = '#/audit?' + new URLSearchParams({ ...filters(), page: p }); };
  const list = await get('/admin/v1/audit', { ...filters(), page, page_size: 50 });
  const exportButton = actionButton(t('export_csv'), async () => {
    const response = await api('GET', '/admin/v1/audit?' + new URLSearchParams(Object.entries({ ...filters(), format: 'csv' }).filter(([, v]) => v)), undefined, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const a = h('a', { href: url, download: 'audit.csv' });
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
  add(view, heading(t('nav.audit'), exportButton),
    filterBar(Object.entries(inputs).map(([k, el]) => field(t('audit.' + k), el)), () => apply()),
    table([
      { label: t('at'), cell: (e) => fmtTime(e.at) }, { label: t('operator'), cell: (e) => e.operator_username },
      { label: t('action_col'), cell: (e) => e.action_name || e.action }, { label: t('objects'), cell: (e) => e.objects.join('、') },
      { label: t('outcome'), cell: (e) => `${e.outcome} (${e.status})` }, { label: 'IP', cell: (e) => e.client_ip },
    ], list.items, t('total', { n: list.total })), pager(list, apply));
}

// ---- own account ----------------------------------------------------------------------------------

async function accountPage(view) {
  const me = await get('/admin/v1/me');
  add(view, heading(t('account')), h('section', { class: 'card' }, h('dl', {},
    [[t('username'), me.username], [t('roles'), me.roles.map((r) => t('role.' + r)).join('、') || t('no_roles')], [t('department'), me.department || '—'],
      [t('region'), me.region_code || '—'], ['TOTP', me.totp_enabled ? t('yes') : t('no')]].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))));
}

export const PAGES = {
  queue: queuePage, catalogue: cataloguePage, consultations: consultationsPage, feedback: feedbackPage, halls: hallsPage,
  payments: paymentsPage, channels: channelsPage, dashboard: dashboardPage, operators: operatorsPage, audit: auditPage, account: accountPage,
};
