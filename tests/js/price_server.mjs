// HTTPS price server for tests: serves canned answers on 127.0.0.1.
//   node price_server.mjs --cert srv.pem --key srv.key --routes routes.json
// routes.json: {"/path": {"status": 200, "body": "..."}}; other paths answer 404. A route
// with "gate": NAME and "gateSize": N holds its answers until N requests of routes of that
// gate are waiting at once, then answers them all: a client that fetches them one after
// the other is never answered.
// GET /_hits answers {"/path": requests so far}. Listens on a port chosen by the system
// and prints "port N" once listening.
import { readFileSync } from 'node:fs';
import https from 'node:https';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) throw new Error(`missing ${name}`);
  return args[i + 1];
};
const routes = JSON.parse(readFileSync(opt('--routes'), 'utf8'));
const hits = {};
const gates = {};

const server = https.createServer(
  { cert: readFileSync(opt('--cert')), key: readFileSync(opt('--key')) },
  (req, res) => {
    const path = req.url;
    if (path === '/_hits') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(hits));
      return;
    }
    hits[path] = (hits[path] || 0) + 1;
    const r = routes[path];
    if (r === undefined) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    const answer = () => {
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.body);
    };
    if (r.gate === undefined) {
      answer();
      return;
    }
    const waiting = (gates[r.gate] = gates[r.gate] || []);
    waiting.push(answer);
    req.on('close', () => {
      const i = waiting.indexOf(answer);
      if (i >= 0) waiting.splice(i, 1);
    });
    if (waiting.length >= r.gateSize) waiting.splice(0).forEach((f) => f());
  });
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`port ${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
