// Reviews (#/reviews): what clients wrote after a completed visit, by status — the pending queue
// first — with publish (shown on the clinic's site, which is published again), reject (not shown;
// a published review is taken down) and a public reply; and whether completed visits send review
// requests at all. Owners and managers only (reviews_moderate).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { catalog } from '../lookups.js';
import { dateTime, label } from '../format.js';

const STATUSES = ['pending', 'published', 'rejected'];
const stars = (n) => '★'.repeat(n) + '☆'.repeat(5 - n);

export function Reviews() {
  const [status, setStatus] = useState('pending');
  const [round, setRound] = useState(0);
  const cat = useLoad(() => catalog(), []);
  const list = useLoad(() => api.get(`/v1/reviews?status=${status}`), [status, round]);
  const settings = useLoad(() => api.get('/v1/review-settings'), [round]);
  const [message, setMessage] = useState(null);
  const act = async (review, action) => {
    try {
      await api.post(`/v1/reviews/${review.id}/${action}`, {});
      setMessage(action === 'publish' ? 'Published: it is on your site.' : 'Rejected: it is not shown.');
      setRound(round + 1);
    } catch (err) {
      setMessage(err.message);
    }
  };
  const toggle = async (on) => {
    try {
      await api.put('/v1/review-settings', { send_requests: on });
      setRound(round + 1);
    } catch (err) {
      setMessage(err.message);
    }
  };
  const place = (id) => cat.data?.locations.get(id)?.name || '';
  return html`<section class="reviews">
    <${PageTitle} sub="After a completed visit the client is sent a one-time link to review it. Nothing appears on your site until you publish it.">Reviews</${PageTitle}>
    <section class="card" aria-labelledby="h-reviews-list">
      <h2 id="h-reviews-list">${label(status)} reviews</h2>
      <div class="filters" role="group" aria-label="Status">
        ${STATUSES.map((s) => html`<button type="button" class=${s === status ? 'primary' : ''} aria-pressed=${s === status} onClick=${() => { setStatus(s); setMessage(null); }}>${label(s)}</button>`)}
      </div>
      ${message && html`<p class="notice notice-info" role="status">${message}</p>`}
      <${Loaded} state=${list} what="Loading reviews">${(reviews) => (reviews.length === 0
        ? html`<p class="muted">No ${status} reviews.</p>`
        : html`<ul class="plain stack" id="reviews-list">${reviews.map((r) => html`<li class="card" data-review=${r.id}>
            <p><span aria-label=${`${r.rating} out of 5 stars`}>${stars(r.rating)}</span> <strong>${r.display_name}</strong> · ${r.service_name} · ${place(r.location_id)} · ${dateTime(r.submitted_at)}</p>
            <blockquote class="review-text">${r.text}</blockquote>
            ${r.reply && html`<p class="muted">Your reply: ${r.reply.text}</p>`}
            <p class="actions">
              ${r.status !== 'published' && html`<button type="button" class="primary" onClick=${() => act(r, 'publish')}>Publish</button>`}
              ${r.status !== 'rejected' && html` <button type="button" onClick=${() => act(r, 'reject')}>${r.status === 'published' ? 'Take down' : 'Reject'}</button>`}
            </p>
            <${ReplyForm} review=${r} onDone=${() => setRound(round + 1)} />
          </li>`)}</ul>`)}
      </${Loaded}>
    </section>
    <section class="card" aria-labelledby="h-reviews-settings">
      <h2 id="h-reviews-settings">Review requests</h2>
      <${Loaded} state=${settings} what="Loading settings">${(s) => html`<label class="check">
        <input type="checkbox" id="review-requests" checked=${s.send_requests} onChange=${(e) => toggle(e.currentTarget.checked)} />
        Send a review request when a visit is completed</label>`}
      </${Loaded}>
    </section>
  </section>`;
}

function ReplyForm({ review, onDone }) {
  const [text, setText] = useState(review.reply?.text || '');
  const [error, setError] = useState(null);
  const id = `reply-${review.id}`;
  const save = async (event) => {
    event.preventDefault();
    try {
      await api.put(`/v1/reviews/${review.id}/reply`, { text });
      setError(null);
      onDone();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<form novalidate onSubmit=${save} class="reply-form">
    <label for=${id}>Public reply</label>
    <textarea id=${id} rows="2" maxlength="1000" value=${text} onInput=${(e) => setText(e.currentTarget.value)}></textarea>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button type="submit">${review.reply ? 'Update reply' : 'Reply'}</button>
  </form>`;
}
