// The review page (review.html): the visit's one-time link carries its token after `#review=`
// (never sent to a server as part of the address); the rating, the words and the name to show
// are posted with it to the public reviews route. Plain DOM.
(() => {
  'use strict';
  const $ = (sel) => document.querySelector(sel);
  const form = $('#form-review');
  if (!form) return;
  const base = document.body.dataset.api || '';
  const slug = document.body.dataset.slug;
  const token = new URLSearchParams(location.hash.slice(1)).get('review');
  if (!token) {
    form.hidden = true;
    $('#rv-nolink').hidden = false;
    return;
  }
  const fail = (message) => {
    const box = $('#review-error');
    box.textContent = message;
    box.hidden = false;
    box.setAttribute('role', 'alert');
    box.focus();
  };
  const told = {
    link_used: 'This link was used already: your review reached us. Thank you!',
    link_expired: 'This link has expired. You can still tell the clinic how it went.',
    not_found: 'This link is not valid. Please use the link from our email or text.',
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const rating = form.querySelector('input[name="rating"]:checked');
    const text = form.elements.text.value.trim();
    if (!rating) return fail('Please choose a rating.');
    if (!text) return fail('Please write a few words.');
    const body = { token, rating: Number(rating.value), text };
    const name = form.elements.display_name.value.trim();
    if (name) body.display_name = name;
    const res = await fetch(`${base}/v1/public/${encodeURIComponent(slug)}/reviews`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    }).catch(() => null);
    if (!res) return fail('We could not reach the clinic. Please try again.');
    const answer = await res.json().catch(() => ({}));
    if (!res.ok) {
      const err = answer.error || {};
      return fail(told[err.code] || err.message || res.statusText);
    }
    const done = document.createElement('p');
    done.id = 'review-done';
    done.textContent = `Thank you! Your review, as ${answer.display_name}, will appear once the clinic has read it.`;
    form.replaceWith(done);
    $('#rv-status').textContent = done.textContent;
    history.replaceState(null, '', location.pathname);
  });
})();
