// Checks a rendered loket status site in real headless Chromium.
//
//   node tests/browser/run.mjs SITE_DIR SCREENSHOT_DIR CASES_JSON
//
// CASES_JSON: {"lookups": [{"ticket": "...", "status": "..."}], "stats": true}
// Serves SITE_DIR on 127.0.0.1 with a tiny static server that applies the one
// rewrite the docs ask hosts for (/cari/?t=X -> /t/X/, as in the site's _redirects),
// then: types a ticket on the home page and reads its status, with JavaScript and
// without; checks the as-you-type check-character message; checks the no-JS
// fallback page of hosts without the rewrite; takes screenshots at desktop and phone
// width; runs axe-core (WCAG 2.1 A/AA) on home, a ticket page and the statistics.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const [siteDir, shotDir, casesArg] = process.argv.slice(2);
if (!siteDir || !shotDir || !casesArg) {
  console.error("usage: node run.mjs SITE_DIR SCREENSHOT_DIR CASES_JSON");
  process.exit(2);
}
const cases = JSON.parse(casesArg);
const axeSource = fs.readFileSync(path.join(here, "node_modules/axe-core/axe.min.js"), "utf8");
const TYPES = { ".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript", ".json": "application/json" };

function serve(root, rewrite) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const t = url.searchParams.get("t");
    if (rewrite && url.pathname === "/cari/" && t) {
      res.writeHead(302, { Location: `/t/${encodeURIComponent(t.trim())}/` });
      return res.end();
    }
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root)) { res.writeHead(403); return res.end(); }
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, "index.html");
    if (!fs.existsSync(file)) {
      res.writeHead(404, { "Content-Type": TYPES[".html"] });
      return res.end(fs.readFileSync(path.join(root, "404.html")));
    }
    res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream" });
    res.end(fs.readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

const failures = [];
const check = (cond, msg) => { if (!cond) failures.push(msg); else console.log("ok   " + msg); };

const root = path.resolve(siteDir);
const withRewrite = await serve(root, true);
const plain = await serve(root, false);
const base = `http://127.0.0.1:${withRewrite.address().port}`;
const plainBase = `http://127.0.0.1:${plain.address().port}`;
fs.mkdirSync(shotDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 740 };

async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }));
  const v = result.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(" ")).join(", ")})`);
  check(v.length === 0, `axe-core: no WCAG 2.1 AA violations on ${name}` + (v.length ? "\n  " + v.join("\n  ") : ""));
}

try {
  for (const [label, viewport] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    // With JavaScript: the check character is checked as one types.
    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    const first = cases.lookups[0];
    await page.goto(base + "/");
    await page.screenshot({ path: path.join(shotDir, `home-${label}.png`), fullPage: true });
    await axe(page, `home (${label})`);
    const input = page.locator("#t");
    // A typo in the last symbol: the check character no longer matches.
    const last = first.ticket.slice(-1);
    const typo = first.ticket.slice(0, -1) + (last === "2" ? "3" : "2");
    await input.pressSequentially(typo.toLowerCase());
    check((await input.getAttribute("aria-invalid")) === "true", `${label}: a mistyped ticket is flagged while typing`);
    check((await page.locator("#t-msg").textContent()).length > 0, `${label}: the typo gets a message`);
    await input.fill("");
    await input.pressSequentially(first.ticket.toLowerCase());
    check((await input.getAttribute("aria-invalid")) === null, `${label}: a correct ticket is accepted while typing`);
    await input.press("Enter");
    await page.waitForURL(`**/t/${first.ticket}/`);
    const status = (await page.locator("#status").textContent()).trim();
    check(status === first.status, `${label} with JS: ${first.ticket} reads "${status}"`);
    await page.screenshot({ path: path.join(shotDir, `ticket-${label}.png`), fullPage: true });
    await axe(page, `ticket page (${label})`);
    await page.goto(base + "/statistik/");
    await page.screenshot({ path: path.join(shotDir, `stats-${label}.png`), fullPage: true });
    await axe(page, `statistics (${label})`);
    const scroll = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    check(scroll, `${label}: the statistics page does not scroll sideways`);
    await ctx.close();
  }

  // Without JavaScript, on a host with the rewrite: every lookup lands on its page.
  const nojs = await browser.newContext({ viewport: PHONE, javaScriptEnabled: false });
  const page = await nojs.newPage();
  for (const { ticket, status } of cases.lookups) {
    await page.goto(base + "/");
    await page.locator("#t").fill(ticket);
    await page.locator("form.lookup button[type=submit]").click();
    await page.waitForURL(`**/t/${ticket}/`);
    const got = (await page.locator("#status").textContent()).trim();
    check(got === status, `without JS: ${ticket} reads "${got}"`);
  }
  await page.screenshot({ path: path.join(shotDir, "ticket-nojs-phone.png"), fullPage: true });

  // Without JavaScript, on a host without the rewrite: the fallback page explains.
  await page.goto(plainBase + "/");
  await page.locator("#t").fill(cases.lookups[0].ticket);
  await page.locator("form.lookup button[type=submit]").click();
  await page.waitForURL("**/cari/?t=*");
  const text = await page.locator("main").innerText();
  check(/\/t\/[A-Z]+-XXXXX-XXXXX\//.test(text), "without JS and rewrite: cari/ shows how to open a ticket page");
  await nojs.close();

  // With JavaScript, a link to cari/?t= (the same form on such a host) goes on to the ticket.
  const jsctx = await browser.newContext({ viewport: DESKTOP });
  const p2 = await jsctx.newPage();
  await p2.goto(`${plainBase}/cari/?t=${encodeURIComponent(cases.lookups[0].ticket.toLowerCase())}`);
  await p2.waitForURL(`**/t/${cases.lookups[0].ticket}/`);
  check(true, "with JS: cari/?t= forwards to the ticket page");
  await jsctx.close();
} catch (e) {
  failures.push(String(e && e.stack || e));
} finally {
  await browser.close();
  withRewrite.close();
  plain.close();
}

if (failures.length) {
  console.error("FAILED:\n" + failures.join("\n"));
  process.exit(1);
}
console.log("all browser checks passed");
