// The back office's entry point (skeleton; the shell, screens and calendar grow from here).
import { h, render } from 'preact';
import htm from 'htm';

const html = htm.bind(h);
render(html`<main><h1>Clinic desk</h1></main>`, document.getElementById('app'));
