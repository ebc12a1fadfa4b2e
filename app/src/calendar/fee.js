// The clinic's fee for changing a booking now, read before staff confirm a move, a cancel or a
// no-show (GET /v1/appointments/{id}/fee-preview).
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { formatMoney } from './money.js';
import { reasonOf } from './dialog.js';

export function useFeePreview(api, appointmentId, action) {
  const [state, setState] = useState({ preview: null, error: null, loading: !!action });
  useEffect(() => {
    if (!action) { setState({ preview: null, error: null, loading: false }); return undefined; }
    let current = true;
    setState({ preview: null, error: null, loading: true });
    api('GET', `/v1/appointments/${encodeURIComponent(appointmentId)}/fee-preview?action=${action}`)
      .then((preview) => current && setState({ preview, error: null, loading: false }))
      .catch((error) => current && setState({ preview: null, error: reasonOf(error), loading: false }));
    return () => { current = false; };
  }, [appointmentId, action]);
  return state;
}

export function FeeSummary({ state }) {
  if (state.loading) return html`<p class="mas-fee" role="status">Checking the clinic's fee…</p>`;
  if (state.error) return html`<p class="mas-fee" role="status">The fee could not be read: ${state.error}</p>`;
  const p = state.preview;
  if (!p) return null;
  const window = p.window_hours != null ? ` (${p.window_hours}-hour window)` : '';
  return html`
    <div class="mas-fee" role="status" data-testid="fee-preview">
      ${p.fee.amount_minor === 0
        ? html`<p>No fee under the clinic's policy${p.within_window ? window : ''}.</p>`
        : html`<p>Fee: <strong>${formatMoney(p.fee)}</strong>${p.within_window ? ` — inside the policy's window${window}` : ''}.</p>
          <p>Kept from the deposit: ${formatMoney(p.kept_from_deposit)}; refunded: ${formatMoney(p.refund)}; still owed: ${formatMoney(p.still_owed)}.</p>`}
      ${!p.allowed && html`<p class="mas-hint">The client could not do this online now; staff still may, and the fee applies.</p>`}
    </div>`;
}
