// The apps' webhooks as a receiver meets them: a small HTTP server that verifies every delivery
// with the npm `standardwebhooks` package (as the README's receiver does), the server binary
// posting to it. An account connected in Chromium through the pop-up (a demo service) and then
// deleted with the app's API key arrives as `account.connected` then `account.deleted`, each
// once, signed; `GET /v1/events` lists the same events by the same ids; a tampered body and a
// timestamp an hour old fail verification.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startApp, startApi, launchBrowser, clickForPopup, connect, onlyResult, openApp, sleep } from './harness.mjs';

const key = 'e2e-app-api-key-0123456789abcdef';
const secret = `whsec_${randomBytes(32).toString('base64')}`;
let app, api, browser, receiver;
/** Every delivery: its headers, its body as sent, and the event as verified (null: refused). */
const deliveries = [];

/** The receiver: verifies each delivery, answers 204 when it verifies, 400 when not. */
function startReceiver() {
  const webhook = new Webhook(secret);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      let event = null;
      try { event = webhook.verify(body, req.headers); } catch { /* recorded as refused */ }
      deliveries.push({ headers: req.headers, body, event });
      res.writeHead(event ? 204 : 400).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(async () => {
  receiver = await startReceiver();
  app = await startApp();
  const webhook_url = `http://127.0.0.1:${receiver.address().port}/hook`;
  api = await startApi(
    [{ client_id: 'e2e', trusted_domains: [`localhost:${app.port}`], api_key: key, webhook_url, webhook_secret: secret }],
    // The receiver is on 127.0.0.1: the test allows private addresses explicitly.
    { prelude: 'allow_private_upstreams = true\n' },
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await api?.stop();
  app?.stop();
  receiver?.close();
});

/** Waits (up to 15 s) until the receiver has verified an event of `type` for the account `id`. */
async function received(type, id) {
  for (let i = 0; i < 150; i += 1) {
    const found = deliveries.find((d) => d.event?.type === type && d.event.account === id);
    if (found) return found;
    await sleep(100);
  }
  throw new Error(`no ${type} for ${id}: ${JSON.stringify(deliveries.map((d) => d.body))}`);
}

test('a connected then deleted account arrives as two signed events, once each, as GET /v1/events lists them', async () => {
  const { context, page } = await openApp(browser, app, api, 'box');
  const popup = await clickForPopup(page);
  await connect(popup, 'box', 'hooked@example.com');
  const { account } = await onlyResult(page);
  await context.close();
  const connected = await received('account.connected', account.id);
  assert.equal(connected.event.metadata.account, 'hooked@example.com');
  assert.equal(connected.event.app, 'e2e');
  const deleted = await fetch(`${api.baseUrl}/v1/accounts/${account.id}/`, { method: 'DELETE', headers: { authorization: `APIKey ${key}` } });
  assert.equal(deleted.status, 204);
  const gone = await received('account.deleted', account.id);
  await sleep(1500);
  assert.deepEqual(deliveries.map((d) => d.event?.type), ['account.connected', 'account.deleted'], 'each once, in order');
  const ids = deliveries.map((d) => d.headers['webhook-id']);
  assert.deepEqual(ids, [connected, gone].map((d) => String(d.event.id)));
  const listed = await (await fetch(`${api.baseUrl}/v1/events?after=0`, { headers: { authorization: `APIKey ${key}` } })).json();
  assert.deepEqual(listed.objects.map((e) => String(e.id)), ids);
  assert.deepEqual(listed.objects, [connected.event, gone.event], 'the same JSON as delivered');
});

test('a tampered body or an old timestamp fails verification', async () => {
  const delivered = deliveries.find((d) => d.event);
  assert.ok(delivered, 'the test before made a delivery');
  const { headers, body } = delivered;
  const webhook = new Webhook(secret);
  assert.ok(webhook.verify(body, headers), 'the delivery as sent verifies');
  const tampered = body.replace('"account.', '"account.x');
  assert.notEqual(tampered, body);
  assert.throws(() => webhook.verify(tampered, headers), /signature/i);
  // Signed correctly, an hour ago: a replay outside the tolerance.
  const hourAgo = new Date(Date.now() - 3600 * 1000);
  const old = { ...headers, 'webhook-timestamp': String(Math.floor(hourAgo / 1000)),
    'webhook-signature': webhook.sign(headers['webhook-id'], hourAgo, body) };
  assert.throws(() => webhook.verify(body, old), /timestamp/i);
});
