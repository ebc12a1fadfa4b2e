// The academy (#/academy): courses (a draft with one first module and lesson here; the API takes
// any number), publishing a draft as a version that never changes, cohorts of a published course
// (dates, seats, an educator from the team), and a cohort's roster with the desk's enrolment and
// cancellations; its gradebook (students × quizzes, lessons completed); its practical logbook
// (each student's sign-offs against the course's competencies, and a form to sign one off), and
// the clinic's certificates with revocation. Educators see only the cohorts they teach and sign
// off their students; owners and managers manage courses, cohorts and certificates; the front
// desk enrols at the desk.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../api.js';
import { can } from '../permissions.js';
import { useLoad } from '../ui/async.js';
import { Loaded, PageTitle } from '../ui/bits.js';
import { Field, FormMessage, useForm } from '../ui/form.js';
import { ScrollTable } from '../ui/scroll-table.js';
import { label, money, toMinor } from '../format.js';

export function Academy({ me }) {
  const [round, setRound] = useState(0);
  const [cohort, setCohort] = useState('');
  const [book, setBook] = useState('');
  const [logbook, setLogbook] = useState('');
  const changed = () => setRound(round + 1);
  const courses = useLoad(() => api.get('/v1/courses'), [round]);
  const cohorts = useLoad(() => api.get('/v1/cohorts'), [round]);
  // One of a cohort's panels at a time: opening one closes the others.
  const show = (setter, ...others) => (id) => { others.forEach((other) => other('')); setter(id); };
  return html`<section class="academy">
    <${PageTitle} sub="Courses, their published versions, cohorts, rosters, practical sign-off and certificates.">Academy</${PageTitle}>
    <${Loaded} state=${courses} what="Loading courses">${(list) => html`
      <${Courses} me=${me} courses=${list} onDone=${changed} />
      ${can(me, 'academy_manage') && html`<${NewCourse} onDone=${changed} />`}
      <${Loaded} state=${cohorts} what="Loading cohorts">${(all) => html`
        <${Cohorts} cohorts=${all} courses=${list} onRoster=${show(setCohort, setLogbook, setBook)} onLogbook=${show(setLogbook, setCohort, setBook)} onGradebook=${show(setBook, setCohort, setLogbook)} />
        ${can(me, 'academy_manage') && list.some((c) => c.published_version) && html`<${NewCohort} courses=${list} onDone=${changed} />`}
        ${cohort && html`<${Roster} me=${me} cohort=${all.find((c) => c.id === cohort)} key=${cohort} onDone=${changed} />`}
        ${book && html`<${Gradebook} cohort=${all.find((c) => c.id === book)} key=${book} />`}
        ${logbook && html`<${Logbook} me=${me} cohort=${all.find((c) => c.id === logbook)} key=${logbook} onDone=${changed} />`}`}</${Loaded}>`}</${Loaded}>
    ${can(me, 'academy_manage') && html`<${Certificates} round=${round} />`}
  </section>`;
}

