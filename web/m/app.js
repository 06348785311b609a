// CityGate's phone-browser client: one page, hash routes, only /api/v1 (docs/h5.md).
import { TEXT } from './i18n.js';

const state = {
  lang: localStorage.getItem('cg-lang') === 'en' ? 'en' : 'zh-CN',
  big: localStorage.getItem('cg-big') === '1',
  me: undefined,        // the citizen (GET /me), null when not logged in
  config: null,         // GET /h5/config
};
const main = document.getElementById('main');
const t = (key) => TEXT[state.lang][key] ?? TEXT['zh-CN'][key] ?? key;

// ---- the API ------------------------------------------------------------------------------------
function csrfToken() {
  const found = document.cookie.split('; ').find((c) => c.startsWith('cg_csrf='));
  return found ? decodeURIComponent(found.slice(8)) : '';
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || String(status));
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body, headers = {}) {
  const sent = { 'Accept-Language': state.lang === 'en' ? 'en' : 'zh-CN', ...headers };
  if (method !== 'GET') sent['X-CSRF-Token'] = csrfToken();  // the web session's writes (cookie + header)
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    sent['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers: sent, body: payload, credentials: 'same-origin' });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// ---- rendering helpers --------------------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'text') el.textContent = value;
    else el.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function show(title, ...content) {
  document.title = `${title} - ${t('brand')}`;
  const heading = h('h1', { tabindex: '-1' }, title);
  main.replaceChildren(heading, ...content.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  heading.focus();
}

function toast(message) {
  const box = document.getElementById('status');
  box.textContent = message;
  box.classList.add('on');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove('on'), 4000);
}

function errorBox(error) {
  return h('p', { class: 'error', role: 'alert' }, error.message || t('error'));
}

const yuan = (fen) => `¥${(fen / 100).toFixed(2)}`;
const when = (iso) => (iso ? new Date(iso).toLocaleString(state.lang, { dateStyle: 'medium', timeStyle: 'short' }) : '');

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function chrome() {
  document.documentElement.lang = state.lang;
  document.documentElement.classList.toggle('big', state.big);
  const font = document.getElementById('font');
  font.textContent = t('font');
  font.setAttribute('aria-pressed', String(state.big));
  const lang = document.getElementById('lang');
  lang.textContent = t('lang');
  lang.setAttribute('lang', state.lang === 'en' ? 'zh-CN' : 'en');
  document.getElementById('brand').textContent = t('brand');
  document.querySelector('.skip').textContent = t('skip');
}

// ---- who is here --------------------------------------------------------------------------------
async function me(refresh = false) {
  if (state.me !== undefined && !refresh) return state.me;
  state.me = (await api('GET', '/api/v1/h5/session')).citizen;
  return state.me;
}

async function config() {
  state.config = state.config || await api('GET', '/api/v1/h5/config');
  return state.config;
}

async function requireLogin() {
  if (await me()) return true;
  go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`);
  return false;
}

// ---- pages --------------------------------------------------------------------------------------
async function home() {
  const citizen = await me();
  const form = h('form', { class: 'search', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    go(`#/search?q=${encodeURIComponent(form.q.value.trim())}`);
  } },
  h('input', { id: 'q', name: 'q', type: 'search', 'aria-describedby': 'q-hint', enterkeyhint: 'search' }),
  h('button', { class: 'btn', type: 'submit' }, t('search')));
  const popular = await api('GET', '/api/v1/services?page_size=6');
  show(t('brand'),
    h('div', { class: 'card' }, h('label', { for: 'q' }, t('searchLabel')), form,
      h('p', { class: 'hint', id: 'q-hint' }, t('searchHint'))),
    citizen
      ? h('div', { class: 'card' }, h('p', {}, `${t('hello')}${citizen.profile.nickname ? '，' + citizen.profile.nickname : ''}`),
        h('div', { class: 'row' }, h('a', { class: 'btn secondary', href: '#/mine' }, t('mine')),
          h('button', { class: 'btn secondary', type: 'button', onclick: logout }, t('logout'))))
      : h('a', { class: 'btn', href: '#/login?next=%23%2F' }, t('login')),
    h('h2', {}, t('popular')), serviceList(popular.items));
}

