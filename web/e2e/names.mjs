// Model names that need escaping, end to end: drive the built UI in Debian's Chromium against a
// real NEXON. Upload and deploy each name from the page, find it in the table (shown verbatim),
// open its page and playground through the links, run it, and record the snippets offered.
//
//   node e2e/names.mjs CONFIG.json
//
// CONFIG (written by tests/web/test_ui_names.py): baseUrl, chromium, result, model (a file path),
// names (the filenames to upload it as) and input (what to type in the playground).
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = { names: {} };

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: config.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
});

try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  const requests = [];
  page.on("request", (request) => requests.push(`${request.method()} ${new URL(request.url()).pathname}`));
  const modelBytes = readFileSync(config.model).toString("base64");

  for (const name of config.names) {
    const seen = {};
    await page.goto(`${config.baseUrl}/#/upload`);
    await page.getByRole("heading", { name: "Upload a model" }).waitFor();
    const transfer = await page.evaluateHandle(
      ({ b64, fileName }) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], fileName, { type: "application/octet-stream" }));
        return data;
      },
      { b64: modelBytes, fileName: name },
    );
    await page.getByTestId("dropzone").dispatchEvent("dragover", { dataTransfer: transfer });
    await page.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: transfer });
    await page.getByLabel("Deploy right away").check();
    await page.getByRole("button", { name: "Upload and deploy" }).click();
    const reply = page.locator('[data-testid="upload-done"], [data-testid="upload-error"]');
    await reply.waitFor();
    seen.uploaded = await reply.innerText();
    check((await reply.getAttribute("data-testid")) === "upload-done", `upload of ${name}: ${seen.uploaded}`);

    // the table: the name verbatim, its link to the model page
    await page.getByRole("link", { name: "Models", exact: true }).click();
    await page.getByRole("searchbox", { name: "Search models" }).fill(name);
    const row = page.locator("tr[data-testid=model-row]").filter({ has: page.getByRole("link", { name, exact: true }) });
    await row.waitFor();
    seen.rowName = await row.getAttribute("data-name");
    seen.linkText = await row.getByRole("link", { name, exact: true }).innerText();
    await row.getByRole("link", { name, exact: true }).click();

    // the model page, through the link: title, endpoints and the direct snippets
    await page.getByRole("heading", { name: "Signature" }).waitFor();
    seen.hash = await page.evaluate(() => window.location.hash);
    seen.title = await page.locator("main h1").innerText();
    seen.endpoints = await page.getByTestId("endpoints").innerText();
    await page.getByRole("radio", { name: "Direct" }).check();
    seen.snippets = {
      curl: await page.getByTestId("snippet-curl").innerText(),
      grpcurl: await page.getByTestId("snippet-grpcurl").innerText(),
      python: await page.getByTestId("snippet-python").innerText(),
    };

    // the playground, through the page's button: run a typed input
    await page.getByRole("link", { name: "Open in playground" }).click();
    const editor = page.getByLabel("Input (JSON)");
    await editor.waitFor();
    await page.waitForFunction(() => document.querySelector("textarea")?.value.length > 0);
    await editor.fill(JSON.stringify(config.input));
    await page.getByRole("button", { name: "Run" }).click();
    await page.getByTestId("output").waitFor();
    seen.output = JSON.parse(await page.getByTestId("output").innerText());
    seen.selected = await page.locator("select").evaluate((s) => s.options[s.selectedIndex].text);
    result.names[name] = seen;
  }
  result.requests = requests.filter((r) => !r.includes("/assets/"));
  result.consoleErrors = consoleErrors;
  result.ok = true;
} catch (exc) {
  result.ok = false;
  result.error = String(exc?.stack ?? exc);
  console.error(result.error);
} finally {
  await browser.close();
  writeFileSync(config.result, JSON.stringify(result, null, 2));
}
process.exit(result.ok ? 0 : 1);