function Courses({ me, courses, onDone }) {
  const [error, setError] = useState(null);
  const publish = async (id) => {
    setError(null);
    try {
      await api.post(`/v1/courses/${id}/publish`);
      onDone();
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<section class="card" aria-labelledby="h-courses">
    <h2 id="h-courses">Courses</h2>
    ${courses.length === 0 ? html`<p class="muted">No courses yet.</p>` : html`<${ScrollTable} label="Courses"><table id="academy-courses">
      <thead><tr><th scope="col">Course</th><th scope="col">Price</th><th scope="col">CPD hours</th><th scope="col">Published</th><th scope="col"></th></tr></thead>
      <tbody>${courses.map((c) => html`<tr data-slug=${c.slug}>
        <th scope="row">${c.title}</th><td>${money({ amount_minor: c.price_minor })}</td><td>${c.cpd_hours}</td>
        <td data-published>${c.published_version ? `Version ${c.published_version}` : 'Draft only'}</td>
        <td>${can(me, 'academy_manage') && html`<button type="button" class="link-button" onClick=${() => publish(c.id)}>Publish the draft</button>`}</td>
      </tr>`)}</tbody></table></${ScrollTable}>`}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </section>`;
}

function NewCourse({ onDone }) {
  const blank = { title: '', slug: '', price: '', cpd_hours: '0', summary: '', module: '', lesson: '', body: '', competency: '', required: '1' };
  const form = useForm(blank);
  const [done, setDone] = useState(null);
  const send = (event) => form.submit(async (v) => {
    const body = {
      title: v.title.trim(), slug: v.slug.trim(), summary: v.summary.trim(), cpd_hours: Number(v.cpd_hours),
      price_minor: toMinor(v.price || '0') ?? -1,
      modules: [{ title: v.module.trim(), lessons: [{ title: v.lesson.trim(), body: v.body }] }],
      competencies: v.competency.trim() ? [{ name: v.competency.trim(), required: Number(v.required) }] : [],
    };
    const course = await api.post('/v1/courses', body);
    setDone(`${course.title} is a draft: publish it to run a cohort.`);
    form.setValues(blank);
    onDone();
  }, event);
  return html`<details class="card">
    <summary>Add a course</summary>
    <form novalidate onSubmit=${send}>
      <div class="row">
        <${Field} form=${form} name="title" label="Title" />
        <${Field} form=${form} name="slug" label="Address on the site (letters, digits, hyphens)" />
        <${Field} form=${form} name="price_minor" label="Price (0 for free)" inputmode="decimal" value=${form.values.price} onInput=${form.bind('price')} />
        <${Field} form=${form} name="cpd_hours" label="CPD hours" inputmode="numeric" />
      </div>
      <${Field} form=${form} name="summary" label="Summary" multiline />
      <div class="row">
        <${Field} form=${form} name="modules[0].title" label="First module" value=${form.values.module} onInput=${form.bind('module')} />
        <${Field} form=${form} name="modules[0].lessons[0].title" label="First lesson" value=${form.values.lesson} onInput=${form.bind('lesson')} />
      </div>
      <${Field} form=${form} name="modules[0].lessons[0].body" label="Lesson text (# heading, - list, **bold**, *italic*)" multiline
        value=${form.values.body} onInput=${form.bind('body')} />
      <div class="row">
        <${Field} form=${form} name="competencies[0].name" label="Practical competency (optional)" value=${form.values.competency} onInput=${form.bind('competency')} />
        <${Field} form=${form} name="competencies[0].required" label="Times to sign off" inputmode="numeric" value=${form.values.required} onInput=${form.bind('required')} />
      </div>
      <${FormMessage} form=${form} />
      ${done && html`<p class="notice" role="status">${done}</p>`}
      <button type="submit" disabled=${form.busy}>Add the course</button>
    </form>
  </details>`;
}

function Cohorts({ cohorts, courses, onRoster, onLogbook, onGradebook }) {
  const title = (id) => courses.find((c) => c.id === id)?.title || id;
  return html`<section class="card" aria-labelledby="h-cohorts">
    <h2 id="h-cohorts">Cohorts</h2>
    ${cohorts.length === 0 ? html`<p class="muted">No cohorts.</p>` : html`<${ScrollTable} label="Cohorts"><table id="academy-cohorts">
      <thead><tr><th scope="col">Course</th><th scope="col">Dates</th><th scope="col">Seats left</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
      <tbody>${cohorts.map((c) => html`<tr data-cohort=${c.id}>
        <th scope="row">${title(c.course_id)} (v${c.course_version})</th><td>${c.starts_on} – ${c.ends_on}</td>
        <td data-seats-left>${c.seats_left} of ${c.seats}</td><td>${label(c.status)}</td>
        <td><button type="button" class="link-button" onClick=${() => onRoster(c.id)}>Roster</button>${' · '}<button type="button" class="link-button" onClick=${() => onGradebook(c.id)}>Gradebook</button>${' · '}<button type="button" class="link-button" onClick=${() => onLogbook(c.id)}>Logbook</button></td>
      </tr>`)}</tbody></table></${ScrollTable}>`}
  </section>`;
}

function NewCohort({ courses, onDone }) {
  const published = courses.filter((c) => c.published_version);
  const team = useLoad(() => api.get('/v1/team'), []);
  const form = useForm({ course_id: published[0].id, starts_on: '', ends_on: '', seats: '8', educator_id: '' });
  const send = (event) => form.submit(async (v) => {
    await api.post('/v1/cohorts', { ...v, seats: Number(v.seats), ends_on: v.ends_on || v.starts_on });
    onDone();
  }, event);
  return html`<details class="card">
    <summary>Run a cohort</summary>
    <${Loaded} state=${team} what="Loading the team">${(members) => html`<form novalidate onSubmit=${send}>
      <div class="row">
        <${Field} form=${form} name="course_id" label="Course" options=${published.map((c) => ({ value: c.id, label: `${c.title} (v${c.published_version})` }))} />
        <${Field} form=${form} name="starts_on" label="Starts" type="date" />
        <${Field} form=${form} name="ends_on" label="Ends" type="date" />
        <${Field} form=${form} name="seats" label="Seats" inputmode="numeric" />
        <${Field} form=${form} name="educator_id" label="Educator" options=${[{ value: '', label: 'Choose…' }, ...members.map((m) => ({ value: m.id, label: m.name }))]} />
      </div>
      <${FormMessage} form=${form} />
      <button type="submit" disabled=${form.busy}>Add the cohort</button>
    </form>`}</${Loaded}>
  </details>`;
}

function Roster({ me, cohort, onDone }) {
  const [round, setRound] = useState(0);
  const list = useLoad(() => api.get(`/v1/cohorts/${cohort.id}/enrolments`), [cohort.id, round]);
  const form = useForm({ name: '', email: '' });
  const changed = () => { setRound(round + 1); onDone(); };
  const enrol = (event) => form.submit(async (v) => {
    await api.post(`/v1/cohorts/${cohort.id}/enrolments`, { name: v.name.trim(), email: v.email.trim() });
    form.setValues({ name: '', email: '' });
    changed();
  }, event);
  const cancel = async (id) => {
    await api.post(`/v1/cohorts/${cohort.id}/enrolments/${id}/cancel`);
    changed();
  };
  return html`<section class="card" aria-labelledby="h-roster">
    <h2 id="h-roster">Roster: ${cohort.starts_on}</h2>
    <${Loaded} state=${list} what="Loading the roster">${(rows) => (rows.length === 0 ? html`<p class="muted">Nobody has enrolled yet.</p>`
      : html`<${ScrollTable} label="Roster"><table id="academy-roster">
        <thead><tr><th scope="col">Student</th><th scope="col">Email</th><th scope="col">Seat</th><th scope="col">Status</th><th scope="col">Paid</th><th scope="col"></th></tr></thead>
        <tbody>${rows.map((e) => html`<tr data-email=${e.student.email}>
          <th scope="row">${e.student.name}</th><td>${e.student.email}</td><td>${e.seat}</td><td data-status>${label(e.status)} (${label(e.via)})</td>
          <td>${money({ amount_minor: e.paid_minor, currency: e.currency })}</td>
          <td>${can(me, 'academy_manage') && e.status !== 'cancelled' && html`<button type="button" class="link-button" onClick=${() => cancel(e.id)}>Cancel</button>`}</td>
        </tr>`)}</tbody></table></${ScrollTable}>`)}</${Loaded}>
    ${can(me, 'academy_enrol') && html`<form novalidate onSubmit=${enrol}>
      <h3>Enrol at the desk</h3>
      <div class="row">
        <${Field} form=${form} name="name" label="Student's name" />
        <${Field} form=${form} name="email" label="Email" type="email" />
      </div>
      <${FormMessage} form=${form} />
      <button type="submit" disabled=${form.busy}>Enrol</button>
    </form>`}
  </section>`;
}

// A cohort's gradebook: each confirmed student against each quiz of its version (best score,
// attempts, passed) and the lessons completed; read-only (the server audits each read).
function Gradebook({ cohort }) {
  const book = useLoad(() => api.get(`/v1/cohorts/${cohort.id}/gradebook`), [cohort.id]);
  const score = (q, quiz) => (q.best_percent === null ? '—' : `${q.best_percent}%${q.passed ? ' passed' : ''}`)
    + ` (${q.attempts} of ${quiz.max_attempts})`;
  return html`<section class="card" aria-labelledby="h-gradebook">
    <h2 id="h-gradebook">Gradebook: ${cohort.starts_on}</h2>
    <${Loaded} state=${book} what="Loading the gradebook">${(b) => (b.students.length === 0 ? html`<p class="muted">No confirmed students yet.</p>`
      : html`<${ScrollTable} label="Gradebook"><table id="academy-gradebook">
        <thead><tr><th scope="col">Student</th><th scope="col">Lessons</th>${b.quizzes.map((q) => html`<th scope="col">${q.title} (pass ${q.pass_mark_percent}%)</th>`)}<th scope="col">Coursework</th></tr></thead>
        <tbody>${b.students.map((s) => html`<tr data-email=${s.email}>
          <th scope="row">${s.name}</th><td>${s.lessons_completed} of ${b.lessons_total}</td>
          ${s.quizzes.map((q, i) => html`<td>${score(q, b.quizzes[i])}</td>`)}
          <td>${s.coursework_done ? 'Done' : 'In progress'}</td>
        </tr>`)}</tbody></table></${ScrollTable}>`)}</${Loaded}>
  </section>`;
}

// A cohort's practical logbook: each confirmed student's count of "competent" sign-offs against
// each competency's requirement, their completion, and (owners, managers, the cohort's
// educator) a form to sign off one observed treatment. Entries are never edited: a mistake is
// corrected by a new entry.
function Logbook({ me, cohort, onDone }) {
  const [round, setRound] = useState(0);
  const book = useLoad(() => api.get(`/v1/cohorts/${cohort.id}/logbook`), [cohort.id, round]);
  // The device's own day (a sign-off dated after the clinic's today is refused).
  const today = new Date().toLocaleDateString('en-CA');
  const form = useForm({ enrolment_id: '', competency: '', performed_on: today, model: '', outcome: 'competent', notes: '' });
  const [done, setDone] = useState(null);
  const send = (event) => form.submit(async (v) => {
    const signed = await api.post(`/v1/cohorts/${cohort.id}/enrolments/${v.enrolment_id}/logbook`, {
      competency: v.competency, performed_on: v.performed_on, outcome: v.outcome, notes: v.notes.trim(),
      model: { kind: 'named', name: v.model.trim() },
    });
    setDone(signed.completed_at ? 'Signed off. Every requirement is met: the course is completed and its certificate is on its way.' : 'Signed off.');
    form.setValues({ ...v, model: '', notes: '' });
    setRound(round + 1);
    onDone();
  }, event);
  return html`<section class="card" aria-labelledby="h-logbook">
    <h2 id="h-logbook">Practical logbook: ${cohort.starts_on}</h2>
    <${Loaded} state=${book} what="Loading the logbook">${(students) => {
      const competencies = students[0]?.progress.map((p) => p.name) || [];
      if (students.length === 0) return html`<p class="muted">No confirmed students yet.</p>`;
      const choose = (list) => [{ value: '', label: 'Choose…' }, ...list];
      return html`<${ScrollTable} label="Logbook"><table id="academy-logbook">
        <thead><tr><th scope="col">Student</th>${competencies.map((c) => html`<th scope="col">${c}</th>`)}<th scope="col">Completed</th></tr></thead>
        <tbody>${students.map((s) => html`<tr data-enrolment=${s.enrolment_id}>
          <th scope="row">${s.student_name}</th>
          ${s.progress.map((p) => html`<td data-competency=${p.name}>${p.competent} of ${p.required}</td>`)}
          <td data-completed>${s.completed_at ? s.completed_at.slice(0, 10) : 'Not yet'}</td>
        </tr>`)}</tbody></table></${ScrollTable}>
        ${can(me, 'academy_sign_off') && competencies.length > 0 && html`<form novalidate onSubmit=${send} id="sign-off">
          <h3>Sign off a treatment</h3>
          <div class="row">
            <${Field} form=${form} name="enrolment_id" label="Student" options=${choose(students.map((s) => ({ value: s.enrolment_id, label: s.student_name })))} />
            <${Field} form=${form} name="competency" label="Competency" options=${choose(competencies.map((c) => ({ value: c, label: c })))} />
            <${Field} form=${form} name="performed_on" label="Performed on" type="date" />
          </div>
          <div class="row">
            <${Field} form=${form} name="model.name" label="Model" value=${form.values.model} onInput=${form.bind('model')} />
            <${Field} form=${form} name="outcome" label="Outcome" options=${[{ value: 'competent', label: 'Competent' }, { value: 'not_yet', label: 'Not yet' }]} />
          </div>
          <${Field} form=${form} name="notes" label="Notes" multiline />
          <${FormMessage} form=${form} />
          ${done && html`<p class="notice" role="status">${done}</p>`}
          <button type="submit" disabled=${form.busy}>Sign off</button>
        </form>`}`;
    }}</${Loaded}>
  </section>`;
}

// The clinic's certificates (owners and managers): each with its number, whether it stands,
// and revocation (its bit in the clinic's status list is set; the public page then says revoked).
function Certificates({ round }) {
  const [mine, setMine] = useState(0);
  const list = useLoad(() => api.get('/v1/certificates'), [round, mine]);
  const [error, setError] = useState(null);
  const revoke = async (number) => {
    setError(null);
    try {
      await api.post(`/v1/certificates/${number}/revoke`);
      setMine(mine + 1);
    } catch (err) {
      setError(err.message || String(err));
    }
  };
  return html`<section class="card" aria-labelledby="h-certificates">
    <h2 id="h-certificates">Certificates</h2>
    <${Loaded} state=${list} what="Loading certificates">${(rows) => (rows.length === 0 ? html`<p class="muted">No certificates issued yet.</p>`
      : html`<${ScrollTable} label="Certificates"><table id="academy-certificates">
        <thead><tr><th scope="col">Number</th><th scope="col">Student</th><th scope="col">Course</th><th scope="col">CPD hours</th><th scope="col">Issued</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
        <tbody>${rows.map((c) => html`<tr data-number=${c.number}>
          <th scope="row">${c.number}</th><td>${c.student_name}</td><td>${c.course_title}</td><td>${c.cpd_hours}</td>
          <td>${c.issued_at.slice(0, 10)}</td><td data-status>${c.revoked_at ? 'Revoked' : 'Valid'}</td>
          <td>${!c.revoked_at && html`<button type="button" class="link-button" onClick=${() => revoke(c.number)}>Revoke</button>`}</td>
        </tr>`)}</tbody></table></${ScrollTable}>`)}</${Loaded}>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </section>`;
}