function serviceList(items) {
  if (!items.length) return h('p', { class: 'muted' }, t('noResults'));
  return h('ul', { class: 'list card' }, items.map((item) => h('li', {}, h('a', { href: `#/service/${item.code}` },
    h('strong', {}, item.name),
    h('span', { class: 'muted' }, [item.promised_time_limit_days != null ? `${t('timeLimit')} ${item.promised_time_limit_days} ${t('days')}` : '',
      item.free === false ? ` · ${t('fee')}` : item.free ? ` · ${t('free')}` : ''].join(''))))));
}

async function search(params) {
  const q = params.get('q') || '';
  const found = await api('GET', `/api/v1/services?q=${encodeURIComponent(q)}&page_size=20`);
  show(`${t('results')}：${q}`, serviceList(found.items));
}

async function service(code) {
  const item = await api('GET', `/api/v1/services/${encodeURIComponent(code)}`);
  const guide = item.guide;
  const materials = h('ul', {}, guide.materials.map((m) => h('li', {}, `${m.name}（${m.required ? t('required') : t('optional')}）`,
    m.format_rules ? h('div', { class: 'hint' }, m.format_rules) : null)));
  show(item.name,
    h('div', { class: 'row' },
      item.form_schema ? h('a', { class: 'btn', href: `#/apply/${code}` }, t('apply')) : null,
      h('a', { class: 'btn secondary', href: `#/book/${code}` }, t('book'))),
    h('div', { class: 'card' }, h('dl', {},
      h('dt', {}, t('timeLimit')), h('dd', {}, `${guide.promised_time_limit_days} ${t('days')}`),
      h('dt', {}, t('feeLabel')), h('dd', {}, guide.fee.free ? t('free') : yuan(guide.fee.amount_fen)),
      h('dt', {}, t('conditions')), h('dd', {}, guide.conditions))),
    h('h2', {}, t('materials')), h('div', { class: 'card' }, materials),
    h('h2', {}, t('process')), h('ol', { class: 'card' }, guide.process.map((step) => h('li', {}, step))),
    h('h2', {}, t('locations')), h('div', { class: 'card' }, guide.locations.map((l) => h('p', {}, h('strong', {}, l.name), h('br'), l.address, h('br'), l.office_hours))),
    h('a', { class: 'btn secondary', href: `#/ask/${code}` }, t('ask')));
}

function field(name, schema, value, required, masked) {
  const id = `f-${name}`;
  const title = (state.lang === 'en' && schema['x-title-en']) || schema.title || name;
  let input;
  if (schema.enum) {
    const titles = (schema['x-enum-titles'] || {})[state.lang] || (schema['x-enum-titles'] || {})['zh-CN'] || schema.enum;
    input = h('select', { id, name, required },
      h('option', { value: '' }, t('pick')),
      schema.enum.map((v, i) => h('option', { value: v, selected: v === value }, titles[i] || v)));
  } else {
    input = h(schema.maxLength > 100 ? 'textarea' : 'input', {
      id, name, required, maxlength: schema.maxLength, type: schema.format === 'date' ? 'date' : 'text',
      inputmode: /\[0-9\]/.test(schema.pattern || '') ? 'numeric' : null,
      autocomplete: name === 'phone' ? 'tel' : name === 'applicant_name' ? 'name' : null,
      'aria-describedby': masked ? `${id}-hint` : null,
    });
    if (value !== undefined && value !== null) input.value = value;
  }
  return [h('label', { for: id }, title, required ? ' *' : ''), input,
    masked ? h('p', { class: 'hint', id: `${id}-hint` }, t('masked')) : null];
}

