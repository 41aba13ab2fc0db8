import { useEffect, useState } from "react";

/** Hash routes keep deep links working wherever the page is served (NEXON, Envoy, Vite). */
export type Route =
  | { page: "models" }
  | { page: "upload" }
  | { page: "model"; name: string; version: number | null }
  | { page: "playground"; name: string | null };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "upload") return { page: "upload" };
  if (parts[0] === "playground") return { page: "playground", name: parts[1] ?? null };
  if (parts[0] === "models" && parts[1]) {
    const version = parts[2] !== undefined && /^\d+$/.test(parts[2]) ? Number(parts[2]) : null;
    return { page: "model", name: parts[1], version };
  }
  return { page: "models" };
}

export function href(route: Route): string {
  switch (route.page) {
    case "models":
      return "#/models";
    case "upload":
      return "#/upload";
    case "model":
      return `#/models/${encodeURIComponent(route.name)}${route.version === null ? "" : `/${route.version}`}`;
    case "playground":
      return route.name ? `#/playground/${encodeURIComponent(route.name)}` : "#/playground";
  }
}

export function navigate(route: Route): void {
  window.location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
