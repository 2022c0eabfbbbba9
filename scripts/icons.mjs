// Writes server/assets/icons.json: the provider logos the pop-up shows, from npm simple-icons
// (pinned in package.json; CC0-1.0, see node_modules/simple-icons/DISCLAIMER.md for the brands'
// guidelines). The server embeds the file at build time, so no logo is fetched at run time.
//
// The icons written are those the catalogue names (`icon = "<slug>"` in server/providers.toml)
// and EXTRA, for custom providers to name. A brand simple-icons no longer ships (it removes those
// whose owners ask) is left out and shows as a monogram: run `node scripts/icons.mjs` after an
// upgrade and commit the file.
import { readFileSync, writeFileSync } from 'node:fs';
import * as simpleIcons from 'simple-icons';

const EXTRA = [
  'airtable', 'asana', 'bitbucket', 'confluence', 'discord', 'evernote', 'gitlab', 'intercom',
  'jira', 'linear', 'mailchimp', 'notion', 'openid', 'quickbooks', 'shopify', 'stripe', 'trello',
  'xero', 'zendesk', 'zoho', 'zoom',
];
const root = new URL('..', import.meta.url);
const catalogue = readFileSync(new URL('server/providers.toml', root), 'utf8');
const named = [...catalogue.matchAll(/^icon\s*=\s*"([a-z0-9]+)"/gm)].map((m) => m[1]);
const bySlug = new Map(Object.values(simpleIcons).map((icon) => [icon.slug, icon]));
const missing = named.filter((slug) => !bySlug.has(slug));
if (missing.length) {
  console.error(`The catalogue names icons simple-icons does not ship: ${missing.join(', ')}`);
  process.exit(1);
}
const icons = {};
for (const slug of [...new Set([...named, ...EXTRA])].sort()) {
  const { title, hex, path } = bySlug.get(slug);
  icons[slug] = { title, hex, path };
}
const { version } = JSON.parse(readFileSync(new URL('node_modules/simple-icons/package.json', root), 'utf8'));
const file = { source: `simple-icons ${version} (CC0-1.0), written by scripts/icons.mjs`, icons };
writeFileSync(new URL('server/assets/icons.json', root), `${JSON.stringify(file, null, 1)}\n`);
console.log(`server/assets/icons.json: ${Object.keys(icons).length} icons from simple-icons ${version}`);
