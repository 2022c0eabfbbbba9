// `make demo-screenshots`: screenshots of the pop-up's pages for the README — the chooser of a
// branded app, a credentials form after an error, and an error page, in light and dark — in
// headless Chromium (playwright-core, /usr/bin/chromium or $CHROMIUM) against the server built by
// `make server`, written to docs/screenshots/.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { startApi, launchBrowser, root } from '../e2e/harness.mjs';

const out = join(root, 'docs/screenshots');
mkdirSync(out, { recursive: true });
// The basic service's check: every password is refused, so that the form shows its error.
const checker = createServer((req, res) => res.writeHead(401).end());
await new Promise((resolve) => checker.listen(0, '127.0.0.1', resolve));
const demo = ['box', 'dropbox', 'gdrive', 'salesforce', 'hubspot', 'google_calendar', 'outlook_calendar'];
const config = `[apps.branding]\nname = "Acme CRM"\nlogo_file = ${JSON.stringify(join(root, 'e2e/pages/acme-logo.svg'))}\n`
  + 'accent_color = "#0a7d5a"\nsupport_url = "https://acme.example/help"\n'
  + demo.map((id) => `[[providers]]\nid = "${id}"\nkind = "demo"\n`).join('')
  + '[[providers]]\nid = "intranet"\nkind = "basic"\nname = "Acme Intranet"\ncategory = "storage"\n'
  + 'hostname_pattern = "127.0.0.1:*"\ncheck_url = "http://{hostname}/me"\n';
const api = await startApi([{ client_id: 'demo', trusted_domains: ['localhost:8080'] }],
  { prelude: 'allow_private_upstreams = true\n', config });
const browser = await launchBrowser();
const url = (extra) => `${api.baseUrl}/v1/oauth?${new URLSearchParams({ client_id: 'demo', origin: 'http://localhost:8080',
  state: 's', request_id: 'r', response_type: 'token', redirect_uri: 'urn:ietf:wg:oauth:2.0:oob', ...extra })}`;
const pages = {
  chooser: async (page) => page.goto(url({})),
  form: async (page) => {
    await page.goto(url({ scope: 'intranet' }));
    await page.fill('#hostname', `127.0.0.1:${checker.address().port}`);
    await page.fill('#username', 'ann');
    await page.fill('#secret', 'not the password');
    await Promise.all([page.waitForNavigation(), page.click('[data-action="connect"]')]);
  },
  error: async (page) => page.goto(url({ origin: 'https://not-trusted.example' })),
};
try {
  for (const colorScheme of ['light', 'dark']) {
    for (const [name, show] of Object.entries(pages)) {
      const context = await browser.newContext({ colorScheme, viewport: { width: 520, height: 760 } });
      const page = await context.newPage();
      await show(page);
      const file = join(out, `${name}-${colorScheme}.png`);
      await page.screenshot({ path: file });
      console.log(file);
      await context.close();
    }
  }
} finally {
  await browser.close();
  await api.stop();
  checker.close();
}
