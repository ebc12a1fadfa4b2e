// The academy's page (courses.html): the clinic's published courses with their open cohorts, read
// from the API when the page opens (seats left change by the minute), and an enrol form per
// cohort. A place with a price goes on to the hosted payment page; the webhook, not the browser,
// confirms it. Plain DOM.
(() => {
  'use strict';
  const $ = (sel, el = document) => el.querySelector(sel);
  const list = $('#courses');
  if (!list) return;
  const base = document.body.dataset.api || '';
  const slug = document.body.dataset.slug;
  const status = (text) => { $('#courses-status').textContent = text; };
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const money = (minor, currency) => (minor === 0 ? 'Free'
    : new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(minor / 100));
  if (new URLSearchParams(location.search).get('enrolled')) {
    status('Thank you: your place is confirmed once your payment is in. We will email you.');
  }

  function field(id, label, type, autocomplete) {
    return el('div', { class: 'field' }, el('label', { for: id, text: label }),
      el('input', { id, name: id.split('-')[0], type, autocomplete, required: '' }));
  }

  function enrolForm(course, cohort) {
    const id = cohort.id;
    const error = el('div', { class: 'error', tabindex: '-1', role: 'alert', hidden: '' });
    const form = el('form', { class: 'enrol', 'data-cohort': id, novalidate: '' }, error,
      field(`name-${id}`, 'Your name', 'text', 'name'), field(`email-${id}`, 'Your email', 'email', 'email'),
      el('p', { class: 'actions' }, el('button', { type: 'submit', class: 'button', text: 'Enrol' })));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.hidden = true;
      const body = { name: form.elements.name.value.trim(), email: form.elements.email.value.trim() };
      const res = await fetch(`${base}/v1/public/${slug}/courses/${course.id}/cohorts/${id}/enrol`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        error.textContent = answer.error ? answer.error.message : 'Something went wrong; please try again.';
        error.hidden = false;
        error.focus();
        return;
      }
      if (answer.pay_url) {
        location.href = answer.pay_url;
        return;
      }
      form.replaceWith(el('p', { class: 'notice', role: 'status', text: `You are enrolled (seat ${answer.seat}).` }));
    });
    return form;
  }

  function render(courses) {
    list.textContent = '';
    if (courses.length === 0) list.append(el('p', { text: 'No courses are open at the moment.' }));
    for (const course of courses) {
      const modules = el('ul', {}, ...course.modules.map((m) => el('li', { text: `${m.title} (${m.lessons.length} lessons)` })));
      const cohorts = el('ul', { class: 'cohorts' }, ...course.cohorts.map((c) => {
        const when = c.starts_on === c.ends_on ? c.starts_on : `${c.starts_on} to ${c.ends_on}`;
        const item = el('li', {}, el('h3', { text: `${when}: ${money(c.price_minor, course.currency)}` }),
          el('p', { text: c.seats_left === 0 ? 'Full' : `${c.seats_left} of ${c.seats} places left` }));
        if (c.seats_left > 0) item.append(enrolForm(course, c));
        return item;
      }));
      list.append(el('article', { class: 'course', id: course.slug },
        el('h2', { text: course.title }), el('p', { text: course.summary }),
        el('p', { text: `${course.cpd_hours} CPD hours · ${money(course.price_minor, course.currency)}` }),
        modules, course.cohorts.length ? cohorts : el('p', { text: 'No dates open yet.' })));
    }
  }

  fetch(`${base}/v1/public/${slug}/courses`).then((res) => res.json()).then(render)
    .catch(() => status('The courses could not be loaded; please try again.'));
})();
