// Confirming a drag: where the booking would go, and the fee for moving it now.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { Dialog } from './dialog.js';
import { useFeePreview, FeeSummary } from './fee.js';
import { dateTimeIn } from './zone.js';

export function MoveDialog({ api, move, timeZone, onConfirm, onCancel }) {
  const fee = useFeePreview(api, move.appointment.id, 'reschedule');
  const [busy, setBusy] = useState(false);
  const confirm = async () => { setBusy(true); await onConfirm(); };
  return html`
    <${Dialog} title="Move this booking?" onClose=${onCancel}>
      <p>${move.clientName}, ${move.serviceName}</p>
      <p>From <strong>${dateTimeIn(move.appointment.start, timeZone)}</strong>
        to <strong>${dateTimeIn(move.newStart, timeZone)}</strong>${move.newPractitionerName ? html` with <strong>${move.newPractitionerName}</strong>` : ''}.</p>
      <${FeeSummary} state=${fee} />
      <div class="mas-actions">
        <button type="button" class="mas-button" onClick=${onCancel}>Keep it where it was</button>
        <button type="button" class="mas-button mas-primary" onClick=${confirm} disabled=${busy || fee.loading}>${busy ? 'Moving…' : 'Move booking'}</button>
      </div>
    <//>`;
}
