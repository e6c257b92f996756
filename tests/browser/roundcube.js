// Drives Roundcube webmail in Debian's chromium (headless, through
// playwright-core; no browser is downloaded) for
// tests/integration/test_roundcube.py, which starts Ferry and Roundcube
// and checks the server side afterwards.
//
// Usage: node roundcube.js '{"url": ..., "user": ..., "password": ...,
//          "folders": [...], "open": {"subject", "body"},
//          "compose": {"to", "subject", "body"},
//          "sorted": [subject, ...], "thread": {"root", "reply"},
//          "search": {"text", "subject"},
//          "move": {"subject", "folder"}, "delete": {"subject"},
//          "shots": DIR}'
//
// One browser session, one page: log in, check the folder list, open a
// message, sort by subject and show threads (server SORT and THREAD),
// search, compose and send one, move one, delete one, log out.  Every
// step waits (bounded) for what Roundcube shows as its result and fails
// when it does not appear or when Roundcube shows an error notice.
// Prints one line per step ("ok STEP: detail"); on failure prints
// "FAIL STEP: why", saves a screenshot in shots and exits 1.

'use strict';

const path = require('path');
const { chromium } = require('playwright-core');

const args = JSON.parse(process.argv[2] || '{}');
const STEP_TIMEOUT = 20000;
let step = 'start';
let page = null;

function ok(detail) {
	console.log(`ok ${step}: ${detail}`);
}

// Roundcube shows server errors (IMAP/SMTP failures) as notices in
// #messagestack; any such notice fails the step.
async function noErrors() {
	const errs = await page.locator('#messagestack .error, #messagestack .warning')
	    .allInnerTexts();
	if (errs.length)
		throw new Error(`Roundcube shows: ${errs.join(' | ')}`);
}

