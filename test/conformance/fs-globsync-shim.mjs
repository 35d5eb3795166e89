// The conformance suites (0.1.16, 0.2.0-alpha.12) import `globSync` from "fs", which Node has
// only from version 22 on. Preloaded with `node --import`, this registers a
// resolve hook that hands the suite (and only the suite) a module re-exporting
// node:fs plus a small globSync (patterns with **, * and ?), the one call the
// suite makes being globSync("**/checks.json", { cwd }). It does nothing on
// Node 22 and later.
import { register } from "node:module";
import fs from "node:fs";

if (typeof fs.globSync !== "function") {
  const shim = `
import fs from "node:fs";
import path from "node:path";
export * from "node:fs";
export default fs;
function toRegExp(pattern) {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*" && pattern[i + 1] === "*") {
      if (pattern[i + 2] === "/") { re += "(?:.*/)?"; i += 2; } else { re += ".*"; i += 1; }
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^$()|[\\]{}\\\\]/g, (m) => "\\\\" + m);
  }
  return new RegExp("^" + re + "$");
}
export function globSync(pattern, options = {}) {
  const cwd = options.cwd ? String(options.cwd) : process.cwd();
  const found = new Set();
  for (const p of Array.isArray(pattern) ? pattern : [pattern]) {
    const re = toRegExp(p);
    const walk = (rel) => {
      let entries;
      try { entries = fs.readdirSync(path.join(cwd, rel), { withFileTypes: true }); } catch { return; }
      for (const e of entries) {
        const r = rel ? path.join(rel, e.name) : e.name;
        if (re.test(r.split(path.sep).join("/"))) found.add(r);
        if (e.isDirectory()) walk(r);
      }
    };
    walk("");
  }
  return [...found];
}`;
  const target = "data:text/javascript," + encodeURIComponent(shim);
  const hooks = `
export async function resolve(specifier, context, next) {
  if ((specifier === "fs" || specifier === "node:fs") && context.parentURL &&
      (context.parentURL.includes("/@modelcontextprotocol/conformance/") ||
       context.parentURL.includes("/conformance-0.1.16/")))
    return { url: ${JSON.stringify(target)}, shortCircuit: true };
  return next(specifier, context);
}`;
  register("data:text/javascript," + encodeURIComponent(hooks));
}
