// Development only: sign in with a pasted staff token (the local host prints the demo owner's
// as `export TOKEN=…`). The token works until it expires; there is no refresh.
import { html } from '../html.js';
import { startSession } from '../api.js';
import { navigate } from '../router.js';
import { useForm, Field } from '../ui/form.js';
import { CardPage } from '../ui/card-page.js';

export function DevToken({ onSignedIn }) {
  const form = useForm({ token: '' });
  const submit = (event) => form.submit(async ({ token }) => {
    startSession({ access_token: token.trim().replace(/^export TOKEN=/, '') });
    onSignedIn();
    navigate('/today');
  }, event);
  return html`<${CardPage} title="Developer sign-in" sub="Paste a staff token from the local host">
    <form novalidate onSubmit=${submit}>
      <${Field} form=${form} name="token" label="Staff token" multiline required />
      <button type="submit" class="primary">Use this token</button>
    </form>
  </${CardPage}>`;
}
