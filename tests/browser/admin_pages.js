// Drives Ferry's own web pages (the admin role) in Debian's chromium
// (headless, through playwright-core; no browser is downloaded) for
// tests/integration/test_browser_admin.py, which starts Ferry, tells
// this script what a person does in the browser, and checks the effects
// itself over SMTP, POP3 and the CLI.
//
// One browser for the whole test module: the script reads one JSON
// command per line on stdin and answers one JSON line on stdout:
//   {"op": OP, ...}  ->  {"ok": true, "result": ..., "shots": [PNG...]}
//                    or  {"ok": false, "error": "...", "shots": [...]}
// Every session ("s") is its own browser context (its own cookies), so
// the admin, a postmaster and a user can be logged in side by side.
// Everything is done as a person does it: links and buttons are found
// by their visible text, fields by their label, and typed into.  Every
// page an operation ends on is saved as a screenshot in the directory
// set by "setup" (the test's tmp dir); a failing operation saves one of
// the page it failed on.
//
// Operations (s: the session's name):
//   setup {base, shots}         base URL of Ferry's pages; closes all
//                               sessions
//   open {s, base, phone} / close {s}
//                               base: this session's Ferry, if not
//                               setup's; phone: a phone's screen
//   login {s, user, password, enter}
//                               the login form, sent with Enter (enter:
//                               true) or its button
//   goto {s, path | url}, back {s}, reload {s}
//   click {s, name, role, row}  a link or button by its text (in the
//                               table row containing `row`)
//   form {s, after, fields, select, check, submit}
//                               types into the fields (by label) of the
//                               form after the heading `after`, picks
//                               options, ticks boxes, clicks `submit`
//   info {s}                    what the page shows (see pageInfo)
//   values {s, labels}          the fields' current values, by label
//   hidden {s, name}            the value of the first field so named
//   cookies {s}                 the context's cookies with their flags
//                               and what the page's document.cookie has
//   unlabelled {s}              form fields without an accessible name
//   cspProbe {s, path}          loads path with an inline script and an
//                               inline event handler added to the real
//                               answer (its own headers kept): did
//                               either run?
//   tabs {s, n}                 what Tab focuses, n times from the top
//   shot {s, name}

'use strict';

const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const STEP_TIMEOUT = 30000;
let browser = null;
let base = null;
let shotsDir = null;
let shotN = 0;
let shots = [];
const sessions = new Map();

function sess(name) {
	const s = sessions.get(name);
	if (!s)
		throw new Error(`no browser session "${name}" (open it first)`);
	return s;
}

async function shot(s, name) {
	if (!shotsDir)
		return;
	shotN++;
	const file = path.join(shotsDir, `${String(shotN).padStart(2, '0')}-` +
	    `${s.name}-${name}`.replace(/[^A-Za-z0-9_.-]+/g, '_') + '.png');
	await s.page.screenshot({ path: file, fullPage: true });
	shots.push(file);
}

// Waits for the page the action leads to (after any redirects) and
// returns its HTTP status.
async function navigate(s, action) {
	s.console = [];		// what the next page says
	const final = s.page.waitForResponse((r) =>
	    r.request().isNavigationRequest() &&
	    r.request().frame() === s.page.mainFrame() &&
	    ![301, 302, 303, 307, 308].includes(r.status()),
	    { timeout: STEP_TIMEOUT });
	await action();
	const resp = await final;
	await s.page.waitForLoadState('load');
	s.status = resp.status();
	return s.status;
}

// What the page shows a person: where it is, its heading, the notice or
// error, the visible text; and what ran: dialogs, console messages,
// page errors, script elements.
async function pageInfo(s) {
	const p = s.page;
	const texts = async (sel) => (await p.locator(sel).allInnerTexts())
	    .map((t) => t.trim());
	return {
		url: p.url(),
		path: new URL(p.url()).pathname + new URL(p.url()).search,
		status: s.status,
		title: await p.title(),
		h1: (await texts('h1'))[0] || null,
		notices: await texts('.notice'),
		errors: await texts('.error'),
		text: await p.locator('body').innerText(),
		links: await texts('a'),
		scripts: await p.locator('script').count(),
		// wider than the window: the page scrolls sideways
		overflowX: await p.evaluate(() =>
		    document.documentElement.scrollWidth >
		    document.documentElement.clientWidth),
		dialogs: s.dialogs.slice(),
		console: s.console.slice(),
		pageErrors: s.pageErrors.slice(),
	};
}

async function afterNav(s, name) {
	await shot(s, name);
	return pageInfo(s);
}

