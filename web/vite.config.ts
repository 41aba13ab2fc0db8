/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The routes the UI calls on the NEXON server; `npm run dev` forwards them to NEXON_URL.
export const API_PREFIXES = [
  "/upload",
  "/deployment",
  "/allModels",
  "/deployedModels",
  "/uploadedModels",
  "/models",
  "/deleteModel",
  "/inference",
  "/healthz",
  "/readyz",
  "/openapi.json",
  "/docs",
];

const backend = process.env.NEXON_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: Object.fromEntries(API_PREFIXES.map((prefix) => [prefix, { target: backend, changeOrigin: true }])),
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