async function apply(code) {
  if (!await requireLogin()) return;
  const form = await api('GET', `/api/v1/services/${encodeURIComponent(code)}/form`);
  const schema = form.form_schema || { properties: {} };
  const required = new Set(schema.required || []);
  const uploaded = {};
  const idempotencyKey = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
  const slots = form.materials.filter((m) => m.medium !== 'paper').map((m) => {
    const note = h('p', { class: 'hint', id: `m-${m.key}-note`, 'aria-live': 'polite' });
    const picker = (capture, label) => h('label', { class: 'btn secondary' }, label,
      h('input', { type: 'file', accept: 'image/*', capture, 'data-material': m.key, 'aria-describedby': note.id,
        onchange: async (event) => {
          const file = event.target.files[0];
          if (!file) return;
          note.textContent = t('uploading');
          const body = new FormData();
          body.append('file', file, file.name || `${m.key}.jpg`);
          try {
            const saved = await api('POST', `/api/v1/files?service_code=${encodeURIComponent(code)}&material=${encodeURIComponent(m.key)}`, body);
            uploaded[m.key] = [saved.file_id];
            note.textContent = `${t('uploaded')}：${saved.name}`;
          } catch (error) {
            note.textContent = error.message;
          }
        } }));
    return h('div', { class: 'card' }, h('p', {}, h('strong', {}, m.name), ` （${m.required ? t('required') : t('optional')}）`),
      h('div', { class: 'file' }, picker('environment', t('camera')), picker(null, t('gallery'))), note);
  });
  const problem = h('div', { 'aria-live': 'assertive' });
  const submit = h('button', { class: 'btn', type: 'submit' }, t('submit'));
  const el = h('form', { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const values = {};
    for (const name of Object.keys(schema.properties || {})) {
      const value = el.elements[name]?.value?.trim();
      if (value) values[name] = value;
    }
    submit.disabled = true;
    submit.textContent = t('submitting');
    try {
      const made = await api('POST', '/api/v1/applications', { service_code: code, form: values, materials: uploaded },
        { 'Idempotency-Key': idempotencyKey });
      go(`#/app/${made.application_no}`);
    } catch (error) {
      const lines = (error.body.errors || []).map((e) => h('li', {}, e.message));
      problem.replaceChildren(errorBox(error), lines.length ? h('ul', { class: 'error' }, lines) : '');
      submit.disabled = false;
      submit.textContent = t('submit');
    }
  } },
  h('div', { class: 'card' }, h('p', { class: 'hint' }, t('prefilled')),
    Object.entries(schema.properties || {}).map(([name, s]) => field(name, s, form.values[name], required.has(name), form.masked.includes(name)))),
  h('h2', {}, t('upload')), slots, problem, submit);
  show(`${t('applyTitle')}：${form.service_name}`, el);
}

function payApp(pay) {
  const mine = new Set((state.me?.identities || []).map((i) => `${i.kind}:${i.app_id}`));
  const kinds = new Set((state.me?.identities || []).map((i) => i.kind));
  return pay.find((p) => p.channel === 'wechat' && mine.has(`wechat_openid:${p.app_id}`))
    || pay.find((p) => p.channel === 'alipay' && (kinds.has('alipay_user_id') || mine.has(`alipay_open_id:${p.app_id}`)));
}

async function paySection(application) {
  const item = await api('GET', `/api/v1/services/${encodeURIComponent(application.service_code)}`);
  const fee = item.guide.fee;
  if (fee.free) return null;
  if (application.payment?.status === 'paid') return h('p', {}, h('span', { class: 'badge ok' }, t('paid')), ' ', yuan(fee.amount_fen));
  const { pay_apps: apps, sandbox } = await config();
  const chosen = payApp(apps);
  if (!chosen) return h('p', { class: 'hint' }, t('noPayApp'));
  const note = h('p', { 'aria-live': 'polite' });
  const button = h('button', { class: 'btn', type: 'button', onclick: async () => {
    button.disabled = true;
    try {
      const order = await api('POST', `/api/v1/applications/${application.application_no}/payments`,
        { channel: chosen.channel, app_id: chosen.app_id }, { 'Idempotency-Key': `pay-${application.application_no}` });
      if (sandbox) {  // the sandbox wallet stands in for wx.requestPayment / my.tradePay
        await api('POST', `/sandbox/${chosen.channel === 'wechat' ? 'wechatpay' : 'alipay'}/test/pay`, { out_trade_no: order.order_no });
      }
      note.textContent = t('paying');
      for (let i = 0; i < 20; i += 1) {
        const seen = await api('GET', `/api/v1/payments/${order.order_no}`);
        if (seen.status === 'paid') { toast(t('paid')); route(); return; }
        await new Promise((done) => setTimeout(done, 500));
      }
    } catch (error) {
      note.replaceChildren(errorBox(error));
    }
    button.disabled = false;
  } }, `${t('payNow')} ${yuan(fee.amount_fen)}（${chosen.channel === 'wechat' ? t('wechatPay') : t('alipayPay')}）`);
  return [button, note];
}

function ratingForm(application) {
  const note = h('div', { 'aria-live': 'polite' });
  const form = h('form', { onsubmit: async (event) => {
    event.preventDefault();
    const grade = Number(new FormData(form).get('grade'));
    try {
      await api('POST', `/api/v1/applications/${application.application_no}/evaluation`, { grade, comment: form.comment.value.trim() || null });
      form.replaceWith(h('p', { class: 'badge ok' }, t('rated')));
    } catch (error) {
      note.replaceChildren(errorBox(error));
    }
  } },
  h('fieldset', { class: 'stars' }, h('legend', {}, t('grade')),
    t('grades').map((label, i) => h('label', {}, h('input', { type: 'radio', name: 'grade', value: String(i + 1), required: true, checked: i === 4 }), ` ${label}`))),
  h('label', { for: 'comment' }, t('comment')), h('textarea', { id: 'comment', name: 'comment', maxlength: '500' }),
  note, h('button', { class: 'btn', type: 'submit' }, t('sendRating')));
  return form;
}