const ops = {
	async setup(a) {
		for (const s of sessions.values())
			await s.ctx.close();
		sessions.clear();
		base = a.base.replace(/\/$/, '');
		shotsDir = a.shots || null;
		shotN = 0;
		return { chromium: browser.version() };
	},

	async open(a) {
		if (sessions.has(a.s))
			await sessions.get(a.s).ctx.close();
		// phone: a small touch screen, as the pages must work on one
		const ctx = await browser.newContext({
			// Ferry's certificate is from the test's own CA.
			ignoreHTTPSErrors: true,
			viewport: a.phone ? { width: 360, height: 740 } :
			    { width: 1100, height: 800 },
			isMobile: !!a.phone, hasTouch: !!a.phone,
			deviceScaleFactor: a.phone ? 2 : 1, locale: 'en-US',
		});
		const page = await ctx.newPage();
		page.setDefaultTimeout(STEP_TIMEOUT);
		const s = { name: a.s, ctx, page, dialogs: [], console: [],
		    pageErrors: [], status: null,
		    base: (a.base || base).replace(/\/$/, '') };
		page.on('dialog', (d) => {
			s.dialogs.push(`${d.type()}: ${d.message()}`);
			d.dismiss().catch(() => {});
		});
		page.on('console', (m) => s.console.push(`${m.type()}: ${m.text()}`));
		page.on('pageerror', (e) => s.pageErrors.push(e.message));
		// The log (node.log beside the screenshots' dir) has every
		// request the pages made, for a failing test.
		page.on('request', (r) => process.stderr.write(`${a.s}: ` +
		    `${r.method()} ${r.url()} ${JSON.stringify(r.headers())} ` +
		    `${r.postData() || ''}\n`));
		sessions.set(a.s, s);
		return {};
	},

	async close(a) {
		const s = sess(a.s);
		await s.ctx.close();
		sessions.delete(a.s);
		return {};
	},

	async login(a) {
		const s = sess(a.s);
		const p = s.page;
		await navigate(s, () => p.goto(s.base + (a.path || '/login')));
		await p.getByLabel('Email address', { exact: true }).fill(a.user);
		await p.getByLabel('Password', { exact: true }).fill(a.password);
		if (a.enter)
			await navigate(s, () => p.getByLabel('Password',
			    { exact: true }).press('Enter'));
		else
			await navigate(s, () => p.getByRole('button',
			    { name: 'Log in', exact: true }).click());
		return afterNav(s, 'login');
	},

	async goto(a) {
		const s = sess(a.s);
		await navigate(s, () => s.page.goto(a.url || s.base + a.path));
		return afterNav(s, new URL(s.page.url()).pathname);
	},

	// back and reload report what the browser shows, also when it
	// shows the page without asking the server (status null then).
	async back(a) {
		const s = sess(a.s);
		s.console = [];
		const resp = await s.page.goBack({ waitUntil: 'load' });
		s.status = resp ? resp.status() : null;
		return afterNav(s, 'back');
	},

	async reload(a) {
		const s = sess(a.s);
		s.console = [];
		const resp = await s.page.reload({ waitUntil: 'load' });
		s.status = resp ? resp.status() : null;
		return afterNav(s, 'reload');
	},

	async click(a) {
		const s = sess(a.s);
		let scope = s.page;
		if (a.row)
			scope = s.page.locator('tr', { hasText: a.row });
		const el = scope.getByRole(a.role || 'link',
		    { name: a.name, exact: true });
		await navigate(s, () => el.click());
		return afterNav(s, a.name);
	},

	async form(a) {
		const s = sess(a.s);
		const p = s.page;
		// The form right after its heading ("Add a user"), or the page.
		const f = a.after ? p.locator('form').filter({
			has: p.locator(`xpath=preceding-sibling::*[1][self::h2 or ` +
			    `self::h3][normalize-space()=${JSON.stringify(a.after)}]`),
		}) : p;
		for (const [label, value] of Object.entries(a.fields || {})) {
			const el = f.getByLabel(label, { exact: true });
			await el.fill('');
			// typed key by key, as a person would
			await el.pressSequentially(value);
		}
		for (const [label, value] of Object.entries(a.select || {}))
			await f.getByLabel(label, { exact: true }).selectOption(value);
		for (const label of a.check || [])
			await f.getByLabel(label, { exact: false }).check();
		for (const label of a.uncheck || [])
			await f.getByLabel(label, { exact: false }).uncheck();
		await navigate(s, () => f.getByRole('button',
		    { name: a.submit, exact: true }).click());
		return afterNav(s, a.submit);
	},

	async info(a) {
		return pageInfo(sess(a.s));
	},

	async values(a) {
		// the current values of fields, by label
		const s = sess(a.s);
		const out = {};
		for (const label of a.labels)
			out[label] = await s.page.getByLabel(label,
			    { exact: true }).inputValue();
		return out;
	},

	async hidden(a) {
		const s = sess(a.s);
		return s.page.locator(`input[name="${a.name}"]`).first()
		    .inputValue();
	},

	async cookies(a) {
		const s = sess(a.s);
		const page = await s.page.evaluate(() => document.cookie);
		return { cookies: await s.ctx.cookies(), documentCookie: page };
	},

	async unlabelled(a) {
		const s = sess(a.s);
		return s.page.evaluate(() => {
			const bad = [];
			for (const el of document.querySelectorAll(
			    'input, select, textarea')) {
				// not shown, so not in the accessibility tree
				if (el.type === 'hidden' || el.type === 'submit' ||
				    el.hidden)
					continue;
				const named = (el.labels && [...el.labels].some(
				    (l) => l.textContent.trim() !== '')) ||
				    (el.getAttribute('aria-label') || '').trim() !== '' ||
				    el.getAttribute('aria-labelledby');
				if (!named)
					bad.push(el.outerHTML);
			}
			return bad;
		});
	},

	async cspProbe(a) {
		const s = sess(a.s);
		const p = s.page;
		const url = s.base + a.path;
		await p.route(url, async (route) => {
			const resp = await route.fetch();
			const body = (await resp.text()).replace('</main>',
			    '<script>window.ferryInlineRan = true; ' +
			    'alert("inline script ran")</script>' +
			    '<img id="probe" src="data:," ' +
			    'onerror="window.ferryHandlerRan = true" ' +
			    'onload="window.ferryHandlerRan = true">' +
			    '</main>');
			await route.fulfill({ response: resp, body });
		});
		try {
			await navigate(s, () => p.goto(url));
		} finally {
			await p.unroute(url);
		}
		await shot(s, 'csp-probe');
		const ran = await p.evaluate(() => ({
			inline: window.ferryInlineRan === true,
			handler: window.ferryHandlerRan === true,
			injected: document.querySelectorAll('script').length,
		}));
		return { ...ran, dialogs: s.dialogs.slice(), console: s.console.slice() };
	},

	// Presses Tab n times from the top of the page: what gets the
	// focus each time (tag, type, and its label or text).
	async tabs(a) {
		const s = sess(a.s);
		const out = [];
		await s.page.evaluate(() => {
			if (document.activeElement)
				document.activeElement.blur();
			window.scrollTo(0, 0);
		});
		for (let i = 0; i < a.n; i++) {
			await s.page.keyboard.press('Tab');
			out.push(await s.page.evaluate(() => {
				const el = document.activeElement;
				if (!el || el === document.body)
					return null;
				const label = (el.labels && el.labels[0] &&
				    el.labels[0].textContent.trim()) ||
				    el.getAttribute('aria-label') ||
				    el.textContent.trim();
				return `${el.tagName.toLowerCase()}` +
				    `${el.type ? ':' + el.type : ''} ${label}`;
			}));
		}
		return out;
	},

	async shot(a) {
		await shot(sess(a.s), a.name);
		return {};
	},
};

