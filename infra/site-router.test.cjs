// Runs infra/site-router.js (the CloudFront Function) under node with a fake key-value store:
// `node infra/site-router.test.cjs` exits non-zero when a case fails.
const fs = require('node:fs');
const path = require('node:path');
const assert = require('node:assert/strict');

const source = fs.readFileSync(path.join(__dirname, 'site-router.js'), 'utf8');

function load(entries) {
  const kvs = {
    async get(key) {
      if (Object.prototype.hasOwnProperty.call(entries, key)) return entries[key];
      throw new Error('key not found'); // what CloudFront's get() does for a missing key
    },
  };
  const cf = { kvs: (id) => { assert.equal(id, 'kvs-id'); return kvs; } };
  const body = source
    .replace("import cf from 'cloudfront';", '')
    .replaceAll('${SiteDomain}', 'sites.example.com')
    .replaceAll('${SiteHosts.Id}', 'kvs-id');
  return new Function('cf', body + '\nreturn handler;')(cf);
}

function request(host, uri) {
  return { request: { method: 'GET', uri, headers: host ? { host: { value: host } } : {}, querystring: {} } };
}

const cases = [
  // [host, uri, expected uri or 404]
  ['glow.sites.example.com', '/', '/sites/glow/index.html'],
  ['GLOW.sites.example.com', '/book.html', '/sites/glow/book.html'],
  ['glow.sites.example.com', '/portal/', '/sites/glow/portal/index.html'],
  ['glow.sites.example.com', '/portal', 301],
  ['glow.sites.example.com', '/site.css', '/sites/glow/site.css'],
  ['www.glowclinic.co.uk', '/', '/sites/glow-clinic/index.html'],
  ['demo.sites.example.com', '/services.html', '/sites/demo-clinic/services.html'],
  ['sites.example.com', '/', 404],
  ['a.b.sites.example.com', '/', 404],
  ['-bad.sites.example.com', '/', 404],
  ['unknown.example.org', '/', 404],
  ['', '/', 404],
  ['glow.sites.example.com', '/../other/index.html', 404],
  ['glow.sites.example.com', '//x', 404],
];

(async () => {
  const handler = load({ 'www.glowclinic.co.uk': 'sites/glow-clinic', 'demo.sites.example.com': 'sites/demo-clinic' });
  let failed = 0;
  for (const [host, uri, want] of cases) {
    const got = await handler(request(host, uri));
    const outcome = got.statusCode ? got.statusCode : got.uri;
    try {
      assert.equal(outcome, want);
      console.log(`ok   ${host || '(no host)'} ${uri} -> ${outcome}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL ${host || '(no host)'} ${uri} -> ${outcome}, want ${want}`);
    }
  }
  if (failed) {
    console.error(`${failed} of ${cases.length} routing cases failed`);
    process.exit(1);
  }
  console.log(`all ${cases.length} routing cases pass`);
})();
