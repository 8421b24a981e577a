/** The web app's entry: global styles, the initial `?asOf=`, the live connection, and the App on <body>. */
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { liveConnection } from './lib/live.svelte.ts';
import { timeControl } from './lib/time-control.svelte.ts';

// A link can open the app at a past moment (the embed reads its own query).
const asOf = new URLSearchParams(location.search).get('asOf');
if (asOf) timeControl.setAsOfIso(asOf);

liveConnection.start();
mount(App, { target: document.body });
