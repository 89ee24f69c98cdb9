// app.js: the page (index.html): find a movie, its similar movies with why,
// the visitor's ratings and "for you", a known user's picks, and a status
// line saying which models answered, how fast, and what was missing.
//
// State lives in the URL hash (#item=<id>, #user=<id>: links, back button)
// and, for the visitor, in localStorage (an id of its own and the ratings
// given, for display; the gateway keeps the real feedback). Everything is
// built with DOM calls and textContent (no HTML strings): titles from the
// catalog are never interpreted as markup, and the page runs under a
// Content-Security-Policy without inline script or style.

import * as api from './api.js';

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

// ------------------------------------------------------------ visitor

const STORE = 'recsys.visitor';

function loadVisitor() {
  let v = null;
  try {
    v = JSON.parse(localStorage.getItem(STORE) || 'null');
  } catch (e) {
    v = null;
  }
  if (!v || typeof v.id !== 'string' || !v.id) {
    const rnd = crypto.getRandomValues(new Uint32Array(2));
    v = { id: `web-${rnd[0].toString(36)}${rnd[1].toString(36)}`, ratings: {} };
  }
  if (!v.ratings || typeof v.ratings !== 'object') v.ratings = {};
  return v;
}

let visitor = loadVisitor();
function saveVisitor() {
  try {
    localStorage.setItem(STORE, JSON.stringify(visitor));
  } catch (e) {
    /* private mode: the ratings still reach the gateway */
  }
}

// ------------------------------------------------------------ status line and banners

function showError(msg) {
  const b = $('error');
  if (!msg) {
    b.hidden = true;
    b.textContent = '';
    return;
  }
  b.textContent = `Something went wrong: ${msg}`;
  b.hidden = false;
}

