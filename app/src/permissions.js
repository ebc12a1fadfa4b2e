// What the signed-in member may do, from GET /v1/me's `permissions` (snake_case names of the
// domain's Permission). Screens ask `can(me, …)` before they render a section, so a section a
// role may not see is never mounted and never fetches.
export function can(me, permission) {
  return Boolean(me && me.permissions && me.permissions.includes(permission));
}

/** Owners and managers manage their own two-factor sign-in. */
export function canManageMfa(me) {
  return ['owner', 'manager'].includes(me?.member?.role);
}

/** The main navigation, filtered for this member. */
export function navigation(me) {
  return [
    { path: '/today', label: 'Today', show: true },
    { path: '/calendar', label: 'Calendar', show: can(me, 'booking_read') },
    { path: '/clients', label: 'Clients', show: can(me, 'booking_read') },
    { path: '/waitlist', label: 'Waitlist', show: can(me, 'booking_read') },
    { path: '/documents', label: 'Documents', show: can(me, 'documents_read') },
    // The desk till and the day's sales behind it (a sale's detail needs payments_read, which
    // every role that rings up sales has).
    { path: '/till', label: 'Till', show: can(me, 'sales_write'), also: ['/sales', '/close', '/gift-cards'] },
    { path: '/stock', label: 'Stock', show: can(me, 'stock_read') },
    { path: '/reports', label: 'Reports', show: can(me, 'analytics_limited') },
    { path: '/commissions', label: 'Commissions', show: can(me, 'analytics_full') },
    { path: '/reviews', label: 'Reviews', show: can(me, 'reviews_moderate') },
    { path: '/academy', label: 'Academy', show: can(me, 'academy_read') },
    { path: '/settings', label: 'Settings', show: true },
  ].filter((item) => item.show);
}

/** The settings sections this member may open. */
export function settingsSections(me) {
  return [
    { path: 'brand', label: 'Brand', show: can(me, 'brand_write') },
    { path: 'domain', label: 'Domain', show: can(me, 'brand_write') },
    { path: 'policies', label: 'Policies', show: can(me, 'catalog_write') },
    { path: 'notifications', label: 'Reminders', show: can(me, 'brand_write') },
    { path: 'team', label: 'Team', show: can(me, 'team_read') },
    { path: 'security', label: 'Sign-in security', show: canManageMfa(me) },
    { path: 'payments', label: 'Online payments', show: can(me, 'payments_connect') },
    { path: 'readers', label: 'Card readers', show: can(me, 'catalog_write') && can(me, 'sales_write') },
    { path: 'packages', label: 'Packages', show: can(me, 'catalog_write') },
    { path: 'loyalty', label: 'Loyalty', show: can(me, 'loyalty_manage') },
    { path: 'memberships', label: 'Memberships', show: can(me, 'catalog_write') },
    { path: 'developers', label: 'Developers', show: can(me, 'integrations_manage') },
  ].filter((item) => item.show);
}

export const ROLES = [
  { value: 'owner', label: 'Owner' },
  { value: 'manager', label: 'Manager' },
  { value: 'practitioner', label: 'Practitioner' },
  { value: 'front_desk', label: 'Front desk' },
  { value: 'finance', label: 'Finance' },
  { value: 'support', label: 'Support' },
  { value: 'educator', label: 'Educator' },
];

export function roleLabel(role) {
  return ROLES.find((r) => r.value === role)?.label || role;
}