async function run(cmd) {
	shots = [];
	try {
		const fn = ops[cmd.op];
		if (!fn)
			throw new Error(`unknown operation ${cmd.op}`);
		const result = await fn(cmd);
		return { ok: true, result, shots };
	} catch (e) {
		const s = cmd.s && sessions.get(cmd.s);
		if (s)
			await shot(s, `FAILED-${cmd.op}`).catch(() => {});
		return { ok: false, error: e.message, stack: e.stack, shots,
		    page: s ? await pageInfo(s).catch(() => null) : null };
	}
}

(async () => {
	browser = await chromium.launch({
		executablePath: process.env.FERRY_CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-dev-shm-usage'],
	});
	process.stdout.write(JSON.stringify({ ok: true, ready: true }) + '\n');
	const rl = readline.createInterface({ input: process.stdin });
	for await (const line of rl) {
		if (!line.trim())
			continue;
		let cmd;
		try {
			cmd = JSON.parse(line);
		} catch (e) {
			process.stdout.write(JSON.stringify({ ok: false,
			    error: `bad command: ${e.message}` }) + '\n');
			continue;
		}
		process.stdout.write(JSON.stringify(await run(cmd)) + '\n');
	}
	await browser.close();
})().catch(async (e) => {
	process.stderr.write(`${e.stack || e}\n`);
	if (browser)
		await browser.close().catch(() => {});
	process.exit(1);
});
