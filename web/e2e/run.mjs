// End-to-end: drive the built UI in Debian's Chromium against a real NEXON (directly or via Envoy).
//
//   node e2e/run.mjs CONFIG.json
//
// CONFIG (written by tests/web/test_ui_e2e.py) names the base URL, the model files to upload, the
// expected numbers, the artifacts folder and where to write the result JSON. Every step checks what
// the page shows and throws on a mismatch; the result records what was seen, for the caller's asserts.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const shots = join(config.artifacts, config.label);
mkdirSync(shots, { recursive: true });

// Flags for this machine: no sandbox as root, and no background traffic to the closed network.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const result = { label: config.label, steps: [], screenshots: [] };
const step = (name, data = {}) => {
  result.steps.push(name);
  Object.assign(result, data);
  console.error(`[e2e ${config.label}] ${name}`);
};

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function sameNumbers(actual, expected, tolerance = 1e-5) {
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => sameNumbers(actual[i], e, tolerance));
  }
  return typeof actual === "number" && Math.abs(actual - expected) <= tolerance;
}

const browser = await chromium.launch({
  executablePath: config.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: CHROMIUM_ARGS,
});

async function shot(page, name, fullPage = true) {
  const path = join(shots, `${name}.png`);
  await page.screenshot({ path, fullPage });
  result.screenshots.push(path);
}

const rowOf = (page, name, version) => page.locator(`tr[data-name="${name}"][data-version="${version}"]`);

