// The new-password pair used by invitations, resets and signup.
import { html } from '../html.js';
import { Field } from '../ui/form.js';

export function PasswordFields({ form, name = 'password' }) {
  return html`
    <${Field} form=${form} name=${name} label="New password" type="password" autocomplete="new-password"
      hint="10 to 128 characters, no space at either end; a phrase of a few words works well" required />
    <${Field} form=${form} name="confirm" label="Repeat the password" type="password" autocomplete="new-password" required />`;
}

/** Refuses a mismatched pair before anything is sent, naming the second field. */
export function checkPasswords(values, name = 'password') {
  if (values[name] !== values.confirm) {
    const err = new Error('The two passwords are not the same.');
    err.field = 'confirm';
    throw err;
  }
}
