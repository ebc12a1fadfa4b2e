import cf from 'cloudfront';

// CloudFront Function (viewer-request, cloudfront-js-2.0) in front of the sites bucket: maps the
// request's host to the tenant's prefix and rewrites directory paths to index.html. The prefix is
// part of the rewritten URI, so it is part of the cache key: tenants never share cached files, and
// the publisher invalidates /sites/{slug}/*.
// ${SiteDomain} and ${SiteHosts.Id} are filled in by CloudFormation (!Sub in template.yaml, which
// must hold this file verbatim; tests/suite/template.rs checks it).
var SITE_DOMAIN = '${SiteDomain}';
var hosts = cf.kvs('${SiteHosts.Id}');
var LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function notFound() {
  return { statusCode: 404, statusDescription: 'Not Found', headers: { 'cache-control': { value: 'max-age=60' } } };
}

// The site prefix for a host: a custom domain (or a claimed subdomain that is not the slug) from
// the key-value store; otherwise {slug}.{SITE_DOMAIN} by rule.
async function prefixFor(host) {
  try {
    var stored = await hosts.get(host);
    if (stored) {
      return stored;
    }
  } catch (e) {
    // get() throws for a missing key: fall through to the rule.
  }
  var suffix = '.' + SITE_DOMAIN;
  if (host.length > suffix.length && host.endsWith(suffix)) {
    var label = host.slice(0, host.length - suffix.length);
    if (LABEL.test(label)) {
      return 'sites/' + label;
    }
  }
  return null;
}

async function handler(event) {
  var request = event.request;
  var host = request.headers.host ? request.headers.host.value.toLowerCase() : '';
  var prefix = await prefixFor(host);
  var uri = request.uri;
  if (!prefix || uri.indexOf('..') !== -1 || uri.indexOf('//') !== -1) {
    return notFound();
  }
  if (uri.endsWith('/')) {
    uri += 'index.html';
  } else if (uri.slice(uri.lastIndexOf('/') + 1).indexOf('.') === -1) {
    // A folder without its slash: redirect, so the page's relative links resolve inside it.
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: uri + '/' } } };
  }
  request.uri = '/' + prefix + uri;
  return request;
}