let page;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (msg) => msg.type() === "error" && consoleErrors.push(msg.text()));
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const url = (hash = "") => `${config.baseUrl}/${hash}`;

  // -- Models table with the seeded records: load and filter times --------------------------------
  let started = Date.now();
  await page.goto(url("#/models"));
  await page.getByTestId("models-table").waitFor();
  const tableMs = Date.now() - started;
  const showing = await page.getByTestId("showing").innerText();
  const seededTotal = Number(showing.split(" of ")[1]);
  check(seededTotal >= config.seeded, `table shows ${showing}, expected at least ${config.seeded} records`);
  await shot(page, "01-models-seeded");
  const search = page.getByRole("searchbox", { name: "Search models" });
  await search.focus(); // keyboard: the search field takes focus and typing filters
  started = Date.now();
  await page.keyboard.type(config.seedName);
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="showing"]')?.textContent?.endsWith(` of ${n}`),
    config.seeded,
  );
  const filterMs = Date.now() - started;
  await search.fill("");
  step("models table", { tableMs, filterMs, seededTotal });

  // -- Upload: a wrong file type is refused in the page; a broken model shows the server's reason --
  await page.getByRole("link", { name: "Upload", exact: true }).click();
  await page.getByRole("heading", { name: "Upload a model" }).waitFor();
  const picker = page.locator('input[type="file"]');
  await picker.setInputFiles(config.textFile);
  const typeError = await page.getByTestId("upload-error").innerText();
  check(typeError.includes("Only .onnx files"), `wrong-type message: ${typeError}`);
  await picker.setInputFiles(config.badModel);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await page.getByTestId("upload-error").filter({ hasNotText: "Only .onnx" }).waitFor();
  const rejection = await page.getByTestId("upload-error").innerText();
  await shot(page, "02-upload-rejected");
  step("upload rejected", { rejection });

  // -- Upload the real model by drag and drop (no deploy) -------------------------------------------
  const modelBytes = readFileSync(config.model.path).toString("base64");
  const dataTransfer = await page.evaluateHandle(
    ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], name, { type: "application/octet-stream" }));
      return transfer;
    },
    { b64: modelBytes, name: config.model.name },
  );
  await page.getByTestId("dropzone").dispatchEvent("dragover", { dataTransfer });
  await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer });
  await page.getByText(config.model.name, { exact: true }).waitFor();
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const uploaded = await page.getByTestId("upload-done").innerText();
  await shot(page, "03-upload-done");
  // the same file again, from the picker: version 2
  await picker.setInputFiles(config.model.path);
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  const uploadedAgain = await page.getByTestId("upload-done").filter({ hasText: "version 2" }).innerText();
  step("upload by drop", { uploaded, uploadedAgain });

  // -- A large model with "Deploy right away", throttled so the progress bar has time to move -----
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: config.large.throttleBytesPerSecond,
  });
  await page.evaluate(() => {
    window.__progress = [];
    window.__progressTimer = setInterval(() => {
      const bar = document.querySelector("progress");
      if (bar) window.__progress.push(bar.value);
    }, 25);
  });
  await picker.setInputFiles(config.large.path);
  await page.getByLabel("Deploy right away").check();
  await page.getByRole("button", { name: "Upload and deploy" }).click();
  await page.waitForFunction(() => window.__progress.some((v) => v > 0 && v < 100));
  await shot(page, "04-upload-progress");
  await page.getByTestId("upload-done").filter({ hasText: basename(config.large.path) }).waitFor({ timeout: 120_000 });
  const progressSeen = await page.evaluate(() => {
    clearInterval(window.__progressTimer);
    return window.__progress.filter((v, i, all) => i === 0 || v !== all[i - 1]); // each change once
  });
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });
  const largeDone = await page.getByTestId("upload-done").innerText();
  check(largeDone.includes("deployed"), `large upload reply: ${largeDone}`);
  step("upload with progress and deploy", { progressSeen, largeDone });

  // -- Deploy the model from the table ------------------------------------------------------------
  await page.getByRole("link", { name: "Models", exact: true }).click();
  await search.fill(config.model.name.replace(/\.onnx$/, ""));
  const row = rowOf(page, config.model.name, 1);
  await row.waitFor();
  check((await row.getAttribute("data-status")) === "Uploaded", "new model is not Uploaded");
  await row.getByRole("button", { name: /^Deploy / }).click();
  await page.locator(`tr[data-name="${config.model.name}"][data-status="Deployed"]`).waitFor();
  const deployed = await page.getByTestId("action-result").innerText();
  // version 2 cannot be deployed beside version 1: the server's reason is shown as it is
  await rowOf(page, config.model.name, 2).getByRole("button", { name: /^Deploy / }).click();
  await page.getByTestId("action-result").filter({ hasNotText: deployed }).waitFor();
  const actionError = await page.getByTestId("action-result").innerText();
  const actionErrorRole = await page.getByTestId("action-result").getAttribute("role");
  await shot(page, "05-models-deploy-refused");
  step("deploy", { deployed, actionError, actionErrorRole });

  // -- Model page: signature, endpoints, snippets ---------------------------------------------------
  await row.getByRole("link", { name: config.model.name.replace(/\.onnx$/, "") }).click();
  await page.getByRole("heading", { name: "Signature" }).waitFor();
  const inputRows = await page.getByTestId("spec-inputs").allInnerTexts();
  const outputRows = await page.getByTestId("spec-outputs").allInnerTexts();
  const dynamicMarked = await page.locator('[data-testid="spec-inputs"] .dim-dynamic').allInnerTexts();
  const endpoints = await page.getByTestId("endpoints").innerText();
  const snippets = {};
  for (const via of ["Direct", "Via Envoy"]) {
    await page.getByRole("radio", { name: via }).check();
    const key = via === "Direct" ? "direct" : "envoy";
    snippets[key] = {
      curl: await page.getByTestId("snippet-curl").innerText(),
      grpcurl: await page.getByTestId("snippet-grpcurl").innerText(),
      python: await page.getByTestId("snippet-python").innerText(),
    };
  }
  await shot(page, "06-model-page");
  step("model page", { inputRows, outputRows, dynamicMarked, endpoints, snippets });

  // -- Playground: prefilled input, run, numbers, custom input, server error, large output ---------
  await page.getByRole("link", { name: "Open in playground" }).click();
  const editor = page.getByLabel("Input (JSON)");
  await editor.waitFor();
  await page.waitForFunction(() => document.querySelector("textarea")?.value.length > 0);
  const prefilled = JSON.parse(await editor.inputValue());
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("output").waitFor();
  const prefilledOutput = JSON.parse(await page.getByTestId("output").innerText());
  const prefilledShape = await page.getByTestId("output-shape").innerText();
  const roundTrip = await page.getByTestId("output-ms").innerText();
  check(sameNumbers(prefilledOutput, config.model.expected), `output ${JSON.stringify(prefilledOutput)}`);
  await shot(page, "07-playground");

  await editor.fill(JSON.stringify(config.model.customInput));
  await editor.press("Control+Enter"); // keyboard: run from the editor
  await page.waitForFunction(
    (expected) => document.querySelector('[data-testid="output-shape"]')?.textContent === expected,
    `[${config.model.customShape.join(", ")}]`,
  );
  const customOutput = JSON.parse(await page.getByTestId("output").innerText());
  check(sameNumbers(customOutput, config.model.customExpected), `custom output ${JSON.stringify(customOutput)}`);

  await editor.fill(JSON.stringify(config.model.badInput));
  await page.getByRole("button", { name: "Run" }).click();
  const inferError = await page.getByTestId("infer-error").innerText();
  await shot(page, "08-playground-error");

  await page.evaluate((rows) => {
    const area = document.querySelector("textarea");
    const input = Array.from({ length: rows }, (_, i) => [i, i + 0.5, -i]);
    const setter = Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set;
    setter.call(area, JSON.stringify(input));
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }, config.model.largeRows);
  await page.getByRole("button", { name: "Run" }).click();
  await page.getByTestId("output-truncated").waitFor();
  const truncatedNote = await page.getByTestId("output-truncated").innerText();
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "Download full JSON" }).click(),
  ]);
  const downloadPath = join(shots, "large-output.json");
  await download.saveAs(downloadPath);
  const full = JSON.parse(readFileSync(downloadPath, "utf8"));
  const largeShape = await page.getByTestId("output-shape").innerText();
  await shot(page, "09-playground-large-output");
  step("playground", {
    prefilled,
    prefilledOutput,
    prefilledShape,
    roundTrip,
    customOutput,
    inferError,
    truncatedNote,
    largeShape,
    downloadedRows: full.length,
    downloadedLast: full.at(-1),
  });

  // -- Phone-sized screenshots of each page -----------------------------------------------------------
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
  const small = await phone.newPage();
  for (const [hash, name] of [
    ["#/models", "10-phone-models"],
    ["#/upload", "11-phone-upload"],
    [`#/models/${encodeURIComponent(config.model.name)}/1`, "12-phone-model-page"],
    [`#/playground/${encodeURIComponent(config.model.name)}`, "13-phone-playground"],
  ]) {
    await small.goto(url(hash));
    await small.locator("main h1").waitFor();
    await small.waitForLoadState("networkidle");
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 0, `${name}: the page is ${overflow}px wider than the phone screen`);
    await shot(small, name, name !== "10-phone-models"); // a hundred cards: the first screen tells
  }
  await phone.close();
  step("phone layout");

  // -- Undeploy and delete, each confirmed in a dialog (Escape cancels first) ----------------------
  await page.goto(url("#/models"));
  await search.fill(config.model.name.replace(/\.onnx$/, ""));
  await row.waitFor();
  await row.getByRole("button", { name: /^Undeploy / }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  await shot(page, "14-confirm-undeploy");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  check((await row.getAttribute("data-status")) === "Deployed", "Escape did not cancel the undeploy");
  await row.getByRole("button", { name: /^Undeploy / }).click();
  await dialog.getByRole("button", { name: "Undeploy" }).click();
  await page.locator(`tr[data-name="${config.model.name}"][data-status="Uploaded"]`).waitFor();
  const undeployed = await page.getByTestId("action-result").innerText();

  await row.getByRole("button", { name: /^Delete / }).click();
  await dialog.waitFor();
  await page.keyboard.press("Tab"); // from Cancel (focused first) to Delete
  await page.keyboard.press("Enter");
  await row.waitFor({ state: "detached" });
  const deleted = await page.getByTestId("action-result").innerText();
  const second = rowOf(page, config.model.name, 2);
  await second.getByRole("button", { name: /^Delete / }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await second.waitFor({ state: "detached" });
  await shot(page, "15-models-after-delete");

  // the large model too, so the store is left as it was found
  const largeName = basename(config.large.path);
  await search.fill(largeName.replace(/\.onnx$/, ""));
  const largeRow = rowOf(page, largeName, 1);
  await largeRow.getByRole("button", { name: /^Undeploy / }).click();
  await dialog.getByRole("button", { name: "Undeploy" }).click();
  await page.locator(`tr[data-name="${largeName}"][data-status="Uploaded"]`).waitFor();
  await largeRow.getByRole("button", { name: /^Delete / }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await largeRow.waitFor({ state: "detached" });
  step("undeploy and delete", { undeployed, deleted, consoleErrors });

  result.ok = true;
} catch (exc) {
  result.ok = false;
  result.error = String(exc?.stack ?? exc);
  console.error(result.error);
  if (page) await shot(page, "failure").catch(() => {});
} finally {
  await browser.close();
  writeFileSync(config.result, JSON.stringify(result, null, 2));
}
process.exit(result.ok ? 0 : 1);
