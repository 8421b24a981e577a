/** The web app's entry: global styles, the credential, the initial `?asOf=`, the live connection, and the App on <body>. */
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { credentials } from './lib/credentials.svelte.ts';
import { liveConnection } from './lib/live.svelte.ts';
import { session } from './lib/session.svelte.ts';
import { timeControl } from './lib/time-control.svelte.ts';

const query = new URLSearchParams(location.search);
// An embed page uses its link's token, for this page only; the app asks who its stored credential is.
if (location.pathname.startsWith('/embed/')) credentials.useEmbedToken(query.get('token'));
else void session.start();

// A link can open the app at a past moment (the embed reads its own query).
const asOf = query.get('asOf');
if (asOf) timeControl.setAsOfIso(asOf);

liveConnection.start();
mount(App, { target: document.body });
