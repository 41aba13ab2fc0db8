import { ModelPage } from "./pages/ModelPage";
import { ModelsPage } from "./pages/ModelsPage";
import { PlaygroundPage } from "./pages/PlaygroundPage";
import { UploadPage } from "./pages/UploadPage";
import { href, useRoute, type Route } from "./router";

const NAV: { label: string; route: Route; pages: Route["page"][] }[] = [
  { label: "Models", route: { page: "models" }, pages: ["models", "model"] },
  { label: "Upload", route: { page: "upload" }, pages: ["upload"] },
  { label: "Playground", route: { page: "playground", name: null }, pages: ["playground"] },
];

export function App() {
  const route = useRoute();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href({ page: "models" })} aria-label="NEXON home">
          <span className="logo" aria-hidden="true">
            N
          </span>
          <span className="brand-text">NEXON</span>
        </a>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <a
              key={item.label}
              href={href(item.route)}
              aria-current={item.pages.includes(route.page) ? "page" : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === "models" && <ModelsPage />}
        {route.page === "upload" && <UploadPage />}
        {route.page === "model" && <ModelPage key={`${route.name}/${route.version}`} name={route.name} version={route.version} />}
        {route.page === "playground" && <PlaygroundPage name={route.name} />}
      </main>
    </>
  );
}
