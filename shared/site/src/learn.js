// The student's page (learn.html): sign-in by emailed link (its token travels in the URL fragment,
// so it never reaches a server log; the session lives in sessionStorage), then the student's
// courses: lessons to read and mark complete, and timed quizzes graded by the server. Plain DOM.
(() => {
  'use strict';
  const $ = (sel, el = document) => el.querySelector(sel);
  const box = $('#learn-courses');
  if (!box) return;
  const base = document.body.dataset.api || '';
  const slug = document.body.dataset.slug;
  const key = 'mas-learn-' + slug;
  const status = (text) => { $('#learn-status').textContent = text; };
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  async function call(method, path, body) {
    const headers = { 'content-type': 'application/json' };
    const session = sessionStorage.getItem(key);
    if (session) headers.authorization = 'Bearer ' + session;
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await res.json().catch(() => ({}));
    if (res.status === 401 && session) { sessionStorage.removeItem(key); show(); }
    if (!res.ok) throw new Error(answer.error ? answer.error.message : 'Something went wrong; please try again.');
    return answer;
  }
  const cohortPath = (e) => `/v1/learn/cohorts/${e.cohort_id}`;

  $('#learn-link').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await call('POST', `/v1/public/${slug}/learn/link`, { email: $('#learn-email').value.trim() });
      status('If that email is enrolled on a course, a sign-in link is on its way. Open it on this device.');
    } catch (err) { status(err.message); }
  });

  function lesson(e, m, l) {
    const item = el('li', { class: 'lesson' }, el('h4', { text: l.title }));
    if (!m.released) return item;
    const text = el('div', { class: 'lesson-text' });
    // The server escaped the author's text and added only its own few tags.
    text.innerHTML = l.body_html;
    item.append(text);
    if (l.completed) { item.append(el('p', { class: 'note', text: 'Completed' })); return item; }
    const button = el('button', { type: 'button', class: 'button', text: 'Mark complete' });
    button.addEventListener('click', async () => {
      try {
        await call('POST', `${cohortPath(e)}/lessons/${m.number}/${l.number}/complete`);
        status(`“${l.title}” completed.`);
        load();
      } catch (err) { status(err.message); }
    });
    item.append(el('p', { class: 'actions' }, button));
    return item;
  }

  function question(q) {
    const name = 'q' + q.number;
    const wrap = el('fieldset', { class: 'question', 'data-kind': q.kind, 'data-number': q.number },
      el('legend', { text: `${q.prompt} (${q.points} point${q.points === 1 ? '' : 's'})` }));
    if (q.kind === 'single_choice' || q.kind === 'multiple_choice') {
      const type = q.kind === 'single_choice' ? 'radio' : 'checkbox';
      q.options.forEach((option, i) => {
        const id = `${name}-${i}`;
        wrap.append(el('div', { class: 'choice' }, el('input', { type, id, name, value: String(i) }), el('label', { for: id, text: option })));
      });
    } else {
      const id = name + '-answer';
      wrap.append(el('label', { for: id, text: 'Your answer' }),
        el('input', { id, name, type: q.kind === 'numeric' ? 'number' : 'text', step: 'any' }));
    }
    return wrap;
  }

  function answers(form) {
    const out = [];
    for (const set of form.querySelectorAll('fieldset.question')) {
      const number = Number(set.dataset.number);
      const inputs = [...set.querySelectorAll('input')];
      const chosen = inputs.filter((i) => i.checked).map((i) => Number(i.value));
      const typed = inputs[0].value.trim();
      if (set.dataset.kind === 'single_choice' && chosen.length) out.push({ question: number, value: { choice: chosen[0] } });
      if (set.dataset.kind === 'multiple_choice' && chosen.length) out.push({ question: number, value: { choices: chosen } });
      if (set.dataset.kind === 'numeric' && typed !== '') out.push({ question: number, value: { number: Number(typed) } });
      if (set.dataset.kind === 'short_text' && typed !== '') out.push({ question: number, value: { text: typed } });
    }
    return out;
  }

  function attempt(e, quiz, a, place) {
    const clock = el('p', { class: 'timer', role: 'timer' });
    const form = el('form', { class: 'attempt', novalidate: '' }, clock, ...a.questions.map(question),
      el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'button', text: 'Submit answers' })));
    const tick = () => {
      const left = Math.max(0, Math.round((new Date(a.deadline) - Date.now()) / 1000));
      clock.textContent = `Time left: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}`;
    };
    tick();
    const timer = setInterval(tick, 1000);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const done = await call('POST', `${cohortPath(e)}/quizzes/${quiz.id}/attempts/${a.number}/submit`, { answers: answers(form) });
        clearInterval(timer);
        status(`${quiz.title}: ${done.grade.percent}%, ${done.grade.passed ? 'passed' : 'not passed'}.`);
        load();
      } catch (err) { status(err.message); }
    });
    place.replaceWith(form);
  }

  function quizItem(e, q) {
    const result = q.best_percent === null || q.best_percent === undefined ? 'No result yet'
      : `Best: ${q.best_percent}%${q.passed ? ' (passed)' : ''}`;
    const item = el('li', { class: 'quiz', 'data-quiz': q.id }, el('h4', { text: q.title }),
      el('p', { class: 'note', text: `${q.questions} questions · ${q.time_limit_minutes} minutes · pass at ${q.pass_mark_percent}% · attempt ${q.attempts_used} of ${q.max_attempts}` }),
      el('p', { class: 'result', text: result }));
    const open = q.open_attempt && new Date(q.open_deadline) > Date.now();
    if (open || q.attempts_used < q.max_attempts) {
      const button = el('button', { type: 'button', class: 'button', text: open ? 'Resume quiz' : 'Start quiz' });
      const place = el('p', { class: 'actions' }, button);
      button.addEventListener('click', async () => {
        try {
          const path = `${cohortPath(e)}/quizzes/${q.id}/attempts`;
          const a = open ? await call('GET', `${path}/${q.open_attempt}`) : await call('POST', path);
          attempt(e, q, a, place);
        } catch (err) { status(err.message); }
      });
      item.append(place);
    }
    return item;
  }

  function render(data) {
    box.textContent = '';
    box.append(el('p', { text: `Signed in as ${data.name}.` }));
    for (const e of data.enrolments) {
      const when = e.starts_on === e.ends_on ? e.starts_on : `${e.starts_on} to ${e.ends_on}`;
      const article = el('article', { class: 'course', 'data-cohort': e.cohort_id }, el('h2', { text: e.title }),
        el('p', { text: `Cohort: ${when} · ${e.cpd_hours} CPD hours` }),
        el('p', { class: 'progress', text: `${e.lessons_completed} of ${e.lessons_total} lessons completed${e.coursework_done ? ' · coursework done' : ''}` }));
      for (const m of e.modules) {
        article.append(el('h3', { text: m.title }));
        if (!m.released) article.append(el('p', { class: 'note', text: `Opens on ${m.release_on}.` }));
        article.append(el('ul', { class: 'plain stack' }, ...m.lessons.map((l) => lesson(e, m, l))));
      }
      if (e.quizzes.length) {
        article.append(el('h3', { text: 'Quizzes' }), el('ul', { class: 'plain stack' }, ...e.quizzes.map((q) => quizItem(e, q))));
      }
      box.append(article);
    }
  }

  function load() {
    return call('GET', '/v1/learn/enrolments').then(render).catch((err) => status(err.message));
  }

  async function show() {
    const signedIn = !!sessionStorage.getItem(key);
    $('#learn-signin').hidden = signedIn;
    if (signedIn) await load(); else box.textContent = '';
  }

  async function start() {
    const token = new URLSearchParams(location.hash.slice(1)).get('token');
    if (token) {
      history.replaceState(null, '', location.pathname + location.search);
      try {
        const answer = await call('POST', `/v1/public/${slug}/learn/session`, { token });
        sessionStorage.setItem(key, answer.session);
      } catch (err) { status(err.message); }
    }
    await show();
  }
  // A link opened in a tab already on this page changes only the fragment.
  addEventListener('hashchange', () => { if (/token=/.test(location.hash)) start(); });
  start();
})();