// The row of the message list whose subject is exactly `subject`.
function row(subject) {
	const exact = new RegExp('^\\s*' +
	    subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\s*$');
	return page.locator('#messagelist tbody tr.message').filter({
		has: page.locator('span.subject a', { hasText: exact }),
	});
}

// Clicks the message with this subject in the list and waits until the
// preview shows it (Roundcube enables move and delete only then).
async function select(subject) {
	await row(subject).locator('td.subject').click();
	await page.frameLocator('#messagecontframe')
	    .locator('h2.subject', { hasText: subject }).waitFor();
	await page.waitForFunction(() => window.rcmail.commands.move &&
	    window.rcmail.commands.delete, null, { timeout: STEP_TIMEOUT });
}

// Waits until Roundcube has finished its requests (its "Loading..."
// notice is gone).
async function idle() {
	await page.waitForFunction(() => window.rcmail && !window.rcmail.busy,
	    null, { timeout: STEP_TIMEOUT });
	await page.locator('#messagestack .loading').waitFor(
	    { state: 'detached', timeout: STEP_TIMEOUT });
}

async function openFolder(name) {
	await page.locator(`#mailboxlist li a[rel="${name}"]`).click();
	await page.waitForFunction((n) => window.rcmail && window.rcmail.env &&
	    window.rcmail.env.mailbox === n,
	    name, { timeout: STEP_TIMEOUT });
	await idle();
}

async function login() {
	step = 'login';
	await page.goto(args.url);
	await page.fill('#rcmloginuser', args.user);
	await page.fill('#rcmloginpwd', args.password);
	await page.click('#rcmloginsubmit');
	await page.locator('#mailboxlist').waitFor();
	await page.waitForFunction(() => window.rcmail && window.rcmail.env &&
	    window.rcmail.env.task === 'mail');
	await idle();
	await noErrors();
	const who = (await page.locator('.header-title.username').innerText()).trim();
	if (who !== args.user)
		throw new Error(`logged in as "${who}", not ${args.user}`);
	ok(`mail view of ${who}`);
}

async function folders() {
	step = 'folders';
	const items = await page.locator('#mailboxlist li').evaluateAll((lis) =>
	    lis.map((li) => {
		const a = li.querySelector('a');
		return { name: a.getAttribute('rel'), cls: li.className,
		    text: a.firstChild.textContent.trim() };
	    }));
	const byName = Object.fromEntries(items.map((i) => [i.name, i]));
	for (const f of args.folders) {
		const it = byName[f.name];
		if (!it)
			throw new Error(`folder ${f.name} missing from ${JSON.stringify(items)}`);
		if (it.text !== f.label)
			throw new Error(`folder ${f.name} is labelled "${it.text}", not "${f.label}"`);
		// Roundcube marks the folder it uses for a role with that
		// role's class; the config names no folder for any role, so
		// the class comes from the server's special-use attribute.
		if (f.role && !it.cls.split(/\s+/).includes(f.role))
			throw new Error(`folder ${f.name} has classes "${it.cls}", not ${f.role}`);
	}
	ok(items.map((i) => `${i.name}(${i.cls.replace(/\bmailbox\b\s*/, '').trim()})`).join(' '));
}

async function openMessage() {
	step = 'open';
	const r = row(args.open.subject);
	await r.locator('td.subject').click();
	const frame = page.frameLocator('#messagecontframe');
	const subj = frame.locator('h2.subject');
	await subj.waitFor();
	const s = (await subj.innerText()).trim();
	if (!s.startsWith(args.open.subject))
		throw new Error(`preview shows subject "${s}"`);
	const body = await frame.locator('#messagebody').innerText();
	if (!body.includes(args.open.body))
		throw new Error(`preview body "${body}" lacks "${args.open.body}"`);
	// Reading it marks it read in the list (Roundcube sets \Seen).
	await page.waitForFunction((id) => {
		const tr = document.getElementById(id);
		return tr && !tr.classList.contains('unread');
	}, await r.getAttribute('id'), { timeout: STEP_TIMEOUT });
	await noErrors();
	ok(`"${s}" with body "${body.trim()}"`);
}

// The subjects of the rows the message list shows.
async function listed() {
	return (await page.locator('#messagelist tbody tr.message:visible span.subject a')
	    .allInnerTexts()).map((t) => t.trim());
}

// Sets the list options in the dialog of the list's Options button
// (sort column, order, list or threads) and saves them.
async function listOptions(col, order, mode) {
	await page.click('#listmenulink');
	const dlg = page.locator('.ui-dialog:visible');
	await dlg.locator('select[name=sort_col]').selectOption(col);
	await dlg.locator('select[name=sort_ord]').selectOption(order);
	await dlg.locator('select[name=mode]').selectOption(mode);
	await dlg.locator('button.save').click();
	await dlg.waitFor({ state: 'detached' });
	await page.waitForFunction((a) => window.rcmail.env.sort_col === a[0] &&
	    window.rcmail.env.sort_order === a[1] &&
	    !!window.rcmail.env.threading === (a[2] === 'threads'),
	    [col, order, mode], { timeout: STEP_TIMEOUT });
	await idle();
	await noErrors();
}

async function sortAndThreads() {
	step = 'sort';
	await listOptions('subject', 'ASC', 'list');
	let got = await listed();
	if (JSON.stringify(got) !== JSON.stringify(args.sorted))
		throw new Error(`sorted by subject: ${JSON.stringify(got)}, not ` +
		    JSON.stringify(args.sorted));
	ok(got.join(' < '));

	step = 'threads';
	await listOptions('subject', 'ASC', 'threads');
	const t = args.thread;
	got = await listed();
	if (got.includes(t.reply) || !got.includes(t.root))
		throw new Error(`threads list ${JSON.stringify(got)}: "${t.reply}" ` +
		    `should be folded under "${t.root}"`);
	// Unfold the thread with its toggle: the reply appears right below
	// its root, one level down.
	await row(t.root).locator('[id^="rcmexpando"].collapsed').click();
	await row(t.reply).waitFor();
	got = await listed();
	const i = got.indexOf(t.root);
	if (got[i + 1] !== t.reply)
		throw new Error(`unfolded thread: ${JSON.stringify(got)}`);
	const depth = await row(t.reply).evaluate((tr) => Object.values(
	    window.rcmail.message_list.rows).find((r) => r.obj === tr).depth);
	if (depth !== 1)
		throw new Error(`"${t.reply}" is at depth ${depth}, not 1`);
	ok(`"${t.reply}" under "${t.root}"`);
	await listOptions('', 'DESC', 'list');
}

async function search() {
	step = 'search';
	const all = (await listed()).length;
	await page.fill('#mailsearchform', args.search.text);
	await page.press('#mailsearchform', 'Enter');
	await page.waitForFunction(() => window.rcmail.env.search_request,
	    null, { timeout: STEP_TIMEOUT });
	await idle();
	await noErrors();
	const found = await listed();
	if (found.length !== 1 || found[0] !== args.search.subject)
		throw new Error(`search for "${args.search.text}" lists ` +
		    `${JSON.stringify(found)}, not "${args.search.subject}"`);
	// The reset button brings the whole folder back.
	await page.locator('a.reset[onclick*="reset-search"]').first().click();
	await page.waitForFunction((n) => !window.rcmail.env.search_request &&
	    document.querySelectorAll('#messagelist tbody tr.message').length === n,
	    all, { timeout: STEP_TIMEOUT });
	await idle();
	ok(`"${args.search.text}" finds only "${found[0]}"`);
}

async function compose() {
	step = 'compose';
	const c = args.compose;
	await page.click('#taskmenu a.compose');
	await page.locator('#compose-subject').waitFor();
	await page.locator('.recipient-input input').first().fill(c.to);
	await page.fill('#compose-subject', c.subject);
	await page.fill('#composebody', c.body);
	await page.click('#compose-content button.send');
	// After sending Roundcube goes back to the message list and says so.
	await page.waitForURL((u) => !/_action=compose/.test(u.search),
	    { timeout: STEP_TIMEOUT });
	await page.waitForFunction(() => window.rcmail && window.rcmail.env &&
	    window.rcmail.env.task === 'mail' && !window.rcmail.env.action,
	    null, { timeout: STEP_TIMEOUT });
	await page.locator('#messagelist').waitFor();
	await idle();
	await noErrors();
	// The copy Roundcube saved in the Sent folder (found through its
	// special-use attribute) is listed there.
	await openFolder(args.sentFolder);
	await row(c.subject).waitFor();
	ok(`sent to ${c.to}, listed in ${args.sentFolder}`);
	await openFolder('INBOX');
	await row(args.move.subject).waitFor();
}

async function move() {
	step = 'move';
	const m = args.move;
	const r = row(m.subject);
	await select(m.subject);
	await page.click('a.more');
	await page.click('#message-menu a.move');
	await page.locator('#folder-selector li a', { hasText: m.folder }).click();
	await r.waitFor({ state: 'hidden' });
	await idle();
	await noErrors();
	await openFolder(m.folder);
	await row(m.subject).waitFor();
	ok(`"${m.subject}" left INBOX and is listed in ${m.folder}`);
	await openFolder('INBOX');
}

async function del() {
	step = 'delete';
	const d = args.delete;
	const r = row(d.subject);
	await select(d.subject);
	await page.locator('a.delete').first().click();
	await r.waitFor({ state: 'hidden' });
	await idle();
	await noErrors();
	await openFolder(args.trashFolder);
	await row(d.subject).waitFor();
	ok(`"${d.subject}" left INBOX and is listed in ${args.trashFolder}`);
}

async function logout() {
	step = 'logout';
	await page.click('a.logout');
	await page.locator('#rcmloginuser').waitFor();
	// Roundcube's scripts put the notice in the stack after the login form
	// is drawn; wait for it instead of reading the stack at once.
	const notice = page.locator('#messagestack').getByText(/terminated/i);
	try {
		await notice.first().waitFor();
	} catch (e) {
		const have = await page.locator('#messagestack').innerText();
		throw new Error(`no logout notice after logout (have "${have}")`);
	}
	ok((await notice.first().innerText()).trim());
}

(async () => {
	const browser = await chromium.launch({
		executablePath: process.env.FERRY_CHROMIUM || '/usr/bin/chromium',
		args: ['--no-sandbox', '--disable-dev-shm-usage'],
	});
	try {
		const ctx = await browser.newContext({
			viewport: { width: 1400, height: 900 }, locale: 'en-US',
		});
		page = await ctx.newPage();
		page.setDefaultTimeout(STEP_TIMEOUT);
		page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
		await login();
		await folders();
		await openMessage();
		await sortAndThreads();
		await search();
		await compose();
		await move();
		await del();
		await logout();
		await browser.close();
	} catch (e) {
		console.log(`FAIL ${step}: ${e.message.split('\n')[0]}`);
		console.error(e.stack || String(e));
		if (page && args.shots) {
			const shot = path.join(args.shots, `roundcube-${step}.png`);
			await page.screenshot({ path: shot, fullPage: true })
			    .then(() => console.error(`screenshot: ${shot}`), () => {});
		}
		await browser.close().catch(() => {});
		process.exit(1);
	}
})();
