// api.js: the page's only way to the recommender: the gateway's public JSON
// API on the same origin (README "API"). Every call resolves (never throws)
// to {ok, status, data, ms, error}: error is a sentence fit for the page,
// made from the gateway's Twirp error body ({code, msg}) or from the network
// failure when nothing answered.

const TWIRP = '/twirp/recsys.v1.Recommender/';

async function request(method, url, body) {
  const t0 = performance.now();
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url, init);
  } catch (e) {
    return { ok: false, status: 0, data: null, ms: performance.now() - t0,
      error: `cannot reach the gateway (${e.message || e}): is it running?` };
  }
  let data = null;
  const text = await res.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  const ms = performance.now() - t0;
  if (!res.ok) {
    const code = data && data.code ? data.code : `HTTP ${res.status}`;
    const msg = data && data.msg ? data.msg : text.slice(0, 200);
    return { ok: false, status: res.status, data, ms, error: `the gateway answered ${code}: ${msg}` };
  }
  if (data === null)
    return { ok: false, status: res.status, data, ms, error: 'the gateway answered something that is not JSON' };
  return { ok: true, status: res.status, data, ms, error: null };
}

const q = (params) => new URLSearchParams(params).toString();

export function searchItems(query, k) {
  return request('GET', `/v1/items?${q({ q: query, k })}`);
}

export function getItem(id) {
  return request('GET', `/v1/items/${encodeURIComponent(id)}`);
}

export function similarItems(id, mode, k) {
  return request('GET', `/v1/items/${encodeURIComponent(id)}/similar?${q({ k, mode, explain: 'true' })}`);
}

export function recommendUser(userId, k) {
  return request('GET', `/v1/users/${encodeURIComponent(userId)}/recommendations?${q({ k, explain: 'true' })}`);
}

// One feedback event: a rating (0.5-5), or a LIKE / DISLIKE without one.
export function addFeedback(userId, itemId, rating, type) {
  const ev = { user_id: userId, item_id: itemId, rating, type, timestamp_ms: String(Date.now()) };
  return request('POST', `${TWIRP}AddFeedback`, { events: [ev] });
}
