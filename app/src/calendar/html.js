// htm bound to Preact's h, shared by the calendar's components.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
