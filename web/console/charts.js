// Charts as inline SVG drawn here (no chart library): horizontal bars for a few named scores 0–100,
// vertical columns to compare departments. Each chart has a title and a text equivalent for readers.
import { s, h, uid } from './ui.js';

const colour = (v) => (v === null || v === undefined ? '#9e9e9e' : v >= 80 ? '#1b7f3b' : v >= 60 ? '#9a6700' : '#b3261e');

export function barChart(rows, title) {
  const width = 560; const bar = 26; const gap = 12; const left = 150; const height = rows.length * (bar + gap) + 24;
  const id = uid('chart');
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-labelledby': id, class: 'chart' },
    s('title', { id }, `${title}: ${rows.map((r) => `${r.label} ${r.value ?? '—'}`).join('，')}`),
    [0, 50, 100].map((tick) => s('line', { x1: left + tick * 3.6, x2: left + tick * 3.6, y1: 0, y2: height - 20, stroke: '#d0d0d0' })),
    rows.map((r, i) => {
      const y = i * (bar + gap);
      const w = Math.max(2, (r.value || 0) * 3.6);
      return s('g', {},
        s('text', { x: left - 8, y: y + bar / 2 + 5, 'text-anchor': 'end', 'font-size': '14', fill: '#1f1f1f' }, r.label),
        s('rect', { x: left, y, width: w, height: bar, rx: 3, fill: colour(r.value) }),
        s('text', { x: left + w + 6, y: y + bar / 2 + 5, 'font-size': '14', fill: '#1f1f1f' }, r.value === null || r.value === undefined ? '—' : String(r.value)));
    }),
    [0, 50, 100].map((tick) => s('text', { x: left + tick * 3.6, y: height - 4, 'text-anchor': 'middle', 'font-size': '12', fill: '#555' }, String(tick))));
}

export function columnChart(rows, title) {
  const col = 36; const gap = 18; const height = 220; const base = 180;
  const width = Math.max(320, rows.length * (col + gap) + 40);
  const id = uid('chart');
  if (!rows.length) return h('p', {}, '—');
  return s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', 'aria-labelledby': id, class: 'chart' },
    s('title', { id }, `${title}: ${rows.map((r) => `${r.label} ${r.value ?? '—'}`).join('，')}`),
    s('line', { x1: 20, x2: width - 10, y1: base, y2: base, stroke: '#888' }),
    rows.map((r, i) => {
      const x = 30 + i * (col + gap); const hgt = (r.value || 0) * 1.5;
      return s('g', {},
        s('rect', { x, y: base - hgt, width: col, height: Math.max(1, hgt), rx: 3, fill: colour(r.value) }),
        s('text', { x: x + col / 2, y: base - hgt - 6, 'text-anchor': 'middle', 'font-size': '13', fill: '#1f1f1f' }, r.value === null || r.value === undefined ? '—' : String(Math.round(r.value))),
        s('text', { x: x + col / 2, y: base + 18, 'text-anchor': 'middle', 'font-size': '12', fill: '#1f1f1f' }, r.label.length > 8 ? r.label.slice(0, 8) + '…' : r.label));
    }));
}
