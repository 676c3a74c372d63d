// Opens the pages people open, in headless Debian Chromium: every Superset dashboard (after logging in), the Prefect
// UI's page of a flow run, and the dbt docs site. Waits until every chart has rendered (no spinner, no error), saves
// a screenshot of each page, and prints one JSON line: per dashboard its load time and the text of each chart, the
// texts found on the other pages, and the screenshot paths. Exits 1 when a page does not render.
//
// Input (JSON in the environment variable PAGES): {superset: {url, user, password, dashboards: {key: url}},
// prefect: {url, expect: [text...]}, dbt_docs: {url}, screenshots: dir, timeout_ms}
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const input = JSON.parse(process.env.PAGES);
const timeout = input.timeout_ms ?? 180000;
mkdirSync(input.screenshots, { recursive: true });

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1600, height: 1200 } });
const page = await context.newPage();
page.setDefaultTimeout(timeout);
const out = { dashboards: {}, screenshots: [] };
let failed = false;

async function shot(name) {
  const path = join(input.screenshots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  out.screenshots.push(path);
}

// One state per chart holder: rendered (with its text), loading, or error (with its message).
function chartStates() {
  return [...document.querySelectorAll('[data-test="dashboard-component-chart-holder"]')].map((holder) => {
    const title = holder.querySelector('[data-test="editable-title"], .header-title, [data-test="slice-header"]');
    const text = holder.innerText.trim();
    const error = holder.querySelector('[role="alert"], .ant-alert-error, [data-test="error-message"]');
    if (error || /unexpected error|error:|did not return|not found/i.test(text)) {
      return { title: title?.innerText.trim() ?? "", state: "error", text };
    }
    const loading = holder.querySelector('[aria-label="Loading"], .loading, [data-test="loading-indicator"]');
    if (loading || /waiting on/i.test(text)) return { title: title?.innerText.trim() ?? "", state: "loading", text };
    const drawn = holder.querySelector("canvas, table tbody tr, .header-line, .big-number")
      || /no results/i.test(text);
    return { title: title?.innerText.trim() ?? "", state: drawn ? "rendered" : "loading", text };
  });
}

// What the page shows, for a failure's message: its address, title and the start of its text.
async function pageSays() {
  const text = await page.evaluate(() => document.body?.innerText ?? "").catch((e) => `(unreadable: ${e})`);
  return `at ${page.url()} titled "${await page.title().catch(() => "")}": ${text.replace(/\s+/g, " ").slice(0, 600)}`;
}

// Opens a dashboard until its chart holders show: a first load on a busy machine (Superset compiling its bundles,
// a slow first query of the session) is given more tries within the timeout, each try a fresh load.
async function openUntilCharts(url, began) {
  for (let attempt = 1; ; attempt++) {
    await page.goto(url, { waitUntil: "domcontentloaded" });
    const left = timeout - (Date.now() - began);
    const wait = Math.max(1000, Math.min(60000, left));
    const shown = await page.waitForSelector('[data-test="dashboard-component-chart-holder"]', { timeout: wait })
      .then(() => true, () => false);
    if (shown) return;
    if (Date.now() - began >= timeout) {
      throw new Error(`no chart of ${url} showed in ${timeout / 1000} s (${attempt} loads); the page is ${await pageSays()}`);
    }
  }
}

async function openDashboard(key, url) {
  const began = Date.now();
  await openUntilCharts(url, began);
  let states = [];
  while (Date.now() - began < timeout) {
    states = await page.evaluate(chartStates);
    if (states.length && states.every((s) => s.state !== "loading")) break;
    await page.waitForTimeout(250);
  }
  const seconds = (Date.now() - began) / 1000;
  await page.waitForTimeout(500); // let the last chart's animation end before the screenshot
  await shot(`dashboard-${key}`);
  const charts = Object.fromEntries(states.map((s) => [s.title, { state: s.state, text: s.text }]));
  out.dashboards[key] = { url, seconds, charts };
  if (!states.length || states.some((s) => s.state !== "rendered")) failed = true;
}

try {
  if (input.superset) {
    const s = input.superset;
    await page.goto(`${s.url}/login/`, { waitUntil: "domcontentloaded" });
    await page.locator('input[name="username"], #username').first().fill(s.user);
    await page.locator('input[name="password"], #password').first().fill(s.password);
    await Promise.all([
      page.waitForURL((u) => !u.pathname.startsWith("/login")),
      page.locator('button[type="submit"], input[type="submit"]').first().click(),
    ]);
    for (const [key, url] of Object.entries(s.dashboards)) await openDashboard(key, url);
  }
  if (input.prefect) {
    const began = Date.now();
    await page.goto(input.prefect.url, { waitUntil: "domcontentloaded" });
    // The run's page opens on its logs; its artifacts are a tab of their own.
    await page.getByText("Artifacts", { exact: true }).first().click();
    const found = {};
    for (const text of input.prefect.expect ?? []) {
      const shown = page.locator(".p-tabs__content, main").getByText(text, { exact: false }).last();
      found[text] = await shown.waitFor().then(() => true, () => false);
      if (!found[text]) failed = true;
    }
    out.prefect = { url: input.prefect.url, seconds: (Date.now() - began) / 1000, found };
    await shot("prefect-flow-run");
  }
  if (input.dbt_docs) {
    await page.goto(input.dbt_docs.url, { waitUntil: "domcontentloaded" });
    await page.getByText("retail_gold", { exact: true }).filter({ visible: true }).first().waitFor();
    await page.goto(`${input.dbt_docs.url}#!/model/model.retail_gold.daily_sales_summary`);
    await page.getByText("One row per sale date", { exact: false }).filter({ visible: true }).first().waitFor();
    // The lineage graph: the button at the bottom right opens it, drawn by cytoscape on canvases.
    await page.locator('a[title="View Lineage Graph"]').first().click();
    const graph = await page.locator("#cy canvas").first().waitFor().then(() => true, () => false);
    await page.waitForTimeout(1000); // the graph's layout animation
    out.dbt_docs = { url: input.dbt_docs.url, lineage_graph: graph };
    if (!graph) failed = true;
    await shot("dbt-docs-lineage");
  }
} catch (error) {
  failed = true;
  out.error = String(error);
  out.page = await pageSays();
  await shot("failure").catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(failed ? 1 : 0);
