// grpc_smoke.js: the gateway's gRPC methods from Node with @grpc/grpc-js and
// @grpc/proto-loader, loading proto/ at run time (no generated code).
// Usage: node grpc_smoke.js PROTO_DIR HOST:PORT API_KEY
// Prints "ok - ..." per check; exits non-zero on the first failure.
'use strict';
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [protoDir, target, key] = process.argv.slice(2);
const opts = {includeDirs: [protoDir], keepCase: true, longs: String, enums: String, defaults: true};
const rec = grpc.loadPackageDefinition(loader.loadSync('recsys/v1/recommender.proto', opts)).recsys.v1;
const hl = grpc.loadPackageDefinition(loader.loadSync('grpc/health/v1/health.proto', opts)).grpc.health.v1;
const client = new rec.Recommender(target, grpc.credentials.createInsecure());
const health = new hl.Health(target, grpc.credentials.createInsecure());

function call(c, method, req, md) {
  return new Promise((resolve) => {
    c[method](req, md || new grpc.Metadata(), {deadline: Date.now() + 10000}, (err, res) => resolve({err, res}));
  });
}
function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exit(1);
}

(async () => {
  let r = await call(client, 'Recommend', {user_id: '1', k: 5, explain: true});
  if (r.err || r.res.items.length !== 5) fail('Recommend: ' + (r.err || JSON.stringify(r.res)));
  console.log('ok - Recommend: ' + r.res.items.map((i) => i.item_id).join(', '));
  r = await call(client, 'SimilarItems', {item_id: 'the-kid-1921', k: 3});
  if (r.err || r.res.items.length !== 3) fail('SimilarItems: ' + r.err);
  r = await call(client, 'Score', {user_id: '1', candidate_item_ids: ['alien-1979', 'the-kid-1921']});
  if (r.err || r.res.items.length !== 2) fail('Score: ' + r.err);
  r = await call(client, 'GetItem', {item_id: 'the-kid-1921'});
  if (r.err || r.res.item.item_id !== 'the-kid-1921') fail('GetItem: ' + r.err);
  r = await call(client, 'SearchItems', {query: 'god', k: 3});
  if (r.err || r.res.items.length === 0) fail('SearchItems: ' + r.err);
  console.log('ok - SimilarItems, Score, GetItem, SearchItems answer');
  r = await call(client, 'GetItem', {item_id: 'no-such-item'});
  if (!r.err || r.err.code !== grpc.status.NOT_FOUND) fail('GetItem unknown: ' + r.err);
  const fb = {events: [{user_id: 'node-u', item_id: 'the-kid-1921', rating: 5}]};
  r = await call(client, 'AddFeedback', fb);
  if (!r.err || r.err.code !== grpc.status.UNAUTHENTICATED) fail('AddFeedback without key: ' + r.err);
  const md = new grpc.Metadata();
  md.set('authorization', 'Bearer ' + key);
  r = await call(client, 'AddFeedback', fb, md);
  if (r.err || r.res.accepted !== 1) fail('AddFeedback with key: ' + r.err);
  console.log('ok - NOT_FOUND, UNAUTHENTICATED without the key, accepted with authorization metadata');
  const many = await Promise.all(Array.from({length: 100}, (_, i) => call(client, 'Recommend', {user_id: String(1 + i), k: 3})));
  if (many.some((x) => x.err)) fail('100 concurrent calls: ' + many.find((x) => x.err).err);
  console.log('ok - 100 concurrent Recommend calls on one channel');
  r = await call(health, 'Check', {service: ''});
  if (r.err || r.res.status !== 'SERVING') fail('health: ' + (r.err || r.res.status));
  console.log('ok - grpc.health.v1.Health/Check SERVING');
  client.close();
  health.close();
})();
