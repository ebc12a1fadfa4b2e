// The app: who is signed in (GET /v1/me), and which screen the hash names. Public screens
// (sign-in, invitations, password reset, onboarding) need no session; every other route does.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { api, onSignedOut } from './api.js';
import { loadSession } from './session.js';
import { useRoute, navigate } from './router.js';
import { can } from './permissions.js';
import { Shell } from './shell.js';
import { Loading, ErrorText } from './ui/bits.js';
import { SignIn } from './screens/sign-in.js';
import { AcceptInvite } from './screens/accept-invite.js';
import { VerifyEmail } from './screens/verify-email.js';
import { ForgotPassword, ResetPassword } from './screens/password.js';
import { Onboarding } from './screens/onboarding/index.js';
import { Today } from './screens/today.js';
import { Clients } from './screens/clients.js';
import { ClientFile } from './screens/client-file.js';
import { Documents } from './screens/documents.js';
import { Settings } from './screens/settings/index.js';
import { CalendarSlot } from './calendar-slot.js';
import { Till } from './screens/till.js';
import { Sales, SaleDetail } from './screens/sales.js';
import { GiftCards } from './screens/gift-cards.js';
import { Waitlist } from './screens/waitlist.js';
import { Reviews } from './screens/reviews.js';
import { Commissions } from './screens/commissions.js';
import { Reports } from './screens/reports.js';
import { Close } from './screens/close.js';
import { Stock } from './screens/stock.js';
import { Academy } from './screens/academy.js';
import { NotAllowed } from './screens/not-allowed.js';

const PUBLIC = {
  'sign-in': SignIn,
  'accept-invite': AcceptInvite,
  'verify-email': VerifyEmail,
  'forgot-password': ForgotPassword,
  'reset-password': ResetPassword,
  onboarding: Onboarding,
};

export function App() {
  const route = useRoute();
  const [me, setMe] = useState(null);
  const [meError, setMeError] = useState(null);
  const [sessionKey, setSessionKey] = useState(() => loadSession()?.access_token || null);

  useEffect(() => onSignedOut(() => {
    setMe(null);
    setSessionKey(null);
    navigate('/sign-in');
  }), []);

  const signedIn = () => setSessionKey(loadSession()?.access_token || null);

  useEffect(() => {
    if (!sessionKey) return;
    setMeError(null);
    api.get('/v1/me').then(setMe, setMeError);
  }, [sessionKey]);

  const screen = route.parts[0] || '';
  const Public = PUBLIC[screen];
  if (Public) return html`<${Public} route=${route} onSignedIn=${signedIn} me=${me} />`;
  if (!sessionKey) return html`<${Redirect} to="/sign-in" />`;
  if (meError) return html`<main class="centered"><${ErrorText} error=${meError} /><a href="#/sign-in">Sign in again</a></main>`;
  if (!me) return html`<main class="centered"><${Loading} /></main>`;
  if (!screen) return html`<${Redirect} to="/today" />`;
  const recheck = () => api.get('/v1/me').then(setMe, setMeError);
  return html`<${Shell} me=${me} route=${route} onRecheck=${recheck}>${page(screen, route, me)}</${Shell}>`;
}

/** Moves to another route after this render (navigating during a render would re-enter it). */
function Redirect({ to }) {
  useEffect(() => navigate(to), [to]);
  return null;
}

function page(screen, route, me) {
  switch (screen) {
    case 'today':
      return html`<${Today} me=${me} />`;
    case 'calendar':
      return can(me, 'booking_read') ? html`<${CalendarSlot} me=${me} route=${route} />` : html`<${NotAllowed} />`;
    case 'clients':
      if (!can(me, 'booking_read')) return html`<${NotAllowed} />`;
      return route.parts[1] ? html`<${ClientFile} me=${me} id=${route.parts[1]} key=${route.parts[1]} />` : html`<${Clients} me=${me} route=${route} />`;
    case 'documents':
      return can(me, 'documents_read') ? html`<${Documents} me=${me} route=${route} />` : html`<${NotAllowed} />`;
    case 'till':
      return can(me, 'sales_write') ? html`<${Till} me=${me} />` : html`<${NotAllowed} />`;
    case 'sales':
      if (!can(me, 'payments_read')) return html`<${NotAllowed} />`;
      return route.parts[1] ? html`<${SaleDetail} me=${me} id=${route.parts[1]} key=${route.parts[1]} />` : html`<${Sales} me=${me} route=${route} />`;
    case 'waitlist':
      return can(me, 'booking_read') ? html`<${Waitlist} me=${me} />` : html`<${NotAllowed} />`;
    case 'reviews':
      return can(me, 'reviews_moderate') ? html`<${Reviews} me=${me} />` : html`<${NotAllowed} />`;
    case 'gift-cards':
      return can(me, 'gift_cards_read') ? html`<${GiftCards} me=${me} />` : html`<${NotAllowed} />`;
    case 'commissions':
      return can(me, 'analytics_full') ? html`<${Commissions} me=${me} />` : html`<${NotAllowed} />`;
    case 'reports':
      // A new query (period, location) opens the screen afresh.
      return can(me, 'analytics_limited') ? html`<${Reports} me=${me} route=${route} key=${route.query.toString()} />` : html`<${NotAllowed} />`;
    case 'stock':
      return can(me, 'stock_read') ? html`<${Stock} me=${me} />` : html`<${NotAllowed} />`;
    case 'academy':
      return can(me, 'academy_read') ? html`<${Academy} me=${me} />` : html`<${NotAllowed} />`;
    case 'close':
      return can(me, 'payments_read') ? html`<${Close} me=${me} />` : html`<${NotAllowed} />`;
    case 'settings':
      return html`<${Settings} me=${me} route=${route} />`;
    default:
      return html`<section><h1>Not found</h1><p>There is no page here. <a href="#/today">Go to Today</a>.</p></section>`;
  }
}
