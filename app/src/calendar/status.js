// Appointment statuses: their names and colours (one table for the cards and the legend), and
// which actions each allows, mirroring shared/src/domain/appointment.rs `next_status`.

/** Background and text colours chosen for at least 4.5:1 contrast. */
export const STATUSES = [
  { status: 'pending_deposit', label: 'Held, awaiting deposit', background: '#fff4d6', text: '#6b4b00', border: '#b07d00' },
  { status: 'scheduled', label: 'Scheduled', background: '#dcecff', text: '#0b3d79', border: '#2f6fbf' },
  { status: 'checked_in', label: 'Checked in', background: '#e5dcff', text: '#3d1f8f', border: '#6a4cc7' },
  { status: 'in_progress', label: 'In progress', background: '#d8f3ec', text: '#0c4f3f', border: '#1f8a6f' },
  { status: 'completed', label: 'Completed', background: '#e8ebef', text: '#2e3742', border: '#7b8794' },
  { status: 'cancelled', label: 'Cancelled', background: '#fbe3e4', text: '#7a1d25', border: '#c4424f' },
  { status: 'no_show', label: 'No-show', background: '#f6e0f0', text: '#6e1a55', border: '#b54a95' },
];

const byStatus = new Map(STATUSES.map((s) => [s.status, s]));

export function statusStyle(status) {
  return byStatus.get(status) || { status, label: status, background: '#eee', text: '#222', border: '#888' };
}

/** The buttons of the drawer, in the order a visit goes. */
export const ACTIONS = [
  { action: 'check_in', label: 'Check in', from: ['scheduled'] },
  { action: 'start', label: 'Start treatment', from: ['checked_in'] },
  { action: 'complete', label: 'Complete', from: ['in_progress'] },
  { action: 'no_show', label: 'Mark no-show', from: ['scheduled'] },
  { action: 'cancel', label: 'Cancel booking', from: ['pending_deposit', 'scheduled', 'checked_in'] },
];

const MOVABLE = ['pending_deposit', 'scheduled'];

/** True when `me` may change this appointment at all (any booking, or their own as a practitioner). */
export function mayWrite(me, appointment) {
  const permissions = me.permissions || [];
  if (permissions.includes('booking_write')) return true;
  return permissions.includes('booking_write_own')
    && !!me.member.practitioner_id && me.member.practitioner_id === appointment.practitioner_id;
}

/** The actions `me` may take on this appointment now. */
export function allowedActions(me, appointment) {
  if (!mayWrite(me, appointment)) return [];
  return ACTIONS.filter((a) => a.from.includes(appointment.status));
}

export function mayMove(me, appointment) {
  return MOVABLE.includes(appointment.status) && mayWrite(me, appointment);
}

export const has = (me, permission) => (me.permissions || []).includes(permission);