// After every ranked answer (similar, for you, a user's picks).
function showAnswerStatus(what, r) {
  const d = r.data || {};
  const mv = d.model_versions || {};
  const parts = [`${what}: ${Math.round(r.ms)} ms`];
  const models = [];
  if (mv.content) models.push(`content ${mv.content}`);
  if (mv.cf) models.push(`CF ${mv.cf}`);
  if (mv.popularity) models.push(`popularity ${mv.popularity}`);
  if (models.length) parts.push(`models: ${models.join(', ')}`);
  parts.push(d.cached ? 'cached' : 'computed');
  if (d.fallback) parts.push(`fallback: ${d.fallback}`);
  if (d.degraded) parts.push('DEGRADED');
  $('status').textContent = parts.join(' · ');
  const banner = $('degraded');
  if (d.degraded) {
    const why = (d.degraded_reasons || []).join('; ') || 'a model did not answer';
    banner.textContent = `Degraded answer: ${why}. The page still answers from the models that are up.`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// ------------------------------------------------------------ one result

function yearSuffix(item) {
  // MovieLens titles carry the year already: "Toy Story (1995)".
  if (!item.year || /\(\d{4}\)\s*$/.test(item.title || '')) return '';
  return ` (${item.year})`;
}

function titleOf(item) {
  return `${item.title || item.item_id}${yearSuffix(item)}`;
}

function itemLink(item) {
  const a = el('a', 'title', titleOf(item));
  a.href = `#item=${encodeURIComponent(item.item_id)}`;
  return a;
}

// Contributions: weight x normalised score per source (the answer's
// weights sum to 1, so the three add up to the score).
function contributions(item, w) {
  const c = Number(item.content_score) || 0;
  const f = Number(item.cf_score) || 0;
  const p = Number(item.popularity_score) || 0;
  if (!w) return [c, f, p];
  return [c * (Number(w.content) || 0), f * (Number(w.cf) || 0), p * (Number(w.popularity) || 0)];
}

function bars(values, scale) {
  const names = ['content', 'behaviour', 'popularity'];
  const cls = ['c', 'f', 'p'];
  const box = el('div', 'bars');
  box.setAttribute('role', 'img');
  box.setAttribute('aria-label',
    `contributions: ${names.map((n, i) => `${n} ${values[i].toFixed(2)}`).join(', ')}`);
  values.forEach((v, i) => {
    const row = el('div', `bar ${cls[i]}`);
    row.append(el('span', 'lbl', names[i]));
    const track = el('span', 'track');
    const fill = el('span', 'fill');
    fill.style.width = `${Math.max(0, Math.min(100, scale > 0 ? (100 * v) / scale : 0)).toFixed(1)}%`;
    track.append(fill);
    row.append(track, el('span', 'val', v.toFixed(2)));
    box.append(row);
  });
  return box;
}

function renderResults(list, data, opts = {}) {
  list.replaceChildren();
  const items = data.items || [];
  const w = data.weights || null;
  const all = items.map((it) => contributions(it, w));
  const scale = Math.max(1e-9, ...all.map((v) => v[0] + v[1] + v[2]), ...all.flat());
  items.forEach((it, i) => {
    const li = el('li', 'result');
    li.dataset.itemId = it.item_id;
    if (opts.fresh && opts.fresh.has(it.item_id)) li.classList.add('fresh');
    const head = el('div', 'head');
    head.append(itemLink(it));
    if (opts.fresh && opts.fresh.has(it.item_id)) head.append(el('span', 'badge', 'new'));
    li.append(head);
    if (it.genres && it.genres.length) li.append(el('div', 'genres', it.genres.join(' · ')));
    li.append(bars(all[i], scale));
    const ex = it.explanation;
    if (ex && (ex.text || ex.model)) {
      const why = el('p', 'why', ex.text || '');
      if (ex.model) why.append(el('span', 'model', ex.model));
      li.append(why);
    }
    list.append(li);
  });
  if (!items.length) list.append(el('li', 'empty', opts.empty || 'Nothing to show.'));
}

// ------------------------------------------------------------ search (type-ahead)

const search = { timer: 0, seq: 0, query: '', items: [], active: -1 };

function closeSuggest() {
  $('suggest').hidden = true;
  $('q').setAttribute('aria-expanded', 'false');
  $('q').removeAttribute('aria-activedescendant');
  search.active = -1;
}

function renderSuggest() {
  const ul = $('suggest');
  ul.replaceChildren();
  search.items.forEach((it, i) => {
    const li = el('li', i === search.active ? 'opt active' : 'opt');
    li.id = `opt-${i}`;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', i === search.active ? 'true' : 'false');
    li.append(el('span', 't', titleOf(it)));
    if (it.genres && it.genres.length) li.append(el('span', 'g', it.genres.slice(0, 3).join(' · ')));
    li.addEventListener('mousedown', (e) => {
      e.preventDefault(); // keep the focus in the box
      pick(i);
    });
    ul.append(li);
  });
  const open = search.items.length > 0;
  ul.hidden = !open;
  $('q').setAttribute('aria-expanded', open ? 'true' : 'false');
  if (search.active >= 0) $('q').setAttribute('aria-activedescendant', `opt-${search.active}`);
  else $('q').removeAttribute('aria-activedescendant');
}

async function runSearch(query) {
  const seq = ++search.seq;
  const r = await api.searchItems(query, 8);
  if (seq !== search.seq) return null; // a newer keystroke won
  if (!r.ok) {
    showError(r.error);
    return null;
  }
  showError(null);
  search.query = query;
  search.items = (r.data.items || []);
  search.active = -1;
  renderSuggest();
  return search.items;
}

// The best match of a query: an exact title (ignoring case and a trailing
// year), else the search's first answer (title prefixes come first).
function bestMatch(query, items) {
  const norm = (s) => s.toLowerCase().replace(/\s*\(\d{4}\)\s*$/, '').trim();
  const want = norm(query);
  return items.find((it) => norm(it.title || '') === want) || items[0] || null;
}

function pick(i) {
  const it = search.items[i];
  if (!it) return;
  closeSuggest();
  $('q').value = it.title;
  go(`item=${encodeURIComponent(it.item_id)}`);
}

async function onSearchKey(e) {
  const n = search.items.length;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    if (!n) return;
    e.preventDefault();
    if (e.key === 'ArrowDown') search.active = search.active < n - 1 ? search.active + 1 : 0;
    else search.active = search.active > 0 ? search.active - 1 : n - 1;
    renderSuggest();
  } else if (e.key === 'Enter') {
    e.preventDefault();
    if (search.active >= 0) {
      pick(search.active);
      return;
    }
    const query = $('q').value.trim();
    if (!query) return;
    clearTimeout(search.timer);
    const items = search.query === query && search.items.length ? search.items : await runSearch(query);
    if (!items) return;
    const best = bestMatch(query, items);
    if (!best) {
      closeSuggest();
      $('status').textContent = `No movie matches "${query}".`;
      return;
    }
    search.items = [best];
    pick(0);
  } else if (e.key === 'Escape') {
    closeSuggest();
  }
}

function onSearchInput() {
  clearTimeout(search.timer);
  const query = $('q').value.trim();
  if (!query) {
    search.items = [];
    search.query = '';
    ++search.seq;
    closeSuggest();
    return;
  }
  search.timer = setTimeout(() => runSearch(query), 120);
}

// ------------------------------------------------------------ a movie's page

const movie = { id: null, item: null, seq: 0 };

function fact(dl, name, value) {
  if (!value) return;
  dl.append(el('dt', null, name), el('dd', null, value));
}

function renderMovie(it) {
  $('intro').hidden = true;
  $('movie').hidden = false;
  $('movie-title').textContent = titleOf(it);
  const meta = [];
  if (it.year) meta.push(String(it.year));
  if (it.genres && it.genres.length) meta.push(it.genres.join(' · '));
  const nr = Number(it.rating_count) || 0;
  if (nr) meta.push(`${nr} rating${nr === 1 ? '' : 's'}, mean ${Number(it.mean_rating).toFixed(1)}`);
  $('movie-meta').textContent = meta.join(' — ');
  const dl = $('movie-facts');
  dl.replaceChildren();
  fact(dl, 'Director', (it.directors || []).join(', '));
  fact(dl, 'Cast', (it.cast || []).slice(0, 6).join(', '));
  fact(dl, 'Keywords', (it.keywords || []).slice(0, 8).join(', '));
  $('movie-overview').textContent = it.overview || '';
  $('movie-overview').hidden = !it.overview;
  $('rate-msg').textContent = '';
  renderRating();
  document.title = `${titleOf(it)} · recsys`;
}

async function openMovie(id) {
  const seq = ++movie.seq;
  const r = await api.getItem(id);
  if (seq !== movie.seq) return;
  if (!r.ok) {
    showError(r.error);
    return;
  }
  showError(null);
  movie.id = id;
  movie.item = r.data.item || { item_id: id, title: id };
  renderMovie(movie.item);
  $('movie-title').focus({ preventScroll: false });
  await loadSimilar();
}

function currentMode() {
  const c = document.querySelector('input[name="mode"]:checked');
  return c ? c.value : 'blend';
}

async function loadSimilar() {
  if (!movie.id) return;
  const seq = ++movie.seq;
  const list = $('similar');
  list.setAttribute('aria-busy', 'true');
  const mode = currentMode();
  const r = await api.similarItems(movie.id, mode, Number($('k').value));
  if (seq !== movie.seq) return;
  list.removeAttribute('aria-busy');
  if (!r.ok) {
    showError(r.error);
    list.replaceChildren(el('li', 'empty', 'No answer: see the message above.'));
    return;
  }
  showError(null);
  list.dataset.mode = mode;
  renderResults(list, r.data, { empty: 'No similar movies known for this one.' });
  showAnswerStatus(`Similar (${mode})`, r);
}

// ------------------------------------------------------------ rating

const LABELS = ['', 'awful', 'poor', 'fine', 'good', 'great'];

function renderRating() {
  const given = movie.id ? visitor.ratings[movie.id] : null;
  const stars = $('stars');
  stars.replaceChildren();
  for (let s = 1; s <= 5; s++) {
    const b = el('button', 'star', given && given.rating >= s ? '★' : '☆');
    b.type = 'button';
    b.dataset.stars = String(s);
    b.setAttribute('aria-label', `${s} star${s === 1 ? '' : 's'} (${LABELS[s]})`);
    b.setAttribute('aria-pressed', given && given.rating === s ? 'true' : 'false');
    b.addEventListener('click', () => rate(s, 'EVENT_TYPE_RATING'));
    stars.append(b);
  }
  $('like').setAttribute('aria-pressed', given && given.type === 'EVENT_TYPE_LIKE' ? 'true' : 'false');
  $('dislike').setAttribute('aria-pressed', given && given.type === 'EVENT_TYPE_DISLIKE' ? 'true' : 'false');
}

async function rate(stars, type) {
  if (!movie.id) return;
  const it = movie.item;
  const msg = $('rate-msg');
  msg.textContent = 'Saving…';
  const r = await api.addFeedback(visitor.id, movie.id, type === 'EVENT_TYPE_RATING' ? stars : 0, type);
  if (!r.ok) {
    msg.textContent = 'Not saved.';
    showError(r.error);
    return;
  }
  showError(null);
  visitor.ratings[movie.id] = { title: titleOf(it), rating: type === 'EVENT_TYPE_RATING' ? stars : 0, type,
    at: Date.now() };
  saveVisitor();
  const did = (name) => (type === 'EVENT_TYPE_LIKE' ? `liked ${name}` : type === 'EVENT_TYPE_DISLIKE'
    ? `disliked ${name}` : `rated ${name} ${stars}★`);
  msg.textContent = `Saved: you ${did('it')}.`;
  renderRating();
  renderRated();
  await loadForYou(`after you ${did(titleOf(it))}`);
}

function renderRated() {
  const ul = $('rated');
  ul.replaceChildren();
  const entries = Object.entries(visitor.ratings).sort((a, b) => b[1].at - a[1].at);
  $('nrated').textContent = String(entries.length);
  for (const [id, g] of entries) {
    const li = el('li');
    const a = el('a', null, g.title);
    a.href = `#item=${encodeURIComponent(id)}`;
    const how = g.type === 'EVENT_TYPE_LIKE' ? 'liked' : g.type === 'EVENT_TYPE_DISLIKE' ? 'disliked'
      : `${'★'.repeat(g.rating)}`;
    li.append(a, el('span', 'how', ` ${how}`));
    ul.append(li);
  }
}

// ------------------------------------------------------------ for you

const forYou = { seq: 0, last: null };

async function loadForYou(reason) {
  const seq = ++forYou.seq;
  const r = await api.recommendUser(visitor.id, 8);
  if (seq !== forYou.seq) return;
  const list = $('foryou');
  if (!r.ok) {
    showError(r.error);
    list.replaceChildren(el('li', 'empty', 'No answer: see the message above.'));
    return;
  }
  showError(null);
  const ids = (r.data.items || []).map((it) => it.item_id);
  const fresh = new Set(forYou.last ? ids.filter((id) => !forYou.last.includes(id)) : []);
  renderResults(list, r.data, { fresh, empty: 'Nothing yet.' });
  const n = Object.keys(visitor.ratings).length;
  let note;
  if (!n) note = 'Popular with other viewers. Rate a movie and this list changes at once.';
  else if (r.data.fallback) note = `Popular with other viewers: no model had anything for you${r.data.degraded ? ' (see the banner above)' : ''}`;
  else note = `Personalised from your ${n} rating${n === 1 ? '' : 's'}`;
  if (reason && n) note += `, ${reason}: ${fresh.size} new.`;
  else if (n) note += '.';
  $('foryou-note').textContent = note;
  forYou.last = ids;
  showAnswerStatus('For you', r);
}

// ------------------------------------------------------------ a known user

async function loadUser(id) {
  $('user-id').value = id;
  const list = $('user-recs');
  const r = await api.recommendUser(id, 8);
  if (!r.ok) {
    showError(r.error);
    list.replaceChildren(el('li', 'empty', 'No answer: see the message above.'));
    return;
  }
  showError(null);
  renderResults(list, r.data, { empty: 'Nothing for this user.' });
  showAnswerStatus(`User ${id}`, r);
}

// ------------------------------------------------------------ routing

function go(hash) {
  if (location.hash === `#${hash}`) route();
  else location.hash = hash;
}

function route() {
  const h = new URLSearchParams(location.hash.replace(/^#/, ''));
  const item = h.get('item');
  const user = h.get('user');
  if (item) {
    openMovie(item);
  } else if (user) {
    loadUser(user);
  } else {
    $('intro').hidden = false;
    $('movie').hidden = true;
    movie.id = null;
    document.title = 'recsys: find a movie, see what is like it';
  }
}

function start() {
  $('visitor').textContent = visitor.id;
  saveVisitor();
  const q = $('q');
  q.addEventListener('input', onSearchInput);
  q.addEventListener('keydown', onSearchKey);
  q.addEventListener('blur', () => setTimeout(closeSuggest, 100));
  document.querySelectorAll('input[name="mode"]').forEach((r) => r.addEventListener('change', loadSimilar));
  $('k').addEventListener('change', loadSimilar);
  $('like').addEventListener('click', () => rate(0, 'EVENT_TYPE_LIKE'));
  $('dislike').addEventListener('click', () => rate(0, 'EVENT_TYPE_DISLIKE'));
  $('forget').addEventListener('click', () => {
    try {
      localStorage.removeItem(STORE);
    } catch (e) {
      /* nothing stored */
    }
    visitor = loadVisitor();
    saveVisitor();
    $('visitor').textContent = visitor.id;
    forYou.last = null;
    renderRated();
    renderRating();
    loadForYou();
  });
  $('user-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('user-id').value.trim();
    if (id) go(`user=${encodeURIComponent(id)}`);
  });
  window.addEventListener('hashchange', route);
  document.addEventListener('keydown', (e) => {
    // "/" jumps to the search box, as on many sites
    if (e.key === '/' && document.activeElement !== q && !(e.target instanceof HTMLInputElement)) {
      e.preventDefault();
      q.focus();
    }
  });
  renderRated();
  $('status').textContent = 'Ready.';
  loadForYou();
  route();
}

start();
