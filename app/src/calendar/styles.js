// The calendar screen's stylesheet, added to the document once. It lives in the module (not in
// app.css) so the screen is self-contained; the status colours come from the one table in status.js.
import { STATUSES } from './status.js';

const STYLE_ID = 'mas-calendar-styles';

const statusRules = STATUSES.map((s) => `.ec-event.mas-status-${s.status}{border-left:4px solid ${s.border}}`).join('\n');

const CSS = `
.mas-calendar-screen{--mas-ink:#1d232b;--mas-muted:#4a5563;--mas-line:#c9d0d8;--mas-accent:#1a56db;--mas-danger:#a3212f;
  color:var(--mas-ink);max-width:100%;box-sizing:border-box}
.mas-heading{margin:0}
.mas-live{min-height:1.5em;margin:.25rem 0;font-weight:600;color:#0b3d79}
.mas-toolbar{display:flex;flex-direction:column;gap:.5rem;margin-bottom:.5rem}
.mas-toolbar-row{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem}
.mas-toolbar-end{margin-left:auto;display:flex;gap:.5rem}
.mas-title{font-size:1.1rem;margin:0;min-width:10ch}
.mas-zone{margin:0;color:var(--mas-muted)}
.mas-nav,.mas-segmented{display:inline-flex;gap:.25rem;align-items:center;flex-wrap:wrap}
.mas-button{font:inherit;min-height:2.25rem;padding:.3rem .8rem;border:1px solid #8792a0;border-radius:6px;background:#fff;color:var(--mas-ink);cursor:pointer}
.mas-button:hover{background:#f1f4f8}
.mas-button[aria-pressed=true]{background:#1d232b;color:#fff;border-color:#1d232b}
.mas-primary{background:var(--mas-accent);border-color:var(--mas-accent);color:#fff}
.mas-primary:hover{background:#1546b0}
.mas-danger{background:#fff;border-color:var(--mas-danger);color:var(--mas-danger)}
.mas-button:disabled{opacity:.6;cursor:progress}
.mas-button:focus-visible,.mas-calendar-screen select:focus-visible,.mas-calendar-screen input:focus-visible,.mas-dialog :focus-visible,
.mas-calendar-screen .ec-event:focus-visible{outline:3px solid var(--mas-accent);outline-offset:2px}
.mas-field{display:flex;flex-direction:column;gap:.2rem;font-weight:600;font-size:.9rem}
.mas-row>.mas-field{flex:1 1 12rem}
.mas-field.mas-inline{flex-direction:row;align-items:center;gap:.5rem;flex:0 0 auto}
.mas-field input,.mas-field select,.mas-field textarea{font:inherit;font-weight:400;padding:.35rem .5rem;border:1px solid #8792a0;border-radius:6px;min-height:2.25rem;box-sizing:border-box;max-width:100%}
.mas-check{display:inline-flex;gap:.4rem;align-items:center}
.mas-hint{color:var(--mas-muted);font-weight:400;font-size:.9em}
.mas-grid{border:1px solid var(--mas-line);border-radius:6px;overflow:hidden;background:#fff}
.mas-grid .ec-toolbar{display:none}
.mas-calendar-screen .ec{--ec-today-bg-color:#fffbea;--ec-bg-event-opacity:1}
.mas-calendar-screen .ec-event{cursor:pointer;font-size:.8rem;line-height:1.25}
.mas-calendar-screen .ec-event-body{display:flex;flex-flow:row wrap;align-content:flex-start;column-gap:.4em;overflow:hidden}
.mas-card-time{font-weight:600;font-variant-numeric:tabular-nums}
.mas-card-client{font-weight:700;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.mas-card-service{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.mas-calendar-screen .ec-col-head span{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.mas-hold{font-style:italic}
.mas-card-visit{display:block;font-size:.85em}
.mas-visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
${statusRules}
.ec-event.mas-status-cancelled .mas-card-client,.ec-event.mas-status-no_show .mas-card-client{text-decoration:line-through}
.mas-calendar-screen .ec-bg-event.mas-shade-time-off{background:repeating-linear-gradient(135deg,#eceff3 0 6px,#dfe3e9 6px 12px)}
.mas-calendar-screen .ec-bg-event.mas-shade-closure{background:repeating-linear-gradient(135deg,#e3e6ea 0 6px,#cfd4db 6px 12px)}
.mas-shade-label{display:block;padding:2px 4px;font-size:.75rem;color:#303a46;font-weight:600}
.mas-legend{display:flex;flex-wrap:wrap;gap:.35rem 1rem;list-style:none;padding:0;margin:.75rem 0 0;font-size:.85rem}
.mas-legend li{display:inline-flex;align-items:center;gap:.35rem}
.mas-swatch{display:inline-block;width:1rem;height:1rem;border:2px solid #888;border-radius:3px}
.mas-swatch-time-off{background:repeating-linear-gradient(135deg,#eceff3 0 3px,#dfe3e9 3px 6px);border-color:#aab2bd}
.mas-swatch-closure{background:repeating-linear-gradient(135deg,#e3e6ea 0 3px,#cfd4db 3px 6px);border-color:#8792a0}
.mas-dialog{border:none;border-radius:10px;padding:1rem 1.25rem;width:min(34rem,calc(100vw - 1.5rem));max-height:calc(100vh - 2rem);box-sizing:border-box;box-shadow:0 10px 40px rgba(0,0,0,.3);color:var(--mas-ink,#1d232b)}
.mas-dialog-wide{width:min(46rem,calc(100vw - 1.5rem))}
.mas-dialog::backdrop{background:rgba(16,22,30,.45)}
.mas-dialog-head{display:flex;justify-content:space-between;align-items:center;gap:1rem}
.mas-dialog-head h2{margin:0;font-size:1.2rem}
.mas-icon-button{font:inherit;font-size:1.5rem;line-height:1;width:2.25rem;height:2.25rem;border:1px solid transparent;border-radius:6px;background:none;cursor:pointer}
.mas-form{display:flex;flex-direction:column;gap:.75rem;margin-top:.75rem}
.mas-row{display:flex;flex-wrap:wrap;gap:.75rem}
.mas-fieldset{border:1px solid var(--mas-line,#c9d0d8);border-radius:8px;padding:.5rem .75rem .75rem;display:flex;flex-direction:column;gap:.5rem;margin:0;min-width:0}
.mas-fieldset legend{font-weight:700;padding:0 .25rem}
.mas-results{display:flex;flex-direction:column;gap:.25rem;max-height:12rem;overflow:auto}
.mas-result{display:flex;gap:.5rem;align-items:baseline;flex-wrap:wrap;padding:.25rem;border-radius:4px}
.mas-result:hover{background:#f1f4f8}
.mas-chosen{margin:0;font-weight:600}
.mas-yesno{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
.mas-yesno>span{flex:1 1 18rem}
.mas-actions{display:flex;justify-content:flex-end;gap:.5rem;flex-wrap:wrap;margin-top:.5rem}
.mas-dialog .mas-actions{position:sticky;bottom:0;background:#fff;padding:.5rem 0}
.mas-actions-start{justify-content:flex-start}
.mas-problem{color:var(--mas-danger,#a3212f);font-weight:600}
.mas-problem p{margin:.25rem 0}
.mas-fee{background:#f4f6f9;border-radius:6px;padding:.5rem .75rem}
.mas-fee p{margin:.25rem 0}
.mas-details{display:grid;gap:.4rem;margin:.75rem 0}
.mas-details div{display:grid;grid-template-columns:7.5rem 1fr;gap:.5rem}
.mas-details dt{font-weight:700}
.mas-details dd{margin:0}
.mas-badge{display:inline-block;padding:.1rem .5rem;border:1px solid;border-radius:999px;font-weight:700;font-size:.85rem}
.mas-empty{padding:1rem;border:1px dashed var(--mas-line);border-radius:6px}
@media (max-width:700px){
  .mas-toolbar-end{margin-left:0}
  .mas-details div{grid-template-columns:1fr}
}`;

export function installStyles() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  document.head.append(style);
}
