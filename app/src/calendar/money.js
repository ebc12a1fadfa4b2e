// Money on the wire is integer minor units plus an ISO currency.
export function formatMoney(money) {
  if (!money) return '';
  const currency = money.currency || 'GBP';
  const digits = new Intl.NumberFormat('en-GB', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  return new Intl.NumberFormat('en-GB', { style: 'currency', currency }).format(money.amount_minor / 10 ** digits);
}