async function application(no) {
  if (!await requireLogin()) return;
  const a = await api('GET', `/api/v1/applications/${encodeURIComponent(no)}`);
  const payment = await paySection(a);
  show(t('appTitle'),
    h('div', { class: 'card' }, h('dl', {},
      h('dt', {}, a.service_name), h('dd', {}, h('span', { class: 'badge' }, a.status_label)),
      h('dt', {}, t('appNo')), h('dd', {}, a.application_no),
      a.query_code ? [h('dt', {}, t('queryCode')), h('dd', {}, a.query_code)] : null,
      a.deadline?.due_date ? [h('dt', {}, t('dueDate')), h('dd', {}, a.deadline.due_date)] : null)),
    payment ? [h('h2', {}, t('pay')), h('div', { class: 'card' }, payment)] : null,
    h('h2', {}, t('timeline')),
    h('ol', { class: 'timeline card' }, a.timeline.map((e) => h('li', {}, h('strong', {}, e.action_label), ' ',
      h('span', { class: 'muted' }, when(e.at)), e.note ? h('div', {}, e.note) : null))),
    a.status === 'completed' ? [h('h2', {}, t('rate')), h('div', { class: 'card' }, ratingForm(a))] : null,
    h('a', { class: 'btn secondary', href: `#/ask/${a.service_code}?application_no=${a.application_no}` }, t('ask')));
}

async function book(code) {
  if (!await requireLogin()) return;
  const offer = await api('GET', `/api/v1/appointments/slots?service_code=${encodeURIComponent(code)}`);
  const slotsBox = h('div', { 'aria-live': 'polite' });
  const halls = offer.halls.map((hall) => {
    const days = (hall.days || []).filter((d) => d.bookable);
    const select = h('select', { id: `d-${hall.hall_id}`, onchange: async () => {
      if (!select.value) return;
      const day = await api('GET', `/api/v1/appointments/slots?service_code=${encodeURIComponent(code)}&hall_id=${hall.hall_id}&date=${select.value}`);
      const slots = (day.halls[0]?.slots || []).filter((s) => s.bookable);
      slotsBox.replaceChildren(h('h2', {}, t('slots')), h('div', { class: 'slots' }, slots.map((s) => h('button', {
        class: 'btn secondary', type: 'button', onclick: async () => {
          try {
            const made = await api('POST', '/api/v1/appointments', { service_code: code, hall_id: hall.hall_id, date: select.value, slot_id: s.slot_id },
              { 'Idempotency-Key': `book-${code}-${select.value}-${s.slot_id}` });
            go(`#/appt/${made.id}`);
          } catch (error) {
            slotsBox.append(errorBox(error));
          }
        } }, `${s.start}-${s.end}（${t('left')}${s.remaining}）`))));
    } }, h('option', { value: '' }, t('pick')), days.map((d) => h('option', { value: d.date }, `${d.date}（${t('left')}${d.remaining}）`)));
    return h('div', { class: 'card' }, h('p', {}, h('strong', {}, hall.name), h('br'), h('span', { class: 'muted' }, hall.address)),
      h('label', { for: select.id }, t('date')), select);
  });
  show(t('bookTitle'), halls.length ? halls : h('p', { class: 'muted' }, t('none')), slotsBox);
}

async function appointment(id) {
  if (!await requireLogin()) return;
  const a = await api('GET', `/api/v1/appointments/${encodeURIComponent(id)}`);
  show(t('apptTitle'),
    h('div', { class: 'card' }, h('p', {}, a.service_name), h('p', { class: 'muted', id: 'code-label' }, t('checkinCode')),
      h('p', { class: 'code', 'aria-describedby': 'code-label' }, a.id), h('p', { class: 'hint' }, t('checkinHint'))),
    h('div', { class: 'card' }, h('dl', {}, h('dt', {}, t('when')), h('dd', {}, `${a.date} ${a.start}-${a.end}`),
      h('dt', {}, t('where')), h('dd', {}, a.hall_name, h('br'), a.hall_address))),
    h('a', { class: 'btn secondary', href: '#/mine' }, t('mine')));
}

