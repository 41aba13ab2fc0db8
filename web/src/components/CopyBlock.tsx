import { useState } from "react";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // no clipboard permission (plain http, some browsers): fall back to a selection copy
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand?.("copy") ?? false;
    area.remove();
    return ok;
  }
}

/** A labelled code block with a Copy button. */
export function CopyBlock({ label, code, testId }: { label: string; code: string; testId?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <figure className="snippet">
      <figcaption>
        <span>{label}</span>
        <button
          type="button"
          className="button small"
          aria-label={`Copy ${label}`}
          onClick={async () => {
            setState((await copyText(code)) ? "copied" : "failed");
            window.setTimeout(() => setState("idle"), 1500);
          }}
        >
          {state === "copied" ? "Copied" : state === "failed" ? "Select and copy" : "Copy"}
        </button>
      </figcaption>
      <pre data-testid={testId} tabIndex={0}>
        <code>{code}</code>
      </pre>
    </figure>
  );
}
