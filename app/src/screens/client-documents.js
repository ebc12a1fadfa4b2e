// A client's documents with their signature status; generate and send for signature where the
// role may (documents_write). Mounted only for documents_read.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded } from '../ui/bits.js';
import { StatusBadge } from '../ui/status.js';
import { DocumentActions } from '../ui/doc-actions.js';
import { GenerateDocumentForm } from '../forms/generate-document.js';
import { documentsOf, timelineOf } from '../documents-of.js';
import { dateTime } from '../format.js';
import { Panel } from './client-file.js';

export function ClientDocuments({ me, client, timeline }) {
  const [fresh, setFresh] = useState(0);
  const state = useLoad(async () => documentsOf(client.id, fresh ? await timelineOf(client.id) : timeline), [client.id, fresh]);
  const mayWrite = can(me, 'documents_write');
  const [adding, setAdding] = useState(false);
  return html`<${Panel} id="h-documents" title="Documents" wide>
    <${Loaded} state=${state}>${(docs) => (docs.length === 0 ? html`<p class="muted">No documents yet.</p>` : html`<ul class="plain-list docs">
      ${docs.map((d) => html`<li class="split">
        <span><strong>${d.content.title}</strong> · <${StatusBadge} status=${d.status} />
          ${d.signature && html`<span class="muted"> signed by ${d.signature.typed_name} on ${dateTime(d.signature.signed_at)}</span>`}</span>
        <${DocumentActions} doc=${d} canSend=${mayWrite} />
      </li>`)}
    </ul>`)}</${Loaded}>
    ${mayWrite && (adding
      ? html`<${GenerateDocumentForm} clientId=${client.id} onGenerated=${() => { setAdding(false); setFresh(fresh + 1); }} />`
      : html`<button type="button" class="secondary" onClick=${() => setAdding(true)}>Generate a document</button>`)}
  </${Panel}>`;
}