async function ask(code, params) {
  if (!await requireLogin()) return;
  const note = h('div', { 'aria-live': 'polite' });
  const form = h('form', { onsubmit: async (event) => {
    event.preventDefault();
    try {
      const made = await api('POST', '/api/v1/consultations', { service_code: code, application_no: params.get('application_no') || null,
        subject: form.subject.value.trim(), content: form.content.value.trim() });
      form.replaceWith(h('div', { class: 'card' }, h('p', {}, t('asked')), h('p', {}, h('strong', {}, when(made.due_at)))));
    } catch (error) {
      note.replaceChildren(errorBox(error), h('ul', { class: 'error' }, (error.body.errors || []).map((e) => h('li', {}, e.message))));
    }
  } },
  h('label', { for: 'subject' }, t('subject')), h('input', { id: 'subject', name: 'subject', maxlength: '100', required: true }),
  h('label', { for: 'content' }, t('content')), h('textarea', { id: 'content', name: 'content', maxlength: '2000', required: true }),
  note, h('button', { class: 'btn', type: 'submit' }, t('sendAsk')));
  show(t('askTitle'), form);
}

async function mine() {
  if (!await requireLogin()) return;
  const [apps, appts] = await Promise.all([api('GET', '/api/v1/applications?page_size=20'), api('GET', '/api/v1/appointments?page_size=20')]);
  const list = (items, link, label) => (items.length ? h('ul', { class: 'list card' }, items.map((i) => h('li', {}, h('a', { href: link(i) }, label(i)))))
    : h('p', { class: 'muted' }, t('none')));
  show(t('mine'),
    h('h2', {}, t('myApps')), list(apps.items, (a) => `#/app/${a.application_no}`, (a) => [h('strong', {}, a.service_name), `${a.application_no} · ${a.status_label}`]),
    h('h2', {}, t('myAppts')), list(appts.items, (a) => `#/appt/${a.id}`, (a) => [h('strong', {}, a.service_name), `${a.date} ${a.start} · ${a.hall_name}`]));
}

async function login(params) {
  const next = params.get('next') || '#/';
  if (await me()) { go(next); return; }
  const { logins } = await config();
  const back = `/m/${next.startsWith('#') ? next : '#/'}`;
  const buttons = logins.map((l) => h('a', {
    class: `btn ${l.provider}`,
    href: `/api/v1/h5/${l.provider}/authorize?app_id=${encodeURIComponent(l.app_id)}&next=${encodeURIComponent(back)}`,
  }, l.provider === 'wechat' ? t('wechat') : t('alipay')));
  show(t('loginTitle'), h('p', {}, t('loginHint')), buttons.length ? buttons : h('p', {}, t('noLogin')));
}

async function logout() {
  await api('POST', '/api/v1/h5/logout');
  state.me = null;
  go('#/');
}

// ---- the router ---------------------------------------------------------------------------------
const ROUTES = [
  [/^\/$/, () => home()],
  [/^\/search$/, (m, p) => search(p)],
  [/^\/service\/([^/]+)$/, (m) => service(m[1])],
  [/^\/apply\/([^/]+)$/, (m) => apply(m[1])],
  [/^\/app\/([^/]+)$/, (m) => application(m[1])],
  [/^\/book\/([^/]+)$/, (m) => book(m[1])],
  [/^\/appt\/([^/]+)$/, (m) => appointment(m[1])],
  [/^\/ask\/([^/]+)$/, (m, p) => ask(m[1], p)],
  [/^\/mine$/, () => mine()],
  [/^\/login$/, (m, p) => login(p)],
];

async function route() {
  chrome();
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query] = raw.split('?');
  const params = new URLSearchParams(query || '');
  const found = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([m]) => m);
  try {
    if (found) await found[1](found[0].map(decodeURIComponent), params);
    else await home();
  } catch (error) {
    show(t('error'), errorBox(error), h('a', { class: 'btn secondary', href: '#/' }, t('back')));
  }
}

document.getElementById('font').addEventListener('click', () => {
  state.big = !state.big;
  localStorage.setItem('cg-big', state.big ? '1' : '0');
  chrome();
});
document.getElementById('lang').addEventListener('click', () => {
  state.lang = state.lang === 'en' ? 'zh-CN' : 'en';
  localStorage.setItem('cg-lang', state.lang);
  route();
});
window.addEventListener('hashchange', route);
route();
