// End to end, in Debian's headless Chromium driven by playwright-core: the charts are ingested
// into a store, a model is refitted from it, `mfkit serve` starts, and the page answers
// "Colombia x Turkey - Germany" (typed with autocompletion), shows an error for a bad
// expression, and lists a country's top songs.
//
//   MFKIT_CLI=build/mfkit MFKIT_DATA_DIR=../shared/data node tests/web/dotify_page_test.mjs
// Exit codes: 0 passed, 1 failed, 77 skipped (no Chromium, playwright-core or charts data).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const SKIP = 77;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const cli = process.env.MFKIT_CLI;
const charts = process.env.MFKIT_DATA_DIR ? join(process.env.MFKIT_DATA_DIR, "spotify-charts", "raw") : "";

function skip(why) {
  console.log("SKIP: " + why);
  process.exit(SKIP);
}
if (!cli || !existsSync(cli)) skip("MFKIT_CLI does not name the mfkit binary");
if (!existsSync(chromiumPath)) skip(chromiumPath + " not installed (scripts/setup.sh installs Debian's chromium)");
if (!charts || !existsSync(charts)) skip("MFKIT_DATA_DIR/spotify-charts/raw not found");
let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (e) {
  skip("playwright-core not installed (scripts/setup.sh runs npm ci in tests/web)");
}

const work = mkdtempSync(join(tmpdir(), "mfkit-web-"));
const store = join(work, "dotify.db");
const model = join(work, "dotify.mfk");
execFileSync(cli, ["ingest", "--store", store, "--date", "2021-04-24", charts], { stdio: "inherit" });
execFileSync(cli, ["refit", "--store", store, "--out", model, "--quiet"], { stdio: "inherit" });

const server = spawn(cli, ["serve", "--model-file", "dotify=" + model, "--port", "0", "--threads", "4"], {
  stdio: ["ignore", "inherit", "pipe"],
});
const port = await new Promise((resolve, reject) => {
  let text = "";
  const timer = setTimeout(() => reject(new Error("mfkit serve did not start: " + text)), 20000);
  server.stderr.on("data", (chunk) => {
    text += chunk.toString();
    const m = text.match(/http:\/\/[^:]+:(\d+)\//);
    if (m) {
      clearTimeout(timer);
      resolve(Number(m[1]));
    }
  });
  server.on("exit", (code) => reject(new Error("mfkit serve exited with " + code + ": " + text)));
});
const base = `http://127.0.0.1:${port}/`;

let browser;
let failed = false;
try {
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(base);
  assert.match(await page.title(), /dotify/);

  // Autocompletion: type the start of a name, pick the suggestion.
  await page.locator("#q").pressSequentially("Colom", { delay: 30 });
  const suggestion = page.locator("#suggest li", { hasText: "Colombia" });
  await suggestion.waitFor({ timeout: 5000 });
  await suggestion.click();
  assert.equal(await page.inputValue("#q"), "Colombia ");
  await page.locator("#q").pressSequentially("x Turkey - Germany", { delay: 10 });
  await page.locator("#q").press("Escape");
  await page.click("#go");
  await page.locator("#results tbody tr").first().waitFor({ timeout: 10000 });
  const rows = await page.locator("#results tbody tr").count();
  assert.equal(rows, 10, "ten songs for k=10");
  const first = await page.locator("#results tbody tr").first().locator("td").allInnerTexts();
  assert.ok(first[1].length > 0, "a song title");
  assert.ok(first[2].length > 0, "an artist");
  assert.ok(first[4].length > 0, "the countries whose charts hold it");
  const countries = await page.locator("#rows").innerText();
  assert.match(countries, /Colombia/);
  assert.match(countries, /Germany/);
  assert.equal(await page.locator("#error").innerText(), "");
  mkdirSync(join(here, "..", "..", "build"), { recursive: true });
  await page.screenshot({ path: join(here, "..", "..", "build", "dotify_page.png"), fullPage: true });
  console.log("query: " + rows + " songs, first: " + first[1] + " - " + first[2]);

  // A malformed expression shows the error with its position; the results are hidden.
  await page.fill("#q", "Colombia x (Turkey");
  await page.click("#go");
  await page.locator("#error").filter({ hasText: "expected ')'" }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator("#results").isHidden(), true);
  // An unknown name suggests close matches.
  await page.fill("#q", "Colmbia");
  await page.click("#go");
  await page.locator("#error").filter({ hasText: "Colombia" }).waitFor({ timeout: 5000 });

  // The country view lists every country and shows its top songs.
  const options = await page.locator("#country option").count();
  assert.equal(options, 65);
  await page.selectOption("#country", "CO");
  await page.locator("#cresults tbody tr").first().waitFor({ timeout: 5000 });
  assert.equal(await page.locator("#cresults tbody tr").count(), 10);
  assert.deepEqual(consoleErrors, []);
  console.log("PASS: dotify page end to end in " + chromiumPath);
} catch (e) {
  failed = true;
  console.error("FAIL: " + (e && e.stack ? e.stack : e));
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
