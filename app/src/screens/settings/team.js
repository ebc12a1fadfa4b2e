// The team: who works here, invitations (send, resend), role changes and removal.
import { useState } from 'preact/hooks';
import { html } from '../../html.js';
import { ScrollTable } from '../../ui/scroll-table.js';
import { api } from '../../api.js';
import { can, roleLabel } from '../../permissions.js';
import { useLoad } from '../../ui/async.js';
import { Loaded, Notice, ErrorText } from '../../ui/bits.js';
import { InviteForm, rolesFor } from '../../forms/invite.js';

export function Team({ me }) {
  const state = useLoad(() => api.get('/v1/team'));
  const [notice, setNotice] = useState(null);
  const [error, setError] = useState(null);
  const manage = can(me, 'team_write');
  const act = (fn, done) => async () => {
    setError(null);
    setNotice(null);
    try {
      await fn();
      setNotice(done);
      state.reload();
    } catch (err) {
      setError(err);
    }
  };
  const memberInput = (m, role) => ({ email: m.email, name: m.name, role, location_ids: m.location_ids || [], practitioner_id: m.practitioner_id || null });
  return html`<div>
    ${manage && html`<h3>Invite someone</h3><${InviteForm} me=${me} onInvited=${(m) => { setNotice(`Invitation sent to ${m.email}.`); state.reload(); }} />`}
    ${notice && html`<${Notice}>${notice}</${Notice}>`}
    <${ErrorText} error=${error} />
    <h3>Members</h3>
    <${Loaded} state=${state}>${(members) => html`<${ScrollTable} label="Team members"><table class="team">
      <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th>${manage && html`<th scope="col">Actions</th>`}</tr></thead>
      <tbody>${members.map((m) => {
        const self = m.id === me.member.id;
        return html`<tr>
          <td>${m.name}${self ? ' (you)' : ''}</td><td>${m.email}</td>
          <td>${manage && !self
            ? html`<select aria-label=${`Role of ${m.name}`} value=${m.role}
                onChange=${(e) => act(() => api.put(`/v1/team/${m.id}`, memberInput(m, e.currentTarget.value)), `${m.name} is now ${roleLabel(e.currentTarget.value)}.`)()}>
                ${rolesFor(me).concat(rolesFor(me).some((r) => r.value === m.role) ? [] : [{ value: m.role, label: roleLabel(m.role) }])
                  .map((r) => html`<option value=${r.value}>${r.label}</option>`)}
              </select>`
            : roleLabel(m.role)}</td>
          ${manage && html`<td class="row-actions">${!self && html`
            <button type="button" class="secondary small" onClick=${act(() => api.post(`/v1/team/${m.id}/invitation`), `Invitation sent again to ${m.email}.`)}>Resend invitation</button>
            <button type="button" class="danger small" onClick=${() => confirm(`Remove ${m.name}? Their sign-in stops working at once.`)
              && act(() => api.del(`/v1/team/${m.id}`), `${m.name} was removed.`)()}>Remove</button>`}</td>`}
        </tr>`;
      })}</tbody>
    </table></${ScrollTable}>`}</${Loaded}>
  </div>`;
}
