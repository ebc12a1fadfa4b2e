// The academy (#/academy): courses (a draft with one first module and lesson here; the API takes
// any number), publishing a draft as a version that never changes, cohorts of a published course
// (dates, seats, an educator from the team), a cohort's roster with the desk's enrolment and
// cancellations, and its gradebook (students × quizzes, lessons completed). Educators see only
// the cohorts they teach; owners and managers manage courses and cohorts; the front desk enrols
// at the desk.
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
  const changed = () => setRound(round + 1);
  const courses = useLoad(() => api.get('/v1/courses'), [round]);
  const cohorts = useLoad(() => api.get('/v1/cohorts'), [round]);
  return html`<section class="academy">
    <${PageTitle} sub="Courses, their published versions, cohorts and rosters.">Academy</${PageTitle}>
    <${Loaded} state=${courses} what="Loading courses">${(list) => html`
      <${Courses} me=${me} courses=${list} onDone=${changed} />
      ${can(me, 'academy_manage') && html`<${NewCourse} onDone=${changed} />`}
      <${Loaded} state=${cohorts} what="Loading cohorts">${(all) => html`
        <${Cohorts} cohorts=${all} courses=${list} onRoster=${setCohort} onGradebook=${setBook} />
        ${can(me, 'academy_manage') && list.some((c) => c.published_version) && html`<${NewCohort} courses=${list} onDone=${changed} />`}
        ${cohort && html`<${Roster} me=${me} cohort=${all.find((c) => c.id === cohort)} key=${cohort} onDone=${changed} />`}
        ${book && html`<${Gradebook} cohort=${all.find((c) => c.id === book)} key=${book} />`}`}</${Loaded}>`}</${Loaded}>
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
  const form = useForm({ title: '', slug: '', price: '', cpd_hours: '0', summary: '', module: '', lesson: '', body: '' });
  const [done, setDone] = useState(null);
  const send = (event) => form.submit(async (v) => {
    const body = {
      title: v.title.trim(), slug: v.slug.trim(), summary: v.summary.trim(), cpd_hours: Number(v.cpd_hours),
      price_minor: toMinor(v.price || '0') ?? -1,
      modules: [{ title: v.module.trim(), lessons: [{ title: v.lesson.trim(), body: v.body }] }],
    };
    const course = await api.post('/v1/courses', body);
    setDone(`${course.title} is a draft: publish it to run a cohort.`);
    form.setValues({ title: '', slug: '', price: '', cpd_hours: '0', summary: '', module: '', lesson: '', body: '' });
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
      <${FormMessage} form=${form} />
      ${done && html`<p class="notice" role="status">${done}</p>`}
      <button type="submit" disabled=${form.busy}>Add the course</button>
    </form>
  </details>`;
}

function Cohorts({ cohorts, courses, onRoster, onGradebook }) {
  const title = (id) => courses.find((c) => c.id === id)?.title || id;
  return html`<section class="card" aria-labelledby="h-cohorts">
    <h2 id="h-cohorts">Cohorts</h2>
    ${cohorts.length === 0 ? html`<p class="muted">No cohorts.</p>` : html`<${ScrollTable} label="Cohorts"><table id="academy-cohorts">
      <thead><tr><th scope="col">Course</th><th scope="col">Dates</th><th scope="col">Seats left</th><th scope="col">Status</th><th scope="col"></th></tr></thead>
      <tbody>${cohorts.map((c) => html`<tr data-cohort=${c.id}>
        <th scope="row">${title(c.course_id)} (v${c.course_version})</th><td>${c.starts_on} – ${c.ends_on}</td>
        <td data-seats-left>${c.seats_left} of ${c.seats}</td><td>${label(c.status)}</td>
        <td><button type="button" class="link-button" onClick=${() => onRoster(c.id)}>Roster</button>
          <button type="button" class="link-button" onClick=${() => onGradebook(c.id)}>Gradebook</button></td>
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
