// Documents: the templates in force (the platform's and the clinic's own), a template's text,
// adapting one for the clinic (templates_write: rewording or removing its optional blocks),
// generating a document for a client (documents_write), and checking whether a PDF is an
// unaltered document of ours.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { api } from '../api.js';
import { can, roleLabel } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle, Notice } from '../ui/bits.js';
import { useForm, Field, FormMessage } from '../ui/form.js';
import { GenerateDocumentForm } from '../forms/generate-document.js';
import { ClientPicker } from '../forms/client-picker.js';
import { DocumentActions } from '../ui/doc-actions.js';
import { StatusBadge } from '../ui/status.js';
import { label, dayIn, dateTime } from '../format.js';
import { VerifyPdf } from './verify-pdf.js';

export function Documents({ me, route }) {
  if (route.parts[1] === 'templates' && route.parts[2]) return html`<${TemplateView} me=${me} id=${route.parts[2]} />`;
  return html`<section>
    <${PageTitle}>Documents</${PageTitle}>
    <div class="grid">
      <${Templates} />
      ${can(me, 'documents_write') && html`<${Generate} me=${me} />`}
      <${VerifyPdf} />
    </div>
  </section>`;
}

function Templates() {
  const state = useLoad(() => api.get('/v1/templates'));
  return html`<section class="card panel wide" aria-labelledby="h-templates">
    <h2 id="h-templates">Templates</h2>
    <${Loaded} state=${state}>${(list) => html`<${ScrollTable} label="Templates in force, scrollable"><table>
      <thead><tr><th scope="col">Title</th><th scope="col">Kind</th><th scope="col">Topic</th><th scope="col">Version</th><th scope="col">From</th><th scope="col">Owner</th></tr></thead>
      <tbody>${list.map((t) => html`<tr>
        <td><a href=${`#/documents/templates/${t.id}`}>${t.name}</a></td><td>${label(t.kind)}</td><td>${label(t.topic)}</td>
        <td>${t.version}</td><td>${t.effective_from}</td><td>${t.tenant_id ? 'Your clinic' : 'Platform'} · ${t.jurisdiction}</td>
      </tr>`)}</tbody>
    </table></${ScrollTable}>`}</${Loaded}>
  </section>`;
}

function TemplateView({ me, id }) {
  const state = useLoad(() => api.get(`/v1/templates/${id}`), [id]);
  return html`<${Loaded} state=${state}>${(t) => html`<section>
    <${PageTitle} sub=${`${label(t.kind)} · ${label(t.topic)} · version ${t.version} · ${t.jurisdiction} · ${t.tenant_id ? 'your clinic' : 'platform'}`}>${t.name}</${PageTitle}>
    <p><a href="#/documents">← Documents</a></p>
    ${can(me, 'templates_write') && html`<${CloneTemplate} template=${t} me=${me} />`}
    <article class="card template-text">
      ${t.blocks.map((b) => html`<section aria-labelledby=${`b-${b.key}`}>
        <h2 id=${`b-${b.key}`}>${b.title}${t.mandatory_blocks.includes(b.key) && html` <span class="badge">Required</span>`}</h2>
        ${String(b.body).split(/\n\s*\n/).map((p) => html`<p>${p}</p>`)}
      </section>`)}
    </article>
  </section>`}</${Loaded}>`;
}

/**
 * Publishes the clinic's own version based on this one (POST /v1/templates with `based_on` and
 * `blocks`, in order). Optional blocks can be reworded or removed; mandatory ones are shown
 * read-only and always sent, since the API refuses a version without them.
 */
function CloneTemplate({ template, me }) {
  const form = useForm({ name: template.name, version: template.tenant_id ? bump(template.version) : '1.0.0', effective_from: dayIn(me.tenant.timezone) });
  const [blocks, setBlocks] = useState(() => template.blocks.map((b) => ({ ...b, removed: false })));
  const [made, setMade] = useState(null);
  const change = (key, patch) => setBlocks((old) => old.map((b) => (b.key === key ? { ...b, ...patch } : b)));
  const kept = blocks.filter((b) => !b.removed);
  const submit = async (event) => {
    let aboutBlock = null;
    await form.submit(async (v) => {
      setMade(await api.post('/v1/templates', {
        kind: template.kind, jurisdiction: template.jurisdiction, topic: template.topic, name: v.name.trim(),
        version: v.version.trim(), effective_from: v.effective_from, based_on: template.id,
        blocks: kept.map(({ key, title, body }) => ({ key, title, body })),
      }).catch((err) => { aboutBlock = blockError(err, kept); throw err; }));
    }, event);
    if (aboutBlock) form.setMessage(aboutBlock);
  };
  return html`<details class="card">
    <summary>Use this template for your clinic</summary>
    <form novalidate onSubmit=${submit} class="template-editor">
      <p>Publishing is the approval: as the clinic's ${roleLabel(me.member.role).toLowerCase()} you approve this version under your name,
        and it is used for every ${label(template.kind).toLowerCase()} generated from ${form.values.effective_from || 'the day you choose'} on.
        A published version is never changed; to change the wording later, publish a new version, which supersedes it from its own day.</p>
      <div class="row">
        <${Field} form=${form} name="name" label="Title" required />
        <${Field} form=${form} name="version" label="Version" hint="e.g. 1.0.0" required />
        <${Field} form=${form} name="effective_from" label="In force from" type="date" required />
      </div>
      <h3>Blocks</h3>
      <p class="hint">Blocks marked Required stay word for word in every version. The others you can reword or remove.
        Paragraphs are separated by a blank line; placeholders such as {{client.name}} are filled in for each client.</p>
      <ol class="block-list">${blocks.map((b) => html`<li key=${b.key}>
        <${BlockEditor} form=${form} block=${b} at=${kept.indexOf(b)} required=${template.mandatory_blocks.includes(b.key)}
          original=${template.blocks.find((o) => o.key === b.key)} onChange=${(patch) => change(b.key, patch)} />
      </li>`)}</ol>
      <${FormMessage} form=${form} />
      ${made && html`<${Notice} kind="success">Approved and published: your clinic's version ${made.version}, in force from ${made.effective_from}.
        <a href=${`#/documents/templates/${made.id}`}>Open it</a></${Notice}>`}
      <button type="submit" class="primary" disabled=${form.busy}>Approve and publish</button>
    </form>
  </details>`;
}

/**
 * One block of the version being published. `at` is its index among the blocks sent, so an
 * API error naming `blocks[at].body` lands under its text.
 */
function BlockEditor({ form, block, at, required, original, onChange }) {
  // Removing or putting back swaps the button pressed for the other one: focus follows it, so
  // a keyboard user stays on the block instead of being dropped at the top of the page.
  const toggle = useRef(null);
  const toggled = useRef(false);
  useEffect(() => { if (toggled.current) toggle.current?.focus(); }, [block.removed]);
  const setRemoved = (removed) => () => { toggled.current = true; onChange({ removed }); };
  const legend = html`<legend>${original.title}${required && html` <span class="badge">Required</span>`}</legend>`;
  if (block.removed) {
    return html`<fieldset class="block-removed">${legend}
      <p class="muted">Removed: not in this version.</p>
      <div><button type="button" class="secondary" ref=${toggle} onClick=${setRemoved(false)}>Put back</button></div>
    </fieldset>`;
  }
  const edit = (field) => (event) => onChange({ [field]: event.currentTarget.value });
  return html`<fieldset>${legend}
    <${Field} form=${form} name=${`blocks[${at}].title`} label="Heading" value=${block.title} onInput=${edit('title')} readOnly=${required} />
    <${Field} form=${form} name=${`blocks[${at}].body`} label="Text" value=${block.body} onInput=${edit('body')} readOnly=${required} multiline />
    ${!required && html`<div><button type="button" class="secondary" ref=${toggle} onClick=${setRemoved(true)}>Remove block</button></div>`}
  </fieldset>`;
}

/**
 * The API names a block by its place in the request (`blocks[1].body: has a malformed…`). Under
 * the block's field the place is noise, so it is cut from `err`; the form's message, far from
 * the field, says which block instead (returned; null for an error about no block).
 */
function blockError(err, sent) {
  const [, at, part] = /^blocks\[(\d+)\]\.(title|body)$/.exec(err.field || '') || [];
  if (!sent[at] || !err.message.startsWith(`${err.field}: `)) return null;
  const problem = err.message.slice(err.field.length + 2);
  err.message = problem.charAt(0).toUpperCase() + problem.slice(1);
  return `${sent[at].title}, ${part === 'title' ? 'heading' : 'text'}: ${problem}`;
}

function bump(version) {
  const [major, minor] = String(version).split('.').map(Number);
  return `${major}.${(minor || 0) + 1}.0`;
}

function Generate({ me }) {
  const [client, setClient] = useState(null);
  const [made, setMade] = useState([]);
  return html`<section class="card panel" aria-labelledby="h-generate">
    <h2 id="h-generate">Generate for a client</h2>
    <${ClientPicker} onPick=${setClient} />
    ${client && html`<p>For <strong>${client.first_name} ${client.last_name}</strong></p>
      <${GenerateDocumentForm} clientId=${client.id} onGenerated=${(d) => setMade([d, ...made])} />`}
    ${made.length > 0 && html`<ul class="plain-list docs">${made.map((d) => html`<li class="split">
      <span><strong>${d.content.title}</strong> for ${d.client_name} · <${StatusBadge} status=${d.status} /> <span class="muted">${dateTime(d.created_at)}</span></span>
      <${DocumentActions} doc=${d} canSend=${can(me, 'documents_write')} />
    </li>`)}</ul>`}
  </section>`;
}
